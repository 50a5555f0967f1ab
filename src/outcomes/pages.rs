//! The guided outcome form (the method's questions, in order) and an outcome's page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::{Me, may_change_record};
use crate::epics::pages::{Epic, OutcomeRow, epic_to_change, load_epic};
use crate::http::page::{self, Form, FormErrors, INVALID, Id, Layout, Section, check};
use crate::http::{AppError, AppState, Result};
use crate::org::model::required_text;
use crate::outcomes::model::{Direction, Goal, MetricUnit, OutcomeKind, parse_value, sentence};
use crate::people::model::Email;
use crate::periods::model::parse_date;

/// The outcome form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OutcomeForm {
    epic: String,
    statement: String,
    kind: String,
    metric: String,
    unit: String,
    unit_label: String,
    data_source: String,
    direction: String,
    baseline: String,
    target: String,
    band_lower: String,
    band_upper: String,
    measure_by: String,
    owner_email: String,
    /// Why a committed outcome changes (edit only).
    reason: String,
    version: String,
}

struct ValidOutcome {
    statement: String,
    kind: OutcomeKind,
    metric: String,
    unit: MetricUnit,
    unit_label: String,
    data_source: String,
    baseline: Decimal,
    goal: Goal,
    measure_by: NaiveDate,
    owner_email: Option<Email>,
}

impl ValidOutcome {
    fn sentence(&self) -> String {
        sentence(
            &self.metric,
            self.unit,
            &self.unit_label,
            self.baseline,
            &self.goal,
            self.measure_by,
        )
    }
}

impl OutcomeForm {
    fn parse(&self) -> std::result::Result<ValidOutcome, FormErrors> {
        let mut errors = FormErrors::default();
        let statement = check(
            &mut errors,
            "statement",
            required_text(&self.statement, "what should change", 500),
        );
        let kind = check(&mut errors, "kind", OutcomeKind::parse(&self.kind));
        let metric = check(
            &mut errors,
            "metric",
            required_text(&self.metric, "the metric that defines success", 200),
        );
        let unit = check(&mut errors, "unit", MetricUnit::parse(&self.unit));
        if unit == Some(MetricUnit::Custom) && self.unit_label.trim().is_empty() {
            errors.add(
                "unit_label",
                "Name the unit, for example “learners” or “tickets”",
            );
        }
        let data_source = check(
            &mut errors,
            "data_source",
            required_text(&self.data_source, "where the numbers come from", 1000),
        );
        let direction = check(&mut errors, "direction", Direction::parse(&self.direction));
        let baseline = check(
            &mut errors,
            "baseline",
            parse_value(&self.baseline, "baseline"),
        );
        let (target, band) = match direction {
            Some(Direction::StayWithin) => {
                let lower = check(
                    &mut errors,
                    "band_lower",
                    parse_value(&self.band_lower, "lower bound"),
                );
                let upper = check(
                    &mut errors,
                    "band_upper",
                    parse_value(&self.band_upper, "upper bound"),
                );
                (None, lower.zip(upper))
            }
            Some(_) => (
                check(&mut errors, "target", parse_value(&self.target, "target")),
                None,
            ),
            None => (None, None),
        };
        let goal = match (direction, baseline) {
            (Some(direction), Some(baseline)) if errors.is_empty() => {
                match Goal::new(direction, baseline, target, band) {
                    Ok(goal) => Some(goal),
                    Err((field, message)) => {
                        errors.add(field, message);
                        None
                    }
                }
            }
            _ => None,
        };
        let measure_by = check(
            &mut errors,
            "measure_by",
            parse_date(&self.measure_by, "date to measure by"),
        );
        let owner_email = if self.owner_email.trim().is_empty() {
            Some(None)
        } else {
            check(
                &mut errors,
                "owner_email",
                Email::parse(&self.owner_email).map(Some),
            )
        };
        match (
            statement,
            kind,
            metric,
            unit,
            data_source,
            baseline,
            goal,
            measure_by,
            owner_email,
        ) {
            (
                Some(statement),
                Some(kind),
                Some(metric),
                Some(unit),
                Some(data_source),
                Some(baseline),
                Some(goal),
                Some(measure_by),
                Some(owner_email),
            ) if errors.is_empty() => Ok(ValidOutcome {
                statement,
                kind,
                metric,
                unit,
                unit_label: self.unit_label.trim().to_string(),
                data_source,
                baseline,
                goal,
                measure_by,
                owner_email,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "outcomes/form.html")]
pub struct OutcomeFormPage {
    layout: Layout,
    epic: Epic,
    /// Set when editing; `committed` then asks for a reason to change the commitment.
    outcome_id: Option<Uuid>,
    committed: bool,
    form: OutcomeForm,
    errors: FormErrors,
    preview: Option<String>,
    kinds: Vec<(String, String)>,
    units: Vec<(String, String)>,
    directions: Vec<(String, String)>,
}

fn form_page(
    me: &Me,
    epic: Epic,
    form: OutcomeForm,
    errors: FormErrors,
    preview: Option<String>,
) -> OutcomeFormPage {
    edit_page(me, epic, None, false, form, errors, preview)
}

fn edit_page(
    me: &Me,
    epic: Epic,
    outcome_id: Option<Uuid>,
    committed: bool,
    form: OutcomeForm,
    errors: FormErrors,
    preview: Option<String>,
) -> OutcomeFormPage {
    let title = if outcome_id.is_some() {
        "Edit outcome"
    } else {
        "New outcome"
    };
    OutcomeFormPage {
        layout: Layout::new(format!("{title} · {}", epic.title), Section::Epics, me),
        epic,
        outcome_id,
        committed,
        form,
        errors,
        preview,
        kinds: OutcomeKind::options(),
        units: MetricUnit::options(),
        directions: Direction::options(),
    }
}

const NO_SUCH_OWNER: &str = "Nobody active has this email: leave it empty for the epic's owner";

/// The outcome's owner: the active person with the email typed, or the epic's owner when
/// none was typed. `None` when the email names nobody active.
async fn outcome_owner(
    state: &AppState,
    valid: &ValidOutcome,
    epic: &Epic,
) -> Result<Option<Option<Uuid>>> {
    let Some(email) = &valid.owner_email else {
        return Ok(Some(epic.owner_id));
    };
    let found: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM people WHERE lower(email) = lower($1) AND active")
            .bind(email.as_str())
            .fetch_optional(&state.db)
            .await?;
    Ok(found.map(Some))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewOutcomeQuery {
    epic: String,
}

/// `GET /outcomes/new?epic=…`
pub async fn get_new_outcome(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Query(query): Query<NewOutcomeQuery>,
) -> Result<Response> {
    let epic_id = Uuid::parse_str(query.epic.trim()).map_err(|_| AppError::NotFound)?;
    let epic = epic_to_change(&state, &me, &client, epic_id, "epic", epic_id).await?;
    let form = OutcomeForm {
        epic: epic_id.to_string(),
        kind: OutcomeKind::Behaviour.as_str().into(),
        unit: MetricUnit::Percent.as_str().into(),
        direction: Direction::Increase.as_str().into(),
        owner_email: epic.owner_email.clone().unwrap_or_default(),
        ..OutcomeForm::default()
    };
    Ok(form_page(&me, epic, form, FormErrors::default(), None).into_response())
}

/// `POST /outcomes`
pub async fn post_outcome(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(form): Form<OutcomeForm>,
) -> Result<Response> {
    let epic_id = Uuid::parse_str(form.epic.trim()).map_err(|_| AppError::NotFound)?;
    let epic = epic_to_change(&state, &me, &client, epic_id, "epic", epic_id).await?;
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => {
            return Ok((INVALID, form_page(&me, epic, form, errors, None)).into_response());
        }
    };
    let Some(owner) = outcome_owner(&state, &valid, &epic).await? else {
        let mut errors = FormErrors::default();
        errors.add("owner_email", NO_SUCH_OWNER);
        let preview = Some(valid.sentence());
        return Ok((INVALID, form_page(&me, epic, form, errors, preview)).into_response());
    };
    let (target, lower, upper) = match valid.goal {
        Goal::Increase { target } | Goal::Decrease { target } => (Some(target), None, None),
        Goal::StayWithin { lower, upper } => (None, Some(lower), Some(upper)),
    };
    let id = Uuid::new_v4();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // An outcome added to work already committed to is committed at once.
    let committed = !matches!(epic.status(), crate::epics::model::EpicStatus::Draft);
    sqlx::query(
        "INSERT INTO outcomes (id, epic_id, owner_id, kind, statement, metric, unit, unit_label, direction, baseline,
                               target, band_lower, band_upper, measure_by, data_source, committed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(id)
    .bind(epic_id)
    .bind(owner)
    .bind(valid.kind.as_str())
    .bind(&valid.statement)
    .bind(&valid.metric)
    .bind(valid.unit.as_str())
    .bind(&valid.unit_label)
    .bind(valid.goal.direction().as_str())
    .bind(valid.baseline)
    .bind(target)
    .bind(lower)
    .bind(upper)
    .bind(valid.measure_by)
    .bind(&valid.data_source)
    .bind(committed.then_some(now))
    .execute(&mut *tx)
    .await?;
    Entry::new("outcome_created")
        .actor(Some(me.id))
        .entity("outcome", id)
        .after(json!({ "epic_id": epic_id, "sentence": valid.sentence(), "statement": valid.statement }))
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/epics/{epic_id}"),
        &format!("Outcome saved: {}", valid.sentence()),
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "outcomes/show.html")]
pub struct OutcomePage {
    layout: Layout,
    epic: Epic,
    outcome: OutcomeRow,
    data_source: String,
    revisions: Vec<Revision>,
    may_change: bool,
}

/// `GET /outcomes/{id}`
pub async fn get_outcome(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
) -> Result<OutcomePage> {
    let (epic_id, data_source): (Option<Uuid>, String) =
        sqlx::query_as("SELECT epic_id, data_source FROM outcomes WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
    let epic = load_epic(&state.db, epic_id.ok_or(AppError::NotFound)?).await?;
    let outcome = crate::epics::pages::epic_outcomes(&state.db, epic.id)
        .await?
        .into_iter()
        .find(|o| o.id == id)
        .ok_or(AppError::NotFound)?;
    let revisions = revisions(&state.db, id).await?;
    let may_change = may_change_record(&state.db, &me, epic.team_id, epic.owner_id).await?;
    let layout = Layout::new(format!("Outcome · {}", outcome.metric), Section::Epics, &me);
    Ok(OutcomePage {
        layout,
        epic,
        outcome,
        data_source,
        revisions,
        may_change,
    })
}

/// An outcome as stored, for the edit form and the revision check.
#[derive(Debug, sqlx::FromRow)]
struct StoredOutcome {
    epic_id: Option<Uuid>,
    kind: String,
    statement: String,
    metric: String,
    unit: String,
    unit_label: String,
    data_source: String,
    direction: String,
    baseline: Decimal,
    target: Option<Decimal>,
    band_lower: Option<Decimal>,
    band_upper: Option<Decimal>,
    measure_by: NaiveDate,
    owner_email: Option<String>,
    committed: bool,
    version: i32,
}

impl StoredOutcome {
    /// What commitment fixes: changing any of it later needs a reason.
    fn commitment(&self) -> serde_json::Value {
        // NUMERIC(20, 6) comes back as 70.000000: compare values, not their scale.
        let n = |v: Option<Decimal>| v.map(|d| d.normalize());
        json!({
            "direction": self.direction, "baseline": self.baseline.normalize(), "target": n(self.target),
            "band_lower": n(self.band_lower), "band_upper": n(self.band_upper), "measure_by": self.measure_by,
        })
    }

    fn sentence(&self) -> String {
        let direction = Direction::parse(&self.direction).unwrap_or(Direction::Increase);
        match Goal::new(
            direction,
            self.baseline,
            self.target,
            self.band_lower.zip(self.band_upper),
        ) {
            Ok(goal) => sentence(
                &self.metric,
                MetricUnit::parse(&self.unit).unwrap_or(MetricUnit::Count),
                &self.unit_label,
                self.baseline,
                &goal,
                self.measure_by,
            ),
            Err(_) => self.metric.clone(),
        }
    }
}

impl ValidOutcome {
    fn commitment(&self) -> serde_json::Value {
        let (target, lower, upper) = self.goal_columns();
        json!({
            "direction": self.goal.direction().as_str(), "baseline": self.baseline, "target": target,
            "band_lower": lower, "band_upper": upper, "measure_by": self.measure_by,
        })
    }

    fn goal_columns(&self) -> (Option<Decimal>, Option<Decimal>, Option<Decimal>) {
        match self.goal {
            Goal::Increase { target } | Goal::Decrease { target } => (Some(target), None, None),
            Goal::StayWithin { lower, upper } => (None, Some(lower), Some(upper)),
        }
    }
}

async fn stored_outcome(db: &sqlx::PgPool, id: Uuid) -> Result<StoredOutcome> {
    sqlx::query_as(
        "SELECT o.epic_id, o.kind, o.statement, o.metric, o.unit, o.unit_label, o.data_source, o.direction, o.baseline,
                o.target, o.band_lower, o.band_upper, o.measure_by, p.email AS owner_email,
                o.committed_at IS NOT NULL AS committed, o.version
           FROM outcomes o LEFT JOIN people p ON p.id = o.owner_id WHERE o.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

fn number(value: Option<Decimal>) -> String {
    value.map(|v| v.normalize().to_string()).unwrap_or_default()
}

impl From<&StoredOutcome> for OutcomeForm {
    fn from(o: &StoredOutcome) -> OutcomeForm {
        OutcomeForm {
            epic: o.epic_id.map(|e| e.to_string()).unwrap_or_default(),
            statement: o.statement.clone(),
            kind: o.kind.clone(),
            metric: o.metric.clone(),
            unit: o.unit.clone(),
            unit_label: o.unit_label.clone(),
            data_source: o.data_source.clone(),
            direction: o.direction.clone(),
            baseline: number(Some(o.baseline)),
            target: number(o.target),
            band_lower: number(o.band_lower),
            band_upper: number(o.band_upper),
            measure_by: o.measure_by.to_string(),
            owner_email: o.owner_email.clone().unwrap_or_default(),
            reason: String::new(),
            version: o.version.to_string(),
        }
    }
}

/// `GET /outcomes/{id}/edit`
pub async fn get_edit_outcome(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let stored = stored_outcome(&state.db, id).await?;
    let epic = epic_to_change(
        &state,
        &me,
        &client,
        stored.epic_id.ok_or(AppError::NotFound)?,
        "outcome",
        id,
    )
    .await?;
    let preview = Some(stored.sentence());
    Ok(edit_page(
        &me,
        epic,
        Some(id),
        stored.committed,
        OutcomeForm::from(&stored),
        FormErrors::default(),
        preview,
    )
    .into_response())
}

/// `POST /outcomes/{id}`: saves an outcome; once committed, a change to its baseline, goal
/// or date needs a reason and is kept as a revision.
pub async fn post_outcome_update(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<OutcomeForm>,
) -> Result<Response> {
    let stored = stored_outcome(&state.db, id).await?;
    let epic = epic_to_change(
        &state,
        &me,
        &client,
        stored.epic_id.ok_or(AppError::NotFound)?,
        "outcome",
        id,
    )
    .await?;
    let committed = stored.committed;
    let mut valid = form.parse();
    if let Ok(v) = &valid {
        let revised = committed && v.commitment() != stored.commitment();
        if revised && form.reason.trim().is_empty() {
            let mut errors = FormErrors::default();
            errors.add(
                "reason",
                "This outcome was committed when the epic became ready: say why it changes",
            );
            valid = Err(errors);
        }
    }
    let valid = match valid {
        Ok(valid) => valid,
        Err(errors) => {
            return Ok((
                INVALID,
                edit_page(&me, epic, Some(id), committed, form, errors, None),
            )
                .into_response());
        }
    };
    let Some(owner) = outcome_owner(&state, &valid, &epic).await? else {
        let mut errors = FormErrors::default();
        errors.add("owner_email", NO_SUCH_OWNER);
        return Ok((
            INVALID,
            edit_page(&me, epic, Some(id), committed, form, errors, None),
        )
            .into_response());
    };
    let (target, lower, upper) = valid.goal_columns();
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE outcomes SET owner_id = $3, kind = $4, statement = $5, metric = $6, unit = $7, unit_label = $8,
                direction = $9, baseline = $10, target = $11, band_lower = $12, band_upper = $13, measure_by = $14,
                data_source = $15, version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(owner)
    .bind(valid.kind.as_str())
    .bind(&valid.statement)
    .bind(&valid.metric)
    .bind(valid.unit.as_str())
    .bind(&valid.unit_label)
    .bind(valid.goal.direction().as_str())
    .bind(valid.baseline)
    .bind(target)
    .bind(lower)
    .bind(upper)
    .bind(valid.measure_by)
    .bind(&valid.data_source)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        drop(tx);
        let current = stored_outcome(&state.db, id).await?;
        let mut errors = FormErrors::default();
        errors.add(
            "statement",
            format!(
                "Someone saved this outcome while you were editing; it now reads “{}”. Your version is below: save again to keep it.",
                current.sentence()
            ),
        );
        let form = OutcomeForm {
            version: current.version.to_string(),
            ..form
        };
        return Ok((
            crate::http::page::CONFLICT,
            edit_page(&me, epic, Some(id), committed, form, errors, None),
        )
            .into_response());
    }
    let before = json!({ "sentence": stored.sentence(), "commitment": stored.commitment(), "statement": stored.statement });
    let after = json!({ "sentence": valid.sentence(), "commitment": valid.commitment(), "statement": valid.statement });
    if committed && valid.commitment() != stored.commitment() {
        sqlx::query(
            "INSERT INTO outcome_revisions (outcome_id, revised_at, revised_by, reason, before, after)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(now)
        .bind(me.id)
        .bind(form.reason.trim())
        .bind(&before)
        .bind(&after)
        .execute(&mut *tx)
        .await?;
    }
    Entry::new("outcome_updated")
        .actor(Some(me.id))
        .entity("outcome", id)
        .before(before)
        .after(after)
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    Ok(page::see_other(&format!("/outcomes/{id}"), "Outcome saved"))
}

/// One revision of a committed outcome, as its page lists them.
#[derive(Debug, sqlx::FromRow)]
pub struct Revision {
    pub revised_at: chrono::DateTime<chrono::Utc>,
    pub revised_by: Option<String>,
    pub reason: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

impl Revision {
    pub fn when(&self) -> String {
        self.revised_at.format("%-d %b %Y").to_string()
    }

    pub fn before_sentence(&self) -> &str {
        self.before["sentence"].as_str().unwrap_or("")
    }

    pub fn after_sentence(&self) -> &str {
        self.after["sentence"].as_str().unwrap_or("")
    }
}

/// The revisions of an outcome, oldest first.
pub async fn revisions(db: &sqlx::PgPool, outcome: Uuid) -> sqlx::Result<Vec<Revision>> {
    sqlx::query_as(
        "SELECT r.revised_at, p.name AS revised_by, r.reason, r.before, r.after
           FROM outcome_revisions r LEFT JOIN people p ON p.id = r.revised_by
          WHERE r.outcome_id = $1 ORDER BY r.id",
    )
    .bind(outcome)
    .fetch_all(db)
    .await
}
