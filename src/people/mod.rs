//! People: everyone who owns, builds or reviews work, with their memberships in org units.
//! (Accounts, in a later module, extend a person with a way to sign in.)

pub mod model;
mod pages;

use axum::Router;
use axum::routing::{get, post};

use crate::http::AppState;

/// `/people/...`
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people", get(pages::get_people).post(pages::post_person))
        .route("/people/new", get(pages::get_new_person))
        .route(
            "/people/{id}",
            get(pages::get_person).post(pages::post_person_update),
        )
        .route("/people/{id}/edit", get(pages::get_edit_person))
        .route("/people/{id}/memberships", post(pages::post_membership))
}
