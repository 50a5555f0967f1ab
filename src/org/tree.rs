//! `GET /org`: the organisation tree with the people who lead each unit.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use uuid::Uuid;

use crate::auth::policy::Me;
use crate::http::page::{Flash, Layout, Section};
use crate::http::{AppState, Result};
use crate::org::model::{MemberRole, TreeRow, tree_rows};
use crate::org::{Organisation, UnitInTree, units_in_tree_order};

/// A person shown beside their unit in the tree.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyPerson {
    pub org_unit_id: Uuid,
    pub person_id: Uuid,
    pub name: String,
    pub role: String,
    pub active: bool,
}

impl KeyPerson {
    pub fn role_label(&self) -> &str {
        MemberRole::label_of(&self.role)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "org/tree.html")]
pub struct OrgPage {
    layout: Layout,
    org: Organisation,
    rows: Vec<TreeRow<UnitInTree>>,
    people: HashMap<Uuid, Vec<KeyPerson>>,
    people_total: i64,
}

impl OrgPage {
    fn key_people(&self, unit: &Uuid) -> &[KeyPerson] {
        self.people.get(unit).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// `GET /org/csv`: every unit in tree order, with its path from the top.
pub async fn get_org_csv(State(state): State<AppState>) -> Result<axum::response::Response> {
    let units = units_in_tree_order(&state.db, true).await?;
    let mut path: Vec<String> = Vec::new();
    let mut rows = Vec::with_capacity(units.len());
    for u in units {
        path.truncate(u.depth as usize);
        path.push(u.name.clone());
        rows.push(vec![
            u.id.to_string(),
            u.name.clone(),
            u.kind_label().to_string(),
            u.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            path.join(" / "),
            u.members.to_string(),
            if u.archived { "yes" } else { "no" }.to_string(),
        ]);
    }
    let head = [
        "ID",
        "Unit",
        "Kind",
        "Parent ID",
        "Path",
        "Members",
        "Archived",
    ];
    crate::http::csv::download("org-units", &head, rows)
}

/// `GET /org`. Three queries whatever the size: settings, the tree, and the leaders,
/// product managers and tech leads of every unit (the rest are counted, not listed, so
/// the page stays readable for a company of thousands).
pub async fn get_org(State(state): State<AppState>, me: Me, flash: Flash) -> Result<OrgPage> {
    let org = Organisation::load(&state.db).await?;
    let units = units_in_tree_order(&state.db, true).await?;
    let key: Vec<KeyPerson> = sqlx::query_as(
        "SELECT m.org_unit_id, p.id AS person_id, p.name, m.role, p.active
           FROM memberships m JOIN people p ON p.id = m.person_id
          WHERE m.role IN ('leader', 'product_manager', 'tech_lead')
          ORDER BY array_position(ARRAY['leader', 'product_manager', 'tech_lead'], m.role), lower(p.name)",
    )
    .fetch_all(&state.db)
    .await?;
    let people_total = units.iter().map(|u| u.members).sum();
    let mut people: HashMap<Uuid, Vec<KeyPerson>> = HashMap::new();
    for person in key {
        people.entry(person.org_unit_id).or_default().push(person);
    }
    let rows = tree_rows(
        units
            .into_iter()
            .map(|u| {
                let depth = u.depth as usize;
                (u, depth)
            })
            .collect(),
    );
    let layout = Layout::new("Organisation", Section::Organisation, &me).with_flash(flash);
    Ok(OrgPage {
        layout,
        org,
        rows,
        people,
        people_total,
    })
}
