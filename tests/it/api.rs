//! The JSON API: personal tokens from the account page (shown once, read-only or
//! read-write, expiring, revocable, last use recorded), problems for errors, epics listed
//! with the pages' filters and keyset pages, read with an ETag and updated with If-Match,
//! and the OpenAPI document with its browsable docs.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Page, TestApp};

/// A token made through the account page by the person with `cookie`.
pub(crate) async fn token(app: &TestApp, cookie: &str, name: &str, access: &str) -> String {
    let page = app
        .post_as(
            cookie,
            "/account/tokens",
            &[("name", name), ("access", access)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    let text = page.text();
    assert!(text.contains(&format!("Token “{name}” created")), "{text}");
    let start = page.body.find("value=\"ys_").expect("the token shown once") + 7;
    let end = page.body[start..].find('"').unwrap() + start;
    page.body[start..end].to_string()
}

/// A request with a bearer token and an optional JSON body.
pub(crate) async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> Page {
    let mut request = Request::builder().method(method).uri(path);
    if !token.is_empty() {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(version) = if_match {
        request = request.header(header::IF_MATCH, version);
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    app.send(request).await
}

/// The period 2026 Q2 (today, 1 Jun 2026, is in it).
pub(crate) async fn q2(app: &TestApp) -> Uuid {
    let period = Uuid::new_v4();
    sqlx::query("INSERT INTO periods (id, name, cadence, starts_on, ends_on) VALUES ($1, '2026 Q2', 'quarter', '2026-04-01', '2026-06-30')")
        .bind(period)
        .execute(&app.db)
        .await
        .unwrap();
    period
}

pub(crate) fn json(page: &Page) -> Value {
    serde_json::from_str(&page.body).unwrap_or_else(|_| panic!("JSON: {}", page.body))
}

pub(crate) fn problem(page: &Page, status: StatusCode) -> Value {
    assert_eq!(page.status, status, "{}", page.body);
    assert_eq!(
        page.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let body = json(page);
    assert_eq!(body["status"], status.as_u16());
    body
}

#[tokio::test]
async fn a_token_is_shown_once_opens_the_api_records_its_use_and_stops_when_revoked_or_expired() {
    let app = TestApp::new().await;
    let text = token(&app, &app.cookie, "Weekly metrics job", "write").await;
    assert!(text.starts_with("ys_") && text.len() > 40);
    // Only its hash is stored.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_ne!(stored, text.as_bytes());
    let account = app.get("/account").await.text();
    assert!(!account.contains(&text), "shown only once");
    assert!(
        account.contains("Weekly metrics job Read and write"),
        "{account}"
    );
    assert!(
        account.contains("Never Never Active"),
        "not used yet, no expiry: {account}"
    );

    let listed = call(&app, Method::GET, "/api/v1/epics", &text, None, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(json(&listed)["items"], json!([]));
    assert!(
        !app.get("/account")
            .await
            .text()
            .contains("Never Never Active"),
        "its use is recorded"
    );

    // No token, a bearer that is no token, a token of the wrong shape.
    for bad in ["", "ys_not-a-token", "something-else"] {
        let page = call(&app, Method::GET, "/api/v1/epics", bad, None, None).await;
        let body = problem(&page, StatusCode::UNAUTHORIZED);
        assert_eq!(
            page.headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"yardstick\""
        );
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("Authorization: Bearer")
        );
    }

    // Revoked from the account page: refused from then on, and the page says so.
    let id: Uuid = sqlx::query_scalar("SELECT id FROM api_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let revoked = app.post(&format!("/account/tokens/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let page = call(&app, Method::GET, "/api/v1/epics", &text, None, None).await;
    problem(&page, StatusCode::UNAUTHORIZED);
    assert!(app.get("/account").await.text().contains("Revoked"));
    let audit: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action IN ('api_token_created', 'api_token_revoked')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audit, 2);

    // An expired token is refused too.
    let later = token(&app, &app.cookie, "Short-lived", "read").await;
    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE name = 'Short-lived'")
        .bind(app.clock.now() - chrono::Duration::minutes(1))
        .execute(&app.db)
        .await
        .unwrap();
    let page = call(&app, Method::GET, "/api/v1/epics", &later, None, None).await;
    problem(&page, StatusCode::UNAUTHORIZED);
    assert!(app.get("/account").await.text().contains("Expired"));

    // Someone else's token cannot be revoked from my account.
    let other = app.account("Ola Other", "ola@example.org", "member").await;
    let cookie = app.session_for(other).await;
    let theirs = token(&app, &cookie, "Theirs", "read").await;
    let their_id: Uuid = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = 'Theirs'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let refused = app
        .post(&format!("/account/tokens/{their_id}/revoke"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let page = call(&app, Method::GET, "/api/v1/epics", &theirs, None, None).await;
    assert_eq!(page.status, StatusCode::OK);
}

#[tokio::test]
async fn a_token_form_with_mistakes_comes_back_with_the_reasons_and_what_was_typed() {
    let app = TestApp::new().await;
    let page = app
        .post(
            "/account/tokens",
            &[
                ("name", ""),
                ("access", "admin"),
                ("expires_on", "2020-01-01"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = page.text();
    assert!(
        text.contains("Name the token after what will use it"),
        "{text}"
    );
    assert!(text.contains("Choose what the token may do"), "{text}");
    assert!(
        text.contains("The last day must be today or later"),
        "{text}"
    );
    assert!(page.body.contains("value=\"2020-01-01\""));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM api_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn epics_are_created_read_and_updated_with_etags_and_problems_name_each_field() {
    let app = TestApp::new().await;
    let team = app.create_unit("Search", "team", None).await;
    let owner = app
        .account("Priya Raman", "priya@example.org", "member")
        .await;
    let text = token(&app, &app.cookie, "Script", "write").await;

    // Every invalid field with its message, nothing stored.
    let page = call(
        &app,
        Method::POST,
        "/api/v1/epics",
        &text,
        Some(json!({ "title": "", "team_id": "nope", "work_type": "chore", "confidence": 12 })),
        None,
    )
    .await;
    let body = problem(&page, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["title", "team_id", "work_type", "confidence"] {
        assert!(fields.contains(&field), "{field} in {body}");
    }
    // A field of the wrong JSON type is named too; a body that is not JSON is a 400.
    let page = call(
        &app,
        Method::POST,
        "/api/v1/epics",
        &text,
        Some(json!({ "title": 5 })),
        None,
    )
    .await;
    let body = problem(&page, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "title", "{body}");
    let request = Request::post("/api/v1/epics")
        .header(header::AUTHORIZATION, format!("Bearer {text}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    problem(&app.send(request).await, StatusCode::BAD_REQUEST);

    let created = call(
        &app,
        Method::POST,
        "/api/v1/epics",
        &text,
        Some(
            json!({ "title": "Guided first lesson", "team_id": team, "work_type": "feature",
                     "owner_email": "priya@example.org", "value": "120000", "value_label": "EUR",
                     "confidence": 7, "effort_weeks": "4" }),
        ),
        None,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let epic = json(&created);
    let id = epic["id"].as_str().unwrap().to_string();
    assert_eq!(created.headers[header::ETAG], "\"1\"");
    assert_eq!(
        created.headers[header::LOCATION],
        format!("/api/v1/epics/{id}")
    );
    assert_eq!(epic["owner_id"], owner.to_string());
    assert_eq!(epic["value"], "120000");
    assert_eq!(epic["status"], "draft");
    let (title, audit): (String, i64) = sqlx::query_as(
        "SELECT e.title, (SELECT count(*) FROM audit_log a WHERE a.entity_id = e.id AND a.action = 'epic_created')
           FROM epics e WHERE e.id = $1",
    )
    .bind(Uuid::parse_str(&id).unwrap())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((title.as_str(), audit), ("Guided first lesson", 1));

    let path = format!("/api/v1/epics/{id}");
    let read = call(&app, Method::GET, &path, &text, None, None).await;
    assert_eq!(read.headers[header::ETAG], "\"1\"");
    assert_eq!(json(&read)["title"], "Guided first lesson");
    problem(
        &call(
            &app,
            Method::GET,
            "/api/v1/epics/not-an-id",
            &text,
            None,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    problem(
        &call(
            &app,
            Method::GET,
            &format!("/api/v1/epics/{}", Uuid::new_v4()),
            &text,
            None,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    );

    let change = json!({ "title": "Guided first lesson, v2", "team_id": team, "work_type": "feature",
                         "owner_email": "priya@example.org" });
    // Without If-Match: 428. With a version that is not current: 412, naming the current one.
    problem(
        &call(&app, Method::PUT, &path, &text, Some(change.clone()), None).await,
        StatusCode::PRECONDITION_REQUIRED,
    );
    let stale = call(
        &app,
        Method::PUT,
        &path,
        &text,
        Some(change.clone()),
        Some("\"7\""),
    )
    .await;
    let body = problem(&stale, StatusCode::PRECONDITION_FAILED);
    assert!(
        body["detail"].as_str().unwrap().contains("version 1"),
        "{body}"
    );
    let saved = call(
        &app,
        Method::PUT,
        &path,
        &text,
        Some(change.clone()),
        Some("\"1\""),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.headers[header::ETAG], "\"2\"");
    assert_eq!(json(&saved)["title"], "Guided first lesson, v2");
    // The same version again is stale now: nothing is overwritten silently.
    let again = call(
        &app,
        Method::PUT,
        &path,
        &text,
        Some(json!({ "title": "Lost", "team_id": team, "work_type": "feature" })),
        Some("\"1\""),
    )
    .await;
    problem(&again, StatusCode::PRECONDITION_FAILED);
    let title: String = sqlx::query_scalar("SELECT title FROM epics WHERE id = $1")
        .bind(Uuid::parse_str(&id).unwrap())
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(title, "Guided first lesson, v2");

    // A read-only token reads but never writes; a member outside the team may not change it.
    let reader = token(&app, &app.cookie, "Reader", "read").await;
    assert_eq!(
        call(&app, Method::GET, &path, &reader, None, None)
            .await
            .status,
        StatusCode::OK
    );
    let body = problem(
        &call(
            &app,
            Method::PUT,
            &path,
            &reader,
            Some(change.clone()),
            Some("\"2\""),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    assert!(
        body["detail"].as_str().unwrap().contains("only read"),
        "{body}"
    );
    let outsider = app
        .account("Olga Outsider", "olga@example.org", "member")
        .await;
    let cookie = app.session_for(outsider).await;
    let theirs = token(&app, &cookie, "Olga's script", "write").await;
    problem(
        &call(
            &app,
            Method::PUT,
            &path,
            &theirs,
            Some(change),
            Some("\"2\""),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    let body = problem(
        &call(
            &app,
            Method::POST,
            "/api/v1/epics",
            &theirs,
            Some(json!({ "title": "Not mine", "team_id": team, "work_type": "feature" })),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_eq!(body["errors"][0]["field"], "team_id", "{body}");
}

#[tokio::test]
async fn pages_of_epics_neither_skip_nor_repeat_while_epics_are_added_and_filters_are_the_pages() {
    let app = TestApp::new().await;
    let team = app.create_unit("Search", "team", None).await;
    let other = app.create_unit("Growth", "team", None).await;
    let text = token(&app, &app.cookie, "Script", "read").await;
    for n in 0..7 {
        sqlx::query("INSERT INTO epics (id, team_id, work_type, title, created_at) VALUES ($1, $2, 'feature', $3, now() - make_interval(mins => $4))")
            .bind(Uuid::new_v4())
            .bind(if n == 6 { other } else { team })
            .bind(format!("Epic {n}"))
            .bind(100 - n)
            .execute(&app.db)
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let path = format!("/api/v1/epics?unit={team}&limit=2{after}");
        let page = call(&app, Method::GET, &path, &text, None, None).await;
        let body = json(&page);
        for item in body["items"].as_array().unwrap() {
            seen.push(item["title"].as_str().unwrap().to_string());
        }
        // Someone adds an epic while the pages are read.
        sqlx::query("INSERT INTO epics (id, team_id, work_type, title) VALUES ($1, $2, 'feature', 'Added meanwhile')")
            .bind(Uuid::new_v4())
            .bind(team)
            .execute(&app.db)
            .await
            .unwrap();
        match body["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["Epic 5", "Epic 4", "Epic 3", "Epic 2", "Epic 1", "Epic 0"]
    );
    let page = call(
        &app,
        Method::GET,
        "/api/v1/epics?unit=nope&limit=500",
        &text,
        None,
        None,
    )
    .await;
    let body = problem(&page, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route_and_the_docs_load_from_this_server() {
    let app = TestApp::new().await;
    let page = app
        .send(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let doc = json(&page);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Every /api/v1 route of the sitemap is in the document, and nothing else.
    let state = yardstick::AppState::new(app.db.pool().clone(), app.clock.clone());
    let mut routes: Vec<String> = yardstick::http::sitemap(&state)
        .routes()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/") && r.path != "/api/v1/openapi.json")
        .map(|r| format!("{} {}", r.method.to_lowercase(), r.path))
        .collect();
    let mut documented: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{m} {path}"))
        })
        .collect();
    routes.sort();
    documented.sort();
    assert_eq!(routes, documented);
    // Operation ids are unique, and what a create answers links to the operations on the
    // record it made, with its id and ETag.
    let mut ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "{ids:?}");
    let links = &doc["paths"]["/api/v1/epics"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        links["put_epics_by_id"]["parameters"],
        json!({ "path.id": "$response.body#/id", "header.If-Match": "$response.header.ETag" })
    );
    assert_eq!(
        links["post_epics_by_id_outcomes"]["operationId"],
        "post_epics_by_id_outcomes"
    );
    let links = &doc["paths"]["/api/v1/epics/{id}/outcomes"]["post"]["responses"]["201"]["links"];
    assert!(links["post_outcomes_by_id_close"].is_object(), "{links}");
    assert!(links["get_epics_by_id"].is_null(), "{links}");

    let moved = app
        .send(Request::get("/api/docs").body(Body::empty()).unwrap())
        .await;
    assert_eq!(moved.location(), "/api/docs/index.html");
    let docs = app
        .send(
            Request::get("/api/docs/index.html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.body.contains("swagger"), "{}", docs.body);
    let csp = docs.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("style-src 'self' 'unsafe-inline'") && csp.contains("script-src 'self';"));
    let config = app
        .send(
            Request::get("/api/docs/swagger-initializer.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        config.body.contains("/api/v1/openapi.json"),
        "{}",
        config.body
    );
    // Every other page keeps the strict policy.
    let home = app.get("/").await;
    assert!(
        !home.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("unsafe-inline")
    );
}

/// Schemathesis (from PyPI, next to `YARDSTICK_TEST_PYTHON`; CI installs it and sets
/// `YARDSTICK_REQUIRE_SCHEMATHESIS=1`) against the live OpenAPI document with a read-write
/// token: no 5xx, and every response's status, type, headers and body as documented.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_response_outside_the_schema() {
    let python = std::env::var("YARDSTICK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let st = std::path::Path::new(&python).with_file_name("st");
    if !st.exists() {
        let message = format!("no schemathesis beside {python} (set YARDSTICK_TEST_PYTHON)");
        assert!(
            std::env::var("YARDSTICK_REQUIRE_SCHEMATHESIS").is_err(),
            "{message}"
        );
        eprintln!("skipped: {message}");
        return;
    }
    let app = TestApp::new().await;
    let team = app.create_unit("Search", "team", None).await;
    let period = q2(&app).await;
    // One record of each kind, so the operations on a record reach its rules, not a 404.
    let ids: [Uuid; 5] = std::array::from_fn(|_| Uuid::new_v4());
    let [epic, outcome, initiative, objective, key_result] = ids;
    sqlx::query(
        "WITH e AS (INSERT INTO epics (id, team_id, work_type, title, owner_id) VALUES ($1, $6, 'feature', 'Existing epic', $8) RETURNING id),
              o AS (INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by, metric_key)
                    SELECT $2, e.id, 'behaviour', 'Find it', 'Searches answered', 'percent', 'increase', 50, 70, '2026-06-30',
                           'search.answer_rate' FROM e),
              i AS (INSERT INTO initiatives (id, org_unit_id, title, owner_id) VALUES ($3, $6, 'Existing initiative', $8)),
              ob AS (INSERT INTO objectives (id, org_unit_id, period_id, title, owner_id) VALUES ($4, $6, $7, 'Existing objective', $8))
         INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target, owner_id, metric_key)
         VALUES ($5, $4, 'Existing key result', 'Answers', 'count', 'increase', 0, 10, $8, 'search.answer_rate')",
    )
    .bind(epic)
    .bind(outcome)
    .bind(initiative)
    .bind(objective)
    .bind(key_result)
    .bind(team)
    .bind(period)
    .bind(app.admin)
    .execute(&app.db)
    .await
    .unwrap();
    let text = token(&app, &app.cookie, "Schemathesis", "write").await;
    let base = app.serve().await;
    let reports = std::env::temp_dir().join(format!("yardstick-schemathesis-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&reports).unwrap();
    let mut config = format!("[parameters]\n\"path.key_result_id\" = \"{key_result}\"\n");
    for (collection, id) in [
        ("epics", epic),
        ("outcomes", outcome),
        ("initiatives", initiative),
        ("objectives", objective),
        ("key-results", key_result),
    ] {
        config.push_str(&format!(
            "\n[[operations]]\ninclude-path-regex = \"^/api/v1/{collection}/[{{]id[}}]\"\nparameters = {{ \"path.id\" = \"{id}\" }}\n"
        ));
    }
    config.push_str("\n[[operations]]\ninclude-path-regex = \"^/api/v1/metrics/\"\nparameters = { \"path.key\" = \"search.answer_rate\" }\n");
    let config_file = reports.join("schemathesis.toml");
    std::fs::write(&config_file, config).unwrap();
    let output = tokio::process::Command::new(&st)
        .arg("--config-file")
        .arg(&config_file)
        .args(["run", &format!("{base}/api/v1/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {text}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance",
        ])
        .args(["--max-examples", "25", "--seed", "20261121", "--workers", "1"])
        .arg("--report-dir")
        .arg(&reports)
        .env("SCHEMATHESIS_HOOKS", "")
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output()
        .await
        .expect("schemathesis runs");
    // What it found is in its output; the report files are not kept.
    let _ = std::fs::remove_dir_all(&reports);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // It did test the operations.
    assert!(report.contains("/api/v1/epics"), "{report}");
    eprintln!("{report}");
}

#[tokio::test]
async fn a_script_creates_an_epic_with_an_outcome_records_a_measurement_and_closes_the_loop() {
    let app = TestApp::new().await;
    let team = app.create_unit("Onboarding", "team", None).await;
    app.account("Priya Raman", "priya@example.org", "member")
        .await;
    let text = token(&app, &app.cookie, "Analytics job", "write").await;
    let units = json(&call(&app, Method::GET, "/api/v1/units", &text, None, None).await);
    assert_eq!(units[0]["name"], "Onboarding");
    let people = json(&call(&app, Method::GET, "/api/v1/people", &text, None, None).await);
    assert!(
        people
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["email"] == "priya@example.org")
    );

    let epic = json(
        &call(
            &app,
            Method::POST,
            "/api/v1/epics",
            &text,
            Some(
                json!({ "title": "Guided first lesson", "team_id": team, "work_type": "feature",
                           "owner_email": "priya@example.org" }),
            ),
            None,
        )
        .await,
    );
    let epic_id = epic["id"].as_str().unwrap();
    // The outcome's own rules answer field by field.
    let refused = call(&app, Method::POST, &format!("/api/v1/epics/{epic_id}/outcomes"), &text,
        Some(json!({ "statement": "More learners finish", "kind": "behaviour", "metric": "Completion",
                     "unit": "percent", "direction": "increase", "baseline": "80", "target": "60",
                     "measure_by": "2026-09-30" })), None).await;
    let body = problem(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "target"),
        "{body}"
    );
    let added = call(&app, Method::POST, &format!("/api/v1/epics/{epic_id}/outcomes"), &text,
        Some(json!({ "statement": "New learners finish onboarding in their first week", "kind": "behaviour",
                     "metric": "Onboarding completion within 7 days", "unit": "percent", "direction": "increase",
                     "baseline": "62", "target": "80", "measure_by": "2026-05-30",
                     "data_source": "Product analytics, onboarding funnel" })), None).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let outcome = json(&added);
    let outcome_id = outcome["id"].as_str().unwrap().to_string();
    assert_eq!(outcome["proposed_verdict"], "inconclusive");

    let path = format!("/api/v1/outcomes/{outcome_id}");
    let measured = call(&app, Method::POST, &format!("{path}/measurements"), &text,
        Some(json!({ "value": "81.5", "measured_on": "2026-05-31", "source": "Analytics warehouse" })), None).await;
    assert_eq!(measured.status, StatusCode::CREATED, "{}", measured.body);
    let outcome = json(&measured);
    assert_eq!(outcome["measurements"][0]["value"], "81.5");
    assert_eq!(outcome["proposed_verdict"], "achieved");
    let future = call(
        &app,
        Method::POST,
        &format!("{path}/measurements"),
        &text,
        Some(json!({ "value": "90", "measured_on": "2027-01-01" })),
        None,
    )
    .await;
    let body = problem(&future, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "measured_on", "{body}");

    let version = measured.headers[header::ETAG].to_str().unwrap().to_string();
    let close = json!({ "verdict": "achieved", "learnings": "The checklist made the first week obvious.",
                        "next_step": "scale" });
    problem(
        &call(
            &app,
            Method::POST,
            &format!("{path}/close"),
            &text,
            Some(close.clone()),
            None,
        )
        .await,
        StatusCode::PRECONDITION_REQUIRED,
    );
    let closed = call(
        &app,
        Method::POST,
        &format!("{path}/close"),
        &text,
        Some(close.clone()),
        Some(&version),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    let outcome = json(&closed);
    assert_eq!(outcome["verdict"], "achieved");
    assert_eq!(outcome["next_step"], "scale");
    assert_eq!(outcome["closed_on"], "2026-06-01");
    let again = call(
        &app,
        Method::POST,
        &format!("{path}/close"),
        &text,
        Some(close),
        Some(closed.headers[header::ETAG].to_str().unwrap()),
    )
    .await;
    problem(&again, StatusCode::CONFLICT);
    // The page shows what the script recorded, and the audit log has it.
    let page = app.get(&format!("/outcomes/{outcome_id}")).await.text();
    assert!(
        page.contains("The checklist made the first week obvious."),
        "{page}"
    );
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action IN ('epic_created', 'outcome_created', 'measurement_recorded', 'loop_closed') ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "epic_created",
            "outcome_created",
            "measurement_recorded",
            "loop_closed"
        ]
    );
}

#[tokio::test]
async fn a_cross_site_request_riding_on_the_session_cookie_is_refused_while_a_token_call_is_not() {
    let app = TestApp::new().await;
    let team = app.create_unit("Search", "team", None).await;
    let body = json!({ "title": "Planted", "team_id": team, "work_type": "feature",
                       "owner_email": crate::common::ADMIN_EMAIL })
    .to_string();
    // A page on another site posting with the person's cookie: refused before any handler.
    let request = Request::post("/api/v1/epics")
        .header(header::COOKIE, &app.cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .header("sec-fetch-site", "cross-site")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::FORBIDDEN);
    // The same from Yardstick's own pages (same origin) is a page request like any other.
    let request = Request::post("/api/v1/epics")
        .header(header::COOKIE, &app.cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::CREATED);
    // A script with a token and no cookie needs no such header.
    let text = token(&app, &app.cookie, "Script", "write").await;
    let page = call(
        &app,
        Method::POST,
        "/api/v1/epics",
        &text,
        Some(serde_json::from_str(&body).unwrap()),
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    let planted: i64 = sqlx::query_scalar("SELECT count(*) FROM epics WHERE title = 'Planted'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(planted, 2);
}

#[tokio::test]
async fn an_analytics_job_checks_in_on_a_key_result_and_reads_the_cascade_with_progress() {
    let app = TestApp::new().await;
    let unit = app.create_unit("Onboarding", "team", None).await;
    let period = q2(&app).await;
    let key_result = Uuid::new_v4();
    sqlx::query(
        "WITH o AS (INSERT INTO objectives (id, org_unit_id, period_id, title) VALUES (gen_random_uuid(), $2, $3, 'Learners get going') RETURNING id)
         INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target)
         SELECT $1, o.id, 'Completion', 'Completion', 'percent', 'increase', 40, 80 FROM o",
    )
    .bind(key_result)
    .bind(unit)
    .bind(period)
    .execute(&app.db)
    .await
    .unwrap();
    let text = token(&app, &app.cookie, "Analytics job", "write").await;
    let path = format!("/api/v1/key-results/{key_result}/check-ins");
    let refused = call(
        &app,
        Method::POST,
        &path,
        &text,
        Some(json!({ "value": "x", "confidence": 11, "checked_on": "2026-06-01" })),
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
    assert_eq!(fields, ["value", "confidence"], "{body}");
    let checked = call(&app, Method::POST, &path, &text,
        Some(json!({ "value": "60", "confidence": 7, "checked_on": "2026-06-01", "note": "Nightly job" })), None).await;
    assert_eq!(checked.status, StatusCode::CREATED, "{}", checked.body);
    let kr = json(&checked);
    assert_eq!(
        (
            kr["value"].as_str(),
            kr["confidence"].as_i64(),
            kr["progress"].as_str()
        ),
        (Some("60"), Some(7), Some("0.5"))
    );
    let tree = json(
        &call(
            &app,
            Method::GET,
            &format!("/api/v1/objectives?unit={unit}&period={period}"),
            &text,
            None,
            None,
        )
        .await,
    );
    assert_eq!(tree[0]["title"], "Learners get going");
    assert_eq!(tree[0]["progress"], "0.5");
    assert_eq!(tree[0]["key_results"][0]["check_in_due"], false);
    // The page shows the check-in the job made.
    let page = app.get(&format!("/key-results/{key_result}")).await.text();
    assert!(page.contains("Nightly job"), "{page}");
    // A closed period refuses check-ins with 409.
    sqlx::query("UPDATE periods SET closed_at = now() WHERE id = $1")
        .bind(period)
        .execute(&app.db)
        .await
        .unwrap();
    let closed = call(
        &app,
        Method::POST,
        &path,
        &text,
        Some(json!({ "value": "70", "confidence": 7, "checked_on": "2026-06-01" })),
        None,
    )
    .await;
    problem(&closed, StatusCode::CONFLICT);
}

/// The interactive docs really run in a browser under their content security policy:
/// Swagger UI renders the document it fetched from this server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interactive_docs_render_the_api_in_a_real_browser() {
    let app = TestApp::new().await;
    let base = app.serve().await;
    let Some(browser) = crate::common::browser::Browser::start(&base).await else {
        return;
    };
    let shown = browser.open_until("/api/docs", "/api/v1/epics/{id}").await;
    assert!(shown.contains("Yardstick API"), "{shown}");
    assert!(
        shown.contains("Close the loop") && shown.contains("Check in on a key result"),
        "{shown}"
    );
    browser.close().await;
}

#[tokio::test]
async fn an_outcome_is_linked_to_the_key_result_it_serves_and_unlinked() {
    let app = TestApp::new().await;
    let team = app.create_unit("Onboarding", "team", None).await;
    let period = q2(&app).await;
    let (epic, outcome, key_result) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    sqlx::query(
        "WITH e AS (INSERT INTO epics (id, team_id, work_type, title) VALUES ($1, $4, 'feature', 'Guided first lesson') RETURNING id),
              o AS (INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
                    SELECT $2, e.id, 'behaviour', 'Finish', 'Completion', 'percent', 'increase', 1, 2, '2026-06-30' FROM e),
              ob AS (INSERT INTO objectives (id, org_unit_id, period_id, title) VALUES (gen_random_uuid(), $4, $5, 'Grow') RETURNING id)
         INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target)
         SELECT $3, ob.id, 'Learners', 'Learners', 'count', 'increase', 0, 10 FROM ob",
    )
    .bind(epic)
    .bind(outcome)
    .bind(key_result)
    .bind(team)
    .bind(period)
    .execute(&app.db)
    .await
    .unwrap();
    let text = token(&app, &app.cookie, "Script", "write").await;
    let path = format!("/api/v1/outcomes/{outcome}/key-results/{key_result}");
    let linked = call(&app, Method::PUT, &path, &text, None, None).await;
    assert_eq!(linked.status, StatusCode::CREATED, "{}", linked.body);
    assert_eq!(json(&linked)["key_result_title"], "Learners");
    assert_eq!(
        call(&app, Method::PUT, &path, &text, None, None)
            .await
            .status,
        StatusCode::OK,
        "linked already"
    );
    let epic_page = app.get(&format!("/epics/{epic}")).await.text();
    assert!(epic_page.contains("Learners"), "{epic_page}");
    let missing = format!("/api/v1/outcomes/{outcome}/key-results/{}", Uuid::new_v4());
    problem(
        &call(&app, Method::PUT, &missing, &text, None, None).await,
        StatusCode::NOT_FOUND,
    );
    let gone = call(&app, Method::DELETE, &path, &text, None, None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    problem(
        &call(&app, Method::DELETE, &path, &text, None, None).await,
        StatusCode::NOT_FOUND,
    );
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM outcome_key_results")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(links, 0);
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'outcome_%linked' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(audit, ["outcome_linked", "outcome_unlinked"]);
}
