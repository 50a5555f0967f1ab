//! From a row of the file to an epic: the mapping of columns and Jira statuses to
//! Yardstick's fields (first guessed from the header), and each row's plan, or the
//! problems that keep it out, checked against the people, units and epics stored.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::sheet::Sheet;
use crate::epics::model::EpicStatus;

/// A Yardstick field a column may fill.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    /// Header names it is guessed from (lowercase; a custom field's name is enough).
    guesses: &'static [&'static str],
    pub required: bool,
}

/// Every field, in the order the mapping form shows them.
pub const FIELDS: &[Field] = &[
    Field {
        name: "key",
        label: "Issue key",
        hint: "Re-importing updates the epic with the same key instead of adding another.",
        guesses: &["issue key", "key"],
        required: true,
    },
    Field {
        name: "title",
        label: "Title",
        hint: "Usually Jira’s Summary.",
        guesses: &["summary", "title"],
        required: true,
    },
    Field {
        name: "description",
        label: "Description",
        hint: "",
        guesses: &["description"],
        required: false,
    },
    Field {
        name: "status",
        label: "Status",
        hint: "Each Jira status is mapped to one of ours below.",
        guesses: &["status"],
        required: false,
    },
    Field {
        name: "owner",
        label: "Owner",
        hint: "Usually the Assignee: matched to an active person by email or name.",
        guesses: &["assignee"],
        required: false,
    },
    Field {
        name: "created",
        label: "Created",
        hint: "",
        guesses: &["created"],
        required: false,
    },
    Field {
        name: "resolved",
        label: "Delivered or cancelled on",
        hint: "Usually Resolved.",
        guesses: &["resolved", "resolution date"],
        required: false,
    },
    Field {
        name: "validation_plan",
        label: "How we validate (anticipated outcome)",
        hint: "A text custom field such as “Anticipated outcome”: kept as the epic’s validation plan, to turn into a measurable outcome.",
        guesses: &[
            "anticipated outcome",
            "expected outcome",
            "success criteria",
        ],
        required: false,
    },
    Field {
        name: "why_now",
        label: "Why now",
        hint: "",
        guesses: &["why now"],
        required: false,
    },
    Field {
        name: "team",
        label: "Team",
        hint: "The name of a unit in Yardstick; rows without one go to the team chosen at upload.",
        guesses: &["team"],
        required: false,
    },
];

/// The statuses a Jira status may become (delivered work moves on to measuring).
pub const TARGETS: [EpicStatus; 5] = [
    EpicStatus::Draft,
    EpicStatus::Ready,
    EpicStatus::InProgress,
    EpicStatus::Delivered,
    EpicStatus::Cancelled,
];

/// Which column fills which field, and what each Jira status becomes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    pub columns: BTreeMap<String, usize>,
    pub statuses: BTreeMap<String, String>,
}

/// The first guess for a Jira status, from the words workflows use.
pub fn guess_status(jira: &str) -> EpicStatus {
    let s = jira.trim().to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| s.contains(w));
    if has(&[
        "cancel",
        "won't",
        "wont",
        "reject",
        "declin",
        "abandon",
        "duplicate",
        "obsolete",
    ]) {
        EpicStatus::Cancelled
    } else if has(&[
        "done", "closed", "resolved", "released", "complete", "deployed", "shipped", "live",
    ]) {
        EpicStatus::Delivered
    } else if has(&["ready", "selected", "committed", "planned"]) {
        EpicStatus::Ready
    } else if has(&[
        "progress",
        "review",
        "develop",
        "testing",
        "qa",
        "implement",
        "doing",
    ]) {
        EpicStatus::InProgress
    } else {
        EpicStatus::Draft
    }
}

impl Mapping {
    /// The mapping the header suggests: each field's first column named like it, and each
    /// Jira status's guess.
    pub fn guess(sheet: &Sheet) -> Mapping {
        let headers: Vec<String> = sheet.headers.iter().map(|h| h.to_lowercase()).collect();
        let mut columns = BTreeMap::new();
        for field in FIELDS {
            let exact = field
                .guesses
                .iter()
                .find_map(|g| headers.iter().position(|h| h == g));
            // Jira names custom fields "Custom field (Anticipated outcome)".
            let custom = || {
                field.guesses.iter().find_map(|g| {
                    headers
                        .iter()
                        .position(|h| h.starts_with("custom field") && h.contains(g))
                })
            };
            if let Some(index) = exact.or_else(custom) {
                columns.insert(field.name.to_string(), index);
            }
        }
        let mut mapping = Mapping {
            columns,
            statuses: BTreeMap::new(),
        };
        for (jira, _) in mapping.jira_statuses(sheet) {
            let ours = guess_status(&jira).as_str().to_string();
            mapping.statuses.insert(jira, ours);
        }
        mapping
    }

    pub fn column(&self, field: &str) -> Option<usize> {
        self.columns.get(field).copied()
    }

    /// The Jira statuses in the status column, with how many rows have each, by name.
    pub fn jira_statuses(&self, sheet: &Sheet) -> Vec<(String, usize)> {
        let Some(column) = self.column("status") else {
            return Vec::new();
        };
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for row in &sheet.rows {
            let status = row.field(column);
            if row.malformed.is_none() && !status.is_empty() {
                *counts.entry(status.to_string()).or_default() += 1;
            }
        }
        counts.into_iter().collect()
    }

    /// What a Jira status becomes: as mapped, else as guessed.
    pub fn status_for(&self, jira: &str) -> EpicStatus {
        self.statuses
            .get(jira)
            .and_then(|s| EpicStatus::parse(s).ok())
            .filter(|s| TARGETS.contains(s))
            .unwrap_or_else(|| guess_status(jira))
    }
}

/// What is already stored that rows refer to, read in one query each.
#[derive(Debug, Default)]
pub struct Known {
    /// Active people by lowercase email and by lowercase name; `None` when two people
    /// share the name.
    pub people: HashMap<String, Option<Uuid>>,
    /// Open units by lowercase name; `None` when two share it.
    pub units: HashMap<String, Option<Uuid>>,
    /// Epics by tracker key.
    pub epics: HashMap<String, Uuid>,
}

impl Known {
    /// Reads the people, units and epics the file's rows name.
    pub async fn load(db: &crate::db::Db, sheet: &Sheet, mapping: &Mapping) -> sqlx::Result<Known> {
        let values = |field: &str| -> Vec<String> {
            let Some(column) = mapping.column(field) else {
                return Vec::new();
            };
            let mut values: Vec<String> = sheet
                .rows
                .iter()
                .map(|r| r.field(column).to_lowercase())
                .filter(|v| !v.is_empty())
                .collect();
            values.sort();
            values.dedup();
            values
        };
        let mut known = Known::default();
        let owners = values("owner");
        if !owners.is_empty() {
            let people: Vec<(Uuid, String, String)> = sqlx::query_as(
                "SELECT id, lower(name), lower(email) FROM people
                  WHERE active AND (lower(email) = ANY($1) OR lower(name) = ANY($1))",
            )
            .bind(&owners)
            .fetch_all(db)
            .await?;
            for (id, name, email) in people {
                known.people.insert(email, Some(id));
                known
                    .people
                    .entry(name)
                    .and_modify(|found| {
                        if *found != Some(id) {
                            *found = None
                        }
                    })
                    .or_insert(Some(id));
            }
        }
        let teams = values("team");
        if !teams.is_empty() {
            let units: Vec<(Uuid, String)> = sqlx::query_as(
                "SELECT id, lower(name) FROM org_units WHERE archived_at IS NULL AND lower(name) = ANY($1)",
            )
            .bind(&teams)
            .fetch_all(db)
            .await?;
            for (id, name) in units {
                known
                    .units
                    .entry(name)
                    .and_modify(|found| *found = None)
                    .or_insert(Some(id));
            }
        }
        if let Some(column) = mapping.column("key") {
            let keys: Vec<&str> = sheet.rows.iter().map(|r| r.field(column)).collect();
            let epics: Vec<(String, Uuid)> =
                sqlx::query_as("SELECT tracker_key, id FROM epics WHERE tracker_key = ANY($1)")
                    .bind(&keys)
                    .fetch_all(db)
                    .await?;
            known.epics = epics.into_iter().collect();
        }
        Ok(known)
    }
}

/// A row ready to write.
#[derive(Debug, Clone)]
pub struct Planned {
    pub key: String,
    pub title: String,
    pub description: Option<String>,
    pub why_now: Option<String>,
    pub validation_plan: Option<String>,
    /// The Jira status as written, and what it becomes.
    pub jira_status: Option<String>,
    pub status: Option<EpicStatus>,
    /// The person the owner column names, when found.
    pub owner: Option<Uuid>,
    pub owner_named: String,
    /// The unit a team column names (else the upload's team).
    pub team: Option<Uuid>,
    pub created: Option<DateTime<Utc>>,
    pub resolved: Option<DateTime<Utc>>,
    /// The epic with this key already stored.
    pub existing: Option<Uuid>,
    /// What was changed to import it (a title shortened, an owner not found).
    pub notes: Vec<String>,
}

/// One row's plan, or its problems.
#[derive(Debug, Clone)]
pub struct RowPlan {
    pub number: usize,
    pub line: u64,
    pub key: String,
    pub plan: Result<Planned, Vec<String>>,
}

/// Text as stored: without NUL characters, cut to `max` characters with a note.
fn text(value: &str, what: &str, max: usize, notes: &mut Vec<String>) -> String {
    let value = value.replace('\0', "");
    if value.chars().count() <= max {
        return value;
    }
    notes.push(format!("{what} shortened to {max} characters"));
    let mut cut: String = value.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// Jira's date formats (its default "21/Nov/26 5:30 PM", ISO, and day-first numbers),
/// read in the organisation's time zone.
pub fn parse_when(value: &str, zone: Tz) -> Option<DateTime<Utc>> {
    const DATE_TIMES: &[&str] = &[
        "%d/%b/%y %I:%M %p",
        "%d/%b/%Y %I:%M %p",
        "%d/%b/%y %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%d/%m/%Y %H:%M",
        "%d.%m.%Y %H:%M",
    ];
    const DATES: &[&str] = &["%Y-%m-%d", "%d/%b/%y", "%d/%b/%Y", "%d/%m/%Y", "%d.%m.%Y"];
    let value = value.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(value)
        .or_else(|_| DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f%z"))
    {
        return Some(at.with_timezone(&Utc));
    }
    let local = DATE_TIMES
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
        .or_else(|| {
            DATES
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(value, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    zone.from_local_datetime(&local)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
}

/// Each row's plan. Rows are independent: one row's problems never stop another.
pub fn plan(sheet: &Sheet, mapping: &Mapping, known: &Known, zone: Tz) -> Vec<RowPlan> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    sheet
        .rows
        .iter()
        .map(|row| {
            let get = |field: &str| mapping.column(field).map(|c| row.field(c));
            let key = get("key").unwrap_or("").to_string();
            let mut problems = Vec::new();
            let mut notes = Vec::new();
            if let Some(why) = &row.malformed {
                problems.push(why.clone());
            } else {
                if key.is_empty() {
                    problems.push("No issue key".to_string());
                } else if key.chars().count() > 50 || key.chars().any(char::is_control) {
                    problems.push("The issue key must be at most 50 characters on one line".to_string());
                } else if let Some(first) = seen.get(&key) {
                    problems.push(format!("Issue key {key} is also on row {first}: each issue once"));
                } else {
                    seen.insert(key.clone(), row.number);
                }
                if get("title").unwrap_or("").is_empty() {
                    problems.push("No title".to_string());
                }
            }
            let mut when = |field: &str, what: &str| -> Option<DateTime<Utc>> {
                let value = get(field).filter(|v| !v.is_empty())?;
                let parsed = parse_when(value, zone);
                if parsed.is_none() {
                    problems.push(format!(
                        "{what} “{value}” is not a date Yardstick reads (such as 21/Nov/26 5:30 PM or 2026-11-21 17:30)"
                    ));
                }
                parsed
            };
            let created = when("created", "Created");
            let resolved = when("resolved", "Delivered or cancelled on");
            let team = match get("team").filter(|v| !v.is_empty()) {
                None => None,
                Some(name) => match known.units.get(&name.to_lowercase()) {
                    Some(Some(id)) => Some(*id),
                    Some(None) => {
                        problems.push(format!("Two units are named “{name}”: rename one"));
                        None
                    }
                    None => {
                        problems.push(format!("No open unit is named “{name}”"));
                        None
                    }
                },
            };
            let owner_named = get("owner").unwrap_or("").to_string();
            let owner = if owner_named.is_empty() {
                None
            } else {
                match known.people.get(&owner_named.to_lowercase()) {
                    Some(Some(id)) => Some(*id),
                    Some(None) => {
                        notes.push(format!("Two people are named {owner_named}: no owner set"));
                        None
                    }
                    None => {
                        notes.push(format!("{owner_named} is not an active person here: no owner set"));
                        None
                    }
                }
            };
            let plan = if problems.is_empty() {
                let jira_status = get("status").filter(|s| !s.is_empty()).map(str::to_string);
                Ok(Planned {
                    title: text(get("title").unwrap_or(""), "The title", 200, &mut notes),
                    description: get("description").map(|v| text(v, "The description", 10_000, &mut notes)),
                    why_now: get("why_now").map(|v| text(v, "Why now", 4_000, &mut notes)),
                    validation_plan: get("validation_plan")
                        .map(|v| text(v, "How we validate", 4_000, &mut notes)),
                    status: jira_status.as_deref().map(|s| mapping.status_for(s)),
                    jira_status,
                    owner,
                    owner_named,
                    team,
                    created,
                    resolved,
                    existing: known.epics.get(&key).copied(),
                    key: key.clone(),
                    notes,
                })
            } else {
                Err(problems)
            };
            RowPlan {
                number: row.number,
                line: row.line,
                key,
                plan,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(text: &str) -> Sheet {
        Sheet::read(text.as_bytes()).unwrap()
    }

    #[test]
    fn the_header_of_a_jira_export_guesses_every_column_and_status() {
        let s = sheet(
            "Summary,Issue key,Issue id,Status,Assignee,Created,Resolved,Custom field (Anticipated outcome),Description\n\
             A,P-1,1,In Progress,,,,,\nB,P-2,2,Won't Do,,,,,\nC,P-3,3,Selected for Development,,,,,\nD,P-4,4,Done,,,,,\nE,P-5,5,Backlog,,,,,\n",
        );
        let m = Mapping::guess(&s);
        assert_eq!(m.column("key"), Some(1));
        assert_eq!(m.column("title"), Some(0));
        assert_eq!(m.column("validation_plan"), Some(7));
        assert_eq!(m.column("description"), Some(8));
        assert_eq!(m.column("team"), None);
        let ours: Vec<(&str, &str)> = m
            .statuses
            .iter()
            .map(|(j, o)| (j.as_str(), o.as_str()))
            .collect();
        assert_eq!(
            ours,
            [
                ("Backlog", "draft"),
                ("Done", "delivered"),
                ("In Progress", "in_progress"),
                ("Selected for Development", "ready"),
                ("Won't Do", "cancelled"),
            ]
        );
    }

    #[test]
    fn jira_dates_are_read_in_the_organisations_zone() {
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        let at = |s: &str| parse_when(s, zone).map(|d| d.to_rfc3339());
        assert_eq!(
            at("21/Nov/26 5:30 PM").as_deref(),
            Some("2026-11-21T16:30:00+00:00")
        );
        assert_eq!(
            at("03/feb/25 09:15 am").as_deref(),
            Some("2025-02-03T08:15:00+00:00")
        );
        assert_eq!(
            at("2026-06-01 10:00").as_deref(),
            Some("2026-06-01T08:00:00+00:00")
        );
        assert_eq!(
            at("2026-06-01T10:00:00.000+0000").as_deref(),
            Some("2026-06-01T10:00:00+00:00")
        );
        assert_eq!(
            at("2026-06-01").as_deref(),
            Some("2026-05-31T22:00:00+00:00")
        );
        assert_eq!(at("yesterday"), None);
        assert_eq!(at("31/Feb/26 1:00 PM"), None);
    }

    #[test]
    fn each_row_gets_its_own_problems_and_notes() {
        let s = sheet(&format!(
            "Issue key,Summary,Assignee,Created,Team\n\
             P-1,Good,Ana,21/Nov/26 5:30 PM,\n\
             ,No key,,,\n\
             P-1,Again,,,\n\
             P-4,,Nobody Known,soon,Mars\n\
             P-5,{},,,\n",
            "x".repeat(250)
        ));
        let mapping = Mapping::guess(&s);
        let ana = Uuid::new_v4();
        let known = Known {
            people: [("ana".to_string(), Some(ana))].into(),
            ..Known::default()
        };
        let plans = plan(&s, &mapping, &known, chrono_tz::UTC);
        let first = plans[0].plan.as_ref().unwrap();
        assert_eq!(first.owner, Some(ana));
        assert!(first.notes.is_empty());
        assert_eq!(plans[1].plan.as_ref().unwrap_err(), &["No issue key"]);
        assert!(plans[2].plan.as_ref().unwrap_err()[0].contains("also on row 1"));
        let problems = plans[3].plan.as_ref().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0] == "No title"
                && problems[1].contains("“soon”")
                && problems[2].contains("Mars")
        );
        let long = plans[4].plan.as_ref().unwrap();
        assert_eq!(long.title.chars().count(), 200);
        assert_eq!(long.notes, ["The title shortened to 200 characters"]);
    }
}
