//! Creating and editing org units: name, kind, place in the tree, archived flag.

use askama::Template;
use askama_web::WebTemplate;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::http::error::violated_constraint;
use crate::http::page::{
    self, CONFLICT, ChangedField, Form, FormErrors, INVALID, Id, Layout, Query, Section, check,
};
use crate::http::{AppError, AppState, Result};
use crate::org::model::{UnitKind, optional_id, required_text};
use crate::org::{
    UnitInTree, insert_unit, is_within, lock_tree, move_subtree, units_in_tree_order,
};

/// The unit form as typed: every field a string, so nothing typed is ever lost.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UnitForm {
    name: String,
    kind: String,
    parent_id: String,
    archived: Option<String>,
    version: String,
}

/// A unit form that passed validation.
struct ValidUnit {
    name: String,
    kind: UnitKind,
    parent: Option<Uuid>,
    archived: bool,
}

impl ValidUnit {
    /// The audit log's view of the unit.
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "kind": self.kind.as_str(), "parent_id": self.parent, "archived": self.archived,
        })
    }
}

impl StoredUnit {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "kind": self.kind, "parent_id": self.parent_id, "archived": self.archived,
        })
    }
}

impl UnitForm {
    fn parse(&self) -> std::result::Result<ValidUnit, FormErrors> {
        let mut errors = FormErrors::default();
        let name = check(
            &mut errors,
            "name",
            required_text(&self.name, "a name", 120),
        );
        let kind = check(&mut errors, "kind", UnitKind::parse(&self.kind));
        let parent = check(
            &mut errors,
            "parent_id",
            optional_id(&self.parent_id, "Choose a unit from the list"),
        );
        match (name, kind, parent) {
            (Some(name), Some(kind), Some(parent)) if errors.is_empty() => Ok(ValidUnit {
                name,
                kind,
                parent,
                archived: self.archived.is_some(),
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "org/unit_form.html")]
pub struct UnitFormPage {
    layout: Layout,
    /// Set when editing.
    unit_id: Option<Uuid>,
    form: UnitForm,
    errors: FormErrors,
    changes: Vec<ChangedField>,
    kinds: Vec<(String, String)>,
    parents: Vec<(String, String)>,
}

impl UnitFormPage {
    /// The form page; when editing, the unit and its descendants are left out of the
    /// parent choices (a unit cannot move beneath itself).
    fn new(
        unit_id: Option<Uuid>,
        form: UnitForm,
        errors: FormErrors,
        units: &[UnitInTree],
        me: &Me,
    ) -> UnitFormPage {
        let kinds = UnitKind::options();
        let mut parents = Vec::new();
        let mut skip_below: Option<i32> = None;
        for unit in units {
            if let Some(depth) = skip_below {
                if unit.depth > depth {
                    continue;
                }
                skip_below = None;
            }
            if Some(unit.id) == unit_id {
                skip_below = Some(unit.depth);
                continue;
            }
            if !unit.archived {
                parents.push((unit.id.to_string(), unit.indented_name()));
            }
        }
        let title = if unit_id.is_some() {
            "Edit unit"
        } else {
            "Add a unit"
        };
        UnitFormPage {
            layout: Layout::new(title, Section::Organisation, me),
            unit_id,
            form,
            errors,
            changes: Vec::new(),
            kinds,
            parents,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct NewUnitQuery {
    parent: Option<String>,
}

/// `GET /org/units/new?parent=…`
pub async fn get_new_unit(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<NewUnitQuery>,
) -> Result<UnitFormPage> {
    let units = units_in_tree_order(&state.db, false).await?;
    let parent = query.parent.unwrap_or_default();
    // Beneath a division the next unit is most likely a team; at the top, the company.
    let parent_kind = units
        .iter()
        .find(|u| u.id.to_string() == parent)
        .map(|u| u.kind.as_str());
    let kind = match parent_kind {
        None if units.is_empty() => "company",
        Some("company") => "division",
        _ => "team",
    };
    let form = UnitForm {
        parent_id: parent,
        kind: kind.to_string(),
        ..UnitForm::default()
    };
    Ok(UnitFormPage::new(
        None,
        form,
        FormErrors::default(),
        &units,
        &me,
    ))
}

/// `POST /org/units`
pub async fn post_unit(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(form): Form<UnitForm>,
) -> Result<Response> {
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => return refuse(&state, &me, None, form, errors).await,
    };
    let mut tx = state.db.begin().await?;
    let mut errors = FormErrors::default();
    check_parent(&mut tx, valid.parent, &mut errors).await?;
    if !errors.is_empty() {
        return refuse(&state, &me, None, form, errors).await;
    }
    let id = Uuid::new_v4();
    match insert_unit(&mut tx, id, valid.parent, &valid.name, valid.kind).await {
        Ok(()) => {}
        Err(err) if violated_constraint(&err) == Some("org_units_sibling_name_key") => {
            errors.add(
                "name",
                format!("There is already a unit called “{}” there", valid.name),
            );
            return refuse(&state, &me, None, form, errors).await;
        }
        Err(err) => return Err(err.into()),
    }
    Entry::new("unit_created")
        .actor(Some(me.id))
        .entity("org_unit", id)
        .after(valid.to_json())
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/org/units/{id}"),
        &format!("{} created", valid.name),
    ))
}

/// The stored unit as the edit form shows it.
#[derive(Debug, sqlx::FromRow)]
struct StoredUnit {
    name: String,
    kind: String,
    parent_id: Option<Uuid>,
    parent_name: Option<String>,
    archived: bool,
    version: i32,
}

async fn stored_unit(db: &mut PgConnection, id: Uuid) -> Result<StoredUnit> {
    let unit = sqlx::query_as(
        "SELECT u.name, u.kind, u.parent_id, p.name AS parent_name, u.archived_at IS NOT NULL AS archived, u.version
           FROM org_units u LEFT JOIN org_units p ON p.id = u.parent_id
          WHERE u.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    unit.ok_or(AppError::NotFound)
}

impl From<StoredUnit> for UnitForm {
    fn from(unit: StoredUnit) -> UnitForm {
        UnitForm {
            name: unit.name,
            kind: unit.kind,
            parent_id: unit.parent_id.map(|id| id.to_string()).unwrap_or_default(),
            archived: unit.archived.then(|| "on".to_string()),
            version: unit.version.to_string(),
        }
    }
}

/// `GET /org/units/{id}/edit`
pub async fn get_edit_unit(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
) -> Result<UnitFormPage> {
    let mut conn = state.db.acquire().await?;
    let unit = stored_unit(&mut conn, id).await?;
    let units = units_in_tree_order(&mut *conn, false).await?;
    Ok(UnitFormPage::new(
        Some(id),
        unit.into(),
        FormErrors::default(),
        &units,
        &me,
    ))
}

/// `POST /org/units/{id}`: saves the edit form; moving the unit moves everything beneath it.
pub async fn post_unit_update(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<UnitForm>,
) -> Result<Response> {
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => return refuse(&state, &me, Some(id), form, errors).await,
    };
    let mut tx = state.db.begin().await?;
    lock_tree(&mut tx).await?;
    let stored = stored_unit(&mut tx, id).await?;
    let mut errors = FormErrors::default();
    let moved = stored.parent_id != valid.parent;
    if moved {
        if let Some(parent) = valid.parent
            && is_within(&mut tx, id, parent).await?
        {
            errors.add(
                "parent_id",
                "A unit cannot move beneath itself or one of its own units",
            );
        }
        check_parent(&mut tx, valid.parent, &mut errors).await?;
    }
    if !errors.is_empty() {
        return refuse(&state, &me, Some(id), form, errors).await;
    }
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    let updated = sqlx::query(
        "UPDATE org_units
            SET name = $3, kind = $4, parent_id = $5,
                archived_at = CASE WHEN $6 THEN coalesce(archived_at, now()) END,
                version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&valid.name)
    .bind(valid.kind.as_str())
    .bind(valid.parent)
    .bind(valid.archived)
    .execute(&mut *tx)
    .await;
    match updated {
        Ok(done) if done.rows_affected() == 0 => {
            drop(tx);
            return conflict(&state, &me, id, form).await;
        }
        Ok(_) => {}
        Err(err) if violated_constraint(&err) == Some("org_units_sibling_name_key") => {
            errors.add(
                "name",
                format!("There is already a unit called “{}” there", valid.name),
            );
            return refuse(&state, &me, Some(id), form, errors).await;
        }
        Err(err) => return Err(err.into()),
    }
    if moved {
        move_subtree(&mut tx, id, valid.parent).await?;
    }
    Entry::new("unit_updated")
        .actor(Some(me.id))
        .entity("org_unit", id)
        .before(stored.to_json())
        .after(valid.to_json())
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/org/units/{id}"),
        &format!("{} saved", valid.name),
    ))
}

/// A new unit's parent must exist and not be archived.
async fn check_parent(
    tx: &mut PgConnection,
    parent: Option<Uuid>,
    errors: &mut FormErrors,
) -> Result<()> {
    let Some(parent) = parent else { return Ok(()) };
    let archived: Option<bool> =
        sqlx::query_scalar("SELECT archived_at IS NOT NULL FROM org_units WHERE id = $1")
            .bind(parent)
            .fetch_optional(&mut *tx)
            .await?;
    match archived {
        None => errors.add("parent_id", "That unit no longer exists: choose another"),
        Some(true) => errors.add(
            "parent_id",
            "That unit is archived: choose another, or restore it first",
        ),
        Some(false) => {}
    }
    Ok(())
}

async fn refuse(
    state: &AppState,
    me: &Me,
    id: Option<Uuid>,
    form: UnitForm,
    errors: FormErrors,
) -> Result<Response> {
    let units = units_in_tree_order(&state.db, false).await?;
    Ok((INVALID, UnitFormPage::new(id, form, errors, &units, me)).into_response())
}

/// 409: someone saved the unit since this form was loaded. Shows both, keeps the typing,
/// and takes the new version so saving again is a deliberate choice.
async fn conflict(state: &AppState, me: &Me, id: Uuid, form: UnitForm) -> Result<Response> {
    let mut conn = state.db.acquire().await?;
    let current = stored_unit(&mut conn, id).await?;
    let units = units_in_tree_order(&mut *conn, false).await?;
    let parent_name = |parent_id: &str| {
        units
            .iter()
            .find(|u| u.id.to_string() == parent_id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| "(top level)".into())
    };
    let yes_no = |b: bool| if b { "Yes" } else { "No" }.to_string();
    let changes = page::changed_fields(&[
        ("Name", current.name.clone(), form.name.trim().to_string()),
        (
            "Kind",
            UnitKind::label_of(&current.kind).into(),
            UnitKind::label_of(&form.kind).into(),
        ),
        (
            "Part of",
            current
                .parent_name
                .clone()
                .unwrap_or_else(|| "(top level)".into()),
            parent_name(&form.parent_id),
        ),
        (
            "Archived",
            yes_no(current.archived),
            yes_no(form.archived.is_some()),
        ),
    ]);
    let form = UnitForm {
        version: current.version.to_string(),
        ..form
    };
    let mut page = UnitFormPage::new(Some(id), form, FormErrors::default(), &units, me);
    page.changes = changes;
    Ok((CONFLICT, page).into_response())
}
