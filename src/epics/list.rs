//! `GET /epics`: every epic, filtered by the sitemap's names and searched by text, newest
//! first, 50 a page with a keyset cursor. One statement for the rows whatever the page size.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use serde::Deserialize;
use sqlx::QueryBuilder;
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
        crate::org::UnitFilter::load(&state, Uuid::parse_str(query.unit.trim()).ok(), &me).await?;
    let periods = crate::periods::options(&state, &me).await?;
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

/// The statuses a `status` filter names: one, every one but cancelled (`live`, what the
/// dashboard's figures count), the delivered ones (`shipped`), or none for no filter.
fn statuses(status: &str) -> Option<Vec<EpicStatus>> {
    use EpicStatus::*;
    match status.trim() {
        "live" => Some(
            EpicStatus::ALL
                .iter()
                .copied()
                .filter(|s| *s != Cancelled)
                .collect(),
        ),
        "shipped" => Some(vec![Delivered, Measuring, Closed]),
        status => EpicStatus::parse(status).ok().map(|s| vec![s]),
    }
}

/// The epics matching the filters (the same names on the page and in the API), newest
/// first, after the `after` epic (keyset: rows inserted meanwhile are never repeated nor
/// skipped), at most `limit`.
///
/// The statement names only the filters given, with the statuses and the limit written in
/// (a fixed list and a number): each combination is a statement of its own that PostgreSQL
/// plans once for every value, where one statement for all of them was planned afresh each
/// time (about 1 ms). A unit's page is picked from an index alone, each team's newest (of
/// each status asked) in order, and only its rows are read; a unit holding a quarter of
/// the organisation's units or more is read as the organisation is, newest first, where its
/// epics come soon enough. At 200,000 epics a division's epics in progress went from reading 775 rows
/// and planning (6.2 ms) to 1.3 ms. Across the organisation, each status asked is read in
/// order from its own index (45–77 ms to 5–13 ms a page), and a search reads its two pages
/// through the trigram indexes when its word is rare (a word found nowhere: 0.9 s to 5 ms).
pub async fn find(
    db: &crate::db::Db,
    query: &EpicQuery,
    today: chrono::NaiveDate,
    limit: i64,
) -> sqlx::Result<Vec<EpicRow>> {
    let statuses = statuses(&query.status).map(|list| {
        let names: Vec<&str> = list.iter().map(|s| s.as_str()).collect();
        format!("'{{{}}}'::text[]", names.join(","))
    });
    let searched = text(&query.q).map(|q| like_pattern(&q));
    // The newest of the epics `e` asked for within `scope` (a condition on `e`). Searched,
    // the epics whose title or description matches and those with a matching outcome are
    // two pages, each read through its trigram indexes when the word is rare, or newest
    // first until enough match when it is common (one `OR` across both could do neither).
    let newest = |sql: &mut QueryBuilder<'_, sqlx::Postgres>,
                  scope: &dyn Fn(&mut QueryBuilder<'_, sqlx::Postgres>)| {
        // With statuses, each status's newest in order (epics_status_newest_idx), then the
        // newest of those.
        let page = |sql: &mut QueryBuilder<'_, sqlx::Postgres>, matching: Option<Match>| {
            match &statuses {
                Some(statuses) => sql.push(format_args!(
                    "SELECT k.id, k.created_at FROM unnest({statuses}) s(status) CROSS JOIN LATERAL (
                       SELECT e.id, e.created_at FROM epics e WHERE e.status = s.status AND "
                )),
                None => sql.push("SELECT e.id, e.created_at FROM epics e WHERE "),
            };
            scope(sql);
            if let Some((matching, pattern)) = matching.zip(searched.as_ref()) {
                matching.push(sql, pattern);
            }
            filters(sql, query, today);
            sql.push(format_args!(
                " ORDER BY e.created_at DESC, e.id DESC LIMIT {limit}"
            ));
            if statuses.is_some() {
                sql.push(format_args!(
                    ") k ORDER BY k.created_at DESC, k.id DESC LIMIT {limit}"
                ));
            }
        };
        if searched.is_none() {
            return page(sql, None);
        }
        sql.push("SELECT id, created_at FROM ((");
        page(sql, Some(Match::Text));
        sql.push(") UNION (");
        page(sql, Some(Match::Outcome));
        sql.push(format_args!(
            ")) s ORDER BY created_at DESC, id DESC LIMIT {limit}"
        ));
    };
    let mut sql = QueryBuilder::new("WITH page AS (");
    match Uuid::parse_str(query.unit.trim()) {
        Ok(unit) => {
            crate::org::push_teams(&mut sql, unit);
            sql.push("(SELECT k.id, k.created_at FROM teams t");
            // Each team's newest (epics_team_newest_idx), or its newest of each status asked
            // (epics_team_idx), in index order.
            match &statuses {
                Some(statuses) => sql.push(format_args!(
                    " CROSS JOIN unnest({statuses}) s(status) CROSS JOIN LATERAL (
                        SELECT e.id, e.created_at FROM epics e WHERE e.team_id = t.id AND e.status = s.status"
                )),
                None => sql.push(
                    " CROSS JOIN LATERAL (SELECT e.id, e.created_at FROM epics e WHERE e.team_id = t.id",
                ),
            };
            if let Some(pattern) = &searched {
                Match::Any.push(&mut sql, pattern);
            }
            filters(&mut sql, query, today);
            sql.push(format_args!(
                " ORDER BY e.created_at DESC, e.id DESC LIMIT {limit}) k
                 WHERE NOT (SELECT wide FROM wide)
                 ORDER BY k.created_at DESC, k.id DESC LIMIT {limit})
                 UNION ALL ("
            ));
            newest(&mut sql, &|sql| {
                sql.push("(SELECT wide FROM wide)");
                crate::org::push_beneath(sql, "e.team_id", unit);
            });
            sql.push(")");
        }
        Err(_) => newest(&mut sql, &|sql| {
            sql.push("true");
        }),
    }
    sql.push(
        ") SELECT e.id, e.title, e.work_type, e.status, e.team_id,
                (SELECT u.name FROM org_units u WHERE u.id = e.team_id) AS team_name, e.owner_id,
                p.name AS owner_name, coalesce(p.active, false) AS owner_active, e.period_id,
                (SELECT pe.name FROM periods pe WHERE pe.id = e.period_id) AS period_name,
                e.version, e.created_at,
                (SELECT count(*) FROM outcomes o WHERE o.epic_id = e.id) AS outcomes
           FROM page k
           JOIN epics e ON e.id = k.id
           LEFT JOIN people p ON p.id = e.owner_id
          ORDER BY k.created_at DESC, k.id DESC",
    );
    // Searched, planned for the words (an unnamed statement): a generic plan cannot tell a
    // rare word, read through the indexes, from a common one, read newest first.
    sql.build_query_as()
        .persistent(searched.is_none())
        .fetch_all(db)
        .await
}

/// What a search matches on an epic `e`.
#[derive(Clone, Copy)]
enum Match {
    /// Its title or description.
    Text,
    /// One of its outcomes' statements.
    Outcome,
    /// Either.
    Any,
}

impl Match {
    /// Pushes ` AND …`, the pattern bound.
    fn push(self, sql: &mut QueryBuilder<'_, sqlx::Postgres>, pattern: &str) {
        let outcome = |sql: &mut QueryBuilder<'_, sqlx::Postgres>| {
            sql.push(
                "EXISTS (SELECT 1 FROM outcomes o WHERE o.epic_id = e.id AND o.statement ILIKE ",
            )
            .push_bind(pattern.to_string())
            .push(")");
        };
        let text = |sql: &mut QueryBuilder<'_, sqlx::Postgres>| {
            sql.push("(e.title ILIKE ")
                .push_bind(pattern.to_string())
                .push(" OR e.description ILIKE ")
                .push_bind(pattern.to_string())
                .push(")");
        };
        sql.push(" AND ");
        match self {
            Match::Text => text(sql),
            Match::Outcome => outcome(sql),
            Match::Any => {
                sql.push("(");
                text(sql);
                sql.push(" OR ");
                outcome(sql);
                sql.push(")");
            }
        }
    }
}

/// The filters given, but unit, status and search, each as `AND …` on an epic `e`.
fn filters(
    sql: &mut QueryBuilder<'_, sqlx::Postgres>,
    query: &EpicQuery,
    today: chrono::NaiveDate,
) {
    let id = |v: &str| Uuid::parse_str(v.trim()).ok();
    if let Ok(work_type) = WorkType::parse(&query.work_type) {
        sql.push(format_args!(" AND e.work_type = '{}'", work_type.as_str()));
    }
    if let Some(owner) = id(&query.owner) {
        sql.push(" AND e.owner_id = ").push_bind(owner);
    }
    if let Some(period) = id(&query.period) {
        sql.push(" AND (e.period_id = ").push_bind(period);
        if let Some(until) = id(&query.until) {
            // Any period within the range from `period` to `until`.
            sql.push(
                " OR e.period_id IN (SELECT r.id FROM periods f, periods u, periods r
                                      WHERE r.starts_on >= f.starts_on AND r.ends_on <= u.ends_on AND f.id = ",
            )
            .push_bind(period)
            .push(" AND u.id = ")
            .push_bind(until)
            .push(")");
        }
        sql.push(")");
    }
    match query.missing.trim() {
        "outcome" => sql.push(" AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.epic_id = e.id)"),
        "owner" => sql.push(
            " AND NOT coalesce((SELECT p.active FROM people p WHERE p.id = e.owner_id), false)",
        ),
        "alignment" => sql.push(
            " AND NOT EXISTS (SELECT 1 FROM outcomes o JOIN outcome_key_results l ON l.outcome_id = o.id
                               WHERE o.epic_id = e.id)",
        ),
        _ => sql,
    };
    if let Some(after) = id(&query.after) {
        sql.push(" AND (e.created_at, e.id) < (SELECT created_at, id FROM epics WHERE id = ")
            .push_bind(after)
            .push(")");
    }
    // An open loop: an outcome not closed, of work neither cancelled nor closed, overdue
    // (measure-by before today) or due soon (within 14 days).
    let due_soon = match query.loop_state.trim() {
        "overdue" => false,
        "due_soon" => true,
        _ => return,
    };
    sql.push(
        " AND e.status NOT IN ('cancelled', 'closed') AND EXISTS (
            SELECT 1 FROM outcomes o WHERE o.epic_id = e.id AND o.closed_at IS NULL AND o.measure_by ",
    );
    if due_soon {
        sql.push("BETWEEN ")
            .push_bind(today)
            .push(" AND ")
            .push_bind(today + chrono::Days::new(14));
    } else {
        sql.push("< ").push_bind(today);
    }
    sql.push(")");
}
