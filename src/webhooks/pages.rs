//! `/admin/webhooks`: the endpoints with their delivery counts and a form to add one; an
//! endpoint's page with its secret, its settings (versioned) and its delivery log.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::json;
use uuid::Uuid;

use super::Event;
use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::http::page::{self, CONFLICT, Flash, Form, FormErrors, INVALID, Id, Layout, Section};
use crate::http::{AppError, AppState, Result};

/// The endpoint form as typed; events are checkboxes sharing one name.
#[derive(Debug, Clone, Default)]
pub struct WebhookForm {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub active: bool,
    pub version: String,
}

struct ValidWebhook {
    url: String,
    description: String,
    events: Vec<String>,
}

impl WebhookForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> WebhookForm {
        let mut form = WebhookForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "url" => form.url = value,
                "description" => form.description = value,
                "event" => form.events.push(value),
                "active" => form.active = true,
                "version" => form.version = value,
                _ => {}
            }
        }
        form
    }

    fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }

    fn parse(&self) -> std::result::Result<ValidWebhook, FormErrors> {
        let mut errors = FormErrors::default();
        let url = self.url.trim().to_string();
        match url::Url::parse(&url) {
            Ok(parsed)
                if matches!(parsed.scheme(), "http" | "https")
                    && parsed.host_str().is_some()
                    && url.len() <= 2000 => {}
            _ => errors.add(
                "url",
                "Enter the address to post to, starting with https:// (or http://)",
            ),
        }
        let description = self.description.trim().to_string();
        if description.chars().count() > 200 || description.contains('\0') {
            errors.add(
                "description",
                "The description must be 200 characters or fewer",
            );
        }
        let mut events = Vec::new();
        for event in &self.events {
            match Event::parse(event) {
                Ok(e) if !events.contains(&e.as_str().to_string()) => {
                    events.push(e.as_str().to_string())
                }
                Ok(_) => {}
                Err(_) => errors.add("events", "Choose events from the list"),
            }
        }
        if events.is_empty() && !errors.has("events") {
            errors.add("events", "Choose at least one event to send");
        }
        if errors.is_empty() {
            Ok(ValidWebhook {
                url,
                description,
                events,
            })
        } else {
            Err(errors)
        }
    }
}

/// An endpoint as the list shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub active: bool,
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

impl EndpointRow {
    pub fn event_labels(&self) -> String {
        labels(&self.events)
    }
}

fn labels(events: &[String]) -> String {
    events
        .iter()
        .map(|e| Event::label_of(e))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/webhooks.html")]
pub struct WebhooksPage {
    layout: Layout,
    endpoints: Vec<EndpointRow>,
    form: WebhookForm,
    errors: FormErrors,
    events: Vec<(String, String)>,
}

async fn list_page(
    state: &AppState,
    me: &Me,
    form: WebhookForm,
    errors: FormErrors,
    flash: Flash,
) -> Result<WebhooksPage> {
    let endpoints = sqlx::query_as(
        "SELECT w.id, w.url, w.description, w.events, w.active,
                count(d.id) FILTER (WHERE d.state = 'pending') AS pending,
                count(d.id) FILTER (WHERE d.state = 'delivered') AS delivered,
                count(d.id) FILTER (WHERE d.state = 'failed') AS failed
           FROM webhook_endpoints w LEFT JOIN webhook_deliveries d ON d.endpoint_id = w.id
          GROUP BY w.id ORDER BY w.created_at, w.id",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(WebhooksPage {
        layout: Layout::new("Webhooks", Section::None, me).with_flash(flash),
        endpoints,
        form,
        errors,
        events: Event::options(),
    })
}

/// `GET /admin/webhooks`
pub async fn get_webhooks(
    State(state): State<AppState>,
    me: Me,
    flash: Flash,
) -> Result<WebhooksPage> {
    let form = WebhookForm {
        events: Event::options().into_iter().map(|(v, _)| v).collect(),
        ..WebhookForm::default()
    };
    list_page(&state, &me, form, FormErrors::default(), flash).await
}

/// A new endpoint's secret: 32 random bytes, base64url, after `whsec_`.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// `POST /admin/webhooks`
pub async fn post_webhook(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let form = WebhookForm::from_pairs(pairs);
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => {
            let page = list_page(&state, &me, form, errors, Flash::default()).await?;
            return Ok((INVALID, page).into_response());
        }
    };
    let id = Uuid::new_v4();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, secret, events, description, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(&valid.url)
    .bind(new_secret())
    .bind(&valid.events)
    .bind(&valid.description)
    .bind(me.id)
    .execute(&mut *tx)
    .await?;
    Entry::new("webhook_created")
        .actor(Some(me.id))
        .entity("webhook", id)
        .after(
            json!({ "url": valid.url, "events": valid.events, "description": valid.description }),
        )
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/admin/webhooks/{id}"),
        "Endpoint added. Verify each request's signature with its secret below.",
    ))
}

/// An endpoint as its page shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    pub secret: String,
    pub description: String,
    pub events: Vec<String>,
    pub active: bool,
    pub version: i32,
}

/// One delivery in the log.
#[derive(Debug, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub event: String,
    pub created_at: DateTime<Utc>,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub last_error: String,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl DeliveryRow {
    pub fn when(&self) -> String {
        self.created_at.format("%-d %b %Y %H:%M").to_string()
    }

    pub fn outcome(&self) -> String {
        match (self.state.as_str(), self.last_status) {
            ("delivered", Some(status)) => format!("Delivered ({status})"),
            ("failed", _) => format!("Gave up after {} attempts", self.attempts),
            (_, _) if self.attempts == 0 => "Waiting to be sent".to_string(),
            (_, _) => format!(
                "Retrying at {}",
                self.next_attempt_at.format("%-d %b %H:%M")
            ),
        }
    }

    pub fn answer(&self) -> String {
        match (self.last_status, self.last_error.is_empty()) {
            (_, false) => self.last_error.clone(),
            (Some(status), true) => status.to_string(),
            (None, true) => String::new(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/webhook.html")]
pub struct WebhookPage {
    layout: Layout,
    endpoint: Endpoint,
    form: WebhookForm,
    errors: FormErrors,
    events: Vec<(String, String)>,
    deliveries: Vec<DeliveryRow>,
}

async fn load_endpoint(db: &crate::db::Db, id: Uuid) -> Result<Endpoint> {
    sqlx::query_as(
        "SELECT id, url, secret, description, events, active, version FROM webhook_endpoints WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

async fn endpoint_page(
    state: &AppState,
    me: &Me,
    endpoint: Endpoint,
    form: WebhookForm,
    errors: FormErrors,
    flash: Flash,
) -> Result<WebhookPage> {
    let deliveries = sqlx::query_as(
        "SELECT id, event, created_at, state, attempts, next_attempt_at, last_status, last_error, delivered_at
           FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50",
    )
    .bind(endpoint.id)
    .fetch_all(&state.db)
    .await?;
    Ok(WebhookPage {
        layout: Layout::new("Webhook endpoint", Section::None, me).with_flash(flash),
        endpoint,
        form,
        errors,
        events: Event::options(),
        deliveries,
    })
}

impl From<&Endpoint> for WebhookForm {
    fn from(e: &Endpoint) -> WebhookForm {
        WebhookForm {
            url: e.url.clone(),
            description: e.description.clone(),
            events: e.events.clone(),
            active: e.active,
            version: e.version.to_string(),
        }
    }
}

/// `GET /admin/webhooks/{id}`
pub async fn get_webhook(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    flash: Flash,
) -> Result<WebhookPage> {
    let endpoint = load_endpoint(&state.db, id).await?;
    let form = WebhookForm::from(&endpoint);
    endpoint_page(&state, &me, endpoint, form, FormErrors::default(), flash).await
}

/// `POST /admin/webhooks/{id}`: its address, events and whether it is on.
pub async fn post_webhook_update(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let endpoint = load_endpoint(&state.db, id).await?;
    let form = WebhookForm::from_pairs(pairs);
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => {
            let page = endpoint_page(&state, &me, endpoint, form, errors, Flash::default()).await?;
            return Ok((INVALID, page).into_response());
        }
    };
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE webhook_endpoints SET url = $3, description = $4, events = $5, active = $6,
                version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&valid.url)
    .bind(&valid.description)
    .bind(&valid.events)
    .bind(form.active)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        drop(tx);
        let current = load_endpoint(&state.db, id).await?;
        let mut errors = FormErrors::default();
        errors.add(
            "url",
            "Someone changed this endpoint while you were editing: your version is below, save again to keep it",
        );
        let form = WebhookForm {
            version: current.version.to_string(),
            ..form
        };
        let page = endpoint_page(&state, &me, current, form, errors, Flash::default()).await?;
        return Ok((CONFLICT, page).into_response());
    }
    Entry::new("webhook_updated")
        .actor(Some(me.id))
        .entity("webhook", id)
        .before(
            json!({ "url": endpoint.url, "events": endpoint.events, "active": endpoint.active }),
        )
        .after(json!({ "url": valid.url, "events": valid.events, "active": form.active }))
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/admin/webhooks/{id}"),
        "Endpoint saved",
    ))
}

/// `POST /admin/webhooks/{id}/delete`: the endpoint and its delivery log.
pub async fn post_webhook_delete(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let endpoint = load_endpoint(&state.db, id).await?;
    let mut tx = state.db.begin().await?;
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Entry::new("webhook_deleted")
        .actor(Some(me.id))
        .entity("webhook", id)
        .before(json!({ "url": endpoint.url, "events": endpoint.events }))
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        "/admin/webhooks",
        &format!("Endpoint {} removed, with its delivery log", endpoint.url),
    ))
}

impl WebhookPage {
    fn event_labels(&self) -> String {
        labels(&self.endpoint.events)
    }
}
