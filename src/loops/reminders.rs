//! Reminders and notices, in the app: a loop due in 7 days, due today, overdue (again each
//! week while it stays so), an interim checkpoint, a key result due for a check-in — each to
//! the owner — and a closed loop to its stakeholders. The scheduler runs inside every
//! server on a timer; an advisory lock lets one run at a time and a uniqueness key per
//! person, kind, subject and day makes every reminder happen once.

use chrono::NaiveDate;
use uuid::Uuid;

/// The owner a loop's reminders go to: the outcome's, or the work's when it has none; only
/// active people. Open loops of work that is not cancelled.
const OPEN_LOOPS: &str = "
    SELECT o.id, o.metric, o.measure_by, coalesce(e.title, i.title) AS work, p.id AS person_id
      FROM outcomes o
      LEFT JOIN epics e ON e.id = o.epic_id
      LEFT JOIN initiatives i ON i.id = o.initiative_id
      JOIN people p ON p.id = coalesce(o.owner_id, e.owner_id, i.owner_id) AND p.active
     WHERE o.closed_at IS NULL AND coalesce(e.status, i.status) <> 'cancelled'";

/// Adds the day's reminders that are not there yet; returns how many. Does nothing while
/// another server is at it.
pub async fn remind(db: &crate::db::Db, today: NaiveDate) -> sqlx::Result<u64> {
    let mut tx = db.begin().await?;
    let mine: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext('yardstick:reminders'))")
            .fetch_one(&mut *tx)
            .await?;
    if !mine {
        return Ok(0);
    }
    let statements = [
        // Due within a week (once per measure-by date, even if a day was missed).
        format!(
            "INSERT INTO notifications (id, person_id, kind, subject_id, due_on, title, href)
             SELECT gen_random_uuid(), l.person_id, 'loop_due_in_7_days', l.id, l.measure_by,
                    'Loop due on ' || to_char(l.measure_by, 'FMDD Mon YYYY') || ': ' || l.metric || ' (' || l.work || ')',
                    '/outcomes/' || l.id
               FROM ({OPEN_LOOPS}) l
              WHERE l.measure_by > $1 AND l.measure_by <= $1 + 7
             ON CONFLICT DO NOTHING"
        ),
        format!(
            "INSERT INTO notifications (id, person_id, kind, subject_id, due_on, title, href)
             SELECT gen_random_uuid(), l.person_id, 'loop_due_today', l.id, l.measure_by,
                    'Loop due today: ' || l.metric || ' (' || l.work || ')', '/outcomes/' || l.id
               FROM ({OPEN_LOOPS}) l
              WHERE l.measure_by = $1
             ON CONFLICT DO NOTHING"
        ),
        // Overdue: again each week while it stays open.
        format!(
            "INSERT INTO notifications (id, person_id, kind, subject_id, due_on, title, href)
             SELECT gen_random_uuid(), l.person_id, 'loop_overdue', l.id, $1,
                    'Loop overdue since ' || to_char(l.measure_by, 'FMDD Mon YYYY') || ': ' || l.metric || ' (' || l.work || ')',
                    '/outcomes/' || l.id
               FROM ({OPEN_LOOPS}) l
              WHERE l.measure_by < $1
                AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.person_id = l.person_id AND n.kind = 'loop_overdue'
                                   AND n.subject_id = l.id AND n.due_on > $1 - 7)
             ON CONFLICT DO NOTHING"
        ),
        // Interim checkpoints: a reminder on the day (or the first run within a week of it).
        format!(
            "INSERT INTO notifications (id, person_id, kind, subject_id, due_on, title, href)
             SELECT gen_random_uuid(), l.person_id, 'checkpoint', l.id, c.due_on,
                    'Checkpoint ' || to_char(c.due_on, 'FMDD Mon YYYY') || ': measure ' || l.metric || ' (' || l.work || ')',
                    '/outcomes/' || l.id || '#measurements'
               FROM ({OPEN_LOOPS}) l JOIN outcome_checkpoints c ON c.outcome_id = l.id
              WHERE c.due_on <= $1 AND c.due_on > $1 - 7
             ON CONFLICT DO NOTHING"
        ),
        // Key results followed by check-ins, in a period under way, past their cadence; again
        // each cadence while none comes.
        "INSERT INTO notifications (id, person_id, kind, subject_id, due_on, title, href)
         SELECT gen_random_uuid(), p.id, 'check_in_due', k.id, $1, 'Check-in due: ' || k.title, '/key-results/' || k.id
           FROM key_results k JOIN objectives o ON o.id = k.objective_id JOIN periods pe ON pe.id = o.period_id
           JOIN people p ON p.id = k.owner_id AND p.active
          WHERE k.progress_source = 'check_ins' AND pe.closed_at IS NULL AND o.status <> 'closed'
            AND pe.starts_on <= $1 AND pe.ends_on >= $1
            AND coalesce(k.last_check_in_on, k.created_at::date) < $1 - pe.check_in_days
            AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.person_id = p.id AND n.kind = 'check_in_due'
                               AND n.subject_id = k.id AND n.due_on > $1 - pe.check_in_days)
         ON CONFLICT DO NOTHING"
            .to_string(),
    ];
    let mut added = 0;
    for statement in &statements {
        added += sqlx::query(statement)
            .bind(today)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    crate::webhooks::emit_overdue(&mut tx, today).await?;
    tx.commit().await?;
    Ok(added)
}

/// Tells a closed loop's stakeholders (DOMAIN.md, Ownership): the people of the work's
/// unit, the owners of the key results it serves, and the leaders of the unit above —
/// everyone but the person who closed it.
pub async fn loop_closed(
    tx: &mut sqlx::PgConnection,
    outcome: Uuid,
    closer: Uuid,
    today: NaiveDate,
    title: &str,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "WITH unit AS (
             SELECT u.id, u.parent_id FROM outcomes o
               LEFT JOIN epics e ON e.id = o.epic_id LEFT JOIN initiatives i ON i.id = o.initiative_id
               JOIN org_units u ON u.id = coalesce(e.team_id, i.org_unit_id)
              WHERE o.id = $1),
         stakeholders AS (
             SELECT m.person_id FROM memberships m JOIN unit ON m.org_unit_id = unit.id
             UNION
             SELECT k.owner_id FROM outcome_key_results l JOIN key_results k ON k.id = l.key_result_id
              WHERE l.outcome_id = $1 AND k.owner_id IS NOT NULL
             UNION
             SELECT m.person_id FROM memberships m JOIN unit ON m.org_unit_id = unit.parent_id WHERE m.role = 'leader')
         INSERT INTO notifications (id, person_id, kind, subject_id, due_on, title, href)
         SELECT gen_random_uuid(), s.person_id, 'loop_closed', $1, $3, $4, '/outcomes/' || $1
           FROM stakeholders s JOIN people p ON p.id = s.person_id AND p.active
          WHERE s.person_id <> $2
         ON CONFLICT DO NOTHING",
    )
    .bind(outcome)
    .bind(closer)
    .bind(today)
    .bind(title)
    .execute(tx)
    .await?
    .rows_affected())
}
