//! Outgoing webhooks. Administrators register endpoints (URL, the events they want) at
//! `/admin/webhooks`; each gets a secret. When an event happens, a delivery per subscribed
//! endpoint is queued in PostgreSQL in the same transaction as the change, so an event is
//! never lost and never queued twice (one per endpoint and event key). `delivery.rs` drains
//! the queue from any server: signed JSON, retried with backoff, logged for admins.

pub mod delivery;
pub mod pages;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::auth::policy::Access;
use crate::http::AppState;
use crate::http::sitemap::Sitemap;

text_enum! {
    /// What an endpoint can be told about.
    pub enum Event (error = "Choose the events to send") {
        LoopClosed = ("loop_closed", "A loop is closed"),
        LoopOverdue = ("loop_overdue", "A loop becomes overdue"),
        KeyResultCheckedIn = ("key_result_checked_in", "A key result is checked in"),
        EpicStatusChanged = ("epic_status_changed", "An epic changes status"),
    }
}

/// `/admin/webhooks…`: administrators only.
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/admin/webhooks", Access::Admin, pages::get_webhooks)
        .post("/admin/webhooks", Access::Admin, pages::post_webhook)
        .get("/admin/webhooks/{id}", Access::Admin, pages::get_webhook)
        .post(
            "/admin/webhooks/{id}",
            Access::Admin,
            pages::post_webhook_update,
        )
        .post(
            "/admin/webhooks/{id}/delete",
            Access::Admin,
            pages::post_webhook_delete,
        )
}

/// The body every endpoint receives: `{"event", "occurred_at", "data"}`.
pub fn envelope(event: Event, at: DateTime<Utc>, data: Value) -> Value {
    json!({ "event": event.as_str(), "occurred_at": at, "data": data })
}

/// Queues `event` for every active endpoint that wants it, in the caller's transaction.
/// `key` names the event itself: queuing it again for the same endpoint does nothing.
pub async fn emit(
    tx: &mut sqlx::PgConnection,
    event: Event,
    key: &str,
    at: DateTime<Utc>,
    data: Value,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event, event_key, payload, created_at, next_attempt_at)
         SELECT gen_random_uuid(), w.id, $1, $2, $3, $4, $4
           FROM webhook_endpoints w
          WHERE w.active AND $1 = ANY (w.events)
         ON CONFLICT (endpoint_id, event_key) DO NOTHING",
    )
    .bind(event.as_str())
    .bind(format!("{}:{key}", event.as_str()))
    .bind(envelope(event, at, data))
    .bind(at)
    .execute(&mut *tx)
    .await?
    .rows_affected())
}

/// Queues `loop_overdue` once per open loop and measure-by date, for loops that went past
/// their date within the last week (the reminders' round calls it every few minutes, so
/// it neither rescans loops long overdue nor does anything without a subscribed endpoint).
pub async fn emit_overdue(
    tx: &mut sqlx::PgConnection,
    today: chrono::NaiveDate,
) -> sqlx::Result<u64> {
    let wanted: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE active AND 'loop_overdue' = ANY (events))",
    )
    .fetch_one(&mut *tx)
    .await?;
    if !wanted {
        return Ok(0);
    }
    // Raised at the start of the day it was found overdue on.
    let at = today.and_time(chrono::NaiveTime::MIN).and_utc();
    Ok(sqlx::query(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event, event_key, payload, created_at, next_attempt_at)
         SELECT gen_random_uuid(), w.id, 'loop_overdue', 'loop_overdue:' || o.id || ':' || o.measure_by,
                jsonb_build_object('event', 'loop_overdue', 'occurred_at', $2,
                    'data', jsonb_build_object('outcome_id', o.id, 'metric', o.metric, 'statement', o.statement,
                        'measure_by', o.measure_by, 'epic_id', o.epic_id, 'initiative_id', o.initiative_id,
                        'owner_id', coalesce(o.owner_id, e.owner_id, i.owner_id))),
                $2, $2
           FROM outcomes o
           LEFT JOIN epics e ON e.id = o.epic_id
           LEFT JOIN initiatives i ON i.id = o.initiative_id
           JOIN webhook_endpoints w ON w.active AND 'loop_overdue' = ANY (w.events)
          WHERE o.closed_at IS NULL AND coalesce(e.status, i.status) <> 'cancelled'
            AND o.measure_by < $1 AND o.measure_by >= $1 - 7
         ON CONFLICT (endpoint_id, event_key) DO NOTHING",
    )
    .bind(today)
    .bind(at)
    .execute(&mut *tx)
    .await?
    .rows_affected())
}

/// Queues `epic_status_changed` for an epic that moved `from` → `to`.
pub async fn epic_status_changed(
    tx: &mut sqlx::PgConnection,
    epic: uuid::Uuid,
    from: &str,
    to: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let data = json!({ "epic_id": epic, "from": from, "to": to });
    emit(
        tx,
        Event::EpicStatusChanged,
        &format!("{epic}:{to}:{}", at.timestamp_micros()),
        at,
        data,
    )
    .await
}
