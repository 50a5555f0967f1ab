//! `GET /initiatives`: every initiative, filtered by the sitemap's names and searched by
//! title, newest first, 50 a page with a keyset cursor. One statement for the rows.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::policy::{AccountRole, Me};
use crate::http::page::{Flash, Layout, Query, Section};
use crate::http::{AppState, Result};
use crate::initiatives::model::InitiativeStatus;
use crate::people::like_pattern;

const PAGE_SIZE: i64 = 50;

/// The filters, as they appear in the URL.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InitiativeQuery {
    pub unit: String,
    pub status: String,
    pub owner: String,
    pub period: String,
    pub q: String,
    pub after: String,
}

impl InitiativeQuery {
    fn filtered(&self) -> bool {
        [&self.unit, &self.status, &self.owner, &self.period, &self.q]
            .iter()
            .any(|v| !v.trim().is_empty())
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct InitiativeRow {
    pub id: Uuid,
    pub title: String,
    pub status: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub owner_name: Option<String>,
    pub owner_active: bool,
    pub periods: String,
    pub epics: i64,
    pub outcomes: i64,
}

impl InitiativeRow {
    pub fn status_label(&self) -> &str {
        InitiativeStatus::label_of(&self.status)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "initiatives/list.html")]
pub struct InitiativesPage {
    layout: Layout,
    query: InitiativeQuery,
    initiatives: Vec<InitiativeRow>,
    next: Option<String>,
    units: crate::org::UnitFilter,
    statuses: Vec<(String, String)>,
    periods: Vec<(String, String)>,
    may_add: bool,
}

impl InitiativeQuery {
    /// The filters as a query string, continuing after `after`.
    fn query_string(&self, after: &str) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("unit", &self.unit)
            .append_pair("status", &self.status)
            .append_pair("owner", &self.owner)
            .append_pair("period", &self.period)
            .append_pair("q", &self.q)
            .append_pair("after", after)
            .finish()
    }
}

impl InitiativesPage {
    fn next_href(&self, after: &str) -> String {
        format!("/initiatives?{}", self.query.query_string(after))
    }

    fn csv_href(&self) -> String {
        format!("/initiatives/csv?{}", self.query.query_string(""))
    }
}

/// `GET /initiatives/csv?…`: every initiative the filters match (at most
/// `csv::MAX_ROWS`), as the list shows them.
pub async fn get_initiatives_csv(
    State(state): State<AppState>,
    Query(mut query): Query<InitiativeQuery>,
) -> Result<axum::response::Response> {
    query.after.clear();
    let initiatives = find(&state.db, &query, crate::http::csv::MAX_ROWS).await?;
    let head = [
        "ID",
        "Initiative",
        "Status",
        "Unit",
        "Owner",
        "Periods",
        "Epics",
        "Outcomes",
    ];
    let rows = initiatives.into_iter().map(|i| {
        let status = i.status_label().to_string();
        vec![
            i.id.to_string(),
            i.title,
            status,
            i.unit_name,
            i.owner_name.unwrap_or_default(),
            i.periods,
            i.epics.to_string(),
            i.outcomes.to_string(),
        ]
    });
    crate::http::csv::download("initiatives", &head, rows)
}

/// One page of initiatives matching `query`, newest first (one statement); pages and the
/// API alike.
pub async fn find(
    db: &crate::db::Db,
    query: &InitiativeQuery,
    limit: i64,
) -> sqlx::Result<Vec<InitiativeRow>> {
    let id = |v: &str| Uuid::parse_str(v.trim()).ok();
    let q = Some(query.q.trim()).filter(|q| !q.is_empty());
    sqlx::query_as(
        "SELECT i.id, i.title, i.status, i.org_unit_id AS unit_id, u.name AS unit_name, p.name AS owner_name,
                coalesce(p.active, false) AS owner_active,
                coalesce((SELECT string_agg(pe.name, ', ' ORDER BY pe.starts_on)
                            FROM initiative_periods ip JOIN periods pe ON pe.id = ip.period_id
                           WHERE ip.initiative_id = i.id), '') AS periods,
                (SELECT count(*) FROM epics e WHERE e.initiative_id = i.id) AS epics,
                (SELECT count(*) FROM outcomes o WHERE o.initiative_id = i.id) AS outcomes
           FROM initiatives i
           JOIN org_units u ON u.id = i.org_unit_id
           LEFT JOIN people p ON p.id = i.owner_id
          WHERE ($1::uuid IS NULL OR i.org_unit_id IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1))
            AND ($2::text IS NULL OR i.status = $2)
            AND ($3::uuid IS NULL OR i.owner_id = $3)
            AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM initiative_periods ip
                                              WHERE ip.initiative_id = i.id AND ip.period_id = $4))
            AND ($5::text IS NULL OR i.title ILIKE $5 OR i.description ILIKE $5)
            AND ($6::uuid IS NULL OR (i.created_at, i.id) < (SELECT created_at, id FROM initiatives WHERE id = $6))
          ORDER BY i.created_at DESC, i.id DESC
          LIMIT $7",
    )
    .bind(id(&query.unit))
    .bind(
        InitiativeStatus::parse(&query.status)
            .ok()
            .map(InitiativeStatus::as_str),
    )
    .bind(id(&query.owner))
    .bind(id(&query.period))
    .bind(q.map(like_pattern))
    .bind(id(&query.after))
    .bind(limit)
    .fetch_all(db)
    .await
}

/// `GET /initiatives?unit=&status=&owner=&period=&q=&after=`
pub async fn get_initiatives(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<InitiativeQuery>,
    flash: Flash,
) -> Result<InitiativesPage> {
    let mut initiatives = find(&state.db, &query, PAGE_SIZE + 1).await?;
    let next = crate::http::page::next_page(&mut initiatives, PAGE_SIZE, |i| i.id.to_string());
    let units =
        crate::org::UnitFilter::load(&state, Uuid::parse_str(query.unit.trim()).ok(), &me).await?;
    let periods = crate::periods::options(&state, &me).await?;
    let may_add = me.role() != AccountRole::Viewer;
    let layout = Layout::new("Initiatives", Section::Initiatives, &me).with_flash(flash);
    Ok(InitiativesPage {
        layout,
        query,
        initiatives,
        next,
        units,
        statuses: InitiativeStatus::options(),
        periods,
        may_add,
    })
}
