//! Mail through a real SMTP server (aiosmtpd): the daily digest of reminders, once per
//! person per day, with links to the public address; invitation links mailed.

use uuid::Uuid;

use crate::common::TestApp;
use crate::common::smtp::SmtpServer;
use crate::epics::team;

#[tokio::test]
async fn the_daily_digest_reaches_each_person_once_with_links_and_invitations_are_mailed() {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let mailer =
        yardstick::mail::Mailer::from_url(&smtp.url(), "Yardstick <yardstick@northwind.example>")
            .unwrap();
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = Uuid::new_v4();
    sqlx::query("INSERT INTO epics (id, team_id, owner_id, work_type, title, status) VALUES ($1, $2, $3, 'feature', 'Onboarding', 'measuring')")
        .bind(epic)
        .bind(t.team)
        .bind(t.pm)
        .execute(&app.db)
        .await
        .unwrap();
    let outcome = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO outcomes (id, epic_id, owner_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
         VALUES ($1, $2, $3, 'behaviour', 'Learners finish', 'Retention', 'percent', 'increase', 1, 2, '2026-06-01')",
    )
    .bind(outcome)
    .bind(epic)
    .bind(t.pm)
    .execute(&app.db)
    .await
    .unwrap();
    let today: chrono::NaiveDate = "2026-06-01".parse().unwrap();
    assert_eq!(
        yardstick::loops::reminders::remind(&app.db, today)
            .await
            .unwrap(),
        1
    );
    // Plain http keeps the test harness's cookie name (https would make it `__Host-`).
    let public = "http://yardstick.northwind.example";
    let sent = yardstick::loops::digest::send_digests(&app.db, &mailer, public, today)
        .await
        .unwrap();
    assert_eq!(sent, 1);
    // A second round the same day sends nothing, even with something new to say.
    sqlx::query("UPDATE outcomes SET measure_by = '2026-06-05' WHERE id = $1")
        .bind(outcome)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(
        yardstick::loops::reminders::remind(&app.db, today)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        yardstick::loops::digest::send_digests(&app.db, &mailer, public, today)
            .await
            .unwrap(),
        0
    );

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let digest = &messages[0];
    assert!(
        digest.contains("To: \"Priya Raman\" <priya@northwind.example>")
            || digest.contains("To: Priya Raman <priya@northwind.example>"),
        "{digest}"
    );
    assert!(
        digest.contains("Subject: Yardstick: 1 reminder for 1 Jun 2026"),
        "{digest}"
    );
    assert!(
        digest.contains("Loop due today: Retention (Onboarding)"),
        "{digest}"
    );
    assert!(
        digest.contains(&format!("{public}/outcomes/{outcome}")),
        "{digest}"
    );
    let emailed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notifications WHERE emailed_at IS NOT NULL")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        emailed, 1,
        "the second reminder waits for tomorrow's digest"
    );

    // Inviting someone mails them the link.
    let app = app.with_state(|s| s.with_public_url(public).with_mailer(mailer.clone()));
    let person = app
        .create_person("Lena Fischer", "lena@northwind.example")
        .await;
    let invited = app
        .post(&format!("/people/{person}/account"), &[("role", "member")])
        .await;
    let page = invited.text();
    assert!(page.contains("Emailed to lena@northwind.example"), "{page}");
    let messages = smtp.messages();
    let invitation = messages
        .iter()
        .find(|m| m.contains("lena@northwind.example"))
        .expect("the invitation");
    assert!(
        invitation.contains("Subject: You are invited to Yardstick"),
        "{invitation}"
    );
    assert!(
        invitation.contains(&format!("{public}/invitations/")),
        "{invitation}"
    );
}
