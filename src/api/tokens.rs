//! Personal API tokens: a person creates them at `/account` (a name, read-only or
//! read-write, an optional expiry), sees each once, and may revoke it. Only the SHA-256 is
//! stored; the last use is recorded (at most once a minute, so reads stay reads).

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::auth::token;
use crate::http::page::{self, Flash, Form, FormErrors, INVALID, Id};
use crate::http::{AppError, AppState, Result};

/// What a token text starts with, so a leaked one is recognisable (secret scanners).
pub const PREFIX: &str = "ys_";

/// How often the last use is written.
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// A token as the account page lists it.
#[derive(Debug, sqlx::FromRow)]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn when(at: &DateTime<Utc>) -> String {
    at.format("%-d %b %Y %H:%M UTC").to_string()
}

impl TokenRow {
    pub fn access(&self) -> &'static str {
        if self.read_only {
            "Read only"
        } else {
            "Read and write"
        }
    }
    pub fn created(&self) -> String {
        when(&self.created_at)
    }
    pub fn last_used(&self) -> String {
        self.last_used_at.as_ref().map_or("Never".to_string(), when)
    }
    pub fn expires(&self) -> String {
        self.expires_at.as_ref().map_or("Never".to_string(), when)
    }
    /// Whether it still opens the API at `now`.
    pub fn active(&self, now: &DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > *now)
    }
    pub fn state(&self, now: &DateTime<Utc>) -> &'static str {
        match (self.revoked_at, self.active(now)) {
            (Some(_), _) => "Revoked",
            (None, false) => "Expired",
            (None, true) => "Active",
        }
    }
}

/// A person's tokens, newest first.
pub async fn list(db: &crate::db::Db, person: Uuid) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as(
        "SELECT id, name, read_only, created_at, expires_at, last_used_at, revoked_at
           FROM api_tokens WHERE person_id = $1 ORDER BY created_at DESC, id LIMIT 100",
    )
    .bind(person)
    .fetch_all(db)
    .await
}

/// Who a bearer token speaks for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub me: Me,
    pub token_id: Uuid,
    pub read_only: bool,
}

#[derive(sqlx::FromRow)]
struct Found {
    token_id: Uuid,
    read_only: bool,
    last_used_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    me: Me,
}

/// The person an active token (not revoked, not expired, its person active) speaks for;
/// records the use.
pub async fn authenticate(
    db: &crate::db::Db,
    text: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<Caller>> {
    if !text.starts_with(PREFIX) || text.len() > 100 {
        return Ok(None);
    }
    static FIND: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT t.id AS token_id, t.read_only, t.last_used_at, {}
               FROM api_tokens t JOIN people p ON p.id = t.person_id
              WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)
                AND p.active AND p.account_role IS NOT NULL",
            crate::auth::policy::ME_COLUMNS
        )
    });
    let found: Option<Found> = sqlx::query_as(&FIND)
        .bind(token::hash(text))
        .bind(now)
        .fetch_optional(db)
        .await?;
    let Some(found) = found else { return Ok(None) };
    if found.last_used_at.is_none_or(|at| at < now - TOUCH_EVERY) {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(found.token_id)
            .bind(now)
            .execute(db)
            .await?;
    }
    Ok(Some(Caller {
        me: found.me,
        token_id: found.token_id,
        read_only: found.read_only,
    }))
}

/// The new-token form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    pub name: String,
    /// "read" or "write".
    pub access: String,
    /// The last day it works (optional).
    pub expires_on: String,
}

struct ValidToken {
    name: String,
    read_only: bool,
    expires_at: Option<DateTime<Utc>>,
}

impl TokenForm {
    fn parse(&self, today: NaiveDate) -> std::result::Result<ValidToken, FormErrors> {
        let mut errors = FormErrors::default();
        let name = self.name.trim();
        if name.is_empty() {
            errors.add(
                "name",
                "Name the token after what will use it, for example “Weekly metrics job”",
            );
        } else if name.chars().count() > 80 {
            errors.add("name", "The name must be 80 characters or fewer");
        }
        let read_only = match self.access.as_str() {
            "read" => Some(true),
            "write" => Some(false),
            _ => {
                errors.add(
                    "access",
                    "Choose what the token may do: read, or read and write",
                );
                None
            }
        };
        let expires_at = match self.expires_on.trim() {
            "" => Some(None),
            text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(day) if day < today => {
                    errors.add("expires_on", "The last day must be today or later");
                    None
                }
                Ok(day) if day > today + Duration::days(3660) => {
                    errors.add("expires_on", "Choose a last day within ten years");
                    None
                }
                // It works through its last day (UTC).
                Ok(day) => day
                    .succ_opt()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| Some(d.and_utc())),
                Err(_) => {
                    errors.add(
                        "expires_on",
                        "Enter the last day as a date, for example 2027-06-30",
                    );
                    None
                }
            },
        };
        match (read_only, expires_at) {
            (Some(read_only), Some(expires_at)) if errors.is_empty() => Ok(ValidToken {
                name: name.to_string(),
                read_only,
                expires_at,
            }),
            _ => Err(errors),
        }
    }
}

/// `POST /account/tokens`: creates a token and shows it once, on the account page.
pub async fn post_token(
    State(state): State<AppState>,
    me: Me,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    Form(form): Form<TokenForm>,
) -> Result<Response> {
    let now = state.clock.now();
    let today = me.today(&state.clock);
    let valid = match form.parse(today) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = crate::auth::account::account_page(
                &state,
                &me,
                &headers,
                crate::auth::account::Extra::token_form(form, errors),
                Flash::default(),
            )
            .await?;
            return Ok((INVALID, page).into_response());
        }
    };
    let (secret, _) = token::new_token();
    let text = format!("{PREFIX}{secret}");
    let id = Uuid::new_v4();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO api_tokens (id, person_id, name, token_hash, read_only, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(me.id)
    .bind(&valid.name)
    .bind(token::hash(&text))
    .bind(valid.read_only)
    .bind(now)
    .bind(valid.expires_at)
    .execute(&mut *tx)
    .await?;
    Entry::new("api_token_created")
        .actor(Some(me.id))
        .entity("api_token", id)
        .after(json!({ "name": valid.name, "read_only": valid.read_only, "expires_at": valid.expires_at }))
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    let page = crate::auth::account::account_page(
        &state,
        &me,
        &headers,
        crate::auth::account::Extra::new_token(valid.name, text),
        Flash::default(),
    )
    .await?;
    // The secret is on this page only: no cache may keep it.
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}

/// `POST /account/tokens/{id}/revoke`: one of the person's own tokens stops working now.
pub async fn post_revoke(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Id(id): Id<Uuid>,
) -> Result<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND person_id = $2 AND revoked_at IS NULL
         RETURNING name",
    )
    .bind(id)
    .bind(me.id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(name) = name else {
        return Err(AppError::NotFound);
    };
    Entry::new("api_token_revoked")
        .actor(Some(me.id))
        .entity("api_token", id)
        .after(json!({ "name": name }))
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        "/account#tokens-title",
        &format!("Token “{name}” revoked: it no longer opens the API."),
    ))
}
