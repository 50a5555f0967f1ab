//! Closing the loop: measurements of anticipated outcomes, verdicts proposed from them and
//! confirmed or overridden, learnings and next steps, the loops queue and the learning log.

pub mod digest;
pub mod learnings;
pub mod model;
pub mod outcome;
pub mod queue;
pub mod reminders;

use crate::auth::policy::Access;
use crate::http::AppState;
use crate::http::sitemap::Sitemap;

/// Everyone reads; recording on a loop is for whoever may edit the record (checked per
/// outcome).
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/loops", Access::SignedIn, queue::get_loops)
        .get("/loops/csv", Access::SignedIn, queue::get_loops_csv)
        .get("/learnings", Access::SignedIn, learnings::get_learnings)
        .get(
            "/learnings/csv",
            Access::SignedIn,
            learnings::get_learnings_csv,
        )
        .post(
            "/outcomes/{id}/measurements",
            Access::Contributor,
            outcome::post_measurement,
        )
        .post(
            "/outcomes/{id}/close",
            Access::Contributor,
            outcome::post_close,
        )
        .post(
            "/outcomes/{id}/reopen",
            Access::Contributor,
            outcome::post_reopen,
        )
}
