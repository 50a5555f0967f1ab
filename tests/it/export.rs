//! The full export: every table's rows as one JSON document, for administrators at
//! `/admin/export` and from `yardstick export FILE`, with secrets and derived rollups left
//! out — and every table of the schema either exported or listed as left out, so a new
//! table cannot be forgotten.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{StatusCode, header};
use serde_json::Value;

use crate::common::{TestApp, row_counts};

fn exported_counts(doc: &Value) -> BTreeMap<String, i64> {
    doc["tables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(t, rows)| (t.clone(), rows.as_array().unwrap().len() as i64))
        .collect()
}

#[tokio::test]
async fn the_export_holds_every_rows_of_every_table_and_no_secret() {
    let app = TestApp::new().await;
    yardstick::demo::load(&app.db, &app.clock).await.unwrap();
    crate::api::token(&app, &app.cookie, "Warehouse job", "write").await;

    let audit_page = app.get("/admin/audit").await;
    assert_eq!(
        audit_page
            .link("Export all the organisation’s data (JSON)")
            .as_deref(),
        Some("/admin/export")
    );
    let page = app.get("/admin/export").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"yardstick-export-2026-06-01.json\""
    );
    let doc: Value = serde_json::from_str(&page.body).expect("the export is JSON");
    assert_eq!(doc["format"], "yardstick-export");
    assert_eq!(doc["version"], 1);

    let all = row_counts(&app.db).await;
    let left_out: BTreeSet<&str> = yardstick::export::LEFT_OUT
        .iter()
        .map(|(t, _)| *t)
        .collect();
    let exported = exported_counts(&doc);
    // Every table is exported with all its rows, or named as left out.
    for (table, n) in &all {
        if left_out.contains(table.as_str()) {
            assert!(!exported.contains_key(table), "{table} is left out");
        } else {
            assert_eq!(exported.get(table), Some(n), "{table}");
        }
    }
    assert_eq!(exported.len() + left_out.len(), all.len(), "{exported:?}");
    assert!(exported["epics"] > 10 && exported["measurements"] > 0 && exported["audit_log"] > 0);
    // No secret travels with it.
    let people = doc["tables"]["people"].as_array().unwrap();
    assert!(
        people
            .iter()
            .all(|p| p.get("password_hash").is_none() && p.get("email").is_some())
    );
    let tokens = doc["tables"]["api_tokens"].as_array().unwrap();
    assert_eq!(tokens[0]["name"], "Warehouse job");
    assert!(tokens[0].get("token_hash").is_none());
    assert!(!page.body.contains("$argon2id$"));

    let audit: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'data_exported'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audit, 1);
}

#[tokio::test]
async fn the_export_command_writes_the_same_document_to_a_file() {
    let app = TestApp::new().await;
    yardstick::demo::load(&app.db, &app.clock).await.unwrap();
    let file = std::env::temp_dir().join(format!("yardstick-export-{}.json", uuid::Uuid::new_v4()));
    let summary = yardstick::export::to_file(&app.db, &file).await.unwrap();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    std::fs::remove_file(&file).unwrap();
    let written = exported_counts(&doc);
    let summarised: BTreeMap<String, i64> =
        summary.into_iter().map(|(t, n)| (t, n as i64)).collect();
    assert_eq!(written, summarised);
    let all = row_counts(&app.db).await;
    assert_eq!(written["outcomes"], all["outcomes"]);
    assert_eq!(written["key_results"], all["key_results"]);
}
