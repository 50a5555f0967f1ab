//! Planning by anticipated outcome under finite capacity: the unit backlog ranked by value ×
//! confidence ÷ 10 ÷ effort, capacity per unit and period with the "what does this
//! displace?" question, cost rates and ROI, and iterations with outcome-phrased goals.

pub mod backlog;
pub mod capacity;
pub mod cost;
pub mod iterations;
pub mod model;

use crate::auth::policy::Access;
use crate::http::AppState;
use crate::http::sitemap::Sitemap;

/// Everyone reads; members change the planning of their units (checked per unit); cost
/// rates are for administrators.
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get(
            "/org/units/{id}/backlog",
            Access::SignedIn,
            backlog::get_backlog,
        )
        .post(
            "/org/units/{id}/backlog",
            Access::Contributor,
            backlog::post_backlog,
        )
        .post(
            "/org/units/{id}/capacity",
            Access::Contributor,
            capacity::post_capacity,
        )
        .post(
            "/org/units/{id}/cost-rate",
            Access::Admin,
            cost::post_cost_rate,
        )
        .get(
            "/org/units/{id}/iterations/new",
            Access::Contributor,
            iterations::get_new_iteration,
        )
        .post(
            "/org/units/{id}/iterations",
            Access::Contributor,
            iterations::post_iteration,
        )
        .get(
            "/iterations/{id}",
            Access::SignedIn,
            iterations::get_iteration,
        )
        .post(
            "/iterations/{id}",
            Access::Contributor,
            iterations::post_iteration_update,
        )
        .get(
            "/iterations/{id}/edit",
            Access::Contributor,
            iterations::get_edit_iteration,
        )
        .post(
            "/iterations/{id}/review",
            Access::Contributor,
            iterations::post_review,
        )
}
