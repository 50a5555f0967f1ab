//! OKRs: `GET /api/v1/objectives?unit=&period=` (the cascade of a unit and everything
//! beneath it, with progress rolled up), `GET /api/v1/key-results/{id}`, and
//! `POST /api/v1/key-results/{id}/check-ins` — what an analytics job needs to keep key
//! results current. The pages' cascade and check-in functions do the work.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiId, ApiJson, ApiQuery, decimal as text, optional_id};
use super::problem::{ApiError, Problem};
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::http::AppState;
use crate::okrs::cascade::{self, Cascade, KeyResultRow, Roots};
use crate::okrs::key_results::{
    CheckInForm, CheckInRefused, key_result_to_change, load_key_result, record_check_in,
};

type ApiResult<T> = std::result::Result<T, ApiError>;

/// A key result with the value it follows and its progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyResultOut {
    pub id: Uuid,
    pub objective_id: Uuid,
    pub title: String,
    pub metric: String,
    pub unit: String,
    pub unit_label: String,
    /// increase, decrease or stay_within.
    pub direction: String,
    pub start_value: String,
    pub target: Option<String>,
    pub band_lower: Option<String>,
    pub band_upper: Option<String>,
    pub weight: String,
    /// check_ins, roll_up or outcome.
    pub progress_source: String,
    /// The latest check-in's value, or the linked outcome's latest measurement.
    pub value: Option<String>,
    /// 0–10, from the latest check-in.
    pub confidence: Option<i16>,
    /// 0–1, rolled up through the cascade.
    #[schema(example = "0.45")]
    pub progress: String,
    /// The last check-in (or, before any, the day it was set).
    pub since: NaiveDate,
    /// Followed by check-ins and its cadence has passed.
    pub check_in_due: bool,
    pub owner_id: Option<Uuid>,
}

/// An objective with its key results.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectiveOut {
    pub id: Uuid,
    pub title: String,
    pub unit_id: Uuid,
    pub period_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub status: String,
    /// The key result it was cascaded from.
    pub parent_key_result_id: Option<Uuid>,
    /// 0–1, the weighted mean of its key results.
    pub progress: String,
    pub key_results: Vec<KeyResultOut>,
}

fn key_result_out(cascade: &Cascade, k: &KeyResultRow, today: &NaiveDate) -> KeyResultOut {
    KeyResultOut {
        id: k.id,
        objective_id: k.objective_id,
        title: k.title.clone(),
        metric: k.metric.clone(),
        unit: k.unit.clone(),
        unit_label: k.unit_label.clone(),
        direction: k.direction.clone(),
        start_value: text(k.start_value),
        target: k.target.map(text),
        band_lower: k.band_lower.map(text),
        band_upper: k.band_upper.map(text),
        weight: text(k.weight),
        progress_source: k.progress_source.clone(),
        value: k.value.map(text),
        confidence: k.confidence,
        progress: text(cascade.key_result_progress(&k.id)),
        since: k.since,
        check_in_due: k.check_in_due(today),
        owner_id: k.owner_id,
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
pub async fn objectives(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ObjectiveQuery>,
) -> ApiResult<Json<Vec<ObjectiveOut>>> {
    let mut problems = Vec::new();
    let unit = optional_id("unit", query.unit.as_deref(), &mut problems);
    let period = optional_id("period", query.period.as_deref(), &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let today = crate::org::settings::today(&state).await?;
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
        .map(|o| ObjectiveOut {
            id: o.id,
            title: o.title.clone(),
            unit_id: o.unit_id,
            period_id: o.period_id,
            owner_id: o.owner_id,
            status: o.status.clone(),
            parent_key_result_id: o.parent_key_result_id,
            progress: text(cascade.objective_progress(&o.id)),
            key_results: cascade
                .key_results_of(&o.id)
                .map(|k| key_result_out(&cascade, k, &today))
                .collect(),
        })
        .collect();
    Ok(Json(objectives))
}

/// A key result as its cascade computes it.
async fn key_result_json(state: &AppState, id: Uuid) -> ApiResult<KeyResultOut> {
    let key_result = load_key_result(&state.db, id).await?;
    let cascade = cascade::load(&state.db, &[key_result.objective_id]).await?;
    let today = crate::org::settings::today(state).await?;
    let row = cascade
        .key_results
        .iter()
        .find(|k| k.id == id)
        .ok_or(ApiError::NotFound)?;
    Ok(key_result_out(&cascade, row, &today))
}

/// Read a key result
#[utoipa::path(get, path = "/api/v1/key-results/{id}", tag = "OKRs",
    params(("id" = Uuid, Path, description = "The key result's id")),
    responses(
        (status = 200, description = "The key result, its value and progress", body = KeyResultOut),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key result", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn key_result(
    State(state): State<AppState>,
    ApiId(id): ApiId,
) -> ApiResult<Json<KeyResultOut>> {
    Ok(Json(key_result_json(&state, id).await?))
}

/// A check-in.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CheckInIn {
    /// The key result's current value, a decimal.
    #[schema(example = "42")]
    pub value: String,
    /// 0–10: how sure the owner is the target will be met.
    #[schema(example = 7)]
    pub confidence: Option<i64>,
    #[schema(example = "2026-06-01", format = Date)]
    pub checked_on: String,
    pub note: Option<String>,
}

/// Check in on a key result
#[utoipa::path(post, path = "/api/v1/key-results/{id}/check-ins", tag = "OKRs", request_body = CheckInIn,
    params(("id" = Uuid, Path, description = "The key result's id")),
    responses(
        (status = 201, description = "Recorded; the key result as it is now", body = KeyResultOut),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to check in on it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key result", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Its period is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn check_in(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    ApiId(id): ApiId,
    body: Result<ApiJson<CheckInIn>, ApiError>,
) -> ApiResult<Response> {
    let closed =
        || ApiError::Conflict("The key result's period is closed: its OKRs are read-only".into());
    let (key_result, _) = key_result_to_change(&state, &me, &client, id)
        .await?
        .map_err(|_| closed())?;
    let ApiJson(input) = body?;
    let form = CheckInForm {
        value: input.value,
        confidence: input.confidence.map(|c| c.to_string()).unwrap_or_default(),
        note: input.note.unwrap_or_default(),
        checked_on: input.checked_on,
    };
    match record_check_in(&state, &me, &client, &key_result, &form).await? {
        Ok(()) => Ok((
            StatusCode::CREATED,
            Json(key_result_json(&state, id).await?),
        )
            .into_response()),
        Err(CheckInRefused::Invalid(errors)) => Err(errors.into()),
        Err(CheckInRefused::PeriodClosed) => Err(closed()),
    }
}

/// An outcome serving a key result.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkOut {
    pub outcome_id: Uuid,
    pub key_result_id: Uuid,
    pub key_result_title: String,
}

/// The outcome and key result a link path names; a malformed id names nothing (404).
fn link_ids(path: (String, String)) -> ApiResult<(Uuid, Uuid)> {
    let parse = |text: &str| Uuid::parse_str(text).map_err(|_| ApiError::NotFound);
    Ok((parse(&path.0)?, parse(&path.1)?))
}

/// Say an outcome serves a key result
#[utoipa::path(put, path = "/api/v1/outcomes/{id}/key-results/{key_result_id}", tag = "OKRs",
    params(("id" = Uuid, Path, description = "The outcome's id"),
           ("key_result_id" = Uuid, Path, description = "The key result's id")),
    responses(
        (status = 201, description = "Linked", body = LinkOut),
        (status = 200, description = "Linked already", body = LinkOut),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this outcome", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such outcome or key result", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn link(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Path(path): Path<(String, String)>,
) -> ApiResult<Response> {
    let (outcome, key_result) = link_ids(path)?;
    crate::okrs::links::outcome_parent(&state, &me, &client, outcome).await?;
    let title: String = sqlx::query_scalar("SELECT title FROM key_results WHERE id = $1")
        .bind(key_result)
        .fetch_optional(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let status = match crate::okrs::links::link(&state, &me, &client, outcome, key_result).await? {
        Some(_) => StatusCode::CREATED,
        None => StatusCode::OK,
    };
    let body = LinkOut {
        outcome_id: outcome,
        key_result_id: key_result,
        key_result_title: title,
    };
    Ok((status, Json(body)).into_response())
}

/// Say an outcome no longer serves a key result
#[utoipa::path(delete, path = "/api/v1/outcomes/{id}/key-results/{key_result_id}", tag = "OKRs",
    params(("id" = Uuid, Path, description = "The outcome's id"),
           ("key_result_id" = Uuid, Path, description = "The key result's id")),
    responses(
        (status = 204, description = "The link is gone"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this outcome", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such outcome, or no such link", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn unlink(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Path(path): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (outcome, key_result) = link_ids(path)?;
    crate::okrs::links::outcome_parent(&state, &me, &client, outcome).await?;
    if crate::okrs::links::unlink(&state, &me, &client, outcome, key_result).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
