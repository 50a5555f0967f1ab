//! `/loops?scope=me|unit|org&unit=`: the loops queue — the technical lead's working list —
//! open loops sorted by urgency: overdue first (longest overdue first), then due soon,
//! then measuring. One statement.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::auth::policy::Me;
use crate::http::page::{Flash, Layout, Query, Section};
use crate::http::{AppState, Result};
use crate::outcomes::model::{DUE_SOON_DAYS, LoopState};
use crate::periods::model::human_date;

/// An open loop in the queue.
#[derive(Debug, sqlx::FromRow)]
pub struct OpenLoop {
    pub id: Uuid,
    pub metric: String,
    pub statement: String,
    pub measure_by: NaiveDate,
    pub owner_name: Option<String>,
    pub parent_kind: String,
    pub parent_id: Uuid,
    pub parent_title: String,
    pub parent_status: String,
    pub unit_id: Uuid,
    pub unit_name: String,
}

impl OpenLoop {
    pub fn state(&self, today: &NaiveDate) -> Option<LoopState> {
        crate::outcomes::parent::loop_state(&self.parent_status, false, self.measure_by, *today)
    }

    /// "12 days overdue", "due in 3 days", "due today", "due 30 Sep 2026".
    pub fn when(&self, today: &NaiveDate) -> String {
        let days = (self.measure_by - *today).num_days();
        match days {
            d if d < 0 => format!("{} day{} overdue", -d, if d == -1 { "" } else { "s" }),
            0 => "due today".to_string(),
            d if d <= DUE_SOON_DAYS => format!("due in {d} day{}", if d == 1 { "" } else { "s" }),
            _ => format!("due {}", human_date(self.measure_by)),
        }
    }

    pub fn parent_href(&self) -> String {
        crate::http::page::record_href(&self.parent_kind, self.parent_id)
    }
}

/// Whose loops: mine (the outcome's owner, or the work's when the outcome has none), a
/// unit's with everything beneath, or the whole organisation's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Me,
    Unit(Uuid),
    Org,
}

/// Which open loops a list wants.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wanted {
    /// Only the overdue and due-soon ones.
    pub urgent_only: bool,
    /// Only those in this state.
    pub state: Option<LoopState>,
    /// Those after this loop in the list's order (a keyset cursor).
    pub after: Option<Uuid>,
}

/// Open loops in `scope` that are overdue, due soon or measuring, most urgent first (by
/// date, unit name and id), as `wanted`. Cancelled work has no loop.
///
/// One statement, naming only what was asked (a loop state, a cursor): each combination is
/// planned once. The limit is written in, but for a person's queue: there PostgreSQL
/// planned the statement afresh each time (1–2 ms) until the limit was a parameter, and a
/// unit's or the organisation's the other way round (measured). For a unit, the first page's worth of each
/// of its teams' open loops in date order (outcomes_open_by_unit_idx), then the page from
/// those: a division's 21 teams are 1,071 rows read instead of all its 7,500 open loops.
/// Each team's name is lowered and ranked once, not on each of those rows. A unit holding a
/// quarter of the organisation or more (the company) is read as the organisation is, in
/// date order, where its loops are found soon enough: which of the two, the statement
/// decides once (a one-time filter). A person's outcomes, or every open loop, are read in
/// date order. The page is picked from the outcomes alone, then its rows are joined.
pub async fn open_loops(
    db: &crate::db::Db,
    me: &Me,
    scope: Scope,
    today: NaiveDate,
    wanted: Wanted,
    limit: i64,
) -> sqlx::Result<Vec<OpenLoop>> {
    let mut sql = QueryBuilder::new("WITH page AS (");
    let push_limit = |sql: &mut QueryBuilder<'_, sqlx::Postgres>| match scope {
        Scope::Me => {
            sql.push_bind(limit);
        }
        _ => {
            sql.push(limit);
        }
    };
    // The open loops `whose` (a condition on outcomes) names, wanted, read in date order.
    let in_date_order =
        |sql: &mut QueryBuilder<'_, sqlx::Postgres>,
         whose: &dyn Fn(&mut QueryBuilder<'_, sqlx::Postgres>)| {
            sql.push(
                "SELECT o.id, o.measure_by, lower(u.name) AS unit_key
               FROM (SELECT id, measure_by, unit_id, work_status FROM outcomes
                      WHERE closed_at IS NULL AND work_status <> 'cancelled' AND ",
            );
            whose(sql);
            sql.push(") o JOIN org_units u ON u.id = o.unit_id WHERE true");
            push_wanted(sql, wanted, today, "lower(u.name)");
            sql.push(" ORDER BY o.measure_by, lower(u.name), o.id LIMIT ");
            push_limit(sql);
        };
    match scope {
        Scope::Me => in_date_order(&mut sql, &|sql| {
            sql.push("id IN (SELECT m.id FROM outcomes m WHERE m.owner_id = ")
                .push_bind(me.id)
                .push(
                    " UNION ALL
                      SELECT m.id FROM epics w JOIN outcomes m ON m.epic_id = w.id
                       WHERE m.owner_id IS NULL AND w.owner_id = ",
                )
                .push_bind(me.id)
                .push(
                    " UNION ALL
                      SELECT m.id FROM initiatives w JOIN outcomes m ON m.initiative_id = w.id
                       WHERE m.owner_id IS NULL AND w.owner_id = ",
                )
                .push_bind(me.id)
                .push(")");
        }),
        Scope::Unit(unit) => {
            crate::org::push_teams(&mut sql, unit);
            sql.push(
                ", named AS MATERIALIZED (
                     SELECT t.id, lower(u.name) AS unit_key,
                            dense_rank() OVER (ORDER BY lower(u.name)) AS unit_rank
                       FROM teams t JOIN org_units u ON u.id = t.id)
                 (SELECT k.id, k.measure_by, t.unit_key FROM named t CROSS JOIN LATERAL (
                      SELECT o.id, o.measure_by FROM outcomes o
                       WHERE o.unit_id = t.id AND o.closed_at IS NULL AND o.work_status <> 'cancelled'",
            );
            push_wanted(&mut sql, wanted, today, "t.unit_key");
            sql.push(format_args!(
                " ORDER BY o.measure_by, o.id LIMIT {limit}) k
                  WHERE NOT (SELECT wide FROM wide)
                  ORDER BY k.measure_by, t.unit_rank, k.id LIMIT {limit})
                 UNION ALL ("
            ));
            // Wide, it names the units outside instead (none for the company), which no
            // index can serve: planned generically the planner thinks a unit holds three,
            // and read a company's 226,000 open loops by unit (170 ms) rather than 300 in
            // date order (3 ms).
            in_date_order(&mut sql, &|sql| {
                sql.push(
                    "(SELECT wide FROM wide)
                     AND unit_id <> ALL (ARRAY(SELECT id FROM org_units EXCEPT SELECT id FROM teams))",
                );
            });
            sql.push(")");
        }
        Scope::Org => in_date_order(&mut sql, &|sql| {
            sql.push("true");
        }),
    }
    sql.push(
        ") SELECT o.id, o.metric, o.statement, o.measure_by, p.name AS owner_name,
                CASE WHEN o.epic_id IS NULL THEN 'initiative' ELSE 'epic' END AS parent_kind,
                coalesce(o.epic_id, o.initiative_id) AS parent_id, coalesce(e.title, i.title) AS parent_title,
                o.work_status AS parent_status, u.id AS unit_id, u.name AS unit_name
           FROM page JOIN outcomes o ON o.id = page.id
           JOIN org_units u ON u.id = o.unit_id
           LEFT JOIN epics e ON e.id = o.epic_id
           LEFT JOIN initiatives i ON i.id = o.initiative_id
           LEFT JOIN people p ON p.id = o.owner_id
          ORDER BY page.measure_by, page.unit_key, page.id",
    );
    sql.build_query_as().fetch_all(db).await
}

/// Pushes ` AND …`: what the person asked of an open loop `o`, whose unit's lowered name
/// is `unit_key` (for the cursor).
fn push_wanted(
    sql: &mut QueryBuilder<'_, sqlx::Postgres>,
    wanted: Wanted,
    today: NaiveDate,
    unit_key: &str,
) {
    let soon = today + chrono::Days::new(DUE_SOON_DAYS as u64);
    sql.push(" AND (o.measure_by <= ").push_bind(soon);
    if !wanted.urgent_only {
        sql.push(" OR o.work_status IN ('delivered', 'measuring', 'closed', 'done')");
    }
    sql.push(")");
    match wanted.state {
        None => {}
        Some(LoopState::Overdue) => {
            sql.push(" AND o.measure_by < ").push_bind(today);
        }
        Some(LoopState::DueSoon) => {
            sql.push(" AND o.measure_by >= ")
                .push_bind(today)
                .push(" AND o.measure_by <= ")
                .push_bind(soon);
        }
        Some(LoopState::Measuring) => {
            sql.push(" AND o.measure_by > ").push_bind(soon);
        }
        // Not an open loop's state.
        Some(_) => {
            sql.push(" AND false");
        }
    }
    if let Some(after) = wanted.after {
        sql.push(format_args!(" AND (o.measure_by, {unit_key}, o.id) > ("))
            .push(
                "SELECT c.measure_by, lower(cu.name), c.id
                   FROM outcomes c JOIN org_units cu ON cu.id = c.unit_id WHERE c.id = ",
            )
            .push_bind(after)
            .push(")");
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoopsQuery {
    scope: String,
    unit: String,
    /// Only the loops in this state (`overdue`, `due_soon`, `measuring`).
    #[serde(rename = "loop")]
    loop_state: String,
    /// The page after this loop (the queue's keyset cursor).
    after: String,
}

impl LoopsQuery {
    /// Whose loops, the scope's name, and the unit asked for.
    fn scope(&self) -> (Scope, &'static str, Option<Uuid>) {
        let unit = Uuid::parse_str(self.unit.trim()).ok();
        match (self.scope.as_str(), unit) {
            ("unit", Some(unit)) => (Scope::Unit(unit), "unit", Some(unit)),
            ("org", _) => (Scope::Org, "org", unit),
            _ => (Scope::Me, "me", unit),
        }
    }
}

/// `GET /loops/csv?scope=&unit=&loop=`: every open loop the queue would list (at most
/// `csv::MAX_ROWS`).
pub async fn get_loops_csv(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<LoopsQuery>,
) -> Result<axum::response::Response> {
    let (scope, _, _) = query.scope();
    let today = me.today(&state.clock);
    let wanted = Wanted {
        state: LoopState::parse(&query.loop_state).ok(),
        ..Wanted::default()
    };
    let loops = open_loops(
        &state.db,
        &me,
        scope,
        today,
        wanted,
        crate::http::csv::MAX_ROWS,
    )
    .await?;
    let head = [
        "Outcome ID",
        "Metric",
        "Outcome",
        "Measure by",
        "State",
        "When",
        "Work",
        "Team",
        "Owner",
    ];
    let rows = loops.into_iter().map(|l| {
        let state = l.state(&today).map(|s| s.label()).unwrap_or_default();
        let when = l.when(&today);
        vec![
            l.id.to_string(),
            l.metric,
            l.statement,
            l.measure_by.to_string(),
            state.to_string(),
            when,
            l.parent_title,
            l.unit_name,
            l.owner_name.unwrap_or_default(),
        ]
    });
    crate::http::csv::download("loops", &head, rows)
}

/// Loops on one page of the queue; a link leads to the next. A unit's page reads each
/// team's first page's worth in date order to pick its own, so a page of 50 read twice as
/// many rows (a division's: 1,071 for 51) and cost twice the time; the CSV holds them all.
const PAGE_SIZE: i64 = 25;

#[derive(Template, WebTemplate)]
#[template(path = "loops/queue.html")]
pub struct LoopsPage {
    layout: Layout,
    scope: &'static str,
    unit: String,
    units: crate::org::UnitFilter,
    loop_state: String,
    loop_states: Vec<(String, String)>,
    loops: Vec<OpenLoop>,
    today: NaiveDate,
    /// The page continues another (its counts are of this page).
    continued: bool,
    /// The last loop listed, when more follow.
    next: Option<String>,
}

impl LoopsPage {
    /// The queue's scope, unit and state as a query, and `extra` pairs after them.
    fn query_string(&self, extra: &[(&str, &str)]) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("scope", self.scope)
            .append_pair("unit", &self.unit)
            .append_pair("loop", &self.loop_state)
            .extend_pairs(extra)
            .finish()
    }

    fn csv_href(&self) -> String {
        format!("/loops/csv?{}", self.query_string(&[]))
    }

    fn next_href(&self, after: &str) -> String {
        format!("/loops?{}", self.query_string(&[("after", after)]))
    }

    fn count(&self, state: LoopState) -> usize {
        self.loops
            .iter()
            .filter(|l| l.state(&self.today) == Some(state))
            .count()
    }
}

/// `GET /loops?scope=me|unit|org&unit=&loop=overdue|due_soon|measuring`
pub async fn get_loops(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<LoopsQuery>,
    flash: Flash,
) -> Result<LoopsPage> {
    let (scope, name, unit) = query.scope();
    let today = me.today(&state.clock);
    let only = LoopState::parse(&query.loop_state).ok();
    let wanted = Wanted {
        state: only,
        after: Uuid::parse_str(query.after.trim()).ok(),
        ..Wanted::default()
    };
    let mut loops = open_loops(&state.db, &me, scope, today, wanted, PAGE_SIZE + 1).await?;
    let next = crate::http::page::next_page(&mut loops, PAGE_SIZE, |l| l.id.to_string());
    let open = [LoopState::Overdue, LoopState::DueSoon, LoopState::Measuring];
    let units = crate::org::UnitFilter::load(&state, unit, &me).await?;
    let layout = Layout::new("Loops", Section::Loops, &me).with_flash(flash);
    Ok(LoopsPage {
        layout,
        scope: name,
        unit: unit.map(|u| u.to_string()).unwrap_or_default(),
        units,
        loop_state: only.map(|s| s.as_str().to_string()).unwrap_or_default(),
        loop_states: open
            .iter()
            .map(|s| (s.as_str().to_string(), s.label().to_string()))
            .collect(),
        loops,
        today,
        continued: wanted.after.is_some(),
        next,
    })
}
