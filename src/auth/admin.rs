//! Administrators manage accounts from a person's page: give an account (which makes an
//! invitation link), change its role, take it away, or make a password-reset link. Links
//! are shown once, to copy; only their hashes are kept.

use askama::Template;
use askama_web::WebTemplate;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::invitation;
use crate::auth::policy::{AccountRole, Me};
use crate::auth::session;
use crate::http::page::{self, Form, Id, Layout, Section};
use crate::http::{AppError, AppState, Result};

#[derive(Template, WebTemplate)]
#[template(path = "auth/link.html")]
pub struct LinkPage {
    layout: Layout,
    person_id: Uuid,
    name: String,
    purpose: &'static str,
    link: String,
    expires: String,
    /// With SMTP: to whom the link was mailed, or that it could not be.
    mailed: Option<std::result::Result<String, ()>>,
}

/// The page with the link; with SMTP configured the link is also mailed to the person (a
/// failed send is said on the page, and the link is still there to copy).
#[allow(clippy::too_many_arguments)]
async fn link_page(
    state: &AppState,
    me: &Me,
    person: Uuid,
    name: String,
    email: &str,
    purpose: &'static str,
    token: &str,
    expires: DateTime<Utc>,
) -> LinkPage {
    let title = if purpose == "invitation" {
        "Invitation link"
    } else {
        "Password reset link"
    };
    let link = format!("{}/invitations/{token}", state.public_url);
    let expires = expires.format("%-d %b %Y %H:%M UTC").to_string();
    let mailed = match &state.mailer {
        None => None,
        Some(mailer) => {
            let (subject, what) = if purpose == "invitation" {
                (
                    "You are invited to Yardstick",
                    "choose a password and sign in",
                )
            } else {
                ("Reset your Yardstick password", "choose a new password")
            };
            let body = format!(
                "Hello {name},\n\nFollow this link to {what}:\n\n{link}\n\nIt works once, until {expires}. If you did not expect this, ignore it.\n"
            );
            Some(match mailer.send(&name, email, subject, body).await {
                Ok(()) => Ok(email.to_string()),
                Err(err) => {
                    // The reason (the mail server's words) goes to the log, not the page.
                    tracing::warn!(error = %err, "the link could not be mailed");
                    Err(())
                }
            })
        }
    };
    LinkPage {
        layout: Layout::new(title, Section::Organisation, me),
        person_id: person,
        name,
        purpose,
        link,
        expires,
        mailed,
    }
}

/// Creates an administrator from the command line (or makes an existing person one).
pub async fn create_admin(
    db: &crate::db::Db,
    clock: &crate::clock::Clock,
    name: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<Uuid> {
    let name = crate::org::model::required_text(name, "a name", 120).map_err(anyhow::Error::msg)?;
    let email = crate::people::model::Email::parse(email).map_err(anyhow::Error::msg)?;
    let password = crate::auth::password::NewPassword::parse(password, password)
        .map_err(|(_, m)| anyhow::Error::msg(m))?;
    let hash = crate::auth::password::hash(password.as_str()).await?;
    let mut tx = db.begin().await?;
    let id =
        crate::auth::sign_in::create_account(&mut tx, &name, &email, AccountRole::Admin, &hash)
            .await?;
    Entry::new("account_created")
        .actor(None)
        .entity("person", id)
        .after(json!({ "email": email.as_str(), "role": "admin", "via": "command line" }))
        .write(&mut *tx, clock.now())
        .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct AccountForm {
    role: String,
}

#[derive(sqlx::FromRow)]
struct Holder {
    name: String,
    email: String,
    account_role: Option<String>,
    has_password: bool,
}

async fn holder(tx: &mut sqlx::PgConnection, id: Uuid) -> Result<Holder> {
    sqlx::query_as("SELECT name, email, account_role, password_hash IS NOT NULL AS has_password FROM people WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::NotFound)
}

/// `POST /people/{id}/account` with `role` = admin, member, viewer or `none`.
pub async fn post_account(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<AccountForm>,
) -> Result<Response> {
    let role = match form.role.trim() {
        "none" => None,
        other => match AccountRole::parse(other) {
            Ok(role) => Some(role),
            Err(message) => return Ok(page::see_other(&format!("/people/{id}"), message.as_str())),
        },
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // Serialise role changes so two admins cannot demote each other into "no admin left".
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('yardstick.roles'))")
        .execute(&mut *tx)
        .await?;
    let before = holder(&mut tx, id).await?;
    let was_admin = before.account_role.as_deref() == Some("admin");
    if was_admin && role != Some(AccountRole::Admin) {
        let admins: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM people WHERE account_role = 'admin' AND active",
        )
        .fetch_one(&mut *tx)
        .await?;
        if admins <= 1 {
            return Ok(page::see_other(
                &format!("/people/{id}"),
                "Yardstick needs at least one administrator: make someone else an administrator first",
            ));
        }
    }
    sqlx::query("UPDATE people SET account_role = $2, version = version + 1, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(role.map(AccountRole::as_str))
        .execute(&mut *tx)
        .await?;
    Entry::new("role_changed")
        .actor(Some(me.id))
        .entity("person", id)
        .before(json!({ "role": before.account_role }))
        .after(json!({ "role": role.map(AccountRole::as_str) }))
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    if role.is_none() {
        session::end_others(&mut *tx, id, None).await?;
        sqlx::query("DELETE FROM account_tokens WHERE person_id = $1 AND used_at IS NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(page::see_other(
            &format!("/people/{id}"),
            &format!("{} can no longer sign in", before.name),
        ));
    }
    if before.has_password {
        tx.commit().await?;
        let label = role
            .map(AccountRole::label)
            .unwrap_or_default()
            .to_lowercase();
        return Ok(page::see_other(
            &format!("/people/{id}"),
            &format!("{} is now {label}", before.name),
        ));
    }
    let (token, expires) = invitation::create(&mut tx, id, "invitation", me.id, now).await?;
    Entry::new("invitation_created")
        .actor(Some(me.id))
        .entity("person", id)
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    Ok(link_page(
        &state,
        &me,
        id,
        before.name,
        &before.email,
        "invitation",
        &token,
        expires,
    )
    .await
    .into_response())
}

/// `POST /people/{id}/reset-link`
pub async fn post_reset_link(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let person = holder(&mut tx, id).await?;
    if person.account_role.is_none() {
        return Ok(page::see_other(
            &format!("/people/{id}"),
            "Give this person an account first",
        ));
    }
    let purpose = if person.has_password {
        "reset"
    } else {
        "invitation"
    };
    let (token, expires) = invitation::create(&mut tx, id, purpose, me.id, now).await?;
    let action = if purpose == "reset" {
        "password_reset_created"
    } else {
        "invitation_created"
    };
    Entry::new(action)
        .actor(Some(me.id))
        .entity("person", id)
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    Ok(link_page(
        &state,
        &me,
        id,
        person.name,
        &person.email,
        purpose,
        &token,
        expires,
    )
    .await
    .into_response())
}
