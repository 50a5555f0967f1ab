//! Prioritisation: each epic's anticipated value, confidence and effort, and the team
//! backlog ranked by value × confidence ÷ 10 ÷ effort, with a manual order kept as a rank.

use axum::http::StatusCode;
use uuid::Uuid;

use crate::common::TestApp;
use crate::epics::{create_epic, team};

async fn set_priority(
    app: &TestApp,
    cookie: &str,
    epic: Uuid,
    team: Uuid,
    inputs: [&str; 3],
) -> crate::common::Page {
    let version: i32 = sqlx::query_scalar("SELECT version FROM epics WHERE id = $1")
        .bind(epic)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let title: String = sqlx::query_scalar("SELECT title FROM epics WHERE id = $1")
        .bind(epic)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let (team, version) = (team.to_string(), version.to_string());
    app.post_as(
        cookie,
        &format!("/epics/{epic}"),
        &[
            ("title", &title),
            ("team_id", &team),
            ("work_type", "feature"),
            ("value", inputs[0]),
            ("value_label", "revenue per quarter (kEUR)"),
            ("confidence", inputs[1]),
            ("effort_weeks", inputs[2]),
            ("version", &version),
        ],
    )
    .await
}

#[tokio::test]
async fn the_backlog_ranks_by_value_times_confidence_over_effort_and_lists_the_incomplete_apart() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let small = create_epic(&app, &t, "Small sure win", "feature").await;
    let big = create_epic(&app, &t, "Big bet", "feature").await;
    let unknown = create_epic(&app, &t, "Not estimated", "feature").await;
    // 40 × 9 ÷ 10 ÷ 1 = 36 beats 200 × 3 ÷ 10 ÷ 5 = 12.
    for (epic, inputs) in [
        (small, ["40", "9", "1"]),
        (big, ["200", "3", "5"]),
        (unknown, ["90", "", "2"]),
    ] {
        let saved = set_priority(&app, &t.pm_cookie, epic, t.team, inputs).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    }
    let stored: (
        Option<rust_decimal::Decimal>,
        Option<i16>,
        Option<rust_decimal::Decimal>,
    ) = sqlx::query_as("SELECT value, confidence, effort_weeks FROM epics WHERE id = $1")
        .bind(big)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, (Some(200.into()), Some(3), Some(5.into())));

    let page = app.get(&format!("/org/units/{}/backlog", t.team)).await;
    let text = page.text();
    let first = text.find("1 Small sure win").expect("ranked first");
    let second = text.find("2 Big bet").expect("ranked second");
    assert!(first < second, "{text}");
    assert!(text.contains("40 × 9 ÷ 10 ÷ 1 = 36"), "{text}");
    assert!(text.contains("200 × 3 ÷ 10 ÷ 5 = 12"));
    let apart = &text[text.find("Not ranked yet").unwrap()..];
    assert!(
        apart.contains("Not estimated") && apart.contains("needs confidence"),
        "{apart}"
    );

    let epic_page = app.get(&format!("/epics/{big}")).await.text();
    assert!(
        epic_page.contains("Score 200 × 3 ÷ 10 ÷ 5 = 12"),
        "{epic_page}"
    );
    let epic_page = app.get(&format!("/epics/{unknown}")).await.text();
    assert!(
        epic_page.contains("No score yet: it needs confidence"),
        "{epic_page}"
    );
}

#[tokio::test]
async fn out_of_range_priority_inputs_are_refused_and_kept() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Big bet", "feature").await;
    let refused = set_priority(&app, &t.pm_cookie, epic, t.team, ["-3", "12", "0"]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = refused.text();
    assert!(
        text.contains("The anticipated value cannot be negative"),
        "{text}"
    );
    assert!(text.contains("Choose a confidence from 0 to 10"));
    assert!(text.contains("The effort must be more than 0 team-weeks"));
    assert!(
        refused
            .body
            .contains(r#"id="value" name="value" value="-3""#)
    );
    let value: Option<rust_decimal::Decimal> = sqlx::query_scalar("SELECT value FROM epics")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(value, None);
}

#[tokio::test]
async fn moving_an_epic_by_hand_keeps_the_order_as_a_rank_with_the_score_beside_it_until_reset() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let mut epics = Vec::new();
    for (title, value) in [("Alpha", "30"), ("Bravo", "20"), ("Charlie", "10")] {
        let epic = create_epic(&app, &t, title, "feature").await;
        set_priority(&app, &t.pm_cookie, epic, t.team, [value, "10", "1"]).await;
        epics.push(epic);
    }
    let backlog = format!("/org/units/{}/backlog", t.team);
    let charlie = epics[2].to_string();
    let moved = app
        .post_as(
            &t.pm_cookie,
            &backlog,
            &[("epic", &charlie), ("direction", "up"), ("subunits", "1")],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    let ranks: Vec<(String, Option<i32>)> =
        sqlx::query_as("SELECT title, rank FROM epics ORDER BY rank")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        ranks,
        [
            ("Alpha".to_string(), Some(1)),
            ("Charlie".to_string(), Some(2)),
            ("Bravo".to_string(), Some(3))
        ]
    );
    let text = app.get(&backlog).await.text();
    assert!(text.contains("The order has been set by hand"));
    let charlie_row = text.find("2 Charlie").expect("Charlie second");
    assert!(
        text[charlie_row..].starts_with("2 Charlie Feature Onboarding Draft 10 × 10 ÷ 10 ÷ 1 = 10"),
        "{text}"
    );
    let audit: serde_json::Value =
        sqlx::query_scalar("SELECT after FROM audit_log WHERE action = 'backlog_reordered'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audit["moved"], charlie.as_str());

    // Someone outside the team may not reorder it; going back to score order clears ranks.
    let outsider = app
        .account("Olga Outsider", "olga@northwind.example", "member")
        .await;
    let cookie = app.session_for(outsider).await;
    let refused = app
        .post_as(
            &cookie,
            &backlog,
            &[("epic", &charlie), ("direction", "up")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    app.post_as(&t.pm_cookie, &backlog, &[("direction", "reset")])
        .await;
    let ranked: i64 = sqlx::query_scalar("SELECT count(*) FROM epics WHERE rank IS NOT NULL")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(ranked, 0);
    let text = app.get(&backlog).await.text();
    assert!(
        text.find("2 Bravo").is_some() && !text.contains("set by hand"),
        "{text}"
    );
}
