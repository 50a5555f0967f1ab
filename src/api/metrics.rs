//! Metric ingestion: `POST /api/v1/metrics/{key}/values`. An analytics job posts a metric's
//! value for a day, and every anticipated outcome bound to the key gets a measurement and
//! every key result a check-in — the data side of closing the loop, without anyone typing.
//!
//! Posting the same key, day and value again changes nothing (each record answers
//! `unchanged`); one transaction holds a lock on the key, so concurrent posts of the same
//! value cannot both record it. Each record is checked as its page checks it: the person
//! behind the token may change it, its loop is open, its period is open.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, decimal};
use super::problem::{ApiError, FieldProblem, Problem};
use crate::auth::guard::ClientAddr;
use crate::auth::policy::{Me, may_change_record};
use crate::http::AppState;
use crate::loops::outcome::{Measured, insert_measurement};
use crate::okrs::key_results::{CheckedIn, insert_check_in};
use crate::okrs::model::ProgressSource;
use crate::outcomes::model::{MetricKey, parse_value};
use crate::periods::model::parse_date;

/// A metric's value on a day.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct MetricValueIn {
    /// A decimal.
    #[schema(example = "74.5")]
    pub value: String,
    /// The day it was measured (not in the future).
    #[schema(example = "2026-06-01", format = Date)]
    pub date: String,
    /// Where it came from; left out: "metric <key>".
    #[schema(example = "Warehouse job onboarding_daily")]
    pub source: Option<String>,
    pub note: Option<String>,
    /// 0–10, for key results: how sure their owners are. Left out: each key result keeps
    /// its latest confidence.
    #[schema(example = 7)]
    pub confidence: Option<i64>,
}

/// What happened to one record bound to the key.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricRecordOut {
    /// outcome or key_result.
    #[schema(example = "outcome")]
    pub kind: String,
    pub id: Uuid,
    pub title: String,
    /// recorded, unchanged (this day's value was there already) or skipped.
    #[schema(example = "recorded")]
    pub result: String,
    /// Why it was skipped.
    pub reason: Option<String>,
}

/// The records the value went to.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricValueOut {
    #[schema(example = "onboarding.completion_rate_7d")]
    pub key: String,
    pub value: String,
    pub date: NaiveDate,
    pub records: Vec<MetricRecordOut>,
}

#[derive(Debug, sqlx::FromRow)]
struct BoundOutcome {
    id: Uuid,
    title: String,
    unit_id: Uuid,
    owner_id: Option<Uuid>,
    parent_owner_id: Option<Uuid>,
    closed: bool,
    cancelled: bool,
    already: bool,
}

#[derive(Debug, sqlx::FromRow)]
struct BoundKeyResult {
    id: Uuid,
    title: String,
    unit_id: Uuid,
    owner_id: Option<Uuid>,
    progress_source: String,
    confidence: Option<i16>,
    period_closed: bool,
    already: bool,
}

/// The value checked: the value, the day, the source, the note and the confidence.
struct Checked {
    value: Decimal,
    date: NaiveDate,
    source: String,
    note: String,
    confidence: Option<i16>,
}

impl MetricValueIn {
    fn check(&self, key: &MetricKey, today: NaiveDate) -> Result<Checked, ApiError> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, message: String| {
            problems.push(FieldProblem {
                field: field.into(),
                message,
            })
        };
        let value = parse_value(&self.value, "value")
            .map_err(|m| problem("value", m))
            .ok();
        let date = match parse_date(&self.date, "day it was measured") {
            Ok(d) if d > today => {
                problem("date", "A value cannot be for a day in the future".into());
                None
            }
            Ok(d) => Some(d),
            Err(m) => {
                problem("date", m);
                None
            }
        };
        let source = match self.source.as_deref().map(str::trim) {
            None | Some("") => format!("metric {}", key.as_str()),
            Some(text) => text.to_string(),
        };
        let note = self.note.as_deref().unwrap_or_default().trim().to_string();
        for (field, text, max) in [("source", &source, 500), ("note", &note, 2_000)] {
            if text.chars().count() > max {
                problem(
                    field,
                    format!("The {field} must be {max} characters or fewer"),
                );
            }
            if text.contains('\0') {
                problem(field, format!("The {field} cannot contain a NUL character"));
            }
        }
        let confidence = match self.confidence {
            None => None,
            Some(c @ 0..=10) => Some(c as i16),
            Some(_) => {
                problem("confidence", "Give a confidence from 0 to 10".into());
                None
            }
        };
        match (value, date) {
            (Some(value), Some(date)) if problems.is_empty() => Ok(Checked {
                value,
                date,
                source,
                note,
                confidence,
            }),
            _ => Err(ApiError::Invalid(problems)),
        }
    }
}

fn outcome(o: &BoundOutcome, result: &str, reason: Option<&str>) -> MetricRecordOut {
    MetricRecordOut {
        kind: "outcome".into(),
        id: o.id,
        title: o.title.clone(),
        result: result.into(),
        reason: reason.map(str::to_string),
    }
}

fn key_result(k: &BoundKeyResult, result: &str, reason: Option<&str>) -> MetricRecordOut {
    MetricRecordOut {
        kind: "key_result".into(),
        id: k.id,
        title: k.title.clone(),
        result: result.into(),
        reason: reason.map(str::to_string),
    }
}

const NOT_ALLOWED: &str =
    "You may not change it: its unit's members, its owner and administrators may";

/// Post a metric's value
///
/// Records a measurement on every anticipated outcome and a check-in on every key result
/// bound to the key, and answers what happened to each. The same key, day and value
/// again changes nothing.
#[utoipa::path(post, path = "/api/v1/metrics/{key}/values", tag = "Metrics", request_body = MetricValueIn,
    params(("key" = String, Path, description = "The metric key, e.g. onboarding.completion_rate_7d")),
    responses(
        (status = 200, description = "What happened to each record bound to the key", body = MetricValueOut),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A read-only token, or a viewer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No outcome or key result has this key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a malformed key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn post_value(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    ApiPath(key): ApiPath<String>,
    body: Result<ApiJson<MetricValueIn>, ApiError>,
) -> Result<Json<MetricValueOut>, ApiError> {
    let key = MetricKey::parse(&key).map_err(|m| ApiError::invalid("key", &m))?;
    let ApiJson(input) = body?;
    let today = me.today(&state.clock);
    let value = input.check(&key, today)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // One post per key at a time: "already there?" and the insert see the same rows.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("metric:{}", key.as_str()))
        .execute(&mut *tx)
        .await?;
    let outcomes: Vec<BoundOutcome> = sqlx::query_as(
        "SELECT o.id, o.statement AS title, coalesce(e.team_id, i.org_unit_id) AS unit_id, o.owner_id,
                coalesce(e.owner_id, i.owner_id) AS parent_owner_id, o.closed_at IS NOT NULL AS closed,
                coalesce(e.status, i.status) = 'cancelled' AS cancelled,
                EXISTS (SELECT 1 FROM measurements m
                         WHERE m.outcome_id = o.id AND m.measured_on = $2 AND m.value = $3) AS already
           FROM outcomes o
           LEFT JOIN epics e ON e.id = o.epic_id
           LEFT JOIN initiatives i ON i.id = o.initiative_id
          WHERE o.metric_key = $1
          ORDER BY o.created_at, o.id",
    )
    .bind(key.as_str())
    .bind(value.date)
    .bind(value.value)
    .fetch_all(&mut *tx)
    .await?;
    // Each period stays open until this transaction ends (closing one waits for it).
    let key_results: Vec<BoundKeyResult> = sqlx::query_as(
        "SELECT k.id, k.title, o.org_unit_id AS unit_id, k.owner_id, k.progress_source, k.confidence,
                pe.closed_at IS NOT NULL AS period_closed,
                EXISTS (SELECT 1 FROM check_ins c
                         WHERE c.key_result_id = k.id AND c.checked_on = $2 AND c.value = $3) AS already
           FROM key_results k
           JOIN objectives o ON o.id = k.objective_id
           JOIN periods pe ON pe.id = o.period_id
          WHERE k.metric_key = $1
          ORDER BY k.created_at, k.id
            FOR SHARE OF pe",
    )
    .bind(key.as_str())
    .bind(value.date)
    .bind(value.value)
    .fetch_all(&mut *tx)
    .await?;
    if outcomes.is_empty() && key_results.is_empty() {
        return Err(ApiError::NotFound);
    }
    let mut records = Vec::new();
    for o in &outcomes {
        let owner = if o.owner_id == Some(me.id) {
            o.owner_id
        } else {
            o.parent_owner_id
        };
        let skipped = |reason| outcome(o, "skipped", Some(reason));
        if o.cancelled {
            records.push(skipped("The work was cancelled: its outcomes have no loop"));
        } else if o.closed {
            records.push(skipped("Its loop is closed"));
        } else if !may_change_record(&state.db, &me, o.unit_id, owner).await? {
            records.push(skipped(NOT_ALLOWED));
        } else if o.already {
            records.push(outcome(o, "unchanged", None));
        } else {
            let measured = Measured {
                outcome: o.id,
                value: value.value,
                on: value.date,
                source: &value.source,
                note: &value.note,
            };
            insert_measurement(&mut *tx, &me, &client, now, measured).await?;
            records.push(outcome(o, "recorded", None));
        }
    }
    for k in &key_results {
        let skipped = |reason| key_result(k, "skipped", Some(reason));
        let confidence = value.confidence.or(k.confidence);
        if k.progress_source != ProgressSource::CheckIns.as_str() {
            records.push(skipped(
                "It follows another source: its value is not checked in",
            ));
        } else if k.period_closed {
            records.push(skipped("Its period is closed: its OKRs are read-only"));
        } else if !may_change_record(&state.db, &me, k.unit_id, k.owner_id).await? {
            records.push(skipped(NOT_ALLOWED));
        } else if k.already {
            records.push(key_result(k, "unchanged", None));
        } else if let Some(confidence) = confidence {
            let checked = CheckedIn {
                key_result: k.id,
                value: value.value,
                confidence,
                on: value.date,
                note: &value.note,
            };
            insert_check_in(&mut tx, &me, &client, now, checked).await?;
            records.push(key_result(k, "recorded", None));
        } else {
            records.push(skipped(
                "Its first check-in needs a confidence from 0 to 10: send confidence",
            ));
        }
    }
    tx.commit().await?;
    Ok(Json(MetricValueOut {
        key: key.as_str().to_string(),
        value: decimal(value.value),
        date: value.date,
        records,
    }))
}
