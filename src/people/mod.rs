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
