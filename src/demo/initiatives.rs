//! The demo's initiatives: each gathers epics of several teams around one larger result,
//! some with an outcome of their own (the cascade from initiative to epic), one still
//! proposed and one without an outcome of its own.

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::id;

/// An initiative's own outcome: (kind, statement, metric, unit, label, direction, baseline,
/// target, days from today to measure by).
type OwnOutcome = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
);

struct InitiativeSpec {
    unit: &'static str,
    title: &'static str,
    description: &'static str,
    status: &'static str,
    owner: &'static str,
    epics: &'static [&'static str],
    outcome: Option<OwnOutcome>,
}

const INITIATIVES: &[InitiativeSpec] = &[
    InitiativeSpec {
        unit: "Learner Experience",
        title: "Learners succeed in their first month",
        description: "Too many new learners stop before their first course is done. Everything that keeps them learning in their first month.",
        status: "active",
        owner: "Maya Okafor",
        epics: &[
            "New onboarding for learners",
            "Guided first lesson",
            "Fix lost progress after sign-up",
            "Replace the legacy sign-up form",
        ],
        outcome: Some((
            "business_result",
            "More new learners become paying subscribers",
            "New learners converting to paid within 60 days",
            "percent",
            "",
            "increase",
            "8",
            "10",
            200,
        )),
    },
    InitiativeSpec {
        unit: "Northwind Learning",
        title: "Find the right course faster",
        description: "Search and discovery across two divisions: learners who search should enrol in a course that suits them.",
        status: "active",
        owner: "Daniel Cho",
        epics: &[
            "Refactor the search service",
            "Typo-tolerant search",
            "Search results for partner courses",
            "Personalised course recommendations",
            "Course comparison view",
        ],
        outcome: Some((
            "behaviour",
            "Learners who search go on to enrol",
            "Searchers enrolling within 7 days",
            "percent",
            "",
            "increase",
            "22",
            "30",
            150,
        )),
    },
    InitiativeSpec {
        unit: "Growth and Partnerships",
        title: "Dual enrollment at scale",
        description: "High-school students in partner districts enrol, sign in and transfer credits without help.",
        status: "active",
        owner: "Isabel Carvalho",
        epics: &[
            "High-school partner enrollment flow",
            "Credit transfer tracker",
            "Enrollment form accessibility",
            "District reporting export",
            "Single sign-on for districts",
        ],
        outcome: None,
    },
    InitiativeSpec {
        unit: "Platform",
        title: "Learning never stops",
        description: "Outages and slow pages interrupt lessons and exams. Make the platform resilient.",
        status: "proposed",
        owner: "Erik Johansson",
        epics: &[
            "Multi-region failover",
            "Certificate expiry outage",
            "Reduce checkout latency",
        ],
        outcome: Some((
            "business_result",
            "Learners are not interrupted by outages",
            "Minutes of downtime per quarter",
            "duration",
            "minutes",
            "decrease",
            "240",
            "60",
            180,
        )),
    },
];

/// Adds the demo initiatives that do not exist yet, links their epics, and plans them for
/// the current period and the next; returns how many were added.
pub async fn load(tx: &mut PgConnection, today: NaiveDate) -> anyhow::Result<u64> {
    let mut added = 0;
    for spec in INITIATIVES {
        let initiative = id(&format!("initiative:{}", spec.title));
        let inserted = sqlx::query(
            "INSERT INTO initiatives (id, org_unit_id, owner_id, title, description, status)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(initiative)
        .bind(id(&format!("unit:{}", spec.unit)))
        .bind(id(&format!("person:{}", spec.owner)))
        .bind(spec.title)
        .bind(spec.description)
        .bind(spec.status)
        .execute(&mut *tx)
        .await?;
        added += inserted.rows_affected();
        sqlx::query(
            "INSERT INTO initiative_periods (initiative_id, period_id)
             SELECT $1, id FROM periods WHERE ends_on >= $2 ORDER BY starts_on LIMIT 2
             ON CONFLICT DO NOTHING",
        )
        .bind(initiative)
        .bind(today)
        .execute(&mut *tx)
        .await?;
        let epics: Vec<_> = spec
            .epics
            .iter()
            .map(|title| id(&format!("epic:{title}")))
            .collect();
        sqlx::query(
            "UPDATE epics SET initiative_id = $1 WHERE id = ANY($2) AND initiative_id IS NULL",
        )
        .bind(initiative)
        .bind(&epics)
        .execute(&mut *tx)
        .await?;
        let Some((kind, statement, metric, unit, label, direction, baseline, target, days)) =
            spec.outcome
        else {
            continue;
        };
        let d = |s: &str| s.parse::<Decimal>().ok();
        sqlx::query(
            "INSERT INTO outcomes (id, initiative_id, owner_id, kind, statement, metric, unit, unit_label, direction,
                                   baseline, target, measure_by, data_source, committed_at)
             SELECT $1, i.id, i.owner_id, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                    'Analytics warehouse, monthly cohort report', CASE WHEN i.status <> 'proposed' THEN i.created_at END
               FROM initiatives i WHERE i.id = $11
             ON CONFLICT DO NOTHING",
        )
        .bind(id(&format!("outcome:{}:{metric}", spec.title)))
        .bind(kind)
        .bind(statement)
        .bind(metric)
        .bind(unit)
        .bind(label)
        .bind(direction)
        .bind(d(baseline))
        .bind(d(target))
        .bind(today + Duration::days(days))
        .bind(initiative)
        .execute(&mut *tx)
        .await?;
    }
    // The onboarding epic's business result leads to the initiative's: the cascade.
    sqlx::query("UPDATE outcomes SET leads_to_id = $2 WHERE id = $1 AND leads_to_id IS NULL")
        .bind(id("outcome:New onboarding for learners:First-month retention"))
        .bind(id(
            "outcome:Learners succeed in their first month:New learners converting to paid within 60 days",
        ))
        .execute(&mut *tx)
        .await?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_initiative_gathers_epics_that_exist() {
        let titles: Vec<&str> = super::super::epics::EPICS.iter().map(|e| e.1).collect();
        for spec in INITIATIVES {
            for epic in spec.epics {
                assert!(titles.contains(epic), "{} lists unknown {epic}", spec.title);
            }
        }
    }
}
