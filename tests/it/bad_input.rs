//! Bad input, generated: every form and API body the router takes, and every page's query
//! string, fed random fields and values (huge numbers, NaN and infinity, impossible dates,
//! NUL, invalid UTF-8, duplicated and missing fields, ids of real and unknown records).
//! Whatever comes in, the answer is never a server error, and a refusal names what was
//! wrong. Then stored text: HTML-special characters in every text column come back escaped
//! on every page that shows them.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

use crate::access::{concrete, world};
use crate::common::{Page, TestApp};

/// Names the forms and bodies use, and a few they do not.
const FIELDS: &[&str] = &[
    "title",
    "description",
    "name",
    "email",
    "kind",
    "parent_id",
    "version",
    "status",
    "team_id",
    "unit_id",
    "initiative_id",
    "epic",
    "initiative",
    "work_type",
    "owner_email",
    "period_id",
    "periods",
    "why_now",
    "validation_plan",
    "tracker_key",
    "tracker_url",
    "value",
    "value_label",
    "confidence",
    "effort_weeks",
    "follow_up_of",
    "statement",
    "metric",
    "unit",
    "unit_label",
    "data_source",
    "direction",
    "baseline",
    "target",
    "band_lower",
    "band_upper",
    "measure_by",
    "checkpoint_1",
    "leads_to",
    "metric_key",
    "reason",
    "objective_id",
    "start_value",
    "weight",
    "progress_source",
    "source_outcome_id",
    "parent_key_result_id",
    "key_result_id",
    "measured_on",
    "checked_on",
    "date",
    "note",
    "verdict",
    "learnings",
    "actual",
    "next_step",
    "cadence",
    "starts_on",
    "ends_on",
    "check_in_days",
    "goal",
    "password",
    "current",
    "confirmation",
    "access",
    "expires_on",
    "url",
    "secret",
    "events",
    "active",
    "role",
    "account_role",
    "rate",
    "currency",
    "weeks",
    "review",
    "archived",
    "q",
    "sort",
    "next",
    "token",
    "time_zone",
    "full_name",
    "epic_id",
    "final_score",
    "reflection",
    "answered",
    "mapping",
    "jira_status",
    "issue_key",
    "__proto__",
    "",
];

/// Query parameters the pages and the API read, and a few they do not.
const PARAMS: &[&str] = &[
    "unit",
    "period",
    "until",
    "status",
    "type",
    "q",
    "sort",
    "dir",
    "after",
    "owner",
    "team",
    "state",
    "table",
    "cadence",
    "kind",
    "limit",
    "cursor",
    "epic",
    "outcome",
    "objective",
    "next",
    "page",
    "mine",
    "scope",
    "verdict",
    "work_type",
    "include_archived",
    "",
];

/// Values meant to break a decoder or a validator.
fn nasty() -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        " ",
        "0",
        "-1",
        "-0",
        "1.5",
        "1,5",
        "10",
        "11",
        "2147483648",
        "-2147483649",
        "9223372036854775808",
        "99999999999999999999999999999999999999",
        "1e309",
        "-1e309",
        "1e-400",
        "0.000000000000000000000000000001",
        "NaN",
        "nan",
        "inf",
        "-inf",
        "Infinity",
        "0x10",
        "true",
        "on",
        "null",
        "2026-02-30",
        "2026-13-01",
        "0000-01-01",
        "-0001-01-01",
        "99999-12-31",
        "+275760-09-13",
        "1970-01-01",
        "2026-06-01T10:00:00Z",
        "\0",
        "a\0b",
        "\u{feff}",
        "\u{202e}evil",
        "<script>alert(1)</script>",
        "\"'><&",
        "' OR 1=1 --",
        "%",
        "%FF",
        "../../etc/passwd",
        "javascript:alert(1)",
        "http://169.254.169.254/",
        "feature",
        "increase",
        "percent",
        "achieved",
        "admin",
        "quarter",
        "check_ins",
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "ys_not_a_token",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    values.push("x".repeat(5_000));
    values.push("é".repeat(300));
    values
}

/// A value: one of the nasty ones, an id of a real record, or random text.
fn value(ids: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(nasty()),
        2 => proptest::sample::select(ids),
        1 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
        2 => "\\PC{0,40}",
        1 => any::<String>(),
    ]
}

/// A name: one the forms use, or random.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(FIELDS).prop_map(String::from),
        1 => "[a-z_\\[\\]]{1,12}",
    ]
}

/// A form body: encoded pairs (some names repeated), and now and then invalid UTF-8.
fn form_body(ids: Vec<String>) -> impl Strategy<Value = String> {
    (
        proptest::collection::vec((name(), value(ids)), 0..14),
        any::<bool>(),
    )
        .prop_map(|(pairs, raw)| {
            let mut body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            if raw {
                body.push_str("&title=%FF%FE%C0%AF&note=%E2%82");
            }
            body
        })
}

/// A JSON value of any shape.
fn json(ids: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        3 => value(ids).prop_map(Value::String),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        1 => Just(serde_json::json!(1e308)),
        1 => Just(serde_json::json!(u64::MAX)),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(name(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An API body: an object of known and random fields, or not an object, or not JSON.
fn api_body(ids: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => proptest::collection::btree_map(name(), json(ids.clone()), 0..10)
            .prop_map(|m| serde_json::to_vec(&m).unwrap()),
        1 => json(ids).prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => proptest::sample::select(vec![
            b"".to_vec(),
            b"{".to_vec(),
            b"{\"title\": \"\\ud800\"}".to_vec(),
            b"{\"title\": \"a\", \"title\": \"b\"}".to_vec(),
            b"\xff\xfe{}".to_vec(),
            b"[1, 2, 3]".to_vec(),
            b"{\"value\": 1e99999}".to_vec(),
        ]),
    ]
}

/// What is wrong with an answer, if anything: a server error, or a refusal that does not
/// say what to correct.
fn judge(page: &Page, api: bool) -> Result<(), String> {
    if page.status.is_server_error() {
        return Err(format!("{}: {}", page.status, page.body));
    }
    if !page.status.is_client_error() || page.status == StatusCode::NOT_FOUND {
        return Ok(());
    }
    if api {
        let problem: Value = serde_json::from_str(&page.body)
            .map_err(|_| format!("{} not a problem: {}", page.status, page.body))?;
        let said = |key: &str| problem[key].as_str().is_some_and(|s| !s.is_empty());
        if !said("title") || !said("detail") {
            return Err(format!("a problem without title and detail: {problem}"));
        }
        if page.status == StatusCode::UNPROCESSABLE_ENTITY {
            let errors = problem["errors"].as_array().cloned().unwrap_or_default();
            let named = !errors.is_empty()
                && errors.iter().all(|e| {
                    e["field"].as_str().is_some_and(|f| !f.is_empty())
                        && e["message"].as_str().is_some_and(|m| !m.is_empty())
                });
            if !named {
                return Err(format!("422 without the fields named: {problem}"));
            }
        }
        return Ok(());
    }
    let text = page.text();
    let explained = match page.status {
        // The form again, each problem linked to its field.
        StatusCode::UNPROCESSABLE_ENTITY => {
            text.contains("There is a problem") || page.body.contains("error-summary")
        }
        StatusCode::BAD_REQUEST => text.contains("Nothing was"),
        _ => page.body.contains("<h1"),
    };
    if explained {
        Ok(())
    } else {
        Err(format!("{} unexplained: {text}", page.status))
    }
}

/// The write routes of the sitemap, with the world's ids in their paths. Signing out would
/// end the session the next cases use.
fn write_routes(world: &crate::access::World) -> Vec<(Method, String, bool)> {
    let state = yardstick::AppState::new(world.app.db.pool().clone(), world.app.clock.clone());
    yardstick::http::sitemap(&state)
        .routes()
        .iter()
        .filter(|r| r.method != "GET" && r.path != "/logout")
        .map(|r| {
            (
                Method::from_bytes(r.method.as_bytes()).unwrap(),
                concrete(r.path, world),
                r.path.starts_with("/api/"),
            )
        })
        .collect()
}

fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_fields_in_every_form_and_api_body_never_cause_a_server_error_and_refusals_name_the_field()
 {
    let world = world().await;
    let ids: Vec<String> = world.ids().iter().map(ToString::to_string).collect();
    let routes = write_routes(&world);
    assert!(routes.len() > 70, "{} write routes", routes.len());
    let token = crate::api::token(&world.app, &world.app.cookie, "Fuzz", "write").await;
    let app = &world.app;
    let handle = tokio::runtime::Handle::current();
    let strategy = (
        0..routes.len(),
        form_body(ids.clone()),
        api_body(ids.clone()),
        proptest::option::of(proptest::sample::select(vec![
            "\"1\"",
            "\"0\"",
            "*",
            "W/\"x\"",
            "\"99999999999\"",
        ])),
    );
    let tried = std::sync::Mutex::new(BTreeSet::new());
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::new());
    let result = tokio::task::block_in_place(|| {
        runner(600).run(&strategy, |(route, form, json, if_match)| {
            let (method, path, api) = &routes[route];
            tried.lock().unwrap().insert(path.clone());
            let mut request = Request::builder().method(method.clone()).uri(path.as_str());
            let body = if *api {
                request = request
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "application/json");
                if let Some(version) = if_match {
                    request = request.header(header::IF_MATCH, version);
                }
                Body::from(json)
            } else {
                request = request
                    .header(header::COOKIE, &app.cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(form)
            };
            let page = handle.block_on(app.send(request.body(body).unwrap()));
            *statuses
                .lock()
                .unwrap()
                .entry(page.status.as_u16())
                .or_insert(0) += 1;
            judge(&page, *api).map_err(|why| TestCaseError::fail(format!("{method} {path}: {why}")))
        })
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    let tried = tried.into_inner().unwrap().len();
    assert!(tried > routes.len() / 2, "only {tried} routes tried");
    eprintln!(
        "{tried} of {} write routes tried; answers by status: {:?}",
        routes.len(),
        statuses.into_inner().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_query_strings_and_paths_on_every_page_never_cause_a_server_error() {
    let world = world().await;
    let ids: Vec<String> = world.ids().iter().map(ToString::to_string).collect();
    let state = yardstick::AppState::new(world.app.db.pool().clone(), world.app.clock.clone());
    let pages: Vec<(String, String)> = yardstick::http::sitemap(&state)
        .routes()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| (r.path.to_string(), concrete(r.path, &world)))
        .collect();
    let token = crate::api::token(&world.app, &world.app.cookie, "Fuzz", "read").await;
    let app = &world.app;
    let handle = tokio::runtime::Handle::current();
    let segment = prop_oneof![
        proptest::sample::select(ids.clone()),
        Just("%FF%FE".to_string()),
        Just("%00".to_string()),
        Just("..%2F..%2Fetc%2Fpasswd".to_string()),
        "[a-zA-Z0-9%-]{0,80}",
    ];
    let strategy = (
        0..pages.len(),
        proptest::collection::vec(
            (proptest::sample::select(PARAMS), value(ids), any::<bool>()),
            0..6,
        ),
        proptest::option::weighted(0.3, segment),
    );
    let result = tokio::task::block_in_place(|| {
        runner(500).run(&strategy, |(page, params, segment)| {
            let (route, path) = &pages[page];
            // A path whose id is replaced (say, by invalid UTF-8).
            let mut uri = match (&segment, route.contains('{')) {
                (Some(segment), true) => {
                    let mut parts: Vec<&str> = path.split('/').collect();
                    let at = route.split('/').position(|p| p.starts_with('{')).unwrap();
                    parts[at] = segment;
                    parts.join("/")
                }
                _ => path.clone(),
            };
            let query: Vec<String> = params
                .iter()
                .map(|(name, value, raw)| {
                    let value: String = if *raw {
                        format!("{value}%FF%C0")
                            .chars()
                            .filter(|c| c.is_ascii_graphic())
                            .collect()
                    } else {
                        form_urlencoded::byte_serialize(value.as_bytes()).collect()
                    };
                    format!("{name}={value}")
                })
                .collect();
            if !query.is_empty() {
                uri.push(if uri.contains('?') { '&' } else { '?' });
                uri.push_str(&query.join("&"));
            }
            let api = route.starts_with("/api/v1");
            let Ok(request) = Request::get(uri.as_str())
                .header(header::COOKIE, &app.cookie)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
            else {
                return Ok(()); // not a URI a client could send
            };
            let page = handle.block_on(app.send(request));
            let api = api && !route.starts_with("/api/v1/openapi");
            judge(&page, api).map_err(|why| TestCaseError::fail(format!("GET {uri}: {why}")))
        })
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}

/// Sets every text column of every stored row, one column at a time, to text full of
/// HTML-special characters naming the column; a column whose rules refuse it (a check, a
/// key, a length) keeps its value. Returns the columns set.
async fn mark_every_text_column(app: &TestApp) -> BTreeSet<String> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
          WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
            AND c.data_type IN ('text', 'character varying') AND c.table_name NOT LIKE '\\_%'
          ORDER BY 1, 2",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let mut marked = BTreeSet::new();
    for (table, column) in columns {
        let sql = format!(
            "UPDATE {table} SET {column} = '<x-xss>\"''&{table}.{column}:' || substr(md5(random()::text), 1, 6)
              WHERE {column} IS NOT NULL"
        );
        if let Ok(done) = sqlx::query(&sql).execute(&app.db).await
            && done.rows_affected() > 0
        {
            marked.insert(format!("{table}.{column}"));
        }
    }
    marked
}

/// Text every organisation has and many pages show.
const SHOWN: &[&str] = &[
    "epics.title",
    "outcomes.statement",
    "outcomes.metric",
    "objectives.title",
    "key_results.title",
    "org_units.name",
    "people.name",
    "initiatives.title",
];

/// The demo organisation's record with the most of `what`, for pages to show the most.
async fn richest(app: &TestApp, sql: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar(sql).fetch_one(&app.db).await.unwrap();
    id.to_string()
}

#[tokio::test]
async fn html_special_characters_in_every_stored_text_come_back_escaped_on_every_page() {
    let app = TestApp::new().await;
    yardstick::demo::load(&app.db, &app.clock).await.unwrap();
    let unit = richest(
        &app,
        "SELECT team_id FROM epics GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )
    .await;
    let epic = richest(&app, "SELECT epic_id FROM outcomes WHERE epic_id IS NOT NULL GROUP BY 1 ORDER BY count(*) FILTER (WHERE closed_at IS NOT NULL) DESC, count(*) DESC LIMIT 1").await;
    let outcome = richest(&app, "SELECT o.id FROM outcomes o JOIN measurements m ON m.outcome_id = o.id WHERE o.closed_at IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").await;
    let initiative = richest(&app, "SELECT initiative_id FROM epics WHERE initiative_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").await;
    let objective = richest(
        &app,
        "SELECT objective_id FROM key_results GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )
    .await;
    let key_result = richest(
        &app,
        "SELECT key_result_id FROM check_ins GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )
    .await;
    let person = richest(&app, "SELECT owner_id FROM epics WHERE owner_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").await;
    let iteration = richest(&app, "SELECT id FROM iterations ORDER BY starts_on LIMIT 1").await;
    let marked = mark_every_text_column(&app).await;
    for column in SHOWN {
        assert!(marked.contains(*column), "{column} not marked: {marked:?}");
    }
    let admin = app.session_for(app.admin).await;

    let state = yardstick::AppState::new(app.db.pool().clone(), app.clock.clone());
    let mut shown = BTreeSet::new();
    let mut failures = Vec::new();
    let mut pages = 0;
    for route in yardstick::http::sitemap(&state).routes() {
        if route.method != "GET"
            || route.path.starts_with("/static")
            || route.path.starts_with("/api/docs")
        {
            continue;
        }
        let id = if route.path.starts_with("/org/units") {
            &unit
        } else if route.path.starts_with("/initiatives") {
            &initiative
        } else if route.path.starts_with("/epics") {
            &epic
        } else if route.path.starts_with("/outcomes") {
            &outcome
        } else if route.path.starts_with("/iterations") {
            &iteration
        } else if route.path.starts_with("/objectives") {
            &objective
        } else if route.path.starts_with("/key-results") {
            &key_result
        } else {
            &person
        };
        let path = route
            .path
            .replace("{id}", id)
            .replace("/outcomes/new", &format!("/outcomes/new?epic={epic}"))
            .replace(
                "/key-results/new",
                &format!("/key-results/new?objective={objective}"),
            )
            .replace(
                "/key-results/propose",
                &format!("/key-results/propose?outcome={outcome}"),
            );
        let page = app.get_as(&admin, &path).await;
        let html = page
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.to_str().unwrap_or("").starts_with("text/html"));
        if page.status.is_server_error() {
            failures.push(format!("{path}: {}", page.status));
        }
        if !html {
            continue;
        }
        pages += 1;
        for (at, _) in page.body.match_indices("x-xss") {
            let before = &page.body[..at];
            if before.ends_with('<') {
                failures.push(format!("{path} shows stored markup unescaped"));
            }
            // "&#60;x-xss&#62;&#34;&#39;&#38;table.column:" or the like: the column is
            // the run of name characters before the colon.
            let after: String = page.body[at..].chars().take(120).collect();
            if let Some((marked, _)) = after.split_once(':') {
                let column: String = marked
                    .chars()
                    .rev()
                    .take_while(|c| {
                        c.is_ascii_lowercase() || *c == '_' || *c == '.' || c.is_ascii_digit()
                    })
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                shown.insert(column);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(pages > 40, "{pages} pages read");
    for column in SHOWN {
        assert!(
            shown.contains(*column),
            "{column} shown on no page: {shown:?}"
        );
    }
    eprintln!(
        "{pages} pages read; {} of {} marked text columns shown, all escaped",
        shown.len(),
        marked.len()
    );
}

#[tokio::test]
async fn bodies_too_large_are_refused_with_a_page_or_a_problem_saying_so_and_nothing_is_saved() {
    let app = TestApp::new().await;
    let team = app.create_unit("Search", "team", None).await;
    let token = crate::api::token(&app, &app.cookie, "Big", "write").await;
    let big = "x".repeat(2 * 1024 * 1024);
    let huge = vec![b'x'; yardstick::http::UPLOAD_LIMIT + 1];
    // As clients send them: with their length.
    let api = |body: Vec<u8>| {
        Request::post("/api/v1/epics")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .unwrap()
    };
    // Over the API's limit (read by the handler), and over every limit (refused before).
    let json = serde_json::to_vec(
        &serde_json::json!({ "title": big, "team_id": team, "work_type": "feature" }),
    )
    .unwrap();
    for body in [json, huge.clone()] {
        let page = app.send(api(body)).await;
        assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            page.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let problem: Value = serde_json::from_str(&page.body).unwrap();
        assert_eq!(problem["title"], "The body is too large");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("at most 1024 KB")
        );
    }
    let page = app
        .send(
            Request::post("/epics")
                .header(header::COOKIE, &app.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::CONTENT_LENGTH, huge.len())
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    let text = page.text();
    assert!(
        text.contains("This request is too large") && text.contains("at most 20 MB"),
        "{text}"
    );
    let epics: i64 = sqlx::query_scalar("SELECT count(*) FROM epics")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(epics, 0);
}
