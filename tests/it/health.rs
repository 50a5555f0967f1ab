use axum::http::StatusCode;
use serde_json::Value;

use crate::common::{TestApp, drop_database};

#[tokio::test]
async fn healthz_and_readyz_report_a_live_migrated_database() {
    let app = TestApp::new().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&health.body).unwrap()["status"],
        "ok"
    );

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    let body: Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["migrated"], true);
    let latest = yardstick::db::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap();
    assert_eq!(body["schema_version"], latest);
}

#[tokio::test]
async fn readyz_fails_quickly_when_the_database_is_gone_and_pages_answer_503() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    drop_database(&app.db_name).await;

    let started = std::time::Instant::now();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], "unreachable");
    // Liveness does not depend on the database.
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);

    let page = app.get("/org").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.text().contains("Yardstick is briefly unavailable"));
    assert!(page.headers.contains_key("retry-after"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "answered in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn readyz_says_not_ready_before_migrations_are_applied() {
    let app = TestApp::new().await;
    sqlx::query("DELETE FROM _sqlx_migrations")
        .execute(&app.db)
        .await
        .unwrap();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(
        (body["database"].as_str(), body["migrated"].as_bool()),
        (Some("ok"), Some(false))
    );
}
