//! `GET /org/units/{id}`: one unit with its place in the tree, its sub-units and its people;
//! adding and removing members.

use askama::Template;
use askama_web::WebTemplate;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::{Me, may_change_record};
use crate::http::page::{self, Flash, Form, FormErrors, INVALID, Id, Layout, Section, check};
use crate::http::{AppError, AppState, Result};
use crate::org::model::{MemberRole, UnitKind};
use crate::org::save_membership;
use crate::people::model::Email;
use crate::planning::iterations::{IterationRow, latest_iterations};

#[derive(Debug, sqlx::FromRow)]
pub struct Unit {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub archived: bool,
}

impl Unit {
    pub fn kind_label(&self) -> &str {
        UnitKind::label_of(&self.kind)
    }
}

/// An ancestor (breadcrumbs) or a child of the unit.
#[derive(Debug, sqlx::FromRow)]
pub struct Related {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub archived: bool,
    /// Ancestors only: how far above the unit; children: 1.
    pub depth: i32,
}

impl Related {
    pub fn kind_label(&self) -> &str {
        UnitKind::label_of(&self.kind)
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct Member {
    pub person_id: Uuid,
    pub name: String,
    pub title: String,
    pub active: bool,
    pub role: String,
}

impl Member {
    pub fn role_label(&self) -> &str {
        MemberRole::label_of(&self.role)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MemberForm {
    email: String,
    role: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "org/unit.html")]
pub struct UnitPage {
    layout: Layout,
    unit: Unit,
    ancestors: Vec<Related>,
    children: Vec<Related>,
    members: Vec<Member>,
    form: MemberForm,
    errors: FormErrors,
    roles: Vec<(String, String)>,
    iterations: Vec<IterationRow>,
    may_plan: bool,
}

impl UnitPage {
    /// "3 of 5 reviewed goals met, 1 partly" over all the unit's iterations.
    fn goals_met(&self) -> Option<String> {
        let first = self.iterations.first()?;
        if first.reviewed == 0 {
            return None;
        }
        let partly = if first.partly > 0 {
            format!(", {} partly", first.partly)
        } else {
            String::new()
        };
        Some(format!(
            "{} of {} reviewed {} met{partly}",
            first.met,
            first.reviewed,
            if first.reviewed == 1 { "goal" } else { "goals" }
        ))
    }
}

async fn unit_page(
    state: &AppState,
    me: &Me,
    id: Uuid,
    form: MemberForm,
    errors: FormErrors,
    flash: Flash,
) -> Result<UnitPage> {
    let unit: Unit = sqlx::query_as(
        "SELECT id, name, kind, archived_at IS NOT NULL AS archived FROM org_units WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(AppError::NotFound)?;
    // Ancestors (depth > 0) and children (parent = unit) in one statement.
    let related: Vec<Related> = sqlx::query_as(
        "SELECT u.id, u.name, u.kind, u.archived_at IS NOT NULL AS archived, t.depth
           FROM org_unit_tree t JOIN org_units u ON u.id = t.ancestor_id
          WHERE t.descendant_id = $1 AND t.depth > 0
         UNION ALL
         SELECT u.id, u.name, u.kind, u.archived_at IS NOT NULL, -1
           FROM org_units u WHERE u.parent_id = $1
         ORDER BY 5 DESC, 2",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    let (ancestors, children) = related.into_iter().partition(|r| r.depth > 0);
    let members = sqlx::query_as(
        "SELECT p.id AS person_id, p.name, p.title, p.active, m.role
           FROM memberships m JOIN people p ON p.id = m.person_id
          WHERE m.org_unit_id = $1
          ORDER BY array_position(ARRAY['leader', 'product_manager', 'tech_lead', 'engineer', 'other'], m.role), lower(p.name)",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    let roles = MemberRole::options();
    let iterations = latest_iterations(&state.db, id).await?;
    let may_plan = may_change_record(&state.db, me, id, None).await?;
    let layout =
        Layout::new(format!("Unit · {}", unit.name), Section::Organisation, me).with_flash(flash);
    Ok(UnitPage {
        layout,
        unit,
        ancestors,
        children,
        members,
        form,
        errors,
        roles,
        iterations,
        may_plan,
    })
}

/// `GET /org/units/{id}`
pub async fn get_unit(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    flash: Flash,
) -> Result<UnitPage> {
    let form = MemberForm {
        role: MemberRole::Engineer.as_str().into(),
        ..MemberForm::default()
    };
    unit_page(&state, &me, id, form, FormErrors::default(), flash).await
}

/// `POST /org/units/{id}/members`: adds a person, found by email, with a role (or changes
/// the role of someone already there). Email scales where a list of everyone would not.
pub async fn post_member(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<MemberForm>,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let email = check(&mut errors, "email", Email::parse(&form.email));
    let role = check(&mut errors, "role", MemberRole::parse(&form.role));
    let person: Option<(Uuid, String)> = match &email {
        Some(email) => {
            sqlx::query_as("SELECT id, name FROM people WHERE lower(email) = lower($1)")
                .bind(email.as_str())
                .fetch_optional(&state.db)
                .await?
        }
        None => None,
    };
    if email.is_some() && person.is_none() {
        errors.add(
            "email",
            "Nobody has this email yet: add the person first, then add them here",
        );
    }
    let (Some((person_id, name)), Some(role), true) = (person, role, errors.is_empty()) else {
        return Ok((
            INVALID,
            unit_page(&state, &me, id, form, errors, Flash::default()).await?,
        )
            .into_response());
    };
    match save_membership(
        &state.db,
        &me,
        &client,
        state.clock.now(),
        id,
        person_id,
        role,
    )
    .await
    {
        Ok(()) => {}
        // The unit was deleted meanwhile.
        Err(err)
            if crate::http::error::violated_constraint(&err)
                == Some("memberships_org_unit_id_fkey") =>
        {
            return Err(AppError::NotFound);
        }
        Err(err) => return Err(err.into()),
    }
    Ok(page::see_other(
        &format!("/org/units/{id}"),
        &format!("{name} added as {}", role.label().to_lowercase()),
    ))
}

/// `POST /org/units/{id}/members/{person_id}/remove`
pub async fn post_remove_member(
    State(state): State<AppState>,
    me: Me,
    Id((id, person_id)): Id<(Uuid, Uuid)>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let mut tx = state.db.begin().await?;
    let removed: Option<(String, String)> = sqlx::query_as(
        "DELETE FROM memberships m USING people p
          WHERE m.org_unit_id = $1 AND m.person_id = $2 AND p.id = m.person_id
         RETURNING p.name, m.role",
    )
    .bind(id)
    .bind(person_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((_, role)) = &removed {
        Entry::new("membership_removed")
            .actor(Some(me.id))
            .entity("org_unit", id)
            .before(serde_json::json!({ "person_id": person_id, "role": role }))
            .client(&client)
            .write(&mut *tx, state.clock.now())
            .await?;
    }
    tx.commit().await?;
    let removed = removed.map(|(name, _)| name);
    let name = removed.ok_or(AppError::NotFound)?;
    Ok(page::see_other(
        &format!("/org/units/{id}"),
        &format!("{name} removed from this unit"),
    ))
}
