//! The daily reminder digest: each person's notifications not mailed yet, in one message a
//! day, with links built from the public address. A person's digest is claimed, sent and
//! marked in one transaction, so several servers never send it twice and a failed send is
//! tried again on the next round.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::mail::Mailer;
use crate::periods::model::human_date;

/// Most people one round mails (the next round takes the rest).
const PER_ROUND: i64 = 200;

/// Mails today's digests that are due; returns how many were sent.
pub async fn send_digests(
    db: &crate::db::Db,
    mailer: &Mailer,
    public_url: &str,
    today: NaiveDate,
) -> anyhow::Result<u64> {
    let people: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT p.id, p.name, p.email FROM people p
          WHERE p.active
            AND EXISTS (SELECT 1 FROM notifications n WHERE n.person_id = p.id AND n.emailed_at IS NULL AND n.read_at IS NULL)
            AND NOT EXISTS (SELECT 1 FROM email_digests d WHERE d.person_id = p.id AND d.sent_on = $1)
          ORDER BY p.id LIMIT $2",
    )
    .bind(today)
    .bind(PER_ROUND)
    .fetch_all(db)
    .await?;
    let mut sent = 0;
    for (person, name, email) in people {
        let mut tx = db.begin().await?;
        let items: Vec<(Uuid, String, String)> = sqlx::query_as(
            "SELECT id, title, href FROM notifications
              WHERE person_id = $1 AND emailed_at IS NULL AND read_at IS NULL
              ORDER BY created_at, id FOR UPDATE SKIP LOCKED",
        )
        .bind(person)
        .fetch_all(&mut *tx)
        .await?;
        if items.is_empty() {
            continue;
        }
        let claimed = sqlx::query(
            "INSERT INTO email_digests (person_id, sent_on, notifications) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(person)
        .bind(today)
        .bind(items.len() as i32)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            continue;
        }
        let ids: Vec<Uuid> = items.iter().map(|(id, ..)| *id).collect();
        sqlx::query("UPDATE notifications SET emailed_at = now() WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        let subject = format!(
            "Yardstick: {} {} for {}",
            items.len(),
            if items.len() == 1 {
                "reminder"
            } else {
                "reminders"
            },
            human_date(today)
        );
        let body = digest_body(&name, public_url, &items);
        // Sent inside the transaction: if it fails, nothing is marked and the next round
        // tries again; one refused address does not hold up everyone else's digest.
        if let Err(err) = mailer.send(&name, &email, &subject, body).await {
            tracing::warn!(%person, error = %err, "a reminder digest could not be sent; trying again next round");
            continue;
        }
        tx.commit().await?;
        sent += 1;
    }
    Ok(sent)
}

fn digest_body(name: &str, public_url: &str, items: &[(Uuid, String, String)]) -> String {
    let mut body = format!("Hello {name},\n\nWhat needs you in Yardstick:\n\n");
    for (_, title, href) in items {
        body.push_str(&format!("- {title}\n  {public_url}{href}\n"));
    }
    body.push_str(&format!(
        "\nAll your notifications: {public_url}/notifications\n\nYou get this digest at most once a day, when something needs you.\n"
    ));
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_links_each_item_to_the_public_address() {
        let body = digest_body(
            "Priya",
            "https://yardstick.example",
            &[(
                Uuid::nil(),
                "Loop due today: Retention (Onboarding)".into(),
                "/outcomes/1".into(),
            )],
        );
        assert!(body.starts_with("Hello Priya,"));
        assert!(body.contains(
            "- Loop due today: Retention (Onboarding)\n  https://yardstick.example/outcomes/1\n"
        ));
        assert!(body.contains("https://yardstick.example/notifications"));
    }
}
