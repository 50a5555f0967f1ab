//! `/dashboard?unit=&period=&until=`: what was anticipated and what was realised, for a
//! unit and everything beneath it (default: the whole company) in a period (default: the
//! current one) or a range of periods — outcome and alignment coverage, loop closure with
//! the overdue loops, realisation and its trend, flow, value and ROI, OKR health with the
//! overdue check-ins, and a bullet chart per closed outcome — by type of work and by child
//! unit, every figure linking to the list behind it, every table also as CSV
//! (`/dashboard/csv?table=`). Figures are aggregated in SQL (`figures.rs`).

pub mod cache;
pub mod export;
pub mod figures;
pub mod rollup;
pub mod rows;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

use crate::auth::policy::{Access, Me};
use crate::chart::{BULLET_WIDTH, Bars};
use crate::epics::model::WorkType;
use crate::http::page::{Flash, Layout, Query, Section};
use crate::http::sitemap::Sitemap;
use crate::http::{AppError, AppState, Result};
use crate::loops::queue::{OpenLoop, Scope, Wanted, open_loops};
use crate::outcomes::model::LoopState;
use crate::periods::Period;
use figures::{OkrHealth, TrendPoint};
use rows::{BulletRow, DueCheckIn, HealthRow, Row, SORTS, ValueRow};

pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/dashboard", Access::SignedIn, get_dashboard)
        .get("/dashboard/csv", Access::SignedIn, export::get_csv)
}

/// How many periods the realisation trend shows, and closed outcomes the bullet charts.
const TREND_PERIODS: i64 = 6;
const BULLETS: i64 = 40;
/// The most urgent overdue loops and check-ins the page lists, beside how many there are
/// (the loops queue and the CSV downloads have them all).
const SHOWN: i64 = 20;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DashboardQuery {
    pub unit: String,
    pub period: String,
    /// The last period of a range starting at `period`.
    pub until: String,
    /// The team comparison's sort column (`rows::SORTS`) and direction (`asc`, `desc`).
    pub sort: String,
    pub dir: String,
}

/// The page: what the viewer's navigation and filter show, and the figures with their HTML
/// (the same for anyone, kept between views by `cache`).
#[derive(Template, WebTemplate)]
#[template(path = "dashboard/show.html")]
pub struct DashboardPage {
    layout: Layout,
    units: crate::org::UnitFilter,
    periods: Vec<(String, String)>,
    kept: Arc<cache::Kept<Figures>>,
}

impl DashboardPage {
    fn html(&self) -> &str {
        &self.kept.html
    }
}

impl std::ops::Deref for DashboardPage {
    type Target = Figures;

    fn deref(&self) -> &Figures {
        &self.kept.figures
    }
}

/// A dashboard's figures for a unit and a period or range.
#[derive(Template)]
#[template(path = "dashboard/figures.html")]
pub struct Figures {
    unit_id: Option<Uuid>,
    unit_name: String,
    period: Option<Period>,
    until: Option<Period>,
    by_type: Vec<Row>,
    by_unit: Vec<Row>,
    total: Option<Row>,
    overdue: Vec<OpenLoop>,
    /// Every overdue loop in scope, and every key result with a check-in overdue.
    overdue_total: i64,
    check_ins_total: i64,
    value: Vec<ValueRow>,
    health: Vec<HealthRow>,
    check_ins: Vec<DueCheckIn>,
    trend: Vec<TrendPoint>,
    trend_chart: Bars,
    closed: Vec<BulletRow>,
    sort: String,
    descending: bool,
    today: NaiveDate,
}

impl Figures {
    /// The scope and period as a query: `unit=…&period=…&until=…`.
    fn scope_query(&self, with_unit: bool) -> Vec<String> {
        let mut query = vec![];
        if with_unit && let Some(unit) = self.unit_id {
            query.push(format!("unit={unit}"));
        }
        if let Some(p) = &self.period {
            query.push(format!("period={}", p.id));
        }
        if let Some(u) = &self.until {
            query.push(format!("until={}", u.id));
        }
        query
    }

    /// `/epics?unit=…&period=…&…` narrowed to a row's `narrow`, with `extra` conditions.
    fn list(&self, path: &str, narrow: impl AsRef<str>, extra: &str) -> String {
        let narrow = narrow.as_ref();
        let mut query = if path == "/loops" {
            self.unit_id
                .map(|u| vec![format!("unit={u}")])
                .unwrap_or_default()
        } else {
            self.scope_query(!narrow.starts_with("unit="))
        };
        if !narrow.is_empty() {
            query.insert(0, narrow.to_string());
        }
        if !extra.is_empty() {
            query.push(extra.to_string());
        }
        format!("{path}?{}", query.join("&"))
    }

    /// This dashboard narrowed to a unit, at an anchor.
    fn unit_dashboard(&self, unit: &Option<Uuid>, anchor: &str) -> String {
        match unit {
            Some(u) if Some(*u) != self.unit_id => {
                let mut query = vec![format!("unit={u}")];
                query.extend(self.scope_query(false));
                format!("/dashboard?{}#{anchor}", query.join("&"))
            }
            _ => format!("#{anchor}"),
        }
    }

    /// This dashboard for another period.
    fn period_dashboard(&self, period: &Uuid) -> String {
        match self.unit_id {
            Some(u) => format!("/dashboard?unit={u}&period={period}"),
            None => format!("/dashboard?period={period}"),
        }
    }

    /// A table's CSV export.
    fn csv(&self, table: &str) -> String {
        let mut query = vec![format!("table={table}")];
        query.extend(self.scope_query(true));
        format!("/dashboard/csv?{}", query.join("&"))
    }

    /// The team comparison sorted by `key`: descending first, ascending when it already is.
    fn sort_link(&self, key: &str) -> String {
        let dir = if self.sort == key && self.descending {
            "asc"
        } else {
            "desc"
        };
        let mut query = self.scope_query(true);
        query.push(format!("sort={key}&dir={dir}"));
        format!("/dashboard?{}#unit-title", query.join("&"))
    }

    fn aria_sort(&self, key: &str) -> &'static str {
        match (self.sort == key, self.descending) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        }
    }

    /// The two tables: by type of work, by unit (title, anchor, first column, rows).
    fn tables(&self) -> [(&'static str, &'static str, &'static str, &[Row]); 2] {
        [
            ("By type of work", "type", "Type", &self.by_type),
            ("Team comparison", "unit", "Unit", &self.by_unit),
        ]
    }

    fn sorts(&self) -> &'static [(&'static str, &'static str)] {
        &SORTS[1..]
    }

    fn unit_value(&self) -> String {
        self.unit_id.map(|u| u.to_string()).unwrap_or_default()
    }

    fn period_value(&self) -> String {
        self.period
            .as_ref()
            .map(|p| p.id.to_string())
            .unwrap_or_default()
    }

    fn until_value(&self) -> String {
        self.until
            .as_ref()
            .map(|p| p.id.to_string())
            .unwrap_or_default()
    }

    fn span_name(&self) -> String {
        match (&self.period, &self.until) {
            (Some(p), Some(u)) => format!("{} to {}", p.name, u.name),
            (Some(p), None) => p.name.clone(),
            _ => String::new(),
        }
    }

    /// The flow table's rows: types and units with epics, then the total.
    pub fn flow_rows(&self) -> impl Iterator<Item = &Row> {
        self.by_type
            .iter()
            .chain(self.by_unit.iter())
            .filter(|r| r.epics() > 0)
            .chain(self.total.iter())
    }

    fn total_closed(&self) -> i64 {
        self.total.as_ref().map_or(0, Row::closed)
    }

    fn bullet_width(&self) -> f64 {
        BULLET_WIDTH
    }

    fn heat_class(&self, kind: &str, level: u8) -> String {
        format!("heat heat-{kind}-{level}")
    }
}

/// `GET /dashboard?unit=&period=&until=&sort=&dir=`
pub async fn get_dashboard(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<DashboardQuery>,
    flash: Flash,
) -> Result<DashboardPage> {
    let layout = Layout::new("Dashboard", Section::Dashboard, &me).with_flash(flash);
    let db = &state.db;
    let today = me.today(&state.clock);
    let shown = format!("{} {}", query.sort.trim(), query.dir.trim());
    let key = cache::Key::new(&query.unit, &query.period, &query.until, shown, today);
    let unit = key.unit;
    let read = read_figures(&state, &me, &query, today, SHOWN);
    let kept = state.dashboards.page(db, key, unit, read).await?;
    let units = crate::org::UnitFilter::load(&state, kept.figures.unit_id, &me).await?;
    let periods = crate::periods::options(&state, &me).await?;
    Ok(DashboardPage {
        layout,
        units,
        periods,
        kept,
    })
}

/// Everything the CSV exports write, read afresh, with at most `listed` overdue loops and
/// check-ins.
pub async fn load(
    state: &AppState,
    me: &Me,
    query: &DashboardQuery,
    listed: i64,
) -> Result<Figures> {
    rollup::refresh(&state.db).await?;
    read_figures(state, me, query, me.today(&state.clock), listed).await
}

/// The figures in a fixed number of statements whatever the size, each figure one
/// statement, run side by side, with at most `listed` overdue loops and check-ins.
async fn read_figures(
    state: &AppState,
    me: &Me,
    query: &DashboardQuery,
    today: NaiveDate,
    listed: i64,
) -> Result<Figures> {
    let db = &state.db;
    let unit: Option<(Uuid, String)> = match Uuid::parse_str(query.unit.trim()) {
        Ok(id) => Some(
            sqlx::query_as("SELECT id, name FROM org_units WHERE id = $1")
                .bind(id)
                .fetch_optional(db)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        Err(_) => {
            sqlx::query_as("SELECT id, name FROM org_units WHERE parent_id IS NULL ORDER BY archived_at NULLS FIRST, lower(name) LIMIT 1")
                .fetch_optional(db)
                .await?
        }
    };
    let mut period: Option<Period> = match Uuid::parse_str(query.period.trim()) {
        Ok(id) => Some(crate::periods::load_period(db, id).await?),
        Err(_) => crate::periods::current_period(db, today).await?,
    };
    let mut until: Option<Period> = match Uuid::parse_str(query.until.trim()) {
        Ok(id) if period.as_ref().is_some_and(|p| p.id != id) => {
            Some(crate::periods::load_period(db, id).await?)
        }
        _ => None,
    };
    // A range given backwards is read forwards.
    if let (Some(p), Some(u)) = (&period, &until)
        && u.starts_on < p.starts_on
    {
        std::mem::swap(&mut period, &mut until);
    }
    let descending = query.dir.trim() != "asc";
    let sort = match query.sort.trim() {
        key if SORTS.iter().any(|(k, _)| *k == key) => key.to_string(),
        _ => "name".to_string(),
    };
    let mut page = Figures {
        unit_id: unit.as_ref().map(|(id, _)| *id),
        unit_name: unit.as_ref().map(|(_, n)| n.clone()).unwrap_or_default(),
        period,
        until,
        by_type: vec![],
        by_unit: vec![],
        total: None,
        overdue: vec![],
        overdue_total: 0,
        check_ins_total: 0,
        value: vec![],
        health: vec![],
        check_ins: vec![],
        trend: vec![],
        trend_chart: Bars::new(&[]),
        closed: vec![],
        descending: descending && query.sort.trim() == sort,
        sort,
        today,
    };
    let (Some((unit_id, unit_name)), Some(first)) = (&unit, &page.period) else {
        return Ok(page);
    };
    let last = page.until.as_ref().unwrap_or(first);
    let (starts_on, ends_on) = (first.starts_on, last.ends_on);
    // Objectives of every period within the dates (a year holds its quarters); epics of a
    // range's every period, or of the one period.
    let within: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM periods WHERE starts_on >= $1 AND ends_on <= $2")
            .bind(starts_on)
            .bind(ends_on)
            .fetch_all(db)
            .await?;
    let period_ids = match &page.until {
        None => vec![first.id],
        Some(_) => within.clone(),
    };
    // The figures do not depend on each other: run side by side, each on a connection of
    // its own (the company's: 41 ms one after another on one connection).
    let apart = db.apart().await;
    let db = &apart;
    let overdue = Wanted {
        state: Some(LoopState::Overdue),
        ..Wanted::default()
    };
    let (
        mut coverage,
        flow,
        loops,
        verdicts,
        value,
        health,
        trend,
        closed,
        check_ins,
        children,
        overdue,
        overdue_total,
    ) = tokio::try_join!(
        figures::coverage(db, *unit_id, &period_ids),
        figures::flow(db, *unit_id, &period_ids),
        figures::closure(db, *unit_id, starts_on, ends_on, today),
        figures::verdicts(db, *unit_id, starts_on, ends_on),
        figures::value(db, *unit_id, &period_ids),
        figures::okr_health(db, *unit_id, &within, today),
        figures::trend(db, *unit_id, &last.cadence, ends_on, TREND_PERIODS),
        figures::closed_outcomes(db, *unit_id, starts_on, ends_on, BULLETS),
        figures::due_check_ins(db, *unit_id, starts_on, ends_on, today, listed),
        sqlx::query_as::<_, (Uuid, String)>(
            "SELECT id, name FROM org_units WHERE parent_id = $1 ORDER BY lower(name)"
        )
        .bind(unit_id)
        .fetch_all(db),
        open_loops(db, me, Scope::Unit(*unit_id), today, overdue, listed),
        figures::overdue_loops(db, *unit_id, today),
    )?;
    page.trend = trend;
    page.closed = closed.into_iter().map(BulletRow::new).collect();
    page.check_ins = check_ins;
    page.overdue = overdue;
    page.overdue_total = overdue_total;
    for f in flow {
        let Some(c) = coverage
            .iter_mut()
            .find(|c| c.work_type == f.work_type && c.child_id == f.child_id)
        else {
            continue;
        };
        if f.kind == "cycle" {
            (c.cycle_p50, c.cycle_p85) = (f.p50, f.p85);
        } else {
            (c.realisation_p50, c.realisation_p85) = (f.p50, f.p85);
        }
    }

    let row = |label: String, narrow: String, work_type: Option<String>, child: Option<Uuid>| {
        let hit = |t: &Option<String>, c: &Option<Uuid>| *t == work_type && *c == child;
        Row {
            label,
            narrow,
            coverage: coverage
                .iter()
                .find(|c| hit(&c.work_type, &c.child_id))
                .cloned(),
            loops: loops
                .iter()
                .find(|c| hit(&c.work_type, &c.child_id))
                .cloned(),
            verdicts: verdicts
                .iter()
                .find(|c| hit(&c.work_type, &c.child_id))
                .cloned(),
        }
    };
    let value_rows =
        |label: &str, narrow: String, work_type: Option<String>, child: Option<Uuid>| {
            value
                .iter()
                .filter(|v| v.work_type == work_type && v.child_id == child)
                .map(|v| ValueRow {
                    label: label.to_string(),
                    narrow: narrow.clone(),
                    v: v.clone(),
                })
                .collect::<Vec<_>>()
        };
    let types = WorkType::ALL
        .iter()
        .map(|t| (t.as_str().to_string(), t.label().to_string()))
        .chain([("initiative".to_string(), "Initiatives".to_string())]);
    for (key, label) in types {
        let narrow = match key.as_str() {
            "initiative" => String::new(),
            _ => format!("type={key}"),
        };
        let r = row(label.clone(), narrow.clone(), Some(key.clone()), None);
        if key != "initiative" || !r.is_empty() {
            page.by_type.push(r);
        }
        page.value
            .extend(value_rows(&label, narrow, Some(key.clone()), None));
    }
    let own = std::iter::once((*unit_id, format!("{unit_name} itself")));
    for (child, name) in own.chain(children) {
        let r = row(name.clone(), format!("unit={child}"), None, Some(child));
        if child != *unit_id || !r.is_empty() {
            page.by_unit.push(r);
        }
        page.value.extend(value_rows(
            &name,
            format!("unit={child}"),
            None,
            Some(child),
        ));
        // Every child unit has a heatmap row (none of its own shows it has no OKRs); the
        // unit itself only when it has objectives of its own.
        let found = health.iter().find(|h| h.child_id == Some(child)).cloned();
        if let Some(h) = found.or_else(|| (child != *unit_id).then(|| OkrHealth::none(child))) {
            page.health.push(HealthRow {
                label: name,
                unit_id: Some(child),
                h,
            });
        }
    }
    rows::sort_rows(&mut page.by_unit, &page.sort, page.descending);
    page.total = Some(row("Total".to_string(), String::new(), None, None));
    page.value
        .extend(value_rows("Total", String::new(), None, None));
    if let Some(h) = health.iter().find(|h| h.child_id.is_none()) {
        page.check_ins_total = h.check_ins_due;
        page.health.push(HealthRow {
            label: "Total".to_string(),
            unit_id: None,
            h: h.clone(),
        });
    }
    page.trend_chart = Bars::new(
        &page
            .trend
            .iter()
            .map(|t| (t.name.clone(), t.rate()))
            .collect::<Vec<_>>(),
    );
    Ok(page)
}
