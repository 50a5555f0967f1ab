//! Epic pages: the form (new and edit), the epic's page with its outcomes and status, and
//! status changes through the definition of ready.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::{ClientAddr, ensure_may_change};
use crate::auth::policy::{Me, may_change_record};
use crate::epics::model::{EpicStatus, NotReady, Priority, WorkType, definition_of_ready};
use crate::http::page::{
    self, CONFLICT, ChangedField, Flash, Form, FormErrors, INVALID, Id, Layout, Query, Refused,
    Section, StatusRefused, check,
};
use crate::http::{AppError, AppState, Result};
use crate::org::model::{optional_id, required_text};
use crate::outcomes::model::form_number;
use crate::outcomes::parent::{OutcomeRow, Parent, with_loop_states};
use crate::people::model::Email;
use crate::planning::capacity::{Displacement, Room, make_room};

/// The epic form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EpicForm {
    pub title: String,
    pub description: String,
    pub team_id: String,
    pub initiative_id: String,
    pub work_type: String,
    pub owner_email: String,
    pub period_id: String,
    pub why_now: String,
    pub validation_plan: String,
    pub tracker_key: String,
    pub tracker_url: String,
    pub value: String,
    pub value_label: String,
    pub confidence: String,
    pub effort_weeks: String,
    /// A follow-up of a closed outcome (new epics only).
    pub follow_up_of: String,
    pub version: String,
}

struct ValidEpic {
    title: String,
    description: String,
    team: Uuid,
    initiative: Option<Uuid>,
    work_type: WorkType,
    owner_email: Option<Email>,
    period: Option<Uuid>,
    why_now: String,
    validation_plan: String,
    tracker_key: Option<String>,
    tracker_url: Option<String>,
    priority: Priority,
}

fn optional_text(value: &str, what: &str, max: usize) -> std::result::Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("{what} must be {max} characters or fewer"));
    }
    if value.contains('\0') {
        return Err(format!("{what} cannot contain a NUL character"));
    }
    Ok(value.to_string())
}

impl EpicForm {
    fn parse(&self) -> std::result::Result<ValidEpic, FormErrors> {
        let mut errors = FormErrors::default();
        let title = check(
            &mut errors,
            "title",
            required_text(&self.title, "a title", 200),
        );
        let team = check(
            &mut errors,
            "team_id",
            optional_id(&self.team_id, "Choose a team from the list"),
        );
        if let Some(None) = team {
            errors.add("team_id", "Choose the team that owns this epic");
        }
        let work_type = check(&mut errors, "work_type", WorkType::parse(&self.work_type));
        let owner_email = if self.owner_email.trim().is_empty() {
            Some(None)
        } else {
            check(
                &mut errors,
                "owner_email",
                Email::parse(&self.owner_email).map(Some),
            )
        };
        let period = check(
            &mut errors,
            "period_id",
            optional_id(&self.period_id, "Choose a period from the list"),
        );
        let initiative = check(
            &mut errors,
            "initiative_id",
            optional_id(&self.initiative_id, "Choose an initiative from the list"),
        );
        let description = check(
            &mut errors,
            "description",
            optional_text(&self.description, "The description", 10_000),
        );
        let why_now = check(
            &mut errors,
            "why_now",
            optional_text(&self.why_now, "Why now", 4_000),
        );
        let validation_plan = check(
            &mut errors,
            "validation_plan",
            optional_text(&self.validation_plan, "How we validate", 4_000),
        );
        let tracker_key = self.tracker_key.trim();
        if tracker_key.chars().count() > 50 {
            errors.add(
                "tracker_key",
                "The tracker key must be 50 characters or fewer",
            );
        }
        let tracker_url = self.tracker_url.trim();
        let is_link = tracker_url.starts_with("https://") || tracker_url.starts_with("http://");
        if !tracker_url.is_empty() && !is_link {
            errors.add(
                "tracker_url",
                "The tracker link must start with https:// or http://",
            );
        }
        let priority = match Priority::parse(
            &self.value,
            &self.value_label,
            &self.confidence,
            &self.effort_weeks,
        ) {
            Ok(priority) => Some(priority),
            Err(problems) => {
                for (field, message) in problems {
                    errors.add(field, message);
                }
                None
            }
        };
        match (
            title,
            team,
            initiative,
            work_type,
            owner_email,
            period,
            description,
            why_now,
            validation_plan,
            priority,
        ) {
            (
                Some(title),
                Some(Some(team)),
                Some(initiative),
                Some(work_type),
                Some(owner_email),
                Some(period),
                Some(description),
                Some(why_now),
                Some(validation_plan),
                Some(priority),
            ) if errors.is_empty() => Ok(ValidEpic {
                title,
                description,
                team,
                initiative,
                work_type,
                owner_email,
                period,
                why_now,
                validation_plan,
                tracker_key: (!tracker_key.is_empty()).then(|| tracker_key.to_string()),
                tracker_url: (!tracker_url.is_empty()).then(|| tracker_url.to_string()),
                priority,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "epics/form.html")]
pub struct EpicFormPage {
    layout: Layout,
    epic_id: Option<Uuid>,
    form: EpicForm,
    errors: FormErrors,
    changes: Vec<ChangedField>,
    teams: Vec<(String, String)>,
    initiatives: Vec<(String, String)>,
    types: Vec<(String, String)>,
    periods: Vec<(String, String)>,
    confidences: Vec<(String, String)>,
}

async fn form_page(
    state: &AppState,
    me: &Me,
    epic_id: Option<Uuid>,
    form: EpicForm,
    errors: FormErrors,
) -> Result<EpicFormPage> {
    let teams = crate::org::unit_options(&state.db).await?;
    let periods = crate::periods::options(state, me).await?;
    // Open initiatives, and the one already chosen whatever its state.
    let initiatives = sqlx::query_as::<_, (Uuid, String)>(
        "SELECT id, title FROM initiatives
          WHERE status IN ('proposed', 'active') OR id = $1
          ORDER BY lower(title), id",
    )
    .bind(Uuid::parse_str(form.initiative_id.trim()).ok())
    .fetch_all(&state.db)
    .await?
    .into_iter()
    .map(|(id, title)| (id.to_string(), title))
    .collect();
    let title = if epic_id.is_some() {
        "Edit epic"
    } else {
        "New epic"
    };
    Ok(EpicFormPage {
        layout: Layout::new(title, Section::Epics, me),
        epic_id,
        form,
        errors,
        changes: Vec::new(),
        teams,
        initiatives,
        types: WorkType::options(),
        periods,
        confidences: crate::epics::model::confidence_options(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewEpicQuery {
    team: String,
    initiative: String,
    #[serde(rename = "type")]
    work_type: String,
    /// A closed outcome to follow up on: the new epic starts from what it taught.
    follow_up: String,
}

/// `GET /epics/new?team=…&type=…&follow_up=…`
pub async fn get_new_epic(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<NewEpicQuery>,
) -> Result<EpicFormPage> {
    let today = me.today(&state.clock);
    let current = crate::periods::current_period(&state.db, today).await?;
    let work_type = if query.work_type.is_empty() {
        "feature".to_string()
    } else {
        query.work_type
    };
    let mut form = EpicForm {
        team_id: query.team,
        initiative_id: query.initiative,
        work_type,
        period_id: current.map(|p| p.id.to_string()).unwrap_or_default(),
        ..EpicForm::default()
    };
    if let Ok(outcome) = Uuid::parse_str(query.follow_up.trim()) {
        let closed: Option<FollowedUp> = sqlx::query_as(
            "SELECT e.title, e.team_id, e.initiative_id, e.work_type, o.metric, o.verdict, o.learnings, o.next_step
               FROM outcomes o JOIN epics e ON e.id = o.epic_id
              WHERE o.id = $1 AND o.closed_at IS NOT NULL",
        )
        .bind(outcome)
        .fetch_optional(&state.db)
        .await?;
        if let Some(f) = closed {
            form.title = format!("Follow-up: {}", f.title)
                .chars()
                .take(200)
                .collect();
            form.team_id = f.team_id.to_string();
            form.initiative_id = f.initiative_id.map(|i| i.to_string()).unwrap_or_default();
            form.work_type = f.work_type;
            form.description = format!(
                "Follows up on “{}” ({}: {}). Next step: {}.\n\nWhat we learned: {}",
                f.metric,
                f.title,
                crate::outcomes::model::Verdict::label_of(&f.verdict).to_lowercase(),
                crate::loops::model::NextStep::label_of(&f.next_step).to_lowercase(),
                f.learnings
            );
            form.follow_up_of = outcome.to_string();
        }
    }
    form_page(&state, &me, None, form, FormErrors::default()).await
}

/// The closed outcome a follow-up epic starts from.
#[derive(Debug, sqlx::FromRow)]
struct FollowedUp {
    title: String,
    team_id: Uuid,
    initiative_id: Option<Uuid>,
    work_type: String,
    metric: String,
    verdict: String,
    learnings: String,
    next_step: String,
}

/// The owner: the person with the email typed, or the team's usual owner for this type of
/// work (its product manager for a feature, its tech lead otherwise).
async fn resolve_owner(
    state: &AppState,
    valid: &ValidEpic,
    errors: &mut FormErrors,
) -> Result<Option<Uuid>> {
    if let Some(email) = &valid.owner_email {
        return Ok(crate::people::active_owner(
            &state.db,
            email,
            errors,
            "owner_email",
            "Nobody has this email: add the person first, or leave it empty",
        )
        .await?);
    }
    let role = valid.work_type.usual_owner();
    let proposed: Option<Uuid> = sqlx::query_scalar(
        "SELECT p.id FROM memberships m JOIN people p ON p.id = m.person_id
          WHERE m.org_unit_id = $1 AND m.role = $2 AND p.active ORDER BY lower(p.name) LIMIT 1",
    )
    .bind(valid.team)
    .bind(role.as_str())
    .fetch_optional(&state.db)
    .await?;
    if proposed.is_none() {
        errors.add(
            "owner_email",
            format!(
                "The team has no active {}: enter the owner's email",
                role.label().to_lowercase()
            ),
        );
    }
    Ok(proposed)
}

/// The field to correct when a write breaks one of the epic's constraints (someone else
/// took the tracker key, or removed the unit, period or initiative meanwhile).
fn refused_by_constraint(err: &sqlx::Error) -> Option<FormErrors> {
    let mut errors = FormErrors::default();
    match crate::http::error::violated_constraint(err)? {
        "epics_tracker_key_key" => {
            errors.add("tracker_key", "Another epic already has this tracker key")
        }
        "epics_team_id_fkey" => errors.add("team_id", "That unit no longer exists: choose another"),
        "epics_period_id_fkey" => {
            errors.add("period_id", "That period no longer exists: choose another")
        }
        "epics_initiative_id_fkey" => errors.add(
            "initiative_id",
            "That initiative no longer exists: choose another",
        ),
        _ => return None,
    }
    Some(errors)
}

/// Creates an epic from the form as typed (pages and the API alike): validation, the
/// team the person may add to, the owner, the insert and its audit row.
pub async fn create_epic(
    state: &AppState,
    me: &Me,
    client: &str,
    form: &EpicForm,
) -> Result<std::result::Result<Uuid, FormErrors>> {
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => return Ok(Err(errors)),
    };
    if !may_change_record(&state.db, me, valid.team, None).await? {
        let mut errors = FormErrors::default();
        errors.add(
            "team_id",
            "You can add epics only for the units you belong to",
        );
        return Ok(Err(errors));
    }
    let mut errors = FormErrors::default();
    let owner = resolve_owner(state, &valid, &mut errors).await?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let id = Uuid::new_v4();
    let mut tx = state.db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO epics (id, team_id, owner_id, period_id, work_type, title, description, why_now, validation_plan,
                            tracker_key, tracker_url, initiative_id, value, value_label, confidence, effort_weeks,
                            follow_up_of)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 (SELECT id FROM outcomes WHERE id = $17 AND closed_at IS NOT NULL))",
    )
    .bind(id)
    .bind(valid.team)
    .bind(owner)
    .bind(valid.period)
    .bind(valid.work_type.as_str())
    .bind(&valid.title)
    .bind(&valid.description)
    .bind(&valid.why_now)
    .bind(&valid.validation_plan)
    .bind(&valid.tracker_key)
    .bind(&valid.tracker_url)
    .bind(valid.initiative)
    .bind(valid.priority.value)
    .bind(&valid.priority.value_label)
    .bind(valid.priority.confidence)
    .bind(valid.priority.effort)
    .bind(Uuid::parse_str(form.follow_up_of.trim()).ok())
    .execute(&mut *tx)
    .await;
    if let Err(err) = inserted {
        return match refused_by_constraint(&err) {
            Some(errors) => Ok(Err(errors)),
            None => Err(err.into()),
        };
    }
    Entry::new("epic_created")
        .actor(Some(me.id))
        .entity("epic", id)
        .after(json!({ "title": valid.title, "team_id": valid.team, "work_type": valid.work_type.as_str(), "owner_id": owner,
                       "initiative_id": valid.initiative, "follow_up_of": Uuid::parse_str(form.follow_up_of.trim()).ok() }))
        .client(client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// `POST /epics`
pub async fn post_epic(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(form): Form<EpicForm>,
) -> Result<Response> {
    match create_epic(&state, &me, &client, &form).await? {
        Ok(id) => Ok(page::see_other(
            &format!("/epics/{id}"),
            "Epic created. Now say what result it should change: add its anticipated outcome.",
        )),
        Err(errors) => {
            Ok((INVALID, form_page(&state, &me, None, form, errors).await?).into_response())
        }
    }
}

/// An epic as its page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Epic {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub team_id: Uuid,
    pub team_name: String,
    pub work_type: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub owner_active: bool,
    pub period_id: Option<Uuid>,
    pub period_name: Option<String>,
    pub why_now: String,
    pub validation_plan: String,
    pub tracker_key: Option<String>,
    pub tracker_url: Option<String>,
    pub status: String,
    pub initiative_id: Option<Uuid>,
    pub initiative_title: Option<String>,
    pub value: Option<rust_decimal::Decimal>,
    pub value_label: String,
    pub confidence: Option<i16>,
    pub effort_weeks: Option<rust_decimal::Decimal>,
    pub version: i32,
}

impl Epic {
    pub fn priority(&self) -> Priority {
        Priority {
            value: self.value,
            value_label: self.value_label.clone(),
            confidence: self.confidence,
            effort: self.effort_weeks,
        }
    }

    /// The epic as its outcomes' parent.
    pub fn as_parent(&self) -> Parent {
        Parent {
            kind: "epic".to_string(),
            id: self.id,
            title: self.title.clone(),
            unit_id: self.team_id,
            owner_id: self.owner_id,
            owner_email: self.owner_email.clone(),
            status: self.status.clone(),
            initiative_id: self.initiative_id,
        }
    }

    pub fn status(&self) -> EpicStatus {
        EpicStatus::parse(&self.status).unwrap_or(EpicStatus::Draft)
    }

    pub fn type_label(&self) -> &str {
        WorkType::label_of(&self.work_type)
    }
}

/// An epic `e` as [`Epic`] reads it; a `WHERE` clause follows.
pub(super) const EPIC: &str = "SELECT e.id, e.title, e.description, e.team_id, u.name AS team_name, e.work_type, e.owner_id,
        p.name AS owner_name, p.email AS owner_email, coalesce(p.active, false) AS owner_active,
        e.period_id, pe.name AS period_name, e.why_now, e.validation_plan, e.tracker_key, e.tracker_url,
        e.status, e.initiative_id, i.title AS initiative_title, e.value, e.value_label, e.confidence,
        e.effort_weeks, e.version
   FROM epics e JOIN org_units u ON u.id = e.team_id
   LEFT JOIN people p ON p.id = e.owner_id
   LEFT JOIN periods pe ON pe.id = e.period_id
   LEFT JOIN initiatives i ON i.id = e.initiative_id";

pub async fn load_epic(db: &crate::db::Db, id: Uuid) -> Result<Epic> {
    sqlx::query_as(&format!("{EPIC} WHERE e.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The epic, when `me` may change it; otherwise the audited 403. `entity` and `id` name
/// what the person tried to change (the epic itself, or one of its outcomes).
pub async fn epic_to_change(
    state: &AppState,
    me: &Me,
    client: &str,
    epic: Uuid,
    entity: &'static str,
    id: Uuid,
) -> Result<Epic> {
    let epic = load_epic(&state.db, epic).await?;
    ensure_may_change(state, me, client, epic.team_id, epic.owner_id, entity, id).await?;
    Ok(epic)
}

#[derive(Template, WebTemplate)]
#[template(path = "epics/show.html")]
pub struct EpicPage {
    layout: Layout,
    epic: Epic,
    outcomes: Vec<OutcomeRow>,
    history: Vec<crate::audit::Change>,
    may_change: bool,
    missing: Vec<NotReady>,
    next_steps: Vec<(String, String)>,
    refused: bool,
    cost: crate::planning::cost::EpicCost,
    served: Vec<crate::okrs::links::ServedKeyResult>,
    kr_q: String,
    matches: Vec<crate::okrs::links::KeyResultMatch>,
}

async fn epic_page(
    state: &AppState,
    me: &Me,
    id: Uuid,
    flash: Flash,
    refused: bool,
    kr_q: String,
) -> Result<EpicPage> {
    let crate::epics::read::EpicRead {
        epic,
        rate,
        outcomes,
        history,
        served,
    } = crate::epics::read::read(state, id).await?;
    let today = me.today(&state.clock);
    let outcomes = with_loop_states(&epic.as_parent(), outcomes, today);
    let may_change = may_change_record(&state.db, me, epic.team_id, epic.owner_id).await?;
    let realised = outcomes.iter().map(|o| o.realised_value);
    let cost = crate::planning::cost::EpicCost::new(epic.effort_weeks, rate, realised);
    let matches = if may_change && !kr_q.trim().is_empty() {
        crate::okrs::links::search(&state.db, &kr_q).await?
    } else {
        Vec::new()
    };
    let missing = definition_of_ready(epic.owner_active, outcomes.len() as i64);
    let next_steps = epic
        .status()
        .next_steps()
        .iter()
        .map(|s| (s.as_str().to_string(), step_label(*s).to_string()))
        .collect();
    let layout =
        Layout::new(format!("Epic · {}", epic.title), Section::Epics, me).with_flash(flash);
    Ok(EpicPage {
        layout,
        epic,
        outcomes,
        history,
        may_change,
        missing,
        next_steps,
        refused,
        cost,
        served,
        kr_q,
        matches,
    })
}

/// What the button that moves an epic to `status` says.
fn step_label(status: EpicStatus) -> &'static str {
    match status {
        EpicStatus::Draft => "Back to draft",
        EpicStatus::Ready => "Mark ready",
        EpicStatus::InProgress => "Start work",
        EpicStatus::Delivered => "Mark delivered",
        EpicStatus::Measuring => "Start measuring",
        EpicStatus::Closed => "Close",
        EpicStatus::Cancelled => "Cancel epic",
    }
}

/// `GET /epics/{id}`
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EpicQuery {
    /// Finding a key result for its outcomes to serve.
    kr_q: String,
}

/// `GET /epics/{id}?kr_q=`
pub async fn get_epic(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    Query(query): Query<EpicQuery>,
    flash: Flash,
) -> Result<EpicPage> {
    epic_page(&state, &me, id, flash, false, query.kr_q).await
}

/// Why an epic's status change was refused.
pub enum EpicStatusRefused {
    Status(StatusRefused),
    /// It does not meet the definition of ready: what it lacks.
    NotReady(Vec<crate::epics::model::NotReady>),
    /// Committing it would exceed its team's capacity: the question to answer.
    MakeRoom(Box<crate::planning::capacity::MakeRoomPage>),
}

/// Moves an epic to the status named, if `version` is still current (pages and the API
/// alike): ready and in progress need the definition of ready; committing must fit the
/// team's capacity or apply `displacement`; becoming ready commits its outcomes; delivered
/// work moves straight on to measuring. Answers the status stored and the epics displaced.
/// The caller has checked the person may change the epic.
#[allow(clippy::too_many_arguments)]
pub async fn change_epic_status(
    state: &AppState,
    me: &Me,
    client: &str,
    epic: &Epic,
    status: &str,
    version: i32,
    displacement: &Displacement,
) -> Result<std::result::Result<(EpicStatus, Vec<Uuid>), EpicStatusRefused>> {
    let id = epic.id;
    let Ok(target) = EpicStatus::parse(status) else {
        return Ok(Err(EpicStatusRefused::Status(StatusRefused::Unknown)));
    };
    let from = epic.status();
    if !from.next_steps().contains(&target) {
        return Ok(Err(EpicStatusRefused::Status(StatusRefused::NotNow(
            format!(
                "An epic that is {} cannot move to {}",
                from.label().to_lowercase(),
                target.label().to_lowercase()
            ),
        ))));
    }
    let outcomes: i64 = sqlx::query_scalar("SELECT count(*) FROM outcomes WHERE epic_id = $1")
        .bind(id)
        .fetch_one(&state.db)
        .await?;
    let missing = definition_of_ready(epic.owner_active, outcomes);
    if target.needs_ready_work() && !missing.is_empty() {
        return Ok(Err(EpicStatusRefused::NotReady(missing)));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // Committing work: it must fit the team's capacity, or say what it displaces.
    let mut displaced = Vec::new();
    if target.needs_ready_work() && !from.needs_ready_work() {
        match make_room(&mut tx, me, client, now, epic, version, displacement).await? {
            Room::Fits(moved) => displaced = moved,
            Room::Ask(page) => return Ok(Err(EpicStatusRefused::MakeRoom(page))),
        }
    }
    let column = match target {
        EpicStatus::Ready => "ready_at",
        EpicStatus::InProgress => "started_at",
        EpicStatus::Delivered => "delivered_at",
        EpicStatus::Measuring => "measuring_at",
        EpicStatus::Closed => "closed_at",
        EpicStatus::Cancelled => "cancelled_at",
        EpicStatus::Draft => "updated_at",
    };
    // Delivered work moves straight on to measuring its outcomes.
    let stored = if target == EpicStatus::Delivered {
        EpicStatus::Measuring
    } else {
        target
    };
    let updated = sqlx::query(&format!(
        "UPDATE epics SET status = $3, {column} = $4, measuring_at = CASE WHEN $3 = 'measuring' THEN $4 ELSE measuring_at END,
                version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2"
    ))
    .bind(id)
    .bind(version)
    .bind(stored.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(Err(EpicStatusRefused::Status(StatusRefused::Stale)));
    }
    if target == EpicStatus::Ready {
        crate::outcomes::parent::commit_outcomes(&mut tx, id, now).await?;
    }
    Entry::new("epic_status_changed")
        .actor(Some(me.id))
        .entity("epic", id)
        .before(json!({ "status": from.as_str() }))
        .after(json!({ "status": stored.as_str(), "displaced": displaced }))
        .client(client)
        .write(&mut *tx, now)
        .await?;
    crate::webhooks::epic_status_changed(&mut tx, id, from.as_str(), stored.as_str(), now).await?;
    tx.commit().await?;
    Ok(Ok((stored, displaced)))
}

/// `POST /epics/{id}/status`
pub async fn post_status(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let epic = epic_to_change(&state, &me, &client, id, "epic", id).await?;
    let version: i32 = page::field(&pairs, "version").trim().parse().unwrap_or(0);
    let displacement = Displacement::from_pairs(&pairs);
    let here = format!("/epics/{id}");
    let status = page::field(&pairs, "status");
    match change_epic_status(&state, &me, &client, &epic, status, version, &displacement).await? {
        Ok((stored, displaced)) => {
            let made_room = match displaced.len() {
                0 => String::new(),
                1 => " (1 epic deprioritised to make room)".to_string(),
                n => format!(" ({n} epics deprioritised to make room)"),
            };
            Ok(page::see_other(
                &here,
                &format!("Epic is now {}{made_room}", stored.label().to_lowercase()),
            ))
        }
        Err(EpicStatusRefused::Status(refused)) => {
            Ok(page::see_other(&here, &refused.message("epic")))
        }
        Err(EpicStatusRefused::NotReady(_)) => Ok((
            INVALID,
            epic_page(&state, &me, id, Flash::default(), true, String::new()).await?,
        )
            .into_response()),
        Err(EpicStatusRefused::MakeRoom(page)) => Ok((INVALID, *page).into_response()),
    }
}

impl From<&Epic> for EpicForm {
    fn from(epic: &Epic) -> EpicForm {
        EpicForm {
            title: epic.title.clone(),
            description: epic.description.clone(),
            team_id: epic.team_id.to_string(),
            initiative_id: epic
                .initiative_id
                .map(|i| i.to_string())
                .unwrap_or_default(),
            work_type: epic.work_type.clone(),
            owner_email: epic.owner_email.clone().unwrap_or_default(),
            period_id: epic.period_id.map(|p| p.to_string()).unwrap_or_default(),
            why_now: epic.why_now.clone(),
            validation_plan: epic.validation_plan.clone(),
            tracker_key: epic.tracker_key.clone().unwrap_or_default(),
            tracker_url: epic.tracker_url.clone().unwrap_or_default(),
            value: form_number(epic.value),
            value_label: epic.value_label.clone(),
            confidence: epic.confidence.map(|c| c.to_string()).unwrap_or_default(),
            effort_weeks: form_number(epic.effort_weeks),
            follow_up_of: String::new(),
            version: epic.version.to_string(),
        }
    }
}

/// `GET /epics/{id}/edit`
pub async fn get_edit_epic(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let epic = epic_to_change(&state, &me, &client, id, "epic", id).await?;
    Ok(form_page(
        &state,
        &me,
        Some(id),
        EpicForm::from(&epic),
        FormErrors::default(),
    )
    .await?
    .into_response())
}

/// Changes an epic from the form as typed, if `version` is still current (pages and the
/// API alike): validation, moving it only to units the person may add to, the owner, the
/// update and its audit row. The caller has checked the person may change the epic.
pub async fn update_epic(
    state: &AppState,
    me: &Me,
    client: &str,
    epic: &Epic,
    form: &EpicForm,
    version: i32,
) -> Result<std::result::Result<(), Refused>> {
    let id = epic.id;
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => return Ok(Err(Refused::Invalid(errors))),
    };
    if valid.team != epic.team_id && !may_change_record(&state.db, me, valid.team, None).await? {
        let mut errors = FormErrors::default();
        errors.add("team_id", "You can move epics only to units you belong to");
        return Ok(Err(Refused::Invalid(errors)));
    }
    let mut errors = FormErrors::default();
    let owner = resolve_owner(state, &valid, &mut errors).await?;
    if !errors.is_empty() {
        return Ok(Err(Refused::Invalid(errors)));
    }
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE epics SET team_id = $3, owner_id = $4, period_id = $5, work_type = $6, title = $7, description = $8,
                why_now = $9, validation_plan = $10, tracker_key = $11, tracker_url = $12, initiative_id = $13,
                value = $14, value_label = $15, confidence = $16, effort_weeks = $17,
                version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(valid.team)
    .bind(owner)
    .bind(valid.period)
    .bind(valid.work_type.as_str())
    .bind(&valid.title)
    .bind(&valid.description)
    .bind(&valid.why_now)
    .bind(&valid.validation_plan)
    .bind(&valid.tracker_key)
    .bind(&valid.tracker_url)
    .bind(valid.initiative)
    .bind(valid.priority.value)
    .bind(&valid.priority.value_label)
    .bind(valid.priority.confidence)
    .bind(valid.priority.effort)
    .execute(&mut *tx)
    .await;
    match updated {
        Ok(done) if done.rows_affected() == 0 => return Ok(Err(Refused::Stale)),
        Ok(_) => {}
        Err(err) => {
            return match refused_by_constraint(&err) {
                Some(errors) => Ok(Err(Refused::Invalid(errors))),
                None => Err(err.into()),
            };
        }
    }
    Entry::new("epic_updated")
        .actor(Some(me.id))
        .entity("epic", id)
        .before(json!({ "title": epic.title, "team_id": epic.team_id, "work_type": epic.work_type, "owner_id": epic.owner_id,
                        "why_now": epic.why_now, "validation_plan": epic.validation_plan, "initiative_id": epic.initiative_id,
                        "period_id": epic.period_id, "description": epic.description,
                        "priority": epic.priority().explained() }))
        .after(json!({ "title": valid.title, "team_id": valid.team, "work_type": valid.work_type.as_str(), "owner_id": owner,
                       "why_now": valid.why_now, "validation_plan": valid.validation_plan, "initiative_id": valid.initiative,
                       "period_id": valid.period, "description": valid.description,
                       "priority": valid.priority.explained() }))
        .client(client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// `POST /epics/{id}`
pub async fn post_epic_update(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<EpicForm>,
) -> Result<Response> {
    let epic = epic_to_change(&state, &me, &client, id, "epic", id).await?;
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    match update_epic(&state, &me, &client, &epic, &form, version).await? {
        Ok(()) => Ok(page::see_other(&format!("/epics/{id}"), "Epic saved")),
        Err(Refused::Invalid(errors)) => Ok((
            INVALID,
            form_page(&state, &me, Some(id), form, errors).await?,
        )
            .into_response()),
        Err(Refused::Stale) => {
            let current = load_epic(&state.db, id).await?;
            let changes = page::changed_fields(&[
                (
                    "Title",
                    current.title.clone(),
                    form.title.trim().to_string(),
                ),
                (
                    "Description",
                    current.description.clone(),
                    form.description.trim().to_string(),
                ),
                (
                    "Type",
                    current.type_label().to_string(),
                    WorkType::label_of(&form.work_type).to_string(),
                ),
                (
                    "Owner",
                    current.owner_email.clone().unwrap_or_default(),
                    form.owner_email.trim().to_string(),
                ),
                (
                    "Why now",
                    current.why_now.clone(),
                    form.why_now.trim().to_string(),
                ),
                (
                    "How we validate",
                    current.validation_plan.clone(),
                    form.validation_plan.trim().to_string(),
                ),
            ]);
            let form = EpicForm {
                version: current.version.to_string(),
                ..form
            };
            let mut page = form_page(&state, &me, Some(id), form, FormErrors::default()).await?;
            page.changes = changes;
            Ok((CONFLICT, page).into_response())
        }
    }
}
