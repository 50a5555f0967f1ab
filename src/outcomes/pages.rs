//! The guided outcome form (the method's questions, in order) and an outcome's page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::{Me, may_change_record};
use crate::http::page::{
    self, CONFLICT, Flash, Form, FormErrors, INVALID, Id, Layout, Query, Refused, Section, check,
};
use crate::http::{AppError, AppState, Result};
use crate::loops::outcome::{LoopInput, LoopView};
use crate::org::model::required_text;
use crate::outcomes::model::{
    Direction, Goal, GoalFields, MetricKey, MetricUnit, OutcomeKind, form_number, sentence,
};
use crate::outcomes::parent::{
    OutcomeRow, Parent, leads_to_options, load_parent, outcome_row, outcomes_leading_to,
    parent_to_change,
};
use crate::people::model::Email;
use crate::periods::model::parse_date;

/// The outcome form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OutcomeForm {
    pub epic: String,
    pub initiative: String,
    pub statement: String,
    pub kind: String,
    pub metric: String,
    pub unit: String,
    pub unit_label: String,
    pub data_source: String,
    pub direction: String,
    pub baseline: String,
    pub target: String,
    pub band_lower: String,
    pub band_upper: String,
    pub measure_by: String,
    /// Interim checkpoints: each gets a reminder; only `measure_by` makes the loop due.
    pub checkpoint_1: String,
    pub checkpoint_2: String,
    pub checkpoint_3: String,
    /// The outcome this one leads to (a behaviour leading to a business result).
    pub leads_to: String,
    /// Lets an analytics job record measurements by posting values for this key.
    pub metric_key: String,
    pub owner_email: String,
    /// Why a committed outcome changes (edit only).
    pub reason: String,
    pub version: String,
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
    checkpoints: Vec<NaiveDate>,
    leads_to: Option<Uuid>,
    metric_key: Option<MetricKey>,
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
        let parsed = GoalFields {
            direction: &self.direction,
            start: &self.baseline,
            target: &self.target,
            band_lower: &self.band_lower,
            band_upper: &self.band_upper,
        }
        .parse(&mut errors, "baseline", "baseline");
        let (baseline, goal) = match parsed {
            Some((baseline, goal)) => (Some(baseline), Some(goal)),
            None => (None, None),
        };
        let measure_by = check(
            &mut errors,
            "measure_by",
            parse_date(&self.measure_by, "date to measure by"),
        );
        let mut checkpoints = Vec::new();
        for (field, text) in [
            ("checkpoint_1", &self.checkpoint_1),
            ("checkpoint_2", &self.checkpoint_2),
            ("checkpoint_3", &self.checkpoint_3),
        ] {
            if text.trim().is_empty() {
                continue;
            }
            match parse_date(text, "checkpoint date") {
                Ok(date) if measure_by.is_some_and(|by| date >= by) => {
                    errors.add(field, "A checkpoint comes before the date to measure by")
                }
                Ok(date) if checkpoints.contains(&date) => {
                    errors.add(field, "This checkpoint is already listed")
                }
                Ok(date) => checkpoints.push(date),
                Err(message) => errors.add(field, message),
            }
        }
        checkpoints.sort();
        let leads_to = check(
            &mut errors,
            "leads_to",
            crate::org::model::optional_id(&self.leads_to, "Choose an outcome from the list"),
        );
        let metric_key = check(
            &mut errors,
            "metric_key",
            MetricKey::parse_optional(&self.metric_key),
        );
        // Who it names is checked against the database (`check_links`).
        if !self.owner_email.trim().is_empty() {
            check(&mut errors, "owner_email", Email::parse(&self.owner_email));
        }
        match (
            statement,
            kind,
            metric,
            unit,
            data_source,
            baseline,
            goal,
            measure_by,
            leads_to,
            metric_key,
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
                Some(leads_to),
                Some(metric_key),
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
                checkpoints,
                leads_to,
                metric_key,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "outcomes/form.html")]
pub struct OutcomeFormPage {
    layout: Layout,
    parent: Parent,
    /// Set when editing; `committed` then asks for a reason to change the commitment.
    outcome_id: Option<Uuid>,
    committed: bool,
    form: OutcomeForm,
    errors: FormErrors,
    preview: Option<String>,
    kinds: Vec<(String, String)>,
    units: Vec<(String, String)>,
    directions: Vec<(String, String)>,
    leads_to: Vec<(String, String)>,
}

impl OutcomeFormPage {
    fn owner_hint(&self) -> String {
        format!(
            "Who keeps it measurable and closes the loop. Empty: the {}’s owner.",
            self.parent.noun()
        )
    }
}

/// What the form needs beside the typed values.
struct Editing {
    parent: Parent,
    outcome_id: Option<Uuid>,
    committed: bool,
}

async fn form_page(
    state: &AppState,
    me: &Me,
    editing: Editing,
    form: OutcomeForm,
    errors: FormErrors,
    preview: Option<String>,
) -> Result<OutcomeFormPage> {
    let Editing {
        parent,
        outcome_id,
        committed,
    } = editing;
    let title = if outcome_id.is_some() {
        "Edit outcome"
    } else {
        "New outcome"
    };
    let leads_to = leads_to_options(&state.db, &parent, outcome_id)
        .await?
        .iter()
        .map(|o| (o.id.to_string(), o.sentence()))
        .collect();
    let section = if parent.is_epic() {
        Section::Epics
    } else {
        Section::Initiatives
    };
    Ok(OutcomeFormPage {
        layout: Layout::new(format!("{title} · {}", parent.title), section, me),
        parent,
        outcome_id,
        committed,
        form,
        errors,
        preview,
        kinds: OutcomeKind::options(),
        units: MetricUnit::options(),
        directions: Direction::options(),
        leads_to,
    })
}

/// The form again, with what was typed and why it was refused (`status`: 422 or 409).
async fn refused(
    state: &AppState,
    me: &Me,
    status: axum::http::StatusCode,
    editing: Editing,
    form: OutcomeForm,
    errors: FormErrors,
) -> Result<Response> {
    let preview = form.parse().ok().map(|v| v.sentence());
    let page = form_page(state, me, editing, form, errors, preview).await?;
    Ok((status, page).into_response())
}

/// What else the outcome must satisfy, checked against the database: an owner who is an
/// active person (empty: the parent's owner), and an outcome to lead to that belongs to
/// the parent or its initiative, without a loop. Checked even when other fields are wrong,
/// so every problem shows at once. Returns the owner.
async fn check_links(
    state: &AppState,
    form: &OutcomeForm,
    parent: &Parent,
    outcome_id: Option<Uuid>,
    errors: &mut FormErrors,
) -> Result<Option<Uuid>> {
    let owner = match Email::parse(&form.owner_email) {
        _ if form.owner_email.trim().is_empty() => parent.owner_id,
        // The format is refused by `parse`.
        Err(_) => None,
        Ok(email) => {
            let found: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM people WHERE lower(email) = lower($1) AND active",
            )
            .bind(email.as_str())
            .fetch_optional(&state.db)
            .await?;
            if found.is_none() {
                errors.add(
                    "owner_email",
                    format!(
                        "Nobody active has this email: leave it empty for the {}’s owner",
                        parent.noun()
                    ),
                );
            }
            found
        }
    };
    if let Ok(leads_to) = Uuid::parse_str(form.leads_to.trim()) {
        let allowed = leads_to_options(&state.db, parent, outcome_id)
            .await?
            .iter()
            .any(|o| o.id == leads_to);
        // Following "leads to" from the chosen outcome must never come back to this one.
        let circular: bool = match outcome_id {
            Some(id) => sqlx::query_scalar(
                "WITH RECURSIVE chain (id) AS (
                     SELECT $1::uuid
                     UNION SELECT o.leads_to_id FROM outcomes o JOIN chain c ON o.id = c.id WHERE o.leads_to_id IS NOT NULL)
                 SELECT EXISTS (SELECT 1 FROM chain WHERE id = $2)",
            )
            .bind(leads_to)
            .bind(id)
            .fetch_one(&state.db)
            .await?,
            None => false,
        };
        if !allowed {
            errors.add(
                "leads_to",
                "Choose one of the outcomes listed: those of this work or of its initiative",
            );
        } else if circular {
            errors.add(
                "leads_to",
                "That outcome already leads to this one: choose another",
            );
        }
    }
    Ok(owner)
}

/// Replaces an outcome's interim checkpoints.
async fn save_checkpoints(
    tx: &mut sqlx::PgConnection,
    outcome: Uuid,
    dates: &[NaiveDate],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM outcome_checkpoints WHERE outcome_id = $1")
        .bind(outcome)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO outcome_checkpoints (outcome_id, due_on) SELECT $1, unnest($2::date[])",
    )
    .bind(outcome)
    .bind(dates)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The valid outcome, or the problems found so far (more may be added).
fn split(
    parsed: std::result::Result<ValidOutcome, FormErrors>,
) -> (Option<ValidOutcome>, FormErrors) {
    match parsed {
        Ok(valid) => (Some(valid), FormErrors::default()),
        Err(errors) => (None, errors),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewOutcomeQuery {
    epic: String,
    initiative: String,
}

/// The epic or initiative named by the form's or the query's ids (exactly one).
fn parent_ids(epic: &str, initiative: &str) -> Result<(Option<Uuid>, Option<Uuid>)> {
    let id = |v: &str| Uuid::parse_str(v.trim()).ok();
    match (id(epic), id(initiative)) {
        (Some(epic), None) => Ok((Some(epic), None)),
        (None, Some(initiative)) => Ok((None, Some(initiative))),
        _ => Err(AppError::NotFound),
    }
}

/// `GET /outcomes/new?epic=…` or `?initiative=…`
pub async fn get_new_outcome(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Query(query): Query<NewOutcomeQuery>,
) -> Result<Response> {
    let (epic, initiative) = parent_ids(&query.epic, &query.initiative)?;
    let target = epic.or(initiative).unwrap_or_default();
    let parent =
        parent_to_change(&state, &me, &client, epic, initiative, "outcome", target).await?;
    let form = OutcomeForm {
        epic: query.epic,
        initiative: query.initiative,
        kind: OutcomeKind::Behaviour.as_str().into(),
        unit: MetricUnit::Percent.as_str().into(),
        direction: Direction::Increase.as_str().into(),
        owner_email: parent.owner_email.clone().unwrap_or_default(),
        ..OutcomeForm::default()
    };
    let editing = Editing {
        parent,
        outcome_id: None,
        committed: false,
    };
    let page = form_page(&state, &me, editing, form, FormErrors::default(), None).await?;
    Ok(page.into_response())
}

/// Adds an anticipated outcome to the parent `me` may change (pages and the API alike):
/// validation, the links (owner, the outcome it leads to), the insert with its
/// checkpoints, and the audit row. An outcome of committed work is committed at once.
pub async fn create_outcome(
    state: &AppState,
    me: &Me,
    client: &str,
    parent: &Parent,
    form: &OutcomeForm,
) -> Result<std::result::Result<(Uuid, String), FormErrors>> {
    let (epic, initiative) = parent_ids(&form.epic, &form.initiative)?;
    let (valid, mut errors) = split(form.parse());
    let owner = check_links(state, form, parent, None, &mut errors).await?;
    let Some(valid) = valid.filter(|_| errors.is_empty()) else {
        return Ok(Err(errors));
    };
    let (target, lower, upper) = valid.goal_columns();
    let id = Uuid::new_v4();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO outcomes (id, epic_id, initiative_id, owner_id, kind, statement, metric, unit, unit_label, direction,
                               baseline, target, band_lower, band_upper, measure_by, data_source, leads_to_id, committed_at,
                               metric_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(id)
    .bind(epic)
    .bind(initiative)
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
    .bind(valid.leads_to)
    // An outcome added to work already committed to is committed at once.
    .bind(parent.committed().then_some(now))
    .bind(valid.metric_key.as_ref().map(MetricKey::as_str))
    .execute(&mut *tx)
    .await?;
    save_checkpoints(&mut tx, id, &valid.checkpoints).await?;
    Entry::new("outcome_created")
        .actor(Some(me.id))
        .entity("outcome", id)
        .after(json!({ "epic_id": epic, "initiative_id": initiative, "sentence": valid.sentence(),
                       "statement": valid.statement, "checkpoints": valid.checkpoints, "leads_to_id": valid.leads_to }))
        .client(client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    Ok(Ok((id, valid.sentence())))
}

/// `POST /outcomes`
pub async fn post_outcome(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(form): Form<OutcomeForm>,
) -> Result<Response> {
    let (epic, initiative) = parent_ids(&form.epic, &form.initiative)?;
    let target = epic.or(initiative).unwrap_or_default();
    let parent =
        parent_to_change(&state, &me, &client, epic, initiative, "outcome", target).await?;
    match create_outcome(&state, &me, &client, &parent, &form).await? {
        Ok((_, sentence)) => Ok(page::see_other(
            &parent.href(),
            &format!("Outcome saved: {sentence}"),
        )),
        Err(errors) => {
            let editing = Editing {
                parent,
                outcome_id: None,
                committed: false,
            };
            refused(&state, &me, INVALID, editing, form, errors).await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "outcomes/show.html")]
pub struct OutcomePage {
    layout: Layout,
    parent: Parent,
    outcome: OutcomeRow,
    revisions: Vec<Revision>,
    /// The outcome this one leads to, and those leading to it.
    leads_to: Option<OutcomeRow>,
    led_by: Vec<OutcomeRow>,
    may_change: bool,
    /// The loop: measurements, proposal, closing.
    lp: LoopView,
}

/// `GET /outcomes/{id}`
pub async fn get_outcome(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    flash: Flash,
) -> Result<OutcomePage> {
    outcome_page(&state, &me, id, flash, LoopInput::default()).await
}

/// The outcome's page: anticipated vs actual, its loop, and (with `input`) the forms as
/// typed.
pub async fn outcome_page(
    state: &AppState,
    me: &Me,
    id: Uuid,
    flash: Flash,
    input: LoopInput,
) -> Result<OutcomePage> {
    let mut outcome = outcome_row(&state.db, id).await?;
    let parent = load_parent(&state.db, outcome.epic_id, outcome.initiative_id).await?;
    let today = me.today(&state.clock);
    outcome.loop_state = parent.loop_state(outcome.closed, outcome.measure_by, today);
    let leads_to = match outcome.leads_to_id {
        Some(other) => Some(outcome_row(&state.db, other).await?),
        None => None,
    };
    let led_by = outcomes_leading_to(&state.db, id).await?;
    let revisions = revisions(&state.db, id).await?;
    let may_change = may_change_record(&state.db, me, parent.unit_id, parent.owner_id).await?;
    let lp = crate::loops::outcome::loop_view(state, me, &outcome, &parent, input).await?;
    let section = if parent.is_epic() {
        Section::Epics
    } else {
        Section::Initiatives
    };
    let layout =
        Layout::new(format!("Outcome · {}", outcome.metric), section, me).with_flash(flash);
    Ok(OutcomePage {
        layout,
        parent,
        outcome,
        revisions,
        leads_to,
        led_by,
        may_change,
        lp,
    })
}

/// The parent of an outcome being edited, when `me` may change it.
async fn editing(state: &AppState, me: &Me, client: &str, outcome: &OutcomeRow) -> Result<Editing> {
    let parent = parent_to_change(
        state,
        me,
        client,
        outcome.epic_id,
        outcome.initiative_id,
        "outcome",
        outcome.id,
    )
    .await?;
    Ok(Editing {
        parent,
        outcome_id: Some(outcome.id),
        committed: outcome.committed,
    })
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

impl From<&OutcomeRow> for OutcomeForm {
    fn from(o: &OutcomeRow) -> OutcomeForm {
        let id = |v: Option<Uuid>| v.map(|id| id.to_string()).unwrap_or_default();
        let checkpoint = |i: usize| {
            o.checkpoints
                .get(i)
                .map(|d| d.to_string())
                .unwrap_or_default()
        };
        OutcomeForm {
            epic: id(o.epic_id),
            initiative: id(o.initiative_id),
            statement: o.statement.clone(),
            kind: o.kind.clone(),
            metric: o.metric.clone(),
            unit: o.unit.clone(),
            unit_label: o.unit_label.clone(),
            data_source: o.data_source.clone(),
            direction: o.direction.clone(),
            baseline: form_number(Some(o.baseline)),
            target: form_number(o.target),
            band_lower: form_number(o.band_lower),
            band_upper: form_number(o.band_upper),
            measure_by: o.measure_by.to_string(),
            checkpoint_1: checkpoint(0),
            checkpoint_2: checkpoint(1),
            checkpoint_3: checkpoint(2),
            leads_to: id(o.leads_to_id),
            metric_key: o.metric_key.clone().unwrap_or_default(),
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
    let stored = outcome_row(&state.db, id).await?;
    let editing = editing(&state, &me, &client, &stored).await?;
    let preview = Some(stored.sentence());
    let form = OutcomeForm::from(&stored);
    let page = form_page(&state, &me, editing, form, FormErrors::default(), preview).await?;
    Ok(page.into_response())
}

/// Saves an outcome from the form as typed, if `version` is still current (pages and the
/// API alike). Once committed, a change to its baseline, goal or date needs a reason and is
/// kept as a revision. The caller has checked the person may change it (`parent`).
pub async fn update_outcome(
    state: &AppState,
    me: &Me,
    client: &str,
    stored: &OutcomeRow,
    parent: &Parent,
    form: &OutcomeForm,
    version: i32,
) -> Result<std::result::Result<(), Refused>> {
    let id = stored.id;
    let (valid, mut errors) = split(form.parse());
    let revised = stored.committed
        && valid
            .as_ref()
            .is_some_and(|v| v.commitment() != stored.commitment());
    if revised && form.reason.trim().is_empty() {
        errors.add(
            "reason",
            format!(
                "This outcome was committed when {}: say why it changes",
                parent.commitment_moment()
            ),
        );
    }
    let owner = check_links(state, form, parent, Some(id), &mut errors).await?;
    let Some(valid) = valid.filter(|_| errors.is_empty()) else {
        return Ok(Err(Refused::Invalid(errors)));
    };
    let (target, lower, upper) = valid.goal_columns();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE outcomes SET owner_id = $3, kind = $4, statement = $5, metric = $6, unit = $7, unit_label = $8,
                direction = $9, baseline = $10, target = $11, band_lower = $12, band_upper = $13, measure_by = $14,
                data_source = $15, leads_to_id = $16, metric_key = $17, version = version + 1, updated_at = now()
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
    .bind(valid.leads_to)
    .bind(valid.metric_key.as_ref().map(MetricKey::as_str))
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(Err(Refused::Stale));
    }
    save_checkpoints(&mut tx, id, &valid.checkpoints).await?;
    let before = json!({ "sentence": stored.sentence(), "commitment": stored.commitment(), "statement": stored.statement,
                         "checkpoints": stored.checkpoints, "leads_to_id": stored.leads_to_id });
    let after = json!({ "sentence": valid.sentence(), "commitment": valid.commitment(), "statement": valid.statement,
                        "checkpoints": valid.checkpoints, "leads_to_id": valid.leads_to });
    if revised {
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
        .client(client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// `POST /outcomes/{id}`
pub async fn post_outcome_update(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<OutcomeForm>,
) -> Result<Response> {
    let stored = outcome_row(&state.db, id).await?;
    let editing = editing(&state, &me, &client, &stored).await?;
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    match update_outcome(
        &state,
        &me,
        &client,
        &stored,
        &editing.parent,
        &form,
        version,
    )
    .await?
    {
        Ok(()) => Ok(page::see_other(&format!("/outcomes/{id}"), "Outcome saved")),
        Err(Refused::Invalid(errors)) => refused(&state, &me, INVALID, editing, form, errors).await,
        Err(Refused::Stale) => {
            let current = outcome_row(&state.db, id).await?;
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
            refused(&state, &me, CONFLICT, editing, form, errors).await
        }
    }
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
pub async fn revisions(db: &crate::db::Db, outcome: Uuid) -> sqlx::Result<Vec<Revision>> {
    sqlx::query_as(
        "SELECT r.revised_at, p.name AS revised_by, r.reason, r.before, r.after
           FROM outcome_revisions r LEFT JOIN people p ON p.id = r.revised_by
          WHERE r.outcome_id = $1 ORDER BY r.id",
    )
    .bind(outcome)
    .fetch_all(db)
    .await
}
