//! Planning under finite capacity: capacity per unit and period, the question new work must
//! answer when it does not fit, cost rates and ROI, and iterations with outcome goals.

use axum::http::StatusCode;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::common::TestApp;
use crate::epics::{Team, create_epic, outcome_fields, team};

/// Q2 2026 (containing the test clock's today, 1 Jun 2026) and Q3 2026.
async fn quarters(app: &TestApp) -> (Uuid, Uuid) {
    (
        app.quarter("2026 Q2", "2026-04-01", "2026-06-30").await,
        app.quarter("2026 Q3", "2026-07-01", "2026-09-30").await,
    )
}

/// An epic of the team already committed (or not) in `period`, with `effort` team-weeks.
async fn planned_epic(
    app: &TestApp,
    t: &Team,
    title: &str,
    status: &str,
    period: Uuid,
    effort: &str,
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO epics (id, team_id, owner_id, work_type, title, status, period_id, effort_weeks)
         VALUES ($1, $2, $3, 'feature', $4, $5, $6, $7::numeric)",
    )
    .bind(id)
    .bind(t.team)
    .bind(t.pm)
    .bind(title)
    .bind(status)
    .bind(period)
    .bind(effort)
    .execute(&app.db)
    .await
    .unwrap();
    id
}

/// A draft epic made through the pages, ready to be committed: an outcome, a period and
/// an effort.
async fn new_work(app: &TestApp, t: &Team, title: &str, period: Uuid, effort: &str) -> Uuid {
    let epic = create_epic(app, t, title, "feature").await;
    let id = epic.to_string();
    let added = app
        .post_as(
            &t.pm_cookie,
            "/outcomes",
            &outcome_fields(&id, "increase", "40", "80"),
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    sqlx::query("UPDATE epics SET period_id = $2, effort_weeks = $3::numeric WHERE id = $1")
        .bind(epic)
        .bind(period)
        .bind(effort)
        .execute(&app.db)
        .await
        .unwrap();
    epic
}

async fn status_and_period(app: &TestApp, epic: Uuid) -> (String, Option<Uuid>) {
    sqlx::query_as("SELECT status, period_id FROM epics WHERE id = $1")
        .bind(epic)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn version(app: &TestApp, epic: Uuid) -> String {
    sqlx::query_scalar::<_, i32>("SELECT version FROM epics WHERE id = $1")
        .bind(epic)
        .fetch_one(&app.db)
        .await
        .unwrap()
        .to_string()
}

async fn set_capacity(
    app: &TestApp,
    t: &Team,
    period: Uuid,
    weeks: &str,
    version: &str,
) -> crate::common::Page {
    app.post_as(
        &t.pm_cookie,
        &format!("/org/units/{}/capacity", t.team),
        &[
            ("period", &period.to_string()),
            ("weeks", weeks),
            ("version", version),
        ],
    )
    .await
}

#[tokio::test]
async fn committing_an_epic_over_capacity_asks_what_it_displaces_and_records_the_choice() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (q2, _) = quarters(&app).await;
    let set = set_capacity(&app, &t, q2, "10", "").await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.text());
    let search = planned_epic(&app, &t, "Search ranking", "ready", q2, "6").await;
    let export = planned_epic(&app, &t, "Data export", "in_progress", q2, "3").await;
    let guided = new_work(&app, &t, "Guided first lesson", q2, "5").await;
    let path = format!("/epics/{guided}/status");

    // 9 committed + 5 new = 14 of 10: the question, and nothing changes yet.
    let v = version(&app, guided).await;
    let asked = app
        .post_as(&t.pm_cookie, &path, &[("status", "ready"), ("version", &v)])
        .await;
    assert_eq!(asked.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = asked.text();
    assert!(text.contains("Make room for Guided first lesson"), "{text}");
    assert!(
        text.contains("can commit 10 team-weeks in 2026 Q2; 9 are committed already"),
        "{text}"
    );
    assert!(
        text.contains("This epic needs 5") && text.contains("that is 4 team-weeks over capacity"),
        "{text}"
    );
    assert!(
        text.contains("Search ranking — 6 team-weeks, ready"),
        "{text}"
    );
    assert!(
        text.contains("Data export — 3 team-weeks, in progress"),
        "{text}"
    );
    assert!(text.contains("Move to 2026 Q3"), "{text}");
    assert_eq!(status_and_period(&app, guided).await.0, "draft");

    // Work under way cannot go back to draft; freeing 3 of the 4 needed is not enough.
    let (export_id, search_id) = (export.to_string(), search.to_string());
    let refused = app
        .post_as(
            &t.pm_cookie,
            &path,
            &[
                ("status", "ready"),
                ("version", &v),
                ("displace", &export_id),
                ("displace_to", "draft"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains(
        "Work under way cannot go back to draft: move Data export to a later period instead"
    ));
    let q3: Uuid = sqlx::query_scalar("SELECT id FROM periods WHERE name = '2026 Q3'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let q3_id = q3.to_string();
    let short = app
        .post_as(
            &t.pm_cookie,
            &path,
            &[
                ("status", "ready"),
                ("version", &v),
                ("displace", &export_id),
                ("displace_to", &q3_id),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short
            .text()
            .contains("That frees 3 team-weeks; 1 more are needed. Choose more epics"),
        "{}",
        short.text()
    );
    assert!(
        short
            .body
            .contains(&format!("value=\"{export_id}\" checked")),
        "the choice is kept"
    );
    assert_eq!(
        status_and_period(&app, export).await,
        ("in_progress".to_string(), Some(q2))
    );

    // Search back to draft frees 6: 3 + 5 = 8 of 10.
    let done = app
        .post_as(
            &t.pm_cookie,
            &path,
            &[
                ("status", "ready"),
                ("version", &v),
                ("displace", &search_id),
                ("displace_to", "draft"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(status_and_period(&app, guided).await.0, "ready");
    assert_eq!(
        status_and_period(&app, search).await,
        ("draft".to_string(), Some(q2))
    );
    assert_eq!(
        status_and_period(&app, export).await,
        ("in_progress".to_string(), Some(q2))
    );
    let shown = app.follow(&done).await.text();
    assert!(
        shown.contains("Epic is now ready (1 epic deprioritised to make room)"),
        "{shown}"
    );

    let (actor, before, after): (Option<Uuid>, serde_json::Value, serde_json::Value) = sqlx::query_as(
        "SELECT actor_id, before, after FROM audit_log WHERE action = 'epic_deprioritised' AND entity_id = $1",
    )
    .bind(search)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(actor, Some(t.pm));
    assert_eq!(before["status"], "ready");
    assert_eq!(after["status"], "draft");
    assert_eq!(after["to_make_room_for"], guided.to_string());
    let committed: serde_json::Value = sqlx::query_scalar(
        "SELECT after FROM audit_log WHERE action = 'epic_status_changed' AND entity_id = $1",
    )
    .bind(guided)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        committed["displaced"],
        serde_json::json!([search.to_string()])
    );

    let backlog = app
        .get(&format!("/org/units/{}/backlog", t.team))
        .await
        .text();
    assert!(
        backlog.contains("8 of 10 team-weeks committed in 2026 Q2"),
        "{backlog}"
    );
}

#[tokio::test]
async fn work_in_progress_makes_room_by_moving_to_a_later_period() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (q2, q3) = quarters(&app).await;
    assert_eq!(
        set_capacity(&app, &t, q2, "4", "").await.status,
        StatusCode::SEE_OTHER
    );
    let export = planned_epic(&app, &t, "Data export", "in_progress", q2, "3").await;
    let guided = new_work(&app, &t, "Guided first lesson", q2, "2").await;
    let v = version(&app, guided).await;
    let moved = app
        .post_as(
            &t.pm_cookie,
            &format!("/epics/{guided}/status"),
            &[
                ("status", "ready"),
                ("version", &v),
                ("displace", &export.to_string()),
                ("displace_to", &q3.to_string()),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.text());
    assert_eq!(
        status_and_period(&app, export).await,
        ("in_progress".to_string(), Some(q3))
    );
    assert_eq!(
        status_and_period(&app, guided).await,
        ("ready".to_string(), Some(q2))
    );
    let next = app
        .get(&format!("/org/units/{}/backlog?period={q3}", t.team))
        .await
        .text();
    assert!(
        next.contains("Capacity and committed effort in 2026 Q3"),
        "{next}"
    );
    assert!(next.contains("3 team-weeks (1 epic)"), "{next}");
}

#[tokio::test]
async fn work_that_fits_or_a_team_without_capacity_is_committed_without_a_question() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (q2, q3) = quarters(&app).await;
    assert_eq!(
        set_capacity(&app, &t, q2, "10", "").await.status,
        StatusCode::SEE_OTHER
    );
    planned_epic(&app, &t, "Search ranking", "ready", q2, "6").await;
    let fits = new_work(&app, &t, "Exactly the rest", q2, "4").await;
    let unlimited = new_work(&app, &t, "Next quarter", q3, "40").await;
    for epic in [fits, unlimited] {
        let v = version(&app, epic).await;
        let page = app
            .post_as(
                &t.pm_cookie,
                &format!("/epics/{epic}/status"),
                &[("status", "ready"), ("version", &v)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
        assert_eq!(status_and_period(&app, epic).await.0, "ready");
    }
    let backlog = app
        .get(&format!("/org/units/{}/backlog", t.team))
        .await
        .text();
    assert!(
        backlog.contains("10 of 10 team-weeks committed in 2026 Q2"),
        "{backlog}"
    );
}

#[tokio::test]
async fn capacity_refuses_bad_input_keeping_it_refuses_a_stale_version_and_is_audited() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (q2, _) = quarters(&app).await;
    let bad = set_capacity(&app, &t, q2, "-2", "").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("The capacity cannot be negative"));
    assert!(bad.body.contains("value=\"-2\""), "the typing is kept");

    assert_eq!(
        set_capacity(&app, &t, q2, "12.5", "").await.status,
        StatusCode::SEE_OTHER
    );
    // Someone else read no capacity and saves 20 meanwhile: refused, 12.5 stays.
    let stale = set_capacity(&app, &t, q2, "20", "").await;
    assert!(
        app.follow(&stale)
            .await
            .text()
            .contains("Someone changed this capacity meanwhile")
    );
    let stored: (Decimal, i32) = sqlx::query_as(
        "SELECT weeks, version FROM team_capacity WHERE org_unit_id = $1 AND period_id = $2",
    )
    .bind(t.team)
    .bind(q2)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(stored, ("12.5".parse().unwrap(), 1));
    assert_eq!(
        set_capacity(&app, &t, q2, "", "1").await.status,
        StatusCode::SEE_OTHER
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM team_capacity")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0, "an empty capacity removes it");
    let audited: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT after->'weeks' FROM audit_log WHERE action = 'capacity_set' AND actor_id = $1 ORDER BY at, id",
    )
    .bind(t.pm)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        audited,
        [serde_json::json!("12.5"), serde_json::Value::Null]
    );
}

#[tokio::test]
async fn an_epic_costs_effort_times_the_nearest_rate_and_roi_is_realised_value_over_cost() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (q2, _) = quarters(&app).await;
    let company: Uuid = sqlx::query_scalar("SELECT parent_id FROM org_units WHERE id = $1")
        .bind(t.team)
        .fetch_one(&app.db)
        .await
        .unwrap();
    // A bad currency is refused with the typing kept; then the company's rate is set.
    let rate_path = format!("/org/units/{company}/cost-rate");
    let bad = app
        .post(&rate_path, &[("rate", "10000"), ("currency", "euro")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .contains("Enter the currency as its three-letter code")
    );
    assert!(bad.body.contains("value=\"euro\""));
    let set = app
        .post(
            &rate_path,
            &[
                ("rate", "10000"),
                ("currency", "eur"),
                ("period", &q2.to_string()),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.text());

    let shipped = planned_epic(&app, &t, "Guided first lesson", "measuring", q2, "4").await;
    let open = planned_epic(&app, &t, "Search ranking", "ready", q2, "2").await;
    let dropped = planned_epic(&app, &t, "Dropped idea", "cancelled", q2, "10").await;
    for (epic, realised) in [
        (shipped, Some("100000")),
        (open, None),
        (dropped, Some("999")),
    ] {
        sqlx::query(
            "INSERT INTO outcomes (id, epic_id, owner_id, kind, statement, metric, unit, direction, baseline, target, measure_by, realised_value)
             VALUES ($1, $2, $3, 'business_result', 'More paying learners', 'Revenue', 'currency', 'increase', 0, 100, '2026-09-30', $4::numeric)",
        )
        .bind(Uuid::new_v4())
        .bind(epic)
        .bind(t.pm)
        .bind(realised)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let page = app.get(&format!("/epics/{shipped}")).await.text();
    assert!(
        page.contains("Cost 4 team-weeks × 10,000 EUR = 40,000 EUR"),
        "{page}"
    );
    assert!(page.contains("ROI 100,000 ÷ 40,000 EUR = 2.5"), "{page}");
    let open_page = app.get(&format!("/epics/{open}")).await.text();
    assert!(open_page.contains("Cost 2 team-weeks × 10,000 EUR = 20,000 EUR"));
    assert!(open_page.contains("ROI Not known yet"));

    // Company and beneath in Q2: cost of the 2 live epics 60,000; ROI only where realised.
    let backlog = app
        .get(&format!("/org/units/{company}/backlog?period={q2}"))
        .await
        .text();
    assert!(
        backlog.contains("A team-week costs 10,000 EUR"),
        "{backlog}"
    );
    assert!(
        backlog.contains("EUR 2 (2 with a cost) 60,000 EUR 100,000 (1 epic) 2.5"),
        "{backlog}"
    );
    // The team inherits the rate and says where it comes from.
    let team_backlog = app
        .get(&format!("/org/units/{}/backlog", t.team))
        .await
        .text();
    assert!(
        team_backlog.contains("A team-week costs 10,000 EUR (the rate of Northwind)"),
        "{team_backlog}"
    );
}

async fn plan(app: &TestApp, t: &Team, fields: &[(&str, &str)]) -> crate::common::Page {
    app.post_as(
        &t.pm_cookie,
        &format!("/org/units/{}/iterations", t.team),
        fields,
    )
    .await
}

#[tokio::test]
async fn an_iteration_has_an_outcome_goal_and_its_review_at_the_end_counts_on_the_unit_page() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Search ranking", "tech_debt").await;
    let epic_id = epic.to_string();
    let tasks = plan(
        &app,
        &t,
        &[
            ("name", "Sprint 1"),
            ("starts_on", "2026-05-18"),
            ("ends_on", "2026-05-29"),
            ("goal", "Finish three refactoring tickets"),
            ("epic_id", &epic_id),
        ],
    )
    .await;
    assert_eq!(tasks.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(tasks.text().contains("Phrase the goal as an outcome"));
    assert!(
        tasks
            .body
            .contains("Finish three refactoring tickets</textarea>"),
        "the goal is kept"
    );
    assert!(
        tasks.body.contains(&format!("value=\"{epic_id}\" checked")),
        "the epic stays ticked"
    );

    let goal = "Improve search response time by 5%";
    let planned = plan(
        &app,
        &t,
        &[
            ("name", "Sprint 1"),
            ("starts_on", "2026-05-18"),
            ("ends_on", "2026-05-29"),
            ("goal", goal),
            ("epic_id", &epic_id),
        ],
    )
    .await;
    assert_eq!(planned.status, StatusCode::SEE_OTHER, "{}", planned.text());
    let sprint = planned.location().to_string();
    let overlap = plan(
        &app,
        &t,
        &[
            ("name", "Sprint 2"),
            ("starts_on", "2026-05-25"),
            ("ends_on", "2026-06-05"),
            ("goal", "Halve failed searches"),
        ],
    )
    .await;
    assert_eq!(overlap.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        overlap
            .text()
            .contains("These dates overlap another iteration of this team")
    );
    let current = plan(
        &app,
        &t,
        &[
            ("name", "Sprint 2"),
            ("starts_on", "2026-06-01"),
            ("ends_on", "2026-06-12"),
            ("goal", "Halve failed searches"),
        ],
    )
    .await;
    assert_eq!(current.status, StatusCode::SEE_OTHER);

    let shown = app.get(&sprint).await.text();
    assert!(shown.contains(&format!("Goal {goal}")), "{shown}");
    assert!(
        shown.contains("Epics it advances 1 Search ranking"),
        "{shown}"
    );

    // The current sprint ends on 12 Jun: too early to review it.
    let early = app
        .post_as(
            &t.pm_cookie,
            &format!("{}/review", current.location()),
            &[("review", "met"), ("note", "Looks good"), ("version", "1")],
        )
        .await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        early
            .text()
            .contains("The review comes at the end: on 12 Jun 2026 or later")
    );
    let no_note = app
        .post_as(
            &t.pm_cookie,
            &format!("{sprint}/review"),
            &[("review", "partly"), ("version", "1")],
        )
        .await;
    assert_eq!(no_note.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_note
            .body
            .contains("id=\"review-partly\" name=\"review\" value=\"partly\" checked"),
        "the choice is kept"
    );
    let reviewed = app
        .post_as(
            &t.pm_cookie,
            &format!("{sprint}/review"),
            &[
                ("review", "met"),
                ("note", "p95 went from 840 ms to 770 ms"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(
        reviewed.status,
        StatusCode::SEE_OTHER,
        "{}",
        reviewed.text()
    );
    let stored: (Option<String>, String, Option<Uuid>) = sqlx::query_as(
        "SELECT review, review_note, reviewed_by FROM iterations WHERE name = 'Sprint 1'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        stored,
        (
            Some("met".into()),
            "p95 went from 840 ms to 770 ms".into(),
            Some(t.pm)
        )
    );
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action IN ('iteration_created', 'iteration_reviewed')")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(audited, 3);

    let unit = app.get(&format!("/org/units/{}", t.team)).await.text();
    assert!(
        unit.contains("1 of 1 reviewed goal met over 2 iterations"),
        "{unit}"
    );
    assert!(
        unit.contains("Sprint 2 1 Jun 2026 – 12 Jun 2026 Halve failed searches Not reviewed yet"),
        "{unit}"
    );
}

#[tokio::test]
async fn the_backlog_reads_the_same_number_of_statements_for_one_team_or_five() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (q2, _) = quarters(&app).await;
    planned_epic(&app, &t, "Search ranking", "ready", q2, "6").await;
    let company: Uuid = sqlx::query_scalar("SELECT parent_id FROM org_units WHERE id = $1")
        .bind(t.team)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let path = format!("/org/units/{company}/backlog");
    let before = app.get(&path).await.statements();
    for n in 0..4 {
        let unit = app
            .create_unit(&format!("Team {n}"), "team", Some(company))
            .await;
        let other = Team {
            team: unit,
            pm: t.pm,
            pm_cookie: t.pm_cookie.clone(),
        };
        planned_epic(&app, &other, &format!("Work {n}"), "in_progress", q2, "2").await;
        sqlx::query("INSERT INTO team_capacity (org_unit_id, period_id, weeks) VALUES ($1, $2, 5)")
            .bind(unit)
            .bind(q2)
            .execute(&app.db)
            .await
            .unwrap();
    }
    let page = app.get(&path).await;
    assert!(
        page.text()
            .contains("Team 3 5 team-weeks 2 team-weeks (1 epic) 3"),
        "{}",
        page.text()
    );
    assert_eq!(page.statements(), before);
}
