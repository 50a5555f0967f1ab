//! The API's records beyond epics: initiatives and their status, outcome revisions after
//! commitment, objectives and key results with their cascade, and the lists of outcomes,
//! key results and open loops paged by keyset while rows arrive. Each write goes through
//! the pages' rules, so the tests check the messages, the stored rows and the audit log.

use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::{call, json, problem, q2, token};
use crate::common::{ADMIN_EMAIL, Page, TestApp};

fn etag(page: &Page) -> String {
    page.headers[header::ETAG].to_str().unwrap().to_string()
}

fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A script calling the API with its own token.
struct Client<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Client<'a> {
    /// With a token made on the account page of the signed-in administrator.
    async fn new(app: &'a TestApp, name: &str, access: &str) -> Client<'a> {
        let token = token(app, &app.cookie, name, access).await;
        Client { app, token }
    }

    async fn get(&self, path: &str) -> Page {
        call(self.app, Method::GET, path, &self.token, None, None).await
    }

    /// A JSON body, with `If-Match` when given.
    async fn send(&self, method: Method, path: &str, body: Value, if_match: Option<&str>) -> Page {
        call(self.app, method, path, &self.token, Some(body), if_match).await
    }

    /// Moves the record at `status` (its status path) on to `to`, from the version `etag`.
    async fn move_to(&self, status: &str, to: &str, etag: &str) -> Page {
        self.send(Method::POST, status, json!({ "status": to }), Some(etag))
            .await
    }

    /// Every page of `path` (which has a query string), calling `between` after the
    /// first; the ids seen, in order.
    async fn every_page(&self, path: &str, id: &str, between: impl AsyncFnOnce()) -> Vec<String> {
        let mut seen = Vec::new();
        let mut after = String::new();
        let mut between = Some(between);
        loop {
            let page = self.get(&format!("{path}&after={after}")).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            let body = json(&page);
            for item in body["items"].as_array().unwrap() {
                seen.push(item[id].as_str().unwrap().to_string());
            }
            if let Some(between) = between.take() {
                between().await;
            }
            match body["next"].as_str() {
                Some(next) => after = next.to_string(),
                None => return seen,
            }
        }
    }
}

#[tokio::test]
async fn an_initiative_is_created_updated_with_if_match_and_started_which_commits_its_outcomes() {
    let app = TestApp::new().await;
    let unit = app.create_unit("Learning", "division", None).await;
    let period = q2(&app).await;
    let api = Client::new(&app, "Portfolio script", "write").await;

    let refused = api
        .send(
            Method::POST,
            "/api/v1/initiatives",
            json!({ "title": " ", "unit_id": "nope", "owner_email": "", "period_ids": ["x"] }),
            None,
        )
        .await;
    let body = problem(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        fields(&body),
        ["title", "unit_id", "owner_email", "periods"],
        "{body}"
    );

    let created = api
        .send(
            Method::POST,
            "/api/v1/initiatives",
            json!({ "title": "Self-serve onboarding", "unit_id": unit, "owner_email": ADMIN_EMAIL,
                     "period_ids": [period], "description": "Learners start without a call" }),
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let initiative = json(&created);
    let id = initiative["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.headers[header::LOCATION],
        format!("/api/v1/initiatives/{id}")
    );
    assert_eq!(
        (
            initiative["status"].as_str(),
            initiative["period_ids"][0].as_str()
        ),
        (Some("proposed"), Some(period.to_string().as_str()))
    );

    let listed = json(
        &api.get(&format!("/api/v1/initiatives?unit={unit}&status=proposed"))
            .await,
    );
    assert_eq!(listed["items"][0]["title"], "Self-serve onboarding");
    assert_eq!(listed["items"][0]["periods"], "2026 Q2");
    let none = json(&api.get("/api/v1/initiatives?status=done").await);
    assert_eq!(none["items"], json!([]));

    let path = format!("/api/v1/initiatives/{id}");
    let change = json!({ "title": "Self-serve onboarding for teams", "unit_id": unit, "owner_email": ADMIN_EMAIL,
                         "period_ids": [period] });
    problem(
        &api.send(Method::PUT, &path, change.clone(), None).await,
        StatusCode::PRECONDITION_REQUIRED,
    );
    problem(
        &api.send(Method::PUT, &path, change.clone(), Some("\"7\""))
            .await,
        StatusCode::PRECONDITION_FAILED,
    );
    let saved = api
        .send(Method::PUT, &path, change.clone(), Some(&etag(&created)))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(etag(&saved), "\"2\"");
    // The same version again is stale now: nothing is overwritten.
    problem(
        &api.send(
            Method::PUT,
            &path,
            json!({ "title": "Overwritten", "unit_id": unit,
        "owner_email": ADMIN_EMAIL }),
            Some(&etag(&created)),
        )
        .await,
        StatusCode::PRECONDITION_FAILED,
    );
    let title: String = sqlx::query_scalar("SELECT title FROM initiatives WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(title, "Self-serve onboarding for teams");

    // Its own outcome, then starting it commits that outcome.
    let added = api.send(Method::POST, &format!("{path}/outcomes"), json!({ "statement": "Teams onboard themselves", "kind": "business_result", "metric": "Self-serve signups",
                     "unit": "count", "direction": "increase", "baseline": "10", "target": "40",
                     "measure_by": "2026-12-31", "data_source": "Billing" }), None).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let outcome = json(&added);
    assert_eq!(
        (
            outcome["initiative_id"].as_str(),
            outcome["committed"].as_bool()
        ),
        (Some(id.as_str()), Some(false))
    );

    let status = format!("{path}/status");
    let bogus = api.move_to(&status, "finished", &etag(&saved)).await;
    assert_eq!(
        fields(&problem(&bogus, StatusCode::UNPROCESSABLE_ENTITY)),
        ["status"]
    );
    let early = api.move_to(&status, "done", &etag(&saved)).await;
    let body = problem(&early, StatusCode::CONFLICT);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("cannot become done"),
        "{body}"
    );
    let started = api.move_to(&status, "active", &etag(&saved)).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    assert_eq!(json(&started)["status"], "active");
    let outcome = json(
        &api.get(&format!(
            "/api/v1/outcomes/{}",
            outcome["id"].as_str().unwrap()
        ))
        .await,
    );
    assert_eq!(outcome["committed"], true);

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity_type = 'initiative' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "initiative_created",
            "initiative_updated",
            "initiative_status_changed"
        ]
    );
    // A read-only token reads but never writes.
    let reader = Client::new(&app, "Dashboard reader", "read").await;
    assert_eq!(reader.get(&path).await.status, StatusCode::OK);
    problem(
        &reader
            .send(Method::PUT, &path, change, Some(&etag(&started)))
            .await,
        StatusCode::FORBIDDEN,
    );
}

#[tokio::test]
async fn a_committed_outcome_changes_only_with_a_reason_and_the_revision_is_kept() {
    let app = TestApp::new().await;
    let team = app.create_unit("Onboarding", "team", None).await;
    let api = Client::new(&app, "Planning script", "write").await;
    let epic = api.send(Method::POST, "/api/v1/epics", json!({ "title": "Guided first lesson", "team_id": team, "work_type": "feature", "owner_email": ADMIN_EMAIL }), None).await;
    let epic_id = json(&epic)["id"].as_str().unwrap().to_string();
    let status = format!("/api/v1/epics/{epic_id}/status");

    // Not ready without an outcome: the definition of ready says what is missing.
    let early = api.move_to(&status, "ready", &etag(&epic)).await;
    let body = problem(&early, StatusCode::CONFLICT);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("at least one measurable anticipated outcome"),
        "{body}"
    );

    let outcome = json(&api.send(Method::POST, &format!("/api/v1/epics/{epic_id}/outcomes"), json!({ "statement": "New learners finish onboarding in their first week", "kind": "behaviour",
                     "metric": "Onboarding completion within 7 days", "unit": "percent", "direction": "increase",
                     "baseline": "62", "target": "80", "measure_by": "2026-09-30", "checkpoints": ["2026-07-31"],
                     "data_source": "Product analytics" }), None).await);
    assert_eq!(outcome["checkpoints"], json!(["2026-07-31"]));
    let epic = api.get(&format!("/api/v1/epics/{epic_id}")).await;
    let ready = api.move_to(&status, "ready", &etag(&epic)).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert_eq!(json(&ready)["status"], "ready");

    let path = format!("/api/v1/outcomes/{}", outcome["id"].as_str().unwrap());
    let current = api.get(&path).await;
    assert_eq!(json(&current)["committed"], true);
    let mut change = json!({ "statement": "New learners finish onboarding in their first week", "kind": "behaviour",
                             "metric": "Onboarding completion within 7 days", "unit": "percent", "direction": "increase",
                             "baseline": "62", "target": "75", "measure_by": "2026-09-30",
                             "data_source": "Product analytics" });
    let unexplained = api
        .send(Method::PUT, &path, change.clone(), Some(&etag(&current)))
        .await;
    let body = problem(&unexplained, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), ["reason"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("say why it changes"),
        "{body}"
    );

    change["reason"] = json!("The baseline was measured on the old funnel");
    let revised = api
        .send(Method::PUT, &path, change.clone(), Some(&etag(&current)))
        .await;
    assert_eq!(revised.status, StatusCode::OK, "{}", revised.body);
    let body = json(&revised);
    assert_eq!(body["target"], "75");
    assert_eq!(
        body["revisions"][0]["reason"],
        "The baseline was measured on the old funnel"
    );
    assert!(
        body["revisions"][0]["before"]
            .as_str()
            .unwrap()
            .contains("80"),
        "{body}"
    );
    assert!(
        body["revisions"][0]["after"]
            .as_str()
            .unwrap()
            .contains("75"),
        "{body}"
    );
    // Checkpoints left out are removed, as the body is the whole new state.
    assert_eq!(body["checkpoints"], json!([]));
    problem(
        &api.send(Method::PUT, &path, change, Some(&etag(&current)))
            .await,
        StatusCode::PRECONDITION_FAILED,
    );

    let revisions: Vec<String> = sqlx::query_scalar("SELECT reason FROM outcome_revisions")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(revisions, ["The baseline was measured on the old funnel"]);
    let page = app
        .get(&format!("/outcomes/{}", outcome["id"].as_str().unwrap()))
        .await
        .text();
    assert!(
        page.contains("The baseline was measured on the old funnel"),
        "{page}"
    );
}

#[tokio::test]
async fn objectives_and_key_results_are_created_cascaded_updated_and_moved_on() {
    let app = TestApp::new().await;
    let company = app.create_unit("Acme Learning", "company", None).await;
    let team = app.create_unit("Onboarding", "team", Some(company)).await;
    let elsewhere = app.create_unit("Billing", "team", None).await;
    let period = q2(&app).await;
    let api = Client::new(&app, "OKR sync", "write").await;

    let objective = api.send(Method::POST, "/api/v1/objectives", json!({ "title": "Learners succeed in their first week", "unit_id": company, "period_id": period,
                     "owner_email": ADMIN_EMAIL }), None).await;
    assert_eq!(objective.status, StatusCode::CREATED, "{}", objective.body);
    let objective_id = json(&objective)["id"].as_str().unwrap().to_string();
    let key_results = format!("/api/v1/objectives/{objective_id}/key-results");
    let refused = api.send(Method::POST, &key_results, json!({ "title": "", "metric": "Completion", "unit": "percent", "direction": "increase",
                     "start_value": "40", "target": "30", "owner_email": ADMIN_EMAIL, "progress_source": "check_ins" }), None).await;
    assert_eq!(
        fields(&problem(&refused, StatusCode::UNPROCESSABLE_ENTITY)),
        ["title", "target"]
    );
    let added = api.send(Method::POST, &key_results, json!({ "title": "Raise first-week completion", "metric": "Completion", "unit": "percent",
                     "direction": "increase", "start_value": "40", "target": "80", "owner_email": ADMIN_EMAIL,
                     "progress_source": "check_ins" }), None).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let key_result = json(&added);
    let key_result_id = key_result["id"].as_str().unwrap().to_string();
    assert_eq!(
        (
            key_result["objective_id"].as_str(),
            key_result["progress"].as_str()
        ),
        (Some(objective_id.as_str()), Some("0"))
    );

    // A cascaded objective belongs beneath its parent key result's unit.
    let astray = api.send(Method::POST, "/api/v1/objectives", json!({ "title": "Bill faster", "unit_id": elsewhere, "period_id": period, "owner_email": ADMIN_EMAIL,
                     "parent_key_result_id": key_result_id }), None).await;
    let body = problem(&astray, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), ["unit_id"], "{body}");
    let child = api.send(Method::POST, "/api/v1/objectives", json!({ "title": "Onboarding finishes itself", "unit_id": team, "period_id": period, "owner_email": ADMIN_EMAIL,
                     "parent_key_result_id": key_result_id }), None).await;
    assert_eq!(child.status, StatusCode::CREATED, "{}", child.body);
    assert_eq!(json(&child)["parent_key_result_id"], key_result_id.as_str());

    // Updated with If-Match; the stale version changes nothing.
    let kr_path = format!("/api/v1/key-results/{key_result_id}");
    let change = json!({ "title": "Raise first-week completion to 85%", "metric": "Completion", "unit": "percent",
                         "direction": "increase", "start_value": "40", "target": "85", "owner_email": ADMIN_EMAIL,
                         "progress_source": "check_ins" });
    let saved = api
        .send(Method::PUT, &kr_path, change.clone(), Some(&etag(&added)))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(
        (json(&saved)["target"].as_str(), etag(&saved).as_str()),
        (Some("85"), "\"2\"")
    );
    problem(
        &api.send(Method::PUT, &kr_path, change, Some(&etag(&added)))
            .await,
        StatusCode::PRECONDITION_FAILED,
    );

    let path = format!("/api/v1/objectives/{objective_id}");
    let read = api.get(&path).await;
    let body = json(&read);
    assert_eq!(
        body["key_results"][0]["title"],
        "Raise first-week completion to 85%"
    );
    let renamed = api.send(Method::PUT, &path, json!({ "title": "Every learner succeeds in week one", "unit_id": company, "period_id": period,
                     "owner_email": ADMIN_EMAIL }), Some(&etag(&read))).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let status = format!("{path}/status");
    let bogus = api.move_to(&status, "won", &etag(&renamed)).await;
    assert_eq!(
        fields(&problem(&bogus, StatusCode::UNPROCESSABLE_ENTITY)),
        ["status"]
    );
    let active = api.move_to(&status, "active", &etag(&renamed)).await;
    assert_eq!(active.status, StatusCode::OK, "{}", active.body);
    assert_eq!(json(&active)["status"], "active");
    let stored: (String, String) =
        sqlx::query_as("SELECT title, status FROM objectives WHERE id = $1::uuid")
            .bind(&objective_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        stored,
        ("Every learner succeeds in week one".into(), "active".into())
    );

    // The list finds key results by unit (with what is beneath it) and period.
    let listed = json(
        &api.get(&format!(
            "/api/v1/key-results?unit={company}&period={period}&q=first-week"
        ))
        .await,
    );
    assert_eq!(listed["items"][0]["id"], key_result_id.as_str());
    let beneath = json(&api.get(&format!("/api/v1/key-results?unit={team}")).await);
    assert_eq!(beneath["items"], json!([]));

    // A closed period makes them read-only: 409, and nothing changes.
    sqlx::query("UPDATE periods SET closed_at = now()")
        .execute(&app.db)
        .await
        .unwrap();
    let closed = api.send(Method::POST, &key_results, json!({ "title": "Late", "metric": "M", "unit": "count", "direction": "increase", "start_value": "0",
                     "target": "1", "owner_email": ADMIN_EMAIL, "progress_source": "check_ins" }), None).await;
    problem(&closed, StatusCode::CONFLICT);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM key_results")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn lists_of_outcomes_key_results_and_loops_page_without_skipping_or_repeating_while_rows_arrive()
 {
    let app = TestApp::new().await;
    let team = app.create_unit("Search", "team", None).await;
    let period = q2(&app).await;
    let api = Client::new(&app, "Warehouse export", "read").await;
    // Seven delivered epics, each with an outcome due on a different day around today
    // (1 Jun 2026): some overdue, some due soon, some measuring.
    let insert = async |title: String, measure_by: &str, created: i64| -> Uuid {
        let outcome = Uuid::new_v4();
        sqlx::query(
            "WITH e AS (INSERT INTO epics (id, team_id, work_type, title, status) VALUES (gen_random_uuid(), $2, 'feature', $3, 'measuring') RETURNING id)
             INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by, created_at)
             SELECT $1, e.id, 'behaviour', $3, 'Searches answered', 'percent', 'increase', 50, 70, $4::date,
                    now() - make_interval(mins => $5::int) FROM e",
        )
        .bind(outcome).bind(team).bind(title).bind(measure_by).bind(created as i32)
        .execute(&app.db).await.unwrap();
        outcome
    };
    let days = [
        "2026-05-20",
        "2026-05-25",
        "2026-05-31",
        "2026-06-03",
        "2026-06-05",
        "2026-08-01",
        "2026-09-01",
    ];
    let mut outcomes = Vec::new();
    for (i, day) in days.iter().enumerate() {
        outcomes.push(insert(format!("Outcome {i}"), day, 100 - i as i64).await);
    }

    let seen = api
        .every_page(
            &format!("/api/v1/outcomes?unit={team}&limit=3"),
            "id",
            async || {
                insert("Arrived meanwhile".into(), "2026-05-01", 0).await;
            },
        )
        .await;
    // Newest first; the one that arrived is newer than every page already read.
    let expected: Vec<String> = outcomes.iter().rev().map(Uuid::to_string).collect();
    assert_eq!(seen, expected);

    let loops = api
        .every_page(
            "/api/v1/loops?scope=org&limit=2",
            "outcome_id",
            async || {
                insert("Due later".into(), "2026-10-01", 0).await;
            },
        )
        .await;
    // Most urgent first, every open loop once: the one due last arrived after the first
    // page and comes at the end.
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT o.id::text FROM outcomes o ORDER BY o.measure_by, o.id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(ids.len(), 9);
    assert_eq!(loops, ids);
    let overdue = json(&api.get("/api/v1/loops?scope=org&loop=overdue").await);
    let states: Vec<&str> = overdue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["loop_state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["overdue"; 4]);
    assert!(
        overdue["items"][0]["when"]
            .as_str()
            .unwrap()
            .ends_with("days overdue")
    );
    let wrong = api.get("/api/v1/loops?scope=unit&loop=late").await;
    assert_eq!(
        fields(&problem(&wrong, StatusCode::UNPROCESSABLE_ENTITY)),
        ["unit", "loop"]
    );
    let closed = json(&api.get("/api/v1/outcomes?closed=true").await);
    assert_eq!(closed["items"], json!([]));
    let states = json(&api.get("/api/v1/outcomes?epic=&q=Outcome%206").await);
    assert_eq!(states["items"][0]["loop_state"], "measuring");

    // Key results, newest first, while one is added.
    let objective = Uuid::new_v4();
    sqlx::query("INSERT INTO objectives (id, org_unit_id, period_id, title) VALUES ($1, $2, $3, 'Answer more')")
        .bind(objective).bind(team).bind(period).execute(&app.db).await.unwrap();
    let add_key_result = async |title: &str, created: i32| {
        sqlx::query_scalar::<_, String>(
            "INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target, created_at)
             VALUES (gen_random_uuid(), $1, $2, $2, 'count', 'increase', 0, 10, now() - make_interval(mins => $3))
             RETURNING id::text")
            .bind(objective).bind(title).bind(created)
            .fetch_one(&app.db).await.unwrap()
    };
    let mut key_results = Vec::new();
    for i in 0..5 {
        key_results.push(add_key_result(&format!("KR {i}"), 50 - i).await);
    }
    let seen = api
        .every_page(
            &format!("/api/v1/key-results?period={period}&limit=2"),
            "id",
            async || {
                add_key_result("Arrived meanwhile", 0).await;
            },
        )
        .await;
    key_results.reverse();
    assert_eq!(seen, key_results);
    let bad = api.get("/api/v1/key-results?limit=0&owner=me").await;
    assert_eq!(
        fields(&problem(&bad, StatusCode::UNPROCESSABLE_ENTITY)),
        ["owner", "limit"]
    );
}

#[tokio::test]
async fn a_nul_character_is_ignored_in_searches_and_refused_in_text_never_a_server_error() {
    let app = TestApp::new().await;
    let team = app.create_unit("Search", "team", None).await;
    let api = Client::new(&app, "Fuzzer", "write").await;
    let created = api.send(Method::POST, "/api/v1/epics", json!({ "title": "Faster answers", "team_id": team, "work_type": "feature", "owner_email": ADMIN_EMAIL }), None).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let found = json(&api.get("/api/v1/epics?q=Fast%00er").await);
    assert_eq!(found["items"][0]["title"], "Faster answers");
    let page = app.get("/epics?q=Fast%00er").await;
    assert!(page.text().contains("Faster answers"), "{}", page.text());

    // Fields that check their text name the field; the typing comes back on the page.
    let refused = api.send(Method::POST, "/api/v1/epics", json!({ "title": "Null\u{0}byte", "team_id": team, "work_type": "feature", "owner_email": ADMIN_EMAIL }), None).await;
    assert_eq!(
        fields(&problem(&refused, StatusCode::UNPROCESSABLE_ENTITY)),
        ["title"]
    );
    let page = app
        .post(
            "/epics",
            &[
                ("title", "Kept title"),
                ("description", "Null\0byte"),
                ("team_id", &team.to_string()),
                ("work_type", "feature"),
                ("owner_email", ADMIN_EMAIL),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let shown = page.text();
    assert!(
        shown.contains("The description cannot contain a NUL character")
            && page.body.contains("value=\"Kept title\""),
        "{shown}"
    );
    // Anywhere else the database refuses it: a 400 that says why, never a 500.
    let outcome = Uuid::new_v4();
    sqlx::query("INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
                 SELECT $1, id, 'behaviour', 'Faster', 'Seconds to answer', 'duration', 'decrease', 9, 3, '2026-06-30' FROM epics")
        .bind(outcome).execute(&app.db).await.unwrap();
    let refused = api
        .send(
            Method::POST,
            &format!("/api/v1/outcomes/{outcome}/measurements"),
            json!({ "value": "5", "measured_on": "2026-05-30", "note": "Null\u{0}byte" }),
            None,
        )
        .await;
    let body = problem(&refused, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"].as_str().unwrap().contains("NUL character"),
        "{body}"
    );
    let measurements: i64 = sqlx::query_scalar("SELECT count(*) FROM measurements")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(measurements, 0);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM epics")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

/// Every `/api/v1` route of the sitemap, with a random id wherever it takes one.
fn api_routes(app: &TestApp) -> Vec<(Method, String)> {
    let state = yardstick::AppState::new(app.db.pool().clone(), app.clock.clone());
    yardstick::http::sitemap(&state)
        .routes()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/") && r.path != "/api/v1/openapi.json")
        .map(|r| {
            let path = r
                .path
                .replace("{id}", &Uuid::new_v4().to_string())
                .replace("{key_result_id}", &Uuid::new_v4().to_string())
                .replace("{key}", "search.answer_rate");
            (Method::from_bytes(r.method.as_bytes()).unwrap(), path)
        })
        .collect()
}

#[tokio::test]
async fn every_api_route_refuses_revoked_and_expired_tokens_and_read_only_tokens_on_writes() {
    let app = TestApp::new().await;
    let reader = Client::new(&app, "Reader", "read").await;
    let revoked = Client::new(&app, "Revoked", "write").await;
    let expired = Client::new(&app, "Expired", "write").await;
    sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE name = 'Revoked'")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE name = 'Expired'")
        .bind(app.clock.now() - chrono::Duration::seconds(1))
        .execute(&app.db)
        .await
        .unwrap();
    let audit_before: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let routes = api_routes(&app);
    assert!(routes.len() >= 30, "{routes:?}");
    let body = json!({ "title": "Sneaky", "status": "active" });
    for (method, path) in &routes {
        for client in [&revoked, &expired] {
            let page = client
                .send(method.clone(), path, body.clone(), Some("\"1\""))
                .await;
            problem(&page, StatusCode::UNAUTHORIZED);
        }
        let page = reader
            .send(method.clone(), path, body.clone(), Some("\"1\""))
            .await;
        if method == Method::GET {
            assert!(
                ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&page.status),
                "{method} {path}: {}",
                page.body
            );
        } else {
            let refused = problem(&page, StatusCode::FORBIDDEN);
            assert!(
                refused["detail"]
                    .as_str()
                    .unwrap()
                    .contains("may only read"),
                "{method} {path}: {refused}"
            );
        }
    }
    // Nothing was written but the refusals themselves.
    let written: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT action FROM audit_log WHERE id > $1 ORDER BY action")
            .bind(audit_before)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(
        written.iter().all(|a| a == "permission_refused"),
        "{written:?}"
    );
}

/// The API reads the same records as the pages with no more SQL statements, and the count
/// does not grow with the rows (no N+1): it answers at least as fast for the same data.
#[tokio::test]
async fn the_api_reads_no_more_statements_than_the_page_showing_the_same_records() {
    let app = TestApp::new().await;
    let team = app.create_unit("Search", "team", None).await;
    let period = q2(&app).await;
    let api = Client::new(&app, "Speed check", "read").await;
    api.get("/api/v1/units").await; // its first use is recorded once
    let seed = async |n: i32| {
        sqlx::query(
            "WITH e AS (INSERT INTO epics (id, team_id, work_type, title, status, owner_id)
                        SELECT gen_random_uuid(), $1, 'feature', 'Epic ' || g, 'measuring', $3 FROM generate_series(1, $2) g
                        RETURNING id, title),
                  o AS (INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
                        SELECT gen_random_uuid(), e.id, 'behaviour', e.title, 'Answers', 'percent', 'increase', 1, 2, '2026-06-03' FROM e),
                  i AS (INSERT INTO initiatives (id, org_unit_id, title) SELECT gen_random_uuid(), $1, 'Bet ' || g FROM generate_series(1, $2) g),
                  ob AS (INSERT INTO objectives (id, org_unit_id, period_id, title)
                         SELECT gen_random_uuid(), $1, $4, 'Objective ' || g FROM generate_series(1, $2) g RETURNING id)
             INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target)
             SELECT gen_random_uuid(), ob.id, 'KR', 'M', 'count', 'increase', 0, 10 FROM ob",
        )
        .bind(team)
        .bind(n)
        .bind(app.admin)
        .bind(period)
        .execute(&app.db)
        .await
        .unwrap();
    };
    let pairs = [
        (
            format!("/api/v1/epics?unit={team}"),
            format!("/epics?unit={team}"),
        ),
        (
            "/api/v1/initiatives?q=Bet".to_string(),
            "/initiatives?q=Bet".to_string(),
        ),
        (
            "/api/v1/loops?scope=org".to_string(),
            "/loops?scope=org".to_string(),
        ),
        (
            format!("/api/v1/objectives?unit={team}&period={period}"),
            format!("/okrs?unit={team}&period={period}"),
        ),
    ];
    let count = |page: Page, path: &str| {
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        page.statements()
    };
    seed(3).await;
    let mut few = Vec::new();
    for (api_path, page_path) in &pairs {
        let by_api = count(api.get(api_path).await, api_path);
        let by_page = count(app.get(page_path).await, page_path);
        assert!(
            by_api <= by_page,
            "{api_path}: {by_api} > {page_path}: {by_page}"
        );
        eprintln!("{api_path}: {by_api} statements; {page_path}: {by_page}");
        few.push(by_api);
    }
    seed(40).await;
    for ((api_path, _), before) in pairs.iter().zip(few) {
        assert_eq!(
            count(api.get(api_path).await, api_path),
            before,
            "{api_path}"
        );
    }
    // One record: its API read against its page.
    let ids: (Uuid, Uuid, Uuid) = sqlx::query_as(
        "SELECT (SELECT id FROM epics LIMIT 1), (SELECT id FROM outcomes LIMIT 1), (SELECT id FROM key_results LIMIT 1)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    for (api_path, page_path) in [
        (
            format!("/api/v1/epics/{}", ids.0),
            format!("/epics/{}", ids.0),
        ),
        (
            format!("/api/v1/outcomes/{}", ids.1),
            format!("/outcomes/{}", ids.1),
        ),
        (
            format!("/api/v1/key-results/{}", ids.2),
            format!("/key-results/{}", ids.2),
        ),
    ] {
        let by_api = count(api.get(&api_path).await, &api_path);
        let by_page = count(app.get(&page_path).await, &page_path);
        assert!(
            by_api <= by_page,
            "{api_path}: {by_api} > {page_path}: {by_page}"
        );
        eprintln!("{api_path}: {by_api} statements; {page_path}: {by_page}");
    }
}

#[tokio::test]
async fn a_divisions_loops_page_through_all_its_teams_most_urgent_first_without_skipping_or_repeating()
 {
    let app = TestApp::new().await;
    let division = app.create_unit("Growth", "division", None).await;
    // More teams than a page holds, each with loops due on the same days: across teams the
    // order is by date, then team name (as people read it), then id.
    let mut teams = Vec::new();
    for name in ["Zeta", "alpha", "Mid", "Beta"] {
        teams.push(app.create_unit(name, "team", Some(division)).await);
    }
    let elsewhere = app.create_unit("Elsewhere", "team", None).await;
    let api = Client::new(&app, "Queue script", "read").await;
    let insert = async |team: Uuid, title: String, measure_by: &str| {
        sqlx::query(
            "WITH e AS (INSERT INTO epics (id, team_id, work_type, title, status) VALUES (gen_random_uuid(), $1, 'feature', $2, 'measuring') RETURNING id)
             INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
             SELECT gen_random_uuid(), e.id, 'behaviour', $2, 'Sign-ups', 'percent', 'increase', 50, 70, $3::date FROM e",
        )
        .bind(team).bind(title).bind(measure_by)
        .execute(&app.db).await.unwrap();
    };
    for (t, team) in teams.iter().chain([&elsewhere]).enumerate() {
        for (d, day) in ["2026-05-20", "2026-06-03", "2026-05-20", "2026-08-01"]
            .iter()
            .enumerate()
        {
            insert(*team, format!("Team {t} loop {d}"), day).await;
        }
    }

    let loops = api
        .every_page(
            &format!("/api/v1/loops?scope=unit&unit={division}&limit=3"),
            "outcome_id",
            async || {},
        )
        .await;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT o.id::text FROM outcomes o JOIN org_units u ON u.id = o.unit_id
          WHERE u.parent_id = $1 ORDER BY o.measure_by, lower(u.name), o.id",
    )
    .bind(division)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(ids.len(), 16);
    assert_eq!(loops, ids);
}
