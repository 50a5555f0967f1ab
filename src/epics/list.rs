//! `GET /epics`: every epic, filtered by the sitemap's names and searched by text, newest
//! first, 50 a page with a keyset cursor. One statement for the rows whatever the page size.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::policy::Me;
use crate::epics::model::{EpicStatus, WorkType};
use crate::http::page::{Flash, Layout, Query, Section};
use crate::http::{AppState, Result};
use crate::people::like_pattern;

const PAGE_SIZE: i64 = 50;

/// The filters, as they appear in the URL (shareable, and the same names as the API).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EpicQuery {
    pub unit: String,
    #[serde(rename = "type")]
    pub work_type: String,
    pub status: String,
    pub owner: String,
    pub period: String,
    /// The last period of a range starting at `period`: epics planned in any period within.
    pub until: String,
    pub missing: String,
    #[serde(rename = "loop")]
    pub loop_state: String,
    pub q: String,
    pub after: String,
}

impl EpicQuery {
    fn filtered(&self) -> bool {
        [
            &self.unit,
            &self.work_type,
            &self.status,
            &self.owner,
            &self.period,
            &self.missing,
            &self.loop_state,
            &self.q,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct EpicRow {
    pub id: Uuid,
    pub title: String,
    pub work_type: String,
    pub status: String,
    pub team_id: Uuid,
    pub team_name: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub owner_active: bool,
    pub period_id: Option<Uuid>,
    pub period_name: Option<String>,
    pub outcomes: i64,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl EpicRow {
    pub fn type_label(&self) -> &str {
        WorkType::label_of(&self.work_type)
    }

    pub fn status_label(&self) -> &str {
        EpicStatus::label_of(&self.status)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "epics/list.html")]
pub struct EpicsPage {
    layout: Layout,
    query: EpicQuery,
    epics: Vec<EpicRow>,
    next: Option<String>,
    units: crate::org::UnitFilter,
    types: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    periods: Vec<(String, String)>,
    missing: Vec<(String, String)>,
    loops: Vec<(String, String)>,
    may_add: bool,
}

impl EpicQuery {
    /// The filters as a query string, continuing after `after`.
    fn query_string(&self, after: &str) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("unit", &self.unit)
            .append_pair("type", &self.work_type)
            .append_pair("status", &self.status)
            .append_pair("owner", &self.owner)
            .append_pair("period", &self.period)
            .append_pair("until", &self.until)
            .append_pair("missing", &self.missing)
            .append_pair("loop", &self.loop_state)
            .append_pair("q", &self.q)
            .append_pair("after", after)
            .finish()
    }
}

impl EpicsPage {
    fn next_href(&self, after: &str) -> String {
        format!("/epics?{}", self.query.query_string(after))
    }

    fn csv_href(&self) -> String {
        format!("/epics/csv?{}", self.query.query_string(""))
    }
}

/// `GET /epics/csv?…`: every epic the filters match (at most `csv::MAX_ROWS`), as the
/// list shows them.
pub async fn get_epics_csv(
    State(state): State<AppState>,
    me: Me,
    Query(mut query): Query<EpicQuery>,
) -> Result<axum::response::Response> {
    query.after.clear();
    let today = me.today(&state.clock);
    let epics = find(&state.db, &query, today, crate::http::csv::MAX_ROWS).await?;
    let head = [
        "ID", "Epic", "Type", "Status", "Team", "Owner", "Period", "Outcomes", "Created",
    ];
    let rows = epics.into_iter().map(|e| {
        let (kind, status) = (e.type_label().to_string(), e.status_label().to_string());
        vec![
            e.id.to_string(),
            e.title,
            kind,
            status,
            e.team_name,
            e.owner_name.unwrap_or_default(),
            e.period_name.unwrap_or_default(),
            e.outcomes.to_string(),
            e.created_at.format("%Y-%m-%d").to_string(),
        ]
    });
    crate::http::csv::download("epics", &head, rows)
}

fn text(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

/// `GET /epics?unit=&type=&status=&owner=&period=&until=&missing=outcome|owner|alignment&loop=due_soon|overdue&q=&after=`
pub async fn get_epics(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<EpicQuery>,
    flash: Flash,
) -> Result<EpicsPage> {
    // Loops fall due by calendar date in the organisation's time zone (DOMAIN.md, loop state).
    let today = me.today(&state.clock);
    let mut epics = find(&state.db, &query, today, PAGE_SIZE + 1).await?;
    let next = crate::http::page::next_page(&mut epics, PAGE_SIZE, |e| e.id.to_string());
    let units =
        crate::org::UnitFilter::load(&state.db, Uuid::parse_str(query.unit.trim()).ok(), me.id)
            .await?;
    let periods = crate::periods::options(&state.db).await?;
    let missing = vec![
        ("outcome".to_string(), "An anticipated outcome".to_string()),
        ("owner".to_string(), "An active owner".to_string()),
        (
            "alignment".to_string(),
            "An outcome serving a key result".to_string(),
        ),
    ];
    let loops = vec![
        ("overdue".to_string(), "Overdue".to_string()),
        ("due_soon".to_string(), "Due within 14 days".to_string()),
    ];
    let may_add = me.role() != crate::auth::policy::AccountRole::Viewer;
    let layout = Layout::new("Epics", Section::Epics, &me).with_flash(flash);
    Ok(EpicsPage {
        layout,
        query,
        epics,
        next,
        units,
        types: WorkType::options(),
        statuses: [
            ("live", "Any but cancelled"),
            ("shipped", "Delivered or later"),
        ]
        .into_iter()
        .map(|(v, l)| (v.to_string(), l.to_string()))
        .chain(EpicStatus::options())
        .collect(),
        periods,
        missing,
        loops,
        may_add,
    })
}

/// The epics matching the filters (the same names on the page and in the API), newest
/// first, after the `after` epic (keyset: rows inserted meanwhile are never repeated nor
/// skipped), at most `limit`.
pub async fn find(
    db: &crate::db::Db,
    query: &EpicQuery,
    today: chrono::NaiveDate,
    limit: i64,
) -> sqlx::Result<Vec<EpicRow>> {
    let id = |v: &str| Uuid::parse_str(v.trim()).ok();
    sqlx::query_as(
        // The page's epics are chosen first and only they are joined to their team, owner
        // and period; the unit's teams are an array, so the planner reads them through
        // epics_team_idx (at 200,000 epics a division's list went from 80 ms to a few).
        "SELECT e.id, e.title, e.work_type, e.status, e.team_id, u.name AS team_name, e.owner_id,
                p.name AS owner_name, coalesce(p.active, false) AS owner_active, e.period_id, pe.name AS period_name,
                e.version, e.created_at,
                (SELECT count(*) FROM outcomes o WHERE o.epic_id = e.id) AS outcomes
           FROM (
         SELECT e.* FROM epics e
          WHERE ($1::uuid IS NULL OR e.team_id = ANY(ARRAY(SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1)))
            AND ($2::text IS NULL OR e.work_type = $2)
            AND ($3::text IS NULL OR e.status = $3 OR ($3 = 'live' AND e.status <> 'cancelled')
                 OR ($3 = 'shipped' AND e.status IN ('delivered', 'measuring', 'closed')))
            AND ($4::uuid IS NULL OR e.owner_id = $4)
            AND ($5::uuid IS NULL OR e.period_id = $5
                 OR ($12::uuid IS NOT NULL AND e.period_id IN (
                        SELECT r.id FROM periods f, periods u, periods r
                         WHERE f.id = $5 AND u.id = $12 AND r.starts_on >= f.starts_on AND r.ends_on <= u.ends_on)))
            AND ($6::text IS NULL
                 OR ($6 = 'outcome' AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.epic_id = e.id))
                 OR ($6 = 'owner' AND NOT coalesce((SELECT p.active FROM people p WHERE p.id = e.owner_id), false))
                 OR ($6 = 'alignment' AND NOT EXISTS (
                        SELECT 1 FROM outcomes o JOIN outcome_key_results l ON l.outcome_id = o.id WHERE o.epic_id = e.id)))
            AND ($7::text IS NULL OR e.title ILIKE $7 OR e.description ILIKE $7
                 OR EXISTS (SELECT 1 FROM outcomes o WHERE o.epic_id = e.id AND o.statement ILIKE $7))
            AND ($8::uuid IS NULL OR (e.created_at, e.id) < (SELECT created_at, id FROM epics WHERE id = $8))
            -- An open loop: an outcome not closed, of work neither cancelled nor closed, overdue (measure-by
            -- before today) or due soon (within 14 days).
            AND ($10::text IS NULL OR (e.status NOT IN ('cancelled', 'closed') AND EXISTS (
                    SELECT 1 FROM outcomes o WHERE o.epic_id = e.id AND o.closed_at IS NULL
                       AND (($10 = 'overdue' AND o.measure_by < $11)
                            OR ($10 = 'due_soon' AND o.measure_by BETWEEN $11 AND $11 + 14)))))
          ORDER BY e.created_at DESC, e.id DESC
          LIMIT $9) e
           JOIN org_units u ON u.id = e.team_id
           LEFT JOIN people p ON p.id = e.owner_id
           LEFT JOIN periods pe ON pe.id = e.period_id
          ORDER BY e.created_at DESC, e.id DESC",
    )
    .bind(id(&query.unit))
    .bind(WorkType::parse(&query.work_type).ok().map(WorkType::as_str))
    .bind(match query.status.trim() {
        // Every status but cancelled: what the dashboard's figures count.
        "live" => Some("live"),
        // Delivered, measuring or closed: the dashboard's delivered work.
        "shipped" => Some("shipped"),
        status => EpicStatus::parse(status).ok().map(EpicStatus::as_str),
    })
    .bind(id(&query.owner))
    .bind(id(&query.period))
    .bind(text(&query.missing).filter(|m| ["outcome", "owner", "alignment"].contains(&m.as_str())))
    .bind(text(&query.q).map(|q| like_pattern(&q)))
    .bind(id(&query.after))
    .bind(limit)
    .bind(text(&query.loop_state).filter(|l| l == "overdue" || l == "due_soon"))
    .bind(today)
    .bind(id(&query.until))
    .fetch_all(db)
    .await
}
