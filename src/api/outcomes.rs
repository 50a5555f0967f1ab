//! Anticipated outcomes and their loops: `POST /api/v1/epics/{id}/outcomes` adds one,
//! `GET /api/v1/outcomes/{id}` reads it with its measurements and loop, `POST …/measurements`
//! records an observed value and `POST …/close` closes the loop (with `If-Match`). The same
//! functions as the pages do the work.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{
    ApiId, ApiJson, ApiQuery, IfMatch, decimal as text, etag, optional_id, page_limit,
};
use super::problem::{ApiError, FieldProblem, Problem};
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::http::AppState;
use crate::http::page::Refused;
use crate::http::page::next_page;
use crate::loops::outcome::{
    CloseForm, CloseRefused, LoopInput, MeasurementForm, close_loop, loop_to_change, loop_view,
    record_measurement,
};
use crate::outcomes::pages::{OutcomeForm, create_outcome, revisions, update_outcome};
use crate::outcomes::parent::{
    COLUMNS, OutcomeRow, Parent, load_parent, loop_state, outcome_row, parent_to_change,
};

type ApiResult<T> = std::result::Result<T, ApiError>;

/// One observed value.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasurementOut {
    #[schema(example = "74.5")]
    pub value: String,
    pub measured_on: NaiveDate,
    pub source: String,
    pub note: String,
}

/// An anticipated outcome with its loop.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomeOut {
    pub id: Uuid,
    /// Send it back in `If-Match` (quoted, as the ETag) to close the loop.
    pub version: i32,
    pub epic_id: Option<Uuid>,
    pub initiative_id: Option<Uuid>,
    /// behaviour or business_result.
    pub kind: String,
    pub statement: String,
    pub metric: String,
    /// percent, count, currency, duration, score or custom.
    pub unit: String,
    pub unit_label: String,
    /// increase, decrease or stay_within.
    pub direction: String,
    pub baseline: String,
    pub target: Option<String>,
    pub band_lower: Option<String>,
    pub band_upper: Option<String>,
    pub measure_by: NaiveDate,
    pub data_source: String,
    pub owner_id: Option<Uuid>,
    /// Its targets are committed (the work was ready); changes to them are revisions.
    pub committed: bool,
    /// Interim checkpoint dates, earliest first.
    pub checkpoints: Vec<NaiveDate>,
    /// The outcome this one leads to (a behaviour leading to a business result).
    pub leads_to_id: Option<Uuid>,
    /// The key an analytics job posts this outcome's values for.
    pub metric_key: Option<String>,
    /// Changes to the commitment after it was made, oldest first.
    pub revisions: Vec<RevisionOut>,
    /// Newest first.
    pub measurements: Vec<MeasurementOut>,
    /// What the latest measurement says against the commitment.
    #[schema(example = "achieved")]
    pub proposed_verdict: String,
    /// Recorded when the loop closed.
    pub verdict: Option<String>,
    pub learnings: String,
    /// iterate, pivot, stop or scale.
    pub next_step: Option<String>,
    pub realised_value: Option<String>,
    pub closed_on: Option<NaiveDate>,
}

/// A change to a committed outcome's baseline, goal or date, with its reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionOut {
    pub revised_at: chrono::DateTime<chrono::Utc>,
    pub revised_by: Option<String>,
    pub reason: String,
    /// The outcome as a sentence before and after.
    pub before: String,
    pub after: String,
}

/// An outcome to add, or its new state (every field; what is left out is emptied). Dates
/// are `YYYY-MM-DD`; values are decimals as text.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct OutcomeIn {
    #[schema(example = "New learners finish onboarding in their first week")]
    pub statement: String,
    /// behaviour or business_result.
    #[schema(example = "behaviour")]
    pub kind: String,
    #[schema(example = "Onboarding completion within 7 days")]
    pub metric: String,
    /// percent, count, currency, duration, score or custom.
    #[schema(example = "percent")]
    pub unit: String,
    pub unit_label: Option<String>,
    /// Where the numbers come from and how they are measured.
    #[schema(example = "Product analytics, onboarding funnel")]
    pub data_source: String,
    /// increase, decrease or stay_within.
    #[schema(example = "increase")]
    pub direction: String,
    #[schema(example = "62")]
    pub baseline: String,
    #[schema(example = "80")]
    pub target: Option<String>,
    pub band_lower: Option<String>,
    pub band_upper: Option<String>,
    #[schema(example = "2026-09-30", format = Date)]
    pub measure_by: String,
    /// Up to three interim checkpoint dates before `measure_by`.
    #[schema(example = json!(["2026-07-31"]))]
    pub checkpoints: Vec<String>,
    /// The outcome this one leads to.
    #[schema(format = Uuid)]
    pub leads_to_id: Option<String>,
    /// Lets an analytics job record measurements: `POST /api/v1/metrics/{key}/values`.
    #[schema(example = "onboarding.completion_rate_7d")]
    pub metric_key: Option<String>,
    /// Left out: the work's owner.
    pub owner_email: Option<String>,
    /// On an update of a committed outcome: why its baseline, goal or date changes.
    #[schema(example = "The baseline was measured on the old funnel")]
    pub reason: Option<String>,
}

impl OutcomeIn {
    /// The form the pages read, for `parent`.
    fn form(self, parent: &Parent) -> OutcomeForm {
        let text = |v: Option<String>| v.unwrap_or_default();
        let checkpoint = |i: usize| self.checkpoints.get(i).cloned().unwrap_or_default();
        let (epic, initiative) = match parent.kind.as_str() {
            "initiative" => (String::new(), parent.id.to_string()),
            _ => (parent.id.to_string(), String::new()),
        };
        OutcomeForm {
            epic,
            initiative,
            checkpoint_1: checkpoint(0),
            checkpoint_2: checkpoint(1),
            checkpoint_3: checkpoint(2),
            statement: self.statement,
            kind: self.kind,
            metric: self.metric,
            unit: self.unit,
            unit_label: text(self.unit_label),
            data_source: self.data_source,
            direction: self.direction,
            baseline: self.baseline,
            target: text(self.target),
            band_lower: text(self.band_lower),
            band_upper: text(self.band_upper),
            measure_by: self.measure_by,
            leads_to: text(self.leads_to_id),
            metric_key: text(self.metric_key),
            owner_email: self
                .owner_email
                .or(parent.owner_email.clone())
                .unwrap_or_default(),
            reason: text(self.reason),
            version: String::new(),
        }
    }
}

/// A measurement to record.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct MeasurementIn {
    #[schema(example = "74.5")]
    pub value: String,
    #[schema(example = "2026-06-01", format = Date)]
    pub measured_on: String,
    #[schema(example = "Analytics warehouse, weekly snapshot")]
    pub source: Option<String>,
    pub note: Option<String>,
}

/// Closing a loop.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CloseIn {
    /// achieved, partially_achieved, not_achieved or inconclusive.
    #[schema(example = "achieved")]
    pub verdict: String,
    /// Needed when the verdict differs from the proposal, or is inconclusive.
    pub reason: Option<String>,
    /// What was learned: why it worked or did not.
    #[schema(example = "The checklist made the first week's steps obvious.")]
    pub learnings: String,
    /// iterate, pivot, stop or scale.
    #[schema(example = "scale")]
    pub next_step: String,
    /// The value realised, in the label of the epic's anticipated value.
    pub realised_value: Option<String>,
}

/// The outcome as the API shows it, with its ETag.
async fn outcome_response(
    state: &AppState,
    me: &Me,
    id: Uuid,
    status: StatusCode,
) -> ApiResult<Response> {
    let outcome = outcome_row(&state.db, id).await?;
    let parent = load_parent(&state.db, outcome.epic_id, outcome.initiative_id).await?;
    let view = loop_view(state, me, &outcome, &parent, LoopInput::default()).await?;
    let revisions = revisions(&state.db, id).await?;
    let body = OutcomeOut {
        id: outcome.id,
        version: outcome.version,
        epic_id: outcome.epic_id,
        initiative_id: outcome.initiative_id,
        kind: outcome.kind.clone(),
        statement: outcome.statement.clone(),
        metric: outcome.metric.clone(),
        unit: outcome.unit.clone(),
        unit_label: outcome.unit_label.clone(),
        direction: outcome.direction.clone(),
        baseline: text(outcome.baseline),
        target: outcome.target.map(text),
        band_lower: outcome.band_lower.map(text),
        band_upper: outcome.band_upper.map(text),
        measure_by: outcome.measure_by,
        data_source: outcome.data_source.clone(),
        owner_id: outcome.owner_id,
        committed: outcome.committed,
        checkpoints: outcome.checkpoints.clone(),
        leads_to_id: outcome.leads_to_id,
        metric_key: outcome.metric_key.clone(),
        revisions: revisions
            .iter()
            .map(|r| RevisionOut {
                revised_at: r.revised_at,
                revised_by: r.revised_by.clone(),
                reason: r.reason.clone(),
                before: r.before_sentence().to_string(),
                after: r.after_sentence().to_string(),
            })
            .collect(),
        measurements: view
            .measurements
            .iter()
            .map(|m| MeasurementOut {
                value: text(m.value),
                measured_on: m.measured_on,
                source: m.source.clone(),
                note: m.note.clone(),
            })
            .collect(),
        proposed_verdict: view.proposed.as_str().to_string(),
        verdict: view.closed.verdict.clone(),
        learnings: view.closed.learnings.clone(),
        next_step: view.closed.next_step.clone(),
        realised_value: view.closed.realised_value.map(text),
        closed_on: view.closed.closed_on,
    };
    Ok((
        status,
        [
            (header::ETAG, etag(outcome.version)),
            (header::LOCATION, format!("/api/v1/outcomes/{id}")),
        ],
        Json(body),
    )
        .into_response())
}

/// An outcome as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomeSummary {
    pub id: Uuid,
    pub version: i32,
    pub epic_id: Option<Uuid>,
    pub initiative_id: Option<Uuid>,
    /// The outcome as one sentence: metric, from baseline to target, by when.
    #[schema(example = "Onboarding completion within 7 days from 62% to 80% by 30 Sep 2026")]
    pub sentence: String,
    pub metric: String,
    pub measure_by: NaiveDate,
    pub owner_id: Option<Uuid>,
    pub committed: bool,
    /// not_started, measuring, due_soon, overdue or closed; absent when the work was
    /// cancelled.
    pub loop_state: Option<String>,
    pub verdict: Option<String>,
}

/// One page of outcomes.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomeList {
    pub items: Vec<OutcomeSummary>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next: Option<Uuid>,
}

#[derive(Debug, sqlx::FromRow)]
struct ListedOutcome {
    parent_status: String,
    #[sqlx(flatten)]
    outcome: OutcomeRow,
}

/// Which outcomes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct OutcomeQuery {
    /// An org unit: outcomes of work of it and of every unit beneath it.
    unit: Option<String>,
    /// The outcome's owner (a person id).
    owner: Option<String>,
    /// The epic whose outcomes to list.
    epic: Option<String>,
    /// The initiative whose own outcomes to list.
    initiative: Option<String>,
    /// `true`: only closed loops; `false`: only open ones.
    closed: Option<String>,
    /// Text in the statement or metric.
    q: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// 1–200 (default 50).
    limit: Option<String>,
}

/// List anticipated outcomes
#[utoipa::path(get, path = "/api/v1/outcomes", tag = "Outcomes", params(OutcomeQuery),
    responses(
        (status = 200, description = "A page of outcomes, newest first", body = OutcomeList),
        (status = 400, description = "The query string cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    me: Me,
    ApiQuery(query): ApiQuery<OutcomeQuery>,
) -> ApiResult<Json<OutcomeList>> {
    let mut problems = Vec::new();
    let unit = optional_id("unit", query.unit.as_deref(), &mut problems);
    let owner = optional_id("owner", query.owner.as_deref(), &mut problems);
    let epic = optional_id("epic", query.epic.as_deref(), &mut problems);
    let initiative = optional_id("initiative", query.initiative.as_deref(), &mut problems);
    let after = optional_id("after", query.after.as_deref(), &mut problems);
    let limit = page_limit(query.limit.as_deref(), &mut problems);
    let closed = match query.closed.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            problems.push(FieldProblem {
                field: "closed".into(),
                message: "Give true or false".into(),
            });
            None
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let mut rows: Vec<ListedOutcome> = sqlx::query_as(&format!(
        "SELECT coalesce(e.status, i.status) AS parent_status, {COLUMNS}
           LEFT JOIN epics e ON e.id = o.epic_id
           LEFT JOIN initiatives i ON i.id = o.initiative_id
          WHERE ($1::uuid IS NULL OR coalesce(e.team_id, i.org_unit_id)
                   IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1))
            AND ($2::uuid IS NULL OR o.owner_id = $2)
            AND ($3::uuid IS NULL OR o.epic_id = $3)
            AND ($4::uuid IS NULL OR o.initiative_id = $4)
            AND ($5::bool IS NULL OR (o.closed_at IS NOT NULL) = $5)
            AND ($6::text IS NULL OR o.statement ILIKE $6 OR o.metric ILIKE $6)
            AND ($7::uuid IS NULL OR (o.created_at, o.id) < (SELECT created_at, id FROM outcomes WHERE id = $7))
          ORDER BY o.created_at DESC, o.id DESC
          LIMIT $8"
    ))
    .bind(unit)
    .bind(owner)
    .bind(epic)
    .bind(initiative)
    .bind(closed)
    .bind(q.map(crate::people::like_pattern))
    .bind(after)
    .bind(limit + 1)
    .fetch_all(&state.db)
    .await?;
    let next = next_page(&mut rows, limit, |r| r.outcome.id);
    let today = me.today(&state.clock);
    let items = rows
        .into_iter()
        .map(|r| {
            let o = r.outcome;
            let state = loop_state(&r.parent_status, o.closed, o.measure_by, today);
            OutcomeSummary {
                id: o.id,
                version: o.version,
                epic_id: o.epic_id,
                initiative_id: o.initiative_id,
                sentence: o.sentence(),
                metric: o.metric,
                measure_by: o.measure_by,
                owner_id: o.owner_id,
                committed: o.committed,
                loop_state: state.map(|s| s.as_str().to_string()),
                verdict: o.verdict,
            }
        })
        .collect();
    Ok(Json(OutcomeList { items, next }))
}

/// Read an outcome and its loop
#[utoipa::path(get, path = "/api/v1/outcomes/{id}", tag = "Outcomes",
    params(("id" = Uuid, Path, description = "The outcome's id")),
    responses(
        (status = 200, description = "The outcome, its measurements and loop", body = OutcomeOut,
         headers(("ETag" = String, description = "Its version, quoted"))),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such outcome", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, me: Me, ApiId(id): ApiId) -> ApiResult<Response> {
    outcome_response(&state, &me, id, StatusCode::OK).await
}

/// Add an anticipated outcome to an epic
#[utoipa::path(post, path = "/api/v1/epics/{id}/outcomes", tag = "Outcomes", request_body = OutcomeIn,
    params(("id" = Uuid, Path, description = "The epic's id")),
    responses(
        (status = 201, description = "Added", body = OutcomeOut, headers(("ETag" = String, description = "Its version"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this epic", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such epic", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    ApiId(epic): ApiId,
    body: Result<ApiJson<OutcomeIn>, ApiError>,
) -> ApiResult<Response> {
    let parent = parent_to_change(&state, &me, &client, Some(epic), None, "outcome", epic).await?;
    create_for(&state, &me, &client, &parent, body).await
}

/// Add an anticipated outcome to an initiative
#[utoipa::path(post, path = "/api/v1/initiatives/{id}/outcomes", tag = "Outcomes", request_body = OutcomeIn,
    params(("id" = Uuid, Path, description = "The initiative's id")),
    responses(
        (status = 201, description = "Added", body = OutcomeOut, headers(("ETag" = String, description = "Its version"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this initiative", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such initiative", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_for_initiative(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    ApiId(initiative): ApiId,
    body: Result<ApiJson<OutcomeIn>, ApiError>,
) -> ApiResult<Response> {
    let parent = parent_to_change(
        &state,
        &me,
        &client,
        None,
        Some(initiative),
        "outcome",
        initiative,
    )
    .await?;
    create_for(&state, &me, &client, &parent, body).await
}

/// Adds the outcome in `body` to `parent`, which the person may change.
async fn create_for(
    state: &AppState,
    me: &Me,
    client: &str,
    parent: &Parent,
    body: Result<ApiJson<OutcomeIn>, ApiError>,
) -> ApiResult<Response> {
    let ApiJson(input) = body?;
    let form = input.form(parent);
    let (id, _) = create_outcome(state, me, client, parent, &form)
        .await?
        .map_err(ApiError::from)?;
    outcome_response(state, me, id, StatusCode::CREATED).await
}

/// Update an outcome
///
/// Once its work is committed, a change to the baseline, goal or date needs a `reason` and
/// is kept as a revision.
#[utoipa::path(put, path = "/api/v1/outcomes/{id}", tag = "Outcomes", request_body = OutcomeIn,
    params(("id" = Uuid, Path, description = "The outcome's id"),
           ("If-Match" = String, Header, description = "The ETag of the version you read")),
    responses(
        (status = 200, description = "Saved", body = OutcomeOut, headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to change this outcome", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such outcome", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The outcome changed since that version", body = Problem, content_type = "application/problem+json"),
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
    body: Result<ApiJson<OutcomeIn>, ApiError>,
) -> ApiResult<Response> {
    let stored = outcome_row(&state.db, id).await?;
    let parent = parent_to_change(
        &state,
        &me,
        &client,
        stored.epic_id,
        stored.initiative_id,
        "outcome",
        id,
    )
    .await?;
    let version = if_match?.current(stored.version)?;
    let ApiJson(input) = body?;
    let form = input.form(&parent);
    match update_outcome(&state, &me, &client, &stored, &parent, &form, version).await? {
        Ok(()) => outcome_response(&state, &me, id, StatusCode::OK).await,
        Err(Refused::Invalid(errors)) => Err(errors.into()),
        Err(Refused::Stale) => {
            let current = outcome_row(&state.db, id).await?;
            Err(ApiError::PreconditionFailed {
                current: current.version,
            })
        }
    }
}

/// Record a measurement
#[utoipa::path(post, path = "/api/v1/outcomes/{id}/measurements", tag = "Outcomes", request_body = MeasurementIn,
    params(("id" = Uuid, Path, description = "The outcome's id")),
    responses(
        (status = 201, description = "Recorded; the outcome as it is now", body = OutcomeOut),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to record on this loop", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such outcome", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn measure(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    ApiId(id): ApiId,
    body: Result<ApiJson<MeasurementIn>, ApiError>,
) -> ApiResult<Response> {
    loop_to_change(&state, &me, &client, id).await?;
    let ApiJson(input) = body?;
    let form = MeasurementForm {
        value: input.value,
        measured_on: input.measured_on,
        source: input.source.unwrap_or_default(),
        note: input.note.unwrap_or_default(),
    };
    record_measurement(&state, &me, &client, id, &form)
        .await?
        .map_err(ApiError::from)?;
    outcome_response(&state, &me, id, StatusCode::CREATED).await
}

/// Close the loop
#[utoipa::path(post, path = "/api/v1/outcomes/{id}/close", tag = "Outcomes", request_body = CloseIn,
    params(("id" = Uuid, Path, description = "The outcome's id"),
           ("If-Match" = String, Header, description = "The ETag of the version you read")),
    responses(
        (status = 200, description = "Closed; the outcome with its verdict", body = OutcomeOut),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to close this loop", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such outcome", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already closed, or the work was cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The outcome changed since that version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn close(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    ApiId(id): ApiId,
    if_match: Result<IfMatch, ApiError>,
    body: Result<ApiJson<CloseIn>, ApiError>,
) -> ApiResult<Response> {
    let (outcome, parent) = loop_to_change(&state, &me, &client, id).await?;
    let version = if_match?.current(outcome.version)?;
    let ApiJson(input) = body?;
    let form = CloseForm {
        verdict: input.verdict,
        reason: input.reason.unwrap_or_default(),
        realised_value: input.realised_value.unwrap_or_default(),
        learnings: input.learnings,
        next_step: input.next_step,
        version: version.to_string(),
    };
    match close_loop(&state, &me, &client, &outcome, &parent, &form, version).await? {
        Ok(_) => outcome_response(&state, &me, id, StatusCode::OK).await,
        Err(CloseRefused::Closed) => Err(ApiError::Conflict("This loop is already closed".into())),
        Err(CloseRefused::Cancelled) => Err(ApiError::Conflict(
            "The work was cancelled: its outcomes have no loop to close".into(),
        )),
        Err(CloseRefused::Invalid(errors)) => Err(errors.into()),
        Err(CloseRefused::Stale) => {
            let current = outcome_row(&state.db, id).await?;
            Err(ApiError::PreconditionFailed {
                current: current.version,
            })
        }
    }
}
