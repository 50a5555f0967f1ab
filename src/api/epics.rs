//! `/api/v1/epics`: list (the filters of `/epics`, keyset pages), read (with its ETag),
//! create and update (with `If-Match`). Writes go through the same functions as the pages:
//! the same rules, messages, permissions and audit rows.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{
    ApiId, ApiJson, ApiQuery, IfMatch, StatusIn, decimal, etag, optional_id, page_limit,
};
use super::problem::{ApiError, Problem};
use crate::auth::guard::{ClientAddr, ensure_may_change};
use crate::auth::policy::Me;
use crate::epics::list::{EpicQuery, EpicRow, find};
use crate::epics::pages::{
    Epic, EpicForm, EpicStatusRefused, change_epic_status, create_epic, epic_to_change, load_epic,
    update_epic,
};
use crate::http::AppState;
use crate::http::page::Refused;
use crate::http::page::next_page;
use crate::planning::capacity::Displacement;

type ApiResult<T> = std::result::Result<T, ApiError>;

/// An epic.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpicOut {
    pub id: Uuid,
    /// Send it back in `If-Match` (as the ETag, quoted) to update.
    #[schema(example = 3)]
    pub version: i32,
    #[schema(example = "Guided first lesson")]
    pub title: String,
    pub description: String,
    pub team_id: Uuid,
    pub initiative_id: Option<Uuid>,
    /// feature, tech_debt, defect or risk.
    #[schema(example = "feature")]
    pub work_type: String,
    /// draft, ready, in_progress, delivered, measuring, closed or cancelled.
    #[schema(example = "draft")]
    pub status: String,
    pub owner_id: Option<Uuid>,
    #[schema(example = "priya@example.org")]
    pub owner_email: Option<String>,
    pub period_id: Option<Uuid>,
    pub why_now: String,
    pub validation_plan: String,
    pub tracker_key: Option<String>,
    pub tracker_url: Option<String>,
    /// The anticipated value, a decimal as text.
    #[schema(example = "120000")]
    pub value: Option<String>,
    #[schema(example = "EUR")]
    pub value_label: String,
    /// 0–10.
    pub confidence: Option<i16>,
    /// Team-weeks, a decimal as text.
    #[schema(example = "4")]
    pub effort_weeks: Option<String>,
}

impl From<&Epic> for EpicOut {
    fn from(e: &Epic) -> Self {
        EpicOut {
            id: e.id,
            version: e.version,
            title: e.title.clone(),
            description: e.description.clone(),
            team_id: e.team_id,
            initiative_id: e.initiative_id,
            work_type: e.work_type.clone(),
            status: e.status.clone(),
            owner_id: e.owner_id,
            owner_email: e.owner_email.clone(),
            period_id: e.period_id,
            why_now: e.why_now.clone(),
            validation_plan: e.validation_plan.clone(),
            tracker_key: e.tracker_key.clone(),
            tracker_url: e.tracker_url.clone(),
            value: e.value.map(decimal),
            value_label: e.value_label.clone(),
            confidence: e.confidence,
            effort_weeks: e.effort_weeks.map(decimal),
        }
    }
}

/// An epic as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpicSummary {
    pub id: Uuid,
    pub version: i32,
    pub title: String,
    pub work_type: String,
    pub status: String,
    pub team_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub period_id: Option<Uuid>,
    /// How many anticipated outcomes it has.
    pub outcomes: i64,
}

impl From<EpicRow> for EpicSummary {
    fn from(e: EpicRow) -> Self {
        EpicSummary {
            id: e.id,
            version: e.version,
            title: e.title,
            work_type: e.work_type,
            status: e.status,
            team_id: e.team_id,
            owner_id: e.owner_id,
            period_id: e.period_id,
            outcomes: e.outcomes,
        }
    }
}

/// One page of epics.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpicList {
    pub items: Vec<EpicSummary>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next: Option<Uuid>,
}

/// The filters, with the names the pages use.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct EpicListQuery {
    /// An org unit: epics of it and of every unit beneath it.
    unit: Option<String>,
    /// feature, tech_debt, defect or risk.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    work_type: Option<String>,
    /// A status, `live` (any but cancelled) or `shipped` (delivered or later).
    status: Option<String>,
    /// The owner's person id.
    owner: Option<String>,
    /// The planned period.
    period: Option<String>,
    /// With `period`: every period from it to this one.
    until: Option<String>,
    /// outcome, owner or alignment.
    missing: Option<String>,
    /// overdue or due_soon.
    #[serde(rename = "loop")]
    #[param(rename = "loop")]
    loop_state: Option<String>,
    /// Text in the title, description or an outcome's statement.
    q: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// 1–200 (default 50).
    limit: Option<String>,
}

impl EpicListQuery {
    fn parse(self) -> ApiResult<(EpicQuery, i64)> {
        let mut problems = Vec::new();
        // Ids are checked, then passed on as typed (the list reads them the same way).
        let mut id = |field: &str, value: Option<String>| -> String {
            optional_id(field, value.as_deref(), &mut problems);
            value.unwrap_or_default()
        };
        let query = EpicQuery {
            unit: id("unit", self.unit),
            owner: id("owner", self.owner),
            period: id("period", self.period),
            until: id("until", self.until),
            after: id("after", self.after),
            work_type: self.work_type.unwrap_or_default(),
            status: self.status.unwrap_or_default(),
            missing: self.missing.unwrap_or_default(),
            loop_state: self.loop_state.unwrap_or_default(),
            q: self.q.unwrap_or_default(),
        };
        let limit = page_limit(self.limit.as_deref(), &mut problems);
        if problems.is_empty() {
            Ok((query, limit))
        } else {
            Err(ApiError::Invalid(problems))
        }
    }
}

/// An epic to create, or its new state (every field; what is left out is emptied).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct EpicIn {
    #[schema(example = "Guided first lesson")]
    pub title: String,
    pub description: Option<String>,
    /// The team that owns it.
    #[schema(format = Uuid)]
    pub team_id: String,
    #[schema(format = Uuid)]
    pub initiative_id: Option<String>,
    /// feature, tech_debt, defect or risk.
    #[schema(example = "feature")]
    pub work_type: String,
    /// Left out: the team's usual owner for this type of work.
    #[schema(example = "priya@example.org")]
    pub owner_email: Option<String>,
    #[schema(format = Uuid)]
    pub period_id: Option<String>,
    pub why_now: Option<String>,
    pub validation_plan: Option<String>,
    pub tracker_key: Option<String>,
    pub tracker_url: Option<String>,
    /// The anticipated value, a decimal.
    #[schema(example = "120000")]
    pub value: Option<String>,
    #[schema(example = "EUR")]
    pub value_label: Option<String>,
    /// 0–10.
    #[schema(example = 7)]
    pub confidence: Option<i64>,
    /// Team-weeks, a decimal.
    #[schema(example = "4")]
    pub effort_weeks: Option<String>,
}

impl EpicIn {
    fn form(self) -> EpicForm {
        let text = |v: Option<String>| v.unwrap_or_default();
        EpicForm {
            title: self.title,
            description: text(self.description),
            team_id: self.team_id,
            initiative_id: text(self.initiative_id),
            work_type: self.work_type,
            owner_email: text(self.owner_email),
            period_id: text(self.period_id),
            why_now: text(self.why_now),
            validation_plan: text(self.validation_plan),
            tracker_key: text(self.tracker_key),
            tracker_url: text(self.tracker_url),
            value: text(self.value),
            value_label: text(self.value_label),
            confidence: self.confidence.map(|c| c.to_string()).unwrap_or_default(),
            effort_weeks: text(self.effort_weeks),
            follow_up_of: String::new(),
            version: String::new(),
        }
    }
}

/// An epic with its ETag.
fn with_etag(status: StatusCode, epic: &Epic) -> Response {
    (
        status,
        [
            (header::ETAG, etag(epic.version)),
            (header::LOCATION, format!("/api/v1/epics/{}", epic.id)),
        ],
        Json(EpicOut::from(epic)),
    )
        .into_response()
}

/// List epics
#[utoipa::path(get, path = "/api/v1/epics", tag = "Epics", params(EpicListQuery),
    responses(
        (status = 200, description = "A page of epics, newest first", body = EpicList),
        (status = 400, description = "The query string cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    me: Me,
    ApiQuery(query): ApiQuery<EpicListQuery>,
) -> ApiResult<Json<EpicList>> {
    let (query, limit) = query.parse()?;
    let today = me.today(&state.clock);
    let mut rows = find(&state.db, &query, today, limit + 1).await?;
    let next = next_page(&mut rows, limit, |e| e.id);
    Ok(Json(EpicList {
        items: rows.into_iter().map(EpicSummary::from).collect(),
        next,
    }))
}

/// Read an epic
#[utoipa::path(get, path = "/api/v1/epics/{id}", tag = "Epics",
    params(("id" = Uuid, Path, description = "The epic's id")),
    responses(
        (status = 200, description = "The epic; its ETag is its version", body = EpicOut,
         headers(("ETag" = String, description = "The version, quoted: send it in If-Match to update"))),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such epic", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, ApiId(id): ApiId) -> ApiResult<Response> {
    let epic = load_epic(&state.db, id).await?;
    Ok(with_etag(StatusCode::OK, &epic))
}

/// Create an epic
#[utoipa::path(post, path = "/api/v1/epics", tag = "Epics", request_body = EpicIn,
    responses(
        (status = 201, description = "Created", body = EpicOut,
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
    ApiJson(input): ApiJson<EpicIn>,
) -> ApiResult<Response> {
    let form = input.form();
    let id = create_epic(&state, &me, &client, &form)
        .await?
        .map_err(ApiError::from)?;
    let epic = load_epic(&state.db, id).await?;
    Ok(with_etag(StatusCode::CREATED, &epic))
}

/// Update an epic
#[utoipa::path(put, path = "/api/v1/epics/{id}", tag = "Epics", request_body = EpicIn,
    params(("id" = Uuid, Path, description = "The epic's id"),
           ("If-Match" = String, Header, description = "The ETag of the version you read")),
    responses(
        (status = 200, description = "Saved", body = EpicOut, headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this epic", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such epic", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The epic changed since that version", body = Problem, content_type = "application/problem+json"),
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
    body: Result<ApiJson<EpicIn>, ApiError>,
) -> ApiResult<Response> {
    // Whether the person may change it comes first: a refusal says nothing of the rest.
    let epic = load_epic(&state.db, id).await?;
    ensure_may_change(
        &state,
        &me,
        &client,
        epic.team_id,
        epic.owner_id,
        "epic",
        id,
    )
    .await?;
    let version = if_match?.current(epic.version)?;
    let ApiJson(input) = body?;
    match update_epic(&state, &me, &client, &epic, &input.form(), version).await? {
        Ok(()) => {
            let epic = load_epic(&state.db, id).await?;
            Ok(with_etag(StatusCode::OK, &epic))
        }
        Err(Refused::Invalid(errors)) => Err(errors.into()),
        Err(Refused::Stale) => {
            let current = load_epic(&state.db, id).await?;
            Err(ApiError::PreconditionFailed {
                current: current.version,
            })
        }
    }
}

/// Move an epic on
///
/// To `ready` (which commits its outcomes), `in_progress`, `delivered` (stored as
/// `measuring`), `closed`, `cancelled` or back to `draft`, as its page offers. Committing
/// work that would exceed its team's capacity is refused with 409: make room on the epic's
/// page.
#[utoipa::path(post, path = "/api/v1/epics/{id}/status", tag = "Epics", request_body = StatusIn,
    params(("id" = Uuid, Path, description = "The epic's id"),
           ("If-Match" = String, Header, description = "The ETag of the version you read")),
    responses(
        (status = 200, description = "Moved", body = EpicOut, headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this epic", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such epic", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible from its status, not ready, or over capacity", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The epic changed since that version", body = Problem, content_type = "application/problem+json"),
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
    let epic = epic_to_change(&state, &me, &client, id, "epic", id).await?;
    let version = if_match?.current(epic.version)?;
    let ApiJson(input) = body?;
    let changed = change_epic_status(
        &state,
        &me,
        &client,
        &epic,
        &input.status,
        version,
        &Displacement::default(),
    )
    .await?;
    let current = load_epic(&state.db, id).await?;
    match changed {
        Ok(_) => Ok(with_etag(StatusCode::OK, &current)),
        Err(EpicStatusRefused::Status(refused)) => Err(ApiError::status_refused(
            refused,
            "draft, ready, in_progress, delivered, measuring, closed or cancelled",
            current.version,
        )),
        Err(EpicStatusRefused::NotReady(missing)) => Err(ApiError::Conflict(
            missing
                .into_iter()
                .map(|n| n.message())
                .collect::<Vec<_>>()
                .join(" "),
        )),
        Err(EpicStatusRefused::MakeRoom(_)) => Err(ApiError::Conflict(format!(
            "Committing this epic would exceed its team's capacity in its period: make room at /epics/{id}, or raise the capacity"
        ))),
    }
}
