//! `/account`: the signed-in person's password, sessions and API tokens.

use askama::Template;
use askama_web::WebTemplate;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::api::tokens::{TokenForm, TokenRow};
use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::password::{self, NewPassword};
use crate::auth::policy::Me;
use crate::auth::{session, token};
use crate::http::page::{self, Flash, Form, FormErrors, INVALID, Layout, Section};
use crate::http::{AppState, Result};

/// One session as the list shows it.
pub struct SessionRow {
    pub device: String,
    pub address: String,
    pub last_seen: String,
    pub started: String,
    pub this_one: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/account.html")]
pub struct AccountPage {
    layout: Layout,
    role: String,
    sessions: Vec<SessionRow>,
    tokens: Vec<TokenRow>,
    now: DateTime<Utc>,
    extra: Extra,
}

/// What a refused form or a new token adds to the account page.
#[derive(Default)]
pub struct Extra {
    /// The password form's problems.
    pub errors: FormErrors,
    /// The new-token form as typed, and its problems.
    pub token_form: TokenForm,
    pub token_errors: FormErrors,
    /// A token just created: its name and text, shown this once.
    pub new_token: Option<(String, String)>,
}

impl Extra {
    pub fn password(errors: FormErrors) -> Extra {
        Extra {
            errors,
            ..Extra::default()
        }
    }
    pub fn token_form(form: TokenForm, errors: FormErrors) -> Extra {
        Extra {
            token_form: form,
            token_errors: errors,
            ..Extra::default()
        }
    }
    pub fn new_token(name: String, text: String) -> Extra {
        Extra {
            new_token: Some((name, text)),
            ..Extra::default()
        }
    }
}

impl AccountPage {
    fn access_options(&self) -> Vec<(String, String)> {
        vec![
            ("read".to_string(), "Read only".to_string()),
            ("write".to_string(), "Read and write".to_string()),
        ]
    }
}

/// A readable name for a browser from its user agent.
fn device(user_agent: &str) -> String {
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/"]
        .iter()
        .find(|b| user_agent.contains(*b))
        .map(|b| match *b {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            _ => "Safari",
        });
    let system = ["Windows", "Mac OS X", "Android", "iPhone", "Linux"]
        .iter()
        .find(|s| user_agent.contains(*s))
        .map(|s| match *s {
            "Mac OS X" => "macOS",
            "iPhone" => "iOS",
            other => other,
        });
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        _ if user_agent.is_empty() => "Unknown device".into(),
        _ => user_agent.chars().take(60).collect(),
    }
}

pub async fn account_page(
    state: &AppState,
    me: &Me,
    headers: &HeaderMap,
    extra: Extra,
    flash: Flash,
) -> Result<AccountPage> {
    let current = session::token_from(headers, state.secure_cookies).map(|t| token::hash(&t));
    let sessions = session::list(&state.db, me.id, state.clock.now())
        .await?
        .into_iter()
        .map(|s| SessionRow {
            device: device(&s.user_agent),
            address: s.client_addr,
            last_seen: s.last_seen_at.format("%-d %b %Y %H:%M UTC").to_string(),
            started: s.created_at.format("%-d %b %Y").to_string(),
            this_one: current.as_ref() == Some(&s.token_hash),
        })
        .collect();
    let tokens = crate::api::tokens::list(&state.db, me.id).await?;
    let layout = Layout::new("Your account", Section::None, me).with_flash(flash);
    Ok(AccountPage {
        layout,
        role: me.role().label().to_string(),
        sessions,
        tokens,
        now: state.clock.now(),
        extra,
    })
}

/// `GET /account`
pub async fn get_account(
    State(state): State<AppState>,
    me: Me,
    headers: HeaderMap,
    flash: Flash,
) -> Result<AccountPage> {
    account_page(&state, &me, &headers, Extra::default(), flash).await
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    current: String,
    password: String,
    confirmation: String,
}

/// `POST /account/password`: needs the current password; ends the person's other sessions.
pub async fn post_password(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let stored: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM people WHERE id = $1")
            .bind(me.id)
            .fetch_one(&state.db)
            .await?;
    if !password::verify(&form.current, stored.as_deref()).await {
        errors.add("current", "Your current password is not right");
    }
    let new = match NewPassword::parse(&form.password, &form.confirmation) {
        Ok(new) => Some(new),
        Err((field, message)) => {
            errors.add(field, message);
            None
        }
    };
    let (Some(new), true) = (new, errors.is_empty()) else {
        return Ok((
            INVALID,
            account_page(
                &state,
                &me,
                &headers,
                Extra::password(errors),
                Flash::default(),
            )
            .await?,
        )
            .into_response());
    };
    let hash = password::hash(new.as_str()).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query("UPDATE people SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(me.id)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    let current = session::token_from(&headers, state.secure_cookies);
    session::end_others(&mut *tx, me.id, current.as_deref()).await?;
    Entry::new("password_changed")
        .actor(Some(me.id))
        .entity("person", me.id)
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        "/account",
        "Password changed. You were signed out everywhere else.",
    ))
}

/// `POST /account/sessions/end-others`
pub async fn post_end_other_sessions(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
) -> Result<Response> {
    let current = session::token_from(&headers, state.secure_cookies);
    let ended = session::end_others(&state.db, me.id, current.as_deref()).await?;
    Entry::new("sessions_ended")
        .actor(Some(me.id))
        .after(serde_json::json!({ "ended": ended }))
        .client(&client)
        .write(&state.db, state.clock.now())
        .await?;
    let message = match ended {
        0 => "There were no other sessions".to_string(),
        1 => "Signed out of 1 other session".to_string(),
        n => format!("Signed out of {n} other sessions"),
    };
    Ok(page::see_other("/account", &message))
}

#[cfg(test)]
mod tests {
    use super::device;

    #[test]
    fn devices_are_named_by_browser_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(device(chrome), "Chrome on Linux");
        assert_eq!(device(""), "Unknown device");
        assert_eq!(device("curl/8.0"), "curl/8.0");
    }
}
