//! The demo's loops: measurements of delivered work, loops closed with verdicts and
//! learnings (achieved, missed, one inconclusive), and a few overdue ones left open.

use chrono::{Duration, NaiveDate};
use sqlx::PgConnection;
use uuid::Uuid;

use super::id;

/// (verdict, reason, learnings, next step, realised value, days after measure-by it closed)
type Close = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
);

/// (epic, metric, measurements as (days before today, value), closing)
type Measured = (
    &'static str,
    &'static str,
    &'static [(i64, &'static str)],
    Option<Close>,
);

const MEASURED: &[Measured] = &[
    (
        "Broken filters on mobile",
        "Mobile filter use",
        &[(80, "2"), (55, "6"), (41, "11")],
        Some((
            "achieved",
            "",
            "Moving the filters into a bottom sheet made them findable: use went from 2% to 11% of mobile sessions. Learners who filter start a course twice as often.",
            "scale",
            "95000",
            2,
        )),
    ),
    (
        "Certificate expiry outage",
        "Certificates renewed automatically",
        &[],
        Some((
            "inconclusive",
            "Renewals were not logged before March, so there is no measurement to judge against; the next quarter will have one.",
            "Automating renewal removed the manual step, but we shipped without the event that proves it. Instrument before shipping.",
            "iterate",
            "",
            3,
        )),
    ),
    (
        "Reduce checkout latency",
        "Checkout p95 latency",
        &[(60, "1.8"), (35, "1.4"), (21, "1.3")],
        Some((
            "not_achieved",
            "",
            "Caching the catalogue lookups took 0.5 s off, but the payment provider's call alone is 1.1 s at p95: we cannot reach 1.2 s on our side. Talk to the provider or move the call off the critical path.",
            "pivot",
            "",
            1,
        )),
    ),
    (
        "LMS grade sync",
        "Grades synced within 24 hours",
        &[(60, "65"), (30, "88"), (16, "96")],
        Some((
            "achieved",
            "",
            "Retrying with backoff and the nightly reconciliation job closed the gap; partner support tickets about missing grades dropped to almost none.",
            "scale",
            "260000",
            1,
        )),
    ),
    // Left open: two overdue loops and some still being measured.
    (
        "Fix lost progress after sign-up",
        "Sign-ups losing progress",
        &[(70, "120"), (40, "60"), (12, "18")],
        None,
    ),
    (
        "Grading queue backlog",
        "Median grading time",
        &[(40, "96"), (20, "80"), (4, "75")],
        None,
    ),
    (
        "Catalogue page speed",
        "Catalogue p95 load time",
        &[(50, "3.1"), (20, "2.4")],
        None,
    ),
    (
        "Refactor the search service",
        "Search success rate",
        &[(40, "70"), (14, "78")],
        None,
    ),
    (
        "Self-serve retention dashboard",
        "Weekly dashboard users",
        &[(30, "5"), (7, "14")],
        None,
    ),
    (
        "Enrollment form accessibility",
        "Accessibility issues open",
        &[(30, "23"), (5, "9")],
        None,
    ),
];

/// Adds the measurements and closings that do not exist yet; returns how many loops it
/// closed.
pub async fn load(tx: &mut PgConnection, today: NaiveDate) -> anyhow::Result<u64> {
    let mut closed = 0;
    for (epic, metric, measurements, closing) in MEASURED {
        let outcome: Option<(Uuid, Option<Uuid>, NaiveDate)> = sqlx::query_as(
            "SELECT o.id, o.owner_id, o.measure_by FROM outcomes o JOIN epics e ON e.id = o.epic_id
              WHERE e.id = $1 AND o.metric = $2",
        )
        .bind(id(&format!("epic:{epic}")))
        .bind(metric)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((outcome, owner, measure_by)) = outcome else {
            continue;
        };
        for (days, value) in measurements.iter() {
            sqlx::query(
                "INSERT INTO measurements (id, outcome_id, value, measured_on, source, note, recorded_by)
                 VALUES ($1, $2, $3::numeric, $4, 'Analytics warehouse, weekly snapshot', '', $5) ON CONFLICT DO NOTHING",
            )
            .bind(id(&format!("measurement:{epic}:{metric}:{days}")))
            .bind(outcome)
            .bind(value)
            .bind(today - Duration::days(*days))
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        }
        let Some((verdict, reason, learnings, next_step, realised, after)) = closing else {
            continue;
        };
        let closed_on = (measure_by + Duration::days(*after)).min(today);
        let done = sqlx::query(
            "UPDATE outcomes SET verdict = $2, proposed_verdict = CASE WHEN $3 = '' THEN $2 ELSE 'inconclusive' END,
                    verdict_reason = $3, learnings = $4, next_step = $5, realised_value = NULLIF($6, '')::numeric,
                    judged_against = jsonb_build_object('direction', direction, 'baseline', trim_scale(baseline)::text,
                        'target', trim_scale(target)::text, 'band_lower', trim_scale(band_lower)::text,
                        'band_upper', trim_scale(band_upper)::text, 'measure_by', measure_by),
                    closed_at = $7, closed_on = $8, closed_by = owner_id
              WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(outcome)
        .bind(verdict)
        .bind(reason)
        .bind(learnings)
        .bind(next_step)
        .bind(realised)
        .bind(closed_on.and_hms_opt(15, 0, 0).expect("a time").and_utc())
        .bind(closed_on)
        .execute(&mut *tx)
        .await?;
        closed += done.rows_affected();
    }
    // Delivered epics whose every loop is closed are closed, as closing the last loop does.
    sqlx::query(
        "UPDATE epics e SET status = 'closed', closed_at = coalesce(e.closed_at, now())
          WHERE e.status IN ('delivered', 'measuring')
            AND EXISTS (SELECT 1 FROM outcomes o WHERE o.epic_id = e.id)
            AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.epic_id = e.id AND o.closed_at IS NULL)",
    )
    .execute(&mut *tx)
    .await?;
    Ok(closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_closes_loops_of_every_kind_and_leaves_some_open() {
        let verdicts: Vec<&str> = MEASURED.iter().filter_map(|m| m.3.map(|c| c.0)).collect();
        for verdict in ["achieved", "not_achieved", "inconclusive"] {
            assert!(verdicts.contains(&verdict), "{verdict}");
        }
        assert!(MEASURED.iter().filter(|m| m.3.is_none()).count() >= 2);
        for (_, _, measurements, closing) in MEASURED {
            if let Some((verdict, reason, ..)) = closing {
                assert_eq!(measurements.is_empty(), *verdict == "inconclusive");
                assert_eq!(reason.is_empty(), *verdict != "inconclusive");
            }
        }
    }
}
