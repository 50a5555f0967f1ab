//! Initiatives and epics: the work, each piece starting from a measurable anticipated
//! outcome with one accountable owner.

pub mod list;
pub mod model;
pub mod owners;
pub mod pages;
pub mod read;

use crate::auth::policy::Access;
use crate::http::AppState;
use crate::http::sitemap::Sitemap;

/// `/epics/...` and `/outcomes/...`: everyone reads; members change the epics of their
/// units and those they own (checked per record), admins everything.
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/epics", Access::SignedIn, list::get_epics)
        .get("/epics/csv", Access::SignedIn, list::get_epics_csv)
        .get("/needs-owner", Access::SignedIn, owners::get_needs_owner)
        .post(
            "/epics/{id}/owner",
            Access::Contributor,
            owners::post_epic_owner,
        )
        .post(
            "/outcomes/{id}/owner",
            Access::Contributor,
            owners::post_outcome_owner,
        )
        .post(
            "/people/{id}/reassign",
            Access::Admin,
            owners::post_reassign_all,
        )
        .get("/epics/new", Access::Contributor, pages::get_new_epic)
        .post("/epics", Access::Contributor, pages::post_epic)
        .get("/epics/{id}", Access::SignedIn, pages::get_epic)
        .post("/epics/{id}", Access::Contributor, pages::post_epic_update)
        .get(
            "/epics/{id}/edit",
            Access::Contributor,
            pages::get_edit_epic,
        )
        .post(
            "/epics/{id}/status",
            Access::Contributor,
            pages::post_status,
        )
        .get(
            "/outcomes/new",
            Access::Contributor,
            crate::outcomes::pages::get_new_outcome,
        )
        .post(
            "/outcomes",
            Access::Contributor,
            crate::outcomes::pages::post_outcome,
        )
        .get(
            "/outcomes/{id}",
            Access::SignedIn,
            crate::outcomes::pages::get_outcome,
        )
        .post(
            "/outcomes/{id}",
            Access::Contributor,
            crate::outcomes::pages::post_outcome_update,
        )
        .get(
            "/outcomes/{id}/edit",
            Access::Contributor,
            crate::outcomes::pages::get_edit_outcome,
        )
}
