//! The demo's OKRs for the current quarter: DOMAIN.md's cascade (the division objective
//! "Expand access to dual enrollment opportunities" → its key result → the Onboarding
//! team's "Improve onboarding for new learners" → its key results), the same for search,
//! an objective for every other team, several weeks of check-ins, and demo epics' outcomes
//! linked to the key results they serve.

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use super::id;

/// (objective, unit, owner, parent key result, [key results])
type ObjectiveSpec = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [KeyResultSpec],
);
/// (title, unit, unit label, direction, start, target or "lower-upper", source, weekly
/// check-ins as (value, confidence), oldest first)
type KeyResultSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, i16)],
);

const OBJECTIVES: &[ObjectiveSpec] = &[
    (
        "Help more learners succeed in their first year",
        "Northwind Learning",
        "Victor Santos",
        None,
        &[
            (
                "10,000 learners use the new onboarding feature by August",
                "count",
                "learners",
                "increase",
                "0",
                "10000",
                "roll_up",
                &[],
            ),
            (
                "Learners find the courses they look for",
                "percent",
                "",
                "increase",
                "70",
                "90",
                "roll_up",
                &[],
            ),
        ],
    ),
    (
        "Expand access to dual enrollment opportunities",
        "Learner Experience",
        "Maya Okafor",
        Some("10,000 learners use the new onboarding feature by August"),
        &[
            (
                "10,000 learners use the new onboarding feature",
                "count",
                "learners",
                "increase",
                "0",
                "10000",
                "roll_up",
                &[],
            ),
            (
                "Course page to enrolment conversion from 12% to 18%",
                "percent",
                "",
                "increase",
                "12",
                "18",
                "check_ins",
                &[("12", 6), ("13", 6), ("13.5", 5), ("14.5", 6)],
            ),
            (
                "Assessment completion from 55% to 70%",
                "percent",
                "",
                "increase",
                "55",
                "70",
                "check_ins",
                &[("55", 7), ("58", 7), ("61", 8)],
            ),
        ],
    ),
    (
        "Improve onboarding for new learners",
        "Onboarding",
        "Priya Raman",
        Some("10,000 learners use the new onboarding feature"),
        &[
            (
                "80% of new users complete onboarding within 7 days",
                "percent",
                "",
                "increase",
                "45",
                "80",
                "check_ins",
                &[
                    ("45", 6),
                    ("49", 6),
                    ("54", 7),
                    ("58", 7),
                    ("62", 7),
                    ("66", 8),
                ],
            ),
            (
                "First-month retention up 25%",
                "percent",
                "",
                "increase",
                "40",
                "50",
                "check_ins",
                &[("40", 5), ("41", 5), ("42.5", 5), ("43", 4)],
            ),
            (
                "Time to first lesson under 10 minutes",
                "duration",
                "min",
                "decrease",
                "25",
                "10",
                "check_ins",
                &[("25", 7), ("22", 7), ("19", 7), ("16", 8)],
            ),
        ],
    ),
    (
        "Make search fast and reliable",
        "Platform",
        "Erik Johansson",
        Some("Learners find the courses they look for"),
        &[
            (
                "Search success rate from 70% to 90%",
                "percent",
                "",
                "increase",
                "70",
                "90",
                "roll_up",
                &[],
            ),
            (
                "Availability stays within 99.9–100%",
                "percent",
                "",
                "stay_within",
                "99.95",
                "99.9-100",
                "check_ins",
                &[("99.97", 8), ("99.93", 7), ("99.85", 4), ("99.95", 6)],
            ),
        ],
    ),
    (
        "Learners find the course they are looking for",
        "Search",
        "Nadia Haddad",
        Some("Search success rate from 70% to 90%"),
        &[
            (
                "Search success rate reaches 90%",
                "percent",
                "",
                "increase",
                "70",
                "90",
                "check_ins",
                &[("70", 6), ("72", 6), ("75", 7), ("78", 7)],
            ),
            (
                "p95 search latency under 300 ms",
                "duration",
                "ms",
                "decrease",
                "800",
                "300",
                "check_ins",
                &[("800", 5), ("760", 5), ("700", 6), ("640", 6)],
            ),
            (
                "Searches without a click below 20%",
                "percent",
                "",
                "decrease",
                "31",
                "20",
                "check_ins",
                &[("31", 5), ("29", 5), ("26", 6)],
            ),
        ],
    ),
    (
        "Learners discover courses that fit them",
        "Course Discovery",
        "Daniel Cho",
        None,
        &[
            (
                "Recommendation click-through from 4% to 7%",
                "percent",
                "",
                "increase",
                "4",
                "7",
                "check_ins",
                &[("4", 5), ("4.6", 5), ("5.1", 6)],
            ),
            (
                "Course comparisons used by 20% of visitors",
                "percent",
                "",
                "increase",
                "0",
                "20",
                "check_ins",
                &[("0", 3), ("2", 3), ("3", 2)],
            ),
        ],
    ),
    (
        "Assessments learners trust",
        "Assessments",
        "Amara Nwosu",
        None,
        &[
            (
                "Disputed grades below 1%",
                "percent",
                "",
                "decrease",
                "3.2",
                "1",
                "check_ins",
                &[("3.2", 6), ("2.7", 6), ("2.1", 7)],
            ),
            (
                "Assessment completion from 55% to 70%",
                "percent",
                "",
                "increase",
                "55",
                "70",
                "check_ins",
                &[("55", 7), ("59", 7), ("62", 8)],
            ),
        ],
    ),
    (
        "Decisions run on fresh, trusted data",
        "Data Platform",
        "Chloe Dubois",
        None,
        &[
            (
                "Dashboards refreshed within 1 hour",
                "duration",
                "min",
                "decrease",
                "240",
                "60",
                "check_ins",
                &[("240", 6), ("180", 6), ("120", 7)],
            ),
            (
                "Schema breaks reaching production: none",
                "count",
                "breaks",
                "decrease",
                "6",
                "0",
                "check_ins",
                &[("6", 4), ("4", 4), ("3", 3)],
            ),
        ],
    ),
    (
        "Learners never notice an incident",
        "Reliability",
        "Grace Liu",
        None,
        &[
            (
                "Time to restore under 30 minutes",
                "duration",
                "min",
                "decrease",
                "95",
                "30",
                "check_ins",
                &[("95", 5), ("70", 6), ("48", 6)],
            ),
            (
                "Pages out of hours at most 2 a month",
                "count",
                "pages",
                "decrease",
                "9",
                "2",
                "check_ins",
                &[("9", 6), ("5", 7), ("3", 7)],
            ),
        ],
    ),
    (
        "High-school students enrol without friction",
        "Dual Enrollment",
        "Ethan Brooks",
        None,
        &[
            (
                "Applications completed in one sitting from 35% to 60%",
                "percent",
                "",
                "increase",
                "35",
                "60",
                "check_ins",
                &[("35", 6), ("41", 6), ("47", 7)],
            ),
            (
                "Transfer status questions to support halved",
                "count",
                "questions a week",
                "decrease",
                "120",
                "60",
                "check_ins",
                &[("120", 5), ("104", 5), ("97", 4)],
            ),
        ],
    ),
    (
        "Partners integrate in days, not months",
        "Partner Integrations",
        "Olivia Park",
        None,
        &[
            (
                "New partner live in under 10 days",
                "duration",
                "days",
                "decrease",
                "45",
                "10",
                "check_ins",
                &[("45", 5), ("38", 5), ("30", 5)],
            ),
            (
                "Roster sync errors below 0.5%",
                "percent",
                "",
                "decrease",
                "2.4",
                "0.5",
                "check_ins",
                &[("2.4", 6), ("1.9", 6), ("1.2", 7)],
            ),
        ],
    ),
];

/// The key result whose check-ins lapsed.
const LAPSED: &str = "New partner live in under 10 days";

/// (outcome's epic, outcome's metric, key result it serves)
const CONTRIBUTIONS: &[(&str, &str, &str)] = &[
    (
        "New onboarding for learners",
        "New learners completing onboarding within 7 days",
        "80% of new users complete onboarding within 7 days",
    ),
    (
        "New onboarding for learners",
        "First-month retention",
        "First-month retention up 25%",
    ),
    (
        "Refactor the search service",
        "Search success rate",
        "Search success rate reaches 90%",
    ),
];

/// Adds the objectives that do not exist yet (with their key results and check-ins) in
/// `period`; returns how many were added.
pub async fn load(
    tx: &mut PgConnection,
    today: NaiveDate,
    period: Option<Uuid>,
) -> anyhow::Result<u64> {
    let Some(period) = period else {
        return Ok(0);
    };
    let mut added = 0;
    for (title, unit, owner, parent, key_results) in OBJECTIVES {
        let objective = id(&format!("objective:{title}"));
        let inserted = sqlx::query(
            "INSERT INTO objectives (id, org_unit_id, period_id, owner_id, parent_key_result_id, title, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7) ON CONFLICT DO NOTHING",
        )
        .bind(objective)
        .bind(id(&format!("unit:{unit}")))
        .bind(period)
        .bind(id(&format!("person:{owner}")))
        .bind(parent.map(|p| id(&format!("key_result:{p}"))))
        .bind(title)
        .bind(started(today, 6))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            continue;
        }
        added += 1;
        for (position, (kr, unit, label, direction, start, target, source, check_ins)) in
            key_results.iter().enumerate()
        {
            let key_result = id(&format!("key_result:{kr}"));
            let d = |s: &str| s.parse::<Decimal>().ok();
            let (target, lower, upper) = match target.split_once('-') {
                Some((lower, upper)) => (None, d(lower), d(upper)),
                None => (d(target), None, None),
            };
            sqlx::query(
                "INSERT INTO key_results (id, objective_id, owner_id, title, metric, unit, unit_label, direction, start_value,
                                          target, band_lower, band_upper, progress_source, position, created_at)
                 VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING",
            )
            .bind(key_result)
            .bind(objective)
            .bind(id(&format!("person:{owner}")))
            .bind(kr)
            .bind(unit)
            .bind(label)
            .bind(direction)
            .bind(d(start))
            .bind(target)
            .bind(lower)
            .bind(upper)
            .bind(source)
            .bind(position as i32 + 1)
            .bind(started(today, 6))
            .execute(&mut *tx)
            .await?;
            // Weekly check-ins, the latest one this week — but for one key result whose
            // owner has not checked in for over two weeks (the dashboard shows it overdue).
            let weeks = check_ins.len() as i64;
            let lapsed = if *kr == LAPSED {
                Duration::weeks(2)
            } else {
                Duration::zero()
            };
            for (n, (value, confidence)) in check_ins.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO check_ins (id, key_result_id, value, confidence, note, author_id, checked_on)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .bind(id(&format!("check_in:{kr}:{n}")))
                .bind(key_result)
                .bind(d(value))
                .bind(confidence)
                .bind(if n == 0 { "Starting point" } else { "Weekly check-in" })
                .bind(id(&format!("person:{owner}")))
                .bind(today - Duration::weeks(weeks - 1 - n as i64) - Duration::days(1) - lapsed)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE key_results k SET current_value = c.value, confidence = c.confidence, last_check_in_on = c.checked_on
                   FROM (SELECT value, confidence, checked_on FROM check_ins WHERE key_result_id = $1
                          ORDER BY checked_on DESC, created_at DESC LIMIT 1) c
                  WHERE k.id = $1",
            )
            .bind(key_result)
            .execute(&mut *tx)
            .await?;
        }
    }
    for (epic, metric, kr) in CONTRIBUTIONS {
        sqlx::query(
            "INSERT INTO outcome_key_results (outcome_id, key_result_id)
             SELECT o.id, $3 FROM outcomes o JOIN epics e ON e.id = o.epic_id WHERE e.title = $1 AND o.metric = $2
             ON CONFLICT DO NOTHING",
        )
        .bind(epic)
        .bind(metric)
        .bind(id(&format!("key_result:{kr}")))
        .execute(&mut *tx)
        .await?;
    }
    Ok(added)
}

/// When the demo's OKRs were set: `weeks` weeks ago, as an instant.
fn started(today: NaiveDate, weeks: i64) -> chrono::DateTime<chrono::Utc> {
    (today - Duration::weeks(weeks))
        .and_hms_opt(9, 0, 0)
        .expect("a time")
        .and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cascade_names_a_key_result_of_an_earlier_objective_and_teams_have_three_to_five_or_fewer()
     {
        for (n, (title, _, _, parent, key_results)) in OBJECTIVES.iter().enumerate() {
            if let Some(parent) = parent {
                assert!(
                    OBJECTIVES[..n]
                        .iter()
                        .any(|o| o.4.iter().any(|k| k.0 == *parent)),
                    "{title} cascades from {parent}, which comes earlier"
                );
            }
            assert!((2..=5).contains(&key_results.len()), "{title}");
        }
        for (_, _, kr) in CONTRIBUTIONS {
            assert!(
                OBJECTIVES.iter().any(|o| o.4.iter().any(|k| k.0 == *kr)),
                "{kr}"
            );
        }
    }
}
