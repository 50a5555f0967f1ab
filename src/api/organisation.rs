//! Reading the organisation: org units (parents before children), periods and active
//! people — what a script needs to fill in the ids other calls take.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::problem::{ApiError, Problem};
use crate::http::AppState;

/// An org unit.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct UnitOut {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    #[schema(example = "Onboarding")]
    pub name: String,
    /// company, division, team or other.
    #[schema(example = "team")]
    pub kind: String,
    pub archived: bool,
}

/// A period.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PeriodOut {
    pub id: Uuid,
    #[schema(example = "2026 Q3")]
    pub name: String,
    /// quarter, year or custom.
    pub cadence: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub closed: bool,
}

/// An active person.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PersonOut {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub title: String,
}

/// List org units
#[utoipa::path(get, path = "/api/v1/units", tag = "Organisation",
    responses(
        (status = 200, description = "Every unit, parents before children", body = Vec<UnitOut>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn units(State(state): State<AppState>) -> Result<Json<Vec<UnitOut>>, ApiError> {
    let units: Vec<UnitOut> = sqlx::query_as(
        "SELECT u.id, u.parent_id, u.name, u.kind, u.archived_at IS NOT NULL AS archived
           FROM org_units u
           JOIN (SELECT descendant_id, max(depth) AS depth FROM org_unit_tree GROUP BY descendant_id) d
             ON d.descendant_id = u.id
          ORDER BY d.depth, lower(u.name), u.id
          LIMIT 5000",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(Json(units))
}

/// List periods
#[utoipa::path(get, path = "/api/v1/periods", tag = "Organisation",
    responses(
        (status = 200, description = "Every period, latest first", body = Vec<PeriodOut>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn periods(State(state): State<AppState>) -> Result<Json<Vec<PeriodOut>>, ApiError> {
    let periods: Vec<PeriodOut> = sqlx::query_as(
        "SELECT id, name, cadence, starts_on, ends_on, closed_at IS NOT NULL AS closed
           FROM periods ORDER BY starts_on DESC, ends_on - starts_on, id LIMIT 1000",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(Json(periods))
}

/// List active people
#[utoipa::path(get, path = "/api/v1/people", tag = "Organisation",
    responses(
        (status = 200, description = "Every active person, by name", body = Vec<PersonOut>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn people(State(state): State<AppState>) -> Result<Json<Vec<PersonOut>>, ApiError> {
    let people: Vec<PersonOut> = sqlx::query_as(
        "SELECT id, name, email, title FROM people WHERE active ORDER BY lower(name), id LIMIT 50000",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(Json(people))
}
