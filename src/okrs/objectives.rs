//! Objectives: a unit's qualitative goal for a period, optionally reframing a parent key
//! result (the cascade). The form (new, edit, cascade), the page with its key results and
//! what is cascaded from them, and status changes.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{Change, Entry};
use crate::auth::guard::{ClientAddr, ensure_may_change};
use crate::auth::policy::{Me, may_change_record};
use crate::http::page::{
    self, CONFLICT, ChangedField, Flash, Form, FormErrors, INVALID, Id, Layout, Query, Refused,
    Section, StatusRefused, check,
};
use crate::http::{AppError, AppState, Result};
use crate::okrs::cascade::{self, Cascade};
use crate::okrs::model::ObjectiveStatus;
use crate::org::model::{optional_id, required_text};
use crate::people::model::Email;

/// The objective form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ObjectiveForm {
    pub title: String,
    pub description: String,
    pub unit_id: String,
    pub period_id: String,
    pub owner_email: String,
    pub parent_key_result_id: String,
    pub version: String,
}

struct ValidObjective {
    title: String,
    description: String,
    unit: Uuid,
    period: Uuid,
    owner_email: Email,
    parent: Option<Uuid>,
}

impl ObjectiveForm {
    fn parse(&self) -> std::result::Result<ValidObjective, FormErrors> {
        let mut errors = FormErrors::default();
        let title = check(
            &mut errors,
            "title",
            required_text(&self.title, "a title", 200),
        );
        let description = self.description.trim().to_string();
        if description.chars().count() > 10_000 {
            errors.add(
                "description",
                "The description must be 10000 characters or fewer",
            );
        }
        let unit = check(
            &mut errors,
            "unit_id",
            optional_id(&self.unit_id, "Choose a unit from the list"),
        );
        if let Some(None) = unit {
            errors.add("unit_id", "Choose the unit whose objective this is");
        }
        let period = check(
            &mut errors,
            "period_id",
            optional_id(&self.period_id, "Choose a period from the list"),
        );
        if let Some(None) = period {
            errors.add("period_id", "Choose the period of this objective");
        }
        let owner_email = if self.owner_email.trim().is_empty() {
            errors.add(
                "owner_email",
                "Enter the email of the one person accountable for this objective",
            );
            None
        } else {
            check(&mut errors, "owner_email", Email::parse(&self.owner_email))
        };
        let parent = check(
            &mut errors,
            "parent_key_result_id",
            optional_id(
                &self.parent_key_result_id,
                "Choose the parent key result again",
            ),
        );
        match (title, unit, period, owner_email, parent) {
            (
                Some(title),
                Some(Some(unit)),
                Some(Some(period)),
                Some(owner_email),
                Some(parent),
            ) if errors.is_empty() => Ok(ValidObjective {
                title,
                description,
                unit,
                period,
                owner_email,
                parent,
            }),
            _ => Err(errors),
        }
    }
}

/// The parent key result, as the cascade form shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ParentKeyResult {
    pub id: Uuid,
    pub title: String,
    pub objective_id: Uuid,
    pub objective_title: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub period_id: Uuid,
    pub period_name: String,
}

async fn parent_key_result(db: &crate::db::Db, id: Uuid) -> sqlx::Result<Option<ParentKeyResult>> {
    sqlx::query_as(
        "SELECT k.id, k.title, o.id AS objective_id, o.title AS objective_title, o.org_unit_id AS unit_id,
                u.name AS unit_name, o.period_id, pe.name AS period_name
           FROM key_results k JOIN objectives o ON o.id = k.objective_id
           JOIN org_units u ON u.id = o.org_unit_id JOIN periods pe ON pe.id = o.period_id
          WHERE k.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "okrs/objective_form.html")]
pub struct ObjectiveFormPage {
    layout: Layout,
    objective_id: Option<Uuid>,
    form: ObjectiveForm,
    errors: FormErrors,
    changes: Vec<ChangedField>,
    units: Vec<(String, String)>,
    periods: Vec<(String, String)>,
    parent: Option<ParentKeyResult>,
}

async fn form_page(
    state: &AppState,
    me: &Me,
    objective_id: Option<Uuid>,
    form: ObjectiveForm,
    errors: FormErrors,
) -> Result<ObjectiveFormPage> {
    let mut units = crate::org::unit_options(&state.db).await?;
    let periods = crate::periods::options(state, me).await?;
    let parent = match Uuid::parse_str(form.parent_key_result_id.trim()) {
        Ok(id) => parent_key_result(&state.db, id).await?,
        Err(_) => None,
    };
    // Cascading: only the parent's unit and the units beneath it.
    if let Some(p) = &parent {
        let beneath: Vec<Uuid> =
            sqlx::query_scalar("SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1")
                .bind(p.unit_id)
                .fetch_all(&state.db)
                .await?;
        units.retain(|(id, _)| beneath.iter().any(|b| b.to_string() == *id));
    }
    let title = match (objective_id, &parent) {
        (Some(_), _) => "Edit objective",
        (None, Some(_)) => "Cascade to a team",
        (None, None) => "New objective",
    };
    Ok(ObjectiveFormPage {
        layout: Layout::new(title, Section::Okrs, me),
        objective_id,
        form,
        errors,
        changes: Vec::new(),
        units,
        periods,
        parent,
    })
}

async fn refused(
    state: &AppState,
    me: &Me,
    objective_id: Option<Uuid>,
    form: ObjectiveForm,
    errors: FormErrors,
) -> Result<Response> {
    let page = form_page(state, me, objective_id, form, errors).await?;
    Ok((INVALID, page).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewObjectiveQuery {
    unit: String,
    period: String,
    /// Cascading: the key result the new objective reframes.
    key_result: String,
}

/// `GET /objectives/new?unit=&period=&key_result=`: cascading from a key result takes its
/// title as a starting point and its period.
pub async fn get_new_objective(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<NewObjectiveQuery>,
) -> Result<ObjectiveFormPage> {
    let email: String = sqlx::query_scalar("SELECT email FROM people WHERE id = $1")
        .bind(me.id)
        .fetch_one(&state.db)
        .await?;
    let parent = match Uuid::parse_str(query.key_result.trim()) {
        Ok(id) => parent_key_result(&state.db, id).await?,
        Err(_) => None,
    };
    let today = me.today(&state.clock);
    let current = crate::periods::current_period(&state.db, today).await?;
    let form = ObjectiveForm {
        title: parent.as_ref().map(|p| p.title.clone()).unwrap_or_default(),
        unit_id: query.unit,
        period_id: parent
            .as_ref()
            .map(|p| p.period_id.to_string())
            .or_else(|| (!query.period.is_empty()).then(|| query.period.clone()))
            .or_else(|| current.map(|p| p.id.to_string()))
            .unwrap_or_default(),
        owner_email: email,
        parent_key_result_id: parent.map(|p| p.id.to_string()).unwrap_or_default(),
        ..ObjectiveForm::default()
    };
    form_page(&state, &me, None, form, FormErrors::default()).await
}

/// The cascade rules, in one statement: the parent key result exists, the objective's
/// unit is the parent's or beneath it, its period is the parent's or inside it, and (when
/// editing `this`) the parent is not this objective's nor cascaded from it.
async fn check_cascade(
    db: &crate::db::Db,
    valid: &ValidObjective,
    this: Option<Uuid>,
    errors: &mut FormErrors,
) -> Result<()> {
    let Some(parent) = valid.parent else {
        return Ok(());
    };
    let found: Option<(bool, bool, bool)> = sqlx::query_as(
        "WITH RECURSIVE below (id) AS (
             SELECT $4::uuid WHERE $4::uuid IS NOT NULL
             UNION
             SELECT o.id FROM below b JOIN key_results k ON k.objective_id = b.id
               JOIN objectives o ON o.parent_key_result_id = k.id)
         SELECT EXISTS (SELECT 1 FROM org_unit_tree t WHERE t.ancestor_id = o.org_unit_id AND t.descendant_id = $2),
                EXISTS (SELECT 1 FROM periods mine WHERE mine.id = $3 AND mine.starts_on >= pe.starts_on AND mine.ends_on <= pe.ends_on),
                EXISTS (SELECT 1 FROM below b WHERE b.id = o.id)
           FROM key_results k JOIN objectives o ON o.id = k.objective_id JOIN periods pe ON pe.id = o.period_id
          WHERE k.id = $1",
    )
    .bind(parent)
    .bind(valid.unit)
    .bind(valid.period)
    .bind(this)
    .fetch_optional(db)
    .await?;
    match found {
        None => errors.add(
            "parent_key_result_id",
            "The parent key result no longer exists",
        ),
        Some((unit_ok, period_ok, in_loop)) => {
            if !unit_ok {
                errors.add("unit_id", "A cascaded objective belongs to the parent key result's unit or a unit beneath it");
            }
            if !period_ok {
                errors.add(
                    "period_id",
                    "A cascaded objective's period must be the parent's period or one inside it",
                );
            }
            if in_loop {
                errors.add("parent_key_result_id", "That key result is this objective's own, or cascaded from it: the cascade cannot loop");
            }
        }
    }
    Ok(())
}

/// Checks that need the database: permission on the unit (for a new objective, or one
/// moving to another unit), the owner, the cascade, and that the period is open. `this` is
/// the objective being edited and the unit it is in.
async fn check_valid(
    state: &AppState,
    me: &Me,
    valid: &ValidObjective,
    this: Option<(Uuid, Uuid)>,
    errors: &mut FormErrors,
) -> Result<Option<Uuid>> {
    let moves = this.is_none_or(|(_, unit)| unit != valid.unit);
    if moves && !may_change_record(&state.db, me, valid.unit, None).await? {
        errors.add(
            "unit_id",
            "You can set objectives only for the units you belong to",
        );
    }
    let owner = crate::people::active_owner(
        &state.db,
        &valid.owner_email,
        errors,
        "owner_email",
        "Nobody has this email: add the person first",
    )
    .await?;
    let closed: Option<bool> =
        sqlx::query_scalar("SELECT closed_at IS NOT NULL FROM periods WHERE id = $1")
            .bind(valid.period)
            .fetch_optional(&state.db)
            .await?;
    match closed {
        None => errors.add("period_id", "That period no longer exists: choose another"),
        Some(true) => errors.add("period_id", "That period is closed: its OKRs are read-only"),
        Some(false) => {}
    }
    check_cascade(&state.db, valid, this.map(|(id, _)| id), errors).await?;
    Ok(owner)
}

/// Creates an objective from the form as typed (pages and the API alike): validation,
/// the unit, owner, open period and cascade rules, the insert and its audit row.
pub async fn create_objective(
    state: &AppState,
    me: &Me,
    client: &str,
    form: &ObjectiveForm,
) -> Result<std::result::Result<Uuid, FormErrors>> {
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => return Ok(Err(errors)),
    };
    let mut errors = FormErrors::default();
    let owner = check_valid(state, me, &valid, None, &mut errors).await?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let id = Uuid::new_v4();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO objectives (id, org_unit_id, period_id, owner_id, parent_key_result_id, title, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(valid.unit)
    .bind(valid.period)
    .bind(owner)
    .bind(valid.parent)
    .bind(&valid.title)
    .bind(&valid.description)
    .execute(&mut *tx)
    .await?;
    Entry::new("objective_created")
        .actor(Some(me.id))
        .entity("objective", id)
        .after(json!({ "title": valid.title, "org_unit_id": valid.unit, "period_id": valid.period,
                       "owner_id": owner, "parent_key_result_id": valid.parent, "description": valid.description }))
        .client(client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// `POST /objectives`
pub async fn post_objective(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(form): Form<ObjectiveForm>,
) -> Result<Response> {
    match create_objective(&state, &me, &client, &form).await? {
        Ok(id) => Ok(page::see_other(
            &format!("/objectives/{id}"),
            "Objective created. Now add 3 to 5 key results: how you will know it is met.",
        )),
        Err(errors) => refused(&state, &me, None, form, errors).await,
    }
}

/// An objective as its page and the edit form read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Objective {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub period_id: Uuid,
    pub period_name: String,
    pub period_closed: bool,
    pub period_starts_on: chrono::NaiveDate,
    pub period_ends_on: chrono::NaiveDate,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub owner_active: bool,
    pub status: String,
    pub parent_key_result_id: Option<Uuid>,
    pub parent_title: Option<String>,
    pub parent_objective_id: Option<Uuid>,
    pub parent_objective_title: Option<String>,
    pub version: i32,
}

impl Objective {
    pub fn status(&self) -> ObjectiveStatus {
        ObjectiveStatus::parse(&self.status).unwrap_or(ObjectiveStatus::Draft)
    }
}

/// An objective `o` as [`Objective`] reads it; a `WHERE` clause follows.
pub const OBJECTIVE: &str = "SELECT o.id, o.title, o.description, o.org_unit_id AS unit_id, u.name AS unit_name, o.period_id,
        pe.name AS period_name, pe.closed_at IS NOT NULL AS period_closed, pe.starts_on AS period_starts_on,
        pe.ends_on AS period_ends_on, o.owner_id, p.name AS owner_name,
        p.email AS owner_email, coalesce(p.active, false) AS owner_active, o.status, o.parent_key_result_id,
        k.title AS parent_title, po.id AS parent_objective_id, po.title AS parent_objective_title, o.version
   FROM objectives o JOIN org_units u ON u.id = o.org_unit_id JOIN periods pe ON pe.id = o.period_id
   LEFT JOIN people p ON p.id = o.owner_id
   LEFT JOIN key_results k ON k.id = o.parent_key_result_id
   LEFT JOIN objectives po ON po.id = k.objective_id";

pub async fn load_objective(db: &crate::db::Db, id: Uuid) -> Result<Objective> {
    sqlx::query_as(&format!("{OBJECTIVE} WHERE o.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The objective, when `me` may change it (otherwise the audited 403) and its period is
/// open (otherwise `Err` with the page to go back to).
pub async fn objective_to_change(
    state: &AppState,
    me: &Me,
    client: &str,
    id: Uuid,
) -> Result<std::result::Result<Objective, Response>> {
    let objective = load_objective(&state.db, id).await?;
    ensure_may_change(
        state,
        me,
        client,
        objective.unit_id,
        objective.owner_id,
        "objective",
        id,
    )
    .await?;
    if objective.period_closed {
        return Ok(Err(page::see_other(
            &format!("/objectives/{id}"),
            "This objective's period is closed: its OKRs are read-only until an administrator reopens it",
        )));
    }
    Ok(Ok(objective))
}

#[derive(Template, WebTemplate)]
#[template(path = "okrs/objective.html")]
pub struct ObjectivePage {
    layout: Layout,
    objective: Objective,
    cascade: Cascade,
    history: Vec<Change>,
    may_change: bool,
    today: chrono::NaiveDate,
    next_steps: Vec<(String, String)>,
    /// Open periods after this one, to carry unfinished key results into.
    later_periods: Vec<(String, String)>,
    may_carry_over: bool,
}

impl ObjectivePage {
    /// Fewer than 3 or more than 5 key results: a gentle warning.
    fn key_result_count_warning(&self) -> Option<String> {
        let count = self.cascade.key_results_of(&self.objective.id).count();
        match count {
            0 => None,
            1 | 2 => Some(format!(
                "{count} key result{} so far: most objectives need 3 to 5 to say what meeting them means.",
                if count == 1 { "" } else { "s" }
            )),
            3..=5 => None,
            _ => Some(format!(
                "{count} key results: more than 5 usually dilutes focus. Consider cascading some to teams."
            )),
        }
    }
}

fn step_label(status: ObjectiveStatus) -> &'static str {
    match status {
        ObjectiveStatus::Draft => "Back to draft",
        ObjectiveStatus::Active => "Activate",
        ObjectiveStatus::Closed => "Close objective",
    }
}

fn next_steps(status: ObjectiveStatus) -> &'static [ObjectiveStatus] {
    match status {
        ObjectiveStatus::Draft => &[ObjectiveStatus::Active],
        ObjectiveStatus::Active => &[ObjectiveStatus::Closed, ObjectiveStatus::Draft],
        ObjectiveStatus::Closed => &[ObjectiveStatus::Active],
    }
}

/// The objective's page as one statement: the objective, the cascade beneath it, its
/// history and the open periods after its own (to carry unfinished key results into).
#[derive(sqlx::FromRow)]
struct ObjectiveRead {
    #[sqlx(flatten)]
    objective: Objective,
    #[sqlx(json)]
    cascade: cascade::CascadeJson,
    #[sqlx(json)]
    history: Vec<Change>,
    #[sqlx(json)]
    later_periods: Vec<LaterPeriod>,
}

#[derive(Deserialize)]
struct LaterPeriod {
    id: Uuid,
    name: String,
}

/// `GET /objectives/{id}`: one statement for the objective and the whole cascade beneath it.
pub async fn get_objective(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    flash: Flash,
) -> Result<ObjectivePage> {
    static READ: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT x.*, {cascade} AS cascade, {history} AS history, {later_periods} AS later_periods
               FROM ({OBJECTIVE} WHERE o.id = $1) x",
            cascade = cascade::json_of("x.id"),
            history = crate::audit::history_json("objective", "x.id"),
            later_periods = crate::db::json::rows(
                "SELECT id, name FROM periods WHERE closed_at IS NULL AND starts_on > x.period_ends_on
                  ORDER BY starts_on, ends_on - starts_on LIMIT 8"
            ),
        )
    });
    let ObjectiveRead {
        objective,
        cascade,
        history,
        later_periods,
    } = sqlx::query_as(&READ)
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let cascade = Cascade::from(cascade);
    let may_edit = may_change_record(&state.db, &me, objective.unit_id, objective.owner_id).await?;
    let may_change = !objective.period_closed && may_edit;
    let today = me.today(&state.clock);
    let later_periods: Vec<(String, String)> = later_periods
        .into_iter()
        .map(|p| (p.id.to_string(), p.name))
        .collect();
    let next_steps = next_steps(objective.status())
        .iter()
        .map(|s| (s.as_str().to_string(), step_label(*s).to_string()))
        .collect();
    let layout = Layout::new(
        format!("Objective · {}", objective.title),
        Section::Okrs,
        &me,
    )
    .with_flash(flash);
    Ok(ObjectivePage {
        layout,
        objective,
        cascade,
        history,
        may_change,
        today,
        next_steps,
        may_carry_over: may_edit && !later_periods.is_empty(),
        later_periods,
    })
}

/// `GET /objectives/{id}/edit`
pub async fn get_edit_objective(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let objective = match objective_to_change(&state, &me, &client, id).await? {
        Ok(objective) => objective,
        Err(back) => return Ok(back),
    };
    let form = ObjectiveForm::from(&objective);
    Ok(
        form_page(&state, &me, Some(id), form, FormErrors::default())
            .await?
            .into_response(),
    )
}

impl From<&Objective> for ObjectiveForm {
    fn from(o: &Objective) -> ObjectiveForm {
        ObjectiveForm {
            title: o.title.clone(),
            description: o.description.clone(),
            unit_id: o.unit_id.to_string(),
            period_id: o.period_id.to_string(),
            owner_email: o.owner_email.clone().unwrap_or_default(),
            parent_key_result_id: o
                .parent_key_result_id
                .map(|k| k.to_string())
                .unwrap_or_default(),
            version: o.version.to_string(),
        }
    }
}

/// Changes an objective from the form as typed, if `version` is still current (pages and
/// the API alike). The caller has checked the person may change it and its period is open.
pub async fn update_objective(
    state: &AppState,
    me: &Me,
    client: &str,
    objective: &Objective,
    form: &ObjectiveForm,
    version: i32,
) -> Result<std::result::Result<(), Refused>> {
    let id = objective.id;
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => return Ok(Err(Refused::Invalid(errors))),
    };
    let mut errors = FormErrors::default();
    let owner = check_valid(
        state,
        me,
        &valid,
        Some((id, objective.unit_id)),
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Ok(Err(Refused::Invalid(errors)));
    }
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE objectives SET title = $3, description = $4, org_unit_id = $5, period_id = $6, owner_id = $7,
                parent_key_result_id = $8, version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&valid.title)
    .bind(&valid.description)
    .bind(valid.unit)
    .bind(valid.period)
    .bind(owner)
    .bind(valid.parent)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(Err(Refused::Stale));
    }
    Entry::new("objective_updated")
        .actor(Some(me.id))
        .entity("objective", id)
        .before(json!({ "title": objective.title, "org_unit_id": objective.unit_id, "period_id": objective.period_id,
                        "owner_id": objective.owner_id, "parent_key_result_id": objective.parent_key_result_id,
                        "description": objective.description }))
        .after(json!({ "title": valid.title, "org_unit_id": valid.unit, "period_id": valid.period,
                       "owner_id": owner, "parent_key_result_id": valid.parent, "description": valid.description }))
        .client(client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// `POST /objectives/{id}`
pub async fn post_objective_update(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<ObjectiveForm>,
) -> Result<Response> {
    let objective = match objective_to_change(&state, &me, &client, id).await? {
        Ok(objective) => objective,
        Err(back) => return Ok(back),
    };
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    match update_objective(&state, &me, &client, &objective, &form, version).await? {
        Ok(()) => Ok(page::see_other(
            &format!("/objectives/{id}"),
            "Objective saved",
        )),
        Err(Refused::Invalid(errors)) => refused(&state, &me, Some(id), form, errors).await,
        Err(Refused::Stale) => {
            let current = load_objective(&state.db, id).await?;
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
                    "Owner",
                    current.owner_email.clone().unwrap_or_default(),
                    form.owner_email.trim().to_string(),
                ),
            ]);
            let form = ObjectiveForm {
                version: current.version.to_string(),
                ..form
            };
            let mut page = form_page(&state, &me, Some(id), form, FormErrors::default()).await?;
            page.changes = changes;
            Ok((CONFLICT, page).into_response())
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    version: String,
}

/// Moves an objective to the status named, if `version` is still current (pages and the
/// API alike): activating needs an active owner. The caller has checked the person may
/// change it.
pub async fn change_objective_status(
    state: &AppState,
    me: &Me,
    client: &str,
    objective: &Objective,
    status: &str,
    version: i32,
) -> Result<std::result::Result<ObjectiveStatus, StatusRefused>> {
    let from = objective.status();
    let Ok(target) = ObjectiveStatus::parse(status) else {
        return Ok(Err(StatusRefused::Unknown));
    };
    if !next_steps(from).contains(&target) {
        return Ok(Err(StatusRefused::NotNow(
            "That step is not possible from here".to_string(),
        )));
    }
    if target == ObjectiveStatus::Active && !objective.owner_active {
        return Ok(Err(StatusRefused::NotNow(
            "An objective needs one accountable, active owner before it is activated".to_string(),
        )));
    }
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE objectives SET status = $3, version = version + 1, updated_at = now() WHERE id = $1 AND version = $2",
    )
    .bind(objective.id)
    .bind(version)
    .bind(target.as_str())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(Err(StatusRefused::Stale));
    }
    Entry::new("objective_status_changed")
        .actor(Some(me.id))
        .entity("objective", objective.id)
        .before(json!({ "status": from.as_str() }))
        .after(json!({ "status": target.as_str() }))
        .client(client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(Ok(target))
}

/// `POST /objectives/{id}/status`
pub async fn post_objective_status(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<StatusForm>,
) -> Result<Response> {
    let objective = match objective_to_change(&state, &me, &client, id).await? {
        Ok(objective) => objective,
        Err(back) => return Ok(back),
    };
    let here = format!("/objectives/{id}");
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    let message =
        match change_objective_status(&state, &me, &client, &objective, &form.status, version)
            .await?
        {
            Ok(target) => format!("Objective is now {}", target.label().to_lowercase()),
            Err(refused) => refused.message("objective"),
        };
    Ok(page::see_other(&here, &message))
}
