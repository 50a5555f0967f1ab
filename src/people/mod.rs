//! People: everyone who owns, builds or reviews work, with their memberships in org units.
//! (Accounts, in a later module, extend a person with a way to sign in.)

pub mod model;
mod pages;

pub use pages::like_pattern;

use crate::auth::policy::Access;
use crate::http::AppState;
use crate::http::sitemap::Sitemap;

/// `/people/...`: everyone reads, admins change (and manage accounts).
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/people", Access::SignedIn, pages::get_people)
        .get("/people/csv", Access::SignedIn, pages::get_people_csv)
        .post("/people", Access::Admin, pages::post_person)
        .get("/people/new", Access::Admin, pages::get_new_person)
        .get("/people/{id}", Access::SignedIn, pages::get_person)
        .post("/people/{id}", Access::Admin, pages::post_person_update)
        .get("/people/{id}/edit", Access::Admin, pages::get_edit_person)
        .post(
            "/people/{id}/memberships",
            Access::Admin,
            pages::post_membership,
        )
        .post(
            "/people/{id}/account",
            Access::Admin,
            crate::auth::admin::post_account,
        )
        .post(
            "/people/{id}/reset-link",
            Access::Admin,
            crate::auth::admin::post_reset_link,
        )
}

/// The active person with `email`, as a record's owner; otherwise the reason on `field` —
/// inactive, or nobody with that email (`missing` says what to do then).
pub async fn active_owner(
    db: &crate::db::Db,
    email: &model::Email,
    errors: &mut crate::http::page::FormErrors,
    field: &'static str,
    missing: &str,
) -> sqlx::Result<Option<uuid::Uuid>> {
    let found: Option<(uuid::Uuid, bool)> =
        sqlx::query_as("SELECT id, active FROM people WHERE lower(email) = lower($1)")
            .bind(email.as_str())
            .fetch_optional(db)
            .await?;
    Ok(match found {
        Some((id, true)) => Some(id),
        Some((_, false)) => {
            errors.add(field, "This person is inactive: choose an active owner");
            None
        }
        None => {
            errors.add(field, missing);
            None
        }
    })
}
