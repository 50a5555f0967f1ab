//! The demo's planning: a capacity for every team this quarter and next, cost rates (the
//! company's, and Platform's own), and a few two-week iterations with outcome goals, the
//! past ones reviewed.

use chrono::{Datelike, Duration, NaiveDate};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{COMPANY, DIVISIONS, id};

/// (team, [(goal, review, note)] oldest first; the last one is under way, not reviewed)
type Sprints = (
    &'static str,
    [(&'static str, &'static str, &'static str); 4],
);

const ITERATIONS: &[Sprints] = &[
    (
        "Onboarding",
        [
            (
                "Cut drop-off on the welcome screen by a third",
                "met",
                "Drop-off went from 18% to 11% once the sign-up form lost four fields.",
            ),
            (
                "More new learners reach their first lesson on day one",
                "partly",
                "Day-one first lessons rose from 41% to 47%, short of the 55% we aimed for: the email nudge landed late.",
            ),
            (
                "Learners who pick a goal finish onboarding within 7 days more often",
                "not_met",
                "No change we could see: goal picking was used by too few learners to move the rate.",
            ),
            ("Raise 7-day onboarding completion by 5 points", "", ""),
        ],
    ),
    (
        "Search",
        [
            (
                "Improve search response time by 5%",
                "met",
                "p95 went from 840 ms to 770 ms after the index split.",
            ),
            (
                "Fewer searches end without a click",
                "met",
                "Searches without a click fell from 31% to 26%.",
            ),
            (
                "Halve failed searches for course codes",
                "partly",
                "Failures for course codes fell by a third; codes with spaces still fail.",
            ),
            ("Search success rate reaches 80% on mobile", "", ""),
        ],
    ),
    (
        "Reliability",
        [
            (
                "Pages on weekends drop to at most two",
                "met",
                "One page in two weekends, down from five.",
            ),
            (
                "Restore from backup in under an hour, proven",
                "not_met",
                "The drill took 2 h 10 min: the snapshot copy is the bottleneck.",
            ),
            (
                "Restore from backup in under an hour, proven",
                "met",
                "Second drill: 48 minutes with parallel restore.",
            ),
            ("Error budget burn below 50% for the quarter so far", "", ""),
        ],
    ),
];

/// Capacity of each team per quarter, in team-weeks.
const CAPACITY: i32 = 12;

/// Adds what does not exist yet; returns the number of iterations added.
pub async fn load(tx: &mut PgConnection, today: NaiveDate) -> anyhow::Result<u64> {
    let teams: Vec<Uuid> = DIVISIONS
        .iter()
        .flat_map(|(_, _, teams)| teams.iter().map(|t| id(&format!("unit:{}", t.0))))
        .collect();
    sqlx::query(
        "INSERT INTO team_capacity (org_unit_id, period_id, weeks)
         SELECT t.id, p.id, $3 FROM unnest($1::uuid[]) AS t (id)
          CROSS JOIN (SELECT id FROM periods WHERE ends_on >= $2 ORDER BY starts_on LIMIT 2) p
         ON CONFLICT DO NOTHING",
    )
    .bind(&teams)
    .bind(today)
    .bind(rust_decimal::Decimal::from(CAPACITY))
    .execute(&mut *tx)
    .await?;
    for (unit, rate) in [(COMPANY, 18_000), ("Platform", 21_000)] {
        sqlx::query(
            "INSERT INTO unit_cost_rates (org_unit_id, rate, currency) VALUES ($1, $2, 'EUR') ON CONFLICT DO NOTHING",
        )
        .bind(id(&format!("unit:{unit}")))
        .bind(rust_decimal::Decimal::from(rate))
        .execute(&mut *tx)
        .await?;
    }

    // Two-week iterations, Monday to the Friday after; the last one is under way.
    let this_monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let mut added = 0;
    for (team, sprints) in ITERATIONS {
        let unit = id(&format!("unit:{team}"));
        let reviewer = sqlx::query_scalar::<_, Uuid>(
            "SELECT person_id FROM memberships WHERE org_unit_id = $1 AND role = 'product_manager' ORDER BY person_id LIMIT 1",
        )
        .bind(unit)
        .fetch_optional(&mut *tx)
        .await?;
        for (n, (goal, review, note)) in sprints.iter().enumerate() {
            let starts_on = this_monday - Duration::weeks(2 * (3 - n as i64));
            let name = format!("Sprint {}", 21 + n);
            let iteration = id(&format!("iteration:{team}:{name}"));
            let reviewed = !review.is_empty();
            let inserted = sqlx::query(
                "INSERT INTO iterations (id, org_unit_id, name, starts_on, ends_on, goal, review, review_note, reviewed_at, reviewed_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT DO NOTHING",
            )
            .bind(iteration)
            .bind(unit)
            .bind(&name)
            .bind(starts_on)
            .bind(starts_on + Duration::days(11))
            .bind(goal)
            .bind(reviewed.then_some(*review))
            .bind(note)
            .bind(reviewed.then(|| (starts_on + Duration::days(11)).and_hms_opt(16, 0, 0).map(|t| t.and_utc())).flatten())
            .bind(if reviewed { reviewer } else { None })
            .execute(&mut *tx)
            .await?;
            added += inserted.rows_affected();
            if inserted.rows_affected() == 1 {
                // Each iteration advances the team's committed epics.
                sqlx::query(
                    "INSERT INTO iteration_epics (iteration_id, epic_id)
                     SELECT $1, id FROM epics WHERE team_id = $2 AND status IN ('ready', 'in_progress', 'measuring')
                     ON CONFLICT DO NOTHING",
                )
                .bind(iteration)
                .bind(unit)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_goal_reads_as_an_outcome_and_every_past_sprint_is_reviewed() {
        for (team, sprints) in ITERATIONS {
            assert!(
                DIVISIONS
                    .iter()
                    .any(|(_, _, teams)| teams.iter().any(|t| t.0 == *team)),
                "{team}"
            );
            for (n, (goal, review, note)) in sprints.iter().enumerate() {
                assert!(crate::planning::model::parse_goal(goal).is_ok(), "{goal}");
                let last = n == sprints.len() - 1;
                assert_eq!(review.is_empty(), last, "{goal}");
                if !last {
                    assert!(crate::planning::model::GoalReview::parse(review).is_ok());
                    assert!(!note.is_empty());
                }
            }
        }
    }
}
