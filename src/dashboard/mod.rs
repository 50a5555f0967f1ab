//! `/dashboard?unit=&period=`: what was anticipated and what was realised, for a unit and
//! everything beneath it (default: the whole company) in a period (default: the current
//! one) — outcome and alignment coverage, loop closure with the overdue loops, and
//! realisation — each by type of work and by child unit, every figure linking to the list
//! behind it. Figures are aggregated in SQL (`figures.rs`).

pub mod figures;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::policy::{Access, Me};
use crate::epics::model::WorkType;
use crate::http::page::{Flash, Layout, Section};
use crate::http::sitemap::Sitemap;
use crate::http::{AppError, AppState, Result};
use crate::loops::queue::{OpenLoop, Scope, open_loops};
use crate::outcomes::model::LoopState;
use crate::periods::Period;
use figures::{EpicCounts, LoopCounts, VerdictCounts};

pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state).get("/dashboard", Access::SignedIn, get_dashboard)
}

/// `part` of `whole` as a whole percentage; none of nothing.
pub fn rate(part: i64, whole: i64) -> Option<String> {
    (whole > 0).then(|| crate::okrs::model::percent(Decimal::from(part) / Decimal::from(whole)))
}

/// One row of the dashboard's tables: a type of work, a child unit, or the total.
#[derive(Debug)]
pub struct Row {
    pub label: String,
    /// The query that narrows a list to this row: `type=feature`, `unit=…`.
    pub narrow: String,
    pub coverage: Option<EpicCounts>,
    pub loops: Option<LoopCounts>,
    pub verdicts: Option<VerdictCounts>,
}

impl Row {
    pub fn epics(&self) -> i64 {
        self.coverage.as_ref().map_or(0, |c| c.epics)
    }
    pub fn covered(&self) -> i64 {
        self.coverage.as_ref().map_or(0, |c| c.covered)
    }
    pub fn aligned(&self) -> i64 {
        self.coverage.as_ref().map_or(0, |c| c.aligned)
    }
    pub fn coverage_rate(&self) -> Option<String> {
        rate(self.covered(), self.epics())
    }
    pub fn alignment_rate(&self) -> Option<String> {
        rate(self.aligned(), self.epics())
    }
    pub fn due(&self) -> i64 {
        self.loops.as_ref().map_or(0, |l| l.due)
    }
    pub fn closed_due(&self) -> i64 {
        self.loops.as_ref().map_or(0, |l| l.closed)
    }
    pub fn closure_rate(&self) -> Option<String> {
        rate(self.closed_due(), self.due())
    }
    fn verdict(&self, f: impl Fn(&VerdictCounts) -> i64) -> i64 {
        self.verdicts.as_ref().map_or(0, f)
    }
    pub fn closed(&self) -> i64 {
        self.verdict(|v| v.closed)
    }
    pub fn achieved(&self) -> i64 {
        self.verdict(|v| v.achieved)
    }
    pub fn partially(&self) -> i64 {
        self.verdict(|v| v.partially)
    }
    pub fn not_achieved(&self) -> i64 {
        self.verdict(|v| v.not_achieved)
    }
    pub fn inconclusive(&self) -> i64 {
        self.verdict(|v| v.inconclusive)
    }
    /// Achieved ÷ closed with a verdict other than inconclusive (DOMAIN.md).
    pub fn realisation_rate(&self) -> Option<String> {
        rate(self.achieved(), self.closed() - self.inconclusive())
    }
    fn days(value: Option<f64>) -> String {
        value.map_or("—".to_string(), |d| format!("{:.0}", d))
    }
    /// "12 / 20": median and 85th percentile in days.
    pub fn cycle(&self) -> String {
        let c = self.coverage.as_ref();
        format!(
            "{} / {}",
            Self::days(c.and_then(|c| c.cycle_p50)),
            Self::days(c.and_then(|c| c.cycle_p85))
        )
    }
    pub fn realisation_time(&self) -> String {
        let c = self.coverage.as_ref();
        format!(
            "{} / {}",
            Self::days(c.and_then(|c| c.realisation_p50)),
            Self::days(c.and_then(|c| c.realisation_p85))
        )
    }
    pub fn outcomes(&self) -> i64 {
        self.coverage.as_ref().map_or(0, |c| c.outcomes)
    }
    pub fn revised(&self) -> i64 {
        self.coverage.as_ref().map_or(0, |c| c.revised)
    }
    pub fn is_empty(&self) -> bool {
        self.epics() == 0 && self.due() == 0 && self.closed() == 0
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DashboardQuery {
    unit: String,
    period: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/show.html")]
pub struct DashboardPage {
    layout: Layout,
    unit_id: Option<Uuid>,
    unit_name: String,
    period: Option<Period>,
    units: Vec<(String, String)>,
    periods: Vec<(String, String)>,
    by_type: Vec<Row>,
    by_unit: Vec<Row>,
    total: Option<Row>,
    overdue: Vec<OpenLoop>,
    today: NaiveDate,
}

impl DashboardPage {
    /// `/epics?unit=…&period=…&…` narrowed to a row, with `extra` conditions.
    fn list(&self, path: &str, row: &Row, extra: &str) -> String {
        let mut query = vec![];
        if !row.narrow.starts_with("unit=")
            && let Some(unit) = self.unit_id
        {
            query.push(format!("unit={unit}"));
        }
        if !row.narrow.is_empty() {
            query.push(row.narrow.clone());
        }
        if path != "/loops"
            && let Some(p) = &self.period
        {
            query.push(format!("period={}", p.id));
        }
        if !extra.is_empty() {
            query.push(extra.to_string());
        }
        format!("{path}?{}", query.join("&"))
    }

    /// The two tables: by type of work, by unit (title, anchor, first column, rows).
    fn tables(&self) -> [(&'static str, &'static str, &'static str, &[Row]); 2] {
        [
            ("By type of work", "type", "Type", &self.by_type),
            ("By unit", "unit", "Unit", &self.by_unit),
        ]
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
}

/// `GET /dashboard?unit=&period=`
pub async fn get_dashboard(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<DashboardQuery>,
    flash: Flash,
) -> Result<DashboardPage> {
    let today = crate::org::settings::today(&state).await?;
    let unit: Option<(Uuid, String)> = match Uuid::parse_str(query.unit.trim()) {
        Ok(id) => Some(
            sqlx::query_as("SELECT id, name FROM org_units WHERE id = $1")
                .bind(id)
                .fetch_optional(&state.db)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        Err(_) => {
            sqlx::query_as("SELECT id, name FROM org_units WHERE parent_id IS NULL ORDER BY archived_at NULLS FIRST, lower(name) LIMIT 1")
                .fetch_optional(&state.db)
                .await?
        }
    };
    let period: Option<Period> = match Uuid::parse_str(query.period.trim()) {
        Ok(id) => Some(crate::periods::load_period(&state.db, id).await?),
        Err(_) => crate::periods::current_period(&state.db, today).await?,
    };
    let units = crate::org::unit_options(&state.db, false).await?;
    let periods = crate::periods::options(&state.db).await?;
    let (mut by_type, mut by_unit, mut total, mut overdue) =
        (Vec::new(), Vec::new(), None, Vec::new());
    if let (Some((unit_id, unit_name)), Some(p)) = (&unit, &period) {
        let coverage = figures::coverage(&state.db, *unit_id, p.id).await?;
        let loops = figures::closure(&state.db, *unit_id, p.starts_on, p.ends_on, today).await?;
        let verdicts = figures::verdicts(&state.db, *unit_id, p.starts_on, p.ends_on).await?;
        let children: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT id, name FROM org_units WHERE parent_id = $1 ORDER BY lower(name)",
        )
        .bind(unit_id)
        .fetch_all(&state.db)
        .await?;
        let types: Vec<(String, String)> = WorkType::ALL
            .iter()
            .map(|t| (t.as_str().to_string(), t.label().to_string()))
            .chain([("initiative".to_string(), "Initiatives".to_string())])
            .collect();
        for (value, label) in types {
            let key = Some(value.clone());
            let row = Row {
                label,
                narrow: if value == "initiative" {
                    String::new()
                } else {
                    format!("type={value}")
                },
                coverage: coverage.iter().find(|c| c.work_type == key).cloned(),
                loops: loops.iter().find(|c| c.work_type == key).cloned(),
                verdicts: verdicts.iter().find(|c| c.work_type == key).cloned(),
            };
            if value != "initiative" || !row.is_empty() {
                by_type.push(row);
            }
        }
        let own = std::iter::once((*unit_id, format!("{unit_name} itself")));
        for (child, name) in own.chain(children) {
            let key = Some(child);
            let row = Row {
                label: name,
                narrow: format!("unit={child}"),
                coverage: coverage
                    .iter()
                    .find(|c| c.work_type.is_none() && c.child_id == key)
                    .cloned(),
                loops: loops
                    .iter()
                    .find(|c| c.work_type.is_none() && c.child_id == key)
                    .cloned(),
                verdicts: verdicts
                    .iter()
                    .find(|c| c.work_type.is_none() && c.child_id == key)
                    .cloned(),
            };
            if child != *unit_id || !row.is_empty() {
                by_unit.push(row);
            }
        }
        total = Some(Row {
            label: "Total".to_string(),
            narrow: String::new(),
            coverage: coverage
                .iter()
                .find(|c| c.work_type.is_none() && c.child_id.is_none())
                .cloned(),
            loops: loops
                .iter()
                .find(|c| c.work_type.is_none() && c.child_id.is_none())
                .cloned(),
            verdicts: verdicts
                .iter()
                .find(|c| c.work_type.is_none() && c.child_id.is_none())
                .cloned(),
        });
        overdue = open_loops(&state.db, &me, Scope::Unit(*unit_id), today, true, 300)
            .await?
            .into_iter()
            .filter(|l| l.state(&today) == Some(LoopState::Overdue))
            .collect();
    }
    let layout = Layout::new("Dashboard", Section::Dashboard, &me).with_flash(flash);
    Ok(DashboardPage {
        layout,
        unit_id: unit.as_ref().map(|(id, _)| *id),
        unit_name: unit.map(|(_, name)| name).unwrap_or_default(),
        period,
        units,
        periods,
        by_type,
        by_unit,
        total,
        overdue,
        today,
    })
}
