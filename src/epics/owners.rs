//! Ownership: every initiative, epic and outcome has one accountable active owner. Reassigning is one
//! action from the record's page; everything a person owns can be handed over at once from
//! their page; `/needs-owner` lists what has no owner or an inactive one, by unit.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::epics::pages::epic_to_change;
use crate::http::page::{self, Flash, Form, FormErrors, INVALID, Id, Layout, Query, Section};
use crate::http::{AppError, AppState, Result};
use crate::initiatives::pages::initiative_to_change;
use crate::outcomes::parent::parent_to_change;
use crate::people::model::Email;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OwnerForm {
    owner_email: String,
}

/// The active person with this email, or the message saying what is wrong.
async fn active_person(
    state: &AppState,
    email: &str,
) -> Result<std::result::Result<(Uuid, String), String>> {
    let email = match Email::parse(email) {
        Ok(email) => email,
        Err(message) => return Ok(Err(message)),
    };
    let found: Option<(Uuid, String, bool)> =
        sqlx::query_as("SELECT id, name, active FROM people WHERE lower(email) = lower($1)")
            .bind(email.as_str())
            .fetch_optional(&state.db)
            .await?;
    Ok(match found {
        Some((id, name, true)) => Ok((id, name)),
        Some((_, name, false)) => Err(format!("{name} is inactive: choose an active owner")),
        None => Err("Nobody has this email".to_string()),
    })
}

/// A record with one accountable owner.
#[derive(Clone, Copy)]
enum Owned {
    Initiative,
    Epic,
    Outcome,
}

impl Owned {
    fn name(self) -> &'static str {
        match self {
            Owned::Initiative => "initiative",
            Owned::Epic => "epic",
            Owned::Outcome => "outcome",
        }
    }
}

/// The reassignment form on its own page, when what was typed is refused: the email is
/// kept and the reason shown beside it.
#[derive(Template, WebTemplate)]
#[template(path = "epics/reassign.html")]
pub struct ReassignPage {
    layout: Layout,
    /// Where the form posts, and the page it came from.
    action: String,
    back: String,
    /// "the epic “Search refactor”", "everything Sam Porter owns"
    what: String,
    owner_email: String,
    errors: FormErrors,
}

fn refused(
    me: &Me,
    action: String,
    back: String,
    what: String,
    email: &str,
    message: String,
) -> Response {
    let mut errors = FormErrors::default();
    errors.add("owner_email", message);
    let page = ReassignPage {
        layout: Layout::new("Reassign owner", Section::Epics, me),
        action,
        back,
        what,
        owner_email: email.to_string(),
        errors,
    };
    (INVALID, page).into_response()
}

/// Gives the record the active person with the typed email as its owner (audited, in one
/// transaction), and returns to its page saying what happened.
#[allow(clippy::too_many_arguments)]
async fn set_owner(
    state: &AppState,
    me: &Me,
    client: &str,
    record: Owned,
    id: Uuid,
    title: &str,
    before: Option<Uuid>,
    email: &str,
) -> Result<Response> {
    let page = format!("/{}s/{id}", record.name());
    let (owner, name) = match active_person(state, email).await? {
        Ok(person) => person,
        Err(message) => {
            let what = format!("the {} “{title}”", record.name());
            return Ok(refused(
                me,
                format!("{page}/owner"),
                page,
                what,
                email,
                message,
            ));
        }
    };
    let sql = match record {
        Owned::Initiative => {
            "UPDATE initiatives SET owner_id = $2, version = version + 1, updated_at = now() WHERE id = $1"
        }
        Owned::Epic => {
            "UPDATE epics SET owner_id = $2, version = version + 1, updated_at = now() WHERE id = $1"
        }
        Owned::Outcome => {
            "UPDATE outcomes SET owner_id = $2, version = version + 1, updated_at = now() WHERE id = $1"
        }
    };
    let mut tx = state.db.begin().await?;
    sqlx::query(sql)
        .bind(id)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
    Entry::new("owner_reassigned")
        .actor(Some(me.id))
        .entity(record.name(), id)
        .before(json!({ "owner_id": before }))
        .after(json!({ "owner_id": owner }))
        .client(client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &page,
        &format!("{name} now owns this {}", record.name()),
    ))
}

/// `POST /epics/{id}/owner`
pub async fn post_epic_owner(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<OwnerForm>,
) -> Result<Response> {
    let epic = epic_to_change(&state, &me, &client, id, "epic", id).await?;
    set_owner(
        &state,
        &me,
        &client,
        Owned::Epic,
        id,
        &epic.title,
        epic.owner_id,
        &form.owner_email,
    )
    .await
}

/// `POST /initiatives/{id}/owner`
pub async fn post_initiative_owner(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<OwnerForm>,
) -> Result<Response> {
    let initiative = initiative_to_change(&state, &me, &client, id).await?;
    set_owner(
        &state,
        &me,
        &client,
        Owned::Initiative,
        id,
        &initiative.title,
        initiative.owner_id,
        &form.owner_email,
    )
    .await
}

/// `POST /outcomes/{id}/owner`
pub async fn post_outcome_owner(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<OwnerForm>,
) -> Result<Response> {
    let (epic, initiative, before, metric): (Option<Uuid>, Option<Uuid>, Option<Uuid>, String) =
        sqlx::query_as(
            "SELECT epic_id, initiative_id, owner_id, metric FROM outcomes WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    parent_to_change(&state, &me, &client, epic, initiative, "outcome", id).await?;
    set_owner(
        &state,
        &me,
        &client,
        Owned::Outcome,
        id,
        &metric,
        before,
        &form.owner_email,
    )
    .await
}

/// `POST /people/{id}/reassign`: hands everything the person owns to someone else.
pub async fn post_reassign_all(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<OwnerForm>,
) -> Result<Response> {
    let (owner, name) = match active_person(&state, &form.owner_email).await? {
        Ok(person) => person,
        Err(message) => {
            let person: String = sqlx::query_scalar("SELECT name FROM people WHERE id = $1")
                .bind(id)
                .fetch_optional(&state.db)
                .await?
                .ok_or(AppError::NotFound)?;
            let back = format!("/people/{id}");
            let what = format!("everything {person} owns");
            return Ok(refused(
                &me,
                format!("{back}/reassign"),
                back,
                what,
                &form.owner_email,
                message,
            ));
        }
    };
    let mut tx = state.db.begin().await?;
    let mut handed = serde_json::Map::new();
    let mut count = 0;
    for table in [
        "initiatives",
        "epics",
        "outcomes",
        "objectives",
        "key_results",
    ] {
        let ids: Vec<Uuid> = sqlx::query_scalar(&format!(
            "UPDATE {table} SET owner_id = $2, version = version + 1, updated_at = now() WHERE owner_id = $1 RETURNING id"
        ))
        .bind(id)
        .bind(owner)
        .fetch_all(&mut *tx)
        .await?;
        count += ids.len();
        handed.insert(table.to_string(), json!(ids));
    }
    handed.insert("owner_id".to_string(), json!(owner));
    Entry::new("owner_reassigned")
        .actor(Some(me.id))
        .entity("person", id)
        .before(json!({ "owner_id": id }))
        .after(serde_json::Value::Object(handed))
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/people/{id}"),
        &format!("{count} records now owned by {name}"),
    ))
}

/// A record that needs an owner.
#[derive(Debug, sqlx::FromRow)]
pub struct Unowned {
    pub kind: String,
    pub id: Uuid,
    pub title: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub owner_name: Option<String>,
}

impl Unowned {
    pub fn href(&self) -> String {
        crate::http::page::record_href(&self.kind, self.id)
    }

    pub fn kind_label(&self) -> &'static str {
        match self.kind.as_str() {
            "initiative" => "Initiative",
            "epic" => "Epic",
            "objective" => "Objective",
            "key_result" => "Key result",
            _ => "Outcome",
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "epics/needs_owner.html")]
pub struct NeedsOwnerPage {
    layout: Layout,
    records: Vec<Unowned>,
    units: crate::org::UnitFilter,
    unit: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UnitQuery {
    unit: String,
}

/// `GET /needs-owner?unit=`: open epics and their outcomes whose owner is missing or
/// inactive, by unit (cancelled and closed work needs nobody).
pub async fn get_needs_owner(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<UnitQuery>,
    flash: Flash,
) -> Result<NeedsOwnerPage> {
    let unit = Uuid::parse_str(query.unit.trim()).ok();
    let records = sqlx::query_as(
        "SELECT * FROM (
            SELECT 'initiative' AS kind, i.id, i.title, u.id AS unit_id, u.name AS unit_name, p.name AS owner_name
              FROM initiatives i JOIN org_units u ON u.id = i.org_unit_id LEFT JOIN people p ON p.id = i.owner_id
             WHERE i.status NOT IN ('cancelled', 'done') AND (p.id IS NULL OR NOT p.active)
            UNION ALL
            SELECT 'epic' AS kind, e.id, e.title, u.id AS unit_id, u.name AS unit_name, p.name AS owner_name
              FROM epics e JOIN org_units u ON u.id = e.team_id LEFT JOIN people p ON p.id = e.owner_id
             WHERE e.status NOT IN ('cancelled', 'closed') AND (p.id IS NULL OR NOT p.active)
            UNION ALL
            SELECT 'outcome', o.id, o.metric || ' (' || e.title || ')', u.id, u.name, p.name
              FROM outcomes o JOIN epics e ON e.id = o.epic_id JOIN org_units u ON u.id = e.team_id
              LEFT JOIN people p ON p.id = o.owner_id
             WHERE e.status NOT IN ('cancelled', 'closed') AND (p.id IS NULL OR NOT p.active)
            UNION ALL
            -- An initiative's outcomes are measured after it is done: they need an owner until
            -- the initiative is cancelled.
            SELECT 'outcome', o.id, o.metric || ' (' || i.title || ')', u.id, u.name, p.name
              FROM outcomes o JOIN initiatives i ON i.id = o.initiative_id JOIN org_units u ON u.id = i.org_unit_id
              LEFT JOIN people p ON p.id = o.owner_id
             WHERE i.status <> 'cancelled' AND (p.id IS NULL OR NOT p.active)
            UNION ALL
            -- Objectives and key results of periods still open.
            SELECT 'objective', ob.id, ob.title, u.id, u.name, p.name
              FROM objectives ob JOIN org_units u ON u.id = ob.org_unit_id JOIN periods pe ON pe.id = ob.period_id
              LEFT JOIN people p ON p.id = ob.owner_id
             WHERE pe.closed_at IS NULL AND ob.status <> 'closed' AND (p.id IS NULL OR NOT p.active)
            UNION ALL
            SELECT 'key_result', k.id, k.title, u.id, u.name, p.name
              FROM key_results k JOIN objectives ob ON ob.id = k.objective_id JOIN org_units u ON u.id = ob.org_unit_id
              JOIN periods pe ON pe.id = ob.period_id LEFT JOIN people p ON p.id = k.owner_id
             WHERE pe.closed_at IS NULL AND ob.status <> 'closed' AND (p.id IS NULL OR NOT p.active)
         ) r
         WHERE $1::uuid IS NULL OR r.unit_id IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1)
         ORDER BY r.unit_name, r.kind, r.title",
    )
    .bind(unit)
    .fetch_all(&state.db)
    .await?;
    let units = crate::org::UnitFilter::load(&state, unit, &me).await?;
    let layout = Layout::new("Needs an owner", Section::Epics, &me).with_flash(flash);
    Ok(NeedsOwnerPage {
        layout,
        records,
        units,
        unit: query.unit,
    })
}
