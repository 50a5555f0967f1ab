//! Sessions, stored in PostgreSQL so several servers share them. The cookie holds a 256-bit
//! token, replaced at every sign-in; the table holds only its hash. A session ends after 8
//! idle hours or 7 days, whichever comes first, measured by the application's clock.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::auth::policy::Me;
use crate::auth::token;

/// Longest time between two requests of a session.
pub const IDLE_TIMEOUT: Duration = Duration::hours(8);
/// Longest life of a session.
pub const ABSOLUTE_LIFETIME: Duration = Duration::days(7);
/// `last_seen_at` is written at most this often, so reading pages costs no write.
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// The cookie's name: with `__Host-` over https (bound to this host, Secure, path /).
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-yardstick_session"
    } else {
        "yardstick_session"
    }
}

/// The session token the request carries, if any.
pub fn token_from(headers: &HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty() && value.len() <= 64)
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(token: &str, secure: bool) -> HeaderValue {
    let secure_flag = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure_flag}",
        cookie_name(secure),
        ABSOLUTE_LIFETIME.num_seconds()
    ))
    .expect("a token is a valid header value")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure_flag = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure_flag}",
        cookie_name(secure)
    ))
    .expect("a valid header value")
}

/// Starts a session for `person` and returns its token (for the cookie, never for logs).
pub async fn create(
    db: impl PgExecutor<'_>,
    person: Uuid,
    now: DateTime<Utc>,
    user_agent: &str,
    client_addr: &str,
) -> sqlx::Result<String> {
    let (token, hash) = token::new_token();
    let user_agent: String = user_agent.chars().take(300).collect();
    sqlx::query(
        "INSERT INTO sessions (token_hash, person_id, created_at, last_seen_at, user_agent, client_addr)
         VALUES ($1, $2, $3, $3, $4, $5)",
    )
    .bind(hash)
    .bind(person)
    .bind(now)
    .bind(user_agent)
    .bind(client_addr)
    .execute(db)
    .await?;
    Ok(token)
}

#[derive(sqlx::FromRow)]
struct Found {
    #[sqlx(flatten)]
    me: Me,
    last_seen_at: DateTime<Utc>,
}

/// The person a live session belongs to. Expired sessions, inactive people and people
/// without an account find nobody.
pub async fn find(db: &crate::db::Db, token: &str, now: DateTime<Utc>) -> sqlx::Result<Option<Me>> {
    let hash = token::hash(token);
    static FIND: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {}, s.last_seen_at
               FROM sessions s JOIN people p ON p.id = s.person_id
              WHERE s.token_hash = $1 AND s.last_seen_at > $2 AND s.created_at > $3
                AND p.active AND p.account_role IS NOT NULL",
            crate::auth::policy::ME_COLUMNS
        )
    });
    let found: Option<Found> = sqlx::query_as(&FIND)
        .bind(&hash)
        .bind(now - IDLE_TIMEOUT)
        .bind(now - ABSOLUTE_LIFETIME)
        .fetch_optional(db)
        .await?;
    let Some(found) = found else { return Ok(None) };
    if found.last_seen_at < now - TOUCH_EVERY {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(&hash)
            .bind(now)
            .execute(db)
            .await?;
    }
    Ok(Some(found.me))
}

/// Ends the session with this token.
pub async fn end(db: impl PgExecutor<'_>, token: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token::hash(token))
        .execute(db)
        .await?;
    Ok(())
}

/// Ends every session of `person` except the one with `keep` (all of them when `None`).
pub async fn end_others(
    db: impl PgExecutor<'_>,
    person: Uuid,
    keep: Option<&str>,
) -> sqlx::Result<u64> {
    let keep = keep.map(token::hash).unwrap_or_default();
    let done = sqlx::query("DELETE FROM sessions WHERE person_id = $1 AND token_hash <> $2")
        .bind(person)
        .bind(keep)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// One of a person's sessions, as `/account` lists them.
#[derive(Debug, sqlx::FromRow)]
pub struct SessionInfo {
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub user_agent: String,
    pub client_addr: String,
}

/// A person's live sessions, most recent first.
pub async fn list(
    db: impl PgExecutor<'_>,
    person: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<SessionInfo>> {
    sqlx::query_as(
        "SELECT token_hash, created_at, last_seen_at, user_agent, client_addr FROM sessions
          WHERE person_id = $1 AND last_seen_at > $2 AND created_at > $3
          ORDER BY last_seen_at DESC",
    )
    .bind(person)
    .bind(now - IDLE_TIMEOUT)
    .bind(now - ABSOLUTE_LIFETIME)
    .fetch_all(db)
    .await
}
