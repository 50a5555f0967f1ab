//! Key results: a list (keyset pages), one with its value, progress and ETag, adding one
//! to an objective, updating it (with `If-Match`), check-ins — what an analytics job needs
//! to keep key results current — and the contribution links from outcomes. The pages'
//! cascade, key-result, check-in and link functions do the work.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{
    ApiId, ApiJson, ApiPath, ApiQuery, IfMatch, decimal as text, etag, optional_id, page_limit,
};
use super::problem::{ApiError, Problem};
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::http::AppState;
use crate::http::page::Refused;
use crate::http::page::next_page;
use crate::okrs::cascade::{self, Cascade, KEY_RESULT_VALUE, KeyResultRow};
use crate::okrs::key_results::{
    CheckInForm, CheckInRefused, KeyResult, KeyResultForm, create_key_result, key_result_to_change,
    load_key_result, record_check_in, update_key_result,
};

type ApiResult<T> = std::result::Result<T, ApiError>;

/// A key result with the value it follows and its progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyResultOut {
    pub id: Uuid,
    /// Send it back in `If-Match` (as the ETag, quoted) to update.
    pub version: i32,
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
    /// The key an analytics job posts its values for.
    pub metric_key: Option<String>,
}

pub(super) fn key_result_out(
    cascade: &Cascade,
    k: &KeyResultRow,
    today: &NaiveDate,
) -> KeyResultOut {
    KeyResultOut {
        id: k.id,
        version: k.version,
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
        metric_key: k.metric_key.clone(),
    }
}

/// A key result as its cascade computes it, with its ETag.
async fn key_result_response(
    state: &AppState,
    me: &Me,
    id: Uuid,
    status: StatusCode,
) -> ApiResult<Response> {
    let cascade = cascade::of_key_result(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let today = me.today(&state.clock);
    let row = cascade
        .key_results
        .iter()
        .find(|k| k.id == id)
        .ok_or(ApiError::NotFound)?;
    Ok((
        status,
        [
            (header::ETAG, etag(row.version)),
            (header::LOCATION, format!("/api/v1/key-results/{id}")),
        ],
        Json(key_result_out(&cascade, row, &today)),
    )
        .into_response())
}

/// A key result as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyResultSummary {
    pub id: Uuid,
    pub version: i32,
    pub objective_id: Uuid,
    pub unit_id: Uuid,
    pub period_id: Uuid,
    pub title: String,
    pub metric: String,
    /// check_ins, roll_up or outcome.
    pub progress_source: String,
    /// The latest check-in's value, or the linked outcome's latest measurement, a decimal
    /// as text. Read the key result for its progress.
    pub value: Option<String>,
    pub confidence: Option<i16>,
    pub owner_id: Option<Uuid>,
}

#[derive(Debug, sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    version: i32,
    objective_id: Uuid,
    unit_id: Uuid,
    period_id: Uuid,
    title: String,
    metric: String,
    progress_source: String,
    value: Option<rust_decimal::Decimal>,
    confidence: Option<i16>,
    owner_id: Option<Uuid>,
}

impl From<SummaryRow> for KeyResultSummary {
    fn from(k: SummaryRow) -> Self {
        KeyResultSummary {
            id: k.id,
            version: k.version,
            objective_id: k.objective_id,
            unit_id: k.unit_id,
            period_id: k.period_id,
            title: k.title,
            metric: k.metric,
            progress_source: k.progress_source,
            value: k.value.map(text),
            confidence: k.confidence,
            owner_id: k.owner_id,
        }
    }
}

/// One page of key results.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyResultList {
    pub items: Vec<KeyResultSummary>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next: Option<Uuid>,
}

/// Which key results.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct KeyResultQuery {
    /// An org unit: key results of its objectives and of every unit beneath it.
    unit: Option<String>,
    /// A period: key results of objectives in it or in periods within it.
    period: Option<String>,
    /// The owner's person id.
    owner: Option<String>,
    /// Text in the title or metric.
    q: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// 1–200 (default 50).
    limit: Option<String>,
}

/// List key results
#[utoipa::path(get, path = "/api/v1/key-results", tag = "OKRs", params(KeyResultQuery),
    responses(
        (status = 200, description = "A page of key results, newest first", body = KeyResultList),
        (status = 400, description = "The query string cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<KeyResultQuery>,
) -> ApiResult<Json<KeyResultList>> {
    let mut problems = Vec::new();
    let unit = optional_id("unit", query.unit.as_deref(), &mut problems);
    let period = optional_id("period", query.period.as_deref(), &mut problems);
    let owner = optional_id("owner", query.owner.as_deref(), &mut problems);
    let after = optional_id("after", query.after.as_deref(), &mut problems);
    let limit = page_limit(query.limit.as_deref(), &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let mut rows: Vec<SummaryRow> = sqlx::query_as(&format!(
        "SELECT k.id, k.version, k.objective_id, o.org_unit_id AS unit_id, o.period_id, k.title, k.metric,
                k.progress_source, {KEY_RESULT_VALUE} AS value, k.confidence, k.owner_id
           FROM key_results k JOIN objectives o ON o.id = k.objective_id
          WHERE ($1::uuid IS NULL OR o.org_unit_id IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1))
            AND ($2::uuid IS NULL OR o.period_id IN (
                  SELECT inner_p.id FROM periods p JOIN periods inner_p
                      ON inner_p.starts_on >= p.starts_on AND inner_p.ends_on <= p.ends_on
                   WHERE p.id = $2))
            AND ($3::uuid IS NULL OR k.owner_id = $3)
            AND ($4::text IS NULL OR k.title ILIKE $4 OR k.metric ILIKE $4)
            AND ($5::uuid IS NULL OR (k.created_at, k.id) < (SELECT created_at, id FROM key_results WHERE id = $5))
          ORDER BY k.created_at DESC, k.id DESC
          LIMIT $6"
    ))
    .bind(unit)
    .bind(period)
    .bind(owner)
    .bind(q.map(crate::people::like_pattern))
    .bind(after)
    .bind(limit + 1)
    .fetch_all(&state.db)
    .await?;
    let next = next_page(&mut rows, limit, |k| k.id);
    Ok(Json(KeyResultList {
        items: rows.into_iter().map(KeyResultSummary::from).collect(),
        next,
    }))
}

/// Read a key result
#[utoipa::path(get, path = "/api/v1/key-results/{id}", tag = "OKRs",
    params(("id" = Uuid, Path, description = "The key result's id")),
    responses(
        (status = 200, description = "The key result, its value and progress", body = KeyResultOut,
         headers(("ETag" = String, description = "Its version, quoted"))),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key result", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn key_result(
    State(state): State<AppState>,
    me: Me,
    ApiId(id): ApiId,
) -> ApiResult<Response> {
    key_result_response(&state, &me, id, StatusCode::OK).await
}

/// A key result to add, or its new state (every field; what is left out is emptied).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct KeyResultIn {
    #[schema(example = "Raise first-week completion")]
    pub title: String,
    #[schema(example = "Onboarding completion within 7 days")]
    pub metric: String,
    /// percent, count, currency, duration, score or custom.
    #[schema(example = "percent")]
    pub unit: String,
    pub unit_label: Option<String>,
    /// increase, decrease or stay_within.
    #[schema(example = "increase")]
    pub direction: String,
    #[schema(example = "62")]
    pub start_value: String,
    #[schema(example = "80")]
    pub target: Option<String>,
    pub band_lower: Option<String>,
    pub band_upper: Option<String>,
    /// The one person accountable for it.
    #[schema(example = "priya@example.org")]
    pub owner_email: String,
    /// Its share in the objective's progress (default 1).
    #[schema(example = "1")]
    pub weight: Option<String>,
    /// check_ins or roll_up (from the objectives cascaded from it). One following an
    /// outcome keeps that source.
    #[schema(example = "check_ins")]
    pub progress_source: String,
    /// Lets an analytics job check in: `POST /api/v1/metrics/{key}/values`.
    #[schema(example = "onboarding.completion_rate_7d")]
    pub metric_key: Option<String>,
}

impl KeyResultIn {
    fn form(self, objective: Uuid) -> KeyResultForm {
        let text = |v: Option<String>| v.unwrap_or_default();
        KeyResultForm {
            objective_id: objective.to_string(),
            title: self.title,
            metric: self.metric,
            unit: self.unit,
            unit_label: text(self.unit_label),
            direction: self.direction,
            start_value: self.start_value,
            target: text(self.target),
            band_lower: text(self.band_lower),
            band_upper: text(self.band_upper),
            owner_email: self.owner_email,
            weight: text(self.weight),
            progress_source: self.progress_source,
            metric_key: text(self.metric_key),
            source_outcome_id: String::new(),
            version: String::new(),
        }
    }
}

/// Add a key result to an objective
#[utoipa::path(post, path = "/api/v1/objectives/{id}/key-results", tag = "OKRs", request_body = KeyResultIn,
    params(("id" = Uuid, Path, description = "The objective's id")),
    responses(
        (status = 201, description = "Added", body = KeyResultOut,
         headers(("ETag" = String, description = "Its version"), ("Location" = String, description = "Its address"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this objective", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such objective", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Its period is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    ApiId(objective): ApiId,
    body: Result<ApiJson<KeyResultIn>, ApiError>,
) -> ApiResult<Response> {
    super::objectives::objective_to_change(&state, &me, &client, objective).await?;
    let ApiJson(input) = body?;
    let id = create_key_result(&state, &me, &client, objective, &input.form(objective))
        .await?
        .map_err(ApiError::from)?;
    key_result_response(&state, &me, id, StatusCode::CREATED).await
}

/// The key result, when the person may change it and its period is open (409 otherwise).
async fn key_result_to_edit(
    state: &AppState,
    me: &Me,
    client: &str,
    id: Uuid,
) -> ApiResult<KeyResult> {
    key_result_to_change(state, me, client, id)
        .await?
        .map(|(key_result, _)| key_result)
        .map_err(|_| {
            ApiError::Conflict("The key result's period is closed: its OKRs are read-only".into())
        })
}

/// Update a key result
#[utoipa::path(put, path = "/api/v1/key-results/{id}", tag = "OKRs", request_body = KeyResultIn,
    params(("id" = Uuid, Path, description = "The key result's id"),
           ("If-Match" = String, Header, description = "The ETag of the version you read")),
    responses(
        (status = 200, description = "Saved", body = KeyResultOut, headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this key result", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key result", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Its period is closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The key result changed since that version", body = Problem, content_type = "application/problem+json"),
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
    body: Result<ApiJson<KeyResultIn>, ApiError>,
) -> ApiResult<Response> {
    let key_result = key_result_to_edit(&state, &me, &client, id).await?;
    let version = if_match?.current(key_result.version)?;
    let ApiJson(input) = body?;
    let form = input.form(key_result.objective_id);
    match update_key_result(&state, &me, &client, &key_result, &form, version).await? {
        Ok(()) => key_result_response(&state, &me, id, StatusCode::OK).await,
        Err(Refused::Invalid(errors)) => Err(errors.into()),
        Err(Refused::Stale) => Err(ApiError::PreconditionFailed {
            current: load_key_result(&state.db, id).await?.version,
        }),
    }
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
    let key_result = key_result_to_edit(&state, &me, &client, id).await?;
    let ApiJson(input) = body?;
    let form = CheckInForm {
        value: input.value,
        confidence: input.confidence.map(|c| c.to_string()).unwrap_or_default(),
        note: input.note.unwrap_or_default(),
        checked_on: input.checked_on,
    };
    match record_check_in(&state, &me, &client, &key_result, &form).await? {
        Ok(()) => key_result_response(&state, &me, id, StatusCode::CREATED).await,
        Err(CheckInRefused::Invalid(errors)) => Err(errors.into()),
        Err(CheckInRefused::PeriodClosed) => Err(ApiError::Conflict(
            "The key result's period is closed: its OKRs are read-only".into(),
        )),
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
    ApiPath(path): ApiPath<(String, String)>,
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
    ApiPath(path): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let (outcome, key_result) = link_ids(path)?;
    crate::okrs::links::outcome_parent(&state, &me, &client, outcome).await?;
    if crate::okrs::links::unlink(&state, &me, &client, outcome, key_result).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
