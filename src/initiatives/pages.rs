//! Initiative pages: the form (new and edit), the initiative's page with its outcomes and
//! epics, and status changes.

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
use crate::initiatives::model::InitiativeStatus;
use crate::org::model::{optional_id, required_text};
use crate::outcomes::parent::{
    EpicWithOutcomes, OutcomeRow, Parent, epics_of_initiative, outcomes_of,
};
use crate::people::model::Email;

/// The initiative form as typed. Planned periods are checkboxes sharing one name, so the
/// form is read as its list of pairs.
#[derive(Debug, Clone, Default)]
pub struct InitiativeForm {
    pub title: String,
    pub description: String,
    pub unit_id: String,
    pub owner_email: String,
    pub periods: Vec<String>,
    pub version: String,
}

impl InitiativeForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> InitiativeForm {
        let mut form = InitiativeForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "title" => form.title = value,
                "description" => form.description = value,
                "unit_id" => form.unit_id = value,
                "owner_email" => form.owner_email = value,
                "period_id" => form.periods.push(value),
                "version" => form.version = value,
                _ => {}
            }
        }
        form
    }

    fn plans(&self, period: &str) -> bool {
        self.periods.iter().any(|p| p == period)
    }

    fn parse(&self) -> std::result::Result<ValidInitiative, FormErrors> {
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
            errors.add("unit_id", "Choose the unit that owns this initiative");
        }
        let owner_email = if self.owner_email.trim().is_empty() {
            errors.add(
                "owner_email",
                "Enter the email of the one person accountable for this initiative",
            );
            None
        } else {
            check(&mut errors, "owner_email", Email::parse(&self.owner_email))
        };
        let mut periods = Vec::new();
        for period in &self.periods {
            match Uuid::parse_str(period.trim()) {
                Ok(id) if !periods.contains(&id) => periods.push(id),
                Ok(_) => {}
                Err(_) => errors.add("periods", "Choose periods from the list"),
            }
        }
        match (title, unit, owner_email) {
            (Some(title), Some(Some(unit)), Some(owner_email)) if errors.is_empty() => {
                Ok(ValidInitiative {
                    title,
                    description,
                    unit,
                    owner_email,
                    periods,
                })
            }
            _ => Err(errors),
        }
    }
}

struct ValidInitiative {
    title: String,
    description: String,
    unit: Uuid,
    owner_email: Email,
    periods: Vec<Uuid>,
}

#[derive(Template, WebTemplate)]
#[template(path = "initiatives/form.html")]
pub struct InitiativeFormPage {
    layout: Layout,
    initiative_id: Option<Uuid>,
    form: InitiativeForm,
    errors: FormErrors,
    changes: Vec<ChangedField>,
    units: Vec<(String, String)>,
    periods: Vec<(String, String)>,
}

async fn form_page(
    state: &AppState,
    me: &Me,
    initiative_id: Option<Uuid>,
    form: InitiativeForm,
    errors: FormErrors,
) -> Result<InitiativeFormPage> {
    let units = crate::org::unit_options(&state.db).await?;
    let periods = crate::periods::options(state, me).await?;
    let title = if initiative_id.is_some() {
        "Edit initiative"
    } else {
        "New initiative"
    };
    Ok(InitiativeFormPage {
        layout: Layout::new(title, Section::Initiatives, me),
        initiative_id,
        form,
        errors,
        changes: Vec::new(),
        units,
        periods,
    })
}

/// The form again with what was typed and why it was refused.
async fn refused(
    state: &AppState,
    me: &Me,
    initiative_id: Option<Uuid>,
    form: InitiativeForm,
    errors: FormErrors,
) -> Result<Response> {
    let page = form_page(state, me, initiative_id, form, errors).await?;
    Ok((INVALID, page).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewInitiativeQuery {
    unit: String,
}

/// `GET /initiatives/new?unit=…`: the person adding it is proposed as its owner.
pub async fn get_new_initiative(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<NewInitiativeQuery>,
) -> Result<InitiativeFormPage> {
    let email: String = sqlx::query_scalar("SELECT email FROM people WHERE id = $1")
        .bind(me.id)
        .fetch_one(&state.db)
        .await?;
    let form = InitiativeForm {
        unit_id: query.unit,
        owner_email: email,
        ..InitiativeForm::default()
    };
    form_page(&state, &me, None, form, FormErrors::default()).await
}

/// The active person with the typed email, or the reason on the form.
async fn resolve_owner(
    state: &AppState,
    email: &Email,
    errors: &mut FormErrors,
) -> Result<Option<Uuid>> {
    Ok(crate::people::active_owner(
        &state.db,
        email,
        errors,
        "owner_email",
        "Nobody has this email: add the person first",
    )
    .await?)
}

/// Replaces the initiative's planned periods; false when one no longer exists.
async fn save_periods(
    tx: &mut sqlx::PgConnection,
    initiative: Uuid,
    periods: &[Uuid],
) -> Result<bool> {
    sqlx::query("DELETE FROM initiative_periods WHERE initiative_id = $1")
        .bind(initiative)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO initiative_periods (initiative_id, period_id)
         SELECT $1, p.id FROM periods p WHERE p.id = ANY($2)",
    )
    .bind(initiative)
    .bind(periods)
    .execute(&mut *tx)
    .await?;
    Ok(inserted.rows_affected() as usize == periods.len())
}

/// Creates an initiative from the form as typed (pages and the API alike): validation,
/// the unit the person may add to, the owner, the insert with its periods and audit row.
pub async fn create_initiative(
    state: &AppState,
    me: &Me,
    client: &str,
    form: &InitiativeForm,
) -> Result<std::result::Result<Uuid, FormErrors>> {
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => return Ok(Err(errors)),
    };
    let mut errors = FormErrors::default();
    if !may_change_record(&state.db, me, valid.unit, None).await? {
        errors.add(
            "unit_id",
            "You can add initiatives only for the units you belong to",
        );
    }
    let owner = resolve_owner(state, &valid.owner_email, &mut errors).await?;
    let unit_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM org_units WHERE id = $1)")
            .bind(valid.unit)
            .fetch_one(&state.db)
            .await?;
    if !unit_exists {
        errors.add("unit_id", "That unit no longer exists: choose another");
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let id = Uuid::new_v4();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO initiatives (id, org_unit_id, owner_id, title, description) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(valid.unit)
    .bind(owner)
    .bind(&valid.title)
    .bind(&valid.description)
    .execute(&mut *tx)
    .await?;
    if !save_periods(&mut tx, id, &valid.periods).await? {
        return Ok(Err(period_gone()));
    }
    Entry::new("initiative_created")
        .actor(Some(me.id))
        .entity("initiative", id)
        .after(
            json!({ "title": valid.title, "org_unit_id": valid.unit, "owner_id": owner,
                       "description": valid.description, "periods": valid.periods }),
        )
        .client(client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

fn period_gone() -> FormErrors {
    let mut errors = FormErrors::default();
    errors.add("periods", "A period chosen no longer exists: choose again");
    errors
}

/// `POST /initiatives`
pub async fn post_initiative(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let form = InitiativeForm::from_pairs(pairs);
    match create_initiative(&state, &me, &client, &form).await? {
        Ok(id) => Ok(page::see_other(
            &format!("/initiatives/{id}"),
            "Initiative created. Say what result it should change, then add its epics.",
        )),
        Err(errors) => refused(&state, &me, None, form, errors).await,
    }
}

/// An initiative as its page shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct Initiative {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub owner_active: bool,
    pub status: String,
    pub period_ids: Vec<Uuid>,
    pub period_names: Vec<String>,
    pub version: i32,
}

impl Initiative {
    pub fn status(&self) -> InitiativeStatus {
        InitiativeStatus::parse(&self.status).unwrap_or(InitiativeStatus::Proposed)
    }

    pub fn periods(&self) -> String {
        self.period_names.join(", ")
    }

    /// The initiative as its outcomes' parent.
    pub fn as_parent(&self) -> Parent {
        Parent {
            kind: "initiative".to_string(),
            id: self.id,
            title: self.title.clone(),
            unit_id: self.unit_id,
            owner_id: self.owner_id,
            owner_email: self.owner_email.clone(),
            status: self.status.clone(),
            initiative_id: None,
        }
    }
}

pub async fn load_initiative(db: &crate::db::Db, id: Uuid) -> Result<Initiative> {
    sqlx::query_as(
        "SELECT i.id, i.title, i.description, i.org_unit_id AS unit_id, u.name AS unit_name, i.owner_id,
                p.name AS owner_name, p.email AS owner_email, coalesce(p.active, false) AS owner_active, i.status,
                array(SELECT ip.period_id FROM initiative_periods ip JOIN periods pe ON pe.id = ip.period_id
                       WHERE ip.initiative_id = i.id ORDER BY pe.starts_on, pe.ends_on) AS period_ids,
                array(SELECT pe.name FROM initiative_periods ip JOIN periods pe ON pe.id = ip.period_id
                       WHERE ip.initiative_id = i.id ORDER BY pe.starts_on, pe.ends_on) AS period_names,
                i.version
           FROM initiatives i JOIN org_units u ON u.id = i.org_unit_id
           LEFT JOIN people p ON p.id = i.owner_id
          WHERE i.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

/// The initiative, when `me` may change it; otherwise the audited 403.
pub async fn initiative_to_change(
    state: &AppState,
    me: &Me,
    client: &str,
    id: Uuid,
) -> Result<Initiative> {
    let initiative = load_initiative(&state.db, id).await?;
    ensure_may_change(
        state,
        me,
        client,
        initiative.unit_id,
        initiative.owner_id,
        "initiative",
        id,
    )
    .await?;
    Ok(initiative)
}

#[derive(Template, WebTemplate)]
#[template(path = "initiatives/show.html")]
pub struct InitiativePage {
    layout: Layout,
    initiative: Initiative,
    outcomes: Vec<OutcomeRow>,
    epics: Vec<EpicWithOutcomes>,
    history: Vec<Change>,
    may_change: bool,
    next_steps: Vec<(String, String)>,
}

/// `GET /initiatives/{id}`
pub async fn get_initiative(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    flash: Flash,
) -> Result<InitiativePage> {
    let initiative = load_initiative(&state.db, id).await?;
    let today = me.today(&state.clock);
    let outcomes = outcomes_of(&state.db, &initiative.as_parent(), today).await?;
    let epics = epics_of_initiative(&state.db, id, today).await?;
    let history = crate::audit::history(&state.db, "initiative", id).await?;
    let may_change =
        may_change_record(&state.db, &me, initiative.unit_id, initiative.owner_id).await?;
    let next_steps = initiative
        .status()
        .next_steps()
        .iter()
        .map(|s| (s.as_str().to_string(), s.step_label().to_string()))
        .collect();
    let layout = Layout::new(
        format!("Initiative · {}", initiative.title),
        Section::Initiatives,
        &me,
    )
    .with_flash(flash);
    Ok(InitiativePage {
        layout,
        initiative,
        outcomes,
        epics,
        history,
        may_change,
        next_steps,
    })
}

impl From<&Initiative> for InitiativeForm {
    fn from(i: &Initiative) -> InitiativeForm {
        InitiativeForm {
            title: i.title.clone(),
            description: i.description.clone(),
            unit_id: i.unit_id.to_string(),
            owner_email: i.owner_email.clone().unwrap_or_default(),
            periods: i.period_ids.iter().map(Uuid::to_string).collect(),
            version: i.version.to_string(),
        }
    }
}

/// `GET /initiatives/{id}/edit`
pub async fn get_edit_initiative(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let initiative = initiative_to_change(&state, &me, &client, id).await?;
    let form = InitiativeForm::from(&initiative);
    let page = form_page(&state, &me, Some(id), form, FormErrors::default()).await?;
    Ok(page.into_response())
}

/// Changes an initiative from the form as typed, if `version` is still current (pages and
/// the API alike). The caller has checked the person may change it.
pub async fn update_initiative(
    state: &AppState,
    me: &Me,
    client: &str,
    initiative: &Initiative,
    form: &InitiativeForm,
    version: i32,
) -> Result<std::result::Result<(), Refused>> {
    let id = initiative.id;
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => return Ok(Err(Refused::Invalid(errors))),
    };
    let mut errors = FormErrors::default();
    if valid.unit != initiative.unit_id
        && !may_change_record(&state.db, me, valid.unit, None).await?
    {
        errors.add(
            "unit_id",
            "You can move initiatives only to units you belong to",
        );
    }
    let owner = resolve_owner(state, &valid.owner_email, &mut errors).await?;
    if !errors.is_empty() {
        return Ok(Err(Refused::Invalid(errors)));
    }
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE initiatives SET org_unit_id = $3, owner_id = $4, title = $5, description = $6,
                version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(valid.unit)
    .bind(owner)
    .bind(&valid.title)
    .bind(&valid.description)
    .execute(&mut *tx)
    .await;
    match updated {
        Ok(done) if done.rows_affected() == 0 => return Ok(Err(Refused::Stale)),
        Ok(_) => {}
        Err(err)
            if crate::http::error::violated_constraint(&err)
                == Some("initiatives_org_unit_id_fkey") =>
        {
            let mut errors = FormErrors::default();
            errors.add("unit_id", "That unit no longer exists: choose another");
            return Ok(Err(Refused::Invalid(errors)));
        }
        Err(err) => return Err(err.into()),
    }
    if !save_periods(&mut tx, id, &valid.periods).await? {
        return Ok(Err(Refused::Invalid(period_gone())));
    }
    Entry::new("initiative_updated")
        .actor(Some(me.id))
        .entity("initiative", id)
        .before(json!({ "title": initiative.title, "org_unit_id": initiative.unit_id, "owner_id": initiative.owner_id,
                        "description": initiative.description, "periods": initiative.period_ids }))
        .after(json!({ "title": valid.title, "org_unit_id": valid.unit, "owner_id": owner,
                       "description": valid.description, "periods": valid.periods }))
        .client(client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// `POST /initiatives/{id}`
pub async fn post_initiative_update(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let initiative = initiative_to_change(&state, &me, &client, id).await?;
    let form = InitiativeForm::from_pairs(pairs);
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    match update_initiative(&state, &me, &client, &initiative, &form, version).await? {
        Ok(()) => Ok(page::see_other(
            &format!("/initiatives/{id}"),
            "Initiative saved",
        )),
        Err(Refused::Invalid(errors)) => refused(&state, &me, Some(id), form, errors).await,
        Err(Refused::Stale) => {
            let current = load_initiative(&state.db, id).await?;
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
            let form = InitiativeForm {
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

/// Moves an initiative to the status named, if `version` is still current (pages and the
/// API alike): starting needs an active owner and commits its outcomes. The caller has
/// checked the person may change it.
pub async fn change_initiative_status(
    state: &AppState,
    me: &Me,
    client: &str,
    initiative: &Initiative,
    status: &str,
    version: i32,
) -> Result<std::result::Result<InitiativeStatus, StatusRefused>> {
    let Ok(target) = InitiativeStatus::parse(status) else {
        return Ok(Err(StatusRefused::Unknown));
    };
    let from = initiative.status();
    if !from.next_steps().contains(&target) {
        return Ok(Err(StatusRefused::NotNow(format!(
            "An initiative that is {} cannot become {}",
            from.label().to_lowercase(),
            target.label().to_lowercase()
        ))));
    }
    if target == InitiativeStatus::Active && !initiative.owner_active {
        return Ok(Err(StatusRefused::NotNow(
            "Not started: an initiative needs an active owner first. Reassign its owner below."
                .to_string(),
        )));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE initiatives SET status = $3, version = version + 1, updated_at = now() WHERE id = $1 AND version = $2",
    )
    .bind(initiative.id)
    .bind(version)
    .bind(target.as_str())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(Err(StatusRefused::Stale));
    }
    if target == InitiativeStatus::Active {
        crate::outcomes::parent::commit_outcomes(&mut tx, initiative.id, now).await?;
    }
    Entry::new("initiative_status_changed")
        .actor(Some(me.id))
        .entity("initiative", initiative.id)
        .before(json!({ "status": from.as_str() }))
        .after(json!({ "status": target.as_str() }))
        .client(client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(target))
}

/// `POST /initiatives/{id}/status`
pub async fn post_initiative_status(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<StatusForm>,
) -> Result<Response> {
    let initiative = initiative_to_change(&state, &me, &client, id).await?;
    let here = format!("/initiatives/{id}");
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    let message =
        match change_initiative_status(&state, &me, &client, &initiative, &form.status, version)
            .await?
        {
            Ok(target) => format!("Initiative is now {}", target.label().to_lowercase()),
            Err(refused) => refused.message("initiative"),
        };
    Ok(page::see_other(&here, &message))
}
