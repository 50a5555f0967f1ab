//! Capacity: the team-weeks a unit can commit in a period, the effort committed there (its
//! epics that are ready or in progress), and the question new work must answer when it
//! would not fit — which committed epics make room for it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::{ClientAddr, ensure_may_change};
use crate::auth::policy::Me;
use crate::epics::model::EpicStatus;
use crate::epics::pages::Epic;
use crate::http::page::{self, Flash, Form, FormErrors, INVALID, Id, Layout, Section};
use crate::http::{AppError, AppState, Result};
use crate::planning::backlog::{BacklogInput, BacklogQuery, backlog_page};
use crate::planning::model::{Capacity, parse_weeks};

/// One statement-level lock per unit and period, so two people committing work to the same
/// team and quarter cannot both squeeze into the last free weeks.
async fn lock(tx: &mut PgConnection, unit: Uuid, period: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtext('capacity:' || $1::text || ':' || $2::text))",
    )
    .bind(unit)
    .bind(period)
    .execute(tx)
    .await?;
    Ok(())
}

/// A committed epic (ready or in progress) of a unit in a period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommittedEpic {
    pub id: Uuid,
    pub title: String,
    pub status: String,
    pub effort_weeks: Option<Decimal>,
}

impl CommittedEpic {
    pub fn status_label(&self) -> &str {
        EpicStatus::label_of(&self.status)
    }

    pub fn effort(&self) -> Decimal {
        self.effort_weeks.unwrap_or_default()
    }
}

/// The unit's capacity in the period, if one is set, and the epics committed there (apart
/// from `except`), largest effort first, locked until the transaction ends so none changes
/// between the question and the answer applied.
async fn committed(
    tx: &mut PgConnection,
    unit: Uuid,
    period: Uuid,
    except: Uuid,
) -> sqlx::Result<(Option<Decimal>, Vec<CommittedEpic>)> {
    let weeks: Option<Decimal> = sqlx::query_scalar(
        "SELECT weeks FROM team_capacity WHERE org_unit_id = $1 AND period_id = $2",
    )
    .bind(unit)
    .bind(period)
    .fetch_optional(&mut *tx)
    .await?;
    if weeks.is_none() {
        return Ok((None, Vec::new()));
    }
    let epics = sqlx::query_as(
        "SELECT id, title, status, effort_weeks FROM epics
          WHERE team_id = $1 AND period_id = $2 AND status IN ('ready', 'in_progress') AND id <> $3
          ORDER BY effort_weeks DESC NULLS LAST, title, id
          FOR UPDATE",
    )
    .bind(unit)
    .bind(period)
    .bind(except)
    .fetch_all(&mut *tx)
    .await?;
    Ok((weeks, epics))
}

/// What new work says it displaces: epics chosen to make room, and where they go.
#[derive(Debug, Clone, Default)]
pub struct Displacement {
    /// Ids as submitted (checkboxes named `displace`).
    pub chosen: Vec<String>,
    /// "draft", or the id of a later period (`displace_to`).
    pub destination: String,
    /// Whether the person answered the question (the form sends `make_room`), rather than
    /// meeting it for the first time.
    pub answered: bool,
}

impl Displacement {
    pub fn from_pairs(pairs: &[(String, String)]) -> Displacement {
        Displacement {
            chosen: pairs
                .iter()
                .filter(|(k, _)| k == "displace")
                .map(|(_, v)| v.trim().to_string())
                .collect(),
            destination: page::field(pairs, "displace_to").trim().to_string(),
            answered: pairs.iter().any(|(k, _)| k == "make_room"),
        }
    }

    pub fn is_chosen(&self, id: &Uuid) -> bool {
        self.chosen.iter().any(|c| *c == id.to_string())
    }
}

/// A later period an epic can be moved to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LaterPeriod {
    pub id: Uuid,
    pub name: String,
}

/// The question asked when committing an epic would exceed its team's capacity.
#[derive(Template, WebTemplate)]
#[template(path = "planning/make_room.html")]
pub struct MakeRoomPage {
    layout: Layout,
    epic_id: Uuid,
    epic_title: String,
    epic_effort: Decimal,
    version: i32,
    team_name: String,
    period_name: String,
    capacity: Capacity,
    over_by: Decimal,
    committed: Vec<CommittedEpic>,
    later: Vec<LaterPeriod>,
    displacement: Displacement,
    errors: FormErrors,
}

/// The outcome of checking capacity before an epic is committed.
pub enum Room {
    /// It fits (or the unit has no capacity set); these epics were deprioritised for it.
    Fits(Vec<Uuid>),
    /// It does not fit: the question to answer, as a page.
    Ask(Box<MakeRoomPage>),
}

/// Checks, inside the transaction that commits `epic`, that its team has room for it in its
/// planned period; when it has not, applies the displacement the person chose (back to
/// draft, or moved to a later period, each audited) if that frees enough, or returns the
/// question to ask. Nothing is checked for an epic without a planned period or a team
/// without a capacity for it.
#[allow(clippy::too_many_arguments)]
pub async fn make_room(
    tx: &mut PgConnection,
    me: &Me,
    client: &str,
    now: chrono::DateTime<chrono::Utc>,
    epic: &Epic,
    version: i32,
    displacement: &Displacement,
) -> Result<Room> {
    let Some(period) = epic.period_id else {
        return Ok(Room::Fits(Vec::new()));
    };
    lock(&mut *tx, epic.team_id, period).await?;
    let (weeks, committed) = committed(&mut *tx, epic.team_id, period, epic.id).await?;
    let Some(weeks) = weeks else {
        return Ok(Room::Fits(Vec::new()));
    };
    let capacity = Capacity {
        weeks,
        committed: committed.iter().map(CommittedEpic::effort).sum(),
    };
    let adding = epic.effort_weeks.unwrap_or_default();
    let Some(over_by) = capacity.over_by(adding, Decimal::ZERO) else {
        return Ok(Room::Fits(Vec::new()));
    };
    let later: Vec<LaterPeriod> = sqlx::query_as(
        "SELECT l.id, l.name FROM periods p JOIN periods l ON l.starts_on > p.ends_on
          WHERE p.id = $1 ORDER BY l.starts_on, l.ends_on - l.starts_on LIMIT 8",
    )
    .bind(period)
    .fetch_all(&mut *tx)
    .await?;
    let mut errors = FormErrors::default();
    let chosen: Vec<&CommittedEpic> = committed
        .iter()
        .filter(|c| displacement.is_chosen(&c.id))
        .collect();
    if displacement.answered || !displacement.chosen.is_empty() {
        check_choice(
            &mut errors,
            &capacity,
            adding,
            &chosen,
            displacement,
            &later,
            committed.len(),
        );
    }
    if displacement.chosen.is_empty() || !errors.is_empty() {
        let period_name: String = sqlx::query_scalar("SELECT name FROM periods WHERE id = $1")
            .bind(period)
            .fetch_one(&mut *tx)
            .await?;
        let layout = Layout::new(format!("Make room for {}", epic.title), Section::Epics, me);
        return Ok(Room::Ask(Box::new(MakeRoomPage {
            layout,
            epic_id: epic.id,
            epic_title: epic.title.clone(),
            epic_effort: adding,
            version,
            team_name: epic.team_name.clone(),
            period_name,
            capacity,
            over_by,
            committed,
            later,
            displacement: displacement.clone(),
            errors,
        })));
    }
    let to_period = Uuid::parse_str(&displacement.destination).ok();
    let mut moved = Vec::new();
    for c in chosen {
        let (status, period_after) = match to_period {
            Some(later) => (c.status.as_str(), later),
            None => ("draft", period),
        };
        sqlx::query(
            "UPDATE epics SET status = $2, period_id = $3, rank = NULL, version = version + 1, updated_at = now()
              WHERE id = $1",
        )
        .bind(c.id)
        .bind(status)
        .bind(period_after)
        .execute(&mut *tx)
        .await?;
        Entry::new("epic_deprioritised")
            .actor(Some(me.id))
            .entity("epic", c.id)
            .before(json!({ "status": c.status, "period_id": period }))
            .after(
                json!({ "status": status, "period_id": period_after, "to_make_room_for": epic.id }),
            )
            .client(client)
            .write(&mut *tx, now)
            .await?;
        moved.push(c.id);
    }
    Ok(Room::Fits(moved))
}

/// Whether the chosen epics and destination make enough room; each problem is added to
/// `errors` with the field it concerns.
fn check_choice(
    errors: &mut FormErrors,
    capacity: &Capacity,
    adding: Decimal,
    chosen: &[&CommittedEpic],
    displacement: &Displacement,
    later: &[LaterPeriod],
    listed: usize,
) {
    if displacement.chosen.is_empty() {
        errors.add("displace", "Choose at least one epic to make room");
    } else if chosen.len() != displacement.chosen.len() {
        errors.add(
            "displace",
            "Some of the chosen epics are no longer committed here: choose among those listed",
        );
    }
    let destination_known = displacement.destination == "draft"
        || later
            .iter()
            .any(|p| p.id.to_string() == displacement.destination);
    if !destination_known {
        errors.add(
            "displace_to",
            "Choose where the epics go: back to draft, or a later period",
        );
    } else if displacement.destination == "draft" {
        let started: Vec<&str> = chosen
            .iter()
            .filter(|c| c.status == EpicStatus::InProgress.as_str())
            .map(|c| c.title.as_str())
            .collect();
        if !started.is_empty() {
            errors.add(
                "displace_to",
                format!(
                    "Work under way cannot go back to draft: move {} to a later period instead",
                    started.join(", ")
                ),
            );
        }
    }
    if errors.is_empty() {
        let freed: Decimal = chosen.iter().map(|c| c.effort()).sum();
        if let Some(still) = capacity.over_by(adding, freed) {
            let message = if chosen.len() == listed {
                format!(
                    "Even with every committed epic moved, this epic is {} team-weeks over capacity: split it, or raise the capacity",
                    still.normalize()
                )
            } else {
                format!(
                    "That frees {} team-weeks; {} more are needed. Choose more epics",
                    freed.normalize(),
                    still.normalize()
                )
            };
            errors.add("displace", message);
        }
    }
}

/// Capacity as the backlog shows it: one row per unit in scope that has a capacity or
/// committed work in the period.
#[derive(Debug, sqlx::FromRow)]
pub struct CapacityRow {
    pub unit_id: Uuid,
    pub unit_name: String,
    pub weeks: Option<Decimal>,
    pub version: Option<i32>,
    pub committed: Decimal,
    pub committed_epics: i64,
    /// Committed epics without an effort estimate (they count as nothing).
    pub unestimated: i64,
}

impl CapacityRow {
    pub fn remaining(&self) -> Option<Decimal> {
        self.weeks.map(|weeks| {
            Capacity {
                weeks,
                committed: self.committed,
            }
            .remaining()
        })
    }

    pub fn over(&self) -> bool {
        self.remaining().is_some_and(|r| r < Decimal::ZERO)
    }
}

/// The capacity rows of `unit` (and the units beneath, when asked) in `period`; the unit
/// itself always comes first, even with nothing set. One statement.
pub async fn capacity_rows(
    db: &crate::db::Db,
    unit: Uuid,
    with_subunits: bool,
    period: Uuid,
) -> sqlx::Result<Vec<CapacityRow>> {
    sqlx::query_as(
        "WITH scope AS (
             SELECT t.descendant_id AS id, t.depth FROM org_unit_tree t
              WHERE t.ancestor_id = $1 AND ($2 OR t.depth = 0)),
         work AS (
             SELECT e.team_id, sum(e.effort_weeks) AS committed, count(*) AS committed_epics,
                    count(*) FILTER (WHERE e.effort_weeks IS NULL) AS unestimated
               FROM epics e JOIN scope s ON s.id = e.team_id
              WHERE e.period_id = $3 AND e.status IN ('ready', 'in_progress')
              GROUP BY e.team_id)
         SELECT u.id AS unit_id, u.name AS unit_name, c.weeks, c.version,
                coalesce(w.committed, 0) AS committed, coalesce(w.committed_epics, 0) AS committed_epics,
                coalesce(w.unestimated, 0) AS unestimated
           FROM scope s JOIN org_units u ON u.id = s.id
           LEFT JOIN team_capacity c ON c.org_unit_id = s.id AND c.period_id = $3
           LEFT JOIN work w ON w.team_id = s.id
          WHERE s.depth = 0 OR c.weeks IS NOT NULL OR w.team_id IS NOT NULL
          ORDER BY s.depth, lower(u.name)",
    )
    .bind(unit)
    .bind(with_subunits)
    .bind(period)
    .fetch_all(db)
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CapacityForm {
    period: String,
    weeks: String,
    /// The capacity row's version as read; empty when none was set.
    version: String,
    subunits: String,
}

/// `POST /org/units/{id}/capacity`: sets (or, left empty, removes) the unit's capacity in
/// a period. Audited; a stale version is refused rather than overwritten.
pub async fn post_capacity(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<CapacityForm>,
) -> Result<Response> {
    ensure_may_change(&state, &me, &client, id, None, "org_unit", id).await?;
    let period = Uuid::parse_str(form.period.trim()).map_err(|_| AppError::NotFound)?;
    let query = BacklogQuery::new(&form.period, &form.subunits);
    let here = format!("{}#capacity", query.href(id));
    let weeks = match parse_weeks(&form.weeks, "capacity") {
        Ok(weeks) => weeks,
        Err(message) => {
            let mut errors = FormErrors::default();
            errors.add("weeks", message);
            let input = BacklogInput {
                weeks: form.weeks.clone(),
                errors,
                ..BacklogInput::default()
            };
            let page = backlog_page(&state, &me, id, query, Flash::default(), input).await?;
            return Ok((INVALID, page).into_response());
        }
    };
    let version: Option<i32> = form.version.trim().parse().ok();
    let mut tx = state.db.begin().await?;
    lock(&mut tx, id, period).await?;
    let before: Option<(Decimal, i32)> = sqlx::query_as(
        "SELECT weeks, version FROM team_capacity WHERE org_unit_id = $1 AND period_id = $2",
    )
    .bind(id)
    .bind(period)
    .fetch_optional(&mut *tx)
    .await?;
    if before.map(|(_, v)| v) != version {
        return Ok(page::see_other(
            &here,
            "Someone changed this capacity meanwhile: here it is as it is now. Try again if it still needs it.",
        ));
    }
    let message = match weeks {
        Some(weeks) => {
            let saved = sqlx::query(
                "INSERT INTO team_capacity (org_unit_id, period_id, weeks) VALUES ($1, $2, $3)
                 ON CONFLICT (org_unit_id, period_id)
                 DO UPDATE SET weeks = excluded.weeks, version = team_capacity.version + 1, updated_at = now()",
            )
            .bind(id)
            .bind(period)
            .bind(weeks)
            .execute(&mut *tx)
            .await;
            match saved {
                Ok(_) => {}
                Err(err) if crate::http::error::violated_constraint(&err).is_some() => {
                    return Err(AppError::NotFound);
                }
                Err(err) => return Err(err.into()),
            }
            format!("Capacity set to {} team-weeks", weeks.normalize())
        }
        None => {
            sqlx::query("DELETE FROM team_capacity WHERE org_unit_id = $1 AND period_id = $2")
                .bind(id)
                .bind(period)
                .execute(&mut *tx)
                .await?;
            "Capacity removed".to_string()
        }
    };
    Entry::new("capacity_set")
        .actor(Some(me.id))
        .entity("org_unit", id)
        .before(json!({ "period_id": period, "weeks": before.map(|(w, _)| w) }))
        .after(json!({ "period_id": period, "weeks": weeks }))
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(&here, &message))
}
