//! One-time links: an invitation lets a new account holder set a password; a reset link,
//! made by an admin, lets someone set a new one. Valid 7 days, once.

use askama::Template;
use askama_web::WebTemplate;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::password::{self, NewPassword};
use crate::auth::{session, token};
use crate::http::page::{self, Form, FormErrors, INVALID, Id, Layout, Section};
use crate::http::{AppState, ErrorPage, Result};

/// How long a link works.
pub const LINK_LIFETIME: Duration = Duration::days(7);

/// Makes a link of `purpose` for `person`, replacing their older unused ones. Returns the
/// token (to show once) and when it expires.
pub async fn create(
    tx: &mut sqlx::PgConnection,
    person: Uuid,
    purpose: &str,
    created_by: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<(String, DateTime<Utc>)> {
    sqlx::query(
        "DELETE FROM account_tokens WHERE person_id = $1 AND purpose = $2 AND used_at IS NULL",
    )
    .bind(person)
    .bind(purpose)
    .execute(&mut *tx)
    .await?;
    let (token, hash) = token::new_token();
    let expires = now + LINK_LIFETIME;
    sqlx::query(
        "INSERT INTO account_tokens (token_hash, person_id, purpose, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash)
    .bind(person)
    .bind(purpose)
    .bind(created_by)
    .bind(now)
    .bind(expires)
    .execute(&mut *tx)
    .await?;
    Ok((token, expires))
}

#[derive(sqlx::FromRow)]
struct Link {
    person_id: Uuid,
    name: String,
    purpose: String,
}

async fn live_link(state: &AppState, token: &str) -> sqlx::Result<Option<Link>> {
    sqlx::query_as(
        "SELECT t.person_id, p.name, t.purpose FROM account_tokens t JOIN people p ON p.id = t.person_id
          WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND p.active",
    )
    .bind(token::hash(token))
    .bind(state.clock.now())
    .fetch_optional(&state.db)
    .await
}

fn expired() -> Response {
    ErrorPage::respond(
        StatusCode::NOT_FOUND,
        "This link does not work any more",
        "Invitation and password links work once, for 7 days. Ask an administrator of Yardstick for a new one.",
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/invitation.html")]
pub struct InvitationPage {
    layout: Layout,
    name: String,
    token: String,
    errors: FormErrors,
}

impl InvitationPage {
    fn new(link: &Link, token: String, errors: FormErrors) -> InvitationPage {
        let title = if link.purpose == "invitation" {
            "Welcome to Yardstick"
        } else {
            "Choose a new password"
        };
        InvitationPage {
            layout: Layout::public(title, Section::None),
            name: link.name.clone(),
            token,
            errors,
        }
    }
}

/// `GET /invitations/{token}`
pub async fn get_invitation(
    State(state): State<AppState>,
    Id(token): Id<String>,
) -> Result<Response> {
    Ok(match live_link(&state, &token).await? {
        Some(link) => InvitationPage::new(&link, token, FormErrors::default()).into_response(),
        None => expired(),
    })
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct SetPasswordForm {
    password: String,
    confirmation: String,
}

/// `POST /invitations/{token}`: sets the password, uses up the link, signs the person in
/// (and out everywhere else).
pub async fn post_invitation(
    State(state): State<AppState>,
    Id(token): Id<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SetPasswordForm>,
) -> Result<Response> {
    let Some(link) = live_link(&state, &token).await? else {
        return Ok(expired());
    };
    let new = match NewPassword::parse(&form.password, &form.confirmation) {
        Ok(new) => new,
        Err((field, message)) => {
            let mut errors = FormErrors::default();
            errors.add(field, message);
            return Ok((INVALID, InvitationPage::new(&link, token, errors)).into_response());
        }
    };
    let hash = password::hash(new.as_str()).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // Used once: a second submission (or a race) finds it used.
    let used = sqlx::query("UPDATE account_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2")
        .bind(token::hash(&token))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    if used.rows_affected() == 0 {
        return Ok(expired());
    }
    sqlx::query("UPDATE people SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(link.person_id)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    session::end_others(&mut *tx, link.person_id, None).await?;
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let session_token = session::create(&mut *tx, link.person_id, now, agent, &client).await?;
    Entry::new("password_set")
        .actor(Some(link.person_id))
        .entity("person", link.person_id)
        .after(serde_json::json!({ "via": link.purpose }))
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    let mut response = page::see_other("/", "Your password is set. Welcome to Yardstick.");
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(&session_token, state.secure_cookies),
    );
    Ok(response)
}
