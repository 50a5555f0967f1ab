//! `GET /api/v1/loops`: the loop-closure queue of `/loops` (open loops overdue, due soon or
//! measuring, most urgent first), with its filters and keyset pages. The page's query does
//! the work.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiQuery, optional_id, page_limit};
use super::problem::{ApiError, FieldProblem, Problem};
use crate::auth::policy::Me;
use crate::http::AppState;
use crate::http::page::next_page;
use crate::loops::queue::{OpenLoop, Scope, Wanted, open_loops};
use crate::outcomes::model::LoopState;

/// An open loop.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoopOut {
    /// The outcome's id: read it, record measurements on it, close it.
    pub outcome_id: Uuid,
    pub metric: String,
    pub statement: String,
    pub measure_by: NaiveDate,
    /// overdue, due_soon or measuring.
    #[schema(example = "overdue")]
    pub loop_state: String,
    /// "12 days overdue", "due in 3 days".
    pub when: String,
    pub owner_name: Option<String>,
    /// epic or initiative.
    pub parent_kind: String,
    pub parent_id: Uuid,
    pub parent_title: String,
    pub unit_id: Uuid,
}

/// One page of the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoopList {
    pub items: Vec<LoopOut>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next: Option<Uuid>,
}

/// Whose loops, with the names `/loops` uses.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct LoopQuery {
    /// me (the token owner's, the default), unit (with `unit`) or org.
    scope: Option<String>,
    /// With `scope=unit`: the unit, with everything beneath it.
    unit: Option<String>,
    /// overdue, due_soon or measuring.
    #[serde(rename = "loop")]
    #[param(rename = "loop")]
    loop_state: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// 1–200 (default 50).
    limit: Option<String>,
}

/// List open loops
#[utoipa::path(get, path = "/api/v1/loops", tag = "Outcomes", params(LoopQuery),
    responses(
        (status = 200, description = "A page of open loops, most urgent first", body = LoopList),
        (status = 400, description = "The query string cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    me: Me,
    ApiQuery(query): ApiQuery<LoopQuery>,
) -> Result<Json<LoopList>, ApiError> {
    let mut problems = Vec::new();
    let unit = optional_id("unit", query.unit.as_deref(), &mut problems);
    let after = optional_id("after", query.after.as_deref(), &mut problems);
    let limit = page_limit(query.limit.as_deref(), &mut problems);
    let mut problem = |field: &str, message: &str| {
        problems.push(FieldProblem {
            field: field.into(),
            message: message.into(),
        })
    };
    let scope = match (query.scope.as_deref().unwrap_or("me").trim(), unit) {
        ("me" | "", _) => Scope::Me,
        ("org", _) => Scope::Org,
        ("unit", Some(unit)) => Scope::Unit(unit),
        ("unit", None) => {
            problem("unit", "Give the unit whose loops to list");
            Scope::Me
        }
        _ => {
            problem("scope", "Give me, unit or org");
            Scope::Me
        }
    };
    let only = match query.loop_state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match LoopState::parse(text) {
            Ok(s @ (LoopState::Overdue | LoopState::DueSoon | LoopState::Measuring)) => Some(s),
            _ => {
                problem("loop", "Give overdue, due_soon or measuring");
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let today = me.today(&state.clock);
    let wanted = Wanted {
        urgent_only: false,
        state: only,
        after,
    };
    let mut rows = open_loops(&state.db, &me, scope, today, wanted, limit + 1).await?;
    let next = next_page(&mut rows, limit, |l| l.id);
    let items = rows.iter().map(|l| loop_out(l, &today)).collect();
    Ok(Json(LoopList { items, next }))
}

fn loop_out(l: &OpenLoop, today: &NaiveDate) -> LoopOut {
    LoopOut {
        outcome_id: l.id,
        metric: l.metric.clone(),
        statement: l.statement.clone(),
        measure_by: l.measure_by,
        loop_state: l
            .state(today)
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        when: l.when(today),
        owner_name: l.owner_name.clone(),
        parent_kind: l.parent_kind.clone(),
        parent_id: l.parent_id,
        parent_title: l.parent_title.clone(),
        unit_id: l.unit_id,
    }
}
