//! Initiatives: the largest bodies of work, spanning periods, with epics and anticipated
//! outcomes of their own.

pub mod list;
pub mod model;
pub mod pages;

use crate::auth::policy::Access;
use crate::http::AppState;
use crate::http::sitemap::Sitemap;

/// `/initiatives/...`: everyone reads; members change the initiatives of their units and
/// those they own (checked per record), admins everything.
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/initiatives", Access::SignedIn, list::get_initiatives)
        .get(
            "/initiatives/csv",
            Access::SignedIn,
            list::get_initiatives_csv,
        )
        .get(
            "/initiatives/new",
            Access::Contributor,
            pages::get_new_initiative,
        )
        .post("/initiatives", Access::Contributor, pages::post_initiative)
        .get("/initiatives/{id}", Access::SignedIn, pages::get_initiative)
        .post(
            "/initiatives/{id}",
            Access::Contributor,
            pages::post_initiative_update,
        )
        .get(
            "/initiatives/{id}/edit",
            Access::Contributor,
            pages::get_edit_initiative,
        )
        .post(
            "/initiatives/{id}/status",
            Access::Contributor,
            pages::post_initiative_status,
        )
        .post(
            "/initiatives/{id}/owner",
            Access::Contributor,
            crate::epics::owners::post_initiative_owner,
        )
}
