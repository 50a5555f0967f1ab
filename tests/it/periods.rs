use axum::http::StatusCode;
use chrono::{TimeZone, Utc};

use crate::common::TestApp;

async fn add(
    app: &TestApp,
    name: &str,
    cadence: &str,
    starts: &str,
    ends: &str,
) -> crate::common::Page {
    app.post(
        "/periods",
        &[
            ("name", name),
            ("cadence", cadence),
            ("starts_on", starts),
            ("ends_on", ends),
        ],
    )
    .await
}

#[tokio::test]
async fn periods_of_one_cadence_cannot_overlap_but_a_year_may_hold_its_quarters() {
    let app = TestApp::new().await;
    assert_eq!(
        add(&app, "2026 Q2", "quarter", "2026-04-01", "2026-06-30")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        add(&app, "FY2026", "year", "2026-01-01", "2026-12-31")
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    let overlapping = add(&app, "Spring", "quarter", "2026-06-30", "2026-09-29").await;
    assert_eq!(overlapping.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = overlapping.text();
    assert!(
        text.contains("These dates overlap 2026 Q2 (1 Apr 2026 – 30 Jun 2026)"),
        "{text}"
    );
    assert!(
        overlapping.body.contains(r#"value="Spring""#)
            && overlapping.body.contains(r#"value="2026-06-30""#)
    );

    // The day after is fine.
    assert_eq!(
        add(&app, "2026 Q3", "quarter", "2026-07-01", "2026-09-30")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM periods ORDER BY starts_on, name")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(names, ["FY2026", "2026 Q2", "2026 Q3"]);
}

#[tokio::test]
async fn a_period_needs_real_dates_in_order_and_a_unique_name() {
    let app = TestApp::new().await;
    let page = add(&app, "", "weekly", "2026-02-30", "").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = page.text();
    assert!(text.contains("Enter a name"));
    assert!(text.contains("Choose how often this kind of period comes round"));
    assert!(text.contains("The start date must be a real date"));
    assert!(text.contains("Enter the end date"));

    let reversed = add(&app, "Backwards", "custom", "2026-05-01", "2026-04-01").await;
    assert!(
        reversed
            .text()
            .contains("The end date must be on or after the start date")
    );

    add(&app, "2026 Q1", "quarter", "2026-01-01", "2026-03-31").await;
    let duplicate = add(&app, "2026 q1", "custom", "2027-01-01", "2027-03-31").await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        duplicate
            .text()
            .contains("There is already a period called “2026 q1”")
    );
}

#[tokio::test]
async fn the_current_period_follows_the_organisations_time_zone_at_the_day_boundary() {
    let app = TestApp::new().await;
    add(&app, "2026 Q2", "quarter", "2026-04-01", "2026-06-30").await;
    add(&app, "2026 Q3", "quarter", "2026-07-01", "2026-09-30").await;
    // 30 June, 23:30 UTC: still Q2 in UTC, already 1 July (Q3) in Berlin.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 6, 30, 23, 30, 0).unwrap());

    // A month on, the morning's session has expired: sign in again.
    let cookie = app.session_for(app.admin).await;
    let utc = app.get_as(&cookie, "/periods").await.text();
    assert!(utc.contains("Today is 30 Jun 2026"));
    assert!(
        utc.contains("2026 Q2 Quarter 1 Apr 2026 – 30 Jun 2026 Current"),
        "{utc}"
    );
    // The dashboard's period defaults to today's, the zone read with the session.
    let dashboard = app.get_as(&cookie, "/dashboard").await.text();
    assert!(
        dashboard.contains("Dashboard · 2026 Q2 What was anticipated"),
        "{dashboard}"
    );

    let page = app
        .post_as(
            &cookie,
            "/org/settings",
            &[
                ("name", "Northwind"),
                ("time_zone", "Europe/Berlin"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let berlin = app.get_as(&cookie, "/periods").await.text();
    assert!(berlin.contains("Today is 1 Jul 2026"));
    assert!(
        berlin.contains("2026 Q3 Quarter 1 Jul 2026 – 30 Sep 2026 Current"),
        "{berlin}"
    );
    assert!(berlin.contains("2026 Q2 Quarter 1 Apr 2026 – 30 Jun 2026 Past"));
    let dashboard = app.get_as(&cookie, "/dashboard").await.text();
    assert!(
        dashboard.contains("Dashboard · 2026 Q3 What was anticipated"),
        "{dashboard}"
    );
    assert!(
        app.get_as(&cookie, "/")
            .await
            .text()
            .contains("Current period: 2026 Q3")
    );
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused() {
    let app = TestApp::new().await;
    let page = app
        .post(
            "/org/settings",
            &[
                ("name", "Northwind"),
                ("time_zone", "Mars/Olympus"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("Choose a time zone from the list"));
    let zone: String = sqlx::query_scalar("SELECT time_zone FROM organisation")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(zone, "UTC");
}

#[tokio::test]
async fn the_new_period_form_proposes_the_quarter_after_the_last() {
    let app = TestApp::new().await;
    let empty = app.get("/periods/new").await;
    // Nothing yet: the quarter of "today" (1 June 2026).
    assert!(
        empty.body.contains(r#"value="2026 Q2""#) && empty.body.contains(r#"value="2026-04-01""#)
    );
    add(&app, "2026 Q4", "quarter", "2026-10-01", "2026-12-31").await;
    let next = app.get("/periods/new").await;
    assert!(
        next.body.contains(r#"value="2027 Q1""#) && next.body.contains(r#"value="2027-03-31""#)
    );
}

#[tokio::test]
async fn a_period_checks_in_weekly_unless_it_says_otherwise() {
    let app = TestApp::new().await;
    let fields = |days: &'static str| {
        [
            ("name", "2026 Q3"),
            ("cadence", "quarter"),
            ("starts_on", "2026-07-01"),
            ("ends_on", "2026-09-30"),
            ("check_in_days", days),
        ]
    };
    let refused = app.post("/periods", &fields("0")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("from 1 to 92 (7 is weekly)"));
    assert!(refused.body.contains("value=\"0\""), "the typing is kept");
    assert_eq!(
        app.post("/periods", &fields("14")).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        add(&app, "2026 Q4", "quarter", "2026-10-01", "2026-12-31")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let cadences: Vec<(String, i32)> =
        sqlx::query_as("SELECT name, check_in_days FROM periods ORDER BY starts_on")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        cadences,
        [("2026 Q3".to_string(), 14), ("2026 Q4".to_string(), 7)]
    );
}
