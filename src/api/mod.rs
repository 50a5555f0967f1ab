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
pub mod metrics;
pub mod objectives;
pub mod organisation;
pub mod outcomes;
pub mod problem;
pub mod tokens;

use axum::Json;
use utoipa::openapi::RefOr;
use utoipa::openapi::link::LinkBuilder;
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
        .post(
            "/api/v1/initiatives",
            Access::Contributor,
            initiatives::create,
        )
        .get(
            "/api/v1/initiatives/{id}",
            Access::SignedIn,
            initiatives::get,
        )
        .put(
            "/api/v1/initiatives/{id}",
            Access::Contributor,
            initiatives::update,
        )
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
        .post(
            "/api/v1/epics/{id}/status",
            Access::Contributor,
            epics::status,
        )
        .post(
            "/api/v1/epics/{id}/outcomes",
            Access::Contributor,
            outcomes::create,
        )
        .get("/api/v1/outcomes", Access::SignedIn, outcomes::list)
        .get("/api/v1/outcomes/{id}", Access::SignedIn, outcomes::get)
        .put(
            "/api/v1/outcomes/{id}",
            Access::Contributor,
            outcomes::update,
        )
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
        .post(
            "/api/v1/objectives",
            Access::Contributor,
            objectives::create,
        )
        .get("/api/v1/objectives/{id}", Access::SignedIn, objectives::get)
        .put(
            "/api/v1/objectives/{id}",
            Access::Contributor,
            objectives::update,
        )
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
        .post(
            "/api/v1/metrics/{key}/values",
            Access::Contributor,
            metrics::post_value,
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
        metrics::post_value,
        organisation::units,
        organisation::periods,
        organisation::people
    ),
    components(schemas(problem::Problem, problem::FieldProblem)),
    modifiers(&BearerAuth, &Links),
    tags(
        (name = "Initiatives", description = "Larger bets of several epics, with outcomes of their own"),
        (name = "Epics", description = "Work that should change a measurable outcome"),
        (name = "Outcomes", description = "Anticipated outcomes, their measurements, revisions and closing the loop"),
        (name = "OKRs", description = "Objectives, key results and check-ins"),
        (name = "Metrics", description = "Values an analytics job posts for a metric key: measurements and check-ins on every record bound to it"),
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

/// Operation ids named after their method and path (`put_epics_by_id`), unique in the
/// document; and links from every answer carrying a record to the operations on that
/// record, passing its id (and its ETag as `If-Match`), so a client (or schemathesis's
/// stateful phase) can follow create → read → update → status.
struct Links;

/// The record a response schema is, and the path of its operations.
const RECORDS: &[(&str, &str)] = &[
    ("EpicOut", "/api/v1/epics/{id}"),
    ("InitiativeOut", "/api/v1/initiatives/{id}"),
    ("OutcomeOut", "/api/v1/outcomes/{id}"),
    ("ObjectiveOut", "/api/v1/objectives/{id}"),
    ("KeyResultOut", "/api/v1/key-results/{id}"),
];

fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<String> = path
        .trim_start_matches("/api/v1/")
        .split('/')
        .map(
            |word| match word.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(param) => format!("by_{param}"),
                None => word.replace('-', "_"),
            },
        )
        .collect();
    format!("{method}_{}", words.join("_"))
}

/// The operations path `prefix` is the record of: its own and those beneath it that take
/// no other id.
fn on_record(path: &str, prefix: &str) -> bool {
    path == prefix
        || (path.starts_with(prefix)
            && path[prefix.len()..].starts_with('/')
            && path.matches('{').count() == 1)
}

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut operations = Vec::new();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let methods = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
            ];
            for (method, operation) in methods {
                let Some(operation) = operation.as_mut() else {
                    continue;
                };
                let id = operation_id(method, path);
                operation.operation_id = Some(id.clone());
                let if_match = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, RefOr::T(p) if p.name == "If-Match"));
                operations.push((path.clone(), id, if_match));
            }
        }
        for item in openapi.paths.paths.values_mut() {
            let methods = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ];
            for operation in methods.into_iter().flatten() {
                for response in operation.responses.responses.values_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    let record = response.content.values().find_map(|content| {
                        let RefOr::T(content) = content else {
                            return None;
                        };
                        let Some(RefOr::Ref(schema)) = &content.schema else {
                            return None;
                        };
                        RECORDS
                            .iter()
                            .find(|(name, _)| schema.ref_location.ends_with(&format!("/{name}")))
                            .map(|(_, prefix)| *prefix)
                    });
                    let Some(prefix) = record else {
                        continue;
                    };
                    for (path, id, if_match) in &operations {
                        if !on_record(path, prefix) {
                            continue;
                        }
                        let mut link = LinkBuilder::new()
                            .operation_id(id)
                            .parameter("path.id", "$response.body#/id");
                        if *if_match {
                            link = link.parameter("header.If-Match", "$response.header.ETag");
                        }
                        response.links.insert(id.clone(), RefOr::T(link.build()));
                    }
                }
            }
        }
    }
}

/// `GET /api/v1/openapi.json`
pub async fn get_openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
