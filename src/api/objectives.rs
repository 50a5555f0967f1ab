//! Objectives: `GET /api/v1/objectives?unit=&period=` (the cascade of a unit and
//! everything beneath it, with progress rolled up), one objective with its ETag, and
//! creating, updating and moving one on (with `If-Match`). The pages' functions do the
//! work: the same cascade rules, messages, permissions and audit rows.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{
    ApiId, ApiJson, ApiQuery, IfMatch, StatusIn, decimal as text, etag, optional_id,
};
use super::key_results::{KeyResultOut, key_result_out};
use super::problem::{ApiError, Problem};
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::http::AppState;
use crate::http::page::Refused;
use crate::okrs::cascade::{self, Cascade, ObjectiveRow, Roots};
use crate::okrs::objectives::{
    Objective, ObjectiveForm, change_objective_status, create_objective, load_objective,
    update_objective,
};

type ApiResult<T> = std::result::Result<T, ApiError>;

/// An objective with its key results.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectiveOut {
    pub id: Uuid,
    /// Send it back in `If-Match` (as the ETag, quoted) to update.
    pub version: i32,
    #[schema(example = "Learners succeed in their first week")]
    pub title: String,
    pub unit_id: Uuid,
    pub period_id: Uuid,
    pub owner_id: Option<Uuid>,
    /// draft, active or closed.
    pub status: String,
    /// The key result it was cascaded from.
    pub parent_key_result_id: Option<Uuid>,
    /// 0–1, the weighted mean of its key results.
    pub progress: String,
    pub key_results: Vec<KeyResultOut>,
}

fn objective_out(cascade: &Cascade, o: &ObjectiveRow, today: &NaiveDate) -> ObjectiveOut {
    ObjectiveOut {
        id: o.id,
        version: o.version,
        title: o.title.clone(),
        unit_id: o.unit_id,
        period_id: o.period_id,
        owner_id: o.owner_id,
        status: o.status.clone(),
        parent_key_result_id: o.parent_key_result_id,
        progress: text(cascade.objective_progress(&o.id)),
        key_results: cascade
            .key_results_of(&o.id)
            .map(|k| key_result_out(cascade, k, today))
            .collect(),
    }
}

/// Which objectives.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ObjectiveQuery {
    /// An org unit: its objectives and those of every unit beneath it (default: all).
    unit: Option<String>,
    /// A period: its objectives and those of periods within it (default: the current one).
    period: Option<String>,
}

/// List objectives with their key results
#[utoipa::path(get, path = "/api/v1/objectives", tag = "OKRs", params(ObjectiveQuery),
    responses(
        (status = 200, description = "The cascade: roots first, then what is cascaded beneath", body = Vec<ObjectiveOut>),
        (status = 400, description = "The query string cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such period", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An id is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    me: Me,
    ApiQuery(query): ApiQuery<ObjectiveQuery>,
) -> ApiResult<Json<Vec<ObjectiveOut>>> {
    let mut problems = Vec::new();
    let unit = optional_id("unit", query.unit.as_deref(), &mut problems);
    let period = optional_id("period", query.period.as_deref(), &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let today = me.today(&state.clock);
    let period = match period {
        Some(id) => Some(crate::periods::load_period(&state.db, id).await?),
        None => crate::periods::current_period(&state.db, today).await?,
    };
    let Some(period) = period else {
        return Ok(Json(vec![]));
    };
    let cascade = cascade::load_from(
        &state.db,
        Roots::Scope {
            starts_on: period.starts_on,
            ends_on: period.ends_on,
            unit,
        },
    )
    .await?;
    let objectives = cascade
        .objectives
        .iter()
        .map(|o| objective_out(&cascade, o, &today))
        .collect();
    Ok(Json(objectives))
}

/// One objective as the API answers it, with its ETag.
async fn objective_response(state: &AppState, id: Uuid, status: StatusCode) -> ApiResult<Response> {
    let cascade = cascade::load(&state.db, &[id]).await?;
    let today = crate::org::settings::today(state).await?;
    let objective = cascade
        .objectives
        .iter()
        .find(|o| o.id == id)
        .ok_or(ApiError::NotFound)?;
    Ok((
        status,
        [
            (header::ETAG, etag(objective.version)),
            (header::LOCATION, format!("/api/v1/objectives/{id}")),
        ],
        Json(objective_out(&cascade, objective, &today)),
    )
        .into_response())
}

/// Read an objective
#[utoipa::path(get, path = "/api/v1/objectives/{id}", tag = "OKRs",
    params(("id" = Uuid, Path, description = "The objective's id")),
    responses(
        (status = 200, description = "The objective, its key results and progress", body = ObjectiveOut,
         headers(("ETag" = String, description = "Its version, quoted"))),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such objective", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, ApiId(id): ApiId) -> ApiResult<Response> {
    objective_response(&state, id, StatusCode::OK).await
}

/// An objective to create, or its new state (every field; what is left out is emptied).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ObjectiveIn {
    #[schema(example = "Learners succeed in their first week")]
    pub title: String,
    pub description: Option<String>,
    #[schema(format = Uuid)]
    pub unit_id: String,
    #[schema(format = Uuid)]
    pub period_id: String,
    /// The one person accountable for it.
    #[schema(example = "priya@example.org")]
    pub owner_email: String,
    /// The key result it is cascaded from: its unit is that key result's or beneath it,
    /// its period the same or within it.
    #[schema(format = Uuid)]
    pub parent_key_result_id: Option<String>,
}

impl ObjectiveIn {
    fn form(self) -> ObjectiveForm {
        ObjectiveForm {
            title: self.title,
            description: self.description.unwrap_or_default(),
            unit_id: self.unit_id,
            period_id: self.period_id,
            owner_email: self.owner_email,
            parent_key_result_id: self.parent_key_result_id.unwrap_or_default(),
            version: String::new(),
        }
    }
}

/// The objective, when the person may change it and its period is open (409 otherwise).
pub(super) async fn objective_to_change(
    state: &AppState,
    me: &Me,
    client: &str,
    id: Uuid,
) -> ApiResult<Objective> {
    crate::okrs::objectives::objective_to_change(state, me, client, id)
        .await?
        .map_err(|_| {
            ApiError::Conflict(
                "The objective's period is closed: its OKRs are read-only until an administrator reopens it"
                    .into(),
            )
        })
}

/// Create an objective
#[utoipa::path(post, path = "/api/v1/objectives", tag = "OKRs", request_body = ObjectiveIn,
    responses(
        (status = 201, description = "Created", body = ObjectiveOut,
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
    ApiJson(input): ApiJson<ObjectiveIn>,
) -> ApiResult<Response> {
    let id = create_objective(&state, &me, &client, &input.form())
        .await?
        .map_err(ApiError::from)?;
    objective_response(&state, id, StatusCode::CREATED).await
}

/// Update an objective
#[utoipa::path(put, path = "/api/v1/objectives/{id}", tag = "OKRs", request_body = ObjectiveIn,
    params(("id" = Uuid, Path, description = "The objective's id"),
           ("If-Match" = String, Header, description = "The ETag of the version you read")),
    responses(
        (status = 200, description = "Saved", body = ObjectiveOut, headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this objective", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such objective", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Its period is closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The objective changed since that version", body = Problem, content_type = "application/problem+json"),
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
    body: Result<ApiJson<ObjectiveIn>, ApiError>,
) -> ApiResult<Response> {
    let objective = objective_to_change(&state, &me, &client, id).await?;
    let version = if_match?.current(objective.version)?;
    let ApiJson(input) = body?;
    match update_objective(&state, &me, &client, &objective, &input.form(), version).await? {
        Ok(()) => objective_response(&state, id, StatusCode::OK).await,
        Err(Refused::Invalid(errors)) => Err(errors.into()),
        Err(Refused::Stale) => Err(ApiError::PreconditionFailed {
            current: load_objective(&state.db, id).await?.version,
        }),
    }
}

/// Move an objective on
///
/// `active` (needs an active owner), `closed`, or back to `draft`, as its page offers.
#[utoipa::path(post, path = "/api/v1/objectives/{id}/status", tag = "OKRs", request_body = StatusIn,
    params(("id" = Uuid, Path, description = "The objective's id"),
           ("If-Match" = String, Header, description = "The ETag of the version you read")),
    responses(
        (status = 200, description = "Moved", body = ObjectiveOut, headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this objective", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such objective", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible from its status, no active owner, or its period is closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The objective changed since that version", body = Problem, content_type = "application/problem+json"),
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
    let objective = objective_to_change(&state, &me, &client, id).await?;
    let version = if_match?.current(objective.version)?;
    let ApiJson(input) = body?;
    match change_objective_status(&state, &me, &client, &objective, &input.status, version).await? {
        Ok(_) => objective_response(&state, id, StatusCode::OK).await,
        Err(refused) => Err(ApiError::status_refused(
            refused,
            "draft, active or closed",
            load_objective(&state.db, id).await?.version,
        )),
    }
}
