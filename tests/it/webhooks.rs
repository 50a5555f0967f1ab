//! Outgoing webhooks against a real HTTP receiver on loopback: an administrator adds an
//! endpoint, each event arrives once with a signature the receiver can check, a failing
//! endpoint is retried with backoff until it answers, and two servers draining the queue
//! at once send every delivery exactly once.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;
use yardstick::webhooks::delivery::deliver_due;

use crate::api::{call, q2, token};
use crate::common::{ADMIN_EMAIL, TestApp};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    event: String,
    delivery: String,
    signature: String,
    body: String,
}

/// A webhook receiver on loopback: it records every request, and answers 500 to the
/// first `failing` ones.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    failing: Arc<AtomicUsize>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    receiver.got.lock().unwrap().push(Received {
        event: header("x-yardstick-event"),
        delivery: header("x-yardstick-delivery"),
        signature: header("x-yardstick-signature"),
        body,
    });
    let failing = receiver.failing.load(Ordering::SeqCst);
    if failing > 0 {
        receiver.failing.store(failing - 1, Ordering::SeqCst);
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

impl Receiver {
    /// Starts it; its URL.
    async fn start(&self) -> String {
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        format!("http://{address}/hook")
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// Whether `signature` (`t=…,v1=…`) is the HMAC-SHA256 of `t.body` with `secret`.
fn signed_by(secret: &str, received: &Received) -> bool {
    let mut parts = received.signature.split(',');
    let t = parts
        .next()
        .and_then(|p| p.strip_prefix("t="))
        .unwrap_or("");
    let v1 = parts
        .next()
        .and_then(|p| p.strip_prefix("v1="))
        .unwrap_or("");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", received.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    !t.is_empty() && v1 == expected
}

/// An endpoint wanting `events`, stored directly; its id and secret.
async fn endpoint(app: &TestApp, url: &str, events: &[&str]) -> (Uuid, String) {
    let id = Uuid::new_v4();
    let secret = format!("whsec_{}", Uuid::new_v4().simple());
    sqlx::query("INSERT INTO webhook_endpoints (id, url, secret, events) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(url)
        .bind(&secret)
        .bind(events)
        .execute(&app.db)
        .await
        .unwrap();
    (id, secret)
}

/// Queues `n` check-in events, as check-ins would.
async fn queue(app: &TestApp, n: usize) {
    let mut tx = app.db.begin().await.unwrap();
    for i in 0..n {
        yardstick::webhooks::emit(
            &mut tx,
            yardstick::webhooks::Event::KeyResultCheckedIn,
            &format!("test-{i}"),
            app.clock.now(),
            json!({ "n": i }),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_an_endpoint_and_each_event_arrives_once_signed() {
    let app = TestApp::new().await;
    let receiver = Receiver::default();
    let url = receiver.start().await;

    let refused = app
        .post(
            "/admin/webhooks",
            &[("url", "ftp://example.org/x"), ("description", "Warehouse")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = refused.text();
    assert!(
        text.contains("starting with https://") && text.contains("Choose at least one event"),
        "{text}"
    );
    assert!(
        refused.body.contains("value=\"ftp://example.org/x\""),
        "the typing is kept"
    );
    // Each message in the summary leads to its field.
    assert!(
        refused.body.contains("href=\"#events\"") && refused.body.contains("id=\"events\""),
        "{text}"
    );
    let mut fields = vec![("url", url.as_str()), ("description", "Warehouse loader")];
    for event in [
        "loop_closed",
        "loop_overdue",
        "key_result_checked_in",
        "epic_status_changed",
    ] {
        fields.push(("event", event));
    }
    let added = app.post("/admin/webhooks", &fields).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let page = app.get(added.location()).await.text();
    let secret: String = sqlx::query_scalar("SELECT secret FROM webhook_endpoints")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(
        secret.starts_with("whsec_") && page.contains(&secret),
        "{page}"
    );

    // An epic that gets ready, an outcome whose loop closes, another left overdue, and a
    // key result checked in.
    let team = app.create_unit("Onboarding", "team", None).await;
    let period = q2(&app).await;
    let (epic, closing, overdue, key_result) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    sqlx::query(
        "WITH e AS (INSERT INTO epics (id, team_id, work_type, title, owner_id) VALUES ($1, $5, 'feature', 'Guided first lesson', $7) RETURNING id),
              o AS (INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
                    SELECT v.id, e.id, 'behaviour', 'Finish', 'Completion', 'percent', 'increase', 60, 80, v.by
                      FROM e, (VALUES ($2::uuid, '2026-09-30'::date), ($3::uuid, '2026-05-28'::date)) v (id, by)),
              ob AS (INSERT INTO objectives (id, org_unit_id, period_id, title) VALUES (gen_random_uuid(), $5, $6, 'Grow') RETURNING id)
         INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target, owner_id)
         SELECT $4, ob.id, 'Learners', 'Learners', 'count', 'increase', 0, 10, $7 FROM ob",
    )
    .bind(epic)
    .bind(closing)
    .bind(overdue)
    .bind(key_result)
    .bind(team)
    .bind(period)
    .bind(app.admin)
    .execute(&app.db)
    .await
    .unwrap();
    let text = token(&app, &app.cookie, "Script", "write").await;
    let ready = call(
        &app,
        Method::POST,
        &format!("/api/v1/epics/{epic}/status"),
        &text,
        Some(json!({ "status": "ready" })),
        Some("\"1\""),
    )
    .await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    let checked = call(
        &app,
        Method::POST,
        &format!("/api/v1/key-results/{key_result}/check-ins"),
        &text,
        Some(json!({ "value": "4", "confidence": 7, "checked_on": "2026-06-01" })),
        None,
    )
    .await;
    assert_eq!(checked.status, StatusCode::CREATED, "{}", checked.body);
    let measured = call(
        &app,
        Method::POST,
        &format!("/api/v1/outcomes/{closing}/measurements"),
        &text,
        Some(json!({ "value": "82", "measured_on": "2026-05-31" })),
        None,
    )
    .await;
    let etag = measured.headers["etag"].to_str().unwrap().to_string();
    let closed = call(&app, Method::POST, &format!("/api/v1/outcomes/{closing}/close"), &text,
        Some(json!({ "verdict": "achieved", "learnings": "The checklist worked.", "next_step": "scale" })), Some(&etag)).await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    yardstick::loops::reminders::remind(&app.db, today)
        .await
        .unwrap();
    yardstick::loops::reminders::remind(&app.db, today)
        .await
        .unwrap();

    assert_eq!(deliver_due(&app.db, app.clock.now(), 50).await.unwrap(), 4);
    let got = receiver.got();
    let events: BTreeSet<&str> = got.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        events,
        BTreeSet::from([
            "epic_status_changed",
            "key_result_checked_in",
            "loop_closed",
            "loop_overdue"
        ])
    );
    assert!(got.iter().all(|r| signed_by(&secret, r)), "{got:?}");
    let ids: BTreeSet<&str> = got.iter().map(|r| r.delivery.as_str()).collect();
    assert_eq!(ids.len(), 4);
    let body = |event: &str| -> Value {
        serde_json::from_str(&got.iter().find(|r| r.event == event).unwrap().body).unwrap()
    };
    assert_eq!(body("loop_closed")["data"]["verdict"], "achieved");
    assert_eq!(
        body("loop_closed")["data"]["outcome_id"],
        closing.to_string()
    );
    assert_eq!(
        body("loop_overdue")["data"]["outcome_id"],
        overdue.to_string()
    );
    assert_eq!(
        (
            body("epic_status_changed")["data"]["from"].as_str(),
            body("epic_status_changed")["data"]["to"].as_str()
        ),
        (Some("draft"), Some("ready"))
    );
    assert_eq!(body("key_result_checked_in")["data"]["value"], "4");
    // Nothing more is due, and the log shows each delivery.
    assert_eq!(deliver_due(&app.db, app.clock.now(), 50).await.unwrap(), 0);
    let log = app.get(added.location()).await.text();
    assert_eq!(log.matches("Delivered (204)").count(), 4, "{log}");
    let audit: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'webhook_created'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audit, 1);
    assert!(!ADMIN_EMAIL.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_is_retried_with_backoff_until_it_answers_or_given_up() {
    let app = TestApp::new().await;
    let receiver = Receiver::default();
    receiver.failing.store(1, Ordering::SeqCst);
    let url = receiver.start().await;
    let (id, secret) = endpoint(&app, &url, &["key_result_checked_in"]).await;
    queue(&app, 1).await;
    let now = app.clock.now();
    // Turned off, an endpoint keeps its queue and is sent nothing.
    let off = |active: bool| {
        sqlx::query("UPDATE webhook_endpoints SET active = $1")
            .bind(active)
            .execute(&app.db)
    };
    off(false).await.unwrap();
    assert_eq!(deliver_due(&app.db, now, 10).await.unwrap(), 0);
    off(true).await.unwrap();

    assert_eq!(deliver_due(&app.db, now, 10).await.unwrap(), 1);
    let (state, attempts, status, next): (String, i32, Option<i32>, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as(
            "SELECT state, attempts, last_status, next_attempt_at FROM webhook_deliveries",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        (state.as_str(), attempts, status),
        ("pending", 1, Some(500))
    );
    assert_eq!(next, now + Duration::seconds(30));
    assert_eq!(
        deliver_due(&app.db, now + Duration::seconds(29), 10)
            .await
            .unwrap(),
        0,
        "not yet"
    );
    assert_eq!(
        deliver_due(&app.db, now + Duration::seconds(30), 10)
            .await
            .unwrap(),
        1
    );
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].delivery, got[1].delivery,
        "a retry is the same delivery"
    );
    assert!(got.iter().all(|r| signed_by(&secret, r)));
    let log = app.get(&format!("/admin/webhooks/{id}")).await.text();
    assert!(log.contains("Delivered (204)"), "{log}");

    // An endpoint that never answers is given up after the last attempt, and says why.
    let (gone, _) = endpoint(
        &app,
        "http://127.0.0.1:9/nobody",
        &["key_result_checked_in"],
    )
    .await;
    queue(&app, 1).await;
    let mut at = now;
    for _ in 0..yardstick::webhooks::delivery::MAX_ATTEMPTS {
        at += Duration::hours(7);
        deliver_due(&app.db, at, 10).await.unwrap();
    }
    let (state, attempts, error): (String, i32, String) = sqlx::query_as(
        "SELECT state, attempts, last_error FROM webhook_deliveries WHERE endpoint_id = $1",
    )
    .bind(gone)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (state.as_str(), attempts),
        ("failed", yardstick::webhooks::delivery::MAX_ATTEMPTS)
    );
    assert!(error.contains("cannot connect"), "{error}");
    let log = app.get(&format!("/admin/webhooks/{gone}")).await.text();
    assert!(log.contains("Gave up after 8 attempts"), "{log}");
    let list = app.get("/admin/webhooks").await.text();
    assert!(list.contains("http://127.0.0.1:9/nobody"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_draining_the_queue_at_once_send_each_delivery_once() {
    let app = TestApp::new().await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    endpoint(&app, &url, &["key_result_checked_in"]).await;
    queue(&app, 30).await;
    let now = app.clock.now();
    // One server: take 3 at a time until none is due; how many it sent.
    let drain = || async {
        let mut sent = 0;
        loop {
            match deliver_due(&app.db, now, 3).await.unwrap() {
                0 => return sent,
                n => sent += n,
            }
        }
    };
    let (one, two) = tokio::join!(drain(), drain());
    assert_eq!(one + two, 30);
    let got = receiver.got();
    let unique: BTreeSet<&str> = got.iter().map(|r| r.delivery.as_str()).collect();
    assert_eq!((got.len(), unique.len()), (30, 30));
    let delivered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(delivered, 30);
}
