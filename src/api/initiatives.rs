//! `/api/v1/initiatives`: list (the filters of `/initiatives`, keyset pages), read (with
//! its ETag), create, update and move on (with `If-Match`). The pages' functions do the
//! work: the same rules, messages, permissions and audit rows.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiId, ApiJson, ApiQuery, IfMatch, StatusIn, etag, optional_id, page_limit};
use super::problem::{ApiError, Problem};
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::http::AppState;
use crate::http::page::Refused;
use crate::http::page::next_page;
use crate::initiatives::list::{InitiativeQuery, InitiativeRow, find};
use crate::initiatives::pages::{
    Initiative, InitiativeForm, change_initiative_status, create_initiative, initiative_to_change,
    load_initiative, update_initiative,
};

type ApiResult<T> = std::result::Result<T, ApiError>;

/// An initiative: a larger bet of several epics, with outcomes of its own.
#[derive(Debug, Serialize, ToSchema)]
pub struct InitiativeOut {
    pub id: Uuid,
    /// Send it back in `If-Match` (as the ETag, quoted) to update.
    #[schema(example = 2)]
    pub version: i32,
    #[schema(example = "Self-serve onboarding")]
    pub title: String,
    pub description: String,
    pub unit_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub owner_email: Option<String>,
    /// proposed, active, done or cancelled.
    #[schema(example = "proposed")]
    pub status: String,
    /// The periods it is planned in, earliest first.
    pub period_ids: Vec<Uuid>,
}

impl From<&Initiative> for InitiativeOut {
    fn from(i: &Initiative) -> Self {
        InitiativeOut {
            id: i.id,
            version: i.version,
            title: i.title.clone(),
            description: i.description.clone(),
            unit_id: i.unit_id,
            owner_id: i.owner_id,
            owner_email: i.owner_email.clone(),
            status: i.status.clone(),
            period_ids: i.period_ids.clone(),
        }
    }
}

/// An initiative as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InitiativeSummary {
    pub id: Uuid,
    pub title: String,
    pub status: String,
    pub unit_id: Uuid,
    /// Its periods' names.
    pub periods: String,
    pub epics: i64,
    pub outcomes: i64,
}

impl From<InitiativeRow> for InitiativeSummary {
    fn from(i: InitiativeRow) -> Self {
        InitiativeSummary {
            id: i.id,
            title: i.title,
            status: i.status,
            unit_id: i.unit_id,
            periods: i.periods,
            epics: i.epics,
            outcomes: i.outcomes,
        }
    }
}

/// One page of initiatives.
#[derive(Debug, Serialize, ToSchema)]
pub struct InitiativeList {
    pub items: Vec<InitiativeSummary>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next: Option<Uuid>,
}

/// The filters, with the names the pages use.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct InitiativeListQuery {
    /// An org unit: initiatives of it and of every unit beneath it.
    unit: Option<String>,
    /// proposed, active, done or cancelled.
    status: Option<String>,
    /// The owner's person id.
    owner: Option<String>,
    /// A period it is planned in.
    period: Option<String>,
    /// Text in the title or description.
    q: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// 1–200 (default 50).
    limit: Option<String>,
}

/// An initiative to create, or its new state (every field; what is left out is emptied).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct InitiativeIn {
    #[schema(example = "Self-serve onboarding")]
    pub title: String,
    pub description: Option<String>,
    /// The unit that owns it.
    #[schema(format = Uuid)]
    pub unit_id: String,
    /// The one person accountable for it.
    #[schema(example = "priya@example.org")]
    pub owner_email: String,
    /// The periods it is planned in.
    pub period_ids: Vec<String>,
}

impl InitiativeIn {
    fn form(self) -> InitiativeForm {
        InitiativeForm {
            title: self.title,
            description: self.description.unwrap_or_default(),
            unit_id: self.unit_id,
            owner_email: self.owner_email,
            periods: self.period_ids,
            version: String::new(),
        }
    }
}

/// An initiative with its ETag.
fn with_etag(status: StatusCode, initiative: &Initiative) -> Response {
    (
        status,
        [
            (header::ETAG, etag(initiative.version)),
            (
                header::LOCATION,
                format!("/api/v1/initiatives/{}", initiative.id),
            ),
        ],
        Json(InitiativeOut::from(initiative)),
    )
        .into_response()
}

/// List initiatives
#[utoipa::path(get, path = "/api/v1/initiatives", tag = "Initiatives", params(InitiativeListQuery),
    responses(
        (status = 200, description = "A page of initiatives, newest first", body = InitiativeList),
        (status = 400, description = "The query string cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<InitiativeListQuery>,
) -> ApiResult<Json<InitiativeList>> {
    let mut problems = Vec::new();
    let mut id = |field: &str, value: Option<String>| -> String {
        optional_id(field, value.as_deref(), &mut problems);
        value.unwrap_or_default()
    };
    let filters = InitiativeQuery {
        unit: id("unit", query.unit),
        owner: id("owner", query.owner),
        period: id("period", query.period),
        after: id("after", query.after),
        status: query.status.unwrap_or_default(),
        q: query.q.unwrap_or_default(),
    };
    let limit = page_limit(query.limit.as_deref(), &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let mut rows = find(&state.db, &filters, limit + 1).await?;
    let next = next_page(&mut rows, limit, |i| i.id);
    Ok(Json(InitiativeList {
        items: rows.into_iter().map(InitiativeSummary::from).collect(),
        next,
    }))
}

/// Read an initiative
#[utoipa::path(get, path = "/api/v1/initiatives/{id}", tag = "Initiatives",
    params(("id" = Uuid, Path, description = "The initiative's id")),
    responses(
        (status = 200, description = "The initiative; its ETag is its version", body = InitiativeOut,
         headers(("ETag" = String, description = "The version, quoted: send it in If-Match to update"))),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such initiative", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, ApiId(id): ApiId) -> ApiResult<Response> {
    let initiative = load_initiative(&state.db, id).await?;
    Ok(with_etag(StatusCode::OK, &initiative))
}

/// Create an initiative
#[utoipa::path(post, path = "/api/v1/initiatives", tag = "Initiatives", request_body = InitiativeIn,
    responses(
        (status = 201, description = "Created", body = InitiativeOut,
         headers(("ETag" = String, description = "Its version"), ("Location" = String, description = "Its address"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A read-only token, or a viewer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each with its message", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    ApiJson(input): ApiJson<InitiativeIn>,
) -> ApiResult<Response> {
    let id = create_initiative(&state, &me, &client, &input.form())
        .await?
        .map_err(ApiError::from)?;
    let initiative = load_initiative(&state.db, id).await?;
    Ok(with_etag(StatusCode::CREATED, &initiative))
}

/// Update an initiative
#[utoipa::path(put, path = "/api/v1/initiatives/{id}", tag = "Initiatives", request_body = InitiativeIn,
    params(("id" = Uuid, Path, description = "The initiative's id"),
           ("If-Match" = String, Header, description = "The ETag of the version you read")),
    responses(
        (status = 200, description = "Saved", body = InitiativeOut, headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this initiative", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such initiative", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The initiative changed since that version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    ApiId(id): ApiId,
    if_match: Result<IfMatch, ApiError>,
    body: Result<ApiJson<InitiativeIn>, ApiError>,
) -> ApiResult<Response> {
    let initiative = initiative_to_change(&state, &me, &client, id).await?;
    let version = if_match?.current(initiative.version)?;
    let ApiJson(input) = body?;
    let saved =
        update_initiative(&state, &me, &client, &initiative, &input.form(), version).await?;
    let current = load_initiative(&state.db, id).await?;
    match saved {
        Ok(()) => Ok(with_etag(StatusCode::OK, &current)),
        Err(Refused::Invalid(errors)) => Err(errors.into()),
        Err(Refused::Stale) => Err(ApiError::PreconditionFailed {
            current: current.version,
        }),
    }
}

/// Move an initiative on
///
/// `active` (needs an active owner; commits its outcomes), `done` or `cancelled`, as its
/// page offers.
#[utoipa::path(post, path = "/api/v1/initiatives/{id}/status", tag = "Initiatives", request_body = StatusIn,
    params(("id" = Uuid, Path, description = "The initiative's id"),
           ("If-Match" = String, Header, description = "The ETag of the version you read")),
    responses(
        (status = 200, description = "Moved", body = InitiativeOut, headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this initiative", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such initiative", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible from its status, or it has no active owner", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The initiative changed since that version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a status", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn status(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    ApiId(id): ApiId,
    if_match: Result<IfMatch, ApiError>,
    body: Result<ApiJson<StatusIn>, ApiError>,
) -> ApiResult<Response> {
    let initiative = initiative_to_change(&state, &me, &client, id).await?;
    let version = if_match?.current(initiative.version)?;
    let ApiJson(input) = body?;
    let changed =
        change_initiative_status(&state, &me, &client, &initiative, &input.status, version).await?;
    let current = load_initiative(&state.db, id).await?;
    match changed {
        Ok(_) => Ok(with_etag(StatusCode::OK, &current)),
        Err(refused) => Err(ApiError::status_refused(
            refused,
            "proposed, active, done or cancelled",
            current.version,
        )),
    }
}
