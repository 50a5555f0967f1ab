//! Metric ingestion: outcomes and key results carry a metric key (set on their forms and
//! through the API), and an analytics job posting a value for the key records a
//! measurement or check-in on every record bound to it, once, saying what it did with each.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::{call, json, problem, q2, token};
use crate::common::TestApp;

const KEY: &str = "onboarding.completion_rate_7d";

/// A team's delivered epic with an outcome, a cancelled one with another, and an
/// objective's key result followed by check-ins: all three bound to `KEY`.
struct Bound {
    team: Uuid,
    outcome: Uuid,
    cancelled: Uuid,
    key_result: Uuid,
}

async fn bound(app: &TestApp) -> Bound {
    let team = app.create_unit("Onboarding", "team", None).await;
    let period = q2(app).await;
    let (outcome, cancelled, key_result) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    sqlx::query(
        "WITH e AS (INSERT INTO epics (id, team_id, work_type, title, status) VALUES
                      (gen_random_uuid(), $4, 'feature', 'Guided first lesson', 'measuring'),
                      (gen_random_uuid(), $4, 'feature', 'Dropped idea', 'cancelled') RETURNING id, status),
              o AS (INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by, metric_key)
                    SELECT CASE e.status WHEN 'measuring' THEN $1 ELSE $2 END, e.id, 'behaviour',
                           'Learners finish in week one', 'Completion', 'percent', 'increase', 62, 80, '2026-09-30', $6 FROM e),
              ob AS (INSERT INTO objectives (id, org_unit_id, period_id, title) VALUES (gen_random_uuid(), $4, $5, 'Learners get going') RETURNING id)
         INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target, metric_key)
         SELECT $3, ob.id, 'Completion to 80%', 'Completion', 'percent', 'increase', 62, 80, $6 FROM ob",
    )
    .bind(outcome)
    .bind(cancelled)
    .bind(key_result)
    .bind(team)
    .bind(period)
    .bind(KEY)
    .execute(&app.db)
    .await
    .unwrap();
    Bound {
        team,
        outcome,
        cancelled,
        key_result,
    }
}

/// What happened to each record, by id (records of one kind created together have no
/// order between them).
fn results(body: &Value) -> BTreeMap<String, String> {
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What `results` should be.
fn expect(pairs: [(Uuid, &str); 3]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(id, result)| (id.to_string(), result.to_string()))
        .collect()
}

/// Why the record `id` was skipped.
fn reason(body: &Value, id: Uuid) -> String {
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.to_string().as_str())
        .and_then(|r| r["reason"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_value_for_a_metric_key_is_recorded_once_on_every_bound_record() {
    let app = TestApp::new().await;
    let b = bound(&app).await;
    let text = token(&app, &app.cookie, "Warehouse job", "write").await;
    let path = format!("/api/v1/metrics/{KEY}/values");

    // The first check-in of a key result needs a confidence: it is skipped without one.
    let first = call(
        &app,
        Method::POST,
        &path,
        &text,
        Some(json!({ "value": "70", "date": "2026-05-30" })),
        None,
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let body = json(&first);
    assert_eq!(
        results(&body),
        expect([
            (b.outcome, "recorded"),
            (b.cancelled, "skipped"),
            (b.key_result, "skipped"),
        ])
    );
    assert!(reason(&body, b.key_result).contains("confidence"), "{body}");
    assert!(reason(&body, b.cancelled).contains("cancelled"), "{body}");

    let posted =
        json!({ "value": "74.5", "date": "2026-05-31", "confidence": 7, "note": "Nightly load" });
    let second = json(&call(&app, Method::POST, &path, &text, Some(posted.clone()), None).await);
    assert_eq!(second["value"], "74.5");
    assert_eq!(
        results(&second),
        expect([
            (b.outcome, "recorded"),
            (b.cancelled, "skipped"),
            (b.key_result, "recorded"),
        ])
    );
    // The same key, day and value again changes nothing.
    let again = json(&call(&app, Method::POST, &path, &text, Some(posted), None).await);
    assert_eq!(
        results(&again),
        expect([
            (b.outcome, "unchanged"),
            (b.cancelled, "skipped"),
            (b.key_result, "unchanged"),
        ])
    );
    assert_eq!(count(&app, "measurements").await, 2);
    assert_eq!(count(&app, "check_ins").await, 1);
    let (value, confidence): (rust_decimal::Decimal, i16) =
        sqlx::query_as("SELECT current_value, confidence FROM key_results WHERE id = $1")
            .bind(b.key_result)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (value.normalize().to_string(), confidence),
        ("74.5".to_string(), 7)
    );
    let source: String = sqlx::query_scalar(
        "SELECT source FROM measurements WHERE outcome_id = $1 ORDER BY measured_on DESC LIMIT 1",
    )
    .bind(b.outcome)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(source, format!("metric {KEY}"));
    // The outcome's page shows what the job recorded.
    let page = app.get(&format!("/outcomes/{}", b.outcome)).await.text();
    assert!(page.contains("74.5") && page.contains(KEY), "{page}");

    // A value for another day, keeping the key result's latest confidence.
    let later = json(
        &call(
            &app,
            Method::POST,
            &path,
            &text,
            Some(json!({ "value": "76", "date": "2026-06-01" })),
            None,
        )
        .await,
    );
    assert_eq!(results(&later)[&b.key_result.to_string()], "recorded");
    let confidence: i16 = sqlx::query_scalar("SELECT confidence FROM key_results WHERE id = $1")
        .bind(b.key_result)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(confidence, 7);
    let audit: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action IN ('measurement_recorded', 'key_result_checked_in')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audit, 5);
}

#[tokio::test]
async fn bad_values_unknown_keys_and_records_the_caller_may_not_change_are_refused_with_reasons() {
    let app = TestApp::new().await;
    let b = bound(&app).await;
    let text = token(&app, &app.cookie, "Warehouse job", "write").await;
    let path = format!("/api/v1/metrics/{KEY}/values");
    let refused = call(
        &app,
        Method::POST,
        &path,
        &text,
        Some(json!({ "value": "lots", "date": "2026-07-01", "confidence": 11 })),
        None,
    )
    .await;
    let body = problem(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["value", "date", "confidence"], "{body}");
    let malformed = call(
        &app,
        Method::POST,
        "/api/v1/metrics/Not%20a%20key!/values",
        &text,
        Some(json!({ "value": "1", "date": "2026-05-31" })),
        None,
    )
    .await;
    assert_eq!(
        problem(&malformed, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
        "key"
    );
    let unbound = call(
        &app,
        Method::POST,
        "/api/v1/metrics/nobody.uses_this/values",
        &text,
        Some(json!({ "value": "1", "date": "2026-05-31" })),
        None,
    )
    .await;
    problem(&unbound, StatusCode::NOT_FOUND);

    // A member of another team: each record is skipped, and says why.
    let elsewhere = app.create_unit("Billing", "team", None).await;
    let member = app.account("Bo Billing", "bo@example.org", "member").await;
    sqlx::query(
        "INSERT INTO memberships (person_id, org_unit_id, role) VALUES ($1, $2, 'engineer')",
    )
    .bind(member)
    .bind(elsewhere)
    .execute(&app.db)
    .await
    .unwrap();
    let cookie = app.session_for(member).await;
    let theirs = token(&app, &cookie, "Their job", "write").await;
    let body = json(
        &call(
            &app,
            Method::POST,
            &path,
            &theirs,
            Some(json!({ "value": "75", "date": "2026-05-31", "confidence": 6 })),
            None,
        )
        .await,
    );
    let reasons: Vec<&str> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"] != b.cancelled.to_string().as_str())
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2);
    assert!(
        reasons
            .iter()
            .all(|r| r.starts_with("You may not change it")),
        "{body}"
    );
    assert_eq!(count(&app, "measurements").await, 0);
    assert_eq!(count(&app, "check_ins").await, 0);
    assert!(b.team != elsewhere);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_jobs_posting_the_same_value_at_once_record_it_once() {
    let app = TestApp::new().await;
    let b = bound(&app).await;
    let text = token(&app, &app.cookie, "Warehouse job", "write").await;
    let path = format!("/api/v1/metrics/{KEY}/values");
    let body = json!({ "value": "74.5", "date": "2026-05-31", "confidence": 7 });
    let (one, two) = tokio::join!(
        call(&app, Method::POST, &path, &text, Some(body.clone()), None),
        call(&app, Method::POST, &path, &text, Some(body.clone()), None),
    );
    let mut outcome_results: Vec<String> = [one, two]
        .iter()
        .map(|page| {
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            results(&json(page))[&b.outcome.to_string()].clone()
        })
        .collect();
    outcome_results.sort();
    assert_eq!(outcome_results, ["recorded", "unchanged"]);
    let measurements: i64 =
        sqlx::query_scalar("SELECT count(*) FROM measurements WHERE outcome_id = $1")
            .bind(b.outcome)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(measurements, 1);
    assert_eq!(count(&app, "check_ins").await, 1);
}

#[tokio::test]
async fn the_metric_key_is_set_on_the_outcome_and_key_result_forms_and_checked() {
    let app = TestApp::new().await;
    let b = bound(&app).await;
    let epic: Uuid = sqlx::query_scalar("SELECT epic_id FROM outcomes WHERE id = $1")
        .bind(b.outcome)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let epic = epic.to_string();
    let mut fields = crate::epics::outcome_fields(&epic, "increase", "10", "20");
    fields.push(("metric_key", "Bad key!"));
    let page = app.post("/outcomes", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = page.text();
    assert!(
        text.contains("A metric key uses letters, digits")
            && page.body.contains("value=\"Bad key!\""),
        "{text}"
    );
    fields.pop();
    fields.push(("metric_key", "Onboarding.Signups"));
    let saved = app.post("/outcomes", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT metric_key FROM outcomes WHERE metric_key IS NOT NULL ORDER BY metric_key",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        keys,
        [
            "onboarding.completion_rate_7d",
            "onboarding.completion_rate_7d",
            "onboarding.signups"
        ]
    );

    // The key result's edit form shows its key and saves a new one.
    let edit = app
        .get(&format!("/key-results/{}/edit", b.key_result))
        .await;
    assert!(
        edit.body.contains(&format!("value=\"{KEY}\"")),
        "{}",
        edit.text()
    );
    let page = app
        .get(&format!("/key-results/{}", b.key_result))
        .await
        .text();
    assert!(page.contains(KEY), "{page}");
}
