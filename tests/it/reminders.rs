//! Reminders and notices in the app: each to the right person, once, however many
//! schedulers run; overdue loops again weekly; closed loops to their stakeholders.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::common::TestApp;
use crate::epics::team;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

async fn outcome(
    app: &TestApp,
    epic: Uuid,
    owner: Option<Uuid>,
    metric: &str,
    measure_by: &str,
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO outcomes (id, epic_id, owner_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
         VALUES ($1, $2, $3, 'behaviour', 'Something changes', $4, 'percent', 'increase', 1, 2, $5::date)",
    )
    .bind(id)
    .bind(epic)
    .bind(owner)
    .bind(metric)
    .bind(measure_by)
    .execute(&app.db)
    .await
    .unwrap();
    id
}

async fn notified(app: &TestApp, person: Uuid) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT kind, title FROM notifications WHERE person_id = $1 ORDER BY kind, title",
    )
    .bind(person)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn each_reminder_reaches_its_owner_once_however_many_schedulers_run() {
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
    let lead = app
        .create_person("Tomás Lead", "tl@northwind.example")
        .await;
    outcome(&app, epic, Some(t.pm), "Completion", "2026-06-06").await; // in 5 days
    outcome(&app, epic, Some(t.pm), "Retention", "2026-06-01").await; // today
    outcome(&app, epic, Some(lead), "Errors", "2026-05-29").await; // 3 days overdue
    let later = outcome(&app, epic, None, "Engagement", "2026-09-30").await; // the epic's owner
    sqlx::query("INSERT INTO outcome_checkpoints (outcome_id, due_on) VALUES ($1, '2026-06-01')")
        .bind(later)
        .execute(&app.db)
        .await
        .unwrap();
    let cancelled = Uuid::new_v4();
    sqlx::query("INSERT INTO epics (id, team_id, owner_id, work_type, title, status) VALUES ($1, $2, $3, 'feature', 'Dropped', 'cancelled')")
        .bind(cancelled)
        .bind(t.team)
        .bind(t.pm)
        .execute(&app.db)
        .await
        .unwrap();
    outcome(&app, cancelled, Some(t.pm), "Nobody cares", "2026-05-01").await;

    let today = day("2026-06-01");
    // Two servers at once, then one again the same day.
    let (a, b) = tokio::join!(
        yardstick::loops::reminders::remind(&app.db, today),
        yardstick::loops::reminders::remind(&app.db, today)
    );
    let again = yardstick::loops::reminders::remind(&app.db, today)
        .await
        .unwrap();
    assert_eq!(a.unwrap() + b.unwrap(), 4);
    assert_eq!(again, 0);
    assert_eq!(
        notified(&app, t.pm).await,
        [
            (
                "checkpoint".to_string(),
                "Checkpoint 1 Jun 2026: measure Engagement (Onboarding)".to_string()
            ),
            (
                "loop_due_in_7_days".into(),
                "Loop due on 6 Jun 2026: Completion (Onboarding)".into()
            ),
            (
                "loop_due_today".into(),
                "Loop due today: Retention (Onboarding)".into()
            ),
        ]
    );
    assert_eq!(
        notified(&app, lead).await,
        [(
            "loop_overdue".to_string(),
            "Loop overdue since 29 May 2026: Errors (Onboarding)".to_string()
        )]
    );
    // Retention becomes overdue after its day; Completion after its own; Errors is
    // reminded again a week after its last reminder, not before.
    let remind = |d: &'static str| yardstick::loops::reminders::remind(&app.db, day(d));
    assert_eq!(remind("2026-06-04").await.unwrap(), 1, "Retention overdue");
    assert_eq!(remind("2026-06-07").await.unwrap(), 1, "Completion overdue");
    assert_eq!(
        remind("2026-06-08").await.unwrap(),
        1,
        "Errors again, a week on"
    );
    let errors: Vec<NaiveDate> = sqlx::query_scalar(
        "SELECT due_on FROM notifications WHERE person_id = $1 AND kind = 'loop_overdue' ORDER BY due_on",
    )
    .bind(lead)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(errors, [day("2026-06-01"), day("2026-06-08")]);
}

#[tokio::test]
async fn a_key_result_past_its_cadence_reminds_its_owner_again_each_cadence() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    sqlx::query(
        "WITH p AS (INSERT INTO periods (id, name, cadence, starts_on, ends_on) VALUES (gen_random_uuid(), '2026 Q2', 'quarter', '2026-04-01', '2026-06-30') RETURNING id),
              o AS (INSERT INTO objectives (id, org_unit_id, period_id, owner_id, title, status) SELECT gen_random_uuid(), $1, p.id, $2, 'Improve onboarding', 'active' FROM p RETURNING id)
         INSERT INTO key_results (id, objective_id, owner_id, title, metric, unit, direction, start_value, target, last_check_in_on)
         SELECT gen_random_uuid(), o.id, $2, 'Completion 80%', 'Completion', 'percent', 'increase', 40, 80, '2026-05-20' FROM o",
    )
    .bind(t.team)
    .bind(t.pm)
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(
        yardstick::loops::reminders::remind(&app.db, day("2026-05-27"))
            .await
            .unwrap(),
        0,
        "exactly a week is not late"
    );
    assert_eq!(
        yardstick::loops::reminders::remind(&app.db, day("2026-05-28"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        yardstick::loops::reminders::remind(&app.db, day("2026-06-01"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        yardstick::loops::reminders::remind(&app.db, day("2026-06-05"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        notified(&app, t.pm).await[0].1,
        "Check-in due: Completion 80%"
    );
}

#[tokio::test]
async fn a_closed_loop_tells_its_team_the_key_result_owners_and_the_leaders_above_but_not_the_closer()
 {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let division: Uuid = sqlx::query_scalar("SELECT parent_id FROM org_units WHERE id = $1")
        .bind(t.team)
        .fetch_one(&app.db)
        .await
        .unwrap();
    use yardstick::org::model::MemberRole;
    let leader = app
        .create_person("Maya Leader", "maya@northwind.example")
        .await;
    let engineer_above = app
        .create_person("Eve Above", "eve@northwind.example")
        .await;
    let kr_owner = app
        .create_person("Kim Owner", "kim@northwind.example")
        .await;
    yardstick::org::upsert_membership(&app.db, division, leader, MemberRole::Leader)
        .await
        .unwrap();
    yardstick::org::upsert_membership(&app.db, division, engineer_above, MemberRole::Engineer)
        .await
        .unwrap();
    let epic = Uuid::new_v4();
    sqlx::query("INSERT INTO epics (id, team_id, owner_id, work_type, title, status) VALUES ($1, $2, $3, 'feature', 'Onboarding', 'measuring')")
        .bind(epic)
        .bind(t.team)
        .bind(t.pm)
        .execute(&app.db)
        .await
        .unwrap();
    let o = outcome(&app, epic, Some(t.pm), "Completion", "2026-05-31").await;
    sqlx::query(
        "WITH p AS (INSERT INTO periods (id, name, cadence, starts_on, ends_on) VALUES (gen_random_uuid(), '2026 Q2', 'quarter', '2026-04-01', '2026-06-30') RETURNING id),
              ob AS (INSERT INTO objectives (id, org_unit_id, period_id, title) SELECT gen_random_uuid(), $1, p.id, 'Grow' FROM p RETURNING id),
              k AS (INSERT INTO key_results (id, objective_id, owner_id, title, metric, unit, direction, start_value, target)
                    SELECT gen_random_uuid(), ob.id, $2, 'Learners', 'Learners', 'count', 'increase', 0, 10 FROM ob RETURNING id)
         INSERT INTO outcome_key_results (outcome_id, key_result_id) SELECT $3, k.id FROM k",
    )
    .bind(division)
    .bind(kr_owner)
    .bind(o)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("INSERT INTO measurements (id, outcome_id, value, measured_on) VALUES (gen_random_uuid(), $1, 2, '2026-05-31')")
        .bind(o)
        .execute(&app.db)
        .await
        .unwrap();
    let closed = app
        .post_as(
            &t.pm_cookie,
            &format!("/outcomes/{o}/close"),
            &[
                ("verdict", "achieved"),
                ("learnings", "It worked"),
                ("next_step", "scale"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(
        closed.status,
        axum::http::StatusCode::SEE_OTHER,
        "{}",
        closed.text()
    );
    let told: Vec<Uuid> = sqlx::query_scalar(
        "SELECT person_id FROM notifications WHERE kind = 'loop_closed' ORDER BY person_id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let tech_lead: Uuid = sqlx::query_scalar(
        "SELECT person_id FROM memberships WHERE org_unit_id = $1 AND role = 'tech_lead'",
    )
    .bind(t.team)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let mut expected = vec![leader, kr_owner, tech_lead];
    expected.sort();
    assert_eq!(
        told, expected,
        "the team (not the closer), the key result's owner, the leader above"
    );
    assert_eq!(
        notified(&app, leader).await[0].1,
        "Loop closed: Completion (Onboarding) — achieved"
    );

    // The leader sees it counted in the navigation and marks it read; nobody else's moves.
    sqlx::query("UPDATE people SET account_role = 'member' WHERE id = $1")
        .bind(leader)
        .execute(&app.db)
        .await
        .unwrap();
    let cookie = app.session_for(leader).await;
    let page = app.get_as(&cookie, "/notifications").await.text();
    assert!(page.contains("Notifications 1 unread"), "{page}");
    assert!(
        page.contains("Loop closed Loop closed: Completion (Onboarding) — achieved"),
        "{page}"
    );
    let theirs: Uuid = sqlx::query_scalar("SELECT id FROM notifications WHERE person_id = $1")
        .bind(kr_owner)
        .fetch_one(&app.db)
        .await
        .unwrap();
    app.post_as(&cookie, &format!("/notifications/{theirs}/read"), &[])
        .await;
    app.post_as(&cookie, "/notifications/read", &[]).await;
    let unread: Vec<Uuid> = sqlx::query_scalar(
        "SELECT person_id FROM notifications WHERE read_at IS NULL ORDER BY person_id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let mut still = vec![kr_owner, tech_lead];
    still.sort();
    assert_eq!(unread, still);
}
