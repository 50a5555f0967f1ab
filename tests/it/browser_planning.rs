//! The product manager plans in a real browser: the ranked backlog, committing an epic over
//! capacity and choosing what it displaces, and an iteration with an outcome goal.

use uuid::Uuid;

use crate::common::TestApp;
use crate::common::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_manager_commits_over_capacity_by_choosing_what_to_deprioritise() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind Learning", "company", None).await;
    let team = app.create_unit("Onboarding", "team", Some(company)).await;
    let pm = app
        .account("Priya Raman", "priya@northwind.example", "member")
        .await;
    yardstick::org::upsert_membership(
        &app.db,
        team,
        pm,
        yardstick::org::model::MemberRole::ProductManager,
    )
    .await
    .unwrap();
    let q2 = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO periods (id, name, cadence, starts_on, ends_on) VALUES
            ($1, '2026 Q2', 'quarter', '2026-04-01', '2026-06-30'),
            (gen_random_uuid(), '2026 Q3', 'quarter', '2026-07-01', '2026-09-30')",
    )
    .bind(q2)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("INSERT INTO team_capacity (org_unit_id, period_id, weeks) VALUES ($1, $2, 10)")
        .bind(team)
        .bind(q2)
        .execute(&app.db)
        .await
        .unwrap();
    // Committed: 6 + 3 of 10 team-weeks. The draft epic ranks first (120 × 7 ÷ 10 ÷ 4 = 21).
    let guided = Uuid::new_v4();
    for (id, title, status, value, confidence, effort) in [
        (Uuid::new_v4(), "Search ranking", "ready", 100, 8, 6),
        (Uuid::new_v4(), "Data export", "in_progress", 30, 9, 3),
        (guided, "Guided first lesson", "draft", 120, 7, 4),
    ] {
        sqlx::query(
            "INSERT INTO epics (id, team_id, owner_id, work_type, title, status, period_id, value, confidence, effort_weeks)
             VALUES ($1, $2, $3, 'feature', $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(team)
        .bind(pm)
        .bind(title)
        .bind(status)
        .bind(q2)
        .bind(rust_decimal::Decimal::from(value))
        .bind(confidence as i16)
        .bind(rust_decimal::Decimal::from(effort))
        .execute(&app.db)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO outcomes (id, epic_id, owner_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
         VALUES (gen_random_uuid(), $1, $2, 'behaviour', 'New learners finish onboarding', 'Onboarding completion', 'percent', 'increase', 45, 80, '2026-09-30')",
    )
    .bind(guided)
    .bind(pm)
    .execute(&app.db)
    .await
    .unwrap();

    let base = app.serve().await;
    let Some(browser) = Browser::start(&base).await else {
        return;
    };
    browser
        .sign_in("priya@northwind.example", crate::common::TEST_PASSWORD)
        .await;
    browser.visit(&format!("/org/units/{team}/backlog")).await;
    let text = browser.text().await;
    assert!(
        text.contains("9 of 10 team-weeks committed in 2026 Q2"),
        "{text}"
    );
    let first = text.find("Guided first lesson").expect("listed");
    let second = text.find("Search ranking").expect("listed");
    assert!(first < second, "the highest score ranks first: {text}");
    assert!(text.contains("120 × 7 ÷ 10 ÷ 4 = 21"), "{text}");

    browser.follow("Guided first lesson").await;
    browser.press("Mark ready").await;
    let text = browser.text().await;
    assert!(
        text.contains("Make room for Guided first lesson")
            && text.contains("3 team-weeks over capacity"),
        "{text}"
    );
    // Deciding nothing is refused with the reason.
    browser.press("Deprioritise and mark ready").await;
    assert!(
        browser
            .text()
            .await
            .contains("Choose at least one epic to make room")
    );
    browser.tick("Search ranking — 6 team-weeks, ready").await;
    browser.tick("Back to draft (only epics not started)").await;
    browser.press("Deprioritise and mark ready").await;
    let text = browser.text().await;
    assert!(
        text.contains("Epic is now ready (1 epic deprioritised to make room)"),
        "{text}"
    );
    browser.follow("The team’s backlog").await;
    let text = browser.text().await;
    assert!(
        text.contains("7 of 10 team-weeks committed in 2026 Q2"),
        "{text}"
    );

    // An iteration whose goal is a task list is refused; an outcome goal is planned.
    browser.visit(&format!("/org/units/{team}")).await;
    browser.follow("Plan an iteration").await;
    browser
        .fill("Goal", "Finish three refactoring tickets")
        .await;
    browser.tick("Guided first lesson Onboarding · Ready").await;
    browser.press("Plan iteration").await;
    assert!(
        browser
            .text()
            .await
            .contains("Phrase the goal as an outcome")
    );
    browser
        .fill("Goal", "Lift 7-day onboarding completion by 5 points")
        .await;
    browser.press("Plan iteration").await;
    let text = browser.text().await;
    assert!(
        text.contains("Iteration planned") && text.contains("Guided first lesson"),
        "{text}"
    );
    browser.close().await;

    let statuses: Vec<(String, String)> =
        sqlx::query_as("SELECT title, status FROM epics ORDER BY title")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let statuses: Vec<(&str, &str)> = statuses
        .iter()
        .map(|(t, s)| (t.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("Data export", "in_progress"),
            ("Guided first lesson", "ready"),
            ("Search ranking", "draft")
        ]
    );
    let chosen: i64 = sqlx::query_scalar("SELECT count(*) FROM iteration_epics WHERE epic_id = $1")
        .bind(guided)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(chosen, 1);
}
