//! Iterations (sprints) of a team: dates, a goal phrased as an outcome, the epics it
//! advances, and at its end a review — goal met, partly met or not met, with a note.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::{ClientAddr, ensure_may_change};
use crate::auth::policy::{Me, may_change_record};
use crate::epics::model::EpicStatus;
use crate::http::error::violated_constraint;
use crate::http::page::{
    self, CONFLICT, ChangedField, Flash, Form, FormErrors, INVALID, Id, Layout, Section, check,
};
use crate::http::{AppError, AppState, Result};
use crate::org::model::required_text;
use crate::periods::model::{human_date, parse_date};
use crate::planning::model::{GoalReview, parse_goal};

/// Longest iteration accepted, in days (a quarter).
const MAX_DAYS: i64 = 92;

/// The iteration form as typed; the epics are checkboxes sharing one name.
#[derive(Debug, Clone, Default)]
pub struct IterationForm {
    name: String,
    starts_on: String,
    ends_on: String,
    goal: String,
    epics: Vec<String>,
    version: String,
}

struct ValidIteration {
    name: String,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    goal: String,
    epics: Vec<Uuid>,
}

impl ValidIteration {
    fn to_json(&self) -> serde_json::Value {
        json!({ "name": self.name, "starts_on": self.starts_on, "ends_on": self.ends_on,
                "goal": self.goal, "epics": self.epics })
    }
}

impl IterationForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> IterationForm {
        let mut form = IterationForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "name" => form.name = value,
                "starts_on" => form.starts_on = value,
                "ends_on" => form.ends_on = value,
                "goal" => form.goal = value,
                "epic_id" => form.epics.push(value),
                "version" => form.version = value,
                _ => {}
            }
        }
        form
    }

    fn advances(&self, epic: &Uuid) -> bool {
        self.epics.iter().any(|e| e.trim() == epic.to_string())
    }

    /// Checks every field; `offered` are the epics the form listed.
    fn parse(&self, offered: &[EpicOption]) -> std::result::Result<ValidIteration, FormErrors> {
        let mut errors = FormErrors::default();
        let name = check(&mut errors, "name", required_text(&self.name, "a name", 80));
        let starts_on = check(
            &mut errors,
            "starts_on",
            parse_date(&self.starts_on, "first day"),
        );
        let ends_on = check(
            &mut errors,
            "ends_on",
            parse_date(&self.ends_on, "last day"),
        );
        if let (Some(start), Some(end)) = (starts_on, ends_on) {
            if end < start {
                errors.add("ends_on", "The last day must be on or after the first day");
            } else if (end - start).num_days() >= MAX_DAYS {
                errors.add(
                    "ends_on",
                    format!("An iteration lasts at most {MAX_DAYS} days: plan a shorter one"),
                );
            }
        }
        let goal = check(&mut errors, "goal", parse_goal(&self.goal));
        let mut epics = Vec::new();
        for epic in &self.epics {
            match offered.iter().find(|o| o.id.to_string() == epic.trim()) {
                Some(o) if !epics.contains(&o.id) => epics.push(o.id),
                Some(_) => {}
                None => errors.add("epics", "Choose epics from the list"),
            }
        }
        match (name, starts_on, ends_on, goal) {
            (Some(name), Some(starts_on), Some(ends_on), Some(goal)) if errors.is_empty() => {
                Ok(ValidIteration {
                    name,
                    starts_on,
                    ends_on,
                    goal,
                    epics,
                })
            }
            _ => Err(errors),
        }
    }
}

/// An epic the iteration may advance.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EpicOption {
    pub id: Uuid,
    pub title: String,
    pub status: String,
    pub team_name: String,
}

impl EpicOption {
    pub fn status_label(&self) -> &str {
        EpicStatus::label_of(&self.status)
    }
}

/// The epics of the unit (and beneath) still being worked on, and those already chosen.
async fn epic_options(
    db: &crate::db::Db,
    unit: Uuid,
    chosen: &[Uuid],
) -> sqlx::Result<Vec<EpicOption>> {
    sqlx::query_as(
        "SELECT e.id, e.title, e.status, u.name AS team_name
           FROM epics e JOIN org_units u ON u.id = e.team_id
          WHERE e.team_id IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1)
            AND (e.status IN ('draft', 'ready', 'in_progress') OR e.id = ANY($2))
          ORDER BY array_position(ARRAY['in_progress', 'ready', 'draft'], e.status), e.rank NULLS LAST, lower(e.title)
          LIMIT 300",
    )
    .bind(unit)
    .bind(chosen)
    .fetch_all(db)
    .await
}

/// An iteration as its pages show it.
#[derive(Debug, sqlx::FromRow)]
pub struct Iteration {
    pub id: Uuid,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub goal: String,
    pub review: Option<String>,
    pub review_note: String,
    pub reviewer_name: Option<String>,
    pub epic_ids: Vec<Uuid>,
    pub version: i32,
}

impl Iteration {
    /// "1 Jun 2026 – 12 Jun 2026"
    pub fn dates(&self) -> String {
        format!(
            "{} – {}",
            human_date(self.starts_on),
            human_date(self.ends_on)
        )
    }

    pub fn review_label(&self) -> Option<&str> {
        self.review.as_deref().map(GoalReview::label_of)
    }

    /// Reviews come on the last day or after.
    pub fn may_review_on(&self, today: NaiveDate) -> bool {
        today >= self.ends_on
    }

    pub fn ends(&self) -> String {
        human_date(self.ends_on)
    }
}

async fn load_iteration(db: &crate::db::Db, id: Uuid) -> Result<Iteration> {
    sqlx::query_as(
        "SELECT i.id, i.org_unit_id AS unit_id, u.name AS unit_name, i.name, i.starts_on, i.ends_on, i.goal,
                i.review, i.review_note, p.name AS reviewer_name,
                array(SELECT ie.epic_id FROM iteration_epics ie WHERE ie.iteration_id = i.id) AS epic_ids,
                i.version
           FROM iterations i JOIN org_units u ON u.id = i.org_unit_id
           LEFT JOIN people p ON p.id = i.reviewed_by
          WHERE i.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

impl From<&Iteration> for IterationForm {
    fn from(i: &Iteration) -> IterationForm {
        IterationForm {
            name: i.name.clone(),
            starts_on: i.starts_on.to_string(),
            ends_on: i.ends_on.to_string(),
            goal: i.goal.clone(),
            epics: i.epic_ids.iter().map(Uuid::to_string).collect(),
            version: i.version.to_string(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "planning/iteration_form.html")]
pub struct IterationFormPage {
    layout: Layout,
    unit_id: Uuid,
    unit_name: String,
    iteration_id: Option<Uuid>,
    form: IterationForm,
    errors: FormErrors,
    changes: Vec<ChangedField>,
    epics: Vec<EpicOption>,
}

async fn unit_name(db: &crate::db::Db, unit: Uuid) -> Result<String> {
    sqlx::query_scalar("SELECT name FROM org_units WHERE id = $1")
        .bind(unit)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)
}

async fn form_page(
    state: &AppState,
    me: &Me,
    unit_id: Uuid,
    iteration_id: Option<Uuid>,
    form: IterationForm,
    errors: FormErrors,
) -> Result<IterationFormPage> {
    let unit_name = unit_name(&state.db, unit_id).await?;
    let chosen: Vec<Uuid> = form
        .epics
        .iter()
        .filter_map(|e| Uuid::parse_str(e.trim()).ok())
        .collect();
    let epics = epic_options(&state.db, unit_id, &chosen).await?;
    let title = if iteration_id.is_some() {
        "Edit iteration"
    } else {
        "Plan an iteration"
    };
    Ok(IterationFormPage {
        layout: Layout::new(title, Section::Organisation, me),
        unit_id,
        unit_name,
        iteration_id,
        form,
        errors,
        changes: Vec::new(),
        epics,
    })
}

/// The form again with what was typed and why it was refused.
async fn refused(
    state: &AppState,
    me: &Me,
    unit_id: Uuid,
    iteration_id: Option<Uuid>,
    form: IterationForm,
    errors: FormErrors,
) -> Result<Response> {
    let page = form_page(state, me, unit_id, iteration_id, form, errors).await?;
    Ok((INVALID, page).into_response())
}

/// The message for a database refusal of an iteration, on the field it concerns.
fn constraint_error(err: &sqlx::Error) -> Option<(&'static str, &'static str)> {
    match violated_constraint(err)? {
        "iterations_no_overlap" => Some((
            "starts_on",
            "These dates overlap another iteration of this team: choose other dates",
        )),
        "iteration_epics_epic_id_fkey" => {
            Some(("epics", "An epic chosen no longer exists: choose again"))
        }
        _ => None,
    }
}

/// Replaces the epics an iteration advances.
async fn save_epics(
    tx: &mut sqlx::PgConnection,
    iteration: Uuid,
    epics: &[Uuid],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM iteration_epics WHERE iteration_id = $1")
        .bind(iteration)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO iteration_epics (iteration_id, epic_id) SELECT $1, unnest($2::uuid[])",
    )
    .bind(iteration)
    .bind(epics)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// `GET /org/units/{id}/iterations/new`: starts the day after the team's last iteration
/// (or today) and lasts two weeks.
pub async fn get_new_iteration(
    State(state): State<AppState>,
    me: Me,
    Id(unit): Id<Uuid>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    ensure_may_change(&state, &me, &client, unit, None, "org_unit", unit).await?;
    let today = me.today(&state.clock);
    let (last_end, count): (Option<NaiveDate>, i64) =
        sqlx::query_as("SELECT max(ends_on), count(*) FROM iterations WHERE org_unit_id = $1")
            .bind(unit)
            .fetch_one(&state.db)
            .await?;
    let starts_on = last_end
        .and_then(|d| d.succ_opt())
        .filter(|d| *d >= today)
        .unwrap_or(today);
    let form = IterationForm {
        name: format!("Iteration {}", count + 1),
        starts_on: starts_on.to_string(),
        ends_on: (starts_on + chrono::Days::new(13)).to_string(),
        ..IterationForm::default()
    };
    let page = form_page(&state, &me, unit, None, form, FormErrors::default()).await?;
    Ok(page.into_response())
}

/// `POST /org/units/{id}/iterations`
pub async fn post_iteration(
    State(state): State<AppState>,
    me: Me,
    Id(unit): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    ensure_may_change(&state, &me, &client, unit, None, "org_unit", unit).await?;
    let form = IterationForm::from_pairs(pairs);
    let offered = epic_options(&state.db, unit, &[]).await?;
    let valid = match form.parse(&offered) {
        Ok(valid) => valid,
        Err(errors) => return refused(&state, &me, unit, None, form, errors).await,
    };
    let id = Uuid::new_v4();
    let mut tx = state.db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO iterations (id, org_unit_id, name, starts_on, ends_on, goal) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(unit)
    .bind(&valid.name)
    .bind(valid.starts_on)
    .bind(valid.ends_on)
    .bind(&valid.goal)
    .execute(&mut *tx)
    .await;
    let saved = match inserted {
        Ok(_) => save_epics(&mut tx, id, &valid.epics).await,
        Err(err) => Err(err),
    };
    if let Err(err) = saved {
        let Some((field, message)) = constraint_error(&err) else {
            return Err(err.into());
        };
        drop(tx);
        let mut errors = FormErrors::default();
        errors.add(field, message);
        return refused(&state, &me, unit, None, form, errors).await;
    }
    Entry::new("iteration_created")
        .actor(Some(me.id))
        .entity("iteration", id)
        .after(valid.to_json())
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/iterations/{id}"),
        "Iteration planned. At its end, review whether the goal was met.",
    ))
}

/// An epic the iteration advances, as its page lists it.
#[derive(Debug, sqlx::FromRow)]
pub struct AdvancedEpic {
    pub id: Uuid,
    pub title: String,
    pub status: String,
    pub team_name: String,
    /// The first anticipated outcome's statement, if any.
    pub outcome: Option<String>,
}

impl AdvancedEpic {
    pub fn status_label(&self) -> &str {
        EpicStatus::label_of(&self.status)
    }
}

/// The review form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReviewForm {
    review: String,
    note: String,
    version: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "planning/iteration.html")]
pub struct IterationPage {
    layout: Layout,
    iteration: Iteration,
    epics: Vec<AdvancedEpic>,
    may_change: bool,
    may_review: bool,
    review: ReviewForm,
    reviews: Vec<(String, String)>,
    errors: FormErrors,
}

async fn iteration_page(
    state: &AppState,
    me: &Me,
    id: Uuid,
    review: Option<ReviewForm>,
    errors: FormErrors,
    flash: Flash,
) -> Result<IterationPage> {
    let iteration = load_iteration(&state.db, id).await?;
    let epics = sqlx::query_as(
        "SELECT e.id, e.title, e.status, u.name AS team_name,
                (SELECT o.statement FROM outcomes o WHERE o.epic_id = e.id ORDER BY o.created_at, o.id LIMIT 1) AS outcome
           FROM iteration_epics ie JOIN epics e ON e.id = ie.epic_id JOIN org_units u ON u.id = e.team_id
          WHERE ie.iteration_id = $1
          ORDER BY lower(e.title)",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    let may_change = may_change_record(&state.db, me, iteration.unit_id, None).await?;
    let today = me.today(&state.clock);
    let may_review = may_change && iteration.may_review_on(today);
    let review = review.unwrap_or_else(|| ReviewForm {
        review: iteration.review.clone().unwrap_or_default(),
        note: iteration.review_note.clone(),
        version: iteration.version.to_string(),
    });
    let layout = Layout::new(
        format!("Iteration · {}", iteration.name),
        Section::Organisation,
        me,
    )
    .with_flash(flash);
    Ok(IterationPage {
        layout,
        iteration,
        epics,
        may_change,
        may_review,
        review,
        reviews: GoalReview::options(),
        errors,
    })
}

/// `GET /iterations/{id}`
pub async fn get_iteration(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    flash: Flash,
) -> Result<IterationPage> {
    iteration_page(&state, &me, id, None, FormErrors::default(), flash).await
}

/// The iteration, when `me` may change it; otherwise the audited 403.
async fn iteration_to_change(
    state: &AppState,
    me: &Me,
    client: &str,
    id: Uuid,
) -> Result<Iteration> {
    let iteration = load_iteration(&state.db, id).await?;
    ensure_may_change(state, me, client, iteration.unit_id, None, "iteration", id).await?;
    Ok(iteration)
}

/// `GET /iterations/{id}/edit`
pub async fn get_edit_iteration(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let iteration = iteration_to_change(&state, &me, &client, id).await?;
    let form = IterationForm::from(&iteration);
    let page = form_page(
        &state,
        &me,
        iteration.unit_id,
        Some(id),
        form,
        FormErrors::default(),
    )
    .await?;
    Ok(page.into_response())
}

/// `POST /iterations/{id}`: dates, goal and epics; a stale version is answered with both
/// versions side by side and the typing kept.
pub async fn post_iteration_update(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let iteration = iteration_to_change(&state, &me, &client, id).await?;
    let unit = iteration.unit_id;
    let form = IterationForm::from_pairs(pairs);
    let offered = epic_options(&state.db, unit, &iteration.epic_ids).await?;
    let valid = match form.parse(&offered) {
        Ok(valid) => valid,
        Err(errors) => return refused(&state, &me, unit, Some(id), form, errors).await,
    };
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE iterations SET name = $3, starts_on = $4, ends_on = $5, goal = $6, version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&valid.name)
    .bind(valid.starts_on)
    .bind(valid.ends_on)
    .bind(&valid.goal)
    .execute(&mut *tx)
    .await;
    let saved = match updated {
        Ok(done) if done.rows_affected() == 0 => {
            drop(tx);
            let current = load_iteration(&state.db, id).await?;
            let changes = page::changed_fields(&[
                ("Name", current.name.clone(), form.name.trim().to_string()),
                (
                    "First day",
                    current.starts_on.to_string(),
                    form.starts_on.trim().to_string(),
                ),
                (
                    "Last day",
                    current.ends_on.to_string(),
                    form.ends_on.trim().to_string(),
                ),
                ("Goal", current.goal.clone(), form.goal.trim().to_string()),
            ]);
            let form = IterationForm {
                version: current.version.to_string(),
                ..form
            };
            let mut page =
                form_page(&state, &me, unit, Some(id), form, FormErrors::default()).await?;
            page.changes = changes;
            return Ok((CONFLICT, page).into_response());
        }
        Ok(_) => save_epics(&mut tx, id, &valid.epics).await,
        Err(err) => Err(err),
    };
    if let Err(err) = saved {
        let Some((field, message)) = constraint_error(&err) else {
            return Err(err.into());
        };
        drop(tx);
        let mut errors = FormErrors::default();
        errors.add(field, message);
        return refused(&state, &me, unit, Some(id), form, errors).await;
    }
    Entry::new("iteration_updated")
        .actor(Some(me.id))
        .entity("iteration", id)
        .before(json!({ "name": iteration.name, "starts_on": iteration.starts_on, "ends_on": iteration.ends_on,
                        "goal": iteration.goal, "epics": iteration.epic_ids }))
        .after(valid.to_json())
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/iterations/{id}"),
        "Iteration saved",
    ))
}

/// `POST /iterations/{id}/review`: at the end of the iteration, whether its goal was met,
/// with a note; may be revised later.
pub async fn post_review(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<ReviewForm>,
) -> Result<Response> {
    let iteration = iteration_to_change(&state, &me, &client, id).await?;
    let today = me.today(&state.clock);
    let mut errors = FormErrors::default();
    if !iteration.may_review_on(today) {
        errors.add(
            "review",
            format!(
                "The review comes at the end: on {} or later",
                iteration.ends()
            ),
        );
    }
    let review = check(&mut errors, "review", GoalReview::parse(&form.review));
    let note = form.note.trim().to_string();
    if note.is_empty() {
        errors.add(
            "note",
            "Say in a sentence or two why: what moved the result, what got in the way",
        );
    } else if note.chars().count() > 5_000 {
        errors.add("note", "The note must be 5000 characters or fewer");
    }
    let Some(review) = review.filter(|_| errors.is_empty()) else {
        let page = iteration_page(&state, &me, id, Some(form), errors, Flash::default()).await?;
        return Ok((INVALID, page).into_response());
    };
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query(
        "UPDATE iterations SET review = $3, review_note = $4, reviewed_at = $5, reviewed_by = $6,
                version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(review.as_str())
    .bind(&note)
    .bind(now)
    .bind(me.id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        drop(tx);
        let mut errors = FormErrors::default();
        errors.add(
            "review",
            "Someone changed this iteration meanwhile: check the review shown now, then save yours again",
        );
        let form = ReviewForm {
            version: load_iteration(&state.db, id).await?.version.to_string(),
            ..form
        };
        let page = iteration_page(&state, &me, id, Some(form), errors, Flash::default()).await?;
        return Ok((CONFLICT, page).into_response());
    }
    Entry::new("iteration_reviewed")
        .actor(Some(me.id))
        .entity("iteration", id)
        .before(json!({ "review": iteration.review, "note": iteration.review_note }))
        .after(json!({ "review": review.as_str(), "note": note }))
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/iterations/{id}"),
        &format!("Review saved: goal {}", review.label().to_lowercase()),
    ))
}

/// An iteration as the unit page lists it.
#[derive(Debug, sqlx::FromRow)]
pub struct IterationRow {
    pub id: Uuid,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub goal: String,
    pub review: Option<String>,
    /// Over all the unit's iterations, not only those listed.
    pub total: i64,
    pub reviewed: i64,
    pub met: i64,
    pub partly: i64,
}

impl IterationRow {
    pub fn dates(&self) -> String {
        format!(
            "{} – {}",
            human_date(self.starts_on),
            human_date(self.ends_on)
        )
    }

    pub fn review_label(&self) -> &str {
        self.review
            .as_deref()
            .map(GoalReview::label_of)
            .unwrap_or("Not reviewed yet")
    }
}

/// The unit's latest iterations with the counts of goals met over all of them; one
/// statement.
pub async fn latest_iterations(db: &crate::db::Db, unit: Uuid) -> sqlx::Result<Vec<IterationRow>> {
    sqlx::query_as(
        "SELECT id, name, starts_on, ends_on, goal, review,
                count(*) OVER () AS total, count(review) OVER () AS reviewed,
                count(*) FILTER (WHERE review = 'met') OVER () AS met,
                count(*) FILTER (WHERE review = 'partly') OVER () AS partly
           FROM iterations WHERE org_unit_id = $1
          ORDER BY starts_on DESC LIMIT 12",
    )
    .bind(unit)
    .fetch_all(db)
    .await
}
