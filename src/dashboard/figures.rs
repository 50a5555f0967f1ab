//! The dashboard's figures (DOMAIN.md, Rules → Dashboard figures), aggregated in SQL for a
//! scope (a unit and everything beneath it) and a period or a range of periods: a handful of
//! statements whatever the size of the organisation, most grouped by type of work, by child
//! unit, and in total.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

/// One group of a figure: a type of work, a child unit, or the total.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EpicCounts {
    /// The type of work; None for the child-unit and total rows.
    pub work_type: Option<String>,
    /// The child unit (or the scope's own unit for its own epics); None for type and total.
    pub child_id: Option<Uuid>,
    pub epics: i64,
    /// With an active owner and at least one (complete) outcome.
    pub covered: i64,
    /// With at least one outcome serving a key result.
    pub aligned: i64,
    /// Days from started to delivered (median, 85th percentile), over delivered epics.
    pub cycle_p50: Option<f64>,
    pub cycle_p85: Option<f64>,
    /// Days from delivered to every loop closed (median, 85th percentile), over closed epics.
    pub realisation_p50: Option<f64>,
    pub realisation_p85: Option<f64>,
    /// Their outcomes, and those revised after commitment.
    pub outcomes: i64,
    pub revised: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoopCounts {
    /// The type of work, or "initiative".
    pub work_type: Option<String>,
    pub child_id: Option<Uuid>,
    /// Loops due: measure-by in the period and not after today.
    pub due: i64,
    pub closed: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VerdictCounts {
    pub work_type: Option<String>,
    pub child_id: Option<Uuid>,
    pub closed: i64,
    pub achieved: i64,
    pub partially: i64,
    pub not_achieved: i64,
    pub inconclusive: i64,
}

/// The units in scope, each with the child of the scope's unit it belongs to (the unit
/// itself for its own work).
const SCOPE: &str = "scope AS MATERIALIZED (
        SELECT t.descendant_id AS id,
               coalesce((SELECT c.ancestor_id FROM org_unit_tree c JOIN org_units cu ON cu.id = c.ancestor_id
                          WHERE c.descendant_id = t.descendant_id AND cu.parent_id = $1), $1) AS child_id
          FROM org_unit_tree t WHERE t.ancestor_id = $1)";

/// Outcome and alignment coverage of the epics planned in the period (cancelled excluded).
pub async fn coverage(
    db: &sqlx::PgPool,
    unit: Uuid,
    periods: &[Uuid],
) -> sqlx::Result<Vec<EpicCounts>> {
    sqlx::query_as(&format!(
        "WITH {SCOPE},
         e AS (
             SELECT e.work_type, s.child_id,
                    coalesce(p.active, false) AND EXISTS (SELECT 1 FROM outcomes o WHERE o.epic_id = e.id) AS covered,
                    EXISTS (SELECT 1 FROM outcomes o JOIN outcome_key_results l ON l.outcome_id = o.id
                             WHERE o.epic_id = e.id) AS aligned,
                    extract(epoch FROM e.delivered_at - e.started_at) / 86400 AS cycle_days,
                    CASE WHEN e.status = 'closed' THEN extract(epoch FROM e.closed_at - e.delivered_at) / 86400 END
                        AS realisation_days,
                    (SELECT count(*) FROM outcomes o WHERE o.epic_id = e.id) AS outcomes,
                    (SELECT count(*) FROM outcomes o WHERE o.epic_id = e.id
                        AND EXISTS (SELECT 1 FROM outcome_revisions r WHERE r.outcome_id = o.id)) AS revised
               FROM epics e JOIN scope s ON s.id = e.team_id LEFT JOIN people p ON p.id = e.owner_id
              WHERE e.period_id = ANY($2) AND e.status <> 'cancelled')
         SELECT work_type, child_id, count(*) AS epics, count(*) FILTER (WHERE covered) AS covered,
                count(*) FILTER (WHERE aligned) AS aligned,
                (percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_days))::float8 AS cycle_p50,
                (percentile_cont(0.85) WITHIN GROUP (ORDER BY cycle_days))::float8 AS cycle_p85,
                (percentile_cont(0.5) WITHIN GROUP (ORDER BY realisation_days))::float8 AS realisation_p50,
                (percentile_cont(0.85) WITHIN GROUP (ORDER BY realisation_days))::float8 AS realisation_p85,
                coalesce(sum(outcomes), 0)::bigint AS outcomes, coalesce(sum(revised), 0)::bigint AS revised
           FROM e GROUP BY GROUPING SETS ((work_type), (child_id), ())"
    ))
    .bind(unit)
    .bind(periods)
    .fetch_all(db)
    .await
}

/// Loops due in the period (measure-by from its first day to the earlier of today and its
/// last day) and how many are closed; outcomes of epics and of initiatives, cancelled work
/// excluded.
pub async fn closure(
    db: &sqlx::PgPool,
    unit: Uuid,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    today: NaiveDate,
) -> sqlx::Result<Vec<LoopCounts>> {
    sqlx::query_as(&format!(
        "WITH {SCOPE},
         l AS (
             SELECT coalesce(e.work_type, 'initiative') AS work_type, s.child_id, o.closed_at IS NOT NULL AS closed
               FROM outcomes o
               LEFT JOIN epics e ON e.id = o.epic_id
               LEFT JOIN initiatives i ON i.id = o.initiative_id
               JOIN scope s ON s.id = coalesce(e.team_id, i.org_unit_id)
              WHERE coalesce(e.status, i.status) <> 'cancelled'
                AND o.measure_by >= $2 AND o.measure_by <= least($3, $4))
         SELECT work_type, child_id, count(*) AS due, count(*) FILTER (WHERE closed) AS closed
           FROM l GROUP BY GROUPING SETS ((work_type), (child_id), ())"
    ))
    .bind(unit)
    .bind(starts_on)
    .bind(ends_on)
    .bind(today)
    .fetch_all(db)
    .await
}

/// Loops closed in the period (by closing day), by verdict.
pub async fn verdicts(
    db: &sqlx::PgPool,
    unit: Uuid,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
) -> sqlx::Result<Vec<VerdictCounts>> {
    sqlx::query_as(&format!(
        "WITH {SCOPE},
         c AS (
             SELECT coalesce(e.work_type, 'initiative') AS work_type, s.child_id, o.verdict
               FROM outcomes o
               LEFT JOIN epics e ON e.id = o.epic_id
               LEFT JOIN initiatives i ON i.id = o.initiative_id
               JOIN scope s ON s.id = coalesce(e.team_id, i.org_unit_id)
              WHERE o.closed_at IS NOT NULL AND o.closed_on BETWEEN $2 AND $3
                AND coalesce(e.status, i.status) <> 'cancelled')
         SELECT work_type, child_id, count(*) AS closed,
                count(*) FILTER (WHERE verdict = 'achieved') AS achieved,
                count(*) FILTER (WHERE verdict = 'partially_achieved') AS partially,
                count(*) FILTER (WHERE verdict = 'not_achieved') AS not_achieved,
                count(*) FILTER (WHERE verdict = 'inconclusive') AS inconclusive
           FROM c GROUP BY GROUPING SETS ((work_type), (child_id), ())"
    ))
    .bind(unit)
    .bind(starts_on)
    .bind(ends_on)
    .fetch_all(db)
    .await
}

/// Delivered work's anticipated value against the value realised, with its cost where the
/// team has a cost rate: per type, child unit and total, for each label values are counted
/// in and each currency (None: no rate). ROI needs money on both sides: it is computed
/// where the values are in the cost's currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ValueCounts {
    pub work_type: Option<String>,
    pub child_id: Option<Uuid>,
    /// What the epics' values are counted in ("EUR", "learners"); empty when none is set.
    pub label: String,
    pub currency: Option<String>,
    /// Delivered epics (delivered, measuring or closed), and those with an anticipated value.
    pub delivered: i64,
    pub valued: i64,
    pub anticipated: Option<Decimal>,
    /// Epics with a realised value recorded, and its sum.
    pub realised_epics: i64,
    pub realised: Option<Decimal>,
    /// Epics with effort and a rate, and their cost.
    pub costed: i64,
    pub cost: Option<Decimal>,
    /// Realised value and cost over the epics where both are known and the value is money
    /// in the cost's currency: ROI's two parts.
    pub roi_realised: Option<Decimal>,
    pub roi_cost: Option<Decimal>,
}

/// Value and ROI of the epics planned in the periods and delivered, cancelled excluded;
/// each unit's rate (its own or the nearest above) is looked up once.
pub async fn value(
    db: &sqlx::PgPool,
    unit: Uuid,
    periods: &[Uuid],
) -> sqlx::Result<Vec<ValueCounts>> {
    sqlx::query_as(&format!(
        "WITH {SCOPE},
         rates AS (
             SELECT s.id, s.child_id, r.rate, r.currency FROM scope s
               LEFT JOIN LATERAL (
                   SELECT c.rate, c.currency FROM org_unit_tree t JOIN unit_cost_rates c ON c.org_unit_id = t.ancestor_id
                    WHERE t.descendant_id = s.id ORDER BY t.depth LIMIT 1) r ON true),
         w AS (
             SELECT e.work_type, r.child_id, r.currency, btrim(e.value_label) AS label, e.value,
                    e.effort_weeks * r.rate AS cost,
                    (SELECT sum(o.realised_value) FROM outcomes o WHERE o.epic_id = e.id) AS realised
               FROM epics e JOIN rates r ON r.id = e.team_id
              WHERE e.period_id = ANY($2) AND e.status IN ('delivered', 'measuring', 'closed'))
         SELECT work_type, child_id, label, currency, count(*) AS delivered, count(value) AS valued,
                sum(value) AS anticipated, count(realised) AS realised_epics, sum(realised) AS realised,
                count(cost) AS costed, sum(cost) AS cost,
                sum(realised) FILTER (WHERE cost IS NOT NULL AND upper(label) = currency) AS roi_realised,
                sum(cost) FILTER (WHERE realised IS NOT NULL AND upper(label) = currency) AS roi_cost
           FROM w GROUP BY GROUPING SETS ((work_type, label, currency), (child_id, label, currency), (label, currency))
          ORDER BY label = '', label, currency NULLS LAST"
    ))
    .bind(unit)
    .bind(periods)
    .fetch_all(db)
    .await
}

/// Realisation in one period of the trend: its loops closed, by verdict.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TrendPoint {
    pub period_id: Uuid,
    pub name: String,
    pub closed: i64,
    pub achieved: i64,
    pub partially: i64,
    pub not_achieved: i64,
    pub inconclusive: i64,
}

impl TrendPoint {
    /// Achieved ÷ closed with a verdict other than inconclusive.
    pub fn rate(&self) -> Option<f64> {
        let judged = self.closed - self.inconclusive;
        (judged > 0).then(|| self.achieved as f64 / judged as f64)
    }
}

/// The realisation of the last `count` periods of `cadence` ending by `ends_on`, oldest first.
pub async fn trend(
    db: &sqlx::PgPool,
    unit: Uuid,
    cadence: &str,
    ends_on: NaiveDate,
    count: i64,
) -> sqlx::Result<Vec<TrendPoint>> {
    sqlx::query_as(&format!(
        "WITH {SCOPE},
         ps AS (SELECT id, name, starts_on, ends_on FROM periods
                 WHERE cadence = $2 AND ends_on <= $3 ORDER BY ends_on DESC LIMIT $4),
         c AS (
             SELECT o.closed_on, o.verdict
               FROM outcomes o
               LEFT JOIN epics e ON e.id = o.epic_id
               LEFT JOIN initiatives i ON i.id = o.initiative_id
               JOIN scope s ON s.id = coalesce(e.team_id, i.org_unit_id)
              WHERE o.closed_at IS NOT NULL
                AND o.closed_on BETWEEN (SELECT min(starts_on) FROM ps) AND (SELECT max(ends_on) FROM ps)
                AND coalesce(e.status, i.status) <> 'cancelled')
         SELECT ps.id AS period_id, ps.name, count(c.verdict) AS closed,
                count(*) FILTER (WHERE c.verdict = 'achieved') AS achieved,
                count(*) FILTER (WHERE c.verdict = 'partially_achieved') AS partially,
                count(*) FILTER (WHERE c.verdict = 'not_achieved') AS not_achieved,
                count(*) FILTER (WHERE c.verdict = 'inconclusive') AS inconclusive
           FROM ps LEFT JOIN c ON c.closed_on BETWEEN ps.starts_on AND ps.ends_on
          GROUP BY ps.id, ps.name, ps.starts_on ORDER BY ps.starts_on"
    ))
    .bind(unit)
    .bind(cadence)
    .bind(ends_on)
    .bind(count)
    .fetch_all(db)
    .await
}

/// An outcome closed in the period: what was committed and what was observed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClosedOutcome {
    pub id: Uuid,
    pub metric: String,
    pub unit: String,
    pub unit_label: String,
    pub parent_title: String,
    pub verdict: String,
    /// The commitment it was judged against (`Commitment::to_json`), if recorded.
    pub judged_against: Option<serde_json::Value>,
    pub direction: String,
    pub baseline: Decimal,
    pub target: Option<Decimal>,
    pub band_lower: Option<Decimal>,
    pub band_upper: Option<Decimal>,
    /// The latest measurement on or before the closing day.
    pub actual: Option<Decimal>,
    pub closed_on: NaiveDate,
}

/// The outcomes closed in the dates, latest first, at most `limit`, with how many there are.
pub async fn closed_outcomes(
    db: &sqlx::PgPool,
    unit: Uuid,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    limit: i64,
) -> sqlx::Result<Vec<ClosedOutcome>> {
    sqlx::query_as(
        "SELECT o.id, o.metric, o.unit, o.unit_label, coalesce(e.title, i.title) AS parent_title, o.verdict,
                o.judged_against, o.direction, o.baseline, o.target, o.band_lower, o.band_upper,
                (SELECT m.value FROM measurements m WHERE m.outcome_id = o.id AND m.measured_on <= o.closed_on
                  ORDER BY m.measured_on DESC, m.created_at DESC LIMIT 1) AS actual,
                o.closed_on
           FROM outcomes o
           LEFT JOIN epics e ON e.id = o.epic_id
           LEFT JOIN initiatives i ON i.id = o.initiative_id
          WHERE o.closed_at IS NOT NULL AND o.closed_on BETWEEN $2 AND $3
            AND coalesce(e.status, i.status) <> 'cancelled'
            AND coalesce(e.team_id, i.org_unit_id) IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1)
          ORDER BY o.closed_on DESC, o.id
          LIMIT $4",
    )
    .bind(unit)
    .bind(starts_on)
    .bind(ends_on)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Objectives and key results of a child unit (or the total): how far the objectives are,
/// rolled up through their cascades, and how confident the key results' owners are.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OkrHealth {
    pub child_id: Option<Uuid>,
    pub objectives: i64,
    /// Mean progress of the objectives, 0–1.
    pub progress: Option<Decimal>,
    pub key_results: i64,
    pub on_track: i64,
    pub at_risk: i64,
    pub off_track: i64,
    pub no_confidence: i64,
    /// Key results followed by check-ins whose cadence has passed.
    pub check_ins_due: i64,
}

impl OkrHealth {
    /// A unit without objectives in scope.
    pub fn none(child: Uuid) -> OkrHealth {
        OkrHealth {
            child_id: Some(child),
            objectives: 0,
            progress: None,
            key_results: 0,
            on_track: 0,
            at_risk: 0,
            off_track: 0,
            no_confidence: 0,
            check_ins_due: 0,
        }
    }
}

/// A key result's own progress from the value it follows (`Goal::progress`), as SQL over
/// `k` (the key result) and `v` (its value); NULL before any value.
const OWN_PROGRESS: &str = "CASE WHEN v IS NULL THEN NULL
         WHEN k.direction = 'stay_within' THEN CASE WHEN v BETWEEN k.band_lower AND k.band_upper THEN 1 ELSE 0 END
         WHEN k.target = k.start_value THEN 0
         ELSE greatest(0, least(1, (v - k.start_value) / (k.target - k.start_value))) END";

/// The value a key result follows: its latest check-in's, or its outcome's latest measurement.
const KR_VALUE: &str = "CASE WHEN k.progress_source = 'outcome'
         THEN (SELECT m.value FROM measurements m WHERE m.outcome_id = k.source_outcome_id
                ORDER BY m.measured_on DESC, m.created_at DESC LIMIT 1)
         ELSE k.current_value END";

/// OKR health of the objectives of periods within the dates in scope, by child unit and in
/// total. Progress rolls up as `okrs::model::Progress` does: an objective is the weighted
/// mean of its key results; a rolled-up key result the mean of the objectives cascaded from
/// it. The walk down each cascade carries the share each key result's value has in the
/// objective at its top, so one statement sums every objective's progress.
pub async fn okr_health(
    db: &sqlx::PgPool,
    unit: Uuid,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    today: NaiveDate,
) -> sqlx::Result<Vec<OkrHealth>> {
    sqlx::query_as(&format!(
        "WITH RECURSIVE {SCOPE},
         roots AS (
             SELECT o.id, s.child_id FROM objectives o JOIN periods pe ON pe.id = o.period_id
               JOIN scope s ON s.id = o.org_unit_id
              WHERE pe.starts_on >= $2 AND pe.ends_on <= $3),
         walk (root, objective_id, share, depth) AS (
             SELECT id, id, 1::numeric, 0 FROM roots
             UNION ALL
             SELECT w.root, c.id,
                    w.share * k.weight / (SELECT sum(weight) FROM key_results WHERE objective_id = w.objective_id)
                           / (SELECT count(*) FROM objectives WHERE parent_key_result_id = k.id),
                    w.depth + 1
               FROM walk w
               JOIN key_results k ON k.objective_id = w.objective_id AND k.progress_source = 'roll_up'
               JOIN objectives c ON c.parent_key_result_id = k.id
              WHERE w.depth < 20),
         leaves AS (
             SELECT w.root,
                    w.share * k.weight / nullif((SELECT sum(weight) FROM key_results WHERE objective_id = k.objective_id), 0)
                        * coalesce(({OWN_PROGRESS}), 0) AS part,
                    k.progress_source = 'roll_up' AND EXISTS (SELECT 1 FROM objectives c WHERE c.parent_key_result_id = k.id) AS rolls
               FROM walk w JOIN key_results k ON k.objective_id = w.objective_id
               CROSS JOIN LATERAL (SELECT {KR_VALUE} AS v) val),
         parts AS (SELECT root, sum(part) AS progress FROM leaves WHERE NOT rolls GROUP BY root),
         progress AS (
             SELECT r.id, r.child_id, coalesce(p.progress, 0) AS progress
               FROM roots r LEFT JOIN parts p ON p.root = r.id),
         krs AS (
             SELECT r.child_id, k.confidence,
                    k.progress_source = 'check_ins'
                        AND $4::date - coalesce(k.last_check_in_on, k.created_at::date) > pe.check_in_days AS due
               FROM roots r JOIN key_results k ON k.objective_id = r.id
               JOIN objectives o ON o.id = r.id JOIN periods pe ON pe.id = o.period_id),
         by_objective AS (
             SELECT child_id, count(*) AS objectives, round(avg(progress), 12) AS progress FROM progress
              GROUP BY GROUPING SETS ((child_id), ())),
         by_kr AS (
             SELECT child_id, count(*) AS key_results,
                    count(*) FILTER (WHERE confidence >= 7) AS on_track,
                    count(*) FILTER (WHERE confidence BETWEEN 4 AND 6) AS at_risk,
                    count(*) FILTER (WHERE confidence <= 3) AS off_track,
                    count(*) FILTER (WHERE confidence IS NULL) AS no_confidence,
                    count(*) FILTER (WHERE due) AS check_ins_due
               FROM krs GROUP BY GROUPING SETS ((child_id), ()))
         SELECT o.child_id, o.objectives, o.progress, coalesce(k.key_results, 0) AS key_results,
                coalesce(k.on_track, 0) AS on_track, coalesce(k.at_risk, 0) AS at_risk,
                coalesce(k.off_track, 0) AS off_track, coalesce(k.no_confidence, 0) AS no_confidence,
                coalesce(k.check_ins_due, 0) AS check_ins_due
           FROM by_objective o LEFT JOIN by_kr k ON k.child_id IS NOT DISTINCT FROM o.child_id"
    ))
    .bind(unit)
    .bind(starts_on)
    .bind(ends_on)
    .bind(today)
    .fetch_all(db)
    .await
}

/// Key results of the objectives in scope followed by check-ins whose cadence has passed
/// (`okrs::model::check_in_due`), longest waiting first, at most `limit`.
pub async fn due_check_ins(
    db: &sqlx::PgPool,
    unit: Uuid,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    today: NaiveDate,
    limit: i64,
) -> sqlx::Result<Vec<super::rows::DueCheckIn>> {
    sqlx::query_as(
        "SELECT k.id, k.title, o.id AS objective_id, o.title AS objective_title, u.name AS unit_name,
                p.name AS owner_name, coalesce(k.last_check_in_on, k.created_at::date) AS since, pe.check_in_days
           FROM key_results k
           JOIN objectives o ON o.id = k.objective_id
           JOIN periods pe ON pe.id = o.period_id
           JOIN org_units u ON u.id = o.org_unit_id
           LEFT JOIN people p ON p.id = k.owner_id
          WHERE pe.starts_on >= $2 AND pe.ends_on <= $3
            AND o.org_unit_id IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1)
            AND k.progress_source = 'check_ins'
            AND $4::date - coalesce(k.last_check_in_on, k.created_at::date) > pe.check_in_days
          ORDER BY since, k.id
          LIMIT $5",
    )
    .bind(unit)
    .bind(starts_on)
    .bind(ends_on)
    .bind(today)
    .bind(limit)
    .fetch_all(db)
    .await
}
