//! The loop of one outcome, on its page: what was committed, each measurement, the verdict
//! Yardstick proposes, and closing it (or reopening it) — for outcomes of epics and of
//! initiatives alike.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::{ClientAddr, ensure_may_change};
use crate::auth::policy::{Me, may_change_record};
use crate::chart::{Anticipated, Chart};
use crate::http::page::{self, CONFLICT, Flash, Form, FormErrors, INVALID, Id, check};
use crate::http::{AppState, Result};
use crate::loops::model::{Closing, Commitment, NextStep};
use crate::outcomes::model::{Direction, Goal, MetricUnit, Verdict, parse_value, with_unit};
use crate::outcomes::parent::{OutcomeRow, Parent, outcome_with_parent};
use crate::periods::model::{human_date, parse_date};

/// One measurement, as the outcome page lists it.
#[derive(Debug, sqlx::FromRow)]
pub struct MeasurementRow {
    pub value: Decimal,
    pub measured_on: NaiveDate,
    pub source: String,
    pub note: String,
    pub recorded_by: Option<String>,
}

impl MeasurementRow {
    pub fn day(&self) -> String {
        human_date(self.measured_on)
    }

    /// A source that is a web address is shown as a link.
    pub fn source_is_link(&self) -> bool {
        self.source.starts_with("https://") || self.source.starts_with("http://")
    }
}

/// How the loop was closed.
#[derive(Debug, Default, sqlx::FromRow)]
pub struct Closed {
    pub verdict: Option<String>,
    pub proposed_verdict: Option<String>,
    pub verdict_reason: String,
    pub learnings: String,
    pub next_step: Option<String>,
    pub realised_value: Option<Decimal>,
    pub closed_on: Option<NaiveDate>,
    pub closed_by: Option<String>,
    /// The earliest revision's "before": the commitment as first made.
    pub first_commitment: Option<serde_json::Value>,
    /// When the outcome was committed (or created): the anticipated path starts there.
    pub since: NaiveDate,
}

impl Closed {
    pub fn verdict_label(&self) -> Option<&str> {
        self.verdict.as_deref().map(Verdict::label_of)
    }

    pub fn overridden(&self) -> bool {
        self.verdict.is_some() && self.verdict != self.proposed_verdict
    }

    pub fn next_step_label(&self) -> Option<&str> {
        self.next_step.as_deref().map(NextStep::label_of)
    }

    pub fn day(&self) -> Option<String> {
        self.closed_on.map(human_date)
    }
}

/// The measurement form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MeasurementForm {
    pub value: String,
    pub measured_on: String,
    pub source: String,
    pub note: String,
}

/// The closing form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CloseForm {
    pub verdict: String,
    pub reason: String,
    pub realised_value: String,
    pub learnings: String,
    pub next_step: String,
    pub version: String,
}

/// What was typed into the outcome page's forms when it is shown again with reasons.
#[derive(Debug, Default)]
pub struct LoopInput {
    pub measurement: MeasurementForm,
    pub close: CloseForm,
    pub reopen_reason: String,
    pub errors: FormErrors,
}

/// Everything the outcome page shows about the loop.
#[derive(Debug)]
pub struct LoopView {
    pub commitment: Option<Commitment>,
    /// The goal was revised after commitment: verdicts use the first commitment.
    pub revised: bool,
    pub measurements: Vec<MeasurementRow>,
    pub proposed: Verdict,
    pub closed: Closed,
    pub chart: Option<Chart>,
    pub chart_label: String,
    pub follow_ups: Vec<(Uuid, String)>,
    pub may_record: bool,
    pub today: NaiveDate,
    pub input: LoopInput,
    pub verdicts: Vec<(String, String)>,
    pub next_steps: Vec<(String, String)>,
    unit: MetricUnit,
    unit_label: String,
}

impl LoopView {
    pub fn value(&self, value: &Decimal) -> String {
        with_unit(*value, self.unit, &self.unit_label)
    }

    pub fn latest(&self) -> Option<&MeasurementRow> {
        self.measurements.first()
    }

    /// "70% → 90%", or "within 95–99%", as committed.
    pub fn committed_goal(&self) -> String {
        match &self.commitment {
            Some(Commitment {
                baseline,
                goal: Goal::Increase { target } | Goal::Decrease { target },
                ..
            }) => format!("{} → {}", self.value(baseline), self.value(target)),
            Some(Commitment {
                goal: Goal::StayWithin { lower, upper },
                ..
            }) => format!("within {}–{}", lower.normalize(), self.value(upper)),
            None => String::new(),
        }
    }

    pub fn committed_by(&self) -> String {
        self.commitment
            .as_ref()
            .map(|c| human_date(c.measure_by))
            .unwrap_or_default()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.verdict.is_some()
    }

    /// The verdict to preselect: what was typed, or the proposal.
    pub fn chosen_verdict(&self) -> String {
        if self.input.close.verdict.is_empty() {
            self.proposed.as_str().to_string()
        } else {
            self.input.close.verdict.clone()
        }
    }
}

/// What the loop's page needs beyond the outcome itself; five statements.
pub async fn loop_view(
    state: &AppState,
    me: &Me,
    outcome: &OutcomeRow,
    parent: &Parent,
    input: LoopInput,
) -> Result<LoopView> {
    let measurements: Vec<MeasurementRow> = sqlx::query_as(
        "SELECT m.value, m.measured_on, m.source, m.note, p.name AS recorded_by
           FROM measurements m LEFT JOIN people p ON p.id = m.recorded_by
          WHERE m.outcome_id = $1 ORDER BY m.measured_on DESC, m.created_at DESC LIMIT 200",
    )
    .bind(outcome.id)
    .fetch_all(&state.db)
    .await?;
    let closed: Closed = sqlx::query_as(
        "SELECT o.verdict, o.proposed_verdict, o.verdict_reason, o.learnings, o.next_step, o.realised_value,
                o.closed_on, p.name AS closed_by,
                (SELECT r.before FROM outcome_revisions r WHERE r.outcome_id = o.id ORDER BY r.id LIMIT 1) AS first_commitment,
                coalesce(o.committed_at, o.created_at)::date AS since
           FROM outcomes o LEFT JOIN people p ON p.id = o.closed_by WHERE o.id = $1",
    )
    .bind(outcome.id)
    .fetch_one(&state.db)
    .await?;
    let follow_ups =
        sqlx::query_as("SELECT id, title FROM epics WHERE follow_up_of = $1 ORDER BY created_at")
            .bind(outcome.id)
            .fetch_all(&state.db)
            .await?;
    let may_record = loop_permission(state, me, outcome, parent).await?;
    let today = me.today(&state.clock);
    let commitment = commitment_of(outcome, &closed);
    let latest = measurements.first().map(|m| m.value);
    let proposed = commitment
        .as_ref()
        .map(|c| c.proposal(latest))
        .unwrap_or(Verdict::Inconclusive);
    let chart = commitment
        .as_ref()
        .filter(|_| !measurements.is_empty())
        .map(|c| {
            let points: Vec<(NaiveDate, Decimal)> = measurements
                .iter()
                .map(|m| (m.measured_on, m.value))
                .collect();
            let last = points
                .iter()
                .map(|(d, _)| *d)
                .max()
                .unwrap_or(c.measure_by)
                .max(c.measure_by);
            let anticipated = match c.goal {
                Goal::Increase { target } | Goal::Decrease { target } => Anticipated::Path {
                    start: c.baseline,
                    target,
                },
                Goal::StayWithin { lower, upper } => Anticipated::Band { lower, upper },
            };
            Chart::new(closed.since.min(c.measure_by), last, anticipated, &points)
        });
    Ok(LoopView {
        revised: closed.first_commitment.is_some(),
        commitment,
        measurements,
        proposed,
        chart,
        chart_label: format!(
            "{}: measurements against the anticipated path from the baseline to the target",
            outcome.metric
        ),
        closed,
        follow_ups,
        may_record,
        today,
        input,
        verdicts: Verdict::options(),
        next_steps: NextStep::options(),
        unit: MetricUnit::parse(&outcome.unit).unwrap_or(MetricUnit::Count),
        unit_label: outcome.unit_label.clone(),
    })
}

/// The commitment verdicts are judged against: as first made (before any revision), or as
/// it stands when it was never revised.
fn commitment_of(outcome: &OutcomeRow, closed: &Closed) -> Option<Commitment> {
    if let Some(first) = closed
        .first_commitment
        .as_ref()
        .and_then(Commitment::from_json)
    {
        return Some(first);
    }
    let direction = Direction::parse(&outcome.direction).ok()?;
    let band = outcome.band_lower.zip(outcome.band_upper);
    Some(Commitment {
        baseline: outcome.baseline,
        goal: Goal::new(direction, outcome.baseline, outcome.target, band).ok()?,
        measure_by: outcome.measure_by,
    })
}

/// Recording measurements and closing a loop: whoever may edit the record — its unit's
/// members (or above), the outcome's owner, the work's owner, admins (DOMAIN.md). Of the
/// two owners, the one that is `me` counts, so the policy asks the database once.
fn loop_owner(me: &Me, outcome: &OutcomeRow, parent: &Parent) -> Option<Uuid> {
    if outcome.owner_id == Some(me.id) {
        outcome.owner_id
    } else {
        parent.owner_id
    }
}

async fn loop_permission(
    state: &AppState,
    me: &Me,
    outcome: &OutcomeRow,
    parent: &Parent,
) -> Result<bool> {
    let owner = loop_owner(me, outcome, parent);
    Ok(may_change_record(&state.db, me, parent.unit_id, owner).await?)
}

/// The outcome and its parent, when `me` may record on its loop; otherwise the audited 403.
pub async fn loop_to_change(
    state: &AppState,
    me: &Me,
    client: &str,
    id: Uuid,
) -> Result<(OutcomeRow, Parent)> {
    let (outcome, parent) = outcome_with_parent(&state.db, id).await?;
    let owner = loop_owner(me, &outcome, &parent);
    ensure_may_change(state, me, client, parent.unit_id, owner, "outcome", id).await?;
    Ok((outcome, parent))
}

/// The outcome page again, with what was typed and why it was refused.
async fn shown_again(
    state: &AppState,
    me: &Me,
    id: Uuid,
    input: LoopInput,
    status: axum::http::StatusCode,
) -> Result<Response> {
    let page = crate::outcomes::pages::outcome_page(state, me, id, Flash::default(), input).await?;
    Ok((status, page).into_response())
}

/// Records one observed value of an outcome `me` may change (pages and the API alike):
/// dated (not in the future), with its source and a note; audited.
pub async fn record_measurement(
    state: &AppState,
    me: &Me,
    client: &str,
    id: Uuid,
    form: &MeasurementForm,
) -> Result<std::result::Result<(Uuid, Decimal), FormErrors>> {
    let today = me.today(&state.clock);
    let mut errors = FormErrors::default();
    let value = check(&mut errors, "value", parse_value(&form.value, "value"));
    let measured_on = check(
        &mut errors,
        "measured_on",
        parse_date(&form.measured_on, "day it was measured"),
    );
    if measured_on.is_some_and(|d| d > today) {
        errors.add("measured_on", "A measurement cannot be in the future");
    }
    if form.source.trim().chars().count() > 500 {
        errors.add("source", "The source must be 500 characters or fewer");
    }
    if form.note.trim().chars().count() > 2_000 {
        errors.add("note", "The note must be 2000 characters or fewer");
    }
    let (Some(value), Some(measured_on), true) = (value, measured_on, errors.is_empty()) else {
        return Ok(Err(errors));
    };
    let measurement = insert_measurement(
        &state.db,
        me,
        client,
        state.clock.now(),
        Measured {
            outcome: id,
            value,
            on: measured_on,
            source: form.source.trim(),
            note: form.note.trim(),
        },
    )
    .await?;
    Ok(Ok((measurement, value)))
}

/// A checked measurement of an outcome.
pub struct Measured<'a> {
    pub outcome: Uuid,
    pub value: Decimal,
    pub on: NaiveDate,
    pub source: &'a str,
    pub note: &'a str,
}

/// Stores a measurement with its audit row, in one statement (on its own, or in the
/// caller's transaction).
pub async fn insert_measurement(
    db: impl sqlx::PgExecutor<'_>,
    me: &Me,
    client: &str,
    now: chrono::DateTime<chrono::Utc>,
    m: Measured<'_>,
) -> Result<Uuid> {
    let measurement = Uuid::new_v4();
    let mut change = sqlx::QueryBuilder::new(
        "WITH change AS (INSERT INTO measurements (id, outcome_id, value, measured_on, source, note, recorded_by) VALUES (",
    );
    change
        .separated(", ")
        .push_bind(measurement)
        .push_bind(m.outcome)
        .push_bind(m.value)
        .push_bind(m.on)
        .push_bind(m.source)
        .push_bind(m.note)
        .push_bind(me.id);
    change.push(")) ");
    Entry::new("measurement_recorded")
        .actor(Some(me.id))
        .entity("outcome", m.outcome)
        .after(json!({ "value": m.value, "measured_on": m.on, "source": m.source, "note": m.note }))
        .client(client)
        .write_with(change, db, now)
        .await?;
    Ok(measurement)
}

/// `POST /outcomes/{id}/measurements`: one observed value, dated (not in the future), with
/// its source and a note.
pub async fn post_measurement(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<MeasurementForm>,
) -> Result<Response> {
    let (outcome, _) = loop_to_change(&state, &me, &client, id).await?;
    let value = match record_measurement(&state, &me, &client, id, &form).await? {
        Ok((_, value)) => value,
        Err(errors) => {
            let input = LoopInput {
                measurement: form,
                errors,
                ..LoopInput::default()
            };
            return shown_again(&state, &me, id, input, INVALID).await;
        }
    };
    Ok(page::see_other(
        &format!("/outcomes/{id}#measurements"),
        &format!(
            "Measurement recorded: {}",
            with_unit(
                value,
                MetricUnit::parse(&outcome.unit).unwrap_or(MetricUnit::Count),
                &outcome.unit_label
            )
        ),
    ))
}

/// Why closing a loop was refused.
#[derive(Debug)]
pub enum CloseRefused {
    /// It is closed already.
    Closed,
    /// The work was cancelled: its outcomes have no loop.
    Cancelled,
    Invalid(FormErrors),
    /// The outcome changed since `version`.
    Stale,
}

/// A loop just closed: the verdict, and whether its epic closed with it.
#[derive(Debug)]
pub struct LoopClosed {
    pub verdict: Verdict,
    pub epic_closed: bool,
}

/// Closes the loop of an outcome `me` may change, if `version` is still current (pages and
/// the API alike): the verdict (the proposal confirmed, or overridden with a reason), the
/// realised value if known, learnings and the next step, judged against the commitment;
/// audited, the stakeholders told, and a delivered epic closed with its last loop.
pub async fn close_loop(
    state: &AppState,
    me: &Me,
    client: &str,
    outcome: &OutcomeRow,
    parent: &Parent,
    form: &CloseForm,
    version: i32,
) -> Result<std::result::Result<LoopClosed, CloseRefused>> {
    let id = outcome.id;
    if outcome.closed {
        return Ok(Err(CloseRefused::Closed));
    }
    if parent.status == "cancelled" {
        return Ok(Err(CloseRefused::Cancelled));
    }
    let view = loop_view(state, me, outcome, parent, LoopInput::default()).await?;
    let latest = view.latest().map(|m| m.value);
    let closing = Closing {
        verdict: &form.verdict,
        reason: &form.reason,
        learnings: &form.learnings,
        next_step: &form.next_step,
        proposed: view.proposed,
        measured: latest.is_some(),
    }
    .check();
    let mut errors = FormErrors::default();
    let realised = match form.realised_value.trim() {
        "" => None,
        text => check(
            &mut errors,
            "realised_value",
            parse_value(text, "realised value"),
        ),
    };
    let valid = match closing {
        Ok(valid) if errors.is_empty() => valid,
        Ok(_) => return Ok(Err(CloseRefused::Invalid(errors))),
        Err(problems) => {
            for (field, message) in problems {
                errors.add(field, message);
            }
            return Ok(Err(CloseRefused::Invalid(errors)));
        }
    };
    let today = me.today(&state.clock);
    let now = state.clock.now();
    let judged_against = view.commitment.as_ref().map(Commitment::to_json);
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE outcomes SET verdict = $3, proposed_verdict = $4, verdict_reason = $5, learnings = $6, next_step = $7,
                realised_value = $8, judged_against = $9, closed_at = $10, closed_on = $11, closed_by = $12,
                version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2 AND closed_at IS NULL",
    )
    .bind(id)
    .bind(version)
    .bind(valid.verdict.as_str())
    .bind(view.proposed.as_str())
    .bind(&valid.reason)
    .bind(&valid.learnings)
    .bind(valid.next_step.as_str())
    .bind(realised)
    .bind(&judged_against)
    .bind(now)
    .bind(today)
    .bind(me.id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(Err(CloseRefused::Stale));
    }
    Entry::new("loop_closed")
        .actor(Some(me.id))
        .entity("outcome", id)
        .after(json!({ "verdict": valid.verdict.as_str(), "proposed_verdict": view.proposed.as_str(),
                       "reason": valid.reason, "learnings": valid.learnings, "next_step": valid.next_step.as_str(),
                       "realised_value": realised, "judged_against": judged_against, "latest_measurement": latest }))
        .client(client)
        .write(&mut *tx, now)
        .await?;
    crate::loops::reminders::loop_closed(
        &mut tx,
        id,
        me.id,
        today,
        &format!(
            "Loop closed: {} ({}) — {}",
            outcome.metric,
            parent.title,
            valid.verdict.label().to_lowercase()
        ),
    )
    .await?;
    let data = json!({ "outcome_id": id, "epic_id": outcome.epic_id, "initiative_id": outcome.initiative_id,
                       "statement": outcome.statement, "metric": outcome.metric, "verdict": valid.verdict.as_str(),
                       "proposed_verdict": view.proposed.as_str(), "learnings": valid.learnings,
                       "next_step": valid.next_step.as_str(), "realised_value": realised, "closed_on": today,
                       "latest_measurement": latest });
    crate::webhooks::emit(
        &mut tx,
        crate::webhooks::Event::LoopClosed,
        &format!("{id}:{}", now.timestamp_micros()),
        now,
        data,
    )
    .await?;
    let epic_closed = if parent.is_epic() {
        close_epic_when_every_loop_is(&mut tx, me, client, now, parent.id).await?
    } else {
        false
    };
    tx.commit().await?;
    Ok(Ok(LoopClosed {
        verdict: valid.verdict,
        epic_closed,
    }))
}

/// `POST /outcomes/{id}/close`: closes the loop (`close_loop`). When every outcome of a
/// delivered epic is closed, the epic closes too.
pub async fn post_close(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<CloseForm>,
) -> Result<Response> {
    let (outcome, parent) = loop_to_change(&state, &me, &client, id).await?;
    let here = format!("/outcomes/{id}");
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    match close_loop(&state, &me, &client, &outcome, &parent, &form, version).await? {
        Ok(closed) => {
            let mut message = format!("Loop closed: {}", closed.verdict.label().to_lowercase());
            if closed.epic_closed {
                message.push_str(". Every loop of the epic is closed, so the epic is closed too");
            }
            Ok(page::see_other(&here, &message))
        }
        Err(CloseRefused::Closed) => Ok(page::see_other(&here, "This loop is already closed")),
        Err(CloseRefused::Cancelled) => Ok(page::see_other(
            &here,
            "The work was cancelled: its outcomes have no loop to close",
        )),
        Err(CloseRefused::Invalid(errors)) => {
            let input = LoopInput {
                close: form,
                errors,
                ..LoopInput::default()
            };
            shown_again(&state, &me, id, input, INVALID).await
        }
        Err(CloseRefused::Stale) => {
            let mut errors = FormErrors::default();
            errors.add("verdict", "Someone changed this outcome meanwhile: check it as it is now, then close the loop again");
            let input = LoopInput {
                close: CloseForm {
                    version: String::new(),
                    ..form
                },
                errors,
                ..LoopInput::default()
            };
            shown_again(&state, &me, id, input, CONFLICT).await
        }
    }
}

/// Closes a delivered epic (measuring) whose outcomes are all closed; audited.
async fn close_epic_when_every_loop_is(
    tx: &mut sqlx::PgConnection,
    me: &Me,
    client: &str,
    now: chrono::DateTime<chrono::Utc>,
    epic: Uuid,
) -> Result<bool> {
    let closed = sqlx::query(
        "UPDATE epics SET status = 'closed', closed_at = $2, version = version + 1, updated_at = now()
          WHERE id = $1 AND status IN ('delivered', 'measuring')
            AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.epic_id = $1 AND o.closed_at IS NULL)",
    )
    .bind(epic)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if closed.rows_affected() == 0 {
        return Ok(false);
    }
    Entry::new("epic_status_changed")
        .actor(Some(me.id))
        .entity("epic", epic)
        .before(json!({ "status": "measuring" }))
        .after(json!({ "status": "closed", "because": "every loop is closed" }))
        .client(client)
        .write(&mut *tx, now)
        .await?;
    crate::webhooks::epic_status_changed(&mut *tx, epic, "measuring", "closed", now).await?;
    Ok(true)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReopenForm {
    reason: String,
}

/// `POST /outcomes/{id}/reopen`: with a reason; the verdict, learnings and next step go
/// (the audit log keeps them), and a closed epic goes back to measuring.
pub async fn post_reopen(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<ReopenForm>,
) -> Result<Response> {
    let (outcome, parent) = loop_to_change(&state, &me, &client, id).await?;
    let here = format!("/outcomes/{id}");
    if !outcome.closed {
        return Ok(page::see_other(&here, "This loop is open already"));
    }
    let reason = form.reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 2_000 {
        let mut errors = FormErrors::default();
        errors.add(
            "reopen_reason",
            "Say why the loop is reopened (at most 2000 characters)",
        );
        let input = LoopInput {
            reopen_reason: form.reason,
            errors,
            ..LoopInput::default()
        };
        return shown_again(&state, &me, id, input, INVALID).await;
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let before: Option<serde_json::Value> = sqlx::query_scalar(
        "UPDATE outcomes o SET verdict = NULL, proposed_verdict = NULL, verdict_reason = '', learnings = '', next_step = NULL,
                realised_value = NULL, judged_against = NULL, closed_at = NULL, closed_on = NULL, closed_by = NULL,
                version = o.version + 1, updated_at = now()
           FROM (SELECT id, verdict, verdict_reason, learnings, next_step, realised_value, closed_on
                   FROM outcomes WHERE id = $1 FOR UPDATE) old
          WHERE o.id = old.id AND o.closed_at IS NOT NULL
         RETURNING json_build_object('verdict', old.verdict, 'reason', old.verdict_reason, 'learnings', old.learnings,
                                     'next_step', old.next_step, 'realised_value', old.realised_value, 'closed_on', old.closed_on)::jsonb",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(before) = before else {
        return Ok(page::see_other(&here, "This loop is open already"));
    };
    Entry::new("loop_reopened")
        .actor(Some(me.id))
        .entity("outcome", id)
        .before(before)
        .after(json!({ "reason": reason }))
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    if parent.is_epic() {
        let reopened = sqlx::query(
            "UPDATE epics SET status = 'measuring', version = version + 1, updated_at = now() WHERE id = $1 AND status = 'closed'",
        )
        .bind(parent.id)
        .execute(&mut *tx)
        .await?;
        if reopened.rows_affected() == 1 {
            Entry::new("epic_status_changed")
                .actor(Some(me.id))
                .entity("epic", parent.id)
                .before(json!({ "status": "closed" }))
                .after(json!({ "status": "measuring", "because": "a loop was reopened" }))
                .client(&client)
                .write(&mut *tx, now)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(page::see_other(&here, "Loop reopened"))
}
