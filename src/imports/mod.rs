//! Importing epics from Jira: an admin uploads a Jira "Export Excel CSV (all fields)",
//! maps its columns and statuses to Yardstick's with a preview of each row's problems,
//! then a background job (in PostgreSQL, run by any server) creates or updates one epic
//! per issue key. Re-importing the same file updates rather than duplicates.

pub mod job;
pub mod pages;
pub mod plan;
pub mod sheet;

use crate::auth::policy::Access;
use crate::http::AppState;
use crate::http::sitemap::Sitemap;

/// `/import/jira…`: administrators only.
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/import/jira", Access::Admin, pages::get_imports)
        .upload(
            "/import/jira",
            Access::Admin,
            pages::post_upload,
            pages::UPLOAD_LIMIT,
        )
        .get("/import/jira/{id}", Access::Admin, pages::get_job)
        .post("/import/jira/{id}", Access::Admin, pages::post_job)
        .get(
            "/import/jira/{id}/progress",
            Access::Admin,
            pages::get_progress,
        )
}
