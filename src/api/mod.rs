//! The JSON API under `/api/v1`: what scripts and other tools use to read and write
//! Yardstick, with personal tokens (`tokens.rs`), problems for errors (`problem.rs`),
//! ETags and `If-Match` for updates, and an OpenAPI 3.1 document generated from the code
//! (`/api/v1/openapi.json`, browsable at `/api/docs`).

pub mod docs;
pub mod epics;
pub mod extract;
pub mod initiatives;
pub mod key_results;
pub mod loops;
pub mod objectives;
pub mod organisation;
pub mod outcomes;
pub mod problem;
pub mod tokens;

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::auth::policy::Access;
use crate::http::AppState;
use crate::http::sitemap::Sitemap;

/// `/api/v1/…`, `/api/docs`, and the token routes of `/account`.
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/api/v1/openapi.json", Access::Public, get_openapi)
        .get("/api/docs", Access::Public, docs::get_index)
        .get("/api/docs/{*path}", Access::Public, docs::get_file)
        .get("/api/v1/initiatives", Access::SignedIn, initiatives::list)
        .post("/api/v1/initiatives", Access::Contributor, initiatives::create)
        .get("/api/v1/initiatives/{id}", Access::SignedIn, initiatives::get)
        .put("/api/v1/initiatives/{id}", Access::Contributor, initiatives::update)
        .post(
            "/api/v1/initiatives/{id}/status",
            Access::Contributor,
            initiatives::status,
        )
        .post(
            "/api/v1/initiatives/{id}/outcomes",
            Access::Contributor,
            outcomes::create_for_initiative,
        )
        .get("/api/v1/epics", Access::SignedIn, epics::list)
        .post("/api/v1/epics", Access::Contributor, epics::create)
        .get("/api/v1/epics/{id}", Access::SignedIn, epics::get)
        .put("/api/v1/epics/{id}", Access::Contributor, epics::update)
        .post("/api/v1/epics/{id}/status", Access::Contributor, epics::status)
        .post(
            "/api/v1/epics/{id}/outcomes",
            Access::Contributor,
            outcomes::create,
        )
        .get("/api/v1/outcomes", Access::SignedIn, outcomes::list)
        .get("/api/v1/outcomes/{id}", Access::SignedIn, outcomes::get)
        .put("/api/v1/outcomes/{id}", Access::Contributor, outcomes::update)
        .post(
            "/api/v1/outcomes/{id}/measurements",
            Access::Contributor,
            outcomes::measure,
        )
        .post(
            "/api/v1/outcomes/{id}/close",
            Access::Contributor,
            outcomes::close,
        )
        .get("/api/v1/loops", Access::SignedIn, loops::list)
        .get("/api/v1/objectives", Access::SignedIn, objectives::list)
        .post("/api/v1/objectives", Access::Contributor, objectives::create)
        .get("/api/v1/objectives/{id}", Access::SignedIn, objectives::get)
        .put("/api/v1/objectives/{id}", Access::Contributor, objectives::update)
        .post(
            "/api/v1/objectives/{id}/status",
            Access::Contributor,
            objectives::status,
        )
        .post(
            "/api/v1/objectives/{id}/key-results",
            Access::Contributor,
            key_results::create,
        )
        .get("/api/v1/key-results", Access::SignedIn, key_results::list)
        .get(
            "/api/v1/key-results/{id}",
            Access::SignedIn,
            key_results::key_result,
        )
        .put(
            "/api/v1/key-results/{id}",
            Access::Contributor,
            key_results::update,
        )
        .post(
            "/api/v1/key-results/{id}/check-ins",
            Access::Contributor,
            key_results::check_in,
        )
        .put(
            "/api/v1/outcomes/{id}/key-results/{key_result_id}",
            Access::Contributor,
            key_results::link,
        )
        .delete(
            "/api/v1/outcomes/{id}/key-results/{key_result_id}",
            Access::Contributor,
            key_results::unlink,
        )
        .get("/api/v1/units", Access::SignedIn, organisation::units)
        .get("/api/v1/periods", Access::SignedIn, organisation::periods)
        .get("/api/v1/people", Access::SignedIn, organisation::people)
        .post("/account/tokens", Access::SignedIn, tokens::post_token)
        .post(
            "/account/tokens/{id}/revoke",
            Access::SignedIn,
            tokens::post_revoke,
        )
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Yardstick API",
        version = "1",
        description = "Read and write Yardstick: epics with their anticipated outcomes, measurements and closed loops. \
                       Authenticate with a personal token from your account page: `Authorization: Bearer ys_…`. \
                       Lists take the same filters as the pages and page with `after` (the `next` of the previous page). \
                       Reads answer an `ETag`; updates need `If-Match` with it (412 when the record changed since, 428 without). \
                       Errors are `application/problem+json` (RFC 9457), with every invalid field and its message."
    ),
    paths(
        initiatives::list,
        initiatives::create,
        initiatives::get,
        initiatives::update,
        initiatives::status,
        outcomes::create_for_initiative,
        epics::list,
        epics::get,
        epics::create,
        epics::update,
        epics::status,
        outcomes::create,
        outcomes::list,
        outcomes::get,
        outcomes::update,
        outcomes::measure,
        outcomes::close,
        loops::list,
        objectives::list,
        objectives::create,
        objectives::get,
        objectives::update,
        objectives::status,
        key_results::create,
        key_results::list,
        key_results::key_result,
        key_results::update,
        key_results::check_in,
        key_results::link,
        key_results::unlink,
        organisation::units,
        organisation::periods,
        organisation::people
    ),
    components(schemas(problem::Problem, problem::FieldProblem)),
    modifiers(&BearerAuth),
    tags(
        (name = "Initiatives", description = "Larger bets of several epics, with outcomes of their own"),
        (name = "Epics", description = "Work that should change a measurable outcome"),
        (name = "Outcomes", description = "Anticipated outcomes, their measurements, revisions and closing the loop"),
        (name = "OKRs", description = "Objectives, key results and check-ins"),
        (name = "Organisation", description = "Units, periods and people, for the ids other calls take")
    )
)]
pub struct ApiDoc;

/// The token scheme every operation names.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A personal API token from /account (ys_…)"))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`
pub async fn get_openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
