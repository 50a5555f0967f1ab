//! Resilience: what a server answers when it is asked for more than it can serve, and
//! that it recovers by itself.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;

use crate::common::TestApp;

/// Waits until `n` statements of this database wait for a lock.
async fn until_waiting_for_a_lock(app: &TestApp, n: i64) {
    let started = Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        if waiting >= n {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{waiting} of {n} requests reached the database"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn beyond_the_requests_it_serves_at_once_a_server_answers_503_with_retry_after_at_once_and_recovers()
 {
    let app = TestApp::new()
        .await
        .with_state(|state| state.with_max_in_flight(2));
    // The organisation's row held by another transaction: pages that read it wait.
    let mut blocker = app.db.begin().await.unwrap();
    sqlx::query("LOCK TABLE organisation IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();

    let in_flight = async { tokio::join!(app.get("/"), app.get("/periods")) };
    let meanwhile = async {
        until_waiting_for_a_lock(&app, 2).await;
        let started = Instant::now();
        let page = app.get("/epics").await;
        let answered_in = started.elapsed();
        let api = app.get("/api/v1/epics").await;
        let alive = app.get("/healthz").await;
        blocker.rollback().await.unwrap();
        (page, answered_in, api, alive)
    };
    let ((home, periods), (page, answered_in, api, alive)) = tokio::join!(in_flight, meanwhile);

    // The third request is refused at once, with a page that says what to do.
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        answered_in < Duration::from_secs(1),
        "answered in {answered_in:?}"
    );
    assert_eq!(page.headers["retry-after"], "1");
    let text = page.text();
    assert!(
        text.contains("Yardstick is busy") && text.contains("Nothing was changed"),
        "{text}"
    );
    assert!(page.headers.contains_key("content-security-policy"));
    // The API says it as a problem.
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.headers["retry-after"], "1");
    assert_eq!(api.headers["content-type"], "application/problem+json");
    let problem: Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(problem["status"], 503);
    assert_eq!(problem["title"], "Too busy to answer now");
    // Liveness is answered even when every permit is taken.
    assert_eq!(alive.status, StatusCode::OK);

    // The requests in flight finish once the lock is gone, and the server serves again.
    assert_eq!(home.status, StatusCode::OK, "{}", home.text());
    assert_eq!(periods.status, StatusCode::OK, "{}", periods.text());
    let after = app.get("/epics").await;
    assert_eq!(after.status, StatusCode::OK);
    assert!(after.text().contains("Epics"));
}
