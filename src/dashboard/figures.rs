//! The dashboard's figures (DOMAIN.md, Rules → Dashboard figures), aggregated in SQL for a
//! scope (a unit and everything beneath it) and a period or a range of periods: a handful of
//! statements whatever the size of the organisation, most grouped by type of work, by child
//! unit, and in total.

use super::rollup::{CHECK_IN_DAYS, EPIC_GROUPS, LOOP_DAYS, OKR_GROUPS, Rollup};
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

/// The sums `sums` (over rows `x`) of a pre-aggregated table (`dashboard_*`, migrations 0012
/// and 0022) for the scope of `$1`: by child unit from each child's sums over everything
/// beneath it (`*_up`) and the unit's own work; by type of work and in total from the
/// unit's own sums. A few dozen rows for the company, where its teams' rows were tens of
/// thousands; summing its children's rows three ways instead took a third longer (the
/// quarter's loops due: 2.6 ms, now 1.9). `filter` reads the rows as `x`.
fn scoped(rollup: &Rollup, sums: &str, filter: &str) -> String {
    scoped_by(rollup, sums, filter, true)
}

/// As `scoped`, by child unit and in total only when not `by_type` (the table has no types
/// of work); its work type column is then NULL.
fn scoped_by(rollup: &Rollup, sums: &str, filter: &str, by_type: bool) -> String {
    let Rollup { table, team, .. } = rollup;
    let (work_type, total) = match by_type {
        true => ("x.work_type", "GROUP BY GROUPING SETS ((x.work_type), ())"),
        false => ("NULL", ""),
    };
    format!(
        "SELECT NULL::text AS work_type, c.id AS child_id, {sums}
           FROM org_units c JOIN {table}_up x ON x.unit_id = c.id
          WHERE c.parent_id = $1 AND {filter} GROUP BY c.id
         UNION ALL
         SELECT NULL, $1::uuid, {sums} FROM {table} x WHERE x.{team} = $1 AND {filter} HAVING count(*) > 0
         UNION ALL
         SELECT {work_type}, NULL, {sums} FROM {table}_up x WHERE x.unit_id = $1 AND {filter} {total}"
    )
}

/// Outcome and alignment coverage, outcomes and revisions of the epics planned in the
/// periods (cancelled excluded), from the epic groups. Flow percentiles come from `flow`.
pub async fn coverage(
    db: &crate::db::Db,
    unit: Uuid,
    periods: &[Uuid],
) -> sqlx::Result<Vec<EpicCounts>> {
    sqlx::query_as(&scoped(
        &EPIC_GROUPS,
        "coalesce(sum(x.epics), 0)::bigint AS epics, coalesce(sum(x.covered), 0)::bigint AS covered,
         coalesce(sum(x.aligned), 0)::bigint AS aligned, NULL::float8 AS cycle_p50, NULL::float8 AS cycle_p85,
         NULL::float8 AS realisation_p50, NULL::float8 AS realisation_p85,
         coalesce(sum(x.outcomes), 0)::bigint AS outcomes, coalesce(sum(x.revised), 0)::bigint AS revised",
        "x.period_id = ANY($2)",
    ))
    .bind(unit)
    .bind(periods)
    .fetch_all(db)
    .await
}

/// A percentile of cycle time or time to realisation for a type, a child unit or the total.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FlowPercentiles {
    /// "cycle" or "realisation".
    pub kind: String,
    pub work_type: Option<String>,
    pub child_id: Option<Uuid>,
    pub p50: Option<f64>,
    pub p85: Option<f64>,
}

/// Median and 85th percentile (interpolated, as `percentile_cont`) of the whole days from
/// started to delivered and from delivered to closed, read exactly from the day counts: by
/// child unit from each child's sums (its types added up) and the unit's own work, by type
/// and in total from the unit's own sums. PostgreSQL hands the counts over in order and the
/// percentiles are found here: ranked in SQL (running sums over grouping sets), the
/// company's quarter took 7-10 ms; read as each group's days and counts, 2 ms.
pub async fn flow(
    db: &crate::db::Db,
    unit: Uuid,
    periods: &[Uuid],
) -> sqlx::Result<Vec<FlowPercentiles>> {
    type Counts = (String, Option<String>, Option<Uuid>, Vec<i32>, Vec<i64>);
    let groups: Vec<Counts> = sqlx::query_as(
        "SELECT kind, work_type, child_id, array_agg(days ORDER BY days), array_agg(epics ORDER BY days)
           FROM (SELECT x.kind, NULL::text AS work_type, c.id AS child_id, x.days, sum(x.epics)::bigint AS epics
                   FROM org_units c JOIN dashboard_flow_up x ON x.unit_id = c.id
                  WHERE c.parent_id = $1 AND x.period_id = ANY($2)
                  GROUP BY x.kind, c.id, x.days
                 UNION ALL
                 SELECT x.kind, NULL, $1, x.days, sum(x.epics)::bigint FROM dashboard_flow x
                  WHERE x.team_id = $1 AND x.period_id = ANY($2)
                  GROUP BY x.kind, x.days
                 UNION ALL
                 SELECT x.kind, x.work_type, NULL, x.days, sum(x.epics)::bigint FROM dashboard_flow_up x
                  WHERE x.unit_id = $1 AND x.period_id = ANY($2)
                  GROUP BY GROUPING SETS ((x.kind, x.work_type, x.days), (x.kind, x.days))) d
          GROUP BY kind, work_type, child_id",
    )
    .bind(unit)
    .bind(periods)
    .fetch_all(db)
    .await?;
    Ok(groups
        .into_iter()
        .map(|(kind, work_type, child_id, days, epics)| {
            let counts: Vec<(i32, i64)> = days.into_iter().zip(epics).collect();
            FlowPercentiles {
                kind,
                work_type,
                child_id,
                p50: percentile(&counts, 0.5),
                p85: percentile(&counts, 0.85),
            }
        })
        .collect())
}

/// The `p` percentile, interpolated between the closest ranks as `percentile_cont` does,
/// of values given as (value, how many times), in ascending order of value.
pub fn percentile(counts: &[(i32, i64)], p: f64) -> Option<f64> {
    let total: i64 = counts.iter().map(|c| c.1).sum();
    if total == 0 {
        return None;
    }
    let rank = p * (total - 1) as f64;
    // The value at a 0-based rank: the first whose running count passes it.
    let at = |rank: i64| {
        let mut upto = 0;
        counts
            .iter()
            .find(|(_, n)| {
                upto += n;
                upto > rank
            })
            .map_or(0.0, |(value, _)| f64::from(*value))
    };
    let (lo, hi) = (at(rank.floor() as i64), at(rank.ceil() as i64));
    Some(lo + (hi - lo) * (rank - rank.floor()))
}

/// Loops due in the period (measure-by from its first day to the earlier of today and its
/// last day) and how many are closed; outcomes of epics and of initiatives, cancelled work
/// excluded.
pub async fn closure(
    db: &crate::db::Db,
    unit: Uuid,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    today: NaiveDate,
) -> sqlx::Result<Vec<LoopCounts>> {
    sqlx::query_as(&scoped(
        &LOOP_DAYS,
        "coalesce(sum(x.due), 0)::bigint AS due, coalesce(sum(x.due_closed), 0)::bigint AS closed",
        "x.day >= $2 AND x.day <= least($3::date, $4::date) AND x.due > 0",
    ))
    .bind(unit)
    .bind(starts_on)
    .bind(ends_on)
    .bind(today)
    .fetch_all(db)
    .await
}

/// How many loops in scope are overdue (open, measure-by before today): of the loops due
/// each day before today, those not closed. One unit's sums over everything beneath it.
pub async fn overdue_loops(db: &crate::db::Db, unit: Uuid, today: NaiveDate) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT coalesce(sum(due - due_closed), 0)::bigint FROM dashboard_loop_days_up
          WHERE unit_id = $1 AND day < $2",
    )
    .bind(unit)
    .bind(today)
    .fetch_one(db)
    .await
}

/// Loops closed in the period (by closing day), by verdict.
pub async fn verdicts(
    db: &crate::db::Db,
    unit: Uuid,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
) -> sqlx::Result<Vec<VerdictCounts>> {
    sqlx::query_as(&scoped(
        &LOOP_DAYS,
        "coalesce(sum(x.closed), 0)::bigint AS closed, coalesce(sum(x.achieved), 0)::bigint AS achieved,
         coalesce(sum(x.partially), 0)::bigint AS partially,
         coalesce(sum(x.not_achieved), 0)::bigint AS not_achieved,
         coalesce(sum(x.inconclusive), 0)::bigint AS inconclusive",
        "x.day BETWEEN $2 AND $3 AND x.closed > 0",
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

/// Value and ROI of the epics planned in the periods and delivered, cancelled excluded.
/// Cost is effort at the rate of each team (its own or the nearest above). A child unit
/// with no rate set beneath it costs all its work at its own rate, so its sums
/// (`dashboard_epic_groups_up`) are read, a few rows; a child with rates of its own beneath
/// it is read team by team, each group at its team's rate. The company's quarter read its
/// 1,769 team groups and looked each team's rate up (7 ms); now 120 rows.
pub async fn value(
    db: &crate::db::Db,
    unit: Uuid,
    periods: &[Uuid],
) -> sqlx::Result<Vec<ValueCounts>> {
    sqlx::query_as(
        "WITH kids AS (
             SELECT c.id, EXISTS (SELECT 1 FROM org_unit_tree t JOIN unit_cost_rates r ON r.org_unit_id = t.descendant_id
                                   WHERE t.ancestor_id = c.id AND t.depth > 0) AS nested
               FROM org_units c WHERE c.parent_id = $1),
         g AS (
             -- Each row with the unit whose rate applies to all of it.
             SELECT k.id AS child_id, k.id AS rated, x.work_type, x.label, x.delivered, x.valued, x.anticipated,
                    x.realised_epics, x.realised, x.with_effort, x.effort, x.roi_realised, x.roi_effort
               FROM kids k JOIN dashboard_epic_groups_up x ON x.unit_id = k.id
              WHERE NOT k.nested AND x.period_id = ANY($2) AND x.delivered > 0
             UNION ALL
             SELECT k.id, x.team_id, x.work_type, x.label, x.delivered, x.valued, x.anticipated,
                    x.realised_epics, x.realised, x.with_effort, x.effort, x.roi_realised, x.roi_effort
               FROM kids k JOIN org_unit_tree t ON t.ancestor_id = k.id
               JOIN dashboard_epic_groups x ON x.team_id = t.descendant_id
              WHERE k.nested AND x.period_id = ANY($2) AND x.delivered > 0
             UNION ALL
             SELECT $1, $1, x.work_type, x.label, x.delivered, x.valued, x.anticipated,
                    x.realised_epics, x.realised, x.with_effort, x.effort, x.roi_realised, x.roi_effort
               FROM dashboard_epic_groups x
              WHERE x.team_id = $1 AND x.period_id = ANY($2) AND x.delivered > 0),
         w AS (
             SELECT g.*, r.rate, r.currency FROM g
               LEFT JOIN LATERAL (
                   SELECT c.rate, c.currency FROM org_unit_tree t JOIN unit_cost_rates c ON c.org_unit_id = t.ancestor_id
                    WHERE t.descendant_id = g.rated ORDER BY t.depth LIMIT 1) r ON true)
         SELECT work_type, child_id, label, currency, sum(delivered)::bigint AS delivered, sum(valued)::bigint AS valued,
                sum(anticipated) AS anticipated, sum(realised_epics)::bigint AS realised_epics, sum(realised) AS realised,
                coalesce(sum(with_effort) FILTER (WHERE rate IS NOT NULL), 0)::bigint AS costed,
                sum(effort * rate) AS cost,
                sum(roi_realised) FILTER (WHERE rate IS NOT NULL AND upper(label) = currency) AS roi_realised,
                sum(roi_effort * rate) FILTER (WHERE upper(label) = currency) AS roi_cost
           FROM w GROUP BY GROUPING SETS ((work_type, label, currency), (child_id, label, currency), (label, currency))
          ORDER BY label = '', label, currency NULLS LAST",
    )
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
/// The periods are read first, so the planner knows the range of days it sums (found only
/// while running, it guessed a few hundred rows for the company's 77,000 and sorted them on
/// disk: 210 ms).
pub async fn trend(
    db: &crate::db::Db,
    unit: Uuid,
    cadence: &str,
    ends_on: NaiveDate,
    count: i64,
) -> sqlx::Result<Vec<TrendPoint>> {
    type Period = (Uuid, String, NaiveDate, NaiveDate);
    let periods: Vec<Period> = sqlx::query_as(
        "SELECT id, name, starts_on, ends_on FROM periods
          WHERE cadence = $1 AND ends_on <= $2 ORDER BY ends_on DESC LIMIT $3",
    )
    .bind(cadence)
    .bind(ends_on)
    .bind(count)
    .fetch_all(db)
    .await?;
    let (Some(first), Some(last)) = (
        periods.iter().map(|p| p.2).min(),
        periods.iter().map(|p| p.3).max(),
    ) else {
        return Ok(Vec::new());
    };
    let ids: Vec<Uuid> = periods.iter().map(|p| p.0).collect();
    let names: Vec<&str> = periods.iter().map(|p| p.1.as_str()).collect();
    let starts: Vec<NaiveDate> = periods.iter().map(|p| p.2).collect();
    let ends: Vec<NaiveDate> = periods.iter().map(|p| p.3).collect();
    sqlx::query_as(
        "WITH ps AS (SELECT * FROM unnest($2::uuid[], $3::text[], $4::date[], $5::date[]) AS p (id, name, starts_on, ends_on)),
         -- The scope's own sums (everything beneath it), added up by day over the types of work.
         c AS MATERIALIZED (
             SELECT d.day, sum(d.closed) AS closed, sum(d.achieved) AS achieved, sum(d.partially) AS partially,
                    sum(d.not_achieved) AS not_achieved, sum(d.inconclusive) AS inconclusive
               FROM dashboard_loop_days_up d
              WHERE d.unit_id = $1 AND d.closed > 0 AND d.day BETWEEN $6 AND $7
              GROUP BY d.day)
         SELECT ps.id AS period_id, ps.name, coalesce(sum(c.closed), 0)::bigint AS closed,
                coalesce(sum(c.achieved), 0)::bigint AS achieved, coalesce(sum(c.partially), 0)::bigint AS partially,
                coalesce(sum(c.not_achieved), 0)::bigint AS not_achieved,
                coalesce(sum(c.inconclusive), 0)::bigint AS inconclusive
           FROM ps LEFT JOIN c ON c.day BETWEEN ps.starts_on AND ps.ends_on
          GROUP BY ps.id, ps.name, ps.starts_on ORDER BY ps.starts_on",
    )
    .bind(unit)
    .bind(ids)
    .bind(names)
    .bind(starts)
    .bind(ends)
    .bind(first)
    .bind(last)
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

/// The outcomes closed in the dates, latest first, at most `limit`. Each outcome knows its
/// work's unit and status (migration 0020), so the closed ones are walked by day with no
/// join to find them (a division's: 140 ms cold, joined; 3 ms).
pub async fn closed_outcomes(
    db: &crate::db::Db,
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
          WHERE o.closed_at IS NOT NULL
            AND o.closed_on BETWEEN $2 AND $3
            AND o.work_status <> 'cancelled'
            AND o.unit_id = ANY (ARRAY(SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1))
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

/// OKR health of the objectives of these periods in scope, by child unit and in total:
/// their progress and key results by confidence, and the key results whose check-in is
/// overdue (last checked in before today minus the period's cadence, decided here since it
/// depends on today), from the sums the roll-up keeps per unit and period.
pub async fn okr_health(
    db: &crate::db::Db,
    unit: Uuid,
    periods: &[Uuid],
    today: NaiveDate,
) -> sqlx::Result<Vec<OkrHealth>> {
    let health = scoped_by(
        &OKR_GROUPS,
        "sum(x.objectives) AS objectives, sum(x.progress) AS progress, sum(x.key_results) AS key_results,
         sum(x.on_track) AS on_track, sum(x.at_risk) AS at_risk, sum(x.off_track) AS off_track,
         sum(x.no_confidence) AS no_confidence",
        "x.period_id = ANY($2)",
        false,
    );
    let due = scoped_by(
        &CHECK_IN_DAYS,
        "sum(x.key_results) AS due",
        "x.period_id = ANY($2) AND x.day < $3::date - (SELECT pe.check_in_days FROM periods pe WHERE pe.id = x.period_id)",
        false,
    );
    sqlx::query_as(&format!(
        "WITH h AS ({health}), d AS ({due})
         SELECT h.child_id, coalesce(h.objectives, 0)::bigint AS objectives,
                round(h.progress / nullif(h.objectives, 0), 12) AS progress,
                coalesce(h.key_results, 0)::bigint AS key_results, coalesce(h.on_track, 0)::bigint AS on_track,
                coalesce(h.at_risk, 0)::bigint AS at_risk, coalesce(h.off_track, 0)::bigint AS off_track,
                coalesce(h.no_confidence, 0)::bigint AS no_confidence, coalesce(d.due, 0)::bigint AS check_ins_due
           FROM h LEFT JOIN d ON d.child_id IS NOT DISTINCT FROM h.child_id"
    ))
    .bind(unit)
    .bind(periods)
    .bind(today)
    .fetch_all(db)
    .await
}

/// Key results of the objectives in scope followed by check-ins whose cadence has passed
/// (`okrs::model::check_in_due`), longest waiting first, at most `limit`.
pub async fn due_check_ins(
    db: &crate::db::Db,
    unit: Uuid,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    today: NaiveDate,
    limit: i64,
) -> sqlx::Result<Vec<super::rows::DueCheckIn>> {
    sqlx::query_as(
        "SELECT k.id, k.title, o.id AS objective_id, o.title AS objective_title, u.name AS unit_name,
                p.name AS owner_name, coalesce(k.last_check_in_on, k.created_at::date) AS since, pe.check_in_days
           FROM periods pe
           -- Only the objectives with one due (kept by the roll-up: their key result
           -- checked in longest ago did so before today minus the cadence), read per
           -- period through their index (OFFSET 0 keeps the planner from hashing every
           -- objective instead); then their key results.
           CROSS JOIN LATERAL (
               SELECT op.objective_id FROM objective_progress op
                WHERE op.period_id = pe.id AND op.check_ins_since[1] < $4::date - pe.check_in_days
                  AND op.org_unit_id IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1)
               OFFSET 0) op
           JOIN objectives o ON o.id = op.objective_id
           JOIN key_results k ON k.objective_id = o.id
           JOIN org_units u ON u.id = o.org_unit_id
           LEFT JOIN people p ON p.id = k.owner_id
          WHERE pe.starts_on >= $2 AND pe.ends_on <= $3
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

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_interpolate_between_the_closest_ranks_as_percentile_cont_does() {
        // 4, 10, 20 days: median 10; the 85th percentile is 70% of the way from 10 to 20.
        let days = [(4, 1), (10, 1), (20, 1)];
        assert_eq!(percentile(&days, 0.5), Some(10.0));
        assert!((percentile(&days, 0.85).unwrap() - 17.0).abs() < 1e-9);
        // Counts stand for repeated values: 2, 2, 2, 9 has its median at 2.
        assert_eq!(percentile(&[(2, 3), (9, 1)], 0.5), Some(2.0));
        // 1 and 3: the median halfway.
        assert_eq!(percentile(&[(1, 1), (3, 1)], 0.5), Some(2.0));
        assert_eq!(percentile(&[(7, 1)], 0.85), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
