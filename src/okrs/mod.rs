//! Cascading OKRs: objectives of a unit for a period, derived from a parent key result;
//! key results with their progress source; check-ins; progress rolled up the tree.

pub mod cascade;
pub mod closing;
pub mod key_results;
pub mod links;
pub mod model;
pub mod objectives;
pub mod read;
pub mod tree;

use crate::auth::policy::Access;
use crate::http::AppState;
use crate::http::sitemap::Sitemap;

/// Everyone reads; members change the OKRs of their units and those they own (checked per
/// record), admins everything.
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/okrs", Access::SignedIn, tree::get_okrs)
        .get("/okrs/csv", Access::SignedIn, tree::get_okrs_csv)
        .get(
            "/objectives/new",
            Access::Contributor,
            objectives::get_new_objective,
        )
        .post(
            "/objectives",
            Access::Contributor,
            objectives::post_objective,
        )
        .get(
            "/objectives/{id}",
            Access::SignedIn,
            objectives::get_objective,
        )
        .post(
            "/objectives/{id}",
            Access::Contributor,
            objectives::post_objective_update,
        )
        .get(
            "/objectives/{id}/edit",
            Access::Contributor,
            objectives::get_edit_objective,
        )
        .post(
            "/objectives/{id}/status",
            Access::Contributor,
            objectives::post_objective_status,
        )
        .get(
            "/key-results/new",
            Access::Contributor,
            key_results::get_new_key_result,
        )
        .post(
            "/key-results",
            Access::Contributor,
            key_results::post_key_result,
        )
        .get(
            "/key-results/{id}",
            Access::SignedIn,
            key_results::get_key_result,
        )
        .post(
            "/key-results/{id}",
            Access::Contributor,
            key_results::post_key_result_update,
        )
        .get(
            "/key-results/{id}/edit",
            Access::Contributor,
            key_results::get_edit_key_result,
        )
        .post(
            "/key-results/{id}/check-ins",
            Access::Contributor,
            key_results::post_check_in,
        )
        .get(
            "/key-results/propose",
            Access::Contributor,
            key_results::get_propose,
        )
        .post(
            "/key-results/propose",
            Access::Contributor,
            key_results::post_propose,
        )
        .post(
            "/key-results/{id}/reflection",
            Access::Contributor,
            closing::post_reflection,
        )
        .post(
            "/objectives/{id}/carry-over",
            Access::Contributor,
            closing::post_carry_over,
        )
        .post(
            "/periods/{id}/close",
            Access::Admin,
            closing::post_close_period,
        )
        .post(
            "/periods/{id}/reopen",
            Access::Admin,
            closing::post_reopen_period,
        )
        .post(
            "/outcomes/{id}/key-results",
            Access::Contributor,
            links::post_link,
        )
        .post(
            "/outcomes/{id}/key-results/{key_result_id}/remove",
            Access::Contributor,
            links::post_unlink,
        )
}
