//! A key result page's read — its objective, how it ended, its check-ins, the outcomes
//! serving it, its history and its objective's cascade, in one statement — kept by each
//! server between views, as epics' are (`src/epics/read.rs`). Seen again, one small
//! statement tells whether anything it shows has changed since (migrations/0038): its
//! objective's marks, which a change to any objective or key result beneath it, or to what
//! belongs to them, adds to in the same transaction, and the names' and choices' versions.

use std::sync::Arc;

use uuid::Uuid;

use crate::audit::Change;
use crate::db::kept::Kept;
use crate::http::{AppError, AppState, Result};
use crate::okrs::cascade::{self, CascadeJson};
use crate::okrs::key_results::{CheckInRow, Closing, ServingOutcome};
use crate::okrs::objectives::{OBJECTIVE, Objective};

/// At most this many key results' reads kept by a server (a few KB each; at most about
/// 50 KB, `LARGEST`).
const KEPT: usize = 512;
/// A read whose cascade holds more objectives and key results than this (a company's key
/// result, whose cascade may be the whole quarter's) is not kept: read afresh at each view,
/// as every key result was before.
const LARGEST: usize = 100;

/// A key result's objective, how it ended, and what its page lists.
#[derive(Clone, sqlx::FromRow)]
pub struct KeyResultRead {
    #[sqlx(flatten)]
    pub objective: Objective,
    #[sqlx(flatten)]
    pub closing: Closing,
    /// The latest 100, newest first.
    #[sqlx(json)]
    pub check_ins: Vec<CheckInRow>,
    #[sqlx(json)]
    pub outcomes: Vec<ServingOutcome>,
    #[sqlx(json)]
    pub history: Vec<Change>,
    /// Its objective's cascade, with this key result in it.
    #[sqlx(json)]
    pub cascade: CascadeJson,
}

/// What a key result's read depends on, as counted when it was read: its objective (a key
/// result may move to another), that objective's marks, and the names' and choices'
/// versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Versions {
    marked_objective_id: Uuid,
    marks: i64,
    names: i64,
    choices: i64,
}

/// The reads a server keeps, by key result.
pub type Reads = Kept<Uuid, Arc<KeyResultRead>, Versions>;

pub fn reads() -> Reads {
    Kept::new(KEPT)
}

/// [`Versions`] of the key result `k` (SQL), as columns.
fn versions_of(k: &str) -> String {
    format!(
        "{k}.objective_id AS marked_objective_id,
         (SELECT count(*) FROM objective_marks m WHERE m.objective_id = {k}.objective_id) AS marks, {}",
        crate::db::kept::NAMES_AND_CHOICES
    )
}

/// The key result `id` and what its page lists: as kept, if nothing it shows has changed
/// since; otherwise read and kept.
pub async fn read(state: &AppState, id: Uuid) -> Result<KeyResultRead> {
    static VERSIONS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {} FROM key_results k WHERE k.id = $1",
            versions_of("k")
        )
    });
    static READ: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let json = crate::db::json::rows;
        format!(
            "SELECT x.*, own.final_score, own.reflection, own.carried_from_id,
                    {check_ins} AS check_ins, {outcomes} AS outcomes, {history} AS history,
                    {cascade} AS cascade, {versions}
               FROM key_results own CROSS JOIN LATERAL ({OBJECTIVE} WHERE o.id = own.objective_id) x
              WHERE own.id = $1",
            check_ins = json(
                "SELECT c.value, c.confidence, c.note, p.name AS author_name, c.checked_on
                   FROM check_ins c LEFT JOIN people p ON p.id = c.author_id
                  WHERE c.key_result_id = own.id ORDER BY c.checked_on DESC, c.created_at DESC LIMIT 100"
            ),
            outcomes = json(
                "SELECT o.id, o.statement, o.epic_id, coalesce(e.title, i.title) AS parent_title,
                        coalesce(e.status, i.status) AS parent_status, o.measure_by, o.closed_at IS NOT NULL AS closed
                   FROM outcome_key_results l JOIN outcomes o ON o.id = l.outcome_id
                   LEFT JOIN epics e ON e.id = o.epic_id LEFT JOIN initiatives i ON i.id = o.initiative_id
                  WHERE l.key_result_id = own.id ORDER BY lower(coalesce(e.title, i.title)), o.id"
            ),
            history = crate::audit::history_json("key_result", "own.id"),
            cascade = cascade::json_of("own.objective_id"),
            versions = versions_of("own"),
        )
    });
    crate::db::kept::read_through(
        &state.db,
        &state.key_result_reads,
        id,
        &VERSIONS,
        &READ,
        |read| read.cascade.len() <= LARGEST,
    )
    .await?
    .ok_or(AppError::NotFound)
}
