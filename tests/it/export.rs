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

/// A CSV download: its header and rows.
fn parse_csv(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let head = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (head, rows)
}

#[tokio::test]
async fn every_list_downloads_all_the_rows_its_filters_match_as_csv() {
    let app = TestApp::new().await;
    yardstick::demo::load(&app.db, &app.clock).await.unwrap();
    // A change through a form, so the audit log has entries.
    app.create_person("Rosa Audit", "rosa@example.com").await;
    // More epics than a page holds, one of them titled like a spreadsheet formula.
    sqlx::query(
        "INSERT INTO epics (id, team_id, work_type, title, status)
         SELECT gen_random_uuid(), (SELECT id FROM org_units WHERE kind = 'team' ORDER BY name LIMIT 1),
                'defect', CASE WHEN g = 1 THEN '=HYPERLINK(\"http://evil\")' ELSE 'Defect ' || g END, 'draft'
           FROM generate_series(1, 60) g",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let count = |sql: &str| {
        let sql = sql.to_string();
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(&db)
                .await
                .unwrap() as usize
        }
    };
    let lists = [
        (
            "/epics?type=defect",
            "Download every matching epic (CSV)",
            "SELECT count(*) FROM epics WHERE work_type = 'defect'",
        ),
        (
            "/initiatives",
            "Download every matching initiative (CSV)",
            "SELECT count(*) FROM initiatives",
        ),
        (
            "/learnings",
            "Download every matching learning (CSV)",
            "SELECT count(*) FROM outcomes WHERE closed_at IS NOT NULL",
        ),
        (
            "/people",
            "Download every matching person (CSV)",
            "SELECT count(*) FROM people",
        ),
        (
            "/periods",
            "Download every period (CSV)",
            "SELECT count(*) FROM periods",
        ),
        (
            "/org",
            "Download every unit (CSV)",
            "SELECT count(*) FROM org_units",
        ),
        (
            "/admin/audit",
            "Download every matching entry (CSV)",
            "SELECT count(*) FROM audit_log",
        ),
    ];
    for (path, link, sql) in lists {
        let page = app.get(path).await;
        let href = page
            .link(link)
            .unwrap_or_else(|| panic!("{path}: {}", page.text()));
        let download = app.get(&href).await;
        assert_eq!(download.status, StatusCode::OK, "{href}");
        assert_eq!(
            download.headers[header::CONTENT_TYPE],
            "text/csv; charset=utf-8"
        );
        let (head, rows) = parse_csv(&download.body);
        assert!(head[0].contains("ID"), "{head:?}");
        assert_eq!(rows.len(), count(sql).await, "{href}");
        assert!(!rows.is_empty(), "{href}");
    }
    let (_, defects) = parse_csv(&app.get("/epics/csv?type=defect").await.body);
    assert!(defects.iter().all(|r| r[2] == "Defect"), "{defects:?}");
    assert!(
        defects
            .iter()
            .any(|r| r[1] == "'=HYPERLINK(\"http://evil\")"),
        "a formula is written as text"
    );

    // The OKR tree: a row per objective and key result the page shows, in its order.
    let page = app.get("/okrs").await;
    let href = page
        .link("Download this tree (CSV)")
        .expect("the tree's link");
    let (head, rows) = parse_csv(&app.get(&href).await.body);
    assert_eq!(head[..3], ["Level", "Kind", "ID"]);
    let shown = |class: &str| {
        page.body
            .matches(&format!("<li class=\"{class}\">"))
            .count()
    };
    let kinds = |kind: &str| rows.iter().filter(|r| r[1] == kind).count();
    assert!(shown("tree-objective") > 0);
    assert_eq!(kinds("Objective"), shown("tree-objective"));
    assert_eq!(kinds("Key result"), shown("tree-key-result"));
    let first = page
        .body
        .split("<li class=\"tree-objective\"><a href=\"/objectives/")
        .nth(1)
        .unwrap();
    assert!(
        first.starts_with(&rows[0][2]),
        "the first row is the first objective shown"
    );
    assert!(
        rows.iter().any(|r| r[0] == "2"),
        "cascaded objectives sit a level down"
    );

    let page = app.get("/loops?scope=org&loop=overdue").await;
    let href = page
        .link("Download every loop in this queue (CSV)")
        .expect("the loops link");
    let (head, rows) = parse_csv(&app.get(&href).await.body);
    assert_eq!(head[4], "State");
    let overdue = count(
        "SELECT count(*) FROM outcomes o JOIN epics e ON e.id = o.epic_id
          WHERE o.closed_at IS NULL AND e.status <> 'cancelled' AND o.measure_by < '2026-06-01'",
    )
    .await
        + count(
            "SELECT count(*) FROM outcomes o JOIN initiatives i ON i.id = o.initiative_id
              WHERE o.closed_at IS NULL AND i.status <> 'cancelled' AND o.measure_by < '2026-06-01'",
        )
        .await;
    assert!(overdue > 0, "the demo has overdue loops");
    assert_eq!(rows.len(), overdue);
    assert!(rows.iter().all(|r| r[4] == "Overdue"), "{rows:?}");
}
