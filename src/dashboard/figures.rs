//! The dashboard's figures (DOMAIN.md, Rules → Dashboard figures), aggregated in SQL for a
//! scope (a unit and everything beneath it) and a period: three statements whatever the
//! size of the organisation, each grouped by type of work, by child unit, and in total.

use chrono::NaiveDate;
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
const SCOPE: &str = "scope AS (
        SELECT t.descendant_id AS id,
               coalesce((SELECT c.ancestor_id FROM org_unit_tree c JOIN org_units cu ON cu.id = c.ancestor_id
                          WHERE c.descendant_id = t.descendant_id AND cu.parent_id = $1), $1) AS child_id
          FROM org_unit_tree t WHERE t.ancestor_id = $1)";

/// Outcome and alignment coverage of the epics planned in the period (cancelled excluded).
pub async fn coverage(
    db: &sqlx::PgPool,
    unit: Uuid,
    period: Uuid,
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
              WHERE e.period_id = $2 AND e.status <> 'cancelled')
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
    .bind(period)
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
