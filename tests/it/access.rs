//! Every route the router has, tried by every kind of person: the table below is the
//! contract, and a route missing from it (or a row for a route that no longer exists) fails
//! the test, so no route can forget its check.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::common::{Page, TestApp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Got {
    Allow,
    SignIn,
    Forbid,
}
use Got::*;

/// Anonymous, viewer, member of an unrelated team, member of the owning team, owner, admin.
type Expect = [Got; 6];
const PUBLIC: Expect = [Allow; 6];
const SIGNED_IN: Expect = [SignIn, Allow, Allow, Allow, Allow, Allow];
const ADMIN: Expect = [SignIn, Forbid, Forbid, Forbid, Forbid, Allow];
/// Anyone who may change something reaches the handler (members and admins).
const CONTRIBUTOR: Expect = [SignIn, Forbid, Allow, Allow, Allow, Allow];
/// Changes to one record: its unit's members (or above), its owner, admins.
const RECORD: Expect = [SignIn, Forbid, Forbid, Allow, Allow, Allow];
/// Changes to what a unit holds as a whole: its members (or above) and admins.
const UNIT: Expect = [SignIn, Forbid, Forbid, Allow, Forbid, Allow];

const TABLE: &[(&str, &str, Expect)] = &[
    ("GET", "/", SIGNED_IN),
    ("GET", "/login", PUBLIC),
    ("POST", "/login", PUBLIC),
    ("POST", "/logout", PUBLIC),
    ("GET", "/setup", PUBLIC),
    ("POST", "/setup", PUBLIC),
    ("GET", "/invitations/{token}", PUBLIC),
    ("POST", "/invitations/{token}", PUBLIC),
    ("GET", "/account", SIGNED_IN),
    ("POST", "/account/password", SIGNED_IN),
    ("POST", "/account/sessions/end-others", SIGNED_IN),
    ("GET", "/org", SIGNED_IN),
    ("GET", "/floor", SIGNED_IN),
    ("GET", "/org/csv", SIGNED_IN),
    ("GET", "/org/settings", ADMIN),
    ("POST", "/org/settings", ADMIN),
    ("POST", "/org/units", ADMIN),
    ("GET", "/org/units/new", ADMIN),
    ("GET", "/org/units/{id}", SIGNED_IN),
    ("POST", "/org/units/{id}", ADMIN),
    ("GET", "/org/units/{id}/edit", ADMIN),
    ("POST", "/org/units/{id}/members", ADMIN),
    ("POST", "/org/units/{id}/members/{person_id}/remove", ADMIN),
    ("GET", "/people", SIGNED_IN),
    ("GET", "/people/csv", SIGNED_IN),
    ("POST", "/people", ADMIN),
    ("GET", "/people/new", ADMIN),
    ("GET", "/people/{id}", SIGNED_IN),
    ("POST", "/people/{id}", ADMIN),
    ("GET", "/people/{id}/edit", ADMIN),
    ("POST", "/people/{id}/memberships", ADMIN),
    ("POST", "/people/{id}/account", ADMIN),
    ("POST", "/people/{id}/reset-link", ADMIN),
    ("GET", "/periods", SIGNED_IN),
    ("GET", "/periods/csv", SIGNED_IN),
    ("POST", "/periods", ADMIN),
    ("GET", "/periods/new", ADMIN),
    ("GET", "/admin/audit", ADMIN),
    ("GET", "/admin/audit/csv", ADMIN),
    ("GET", "/admin/export", ADMIN),
    ("GET", "/admin/webhooks", ADMIN),
    ("POST", "/admin/webhooks", ADMIN),
    ("GET", "/admin/webhooks/{id}", ADMIN),
    ("POST", "/admin/webhooks/{id}", ADMIN),
    ("POST", "/admin/webhooks/{id}/delete", ADMIN),
    ("GET", "/import/jira", ADMIN),
    ("POST", "/import/jira", ADMIN),
    ("GET", "/import/jira/{id}", ADMIN),
    ("POST", "/import/jira/{id}", ADMIN),
    ("GET", "/import/jira/{id}/progress", ADMIN),
    ("GET", "/initiatives", SIGNED_IN),
    ("GET", "/initiatives/csv", SIGNED_IN),
    ("GET", "/initiatives/new", CONTRIBUTOR),
    ("POST", "/initiatives", CONTRIBUTOR),
    ("GET", "/initiatives/{id}", SIGNED_IN),
    ("POST", "/initiatives/{id}", RECORD),
    ("GET", "/initiatives/{id}/edit", RECORD),
    ("POST", "/initiatives/{id}/status", RECORD),
    ("POST", "/initiatives/{id}/owner", RECORD),
    ("GET", "/org/units/{id}/backlog", SIGNED_IN),
    ("POST", "/org/units/{id}/backlog", UNIT),
    ("POST", "/org/units/{id}/capacity", UNIT),
    ("POST", "/org/units/{id}/cost-rate", ADMIN),
    ("GET", "/org/units/{id}/iterations/new", UNIT),
    ("POST", "/org/units/{id}/iterations", UNIT),
    ("GET", "/iterations/{id}", SIGNED_IN),
    ("POST", "/iterations/{id}", UNIT),
    ("GET", "/iterations/{id}/edit", UNIT),
    ("POST", "/iterations/{id}/review", UNIT),
    ("GET", "/epics", SIGNED_IN),
    ("GET", "/epics/csv", SIGNED_IN),
    ("GET", "/needs-owner", SIGNED_IN),
    ("POST", "/epics/{id}/owner", RECORD),
    ("POST", "/outcomes/{id}/owner", RECORD),
    ("POST", "/people/{id}/reassign", ADMIN),
    ("GET", "/epics/new", CONTRIBUTOR),
    ("POST", "/epics", CONTRIBUTOR),
    ("GET", "/epics/{id}", SIGNED_IN),
    ("POST", "/epics/{id}", RECORD),
    ("GET", "/epics/{id}/edit", RECORD),
    ("POST", "/epics/{id}/status", RECORD),
    ("GET", "/outcomes/new", RECORD),
    ("POST", "/outcomes", CONTRIBUTOR),
    ("GET", "/outcomes/{id}", SIGNED_IN),
    ("POST", "/outcomes/{id}", RECORD),
    ("GET", "/outcomes/{id}/edit", RECORD),
    ("GET", "/okrs", SIGNED_IN),
    ("GET", "/okrs/csv", SIGNED_IN),
    ("GET", "/objectives/new", CONTRIBUTOR),
    ("POST", "/objectives", CONTRIBUTOR),
    ("GET", "/objectives/{id}", SIGNED_IN),
    ("POST", "/objectives/{id}", RECORD),
    ("GET", "/objectives/{id}/edit", RECORD),
    ("POST", "/objectives/{id}/status", RECORD),
    ("GET", "/key-results/new", RECORD),
    ("POST", "/key-results", CONTRIBUTOR),
    ("GET", "/key-results/{id}", SIGNED_IN),
    ("POST", "/key-results/{id}", RECORD),
    ("GET", "/key-results/{id}/edit", RECORD),
    ("POST", "/key-results/{id}/check-ins", RECORD),
    ("GET", "/key-results/propose", CONTRIBUTOR),
    ("POST", "/key-results/propose", CONTRIBUTOR),
    ("POST", "/key-results/{id}/reflection", RECORD),
    ("POST", "/objectives/{id}/carry-over", RECORD),
    ("POST", "/periods/{id}/close", ADMIN),
    ("POST", "/periods/{id}/reopen", ADMIN),
    ("POST", "/outcomes/{id}/key-results", RECORD),
    (
        "POST",
        "/outcomes/{id}/key-results/{key_result_id}/remove",
        RECORD,
    ),
    ("GET", "/loops", SIGNED_IN),
    ("GET", "/loops/csv", SIGNED_IN),
    ("GET", "/learnings", SIGNED_IN),
    ("GET", "/learnings/csv", SIGNED_IN),
    ("POST", "/outcomes/{id}/measurements", RECORD),
    ("POST", "/outcomes/{id}/close", RECORD),
    ("POST", "/outcomes/{id}/reopen", RECORD),
    ("GET", "/notifications", SIGNED_IN),
    ("POST", "/notifications/read", SIGNED_IN),
    ("POST", "/notifications/{id}/read", SIGNED_IN),
    ("GET", "/dashboard", SIGNED_IN),
    ("GET", "/dashboard/csv", SIGNED_IN),
    ("GET", "/api/v1/openapi.json", PUBLIC),
    ("GET", "/api/docs", PUBLIC),
    ("GET", "/api/docs/{*path}", PUBLIC),
    ("GET", "/api/v1/initiatives", SIGNED_IN),
    ("POST", "/api/v1/initiatives", CONTRIBUTOR),
    ("GET", "/api/v1/initiatives/{id}", SIGNED_IN),
    ("PUT", "/api/v1/initiatives/{id}", RECORD),
    ("POST", "/api/v1/initiatives/{id}/status", RECORD),
    ("POST", "/api/v1/initiatives/{id}/outcomes", RECORD),
    ("GET", "/api/v1/epics", SIGNED_IN),
    ("POST", "/api/v1/epics", CONTRIBUTOR),
    ("GET", "/api/v1/epics/{id}", SIGNED_IN),
    ("PUT", "/api/v1/epics/{id}", RECORD),
    ("POST", "/api/v1/epics/{id}/status", RECORD),
    ("POST", "/api/v1/epics/{id}/outcomes", RECORD),
    ("GET", "/api/v1/outcomes", SIGNED_IN),
    ("GET", "/api/v1/outcomes/{id}", SIGNED_IN),
    ("PUT", "/api/v1/outcomes/{id}", RECORD),
    ("POST", "/api/v1/outcomes/{id}/measurements", RECORD),
    ("POST", "/api/v1/outcomes/{id}/close", RECORD),
    ("GET", "/api/v1/loops", SIGNED_IN),
    ("GET", "/api/v1/objectives", SIGNED_IN),
    ("POST", "/api/v1/objectives", CONTRIBUTOR),
    ("GET", "/api/v1/objectives/{id}", SIGNED_IN),
    ("PUT", "/api/v1/objectives/{id}", RECORD),
    ("POST", "/api/v1/objectives/{id}/status", RECORD),
    ("POST", "/api/v1/objectives/{id}/key-results", RECORD),
    ("GET", "/api/v1/key-results", SIGNED_IN),
    ("GET", "/api/v1/key-results/{id}", SIGNED_IN),
    ("PUT", "/api/v1/key-results/{id}", RECORD),
    ("POST", "/api/v1/key-results/{id}/check-ins", RECORD),
    (
        "PUT",
        "/api/v1/outcomes/{id}/key-results/{key_result_id}",
        RECORD,
    ),
    (
        "DELETE",
        "/api/v1/outcomes/{id}/key-results/{key_result_id}",
        RECORD,
    ),
    ("POST", "/api/v1/metrics/{key}/values", CONTRIBUTOR),
    ("GET", "/api/v1/units", SIGNED_IN),
    ("GET", "/api/v1/periods", SIGNED_IN),
    ("GET", "/api/v1/people", SIGNED_IN),
    ("POST", "/account/tokens", SIGNED_IN),
    ("POST", "/account/tokens/{id}/revoke", SIGNED_IN),
    ("GET", "/healthz", PUBLIC),
    ("GET", "/readyz", PUBLIC),
    ("GET", "/static/{version}/{*path}", PUBLIC),
];

fn classify(page: &Page) -> Got {
    if page.status == StatusCode::FORBIDDEN {
        Forbid
    } else if page.status == StatusCode::SEE_OTHER && page.location().starts_with("/login?next=") {
        SignIn
    } else if page.status == StatusCode::UNAUTHORIZED
        && page.headers[axum::http::header::CONTENT_TYPE] == "application/problem+json"
    {
        // The API's answer to nobody signed in.
        SignIn
    } else {
        Allow
    }
}

/// A small organisation: a team with a member and an owner (the person whose record it
/// is), another team with a member, a viewer, and the admin.
pub(crate) struct World {
    pub(crate) app: TestApp,
    team: Uuid,
    owner: Uuid,
    initiative: Uuid,
    pub(crate) epic: Uuid,
    outcome: Uuid,
    iteration: Uuid,
    objective: Uuid,
    key_result: Uuid,
    people: [Option<Uuid>; 6],
}

impl World {
    /// Every record's id: values a form or body may name.
    pub(crate) fn ids(&self) -> Vec<Uuid> {
        let mut ids = vec![
            self.team,
            self.owner,
            self.initiative,
            self.epic,
            self.outcome,
            self.iteration,
            self.objective,
            self.key_result,
        ];
        ids.extend(self.people.iter().flatten());
        ids
    }
}

pub(crate) async fn world() -> World {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let team = app.create_unit("Search", "team", Some(company)).await;
    let other = app.create_unit("Growth", "team", Some(company)).await;
    let viewer = app
        .account("Vera Viewer", "vera@northwind.example", "viewer")
        .await;
    let outsider = app
        .account("Olga Outsider", "olga@northwind.example", "member")
        .await;
    let insider = app
        .account("Ian Insider", "ian@northwind.example", "member")
        .await;
    let owner = app
        .account("Omar Owner", "omar@northwind.example", "member")
        .await;
    use yardstick::org::model::MemberRole::Engineer;
    yardstick::org::upsert_membership(&app.db, other, outsider, Engineer)
        .await
        .unwrap();
    yardstick::org::upsert_membership(&app.db, team, insider, Engineer)
        .await
        .unwrap();
    // The owner owns the initiative and the epic without being in their team.
    let initiative = Uuid::new_v4();
    sqlx::query("INSERT INTO initiatives (id, org_unit_id, owner_id, title) VALUES ($1, $2, $3, 'Learners succeed')")
        .bind(initiative)
        .bind(team)
        .bind(owner)
        .execute(&app.db)
        .await
        .unwrap();
    let epic = Uuid::new_v4();
    sqlx::query("INSERT INTO epics (id, team_id, owner_id, work_type, title) VALUES ($1, $2, $3, 'feature', 'Learner onboarding')")
        .bind(epic)
        .bind(team)
        .bind(owner)
        .execute(&app.db)
        .await
        .unwrap();
    let outcome = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO outcomes (id, epic_id, owner_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
         VALUES ($1, $2, $3, 'behaviour', 'Learners finish onboarding', 'Onboarding completion', 'percent', 'increase', 40, 80, '2026-09-30')",
    )
    .bind(outcome)
    .bind(epic)
    .bind(owner)
    .execute(&app.db)
    .await
    .unwrap();
    let iteration = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO iterations (id, org_unit_id, name, starts_on, ends_on, goal)
         VALUES ($1, $2, 'Sprint 1', '2026-05-18', '2026-05-29', 'Faster search')",
    )
    .bind(iteration)
    .bind(team)
    .execute(&app.db)
    .await
    .unwrap();
    // The owner owns the objective and its key result too.
    let (objective, key_result) = (Uuid::new_v4(), Uuid::new_v4());
    sqlx::query(
        "WITH p AS (INSERT INTO periods (id, name, cadence, starts_on, ends_on)
                    VALUES (gen_random_uuid(), '2026 Q2', 'quarter', '2026-04-01', '2026-06-30') RETURNING id)
         INSERT INTO objectives (id, org_unit_id, period_id, owner_id, title) SELECT $1, $2, p.id, $3, 'Faster search' FROM p",
    )
    .bind(objective)
    .bind(team)
    .bind(owner)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO key_results (id, objective_id, owner_id, title, metric, unit, direction, start_value, target)
         VALUES ($1, $2, $3, 'p95 under 300 ms', 'p95 latency', 'duration', 'decrease', 800, 300)",
    )
    .bind(key_result)
    .bind(objective)
    .bind(owner)
    .execute(&app.db)
    .await
    .unwrap();
    let admin = app.admin;
    World {
        app,
        team,
        owner,
        initiative,
        epic,
        outcome,
        iteration,
        objective,
        key_result,
        people: [
            None,
            Some(viewer),
            Some(outsider),
            Some(insider),
            Some(owner),
            Some(admin),
        ],
    }
}

pub(crate) fn concrete(path: &str, world: &World) -> String {
    if path == "/outcomes/new" {
        return format!("/outcomes/new?epic={}", world.epic);
    }
    if path == "/key-results/propose" {
        return format!("/key-results/propose?outcome={}", world.outcome);
    }
    if path == "/key-results/new" {
        return format!("/key-results/new?objective={}", world.objective);
    }
    let id = if path.starts_with("/org/units") {
        world.team
    } else if path.starts_with("/initiatives") || path.starts_with("/api/v1/initiatives") {
        world.initiative
    } else if path.starts_with("/epics") || path.starts_with("/api/v1/epics") {
        world.epic
    } else if path.starts_with("/outcomes") || path.starts_with("/api/v1/outcomes") {
        world.outcome
    } else if path.starts_with("/iterations") {
        world.iteration
    } else if path.starts_with("/objectives") || path.starts_with("/api/v1/objectives") {
        world.objective
    } else if path.starts_with("/key-results") || path.starts_with("/api/v1/key-results") {
        world.key_result
    } else {
        world.owner
    };
    path.replace("{id}", &id.to_string())
        .replace("{person_id}", &world.owner.to_string())
        .replace("{key_result_id}", &world.key_result.to_string())
        .replace("{token}", "not-a-live-token")
        .replace("{key}", "search.answer_rate")
        .replace("/api/docs/{*path}", "/api/docs/index.html")
        .replace(
            "{version}/{*path}",
            &format!("{}/style.css", yardstick::http::assets::VERSION),
        )
}

#[tokio::test]
async fn every_route_allows_and_refuses_exactly_whom_the_table_says() {
    let probe = world().await;
    let state = yardstick::AppState::new(probe.app.db.pool().clone(), probe.app.clock.clone());
    let routes: BTreeSet<(String, String)> = yardstick::http::sitemap(&state)
        .routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let table: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        routes.difference(&table).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes missing from the table"
    );
    assert_eq!(
        table.difference(&routes).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "rows for routes that do not exist"
    );
    drop(probe);

    let mut failures = Vec::new();
    for (method, path, expected) in TABLE {
        // A fresh organisation per route: an allowed change cannot disturb the next check.
        let world = world().await;
        let target = concrete(path, &world);
        for (who, person) in world.people.iter().enumerate() {
            let cookie = match person {
                Some(id) => world.app.session_for(*id).await,
                None => String::new(),
            };
            let page = match *method {
                "GET" => world.app.get_as(&cookie, &target).await,
                "PUT" => world.app.put_as(&cookie, &target).await,
                "DELETE" => world.app.delete_as(&cookie, &target).await,
                _ => world.app.post_as(&cookie, &target, &[]).await,
            };
            let got = classify(&page);
            if got != expected[who] {
                failures.push(format!(
                    "{method} {target} as #{who}: expected {:?}, got {got:?} ({})",
                    expected[who], page.status
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_refusal_is_written_to_the_audit_log() {
    let world = world().await;
    let viewer = world.people[1].unwrap();
    let cookie = world.app.session_for(viewer).await;
    let page = world
        .app
        .post_as(&cookie, "/periods", &[("name", "Sneaky")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text().contains("You cannot do this"));
    let (actor, after): (Option<Uuid>, serde_json::Value) =
        sqlx::query_as("SELECT actor_id, after FROM audit_log WHERE action = 'permission_refused'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(actor, Some(viewer));
    assert_eq!(after["route"], "/periods");
    assert_eq!(after["method"], "POST");
}

#[tokio::test]
async fn people_who_may_not_change_the_organisation_see_no_buttons_for_it() {
    let world = world().await;
    let member = world.app.session_for(world.people[3].unwrap()).await;
    let unit = world
        .app
        .get_as(&member, &format!("/org/units/{}", world.team))
        .await
        .text();
    assert!(
        unit.contains("Search")
            && !unit.contains("Edit unit")
            && !unit.contains("Add person")
            && !unit.contains("Remove")
    );
    let people = world.app.get_as(&member, "/people").await.text();
    assert!(!people.contains("Add a person"));
    let admin = world
        .app
        .get(&format!("/org/units/{}", world.team))
        .await
        .text();
    assert!(admin.contains("Edit unit") && admin.contains("Add person"));
}

/// The one route whose pages need a relaxed policy: Swagger UI sets styles inline.
const CSP_EXCEPTIONS: &[(&str, &str)] = &[(
    "/api/docs/{*path}",
    yardstick::api::docs::DOCS_CONTENT_SECURITY_POLICY,
)];

/// What a passive scanner looks for, on every route of the router, answered to nobody and
/// to the administrator, whatever the answer (page, redirect, refusal, problem, file):
/// the strict policy (or the listed exception), no sniffing, no framing, no referrer to
/// other sites, cookies only HttpOnly and SameSite, no version banner, and no error that
/// shows the program's internals.
#[tokio::test]
async fn every_route_answers_everyone_with_the_security_headers_and_no_internals() {
    let world = world().await;
    let admin = world.people[5].unwrap();
    let mut answers = 0;
    let mut failures = Vec::new();
    for (method, path, _) in TABLE {
        let target = concrete(path, &world);
        let policy = CSP_EXCEPTIONS
            .iter()
            .find(|(route, _)| route == path)
            .map(|(_, policy)| *policy)
            .unwrap_or(yardstick::http::CONTENT_SECURITY_POLICY);
        for signed_in in [false, true] {
            // A session of its own per request: `POST /logout` must not end the next one's.
            let cookie = if signed_in {
                world.app.session_for(admin).await
            } else {
                String::new()
            };
            let page = match *method {
                "GET" => world.app.get_as(&cookie, &target).await,
                "PUT" => world.app.put_as(&cookie, &target).await,
                "DELETE" => world.app.delete_as(&cookie, &target).await,
                _ => world.app.post_as(&cookie, &target, &[]).await,
            };
            answers += 1;
            let who = if signed_in { "admin" } else { "nobody" };
            let mut fail =
                |what: String| failures.push(format!("{method} {target} as {who}: {what}"));
            let header = |name: &str| {
                page.headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            if page.status.is_server_error() {
                fail(format!("{} {}", page.status, page.body));
            }
            if header("content-security-policy") != policy {
                fail(format!("policy {:?}", header("content-security-policy")));
            }
            for (name, value) in [
                ("x-content-type-options", "nosniff"),
                ("x-frame-options", "DENY"),
                ("referrer-policy", "same-origin"),
                ("cross-origin-opener-policy", "same-origin"),
            ] {
                if header(name) != value {
                    fail(format!("{name}: {:?}", header(name)));
                }
            }
            if !page.headers.contains_key("x-request-id") {
                fail("no x-request-id".into());
            }
            for banner in ["server", "x-powered-by", "x-aspnet-version"] {
                if page.headers.contains_key(banner) {
                    fail(format!("a {banner} banner"));
                }
            }
            for cookie in page.headers.get_all("set-cookie") {
                let cookie = cookie.to_str().unwrap_or("");
                if !cookie.contains("; HttpOnly") || !cookie.contains("; SameSite=") {
                    fail(format!("cookie without HttpOnly and SameSite: {cookie}"));
                }
            }
            let body = page.body.to_lowercase();
            for internal in [
                "panicked",
                "backtrace",
                "sqlx",
                "sqlstate",
                "pgdatabaseerror",
                "src/",
                ".rs:",
                "thread '",
                "syntax error",
            ] {
                if body.contains(internal)
                    && !path.starts_with("/static")
                    && !path.starts_with("/api/docs")
                {
                    fail(format!("shows {internal:?}"));
                }
            }
        }
    }
    assert!(answers >= 2 * 150, "{answers} answers");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A digest of every row of the tables a person's changes reach (of tokens, whether they
/// are revoked: using one records when).
async fn records(db: &sqlx::PgPool) -> Vec<(String, Option<String>)> {
    let mut digests = Vec::new();
    for (table, row) in [
        ("epics", "t::text"),
        ("initiatives", "t::text"),
        ("outcomes", "t::text"),
        ("measurements", "t::text"),
        ("objectives", "t::text"),
        ("key_results", "t::text"),
        ("check_ins", "t::text"),
        ("outcome_key_results", "t::text"),
        (
            "api_tokens",
            "t.id || ' ' || coalesce(t.revoked_at::text, 'live')",
        ),
        ("notifications", "t::text"),
    ] {
        let digest: Option<String> = sqlx::query_scalar(&format!(
            "SELECT md5(string_agg({row}, '|' ORDER BY {row})) FROM {table} t"
        ))
        .fetch_one(db)
        .await
        .unwrap();
        digests.push((table.to_string(), digest));
    }
    digests
}

/// Insecure direct object references: a member of another team sends the ids of the
/// team's records (in the path, in a form, in an API body, and the ids of another person's
/// token and notification). Each request is one the team's own member then sends word for
/// word and sees accepted, so only the person differs; every one is refused and no stored
/// row changes.
#[tokio::test]
async fn ids_of_records_a_person_may_not_change_are_refused_wherever_they_are_sent() {
    let w = world().await;
    let (outsider, insider) = (w.people[2].unwrap(), w.people[3].unwrap());
    let (as_outsider, as_insider) = (
        w.app.session_for(outsider).await,
        w.app.session_for(insider).await,
    );
    let token_of =
        async |cookie: &str, name: &str| crate::api::token(&w.app, cookie, name, "write").await;
    let (outsider_token, insider_token) = (
        token_of(&as_outsider, "Outsider's").await,
        token_of(&as_insider, "Insider's").await,
    );
    let period: Uuid = sqlx::query_scalar("SELECT id FROM periods")
        .fetch_one(&w.app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE outcomes SET metric_key = 'onboarding.completion' WHERE id = $1")
        .bind(w.outcome)
        .execute(&w.app.db)
        .await
        .unwrap();
    let (team, epic, outcome, objective, key_result) = (
        w.team.to_string(),
        w.epic.to_string(),
        w.outcome.to_string(),
        w.objective.to_string(),
        w.key_result.to_string(),
    );
    let period = period.to_string();
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/epics".into(),
            vec![
                ("title", "Sneaky epic"),
                ("team_id", &team),
                ("work_type", "feature"),
                ("owner_email", "ian@northwind.example"),
            ],
        ),
        (
            "/initiatives".into(),
            vec![
                ("title", "Sneaky bet"),
                ("unit_id", &team),
                ("owner_email", "ian@northwind.example"),
            ],
        ),
        (
            "/objectives".into(),
            vec![
                ("title", "Sneaky objective"),
                ("unit_id", &team),
                ("period_id", &period),
                ("owner_email", "ian@northwind.example"),
            ],
        ),
        (
            "/outcomes".into(),
            vec![
                ("epic", &epic),
                ("statement", "Learners finish faster"),
                ("kind", "behaviour"),
                ("metric", "Minutes to finish"),
                ("unit", "count"),
                ("data_source", "Product analytics"),
                ("direction", "decrease"),
                ("baseline", "30"),
                ("target", "20"),
                ("measure_by", "2026-10-31"),
            ],
        ),
        (
            "/key-results".into(),
            vec![
                ("objective_id", &objective),
                ("title", "Sneaky key result"),
                ("metric", "Queries answered"),
                ("unit", "percent"),
                ("direction", "increase"),
                ("start_value", "10"),
                ("target", "20"),
                ("weight", "1"),
                ("progress_source", "check_ins"),
                ("owner_email", "ian@northwind.example"),
            ],
        ),
        (
            format!("/outcomes/{outcome}/measurements"),
            vec![("value", "55"), ("measured_on", "2026-06-01")],
        ),
        (
            format!("/key-results/{key_result}/check-ins"),
            vec![
                ("value", "500"),
                ("confidence", "7"),
                ("note", "Sneaky"),
                ("checked_on", "2026-05-31"),
            ],
        ),
        (
            format!("/outcomes/{outcome}/key-results"),
            vec![("key_result_id", &key_result)],
        ),
    ];
    let calls: Vec<(Method, String, serde_json::Value)> = vec![
        (
            Method::POST,
            "/api/v1/epics".into(),
            json!({ "title": "Sneaky epic", "team_id": w.team, "work_type": "feature", "owner_email": "ian@northwind.example" }),
        ),
        (
            Method::POST,
            "/api/v1/initiatives".into(),
            json!({ "title": "Sneaky bet", "unit_id": w.team, "owner_email": "ian@northwind.example" }),
        ),
        (
            Method::POST,
            "/api/v1/objectives".into(),
            json!({ "title": "Sneaky objective", "unit_id": w.team, "period_id": period, "owner_email": "ian@northwind.example" }),
        ),
        (
            Method::POST,
            format!("/api/v1/outcomes/{outcome}/measurements"),
            json!({ "value": "56", "measured_on": "2026-05-31" }),
        ),
        (
            Method::POST,
            format!("/api/v1/key-results/{key_result}/check-ins"),
            json!({ "value": "480", "confidence": 6, "checked_on": "2026-05-30" }),
        ),
        (
            Method::POST,
            "/api/v1/metrics/onboarding.completion/values".into(),
            json!({ "value": "57", "date": "2026-05-30" }),
        ),
        (
            Method::PUT,
            format!("/api/v1/outcomes/{outcome}/key-results/{key_result}"),
            json!({}),
        ),
    ];

    // Another person's token and notification.
    let owner_cookie = w.app.session_for(w.owner).await;
    token_of(&owner_cookie, "Owner's").await;
    let owner_token: Uuid = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = 'Owner''s'")
        .fetch_one(&w.app.db)
        .await
        .unwrap();
    let notification: Uuid = sqlx::query_scalar(
        "INSERT INTO notifications (id, person_id, kind, subject_id, due_on, title, href)
         VALUES (gen_random_uuid(), $1, 'loop_due_today', $2, '2026-09-30', 'Loop due today', '/outcomes/' || $2) RETURNING id",
    )
    .bind(w.owner)
    .bind(w.outcome)
    .fetch_one(&w.app.db)
    .await
    .unwrap();

    let before = records(&w.app.db).await;
    let mut failures = Vec::new();
    let mut forbidden = 0;
    // Refused: forbidden (and audited); or, creating in a unit, that unit named as the
    // field to correct; or, for a metric's value fanned out to the records following it,
    // each record skipped with the reason.
    let mut refused = |page: &crate::common::Page| {
        forbidden += usize::from(page.status == StatusCode::FORBIDDEN);
        page.status == StatusCode::FORBIDDEN
            || (page.status == StatusCode::UNPROCESSABLE_ENTITY
                && page.body.contains("only for the units you belong to"))
            || (page.status == StatusCode::OK
                && page
                    .body
                    .contains(r#""result":"skipped","reason":"You may not change it"#))
    };
    for (path, fields) in &forms {
        let page = w.app.post_as(&as_outsider, path, fields).await;
        if !refused(&page) {
            failures.push(format!("POST {path}: {} {}", page.status, page.text()));
        }
    }
    for (method, path, body) in &calls {
        let page = crate::api::call(
            &w.app,
            method.clone(),
            path,
            &outsider_token,
            Some(body.clone()),
            None,
        )
        .await;
        if !refused(&page) {
            failures.push(format!("{method} {path}: {} {}", page.status, page.body));
        }
    }
    for path in [
        format!("/account/tokens/{owner_token}/revoke"),
        format!("/notifications/{notification}/read"),
    ] {
        let page = w.app.post_as(&as_outsider, &path, &[]).await;
        if page.status.is_server_error() {
            failures.push(format!("POST {path}: {}", page.status));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        records(&w.app.db).await,
        before,
        "a refused request changed a row"
    );

    // The same requests from the team's member are accepted: only the person differed.
    for (path, fields) in &forms {
        let page = w.app.post_as(&as_insider, path, fields).await;
        assert!(
            page.status == StatusCode::SEE_OTHER,
            "POST {path} as the team's member: {} {}",
            page.status,
            page.text()
        );
    }
    for (method, path, body) in &calls {
        let page = crate::api::call(
            &w.app,
            method.clone(),
            path,
            &insider_token,
            Some(body.clone()),
            None,
        )
        .await;
        assert!(
            page.status.is_success(),
            "{method} {path} as the team's member: {} {}",
            page.status,
            page.body
        );
    }
    let refusals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'permission_refused' AND actor_id = $1",
    )
    .bind(outsider)
    .fetch_one(&w.app.db)
    .await
    .unwrap();
    assert_eq!(refusals as usize, forbidden);
    assert!(forbidden >= 8, "{forbidden} forbidden");
}
