//! Signing in and out, and the first-run setup of the first administrator.

use askama::Template;
use askama_web::WebTemplate;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::{ClientAddr, signed_in};
use crate::auth::password::{self, NewPassword};
use crate::auth::policy::AccountRole;
use crate::auth::{session, throttle};
use crate::http::page::{self, Flash, Form, FormErrors, INVALID, Layout, Query, Section, check};
use crate::http::{AppError, AppState, Result};
use crate::org::model::required_text;
use crate::people::model::Email;

/// Where to go after signing in: only a path on this site ("/epics?unit=…"), never another
/// host ("//evil.example", "https://…", "/\evil").
pub fn safe_next(next: &str) -> String {
    let next = next.trim();
    let on_this_site = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if on_this_site {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// Whether any account exists yet (until one does, `/setup` creates the first admin).
pub async fn any_account(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM people WHERE account_role IS NOT NULL)")
        .fetch_one(db)
        .await
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    next: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// `GET /login?next=…`
pub async fn get_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
    flash: Flash,
) -> Result<Response> {
    let next = safe_next(&query.next);
    if signed_in(&state, &headers).await?.is_some() {
        return Ok(axum::response::Redirect::to(&next).into_response());
    }
    if !any_account(&state.db).await? {
        return Ok(axum::response::Redirect::to("/setup").into_response());
    }
    let layout = Layout::public("Sign in", Section::None).with_flash(flash);
    Ok(LoginPage {
        layout,
        email: String::new(),
        next,
        errors: FormErrors::default(),
    }
    .into_response())
}

/// `POST /login`: the same answer, in about the same time, for an unknown email and a wrong
/// password; a new session id on success.
pub async fn post_login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response> {
    let email = form.email.trim().to_lowercase();
    let next = safe_next(&form.next);
    let now = state.clock.now();
    let refuse = |status: StatusCode, message: String| {
        let mut errors = FormErrors::default();
        errors.add("email", message);
        let layout = Layout::public("Sign in", Section::None);
        (
            status,
            LoginPage {
                layout,
                email: form.email.clone(),
                next: next.clone(),
                errors,
            },
        )
            .into_response()
    };
    if let Some(wait) = throttle::retry_after(&state.db, &email, &client, now).await? {
        let mut response = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed sign-ins. Wait {wait} seconds, then try again."),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(response);
    }
    let account: Option<(Uuid, Option<String>)> = sqlx::query_as(
        "SELECT id, password_hash FROM people WHERE lower(email) = $1 AND active AND account_role IS NOT NULL",
    )
    .bind(&email)
    .fetch_optional(&state.db)
    .await?;
    let stored = account.as_ref().and_then(|(_, hash)| hash.as_deref());
    let verified = password::verify(&form.password, stored).await;
    let person = match (verified, account) {
        (true, Some((id, _))) => id,
        (_, account) => {
            throttle::record_failure(&state.db, &email, &client, now).await?;
            Entry::new("sign_in_failed")
                .actor(account.map(|(id, _)| id))
                .after(json!({ "email": email }))
                .client(&client)
                .write(&state.db, now)
                .await?;
            return Ok(refuse(
                StatusCode::UNAUTHORIZED,
                "The email or password is not right".into(),
            ));
        }
    };
    // A new id at every sign-in: a session id planted before sign-in is worthless after.
    if let Some(old) = session::token_from(&headers, state.secure_cookies) {
        session::end(&state.db, &old).await?;
    }
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = session::create(&state.db, person, now, agent, &client).await?;
    Entry::new("sign_in")
        .actor(Some(person))
        .client(&client)
        .write(&state.db, now)
        .await?;
    let mut response = axum::response::Redirect::to(&next).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(&token, state.secure_cookies),
    );
    Ok(response)
}

/// `POST /logout`
pub async fn post_logout(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
) -> Result<Response> {
    if let Some(token) = session::token_from(&headers, state.secure_cookies) {
        if let Some(me) = session::find(&state.db, &token, state.clock.now()).await? {
            Entry::new("sign_out")
                .actor(Some(me.id))
                .client(&client)
                .write(&state.db, state.clock.now())
                .await?;
        }
        session::end(&state.db, &token).await?;
    }
    let mut response = page::see_other("/login", "You have signed out");
    response.headers_mut().append(
        header::SET_COOKIE,
        session::clear_cookie(state.secure_cookies),
    );
    Ok(response)
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct SetupForm {
    name: String,
    email: String,
    password: String,
    confirmation: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/setup.html")]
pub struct SetupPage {
    layout: Layout,
    full_name: String,
    email: String,
    errors: FormErrors,
}

/// `GET /setup`: only while no account exists; 404 for ever after.
pub async fn get_setup(State(state): State<AppState>) -> Result<SetupPage> {
    if any_account(&state.db).await? {
        return Err(AppError::NotFound);
    }
    let layout = Layout::public("Set up Yardstick", Section::None);
    Ok(SetupPage {
        layout,
        full_name: String::new(),
        email: String::new(),
        errors: FormErrors::default(),
    })
}

/// `POST /setup`: creates the first administrator and signs them in.
pub async fn post_setup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let name = check(
        &mut errors,
        "name",
        required_text(&form.name, "your name", 120),
    );
    let email = check(&mut errors, "email", Email::parse(&form.email));
    let password = match NewPassword::parse(&form.password, &form.confirmation) {
        Ok(password) => Some(password),
        Err((field, message)) => {
            errors.add(field, message);
            None
        }
    };
    let (Some(name), Some(email), Some(password)) = (name, email, password) else {
        let layout = Layout::public("Set up Yardstick", Section::None);
        return Ok((
            INVALID,
            SetupPage {
                layout,
                full_name: form.name,
                email: form.email,
                errors,
            },
        )
            .into_response());
    };
    let hash = password::hash(password.as_str()).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // Two people racing through setup: one wins, the other gets the 404.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('yardstick.setup'))")
        .execute(&mut *tx)
        .await?;
    if any_account(&mut *tx).await? {
        return Err(AppError::NotFound);
    }
    let person = create_account(&mut tx, &name, &email, AccountRole::Admin, &hash).await?;
    Entry::new("account_created")
        .actor(Some(person))
        .entity("person", person)
        .after(json!({ "email": email.as_str(), "role": "admin", "via": "setup" }))
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = session::create(&mut *tx, person, now, agent, &client).await?;
    tx.commit().await?;
    let mut response = page::see_other(
        "/",
        "Welcome to Yardstick. Start by adding your organisation’s units.",
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(&token, state.secure_cookies),
    );
    Ok(response)
}

/// Gives the person with `email` (created if needed) an account with `role` and password.
pub async fn create_account(
    tx: &mut sqlx::PgConnection,
    name: &str,
    email: &Email,
    role: AccountRole,
    password_hash: &str,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar(
        "INSERT INTO people (id, name, email, account_role, password_hash) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT ((lower(email))) DO UPDATE
            SET account_role = EXCLUDED.account_role, password_hash = EXCLUDED.password_hash, active = true,
                version = people.version + 1, updated_at = now()
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(name)
    .bind(email.as_str())
    .bind(role.as_str())
    .bind(password_hash)
    .fetch_one(&mut *tx)
    .await
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_on_this_site_are_followed_after_sign_in() {
        assert_eq!(safe_next("/epics?unit=1"), "/epics?unit=1");
        for hostile in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "evil",
            "",
            "/\n/x",
            "/x\\y",
        ] {
            assert_eq!(safe_next(hostile), "/", "{hostile:?}");
        }
    }
}
