//! The demo organisation: Northwind Learning, an education company (the seeds' example
//! domain), with three divisions, eight teams, 37 people in realistic roles, and four
//! quarterly periods around today. Safe to run twice: every record has a fixed id derived
//! from its name, and existing records are left as they are.

use chrono::{Datelike, NaiveDate};
use sqlx::PgPool;
use uuid::Uuid;

use crate::clock::Clock;
use crate::org::model::{MemberRole, UnitKind};
use crate::org::{Organisation, insert_unit};
use crate::periods::model::quarter_of;

mod epics;
mod initiatives;
mod loops;
mod okrs;
mod planning;
pub mod scale;

/// Namespace of the demo's name-derived ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x5f1d_2c3b_8e4a_4b6f_9a7d_0c1e_2f3a_4b5c);

/// The fixed id of a demo record.
pub fn id(key: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, key.as_bytes())
}

pub const COMPANY: &str = "Northwind Learning";

/// Every demo person signs in with this password (documented in the README).
pub const DEMO_PASSWORD: &str = "northwind-demo-2026";

/// The demo's administrator.
pub const DEMO_ADMIN: &str = "helen.ward@northwind.example";

/// (division, its leader, [(team, product manager, tech lead, [engineers])])
type Division = (&'static str, (&'static str, &'static str), &'static [Team]);
type Team = (&'static str, &'static str, &'static str, [&'static str; 2]);

const DIVISIONS: &[Division] = &[
    (
        "Learner Experience",
        ("Maya Okafor", "VP Learner Experience"),
        &[
            (
                "Onboarding",
                "Priya Raman",
                "Tomás Herrera",
                ["Lena Fischer", "Kwame Mensah"],
            ),
            (
                "Course Discovery",
                "Daniel Cho",
                "Sofia Marino",
                ["Ravi Iyer", "Hannah Berg"],
            ),
            (
                "Assessments",
                "Amara Nwosu",
                "Jonas Lindqvist",
                ["Mei Tanaka", "Oliver Grant"],
            ),
        ],
    ),
    (
        "Platform",
        ("Erik Johansson", "VP Engineering, Platform"),
        &[
            (
                "Search",
                "Nadia Haddad",
                "Lucas Moreau",
                ["Aisha Khan", "Pedro Alves"],
            ),
            (
                "Data Platform",
                "Chloe Dubois",
                "Arjun Mehta",
                ["Yuki Sato", "Samuel Adeyemi"],
            ),
            (
                "Reliability",
                "Grace Liu",
                "Mateo Rossi",
                ["Fatima Zahra", "Noah Williams"],
            ),
        ],
    ),
    (
        "Growth and Partnerships",
        ("Isabel Carvalho", "VP Growth"),
        &[
            (
                "Dual Enrollment",
                "Ethan Brooks",
                "Zara Ahmed",
                ["Leo Novak", "Ines Costa"],
            ),
            (
                "Partner Integrations",
                "Olivia Park",
                "Marcus Byrne",
                ["Anya Petrova", "David Mwangi"],
            ),
        ],
    ),
];

const COMPANY_LEADERS: &[(&str, &str)] = &[
    ("Helen Ward", "Chief Executive Officer"),
    ("Victor Santos", "Chief Product and Technology Officer"),
];

fn email(name: &str) -> String {
    let ascii: String = name
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' => 'a',
            'é' | 'è' => 'e',
            'í' => 'i',
            'ó' | 'ö' => 'o',
            'ú' | 'ü' => 'u',
            ' ' => '.',
            c => c,
        })
        .collect();
    format!("{ascii}@northwind.example")
}

/// What `load` added.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub accounts: u64,
    pub epics: u64,
    pub initiatives: u64,
    pub iterations: u64,
    pub objectives: u64,
    pub closed_loops: u64,
    pub units: u64,
    pub people: u64,
    pub periods: u64,
}

/// Loads the demo organisation. Records that already exist are kept.
pub async fn load(db: &PgPool, clock: &Clock) -> anyhow::Result<Loaded> {
    let mut loaded = Loaded::default();
    let mut tx = db.begin().await?;

    let company = id(&format!("unit:{COMPANY}"));
    loaded.units += add_unit(&mut tx, company, None, COMPANY, UnitKind::Company).await?;
    for (name, title) in COMPANY_LEADERS {
        loaded.people += add_person(&mut tx, name, title).await?;
        add_member(&mut tx, company, name, MemberRole::Leader).await?;
    }
    for (division, (leader, leader_title), teams) in DIVISIONS {
        let division_id = id(&format!("unit:{division}"));
        loaded.units += add_unit(
            &mut tx,
            division_id,
            Some(company),
            division,
            UnitKind::Division,
        )
        .await?;
        loaded.people += add_person(&mut tx, leader, leader_title).await?;
        add_member(&mut tx, division_id, leader, MemberRole::Leader).await?;
        for (team, pm, lead, engineers) in teams.iter() {
            let team_id = id(&format!("unit:{team}"));
            loaded.units +=
                add_unit(&mut tx, team_id, Some(division_id), team, UnitKind::Team).await?;
            loaded.people += add_person(&mut tx, pm, "Product manager").await?;
            add_member(&mut tx, team_id, pm, MemberRole::ProductManager).await?;
            loaded.people += add_person(&mut tx, lead, "Tech lead").await?;
            add_member(&mut tx, team_id, lead, MemberRole::TechLead).await?;
            for engineer in engineers {
                loaded.people += add_person(&mut tx, engineer, "Software engineer").await?;
                add_member(&mut tx, team_id, engineer, MemberRole::Engineer).await?;
            }
        }
    }

    // Everyone can sign in with the demo password; Helen Ward administers.
    let hash = crate::auth::password::hash(DEMO_PASSWORD).await?;
    let accounts = sqlx::query(
        "UPDATE people SET account_role = CASE WHEN lower(email) = $2 THEN 'admin' ELSE 'member' END,
                password_hash = $1
          WHERE account_role IS NULL AND password_hash IS NULL AND lower(email) LIKE '%@northwind.example'",
    )
    .bind(hash)
    .bind(email(COMPANY_LEADERS[0].0))
    .execute(&mut *tx)
    .await?;
    loaded.accounts += accounts.rows_affected();

    // The quarter before today's, today's, and the two after.
    let org = Organisation::load(&mut *tx).await?;
    let today = clock.today(org.zone());
    let (current_start, _, _) = quarter_of(today);
    let mut start = months_before(current_start, 3);
    for _ in 0..4 {
        let (starts_on, ends_on, name) = quarter_of(start);
        let added = sqlx::query(
            "INSERT INTO periods (id, name, cadence, starts_on, ends_on) VALUES ($1, $2, 'quarter', $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(id(&format!("period:{name}")))
        .bind(&name)
        .bind(starts_on)
        .bind(ends_on)
        .execute(&mut *tx)
        .await?;
        loaded.periods += added.rows_affected();
        start = ends_on.succ_opt().expect("a next day");
    }
    let current = crate::periods::current_period(&mut *tx, today)
        .await?
        .map(|p| p.id);
    loaded.epics += epics::load(&mut tx, today, current).await?;
    loaded.initiatives += initiatives::load(&mut tx, today).await?;
    loaded.iterations += planning::load(&mut tx, today).await?;
    loaded.objectives += okrs::load(&mut tx, today, current).await?;
    loaded.closed_loops += loops::load(&mut tx, today).await?;
    tx.commit().await?;
    Ok(loaded)
}

fn months_before(date: NaiveDate, months: u32) -> NaiveDate {
    let total = date.year() * 12 + date.month0() as i32 - months as i32;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
        .expect("a first of month")
}

async fn add_unit(
    tx: &mut sqlx::PgConnection,
    unit: Uuid,
    parent: Option<Uuid>,
    name: &str,
    kind: UnitKind,
) -> anyhow::Result<u64> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM org_units WHERE id = $1)")
        .bind(unit)
        .fetch_one(&mut *tx)
        .await?;
    if exists {
        return Ok(0);
    }
    insert_unit(tx, unit, parent, name, kind).await?;
    Ok(1)
}

async fn add_person(tx: &mut sqlx::PgConnection, name: &str, title: &str) -> anyhow::Result<u64> {
    let added = sqlx::query("INSERT INTO people (id, name, email, title) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(id(&format!("person:{name}")))
        .bind(name)
        .bind(email(name))
        .bind(title)
        .execute(&mut *tx)
        .await?;
    Ok(added.rows_affected())
}

async fn add_member(
    tx: &mut sqlx::PgConnection,
    unit: Uuid,
    name: &str,
    role: MemberRole,
) -> anyhow::Result<()> {
    // By email, so a person who existed before the demo (same email) is the one added.
    sqlx::query(
        "INSERT INTO memberships (person_id, org_unit_id, role)
         SELECT id, $2, $3 FROM people WHERE lower(email) = lower($1)
         ON CONFLICT DO NOTHING",
    )
    .bind(email(name))
    .bind(unit)
    .bind(role.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_emails_are_plain_ascii() {
        assert_eq!(email("Tomás Herrera"), "tomas.herrera@northwind.example");
        assert_eq!(email("Helen Ward"), "helen.ward@northwind.example");
    }

    #[test]
    fn months_before_crosses_year_boundaries() {
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert_eq!(months_before(d(2026, 1,), 3), d(2025, 10));
        assert_eq!(months_before(d(2026, 10), 3), d(2026, 7));
    }

    #[test]
    fn the_demo_has_the_size_the_issue_asks_for() {
        let teams: usize = DIVISIONS.iter().map(|(_, _, teams)| teams.len()).sum();
        let people = COMPANY_LEADERS.len() + DIVISIONS.len() + teams * 4;
        assert!((2..=3).contains(&DIVISIONS.len()));
        assert!((6..=8).contains(&teams));
        assert!((25..=40).contains(&people), "{people} people");
    }
}
