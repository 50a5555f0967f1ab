//! An epic page's read — the epic, its cost rate, its outcomes, its history and the key
//! results they serve, in one statement (lists as JSON columns, `src/db/json.rs`) — kept by
//! each server between views. Seen again, one small statement tells whether anything it
//! shows has changed since (migrations/0036): the epic's marks, which every change to it or
//! to what belongs to it adds to in the same transaction, and the versions of the names it
//! shows (`names_version`) and of units and periods (`choices_version`). What depends on
//! the viewer or the day (who may change it, loop states) is worked out on every view.

use std::sync::Arc;

use uuid::Uuid;

use crate::audit::Change;
use crate::db::kept::Kept;
use crate::epics::pages::{EPIC, Epic};
use crate::http::{AppError, AppState, Result};
use crate::okrs::links::ServedKeyResult;
use crate::outcomes::parent::OutcomeRow;
use crate::planning::cost::AppliedRate;

/// At most this many epics' reads kept by a server (a few KB each: up to 50 history
/// entries, a few outcomes).
const KEPT: usize = 1024;

/// An epic with what its page lists.
#[derive(Clone, sqlx::FromRow)]
pub struct EpicRead {
    #[sqlx(flatten)]
    pub epic: Epic,
    #[sqlx(json(nullable))]
    pub rate: Option<AppliedRate>,
    #[sqlx(json)]
    pub outcomes: Vec<OutcomeRow>,
    #[sqlx(json)]
    pub history: Vec<Change>,
    #[sqlx(json)]
    pub served: Vec<ServedKeyResult>,
}

/// What an epic's read depends on, as counted when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Versions {
    marks: i64,
    names: i64,
    choices: i64,
}

/// The reads a server keeps, by epic.
pub type Reads = Kept<Uuid, Arc<EpicRead>, Versions>;

pub fn reads() -> Reads {
    Kept::new(KEPT)
}

/// [`Versions`] of the epic `id` (SQL), as columns.
fn versions_of(id: &str) -> String {
    format!(
        "(SELECT count(*) FROM epic_marks WHERE epic_id = {id}) AS marks, {}",
        crate::db::kept::NAMES_AND_CHOICES
    )
}

/// The epic `id` and what its page lists: as kept, if nothing it shows has changed since;
/// otherwise read and kept.
pub async fn read(state: &AppState, id: Uuid) -> Result<EpicRead> {
    static VERSIONS: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {}", versions_of("$1")));
    static READ: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT x.*, {rate} AS rate, {outcomes} AS outcomes, {history} AS history, {served} AS served,
                    {versions}
               FROM ({EPIC} WHERE e.id = $1) x",
            rate = crate::planning::cost::applied_rate_json("x.team_id"),
            outcomes = crate::outcomes::parent::outcomes_of_epic_json("x.id"),
            history = crate::audit::history_json("epic", "x.id"),
            served = crate::okrs::links::served_by_json("x.id"),
            versions = versions_of("x.id"),
        )
    });
    crate::db::kept::read_through(&state.db, &state.epic_reads, id, &VERSIONS, &READ, |_| true)
        .await?
        .ok_or(AppError::NotFound)
}
