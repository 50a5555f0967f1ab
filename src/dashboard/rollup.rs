//! The dashboard's pre-aggregated figures (migrations/0012_dashboard_rollups.sql): every
//! write that can change a figure leaves a mark in its own transaction; `refresh`
//! recomputes the groups the visible marks name, from the tables themselves, before the
//! dashboard reads. One refresh at a time (an advisory lock), and its recomputing
//! statements start after it took the marks, so they see every change those marks stand
//! for; a change committed later keeps its mark for the next refresh. With no marks,
//! refreshing is one cheap statement. Each refresh also moves on the versions of the
//! dashboards whose figures it may have changed (migrations/0027), which `cache` checks.

use std::collections::HashSet;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::okrs::cascade::KEY_RESULT_VALUE;

/// The advisory lock refreshes take (any constant no other feature uses).
const LOCK: i64 = 0x5941_5244_5354_4b01;

/// A key result's own progress from the value it follows (`Goal::progress`), as SQL over
/// `k` (the key result) and `v` (its value); NULL before any value.
const OWN_PROGRESS: &str = "CASE WHEN v IS NULL THEN NULL
         WHEN k.direction = 'stay_within' THEN CASE WHEN v BETWEEN k.band_lower AND k.band_upper THEN 1 ELSE 0 END
         WHEN k.target = k.start_value THEN 0
         ELSE greatest(0, least(1, (v - k.start_value) / (k.target - k.start_value))) END";

type Mark = (
    Option<Uuid>,
    Option<Uuid>,
    Option<NaiveDate>,
    Option<Uuid>,
    bool,
);

/// Brings every pre-aggregated figure up to date with the committed data.
pub async fn refresh(db: &crate::db::Db) -> sqlx::Result<()> {
    let pending: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM dashboard_marks)")
        .fetch_one(db)
        .await?;
    if !pending {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK)
        .execute(&mut *tx)
        .await?;
    let marks: Vec<Mark> = sqlx::query_as(
        "DELETE FROM dashboard_marks RETURNING unit_id, period_id, day, objective_id, everything",
    )
    .fetch_all(&mut *tx)
    .await?;
    // Something every dashboard shows changed (a unit's name, a period, a person's name).
    let everything = marks.iter().any(|m| m.4);
    let mut groups = HashSet::new();
    let mut days = HashSet::new();
    let mut objectives = HashSet::new();
    // The units and periods of objectives deleted: their OKR sums lose them.
    let mut okr_groups = HashSet::new();
    // A mark naming nothing: the tree changed, so every ancestor's sums are rebuilt.
    let mut regroup = false;
    // A mark naming a unit alone: what it shows changed, none of its sums (0028).
    let mut shown = HashSet::new();
    for mark in marks {
        match mark {
            (_, _, _, _, true) => false,
            (Some(unit), Some(period), None, Some(objective), _) => {
                objectives.insert(objective);
                okr_groups.insert((unit, period))
            }
            (Some(unit), Some(period), _, _, _) => groups.insert((unit, period)),
            (Some(unit), _, Some(day), _, _) => days.insert((unit, day)),
            (_, _, _, Some(objective), _) => objectives.insert(objective),
            (Some(unit), None, None, None, _) => shown.insert(unit),
            (None, None, None, None, _) => {
                regroup = true;
                false
            }
            _ => false,
        };
    }
    // The units whose work changed: their dashboards and their ancestors' move on.
    let mut touched: HashSet<Uuid> = groups.iter().map(|g| g.0).collect();
    touched.extend(shown);
    touched.extend(days.iter().map(|d| d.0));
    if !groups.is_empty() {
        let (units, periods): (Vec<Uuid>, Vec<Uuid>) = groups.into_iter().unzip();
        epic_groups(&mut tx, &units, &periods).await?;
        if !regroup {
            let periods: Vec<String> = periods.iter().map(Uuid::to_string).collect();
            for rollup in [EPIC_GROUPS, FLOW] {
                sums(&mut tx, &rollup, Some((&units, &periods))).await?;
            }
        }
    }
    if !days.is_empty() {
        let (units, days): (Vec<Uuid>, Vec<NaiveDate>) = days.into_iter().unzip();
        loop_days(&mut tx, &units, &days).await?;
        if !regroup {
            let days: Vec<String> = days.iter().map(NaiveDate::to_string).collect();
            sums(&mut tx, &LOOP_DAYS, Some((&units, &days))).await?;
        }
    }
    if !objectives.is_empty() {
        let moved =
            objective_progress(&mut tx, &objectives.into_iter().collect::<Vec<_>>()).await?;
        okr_groups.extend(moved);
    }
    touched.extend(okr_groups.iter().map(|g| g.0));
    if !okr_groups.is_empty() {
        let (units, periods): (Vec<Uuid>, Vec<Uuid>) = okr_groups.into_iter().unzip();
        okr_health(&mut tx, &units, &periods).await?;
        if !regroup {
            let periods: Vec<String> = periods.iter().map(Uuid::to_string).collect();
            for rollup in [OKR_GROUPS, CHECK_IN_DAYS] {
                sums(&mut tx, &rollup, Some((&units, &periods))).await?;
            }
        }
    }
    if regroup {
        for rollup in [EPIC_GROUPS, FLOW, LOOP_DAYS, OKR_GROUPS, CHECK_IN_DAYS] {
            sums(&mut tx, &rollup, None).await?;
        }
    }
    let touched: Vec<Uuid> = match everything || regroup {
        true => vec![super::cache::EVERYTHING],
        false => touched.into_iter().collect(),
    };
    move_versions_on(&mut tx, &touched).await?;
    tx.commit().await
}

/// Moves on the dashboard version of these units, of every unit above them, and of any
/// unit's (`cache::ANY`; `cache::EVERYTHING` names everything's) to this transaction's id:
/// larger than any before it in the cluster, so a version is never given twice, not even
/// after a backup is restored over the data.
async fn move_versions_on(tx: &mut sqlx::PgConnection, units: &[Uuid]) -> sqlx::Result<()> {
    if units.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "WITH v (version) AS (SELECT pg_current_xact_id()::text::bigint)
         INSERT INTO dashboard_versions (unit_id, version)
         SELECT u.id, v.version FROM v, (
             SELECT t.ancestor_id AS id FROM org_unit_tree t WHERE t.descendant_id = ANY($1)
             UNION SELECT id FROM unnest($1::uuid[]) AS m (id) WHERE id = $2
             UNION SELECT $3) u
         ON CONFLICT (unit_id) DO UPDATE SET version = excluded.version",
    )
    .bind(units)
    .bind(super::cache::EVERYTHING)
    .bind(super::cache::ANY)
    .execute(tx)
    .await?;
    Ok(())
}

/// A team-level rollup and the sums of it every unit keeps over the teams beneath it
/// (`{table}_up`, migrations/0022): which column holds the team, which the period or day
/// (`key`, of SQL type `key_type`), which further columns group its rows, and which are
/// summed. Both tables list their columns in this order.
pub(crate) struct Rollup {
    pub(crate) table: &'static str,
    pub(crate) team: &'static str,
    key: &'static str,
    key_type: &'static str,
    groups: &'static [&'static str],
    measures: &'static [&'static str],
}

pub(crate) const EPIC_GROUPS: Rollup = Rollup {
    table: "dashboard_epic_groups",
    team: "team_id",
    key: "period_id",
    key_type: "uuid",
    groups: &["work_type", "label"],
    measures: &[
        "epics",
        "covered",
        "aligned",
        "outcomes",
        "revised",
        "delivered",
        "valued",
        "anticipated",
        "realised_epics",
        "realised",
        "with_effort",
        "effort",
        "roi_realised",
        "roi_effort",
    ],
};

pub(crate) const FLOW: Rollup = Rollup {
    table: "dashboard_flow",
    team: "team_id",
    key: "period_id",
    key_type: "uuid",
    groups: &["work_type", "kind", "days"],
    measures: &["epics"],
};

pub(crate) const OKR_GROUPS: Rollup = Rollup {
    table: "dashboard_okr_groups",
    team: "unit_id",
    key: "period_id",
    key_type: "uuid",
    groups: &[],
    measures: &[
        "objectives",
        "progress",
        "key_results",
        "on_track",
        "at_risk",
        "off_track",
        "no_confidence",
    ],
};

pub(crate) const CHECK_IN_DAYS: Rollup = Rollup {
    table: "dashboard_check_in_days",
    team: "unit_id",
    key: "period_id",
    key_type: "uuid",
    groups: &["day"],
    measures: &["key_results"],
};

pub(crate) const LOOP_DAYS: Rollup = Rollup {
    table: "dashboard_loop_days",
    team: "unit_id",
    key: "day",
    key_type: "date",
    groups: &["work_type"],
    measures: &[
        "due",
        "due_closed",
        "closed",
        "achieved",
        "partially",
        "not_achieved",
        "inconclusive",
    ],
};

/// Recomputes the sums of `rollup` kept by every ancestor (the team itself included) of
/// the teams in `changed`, for the periods or days paired with them (as text); with no
/// pairs, every sum of every unit, from scratch.
async fn sums(
    tx: &mut sqlx::PgConnection,
    rollup: &Rollup,
    changed: Option<(&[Uuid], &[String])>,
) -> sqlx::Result<()> {
    let Rollup {
        table,
        team,
        key,
        key_type,
        ..
    } = rollup;
    // Each group column followed by a comma (none for a rollup without groups).
    let groups: String = rollup.groups.iter().map(|g| format!("{g}, ")).collect();
    let grouped: String = rollup.groups.iter().map(|g| format!("g.{g}, ")).collect();
    let measures = rollup.measures.join(", ");
    let summed: Vec<String> = rollup
        .measures
        .iter()
        .map(|m| format!("sum(g.{m})"))
        .collect();
    let summed = summed.join(", ");
    // The (unit, key) pairs whose sums are recomputed.
    let pairs = match changed {
        Some(_) => format!(
            "SELECT DISTINCT t.ancestor_id AS unit_id, m.key
               FROM unnest($1::uuid[], $2::text[]::{key_type}[]) AS m (team, key)
               JOIN org_unit_tree t ON t.descendant_id = m.team"
        ),
        None => format!(
            "SELECT DISTINCT t.ancestor_id AS unit_id, g.{key} AS key
               FROM {table} g JOIN org_unit_tree t ON t.descendant_id = g.{team}"
        ),
    };
    let delete = match changed {
        Some(_) => format!(
            "WITH a AS ({pairs}) DELETE FROM {table}_up u USING a WHERE u.unit_id = a.unit_id AND u.{key} = a.key"
        ),
        None => format!("DELETE FROM {table}_up"),
    };
    let insert = format!(
        "WITH a AS ({pairs})
         INSERT INTO {table}_up ({key}, unit_id, {groups}{measures})
         SELECT a.key, a.unit_id, {grouped}{summed}
           FROM a JOIN org_unit_tree t ON t.ancestor_id = a.unit_id
           JOIN {table} g ON g.{team} = t.descendant_id AND g.{key} = a.key
          GROUP BY {grouped}a.key, a.unit_id"
    );
    for sql in [delete, insert] {
        let mut query = sqlx::query(&sql);
        if let Some((teams, keys)) = changed {
            query = query.bind(teams).bind(keys);
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Deletes the rows of these team-level tables for these (unit, period) pairs; `unit` names
/// their unit's column.
async fn delete_pairs(
    tx: &mut sqlx::PgConnection,
    tables: &[&str],
    unit: &str,
    units: &[Uuid],
    periods: &[Uuid],
) -> sqlx::Result<()> {
    for table in tables {
        sqlx::query(&format!(
            "DELETE FROM {table} g USING unnest($1::uuid[], $2::uuid[]) AS m (unit_id, period_id)
              WHERE g.{unit} = m.unit_id AND g.period_id = m.period_id"
        ))
        .bind(units)
        .bind(periods)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The epic groups and flow counts of these (team, period) pairs.
async fn epic_groups(
    tx: &mut sqlx::PgConnection,
    units: &[Uuid],
    periods: &[Uuid],
) -> sqlx::Result<()> {
    let tables = ["dashboard_epic_groups", "dashboard_flow"];
    delete_pairs(tx, &tables, "team_id", units, periods).await?;
    sqlx::query(
        "WITH e AS (
             SELECT e.*, coalesce(p.active, false) AND x.outcomes > 0 AS covered, x.aligned, x.outcomes, x.revised,
                    x.realised, e.status IN ('delivered', 'measuring', 'closed') AS delivered
               FROM unnest($1::uuid[], $2::uuid[]) AS m (team_id, period_id)
               JOIN epics e ON e.team_id = m.team_id AND e.period_id = m.period_id
               LEFT JOIN people p ON p.id = e.owner_id
              CROSS JOIN LATERAL (
                   SELECT count(*) AS outcomes,
                          count(*) FILTER (WHERE EXISTS (SELECT 1 FROM outcome_revisions r WHERE r.outcome_id = o.id)) AS revised,
                          coalesce(bool_or(EXISTS (SELECT 1 FROM outcome_key_results l WHERE l.outcome_id = o.id)), false) AS aligned,
                          sum(o.realised_value) AS realised
                     FROM outcomes o WHERE o.epic_id = e.id) x
              WHERE e.status <> 'cancelled')
         INSERT INTO dashboard_epic_groups
         SELECT period_id, team_id, work_type, btrim(value_label), count(*), count(*) FILTER (WHERE covered),
                count(*) FILTER (WHERE aligned), sum(outcomes), sum(revised),
                count(*) FILTER (WHERE delivered), count(value) FILTER (WHERE delivered),
                sum(value) FILTER (WHERE delivered),
                count(realised) FILTER (WHERE delivered), sum(realised) FILTER (WHERE delivered),
                count(effort_weeks) FILTER (WHERE delivered), sum(effort_weeks) FILTER (WHERE delivered),
                sum(realised) FILTER (WHERE delivered AND effort_weeks IS NOT NULL),
                sum(effort_weeks) FILTER (WHERE delivered AND realised IS NOT NULL)
           FROM e GROUP BY period_id, team_id, work_type, btrim(value_label)",
    )
    .bind(units)
    .bind(periods)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO dashboard_flow
         SELECT e.period_id, e.team_id, e.work_type, k.kind, k.days, count(*)
           FROM unnest($1::uuid[], $2::uuid[]) AS m (team_id, period_id)
           JOIN epics e ON e.team_id = m.team_id AND e.period_id = m.period_id
          CROSS JOIN LATERAL (VALUES
                ('cycle', round(extract(epoch FROM e.delivered_at - e.started_at) / 86400)::integer),
                ('realisation', CASE WHEN e.status = 'closed'
                                     THEN round(extract(epoch FROM e.closed_at - e.delivered_at) / 86400)::integer END)
               ) AS k (kind, days)
          WHERE e.status <> 'cancelled' AND k.days IS NOT NULL
          GROUP BY 1, 2, 3, 4, 5",
    )
    .bind(units)
    .bind(periods)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The loop days of these (unit, day) pairs: outcomes due that day, and closed that day.
async fn loop_days(
    tx: &mut sqlx::PgConnection,
    units: &[Uuid],
    days: &[NaiveDate],
) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM dashboard_loop_days d USING unnest($1::uuid[], $2::date[]) AS m (unit_id, day)
          WHERE d.unit_id = m.unit_id AND d.day = m.day",
    )
    .bind(units)
    .bind(days)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "WITH m AS (SELECT DISTINCT * FROM unnest($1::uuid[], $2::date[]) AS m (unit_id, day)),
         days AS (SELECT DISTINCT day FROM m),
         r AS (
             SELECT o.measure_by AS day, o.epic_id, o.initiative_id, o.closed_at, o.verdict, true AS due
               FROM outcomes o WHERE o.measure_by IN (SELECT day FROM days)
             UNION ALL
             SELECT o.closed_on, o.epic_id, o.initiative_id, o.closed_at, o.verdict, false
               FROM outcomes o WHERE o.closed_at IS NOT NULL AND o.closed_on IN (SELECT day FROM days)),
         x AS MATERIALIZED (
             SELECT r.*, coalesce(e.team_id, i.org_unit_id) AS unit_id, coalesce(e.work_type, 'initiative') AS work_type
               FROM r
               LEFT JOIN epics e ON e.id = r.epic_id
               LEFT JOIN initiatives i ON i.id = r.initiative_id
              WHERE coalesce(e.status, i.status) <> 'cancelled')
         INSERT INTO dashboard_loop_days
         SELECT x.day, x.unit_id, x.work_type,
                count(*) FILTER (WHERE x.due), count(*) FILTER (WHERE x.due AND x.closed_at IS NOT NULL),
                count(*) FILTER (WHERE NOT x.due),
                count(*) FILTER (WHERE NOT x.due AND x.verdict = 'achieved'),
                count(*) FILTER (WHERE NOT x.due AND x.verdict = 'partially_achieved'),
                count(*) FILTER (WHERE NOT x.due AND x.verdict = 'not_achieved'),
                count(*) FILTER (WHERE NOT x.due AND x.verdict = 'inconclusive')
           FROM x JOIN m ON m.unit_id = x.unit_id AND m.day = x.day
          GROUP BY 1, 2, 3",
    )
    .bind(units)
    .bind(days)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The progress of these objectives and of every objective above them in their cascades,
/// each computed from the key results beneath it as `okrs::model::Progress` does: an
/// objective is the weighted mean of its key results; a rolled-up key result the mean of
/// the objectives cascaded from it. The walk down each cascade carries the share each key
/// result's own value has in the objective at its top.
/// Returns the (unit, period) of each objective recomputed, before and after: their OKR
/// sums change.
async fn objective_progress(
    tx: &mut sqlx::PgConnection,
    marked: &[Uuid],
) -> sqlx::Result<HashSet<(Uuid, Uuid)>> {
    let targets: Vec<Uuid> = sqlx::query_scalar(
        "WITH RECURSIVE up (id, depth) AS (
             SELECT id, 0 FROM unnest($1::uuid[]) AS m (id)
             UNION
             SELECT k.objective_id, u.depth + 1 FROM up u
               JOIN objectives o ON o.id = u.id JOIN key_results k ON k.id = o.parent_key_result_id
              WHERE u.depth < 20)
         SELECT DISTINCT up.id FROM up",
    )
    .bind(marked)
    .fetch_all(&mut *tx)
    .await?;
    let mut moved: HashSet<(Uuid, Uuid)> = sqlx::query_as(
        "DELETE FROM objective_progress WHERE objective_id = ANY($1) RETURNING org_unit_id, period_id",
    )
    .bind(&targets)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let now: Vec<(Uuid, Uuid)> = sqlx::query_as(&format!(
        "WITH RECURSIVE roots AS (SELECT o.id FROM objectives o WHERE o.id = ANY($1)),
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
         weights AS (SELECT objective_id, sum(weight) AS total FROM key_results
                      WHERE objective_id IN (SELECT objective_id FROM walk) GROUP BY objective_id),
         leaves AS (
             SELECT w.root, w.share * k.weight / nullif(t.total, 0) * coalesce(({OWN_PROGRESS}), 0) AS part
               FROM walk w JOIN key_results k ON k.objective_id = w.objective_id
               JOIN weights t ON t.objective_id = k.objective_id
               CROSS JOIN LATERAL (SELECT {KEY_RESULT_VALUE} AS v) val
              WHERE NOT (k.progress_source = 'roll_up'
                         AND EXISTS (SELECT 1 FROM objectives c WHERE c.parent_key_result_id = k.id))),
         parts AS (SELECT root, sum(part) AS progress FROM leaves GROUP BY root),
         counts AS (
             SELECT k.objective_id, count(*) AS key_results,
                    count(*) FILTER (WHERE k.confidence >= 7) AS on_track,
                    count(*) FILTER (WHERE k.confidence BETWEEN 4 AND 6) AS at_risk,
                    count(*) FILTER (WHERE k.confidence <= 3) AS off_track,
                    count(*) FILTER (WHERE k.confidence IS NULL) AS no_confidence,
                    coalesce(array_agg(coalesce(k.last_check_in_on, k.created_at::date)
                                       ORDER BY coalesce(k.last_check_in_on, k.created_at::date))
                                 FILTER (WHERE k.progress_source = 'check_ins'), '{{}}') AS since
               FROM key_results k WHERE k.objective_id = ANY($1) GROUP BY k.objective_id)
         INSERT INTO objective_progress (objective_id, period_id, org_unit_id, progress, check_ins_since,
                                         key_results, on_track, at_risk, off_track, no_confidence)
         SELECT r.id, o.period_id, o.org_unit_id, round(coalesce(p.progress, 0), 12), coalesce(c.since, '{{}}'),
                coalesce(c.key_results, 0), coalesce(c.on_track, 0), coalesce(c.at_risk, 0),
                coalesce(c.off_track, 0), coalesce(c.no_confidence, 0)
           FROM roots r JOIN objectives o ON o.id = r.id
           LEFT JOIN parts p ON p.root = r.id LEFT JOIN counts c ON c.objective_id = r.id
         RETURNING org_unit_id, period_id"
    ))
    .bind(&targets)
    .fetch_all(&mut *tx)
    .await?;
    moved.extend(now);
    Ok(moved)
}

/// The OKR sums of these (unit, period) pairs, from their objectives' progress.
async fn okr_health(
    tx: &mut sqlx::PgConnection,
    units: &[Uuid],
    periods: &[Uuid],
) -> sqlx::Result<()> {
    let tables = ["dashboard_okr_groups", "dashboard_check_in_days"];
    delete_pairs(tx, &tables, "unit_id", units, periods).await?;
    sqlx::query(
        "INSERT INTO dashboard_okr_groups
         SELECT p.period_id, p.org_unit_id, count(*), sum(p.progress), sum(p.key_results), sum(p.on_track),
                sum(p.at_risk), sum(p.off_track), sum(p.no_confidence)
           FROM unnest($1::uuid[], $2::uuid[]) AS m (unit_id, period_id)
           JOIN objective_progress p ON p.org_unit_id = m.unit_id AND p.period_id = m.period_id
          GROUP BY p.period_id, p.org_unit_id",
    )
    .bind(units)
    .bind(periods)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO dashboard_check_in_days
         SELECT p.period_id, p.org_unit_id, d.day, count(*)
           FROM unnest($1::uuid[], $2::uuid[]) AS m (unit_id, period_id)
           JOIN objective_progress p ON p.org_unit_id = m.unit_id AND p.period_id = m.period_id
          CROSS JOIN LATERAL unnest(p.check_ins_since) AS d (day)
          GROUP BY 1, 2, 3",
    )
    .bind(units)
    .bind(periods)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
