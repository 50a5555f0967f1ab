//! The cascade as pages read it: objectives with everything cascaded beneath them, their
//! key results with the value each follows, and progress rolled up through it all — in two
//! statements, however deep the tree (a folded one: its first level's key results, and the
//! progress of the objectives folded beneath them from the roll-up), or beneath one
//! objective as a JSON column of a page's own statement (`json_of`).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use crate::okrs::model::{
    ConfidenceBand, KrNode, ObjectiveStatus, Progress, ProgressSource, check_in_due, percent,
};
use crate::outcomes::model::{Direction, Goal, MetricUnit, with_unit};

#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct ObjectiveRow {
    pub id: Uuid,
    pub title: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub period_id: Uuid,
    pub period_name: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub owner_active: bool,
    pub status: String,
    pub parent_key_result_id: Option<Uuid>,
    /// The objective of the key result it was cascaded from.
    pub parent_objective_id: Option<Uuid>,
    pub version: i32,
    /// Its period's: how often its key results take a check-in.
    pub check_in_days: i32,
}

impl ObjectiveRow {
    pub fn status_label(&self) -> &str {
        ObjectiveStatus::label_of(&self.status)
    }
}

#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct KeyResultRow {
    pub id: Uuid,
    pub objective_id: Uuid,
    pub title: String,
    pub metric: String,
    pub unit: String,
    pub unit_label: String,
    pub direction: String,
    #[serde(deserialize_with = "crate::db::json::decimal")]
    pub start_value: Decimal,
    #[serde(deserialize_with = "crate::db::json::optional_decimal")]
    pub target: Option<Decimal>,
    #[serde(deserialize_with = "crate::db::json::optional_decimal")]
    pub band_lower: Option<Decimal>,
    #[serde(deserialize_with = "crate::db::json::optional_decimal")]
    pub band_upper: Option<Decimal>,
    #[serde(deserialize_with = "crate::db::json::decimal")]
    pub weight: Decimal,
    pub progress_source: String,
    /// The value it follows: its latest check-in's, or the linked outcome's latest
    /// measurement.
    #[serde(deserialize_with = "crate::db::json::optional_decimal")]
    pub value: Option<Decimal>,
    pub confidence: Option<i16>,
    /// The latest check-in, or the day it was set before any.
    pub since: NaiveDate,
    /// Its objective's period's (set from the objective, not read with the row).
    #[sqlx(skip)]
    #[serde(default)]
    pub check_in_days: i32,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub owner_active: bool,
    pub metric_key: Option<String>,
    pub version: i32,
}

impl KeyResultRow {
    pub fn goal(&self) -> Option<Goal> {
        let direction = Direction::parse(&self.direction).ok()?;
        let band = self.band_lower.zip(self.band_upper);
        Goal::new(direction, self.start_value, self.target, band).ok()
    }

    fn metric_unit(&self) -> MetricUnit {
        MetricUnit::parse(&self.unit).unwrap_or(MetricUnit::Custom)
    }

    /// "40% → 80%", or "within 95–99.9%".
    pub fn goal_text(&self) -> String {
        let unit = self.metric_unit();
        match self.goal() {
            Some(Goal::StayWithin { lower, upper }) => format!(
                "within {}–{}",
                lower.normalize(),
                with_unit(upper, unit, &self.unit_label)
            ),
            Some(Goal::Increase { target } | Goal::Decrease { target }) => format!(
                "{} → {}",
                with_unit(self.start_value, unit, &self.unit_label),
                with_unit(target, unit, &self.unit_label)
            ),
            None => String::new(),
        }
    }

    /// The current value with its unit, if any is known.
    pub fn value_text(&self) -> Option<String> {
        self.value
            .map(|v| with_unit(v, self.metric_unit(), &self.unit_label))
    }

    /// Progress from its own source, before any roll-up.
    pub fn own_progress(&self) -> Option<Decimal> {
        Some(self.goal()?.progress(self.start_value, self.value?))
    }

    pub fn rolled_up(&self) -> bool {
        self.progress_source == ProgressSource::RollUp.as_str()
    }

    pub fn source_label(&self) -> &str {
        ProgressSource::label_of(&self.progress_source)
    }

    pub fn band(&self) -> Option<ConfidenceBand> {
        self.confidence.map(ConfidenceBand::of)
    }

    /// A key result followed by check-ins is due one when its cadence has passed.
    pub fn check_in_due(&self, today: &NaiveDate) -> bool {
        self.progress_source == ProgressSource::CheckIns.as_str()
            && check_in_due(self.since, *today, self.check_in_days)
    }

    fn node(&self) -> KrNode {
        KrNode {
            id: self.id,
            objective_id: self.objective_id,
            weight: self.weight,
            rolled_up: self.rolled_up(),
            own: self.own_progress(),
        }
    }
}

/// Objectives (roots first, then what is cascaded beneath), their key results, progress.
#[derive(Debug, Default)]
pub struct Cascade {
    pub objectives: Vec<ObjectiveRow>,
    pub key_results: Vec<KeyResultRow>,
    pub progress: Progress,
    /// Folded (`load_folding`): only the first level's key results were read; the
    /// objectives cascaded from them have their progress and key-result counts from the
    /// roll-up, and the levels beneath those neither.
    pub folded: bool,
    key_result_counts: HashMap<Uuid, usize>,
}

impl Cascade {
    pub fn objective_progress(&self, id: &Uuid) -> Decimal {
        self.progress.of_objective(id)
    }

    pub fn objective_percent(&self, id: &Uuid) -> String {
        percent(self.progress.of_objective(id))
    }

    pub fn key_result_progress(&self, id: &Uuid) -> Decimal {
        self.progress.of_key_result(id)
    }

    pub fn key_result_percent(&self, id: &Uuid) -> String {
        percent(self.progress.of_key_result(id))
    }

    /// How many key results an objective has, read or (folded) counted by the roll-up.
    pub fn key_result_count(&self, objective: &Uuid) -> usize {
        match self.key_result_counts.get(objective) {
            Some(count) => *count,
            None => self.key_results_of(objective).count(),
        }
    }

    /// The objectives not cascaded from another one in the cascade: where its branches start.
    pub fn first_level(&self) -> impl Iterator<Item = &ObjectiveRow> {
        let ids: HashSet<Uuid> = self.objectives.iter().map(|o| o.id).collect();
        self.objectives
            .iter()
            .filter(move |o| o.parent_objective_id.is_none_or(|p| !ids.contains(&p)))
    }

    pub fn key_results_of(&self, objective: &Uuid) -> impl Iterator<Item = &KeyResultRow> {
        let objective = *objective;
        self.key_results
            .iter()
            .filter(move |k| k.objective_id == objective)
    }

    pub fn cascaded_from(&self, key_result: &Uuid) -> impl Iterator<Item = &ObjectiveRow> {
        let key_result = *key_result;
        self.objectives
            .iter()
            .filter(move |o| o.parent_key_result_id == Some(key_result))
    }
}

const OBJECTIVE_COLUMNS: &str = "o.id, o.title, o.org_unit_id AS unit_id, u.name AS unit_name, o.period_id,
       pe.name AS period_name, o.owner_id, p.name AS owner_name, coalesce(p.active, false) AS owner_active,
       o.status, o.parent_key_result_id, o.parent_objective_id, o.version, pe.check_in_days";

/// Where a cascade starts.
#[derive(Debug, Clone, Copy)]
pub enum Roots<'a> {
    /// These objectives.
    Objectives(&'a [Uuid]),
    /// The objectives of periods within these dates (a year holds its quarters), of a
    /// unit and everything beneath it, or of every unit.
    Scope {
        starts_on: NaiveDate,
        ends_on: NaiveDate,
        unit: Option<Uuid>,
    },
}

/// The value a key result (`k`) follows, as SQL: its latest check-in's (kept on the row),
/// or its linked outcome's latest measurement. The cascade and the dashboard's roll-up
/// both read it.
pub const KEY_RESULT_VALUE: &str = "CASE WHEN k.progress_source = 'outcome'
         THEN (SELECT m.value FROM measurements m WHERE m.outcome_id = k.source_outcome_id
                ORDER BY m.measured_on DESC, m.created_at DESC LIMIT 1)
         ELSE k.current_value END";

/// The objectives where the cascade starts, as the recursive query's first part. One
/// objective (an objective's or key result's page) is bound as one value: PostgreSQL plans
/// a list afresh each time (1.6 ms), and one value once.
const ROOTS_BY_ID: &str = "SELECT id FROM objectives WHERE id = ANY($1)";
const ROOT_BY_ID: &str = "SELECT id FROM objectives WHERE id = $1";
const ROOTS_IN_PERIODS: &str =
    "SELECT o.id FROM objectives o JOIN periods pe ON pe.id = o.period_id
              WHERE pe.starts_on >= $1 AND pe.ends_on <= $2";
/// A unit's, as its own statement: written `$3 IS NULL OR … IN (…)` for both, the unit's
/// objectives were found by reading all 40,000 (8 ms for a division's 165), not through
/// their index (0.2 ms).
const ROOTS_IN_UNIT: &str = "SELECT o.id FROM objectives o JOIN periods pe ON pe.id = o.period_id
              WHERE pe.starts_on >= $1 AND pe.ends_on <= $2
                AND o.org_unit_id IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $3)";

/// The roots and every objective cascaded beneath them, with their key results and
/// progress; two statements however deep the tree.
pub async fn load(db: &crate::db::Db, roots: &[Uuid]) -> sqlx::Result<Cascade> {
    load_from(db, Roots::Objectives(roots)).await
}

pub async fn load_from(db: &crate::db::Db, roots: Roots<'_>) -> sqlx::Result<Cascade> {
    load_folding(db, roots, usize::MAX).await
}

/// As `load_from`, folded when it holds more than `fold_above` objectives: then only the
/// first level's key results are read (a division's 19 of 619), and the progress and
/// key-result counts of the objectives cascaded from them come from the dashboard's
/// roll-up (`objective_progress`, brought up to date first).
pub async fn load_folding(
    db: &crate::db::Db,
    roots: Roots<'_>,
    fold_above: usize,
) -> sqlx::Result<Cascade> {
    let base = match roots {
        Roots::Objectives([_]) => ROOT_BY_ID,
        Roots::Objectives(_) => ROOTS_BY_ID,
        Roots::Scope { unit: Some(_), .. } => ROOTS_IN_UNIT,
        Roots::Scope { unit: None, .. } => ROOTS_IN_PERIODS,
    };
    let sql = format!(
        "WITH RECURSIVE roots (id) AS ({base}),
         tree (id, depth) AS (
             SELECT id, 0 FROM roots
             UNION
             -- Each step looks up the children of the objectives found so far through
             -- their index (OFFSET 0 keeps the planner from joining every objective
             -- instead: 134 ms to 7 ms for a division's tree at 40,000 objectives), by
             -- their parent objective (migration 0025) rather than through the key results
             -- they were cascaded from.
             -- A root is not found again beneath another root: it is already at depth
             -- 0, and looking beneath it twice doubled the lookups (a division's 165
             -- objectives are nearly all cascaded from its own).
             SELECT c.id, t.depth + 1 FROM tree t
              CROSS JOIN LATERAL (SELECT o.id FROM objectives o
                                   WHERE o.parent_objective_id = t.id OFFSET 0) c
              WHERE t.depth < 20 AND c.id NOT IN (SELECT id FROM roots))
         SELECT {OBJECTIVE_COLUMNS}
           FROM (SELECT id, min(depth) AS depth FROM tree GROUP BY id) t
           JOIN objectives o ON o.id = t.id
           JOIN org_units u ON u.id = o.org_unit_id
           JOIN periods pe ON pe.id = o.period_id
           LEFT JOIN people p ON p.id = o.owner_id
          ORDER BY t.depth, pe.starts_on, lower(u.name), lower(o.title), o.id
          LIMIT 20000"
    );
    let query = sqlx::query_as(&sql);
    let query = match roots {
        Roots::Objectives([id]) => query.bind(id),
        Roots::Objectives(ids) => query.bind(ids),
        Roots::Scope {
            starts_on,
            ends_on,
            unit: Some(unit),
        } => query.bind(starts_on).bind(ends_on).bind(unit),
        Roots::Scope {
            starts_on,
            ends_on,
            unit: None,
        } => query.bind(starts_on).bind(ends_on),
    };
    let objectives: Vec<ObjectiveRow> = query.fetch_all(db).await?;
    let mut cascade = Cascade {
        objectives,
        ..Cascade::default()
    };
    let mut known = HashMap::new();
    if cascade.objectives.len() > fold_above {
        let first: HashSet<Uuid> = cascade.first_level().map(|o| o.id).collect();
        let folded: Vec<Uuid> = cascade
            .objectives
            .iter()
            .filter(|o| o.parent_objective_id.is_some_and(|p| first.contains(&p)))
            .map(|o| o.id)
            .collect();
        crate::dashboard::rollup::refresh(db).await?;
        let stored: Vec<(Uuid, Decimal, i32)> = sqlx::query_as(
            "SELECT objective_id, progress, key_results FROM objective_progress WHERE objective_id = ANY($1)",
        )
        .bind(&folded)
        .fetch_all(db)
        .await?;
        // Each was marked when written, so the refresh computed it; one deleted since is
        // not, and the tree is then read whole.
        if stored.len() == folded.len() {
            for (id, progress, count) in stored {
                known.insert(id, progress);
                cascade.key_result_counts.insert(id, count as usize);
            }
            cascade.folded = true;
        }
    }
    let ids: Vec<Uuid> = match cascade.folded {
        true => cascade.first_level().map(|o| o.id).collect(),
        false => cascade.objectives.iter().map(|o| o.id).collect(),
    };
    // One objective (most pages) is bound as one value, as the roots are.
    let which = match ids.as_slice() {
        [_] => "k.objective_id = $1",
        _ => "k.objective_id = ANY($1)",
    };
    let sql = format!(
        "SELECT {columns}
           FROM key_results k
           -- Each owner looked up by id: joined, the planner hashed all 25,000 people
           -- for a division's 619 key results (5 ms).
           LEFT JOIN LATERAL (SELECT p.name, p.active FROM people p WHERE p.id = k.owner_id OFFSET 0) p ON true
          WHERE {which}
          ORDER BY k.position, k.created_at, k.id",
        columns = key_result_columns()
    );
    let key_results = sqlx::query_as(&sql);
    let key_results: Vec<KeyResultRow> = match ids.as_slice() {
        [id] => key_results.bind(id),
        _ => key_results.bind(&ids),
    }
    .fetch_all(db)
    .await?;
    Ok(cascade.with_key_results(key_results, known))
}

/// A key result's row as the cascade reads it, `k` joined with its owner `p`.
fn key_result_columns() -> String {
    format!(
        "k.id, k.objective_id, k.title, k.metric, k.unit, k.unit_label, k.direction, k.start_value,
         k.target, k.band_lower, k.band_upper, k.weight, k.progress_source, {KEY_RESULT_VALUE} AS value,
         k.confidence, coalesce(k.last_check_in_on, k.created_at::date) AS since,
         k.owner_id, p.name AS owner_name, coalesce(p.active, false) AS owner_active, k.metric_key, k.version"
    )
}

impl Cascade {
    /// With its key results, each with its objective's check-in cadence, and the progress
    /// rolled up through it all (`known`: objectives whose progress the roll-up gave).
    fn with_key_results(
        mut self,
        mut key_results: Vec<KeyResultRow>,
        known: HashMap<Uuid, Decimal>,
    ) -> Cascade {
        // Each key result's check-in cadence is its objective's period's, already read:
        // joining the objectives and periods again cost a lookup per key result (619 for
        // a division).
        let check_in_days: HashMap<Uuid, i32> = self
            .objectives
            .iter()
            .map(|o| (o.id, o.check_in_days))
            .collect();
        for k in &mut key_results {
            k.check_in_days = check_in_days
                .get(&k.objective_id)
                .copied()
                .unwrap_or_default();
        }
        self.progress = Progress::compute_with(
            known,
            &self
                .objectives
                .iter()
                .map(|o| (o.id, o.parent_key_result_id))
                .collect::<Vec<_>>(),
            &key_results
                .iter()
                .map(KeyResultRow::node)
                .collect::<Vec<_>>(),
        );
        self.key_results = key_results;
        self
    }
}

/// The cascade beneath one objective, `root` (SQL naming it, such as a column of the
/// statement around it), as one JSON column: what [`load`] reads in two more statements,
/// for a page that reads its record and the cascade in one. Read with `#[sqlx(json)]`
/// into [`CascadeJson`].
///
/// The units, periods and owners are looked up by id: joined, the planner (which cannot
/// tell how deep the tree is) hashed all 631 units for the one objective a team's key
/// result sits in (0.63 ms for that cascade, 0.36 looked up).
pub fn json_of(root: &str) -> String {
    format!(
        "(WITH RECURSIVE tree (id, depth) AS (
             SELECT {root}, 0
             UNION
             SELECT c.id, t.depth + 1 FROM tree t
              CROSS JOIN LATERAL (SELECT o.id FROM objectives o
                                   WHERE o.parent_objective_id = t.id OFFSET 0) c
              WHERE t.depth < 20 AND c.id <> {root})
         SELECT json_build_object('objectives', {objectives}, 'key_results', {key_results}))",
        objectives = crate::db::json::rows(&format!(
            "SELECT {OBJECTIVE_COLUMNS}
               FROM (SELECT id, min(depth) AS depth FROM tree GROUP BY id) t
               JOIN objectives o ON o.id = t.id
               CROSS JOIN LATERAL (SELECT u.name FROM org_units u WHERE u.id = o.org_unit_id OFFSET 0) u
               CROSS JOIN LATERAL (SELECT pe.name, pe.starts_on, pe.check_in_days FROM periods pe
                                    WHERE pe.id = o.period_id OFFSET 0) pe
               LEFT JOIN LATERAL (SELECT p.name, p.active FROM people p WHERE p.id = o.owner_id OFFSET 0) p ON true
              ORDER BY t.depth, pe.starts_on, lower(u.name), lower(o.title), o.id
              LIMIT 20000"
        )),
        key_results = crate::db::json::rows(&format!(
            "SELECT {columns}
               FROM key_results k
               LEFT JOIN LATERAL (SELECT p.name, p.active FROM people p WHERE p.id = k.owner_id OFFSET 0) p ON true
              WHERE k.objective_id IN (SELECT id FROM tree)
              ORDER BY k.position, k.created_at, k.id",
            columns = key_result_columns()
        )),
    )
}

/// The cascade a key result sits in (beneath its objective), in one statement; `None` when
/// there is no such key result.
pub async fn of_key_result(db: &crate::db::Db, id: Uuid) -> sqlx::Result<Option<Cascade>> {
    static READ: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {} FROM key_results k WHERE k.id = $1",
            json_of("k.objective_id")
        )
    });
    let json: Option<sqlx::types::Json<CascadeJson>> = sqlx::query_scalar(&READ)
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(json.map(|json| Cascade::from(json.0)))
}

/// A cascade as [`json_of`] reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct CascadeJson {
    objectives: Vec<ObjectiveRow>,
    key_results: Vec<KeyResultRow>,
}

impl CascadeJson {
    /// How many objectives and key results it holds.
    pub fn len(&self) -> usize {
        self.objectives.len() + self.key_results.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<CascadeJson> for Cascade {
    fn from(json: CascadeJson) -> Cascade {
        Cascade {
            objectives: json.objectives,
            ..Cascade::default()
        }
        .with_key_results(json.key_results, HashMap::new())
    }
}
