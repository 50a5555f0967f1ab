//! The dashboard's rows as its tables (and their CSV exports) show them: one type of
//! work, child unit or total per row, each figure formatted once for both.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::figures::{
    ClosedOutcome, EpicCounts, LoopCounts, OkrHealth, TrendPoint, ValueCounts, VerdictCounts,
};
use crate::chart::{Anticipated, Bullet};
use crate::loops::model::Commitment;
use crate::outcomes::model::{Direction, Goal, MetricUnit, Verdict, with_unit};
use crate::planning::model::{grouped, money, roi};

/// `part` of `whole` as a whole percentage; none of nothing.
pub fn rate(part: i64, whole: i64) -> Option<String> {
    (whole > 0).then(|| crate::okrs::model::percent(Decimal::from(part) / Decimal::from(whole)))
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn or_dash(text: Option<String>) -> String {
    text.unwrap_or_else(|| "—".to_string())
}

/// One row of the coverage, loops and flow tables: a type of work, a child unit, or the
/// total.
#[derive(Debug)]
pub struct Row {
    pub label: String,
    /// The query that narrows a list to this row: `type=feature`, `unit=…`.
    pub narrow: String,
    pub coverage: Option<EpicCounts>,
    pub loops: Option<LoopCounts>,
    pub verdicts: Option<VerdictCounts>,
}

/// The columns of the team comparison table it can be sorted by: (key, heading).
pub const SORTS: [(&str, &str); 11] = [
    ("name", "Unit"),
    ("epics", "Epics"),
    ("coverage", "Outcome coverage"),
    ("alignment", "Alignment coverage"),
    ("due", "Loops due"),
    ("closure", "Loop closure"),
    ("closed", "Closed"),
    ("realisation", "Realisation"),
    ("partly", "Partly"),
    ("not_achieved", "Not achieved"),
    ("inconclusive", "Inconclusive"),
];

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

    /// The row's value in a sortable column; None sorts last.
    fn sort_value(&self, key: &str) -> Option<f64> {
        let n = |v: i64| Some(v as f64);
        match key {
            "epics" => n(self.epics()),
            "coverage" => ratio(self.covered(), self.epics()),
            "alignment" => ratio(self.aligned(), self.epics()),
            "due" => n(self.due()),
            "closure" => ratio(self.closed_due(), self.due()),
            "closed" => n(self.closed()),
            "realisation" => ratio(self.achieved(), self.closed() - self.inconclusive()),
            "partly" => n(self.partially()),
            "not_achieved" => n(self.not_achieved()),
            "inconclusive" => n(self.inconclusive()),
            _ => None,
        }
    }

    /// The cells of the coverage and loops tables, as the page writes them.
    pub fn cells(&self) -> Vec<String> {
        let with = |rate: Option<String>, n: String| match rate {
            Some(rate) => format!("{rate} ({n})"),
            None => "—".to_string(),
        };
        vec![
            self.label.clone(),
            self.epics().to_string(),
            with(self.coverage_rate(), self.covered().to_string()),
            with(self.alignment_rate(), self.aligned().to_string()),
            self.due().to_string(),
            with(self.closure_rate(), format!("{} closed", self.closed_due())),
            self.closed().to_string(),
            with(
                self.realisation_rate(),
                format!("{} achieved", self.achieved()),
            ),
            self.partially().to_string(),
            self.not_achieved().to_string(),
            self.inconclusive().to_string(),
        ]
    }
}

/// Sorts rows by a column of `SORTS` (unknown: by name), rows without a value last.
pub fn sort_rows(rows: &mut [Row], key: &str, descending: bool) {
    if key == "name" || !SORTS.iter().any(|(k, _)| *k == key) {
        rows.sort_by_key(|r| r.label.to_lowercase());
        if descending {
            rows.reverse();
        }
        return;
    }
    rows.sort_by(|a, b| match (a.sort_value(key), b.sort_value(key)) {
        (Some(x), Some(y)) if descending => y.total_cmp(&x),
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

/// Value and ROI of one row in one currency.
#[derive(Debug)]
pub struct ValueRow {
    pub label: String,
    pub narrow: String,
    pub v: ValueCounts,
}

impl ValueRow {
    pub fn cost(&self) -> String {
        match (self.v.cost, &self.v.currency) {
            (Some(a), Some(c)) => money(a, c),
            (Some(a), None) => grouped(a.round_dp(2)),
            (None, None) => "No cost rate".to_string(),
            (None, _) => "—".to_string(),
        }
    }
    /// What the values are counted in.
    pub fn value_label(&self) -> String {
        match self.v.label.as_str() {
            "" => "No value set".to_string(),
            label => label.to_string(),
        }
    }
    /// ROI needs the value in the cost's currency.
    fn money_value(&self) -> bool {
        self.v.currency.as_deref() == Some(self.v.label.to_uppercase().as_str())
    }
    pub fn anticipated(&self) -> String {
        self.v
            .anticipated
            .map_or("—".to_string(), |a| grouped(a.round_dp(2)))
    }
    pub fn realised(&self) -> String {
        self.v
            .realised
            .map_or("—".to_string(), |a| grouped(a.round_dp(2)))
    }
    pub fn roi(&self) -> String {
        if !self.money_value() && self.v.cost.is_some() {
            return "— (value not in money)".to_string();
        }
        or_dash(roi(self.v.roi_realised, self.v.roi_cost).map(|r| r.normalize().to_string()))
    }
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.label.clone(),
            self.value_label(),
            self.v.delivered.to_string(),
            format!("{} ({} valued)", self.anticipated(), self.v.valued),
            format!("{} ({} epics)", self.realised(), self.v.realised_epics),
            format!("{} ({} costed)", self.cost(), self.v.costed),
            self.roi(),
        ]
    }
}

/// OKR health of one child unit or the total: a row of the heatmap.
#[derive(Debug)]
pub struct HealthRow {
    pub label: String,
    pub unit_id: Option<Uuid>,
    pub h: OkrHealth,
}

impl HealthRow {
    /// The query narrowing a list to this row's unit (none for the total).
    pub fn narrow(&self) -> String {
        match self.unit_id {
            Some(u) if self.label != "Total" => format!("unit={u}"),
            _ => String::new(),
        }
    }
    pub fn progress(&self) -> String {
        or_dash(self.h.progress.map(crate::okrs::model::percent))
    }
    pub fn share(&self, n: &i64) -> String {
        or_dash(rate(*n, self.h.key_results))
    }
    /// The heatmap's shade for a share of the key results (0–4), or of progress.
    pub fn heat(&self, n: &i64) -> u8 {
        shade(ratio(*n, self.h.key_results))
    }
    pub fn progress_heat(&self) -> u8 {
        shade(
            self.h
                .progress
                .and_then(|p| rust_decimal::prelude::ToPrimitive::to_f64(&p)),
        )
    }
    pub fn cells(&self) -> Vec<String> {
        let h = &self.h;
        let n = |n: i64| format!("{} ({n})", self.share(&n));
        vec![
            self.label.clone(),
            h.objectives.to_string(),
            self.progress(),
            h.key_results.to_string(),
            n(h.on_track),
            n(h.at_risk),
            n(h.off_track),
            n(h.no_confidence),
            h.check_ins_due.to_string(),
        ]
    }
}

fn shade(share: Option<f64>) -> u8 {
    match share {
        None => 0,
        Some(s) if s <= 0.0 => 0,
        Some(s) if s < 0.25 => 1,
        Some(s) if s < 0.5 => 2,
        Some(s) if s < 0.75 => 3,
        Some(_) => 4,
    }
}

/// A period of the realisation trend.
impl TrendPoint {
    pub fn rate_text(&self) -> String {
        or_dash(rate(self.achieved, self.closed - self.inconclusive))
    }
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.closed.to_string(),
            self.achieved.to_string(),
            self.partially.to_string(),
            self.not_achieved.to_string(),
            self.inconclusive.to_string(),
            self.rate_text(),
        ]
    }
}

/// An outcome closed in the period with its bullet chart.
#[derive(Debug)]
pub struct BulletRow {
    pub o: ClosedOutcome,
    pub bullet: Bullet,
    pub baseline: String,
    pub goal: String,
    pub actual: String,
}

impl BulletRow {
    pub fn new(o: ClosedOutcome) -> BulletRow {
        let unit = MetricUnit::parse(&o.unit).unwrap_or(MetricUnit::Custom);
        let show = |v: Decimal| with_unit(v, unit, &o.unit_label);
        let committed = o
            .judged_against
            .as_ref()
            .and_then(Commitment::from_json)
            .map(|c| (c.baseline, c.goal))
            .or_else(|| {
                let direction = Direction::parse(&o.direction).ok()?;
                let band = o.band_lower.zip(o.band_upper);
                Some((
                    o.baseline,
                    Goal::new(direction, o.baseline, o.target, band).ok()?,
                ))
            });
        let (baseline, goal) = committed.unwrap_or((
            o.baseline,
            Goal::Increase {
                target: o.target.unwrap_or(o.baseline),
            },
        ));
        let (anticipated, goal_text) = match goal {
            Goal::StayWithin { lower, upper } => (
                Anticipated::Band { lower, upper },
                format!("within {}–{}", lower.normalize(), show(upper)),
            ),
            Goal::Increase { target } | Goal::Decrease { target } => (
                Anticipated::Path {
                    start: baseline,
                    target,
                },
                show(target),
            ),
        };
        BulletRow {
            bullet: Bullet::new(baseline, anticipated, o.actual),
            baseline: show(baseline),
            goal: goal_text,
            actual: or_dash(o.actual.map(show)),
            o,
        }
    }
    pub fn verdict(&self) -> &str {
        Verdict::label_of(&self.o.verdict)
    }
    pub fn closed_on(&self) -> String {
        crate::periods::model::human_date(self.o.closed_on)
    }
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.o.metric.clone(),
            self.o.parent_title.clone(),
            self.baseline.clone(),
            self.goal.clone(),
            self.actual.clone(),
            self.verdict().to_string(),
            self.closed_on(),
        ]
    }
}

/// A key result whose check-in is overdue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueCheckIn {
    pub id: Uuid,
    pub title: String,
    pub objective_id: Uuid,
    pub objective_title: String,
    pub unit_name: String,
    pub owner_name: Option<String>,
    pub since: NaiveDate,
    pub check_in_days: i32,
}

impl DueCheckIn {
    /// "23 days since (every 14)"
    pub fn late(&self, today: &NaiveDate) -> String {
        format!(
            "{} days since (every {})",
            (*today - self.since).num_days(),
            self.check_in_days
        )
    }
    pub fn cells(&self, today: &NaiveDate) -> Vec<String> {
        vec![
            self.title.clone(),
            self.objective_title.clone(),
            self.unit_name.clone(),
            self.owner_name.clone().unwrap_or_else(|| "No owner".into()),
            self.late(today),
        ]
    }
}
