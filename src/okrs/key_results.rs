//! Key results: how an objective is known to be met. The form (new, edit), the page with
//! its progress, check-ins, what is cascaded from it and the outcomes that serve it, and
//! check-ins (value, confidence 0–10, note).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{Change, Entry};
use crate::auth::guard::{ClientAddr, ensure_may_change};
use crate::auth::policy::{Me, may_change_record};
use crate::chart::{Anticipated, Chart};
use crate::epics::model::confidence_options;
use crate::http::page::{
    self, CONFLICT, ChangedField, Flash, Form, FormErrors, INVALID, Id, Layout, Query, Refused,
    Section, check,
};
use crate::http::{AppError, AppState, Result};
use crate::okrs::cascade::{Cascade, KeyResultRow};
use crate::okrs::model::ProgressSource;
use crate::okrs::objectives::{Objective, load_objective};
use crate::org::model::required_text;
use crate::outcomes::model::{
    Direction, Goal, GoalFields, MetricKey, MetricUnit, form_number, parse_value,
};
use crate::people::model::Email;
use crate::periods::model::{human_date, parse_date};

/// The key result form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct KeyResultForm {
    pub objective_id: String,
    pub title: String,
    pub metric: String,
    pub unit: String,
    pub unit_label: String,
    pub direction: String,
    pub start_value: String,
    pub target: String,
    pub band_lower: String,
    pub band_upper: String,
    pub owner_email: String,
    pub weight: String,
    pub progress_source: String,
    /// Lets an analytics job check in by posting values for this key.
    pub metric_key: String,
    /// Proposed from an anticipated outcome: it stays linked to it, and may follow it.
    pub source_outcome_id: String,
    pub version: String,
}

struct ValidKeyResult {
    title: String,
    metric: String,
    unit: MetricUnit,
    unit_label: String,
    start: Decimal,
    goal: Goal,
    owner_email: Email,
    weight: Decimal,
    source: ProgressSource,
    metric_key: Option<MetricKey>,
}

impl ValidKeyResult {
    fn goal_columns(&self) -> (Option<Decimal>, Option<Decimal>, Option<Decimal>) {
        match self.goal {
            Goal::Increase { target } | Goal::Decrease { target } => (Some(target), None, None),
            Goal::StayWithin { lower, upper } => (None, Some(lower), Some(upper)),
        }
    }

    fn to_json(&self, owner: Option<Uuid>) -> serde_json::Value {
        let (target, lower, upper) = self.goal_columns();
        json!({ "title": self.title, "metric": self.metric, "unit": self.unit.as_str(), "unit_label": self.unit_label,
                "direction": self.goal.direction().as_str(), "start_value": self.start, "target": target,
                "band_lower": lower, "band_upper": upper, "owner_id": owner, "weight": self.weight,
                "progress_source": self.source.as_str(), "metric_key": self.metric_key.as_ref().map(MetricKey::as_str) })
    }
}

impl KeyResultForm {
    fn parse(&self) -> std::result::Result<ValidKeyResult, FormErrors> {
        let mut errors = FormErrors::default();
        let title = check(
            &mut errors,
            "title",
            required_text(&self.title, "a title", 200),
        );
        let metric = check(
            &mut errors,
            "metric",
            required_text(&self.metric, "the metric", 200),
        );
        let unit = check(&mut errors, "unit", MetricUnit::parse(&self.unit));
        if unit == Some(MetricUnit::Custom) && self.unit_label.trim().is_empty() {
            errors.add(
                "unit_label",
                "Name the unit, for example “learners” or “tickets”",
            );
        }
        let parsed = GoalFields {
            direction: &self.direction,
            start: &self.start_value,
            target: &self.target,
            band_lower: &self.band_lower,
            band_upper: &self.band_upper,
        }
        .parse(&mut errors, "start_value", "start value");
        let owner_email = if self.owner_email.trim().is_empty() {
            errors.add(
                "owner_email",
                "Enter the email of the one person accountable for this key result",
            );
            None
        } else {
            check(&mut errors, "owner_email", Email::parse(&self.owner_email))
        };
        let weight = match self.weight.trim() {
            "" => Some(Decimal::ONE),
            text => match parse_value(text, "weight") {
                Ok(w) if w > Decimal::ZERO && w.scale() <= 2 && w < Decimal::from(10_000) => {
                    Some(w)
                }
                Ok(_) => {
                    errors.add("weight", "The weight is a number above 0, like 1 or 2.5");
                    None
                }
                Err(message) => {
                    errors.add("weight", message);
                    None
                }
            },
        };
        let source = check(
            &mut errors,
            "progress_source",
            ProgressSource::parse(&self.progress_source),
        );
        if source == Some(ProgressSource::Outcome) && self.source_outcome_id.trim().is_empty() {
            errors.add(
                "progress_source",
                "Following an outcome starts from the outcome: use “Propose as a key result” on it",
            );
        }
        let metric_key = check(
            &mut errors,
            "metric_key",
            MetricKey::parse_optional(&self.metric_key),
        );
        match (
            title,
            metric,
            unit,
            parsed,
            owner_email,
            weight,
            source,
            metric_key,
        ) {
            (
                Some(title),
                Some(metric),
                Some(unit),
                Some((start, goal)),
                Some(owner_email),
                Some(weight),
                Some(source),
                Some(metric_key),
            ) if errors.is_empty() => Ok(ValidKeyResult {
                title,
                metric,
                unit,
                unit_label: self.unit_label.trim().chars().take(40).collect(),
                start,
                goal,
                owner_email,
                weight,
                source,
                metric_key,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "okrs/key_result_form.html")]
pub struct KeyResultFormPage {
    layout: Layout,
    key_result_id: Option<Uuid>,
    objective: Objective,
    form: KeyResultForm,
    errors: FormErrors,
    changes: Vec<ChangedField>,
    units: Vec<(String, String)>,
    directions: Vec<(String, String)>,
    sources: Vec<(String, String)>,
}

async fn form_page(
    state: &AppState,
    me: &Me,
    key_result_id: Option<Uuid>,
    objective: Objective,
    form: KeyResultForm,
    errors: FormErrors,
) -> Result<KeyResultFormPage> {
    let title = if key_result_id.is_some() {
        "Edit key result"
    } else {
        "New key result"
    };
    let _ = state;
    Ok(KeyResultFormPage {
        layout: Layout::new(title, Section::Okrs, me),
        key_result_id,
        objective,
        form,
        errors,
        changes: Vec::new(),
        units: MetricUnit::options(),
        directions: Direction::options(),
        sources: ProgressSource::options()
            .into_iter()
            .filter(|(v, _)| v != ProgressSource::Outcome.as_str())
            .collect(),
    })
}

async fn refused(
    state: &AppState,
    me: &Me,
    key_result_id: Option<Uuid>,
    objective: Objective,
    form: KeyResultForm,
    errors: FormErrors,
) -> Result<Response> {
    let page = form_page(state, me, key_result_id, objective, form, errors).await?;
    Ok((INVALID, page).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewKeyResultQuery {
    objective: String,
}

/// The objective a key result is added to, when `me` may change it and its period is open.
async fn objective_for_change(
    state: &AppState,
    me: &Me,
    client: &str,
    id: &str,
) -> Result<std::result::Result<Objective, Response>> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)?;
    crate::okrs::objectives::objective_to_change(state, me, client, id).await
}

/// `GET /key-results/new?objective=`
pub async fn get_new_key_result(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Query(query): Query<NewKeyResultQuery>,
) -> Result<Response> {
    let objective = match objective_for_change(&state, &me, &client, &query.objective).await? {
        Ok(objective) => objective,
        Err(back) => return Ok(back),
    };
    let form = KeyResultForm {
        objective_id: objective.id.to_string(),
        owner_email: objective.owner_email.clone().unwrap_or_default(),
        direction: Direction::Increase.as_str().into(),
        unit: MetricUnit::Percent.as_str().into(),
        weight: "1".into(),
        progress_source: ProgressSource::CheckIns.as_str().into(),
        ..KeyResultForm::default()
    };
    Ok(
        form_page(&state, &me, None, objective, form, FormErrors::default())
            .await?
            .into_response(),
    )
}

/// Adds a key result to `objective` from the form as typed (pages and the API alike). The
/// caller has checked the person may change the objective and its period is open.
pub async fn create_key_result(
    state: &AppState,
    me: &Me,
    client: &str,
    objective: Uuid,
    form: &KeyResultForm,
) -> Result<std::result::Result<Uuid, FormErrors>> {
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => return Ok(Err(errors)),
    };
    let mut errors = FormErrors::default();
    let owner = crate::people::active_owner(
        &state.db,
        &valid.owner_email,
        &mut errors,
        "owner_email",
        "Nobody has this email: add the person first",
    )
    .await?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let mut tx = state.db.begin().await?;
    let id = insert_key_result(
        &mut tx,
        me,
        client,
        state.clock.now(),
        objective,
        owner,
        &valid,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// `POST /key-results`
pub async fn post_key_result(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(form): Form<KeyResultForm>,
) -> Result<Response> {
    let objective = match objective_for_change(&state, &me, &client, &form.objective_id).await? {
        Ok(objective) => objective,
        Err(back) => return Ok(back),
    };
    match create_key_result(&state, &me, &client, objective.id, &form).await? {
        Ok(_) => Ok(page::see_other(
            &format!("/objectives/{}", objective.id),
            "Key result added",
        )),
        Err(errors) => refused(&state, &me, None, objective, form, errors).await,
    }
}

/// Adds a key result at the end of the objective's list, audited; `from_outcome` links it
/// to the anticipated outcome it was proposed from (and which it may follow).
#[allow(clippy::too_many_arguments)]
async fn insert_key_result(
    tx: &mut sqlx::PgConnection,
    me: &Me,
    client: &str,
    now: chrono::DateTime<chrono::Utc>,
    objective: Uuid,
    owner: Option<Uuid>,
    valid: &ValidKeyResult,
    from_outcome: Option<Uuid>,
) -> Result<Uuid> {
    let id = Uuid::new_v4();
    let (target, lower, upper) = valid.goal_columns();
    let follows = from_outcome.filter(|_| valid.source == ProgressSource::Outcome);
    sqlx::query(
        "INSERT INTO key_results (id, objective_id, owner_id, title, metric, unit, unit_label, direction, start_value,
                                  target, band_lower, band_upper, weight, progress_source, source_outcome_id, metric_key, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 (SELECT coalesce(max(position), 0) + 1 FROM key_results WHERE objective_id = $2))",
    )
    .bind(id)
    .bind(objective)
    .bind(owner)
    .bind(&valid.title)
    .bind(&valid.metric)
    .bind(valid.unit.as_str())
    .bind(&valid.unit_label)
    .bind(valid.goal.direction().as_str())
    .bind(valid.start)
    .bind(target)
    .bind(lower)
    .bind(upper)
    .bind(valid.weight)
    .bind(valid.source.as_str())
    .bind(follows)
    .bind(valid.metric_key.as_ref().map(MetricKey::as_str))
    .execute(&mut *tx)
    .await?;
    if let Some(outcome) = from_outcome {
        sqlx::query(
            "INSERT INTO outcome_key_results (outcome_id, key_result_id, created_by) VALUES ($1, $2, $3)",
        )
        .bind(outcome)
        .bind(id)
        .bind(me.id)
        .execute(&mut *tx)
        .await?;
    }
    let mut after = valid.to_json(owner);
    after["proposed_from_outcome_id"] = json!(from_outcome);
    Entry::new("key_result_created")
        .actor(Some(me.id))
        .entity("key_result", id)
        .after(after)
        .client(client)
        .write(&mut *tx, now)
        .await?;
    Ok(id)
}

/// The anticipated outcome a key result is proposed from.
#[derive(Debug, sqlx::FromRow)]
pub struct ProposedFrom {
    pub id: Uuid,
    pub statement: String,
    pub metric: String,
    pub unit: String,
    pub unit_label: String,
    pub direction: String,
    pub baseline: Decimal,
    pub target: Option<Decimal>,
    pub band_lower: Option<Decimal>,
    pub band_upper: Option<Decimal>,
    pub parent_title: String,
    pub parent_href: String,
    pub unit_id: Uuid,
    pub unit_name: String,
}

async fn proposed_from(db: &crate::db::Db, outcome: &str) -> Result<ProposedFrom> {
    let id = Uuid::parse_str(outcome.trim()).map_err(|_| AppError::NotFound)?;
    sqlx::query_as(
        "SELECT o.id, o.statement, o.metric, o.unit, o.unit_label, o.direction, o.baseline, o.target, o.band_lower,
                o.band_upper, coalesce(e.title, i.title) AS parent_title,
                CASE WHEN e.id IS NULL THEN '/initiatives/' || i.id ELSE '/epics/' || e.id END AS parent_href,
                u.id AS unit_id, u.name AS unit_name
           FROM outcomes o LEFT JOIN epics e ON e.id = o.epic_id LEFT JOIN initiatives i ON i.id = o.initiative_id
           JOIN org_units u ON u.id = coalesce(e.team_id, i.org_unit_id)
          WHERE o.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

#[derive(Template, WebTemplate)]
#[template(path = "okrs/propose.html")]
pub struct ProposePage {
    layout: Layout,
    outcome: ProposedFrom,
    objectives: Vec<(String, String)>,
    form: KeyResultForm,
    errors: FormErrors,
    units: Vec<(String, String)>,
    directions: Vec<(String, String)>,
    sources: Vec<(String, String)>,
}

async fn propose_page(
    state: &AppState,
    me: &Me,
    outcome: ProposedFrom,
    form: KeyResultForm,
    errors: FormErrors,
) -> Result<ProposePage> {
    let today = me.today(&state.clock);
    // Objectives of the outcome's unit or a unit above it, in periods under way, that `me`
    // may change (the policy's rule as a filter; the handler still checks the one chosen).
    let objectives = sqlx::query_as::<_, (Uuid, String)>(
        "SELECT o.id, o.title || ' (' || u.name || ', ' || pe.name || ')'
           FROM objectives o JOIN org_units u ON u.id = o.org_unit_id JOIN periods pe ON pe.id = o.period_id
          WHERE o.org_unit_id IN (SELECT ancestor_id FROM org_unit_tree WHERE descendant_id = $1)
            AND pe.closed_at IS NULL AND pe.ends_on >= $2 AND o.status <> 'closed'
            AND ($4 OR o.owner_id = $3 OR EXISTS (
                    SELECT 1 FROM memberships m JOIN org_unit_tree t ON t.ancestor_id = m.org_unit_id
                     WHERE m.person_id = $3 AND t.descendant_id = o.org_unit_id))
          ORDER BY pe.starts_on, lower(u.name), lower(o.title) LIMIT 100",
    )
    .bind(outcome.unit_id)
    .bind(today)
    .bind(me.id)
    .bind(me.is_admin())
    .fetch_all(&state.db)
    .await?
    .into_iter()
    .map(|(id, title)| (id.to_string(), title))
    .collect();
    Ok(ProposePage {
        layout: Layout::new("Propose as a key result", Section::Okrs, me),
        outcome,
        objectives,
        form,
        errors,
        units: MetricUnit::options(),
        directions: Direction::options(),
        sources: ProgressSource::options(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProposeQuery {
    outcome: String,
}

/// `GET /key-results/propose?outcome=`: a new key result prefilled from an anticipated
/// outcome (metric, baseline as its start, target or band), following its measurements.
pub async fn get_propose(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<ProposeQuery>,
) -> Result<ProposePage> {
    let outcome = proposed_from(&state.db, &query.outcome).await?;
    let owner_email: Option<String> = sqlx::query_scalar("SELECT email FROM people WHERE id = $1")
        .bind(me.id)
        .fetch_optional(&state.db)
        .await?;
    let form = KeyResultForm {
        title: outcome.statement.chars().take(200).collect(),
        metric: outcome.metric.clone(),
        unit: outcome.unit.clone(),
        unit_label: outcome.unit_label.clone(),
        direction: outcome.direction.clone(),
        start_value: form_number(Some(outcome.baseline)),
        target: form_number(outcome.target),
        band_lower: form_number(outcome.band_lower),
        band_upper: form_number(outcome.band_upper),
        owner_email: owner_email.unwrap_or_default(),
        weight: "1".into(),
        progress_source: ProgressSource::Outcome.as_str().into(),
        source_outcome_id: outcome.id.to_string(),
        ..KeyResultForm::default()
    };
    propose_page(&state, &me, outcome, form, FormErrors::default()).await
}

/// `POST /key-results/propose`
pub async fn post_propose(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(form): Form<KeyResultForm>,
) -> Result<Response> {
    let outcome = proposed_from(&state.db, &form.source_outcome_id).await?;
    let (valid, mut errors) = match form.parse() {
        Ok(valid) => (Some(valid), FormErrors::default()),
        Err(errors) => (None, errors),
    };
    let objective = match Uuid::parse_str(form.objective_id.trim()) {
        Ok(id) => Some(id),
        Err(_) => {
            errors.add(
                "objective_id",
                "Choose the objective this key result serves",
            );
            None
        }
    };
    let (Some(valid), Some(objective)) = (valid, objective) else {
        let page = propose_page(&state, &me, outcome, form, errors).await?;
        return Ok((INVALID, page).into_response());
    };
    let objective = match crate::okrs::objectives::objective_to_change(
        &state, &me, &client, objective,
    )
    .await?
    {
        Ok(objective) => objective,
        Err(back) => return Ok(back),
    };
    let owner = crate::people::active_owner(
        &state.db,
        &valid.owner_email,
        &mut errors,
        "owner_email",
        "Nobody has this email: add the person first",
    )
    .await?;
    if !errors.is_empty() {
        let page = propose_page(&state, &me, outcome, form, errors).await?;
        return Ok((INVALID, page).into_response());
    }
    let mut tx = state.db.begin().await?;
    let id = insert_key_result(
        &mut tx,
        &me,
        &client,
        state.clock.now(),
        objective.id,
        owner,
        &valid,
        Some(outcome.id),
    )
    .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/key-results/{id}"),
        &format!(
            "Key result added to “{}”, linked to the outcome",
            objective.title
        ),
    ))
}

/// A key result as its page and edit form read it.
#[derive(Debug, sqlx::FromRow)]
pub struct KeyResult {
    pub id: Uuid,
    pub objective_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub owner_email: Option<String>,
    pub metric: String,
    pub unit: String,
    pub unit_label: String,
    pub direction: String,
    pub title: String,
    pub start_value: Decimal,
    pub target: Option<Decimal>,
    pub band_lower: Option<Decimal>,
    pub band_upper: Option<Decimal>,
    pub weight: Decimal,
    pub progress_source: String,
    pub metric_key: Option<String>,
    pub version: i32,
}

pub async fn load_key_result(db: &crate::db::Db, id: Uuid) -> Result<KeyResult> {
    sqlx::query_as(
        "SELECT k.id, k.objective_id, k.owner_id, p.email AS owner_email, k.metric, k.unit, k.unit_label, k.direction, k.title,
                k.start_value, k.target, k.band_lower, k.band_upper, k.weight, k.progress_source, k.metric_key, k.version
           FROM key_results k LEFT JOIN people p ON p.id = k.owner_id WHERE k.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

impl From<&KeyResult> for KeyResultForm {
    fn from(k: &KeyResult) -> KeyResultForm {
        KeyResultForm {
            objective_id: k.objective_id.to_string(),
            title: k.title.clone(),
            metric: k.metric.clone(),
            unit: k.unit.clone(),
            unit_label: k.unit_label.clone(),
            direction: k.direction.clone(),
            start_value: form_number(Some(k.start_value)),
            target: form_number(k.target),
            band_lower: form_number(k.band_lower),
            band_upper: form_number(k.band_upper),
            owner_email: k.owner_email.clone().unwrap_or_default(),
            weight: form_number(Some(k.weight)),
            progress_source: k.progress_source.clone(),
            metric_key: k.metric_key.clone().unwrap_or_default(),
            source_outcome_id: String::new(),
            version: k.version.to_string(),
        }
    }
}

/// The key result and its objective, when `me` may change them: the objective's unit's
/// members (or above), the key result's owner, admins; never in a closed period.
pub async fn key_result_to_change(
    state: &AppState,
    me: &Me,
    client: &str,
    id: Uuid,
) -> Result<std::result::Result<(KeyResult, Objective), Response>> {
    let key_result = load_key_result(&state.db, id).await?;
    let objective = load_objective(&state.db, key_result.objective_id).await?;
    ensure_may_change(
        state,
        me,
        client,
        objective.unit_id,
        key_result.owner_id,
        "key_result",
        id,
    )
    .await?;
    if objective.period_closed {
        return Ok(Err(page::see_other(
            &format!("/key-results/{id}"),
            "This key result's period is closed: it is read-only until an administrator reopens it",
        )));
    }
    Ok(Ok((key_result, objective)))
}

/// `GET /key-results/{id}/edit`
pub async fn get_edit_key_result(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let (key_result, objective) = match key_result_to_change(&state, &me, &client, id).await? {
        Ok(found) => found,
        Err(back) => return Ok(back),
    };
    let form = KeyResultForm::from(&key_result);
    Ok(form_page(
        &state,
        &me,
        Some(id),
        objective,
        form,
        FormErrors::default(),
    )
    .await?
    .into_response())
}

/// Changes a key result from the form as typed, if `version` is still current (pages and
/// the API alike). One following an outcome keeps that source. The caller has checked the
/// person may change it and its period is open.
pub async fn update_key_result(
    state: &AppState,
    me: &Me,
    client: &str,
    key_result: &KeyResult,
    form: &KeyResultForm,
    version: i32,
) -> Result<std::result::Result<(), Refused>> {
    let id = key_result.id;
    let follows_outcome = key_result.progress_source == ProgressSource::Outcome.as_str();
    let mut form = form.clone();
    if follows_outcome {
        form.progress_source = ProgressSource::CheckIns.as_str().into();
    }
    let valid = match form.parse() {
        Ok(mut valid) => {
            if follows_outcome {
                valid.source = ProgressSource::Outcome;
            }
            valid
        }
        Err(errors) => return Ok(Err(Refused::Invalid(errors))),
    };
    let mut errors = FormErrors::default();
    let owner = crate::people::active_owner(
        &state.db,
        &valid.owner_email,
        &mut errors,
        "owner_email",
        "Nobody has this email: add the person first",
    )
    .await?;
    if !errors.is_empty() {
        return Ok(Err(Refused::Invalid(errors)));
    }
    let before = json!({ "title": key_result.title, "metric": key_result.metric, "start_value": key_result.start_value,
                         "target": key_result.target, "direction": key_result.direction, "weight": key_result.weight,
                         "progress_source": key_result.progress_source });
    let (target, lower, upper) = valid.goal_columns();
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE key_results SET owner_id = $3, title = $4, metric = $5, unit = $6, unit_label = $7, direction = $8,
                start_value = $9, target = $10, band_lower = $11, band_upper = $12, weight = $13, progress_source = $14,
                metric_key = $15, version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(owner)
    .bind(&valid.title)
    .bind(&valid.metric)
    .bind(valid.unit.as_str())
    .bind(&valid.unit_label)
    .bind(valid.goal.direction().as_str())
    .bind(valid.start)
    .bind(target)
    .bind(lower)
    .bind(upper)
    .bind(valid.weight)
    .bind(valid.source.as_str())
    .bind(valid.metric_key.as_ref().map(MetricKey::as_str))
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(Err(Refused::Stale));
    }
    Entry::new("key_result_updated")
        .actor(Some(me.id))
        .entity("key_result", id)
        .before(before)
        .after(valid.to_json(owner))
        .client(client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// `POST /key-results/{id}`
pub async fn post_key_result_update(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<KeyResultForm>,
) -> Result<Response> {
    let (key_result, objective) = match key_result_to_change(&state, &me, &client, id).await? {
        Ok(found) => found,
        Err(back) => return Ok(back),
    };
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    match update_key_result(&state, &me, &client, &key_result, &form, version).await? {
        Ok(()) => Ok(page::see_other(
            &format!("/key-results/{id}"),
            "Key result saved",
        )),
        Err(Refused::Invalid(errors)) => {
            refused(&state, &me, Some(id), objective, form, errors).await
        }
        Err(Refused::Stale) => {
            let current = load_key_result(&state.db, id).await?;
            let stored = KeyResultForm::from(&current);
            let changes = page::changed_fields(&[
                ("Title", stored.title.clone(), form.title.trim().to_string()),
                (
                    "Start",
                    stored.start_value.clone(),
                    form.start_value.trim().to_string(),
                ),
                (
                    "Target",
                    stored.target.clone(),
                    form.target.trim().to_string(),
                ),
                (
                    "Owner",
                    stored.owner_email.clone(),
                    form.owner_email.trim().to_string(),
                ),
            ]);
            let form = KeyResultForm {
                version: current.version.to_string(),
                ..form
            };
            let mut page = form_page(
                &state,
                &me,
                Some(id),
                objective,
                form,
                FormErrors::default(),
            )
            .await?;
            page.changes = changes;
            Ok((CONFLICT, page).into_response())
        }
    }
}

/// One check-in as the key result's page lists it.
#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct CheckInRow {
    #[serde(deserialize_with = "crate::db::json::decimal")]
    pub value: Decimal,
    pub confidence: i16,
    pub note: String,
    pub author_name: Option<String>,
    pub checked_on: NaiveDate,
}

impl CheckInRow {
    pub fn day(&self) -> String {
        human_date(self.checked_on)
    }

    pub fn band(&self) -> crate::okrs::model::ConfidenceBand {
        crate::okrs::model::ConfidenceBand::of(self.confidence)
    }
}

/// An outcome serving the key result.
#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct ServingOutcome {
    pub id: Uuid,
    pub statement: String,
    pub epic_id: Option<Uuid>,
    pub parent_title: String,
    pub parent_status: String,
    pub measure_by: NaiveDate,
    pub closed: bool,
}

impl ServingOutcome {
    pub fn loop_state(&self, today: &NaiveDate) -> Option<crate::outcomes::model::LoopState> {
        crate::outcomes::parent::loop_state(
            &self.parent_status,
            self.closed,
            self.measure_by,
            *today,
        )
    }
}

/// The check-in form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CheckInForm {
    pub value: String,
    pub confidence: String,
    pub note: String,
    pub checked_on: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "okrs/key_result.html")]
pub struct KeyResultPage {
    layout: Layout,
    objective: Objective,
    cascade: Cascade,
    key_result_id: Uuid,
    check_ins: Vec<CheckInRow>,
    outcomes: Vec<ServingOutcome>,
    history: Vec<Change>,
    may_change: bool,
    today: NaiveDate,
    check_in: CheckInForm,
    errors: FormErrors,
    confidences: Vec<(String, String)>,
    chart: Option<Chart>,
    chart_label: String,
    closing: Closing,
    may_reflect: bool,
    /// The reflection as typed, when it was refused.
    pub reflection: Option<String>,
}

/// How the key result ended, once its period is closed.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Closing {
    pub final_score: Option<Decimal>,
    pub reflection: String,
    pub carried_from_id: Option<Uuid>,
}

impl Closing {
    pub fn score(&self) -> Option<String> {
        self.final_score.map(crate::okrs::model::percent)
    }
}

impl KeyResultPage {
    fn key_result(&self) -> Option<&KeyResultRow> {
        self.cascade
            .key_results
            .iter()
            .find(|k| k.id == self.key_result_id)
    }

    /// The reflection field's value: as typed, or as stored.
    fn reflection_value(&self) -> String {
        self.reflection
            .clone()
            .unwrap_or_else(|| self.closing.reflection.clone())
    }

    fn takes_check_ins(&self) -> bool {
        self.key_result()
            .is_some_and(|k| k.progress_source == ProgressSource::CheckIns.as_str())
    }
}

pub async fn key_result_page(
    state: &AppState,
    me: &Me,
    id: Uuid,
    check_in: Option<CheckInForm>,
    errors: FormErrors,
    flash: Flash,
) -> Result<KeyResultPage> {
    let crate::okrs::read::KeyResultRead {
        objective,
        closing,
        check_ins,
        outcomes,
        history,
        cascade,
    } = crate::okrs::read::read(state, id).await?;
    let cascade = Cascade::from(cascade);
    let owner = cascade
        .key_results
        .iter()
        .find(|k| k.id == id)
        .and_then(|k| k.owner_id);
    let may_edit = may_change_record(&state.db, me, objective.unit_id, owner).await?;
    let may_change = !objective.period_closed && may_edit;
    let may_reflect = objective.period_closed && may_edit;
    let today = me.today(&state.clock);
    let check_in = check_in.unwrap_or_else(|| CheckInForm {
        checked_on: today.to_string(),
        ..CheckInForm::default()
    });
    let row = cascade.key_results.iter().find(|k| k.id == id);
    let title = row.map(|k| k.title.clone()).unwrap_or_default();
    let points: Vec<(NaiveDate, Decimal)> = check_ins
        .iter()
        .map(|c: &CheckInRow| (c.checked_on, c.value))
        .collect();
    let anticipated = row.and_then(|k| match k.goal()? {
        Goal::Increase { target } | Goal::Decrease { target } => Some(Anticipated::Path {
            start: k.start_value,
            target,
        }),
        Goal::StayWithin { lower, upper } => Some(Anticipated::Band { lower, upper }),
    });
    let chart = anticipated.filter(|_| !points.is_empty()).map(|a| {
        Chart::new(
            objective.period_starts_on,
            objective.period_ends_on,
            a,
            &points,
        )
    });
    let chart_label = format!(
        "{title}: check-ins over {} against the straight path from start to target",
        objective.period_name
    );
    let layout = Layout::new(format!("Key result · {title}"), Section::Okrs, me).with_flash(flash);
    Ok(KeyResultPage {
        layout,
        objective,
        cascade,
        key_result_id: id,
        check_ins,
        outcomes,
        history,
        may_change,
        today,
        check_in,
        errors,
        confidences: confidence_options(),
        chart,
        chart_label,
        closing,
        may_reflect,
        reflection: None,
    })
}

/// `GET /key-results/{id}`
pub async fn get_key_result(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    flash: Flash,
) -> Result<KeyResultPage> {
    key_result_page(&state, &me, id, None, FormErrors::default(), flash).await
}

/// Why a check-in was refused.
#[derive(Debug)]
pub enum CheckInRefused {
    Invalid(FormErrors),
    /// The key result's period closed: its OKRs are read-only.
    PeriodClosed,
}

/// Records a check-in on a key result `me` may change (pages and the API alike): value,
/// confidence 0–10, day (not in the future) and note; the key result keeps the latest in
/// the same transaction, which is refused if its period closes meanwhile; audited.
pub async fn record_check_in(
    state: &AppState,
    me: &Me,
    client: &str,
    key_result: &KeyResult,
    form: &CheckInForm,
) -> Result<std::result::Result<(), CheckInRefused>> {
    let id = key_result.id;
    let today = me.today(&state.clock);
    let mut errors = FormErrors::default();
    if key_result.progress_source != ProgressSource::CheckIns.as_str() {
        errors.add(
            "value",
            "This key result follows another source: its value is not checked in by hand",
        );
    }
    let value = check(&mut errors, "value", parse_value(&form.value, "value"));
    let confidence = match form.confidence.trim().parse::<i16>() {
        Ok(c) if (0..=10).contains(&c) => Some(c),
        _ => {
            errors.add("confidence", "Choose a confidence from 0 to 10");
            None
        }
    };
    let checked_on = check(
        &mut errors,
        "checked_on",
        parse_date(&form.checked_on, "day of the check-in"),
    );
    if checked_on.is_some_and(|d| d > today) {
        errors.add("checked_on", "A check-in cannot be in the future");
    }
    let note = form.note.trim().to_string();
    if note.chars().count() > 2_000 {
        errors.add("note", "The note must be 2000 characters or fewer");
    }
    let (Some(value), Some(confidence), Some(checked_on), true) =
        (value, confidence, checked_on, errors.is_empty())
    else {
        return Ok(Err(CheckInRefused::Invalid(errors)));
    };
    let mut tx = state.db.begin().await?;
    // Closing the period takes this lock exclusively: a check-in is either in its final
    // scores or refused.
    let open: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM periods pe JOIN objectives o ON o.period_id = pe.id JOIN key_results k ON k.objective_id = o.id
          WHERE k.id = $1 AND pe.closed_at IS NULL FOR SHARE OF pe",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if open.is_none() {
        return Ok(Err(CheckInRefused::PeriodClosed));
    }
    insert_check_in(
        &mut tx,
        me,
        client,
        state.clock.now(),
        CheckedIn {
            key_result: id,
            value,
            confidence,
            on: checked_on,
            note: &note,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// A checked check-in of a key result.
pub struct CheckedIn<'a> {
    pub key_result: Uuid,
    pub value: Decimal,
    pub confidence: i16,
    pub on: NaiveDate,
    pub note: &'a str,
}

/// Stores a check-in in the caller's transaction (which holds its period open): the key
/// result's current value and confidence become its latest check-in's, with the audit row.
pub async fn insert_check_in(
    tx: &mut sqlx::PgConnection,
    me: &Me,
    client: &str,
    now: chrono::DateTime<chrono::Utc>,
    c: CheckedIn<'_>,
) -> Result<()> {
    let check_in = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO check_ins (id, key_result_id, value, confidence, note, author_id, checked_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(check_in)
    .bind(c.key_result)
    .bind(c.value)
    .bind(c.confidence)
    .bind(c.note)
    .bind(me.id)
    .bind(c.on)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE key_results k SET current_value = c.value, confidence = c.confidence, last_check_in_on = c.checked_on
           FROM (SELECT value, confidence, checked_on FROM check_ins WHERE key_result_id = $1
                  ORDER BY checked_on DESC, created_at DESC LIMIT 1) c
          WHERE k.id = $1",
    )
    .bind(c.key_result)
    .execute(&mut *tx)
    .await?;
    Entry::new("key_result_checked_in")
        .actor(Some(me.id))
        .entity("key_result", c.key_result)
        .after(json!({ "value": c.value, "confidence": c.confidence, "checked_on": c.on, "note": c.note }))
        .client(client)
        .write(&mut *tx, now)
        .await?;
    let data = json!({ "key_result_id": c.key_result, "check_in_id": check_in, "value": c.value,
                       "confidence": c.confidence, "checked_on": c.on, "note": c.note });
    crate::webhooks::emit(
        tx,
        crate::webhooks::Event::KeyResultCheckedIn,
        &check_in.to_string(),
        now,
        data,
    )
    .await?;
    Ok(())
}

/// `POST /key-results/{id}/check-ins`: the key result's current value and confidence
/// become those of its latest check-in (by day), in the same transaction.
pub async fn post_check_in(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<CheckInForm>,
) -> Result<Response> {
    let (key_result, _) = match key_result_to_change(&state, &me, &client, id).await? {
        Ok(found) => found,
        Err(back) => return Ok(back),
    };
    match record_check_in(&state, &me, &client, &key_result, &form).await? {
        Ok(()) => Ok(page::see_other(
            &format!("/key-results/{id}"),
            "Check-in recorded",
        )),
        Err(CheckInRefused::Invalid(errors)) => {
            let page =
                key_result_page(&state, &me, id, Some(form), errors, Flash::default()).await?;
            Ok((INVALID, page).into_response())
        }
        Err(CheckInRefused::PeriodClosed) => Ok(page::see_other(
            &format!("/key-results/{id}"),
            "This key result's period has just closed: it is read-only now",
        )),
    }
}
