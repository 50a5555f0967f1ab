//! People pages: the searchable list, a person's page with their units, and the form.

use askama::Template;
use askama_web::WebTemplate;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::{AccountRole, Me};
use crate::http::error::violated_constraint;
use crate::http::page::{
    self, CONFLICT, ChangedField, Flash, Form, FormErrors, INVALID, Id, Layout, Query, Section,
    check,
};
use crate::http::{AppError, AppState, Result};
use crate::org::model::{MemberRole, optional_id, required_text};
use crate::org::save_membership;
use crate::people::model::Email;

/// How many people a list page shows.
const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct PeopleQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    after: String,
}

#[derive(Debug, sqlx::FromRow)]
pub struct PersonRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub title: String,
    pub active: bool,
    pub units: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "people/list.html")]
pub struct PeoplePage {
    layout: Layout,
    query: PeopleQuery,
    units: crate::org::UnitFilter,
    people: Vec<PersonRow>,
    next: Option<String>,
}

impl PeoplePage {
    /// The CSV of every person the filters match.
    fn csv_href(&self) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &self.query.q)
            .append_pair("unit", &self.query.unit)
            .finish();
        format!("/people/csv?{query}")
    }

    /// The address of the next page, keeping the filters.
    fn next_href(&self, after: &str) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &self.query.q)
            .append_pair("unit", &self.query.unit)
            .append_pair("after", after)
            .finish();
        format!("/people?{query}")
    }
}

/// Escapes LIKE wildcards so a search for "50%" finds "50%".
pub fn like_pattern(text: &str) -> String {
    // A NUL cannot be in stored text, so it matches nothing: searching ignores it.
    let escaped = text
        .trim()
        .replace('\0', "")
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The people the filters match, by name, after the `after` cursor: at most `limit`.
async fn find(db: &crate::db::Db, query: &PeopleQuery, limit: i64) -> sqlx::Result<Vec<PersonRow>> {
    // A malformed id in the URL filters nothing rather than failing the page.
    let unit = Uuid::parse_str(query.unit.trim()).ok();
    let after = Uuid::parse_str(query.after.trim()).ok();
    let q = (!query.q.trim().is_empty()).then(|| like_pattern(&query.q));
    sqlx::query_as(
        "SELECT p.id, p.name, p.email, p.title, p.active,
                (SELECT string_agg(u.name, ', ' ORDER BY lower(u.name))
                   FROM memberships m JOIN org_units u ON u.id = m.org_unit_id
                  WHERE m.person_id = p.id) AS units
           FROM people p
          WHERE ($1::text IS NULL OR p.name ILIKE $1 OR p.email ILIKE $1 OR p.title ILIKE $1)
            AND ($2::uuid IS NULL OR EXISTS (
                    SELECT 1 FROM memberships m JOIN org_unit_tree t ON t.descendant_id = m.org_unit_id
                     WHERE m.person_id = p.id AND t.ancestor_id = $2))
            AND ($3::uuid IS NULL OR (lower(p.name), p.id) > (SELECT lower(name), id FROM people WHERE id = $3))
          ORDER BY lower(p.name), p.id
          LIMIT $4",
    )
    .bind(q)
    .bind(unit)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// `GET /people/csv?q=&unit=`: every person the filters match (at most `csv::MAX_ROWS`).
pub async fn get_people_csv(
    State(state): State<AppState>,
    Query(mut query): Query<PeopleQuery>,
) -> Result<axum::response::Response> {
    query.after.clear();
    let people = find(&state.db, &query, crate::http::csv::MAX_ROWS).await?;
    let head = ["ID", "Name", "Email", "Title", "Active", "Units"];
    let rows = people.into_iter().map(|p| {
        vec![
            p.id.to_string(),
            p.name,
            p.email,
            p.title,
            if p.active { "yes" } else { "no" }.to_string(),
            p.units.unwrap_or_default(),
        ]
    });
    crate::http::csv::download("people", &head, rows)
}

/// `GET /people?q=&unit=&after=`: everyone, by name, 50 at a time (keyset pagination).
pub async fn get_people(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<PeopleQuery>,
    flash: Flash,
) -> Result<PeoplePage> {
    let mut people = find(&state.db, &query, PAGE_SIZE + 1).await?;
    let next = crate::http::page::next_page(&mut people, PAGE_SIZE, |p| p.id.to_string());
    let units =
        crate::org::UnitFilter::load(&state, Uuid::parse_str(query.unit.trim()).ok(), &me).await?;
    let layout = Layout::new("People", Section::Organisation, &me).with_flash(flash);
    Ok(PeoplePage {
        layout,
        query,
        units,
        people,
        next,
    })
}

/// The person form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PersonForm {
    name: String,
    email: String,
    title: String,
    active: Option<String>,
    version: String,
}

struct ValidPerson {
    name: String,
    email: Email,
    title: String,
}

impl ValidPerson {
    /// The audit log's view of the person.
    fn to_json(&self, active: bool) -> serde_json::Value {
        serde_json::json!({ "name": self.name, "email": self.email.as_str(), "title": self.title, "active": active })
    }
}

impl PersonForm {
    fn parse(&self) -> std::result::Result<ValidPerson, FormErrors> {
        let mut errors = FormErrors::default();
        let name = check(
            &mut errors,
            "name",
            required_text(&self.name, "a name", 120),
        );
        let email = check(&mut errors, "email", Email::parse(&self.email));
        let title = self.title.trim();
        if title.chars().count() > 120 {
            errors.add("title", "Title must be 120 characters or fewer");
        }
        match (name, email) {
            (Some(name), Some(email)) if errors.is_empty() => Ok(ValidPerson {
                name,
                email,
                title: title.to_string(),
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "people/form.html")]
pub struct PersonFormPage {
    layout: Layout,
    person_id: Option<Uuid>,
    form: PersonForm,
    errors: FormErrors,
    changes: Vec<ChangedField>,
}

impl PersonFormPage {
    fn new(
        me: &Me,
        person_id: Option<Uuid>,
        form: PersonForm,
        errors: FormErrors,
    ) -> PersonFormPage {
        let title = if person_id.is_some() {
            "Edit person"
        } else {
            "Add a person"
        };
        PersonFormPage {
            layout: Layout::new(title, Section::Organisation, me),
            person_id,
            form,
            errors,
            changes: Vec::new(),
        }
    }
}

/// `GET /people/new`
pub async fn get_new_person(me: Me) -> PersonFormPage {
    PersonFormPage::new(&me, None, PersonForm::default(), FormErrors::default())
}

/// Turns a duplicate email into a message on the email field.
async fn duplicate_email(state: &AppState, email: &Email, errors: &mut FormErrors) -> Result<()> {
    let other: Option<String> =
        sqlx::query_scalar("SELECT name FROM people WHERE lower(email) = lower($1)")
            .bind(email.as_str())
            .fetch_optional(&state.db)
            .await?;
    let who = other.unwrap_or_else(|| "Someone".into());
    errors.add(
        "email",
        format!(
            "{who} already has this email address (emails are compared without regard to case)"
        ),
    );
    Ok(())
}

/// `POST /people`
pub async fn post_person(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(form): Form<PersonForm>,
) -> Result<Response> {
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => {
            return Ok((INVALID, PersonFormPage::new(&me, None, form, errors)).into_response());
        }
    };
    let id = Uuid::new_v4();
    let mut tx = state.db.begin().await?;
    let inserted =
        sqlx::query("INSERT INTO people (id, name, email, title) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(&valid.name)
            .bind(valid.email.as_str())
            .bind(&valid.title)
            .execute(&mut *tx)
            .await;
    if inserted.is_ok() {
        Entry::new("person_created")
            .actor(Some(me.id))
            .entity("person", id)
            .after(valid.to_json(true))
            .client(&client)
            .write(&mut *tx, state.clock.now())
            .await?;
        tx.commit().await?;
    }
    match inserted {
        Ok(_) => Ok(page::see_other(
            &format!("/people/{id}"),
            &format!("{} added", valid.name),
        )),
        Err(err) if violated_constraint(&err) == Some("people_email_key") => {
            let mut errors = FormErrors::default();
            duplicate_email(&state, &valid.email, &mut errors).await?;
            Ok((INVALID, PersonFormPage::new(&me, None, form, errors)).into_response())
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub title: String,
    pub active: bool,
    pub version: i32,
    pub account_role: Option<String>,
    pub has_password: bool,
    pub invited: bool,
}

async fn load_person(state: &AppState, id: Uuid) -> Result<Person> {
    sqlx::query_as("SELECT id, name, email, title, active, version, account_role, password_hash IS NOT NULL AS has_password,
                EXISTS (SELECT 1 FROM account_tokens t WHERE t.person_id = people.id AND t.used_at IS NULL
                          AND t.purpose = 'invitation' AND t.expires_at > $2) AS invited
           FROM people WHERE id = $1")
        .bind(id)
        .bind(state.clock.now())
        .fetch_optional(&state.db)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Debug, sqlx::FromRow)]
pub struct PersonMembership {
    pub unit_id: Uuid,
    pub unit_name: String,
    pub path: String,
    pub role: String,
}

impl PersonMembership {
    pub fn role_label(&self) -> &str {
        MemberRole::label_of(&self.role)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MembershipForm {
    unit: String,
    role: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "people/show.html")]
pub struct PersonPage {
    layout: Layout,
    person: Person,
    memberships: Vec<PersonMembership>,
    units: Vec<(String, String)>,
    roles: Vec<(String, String)>,
    form: MembershipForm,
    errors: FormErrors,
    account_roles: Vec<(String, String)>,
    owns: Vec<Owned>,
}

/// An open record the person owns.
#[derive(Debug, sqlx::FromRow)]
pub struct Owned {
    pub kind: String,
    pub id: Uuid,
    pub title: String,
}

impl Owned {
    pub fn href(&self) -> String {
        crate::http::page::record_href(&self.kind, self.id)
    }
}

impl PersonPage {
    /// Whether and how this person can sign in.
    fn account_state(&self) -> String {
        let p = &self.person;
        match (&p.account_role, p.has_password, p.invited) {
            (None, _, _) => format!("{} cannot sign in.", p.name),
            (Some(role), true, _) => format!(
                "{} signs in as {}.",
                p.name,
                AccountRole::label_of(role).to_lowercase()
            ),
            (Some(_), false, true) => format!(
                "{} has been invited and has not chosen a password yet.",
                p.name
            ),
            (Some(_), false, false) => {
                format!("{}’s invitation has expired: make a new link.", p.name)
            }
        }
    }
}

async fn person_page(
    state: &AppState,
    me: &Me,
    id: Uuid,
    form: MembershipForm,
    errors: FormErrors,
    flash: Flash,
) -> Result<PersonPage> {
    let person = load_person(state, id).await?;
    // Each unit with the path above it ("Company › Division"), in one statement.
    let memberships = sqlx::query_as(
        "SELECT u.id AS unit_id, u.name AS unit_name, m.role,
                coalesce((SELECT string_agg(a.name, ' › ' ORDER BY t.depth DESC)
                            FROM org_unit_tree t JOIN org_units a ON a.id = t.ancestor_id
                           WHERE t.descendant_id = u.id AND t.depth > 0), '') AS path
           FROM memberships m JOIN org_units u ON u.id = m.org_unit_id
          WHERE m.person_id = $1
          ORDER BY lower(u.name)",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    let units = crate::org::unit_options(&state.db).await?;
    let roles = MemberRole::options();
    let owns: Vec<Owned> = sqlx::query_as(
        "SELECT 'epic' AS kind, e.id, e.title FROM epics e
          WHERE e.owner_id = $1 AND e.status NOT IN ('cancelled', 'closed')
         UNION ALL
         SELECT 'initiative', i.id, i.title FROM initiatives i
          WHERE i.owner_id = $1 AND i.status NOT IN ('cancelled', 'done')
         UNION ALL
         SELECT 'outcome', o.id, o.metric || ' (' || coalesce(e.title, i.title) || ')' FROM outcomes o
           LEFT JOIN epics e ON e.id = o.epic_id LEFT JOIN initiatives i ON i.id = o.initiative_id
          WHERE o.owner_id = $1 AND coalesce(e.status NOT IN ('cancelled', 'closed'), i.status <> 'cancelled')
         UNION ALL
         SELECT 'objective', ob.id, ob.title FROM objectives ob JOIN periods pe ON pe.id = ob.period_id
          WHERE ob.owner_id = $1 AND pe.closed_at IS NULL AND ob.status <> 'closed'
         UNION ALL
         SELECT 'key_result', k.id, k.title FROM key_results k JOIN objectives ob ON ob.id = k.objective_id
           JOIN periods pe ON pe.id = ob.period_id
          WHERE k.owner_id = $1 AND pe.closed_at IS NULL AND ob.status <> 'closed'
         ORDER BY 1, 3",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    let layout = Layout::new(
        format!("Person · {}", person.name),
        Section::Organisation,
        me,
    )
    .with_flash(flash);
    Ok(PersonPage {
        layout,
        person,
        memberships,
        units,
        roles,
        form,
        errors,
        account_roles: AccountRole::options(),
        owns,
    })
}

/// `GET /people/{id}`
pub async fn get_person(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    flash: Flash,
) -> Result<PersonPage> {
    let form = MembershipForm {
        role: MemberRole::Engineer.as_str().into(),
        ..MembershipForm::default()
    };
    person_page(&state, &me, id, form, FormErrors::default(), flash).await
}

/// `POST /people/{id}/memberships`: adds the person to a unit, or changes their role there.
pub async fn post_membership(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<MembershipForm>,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let unit = check(
        &mut errors,
        "unit",
        optional_id(&form.unit, "Choose a unit from the list"),
    );
    let role = check(&mut errors, "role", MemberRole::parse(&form.role));
    let unit = match unit {
        Some(None) => {
            errors.add("unit", "Choose a unit");
            None
        }
        Some(Some(unit)) => Some(unit),
        None => None,
    };
    let (Some(unit), Some(role)) = (unit, role) else {
        return Ok((
            INVALID,
            person_page(&state, &me, id, form, errors, Flash::default()).await?,
        )
            .into_response());
    };
    match save_membership(&state.db, &me, &client, state.clock.now(), unit, id, role).await {
        Ok(()) => Ok(page::see_other(
            &format!("/people/{id}"),
            "Unit membership saved",
        )),
        Err(err) if violated_constraint(&err) == Some("memberships_person_id_fkey") => {
            Err(AppError::NotFound)
        }
        Err(err) if violated_constraint(&err) == Some("memberships_org_unit_id_fkey") => {
            errors.add("unit", "That unit no longer exists: choose another");
            Ok((
                INVALID,
                person_page(&state, &me, id, form, errors, Flash::default()).await?,
            )
                .into_response())
        }
        Err(err) => Err(err.into()),
    }
}

impl From<Person> for PersonForm {
    fn from(person: Person) -> PersonForm {
        PersonForm {
            name: person.name,
            email: person.email,
            title: person.title,
            active: person.active.then(|| "on".into()),
            version: person.version.to_string(),
        }
    }
}

/// `GET /people/{id}/edit`
pub async fn get_edit_person(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
) -> Result<PersonFormPage> {
    let person = load_person(&state, id).await?;
    Ok(PersonFormPage::new(
        &me,
        Some(id),
        person.into(),
        FormErrors::default(),
    ))
}

/// `POST /people/{id}`
pub async fn post_person_update(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<PersonForm>,
) -> Result<Response> {
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => {
            return Ok((INVALID, PersonFormPage::new(&me, Some(id), form, errors)).into_response());
        }
    };
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    let mut tx = state.db.begin().await?;
    let before: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT json_build_object('name', name, 'email', email, 'title', title, 'active', active)
           FROM people WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let updated = sqlx::query(
        "UPDATE people SET name = $3, email = $4, title = $5, active = $6, version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&valid.name)
    .bind(valid.email.as_str())
    .bind(&valid.title)
    .bind(form.active.is_some())
    .execute(&mut *tx)
    .await;
    match updated {
        Ok(done) if done.rows_affected() == 1 => {
            Entry::new("person_updated")
                .actor(Some(me.id))
                .entity("person", id)
                .before(before.unwrap_or_default())
                .after(valid.to_json(form.active.is_some()))
                .client(&client)
                .write(&mut *tx, state.clock.now())
                .await?;
            // Someone deactivated can no longer be signed in anywhere.
            if form.active.is_none() {
                crate::auth::session::end_others(&mut *tx, id, None).await?;
            }
            tx.commit().await?;
            Ok(page::see_other(
                &format!("/people/{id}"),
                &format!("{} saved", valid.name),
            ))
        }
        Ok(_) => {
            let current = load_person(&state, id).await?;
            let yes_no = |b: bool| if b { "Yes" } else { "No" }.to_string();
            let changes = page::changed_fields(&[
                ("Name", current.name.clone(), form.name.trim().to_string()),
                (
                    "Email",
                    current.email.clone(),
                    form.email.trim().to_string(),
                ),
                (
                    "Title",
                    current.title.clone(),
                    form.title.trim().to_string(),
                ),
                (
                    "Active",
                    yes_no(current.active),
                    yes_no(form.active.is_some()),
                ),
            ]);
            let form = PersonForm {
                version: current.version.to_string(),
                ..form
            };
            let mut page = PersonFormPage::new(&me, Some(id), form, FormErrors::default());
            page.changes = changes;
            Ok((CONFLICT, page).into_response())
        }
        Err(err) if violated_constraint(&err) == Some("people_email_key") => {
            let mut errors = FormErrors::default();
            duplicate_email(&state, &valid.email, &mut errors).await?;
            Ok((INVALID, PersonFormPage::new(&me, Some(id), form, errors)).into_response())
        }
        Err(err) => Err(err.into()),
    }
}
