//! Resilience: what a server answers when it is asked for more than it can serve, and
//! that it recovers by itself.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::{call, token};
use crate::common::TestApp;
use crate::epics::{create_epic, team};

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

/// One attempt to change the contended epic: who, how, with which version, and the answer.
#[derive(Debug, Clone)]
struct Attempt {
    title: String,
    version: i32,
    status: StatusCode,
}

/// The version a client reads before changing the epic: the edit form's hidden field, or
/// the API's ETag.
async fn read_version(app: &TestApp, cookie: &str, token: &str, epic: Uuid, api: bool) -> i32 {
    if api {
        let read = call(
            app,
            Method::GET,
            &format!("/api/v1/epics/{epic}"),
            token,
            None,
            None,
        )
        .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.body);
        read.headers[header::ETAG]
            .to_str()
            .unwrap()
            .trim_matches('"')
            .parse()
            .unwrap()
    } else {
        let form = app.get_as(cookie, &format!("/epics/{epic}/edit")).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.text());
        let field = r#"name="version" value=""#;
        let at = form.body.find(field).expect("the version field") + field.len();
        form.body[at..at + form.body[at..].find('"').unwrap()]
            .parse()
            .unwrap()
    }
}

/// Changes the epic's title with `version`, through the edit form or the API.
async fn write_title(
    app: &TestApp,
    (cookie, token, team): (&str, &str, &str),
    epic: Uuid,
    api: bool,
    title: &str,
    version: i32,
) -> StatusCode {
    if api {
        let body = json!({ "title": title, "team_id": team, "work_type": "feature" });
        let etag = format!("\"{version}\"");
        let path = format!("/api/v1/epics/{epic}");
        call(app, Method::PUT, &path, token, Some(body), Some(&etag))
            .await
            .status
    } else {
        let version = version.to_string();
        let fields = [
            ("title", title),
            ("team_id", team),
            ("work_type", "feature"),
            ("version", version.as_str()),
        ];
        app.post_as(cookie, &format!("/epics/{epic}"), &fields)
            .await
            .status
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_editors_at_once_never_overwrite_each_other_and_every_refusal_names_a_real_conflict()
{
    const CLIENTS: usize = 50;
    const TRIES: usize = 200;
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Contended epic", "feature").await;
    let token = token(&app, &t.pm_cookie, "Editing script", "write").await;
    let team = t.team.to_string();
    let who = (t.pm_cookie.as_str(), token.as_str(), team.as_str());
    let initial = read_version(&app, who.0, who.1, epic, false).await;

    // Alone, fresh versions never conflict, through either door.
    for n in 0..10 {
        let api = n % 2 == 1;
        let version = read_version(&app, who.0, who.1, epic, api).await;
        let status = write_title(&app, who, epic, api, &format!("alone {n}"), version).await;
        assert!(
            status == StatusCode::SEE_OTHER || status == StatusCode::OK,
            "a fresh version was refused: {status}"
        );
    }
    let alone = read_version(&app, who.0, who.1, epic, false).await;
    assert_eq!(alone, initial + 10);

    // Fifty at once: half through the edit form, half through the API, each with the
    // version it last read.
    let clients = (0..CLIENTS).map(|c| {
        let app = &app;
        async move {
            let api = c % 2 == 1;
            let mut attempts = Vec::with_capacity(TRIES);
            for n in 0..TRIES {
                let version = read_version(app, who.0, who.1, epic, api).await;
                let title = format!("client {c} try {n}");
                let status = write_title(app, who, epic, api, &title, version).await;
                let (accepted, refused) = if api {
                    (StatusCode::OK, StatusCode::PRECONDITION_FAILED)
                } else {
                    (StatusCode::SEE_OTHER, StatusCode::CONFLICT)
                };
                assert!(
                    status == accepted || status == refused,
                    "{title} answered {status}"
                );
                attempts.push(Attempt {
                    title,
                    version,
                    status,
                });
            }
            attempts
        }
    });
    let attempts: Vec<Attempt> = futures_util::future::join_all(clients)
        .await
        .into_iter()
        .flatten()
        .collect();
    let accepted_status = |s: StatusCode| s == StatusCode::OK || s == StatusCode::SEE_OTHER;
    let accepted: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| accepted_status(a.status))
        .collect();
    let refused = attempts.len() - accepted.len();

    let (version, title): (i32, String) =
        sqlx::query_as("SELECT version, title FROM epics WHERE id = $1")
            .bind(epic)
            .fetch_one(&app.db)
            .await
            .unwrap();
    // Every accepted change moved the version by one, and each version was won once.
    assert_eq!(accepted.len() as i32, version - alone);
    let mut won: Vec<i32> = accepted.iter().map(|a| a.version).collect();
    won.sort_unstable();
    assert_eq!(won, (alone..version).collect::<Vec<_>>());
    // The row holds the last accepted change.
    let last = accepted.iter().max_by_key(|a| a.version).unwrap();
    assert_eq!(title, last.title);
    // Every refusal was a real conflict: another change won the version it read.
    for a in attempts.iter().filter(|a| !accepted_status(a.status)) {
        assert!(
            won.binary_search(&a.version).is_ok(),
            "{} was refused at version {} that nobody won",
            a.title,
            a.version
        );
    }
    // And the history has one entry per accepted change.
    let updates: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity_id = $1 AND action = 'epic_updated'",
    )
    .bind(epic)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(updates, (accepted.len() + 10) as i64);
    println!(
        "{} attempts: {} accepted, {} refused as conflicts (versions {alone} to {version})",
        attempts.len(),
        accepted.len(),
        refused
    );
}

/// The server's statements of one request as the pool saw them: the backend of each.
async fn backends_of_one_request(db: yardstick::db::Db) -> String {
    let pid = |db: &yardstick::db::Db| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()")
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let first = pid(&db).await;
    let second = pid(&db).await;
    // A transaction in the middle of the request, then a statement after it.
    let mut tx = db.begin().await.unwrap();
    let in_transaction: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let after = pid(&db).await;
    // Two statements apart, awaited together, then one more on the request's connection.
    let apart = db.apart().await;
    let slow = "SELECT pg_backend_pid() FROM pg_sleep(0.1)";
    let (one, other) = tokio::try_join!(
        sqlx::query_scalar::<_, i32>(slow).fetch_one(&apart),
        sqlx::query_scalar::<_, i32>(slow).fetch_one(&apart),
    )
    .unwrap();
    let last = pid(&db).await;
    format!("{first} {second} {in_transaction} {after} {one} {other} {last}")
}

#[tokio::test]
async fn a_request_runs_its_statements_on_one_connection_and_never_waits_for_a_second() {
    // Unless it runs them apart, side by side on as many connections as the pool gives.
    let app = TestApp::new().await;
    let options = app.db.connect_options().as_ref().clone();
    let serve = |connections: u32| {
        let options = options.clone();
        async move {
            let pool = yardstick::db::pool_options()
                .max_connections(connections)
                .min_connections(connections)
                .acquire_timeout(Duration::from_secs(2))
                .connect_with(options)
                .await
                .unwrap();
            let db = yardstick::db::Db::new(pool);
            axum::Router::new()
                .route(
                    "/",
                    axum::routing::get(move || backends_of_one_request(db.clone())),
                )
                .layer(axum::middleware::from_fn(
                    yardstick::db::request::one_connection,
                ))
        }
    };
    let ask = |router: axum::Router| async move {
        let response = tower::ServiceExt::oneshot(
            router,
            axum::http::Request::get("/")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    };

    // Two connections open and idle: a pool hands them out in turn, the request keeps one.
    let pids = ask(serve(2).await).await;
    let pids: Vec<&str> = pids.split(' ').collect();
    assert_eq!(
        pids[0], pids[1],
        "two statements, two connections: {pids:?}"
    );
    assert_ne!(pids[4], pids[5], "apart, yet on one connection: {pids:?}");

    // One connection in all: the transaction gets the request's own, instead of waiting
    // for a second until the pool gives up.
    let started = Instant::now();
    let pids = ask(serve(1).await).await;
    assert_eq!(
        pids.split(' ')
            .collect::<std::collections::HashSet<_>>()
            .len(),
        1,
        "{pids}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// A request dropped while its transaction begins (the client went away) leaves no
/// transaction open on a pooled connection: otherwise the next requests' statements would
/// run inside it, hold its locks, and be lost when the connection closes (sqlx 0.8 leaves
/// it open when `begin` is cancelled between `BEGIN` and its answer).
#[tokio::test]
async fn a_transaction_cancelled_as_it_begins_leaves_no_connection_inside_it() {
    let (name, _) = crate::common::fresh_database().await;
    let pool = yardstick::db::pool_options()
        .max_connections(1)
        .connect(&crate::common::database_url(&name))
        .await
        .unwrap();
    let db = yardstick::db::Db::new(pool.clone());
    // Cancelled at every point a first poll can reach, many times over.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for polls in 0..200 {
        let mut begin = std::pin::pin!(db.begin());
        for _ in 0..=polls % 4 {
            let _ = std::future::Future::poll(begin.as_mut(), &mut cx);
            tokio::task::yield_now().await;
        }
    }
    // Whatever was begun has ended by now: the connection waits outside any transaction.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (observer_name, observer) = crate::common::fresh_database().await;
    let waiting: Vec<String> = sqlx::query_scalar(
        "SELECT state FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
    )
    .bind(&name)
    .fetch_all(&observer)
    .await
    .unwrap();
    assert_eq!(waiting, ["idle"], "the pool's one connection");
    // And a write on it is there for everyone at once.
    sqlx::query("CREATE TABLE written (one int)")
        .execute(&db)
        .await
        .unwrap();
    let seen: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'",
    )
    .bind(&name)
    .fetch_one(&observer)
    .await
    .unwrap();
    assert_eq!(seen, 0);
    pool.close().await;
    observer.close().await;
    crate::common::drop_database(&name).await;
    crate::common::drop_database(&observer_name).await;
}
