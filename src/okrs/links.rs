//! Contribution links: which anticipated outcomes serve which key results (many to many).
//! Linked from the epic's (or initiative's) page, where a key result is found by title.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::http::page::{self, Form, Id};
use crate::http::{AppError, AppState, Result};
use crate::outcomes::parent::{Parent, parent_to_change};

/// A key result an outcome serves, as the epic page lists it.
#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct ServedKeyResult {
    pub outcome_id: Uuid,
    pub key_result_id: Uuid,
    pub title: String,
    pub objective_id: Uuid,
    pub objective_title: String,
    pub unit_name: String,
    pub period_name: String,
}

/// The key results the outcomes of `epic` serve; one statement.
pub async fn served_by(db: &crate::db::Db, epic: Uuid) -> sqlx::Result<Vec<ServedKeyResult>> {
    // By the epic, not by a list of its outcomes: with one value to plan for, PostgreSQL
    // keeps one plan for every epic instead of planning again each time (1.4 ms).
    sqlx::query_as(&served_by_epic("$1"))
        .bind(epic)
        .fetch_all(db)
        .await
}

/// The key results the outcomes of the epic `epic` (an SQL expression) serve.
fn served_by_epic(epic: &str) -> String {
    format!(
        "SELECT l.outcome_id, k.id AS key_result_id, k.title, o.id AS objective_id, o.title AS objective_title,
                u.name AS unit_name, pe.name AS period_name
           FROM outcome_key_results l JOIN key_results k ON k.id = l.key_result_id
           JOIN objectives o ON o.id = k.objective_id JOIN org_units u ON u.id = o.org_unit_id
           JOIN periods pe ON pe.id = o.period_id
          WHERE l.outcome_id IN (SELECT id FROM outcomes WHERE epic_id = {epic})
          ORDER BY pe.starts_on DESC, lower(k.title)"
    )
}

/// [`served_by`] as a JSON column ([`crate::db::json::rows`]).
pub fn served_by_json(epic: &str) -> String {
    crate::db::json::rows(&served_by_epic(epic))
}

/// A key result found by title, to link an outcome to.
#[derive(Debug, sqlx::FromRow)]
pub struct KeyResultMatch {
    pub id: Uuid,
    pub title: String,
    pub objective_title: String,
    pub unit_name: String,
    pub period_name: String,
}

/// Key results of open periods whose title (or objective's) contains `q`; at most 10,
/// most recent periods first.
pub async fn search(db: &crate::db::Db, q: &str) -> sqlx::Result<Vec<KeyResultMatch>> {
    let pattern = crate::people::like_pattern(q.trim());
    sqlx::query_as(
        "SELECT k.id, k.title, o.title AS objective_title, u.name AS unit_name, pe.name AS period_name
           FROM key_results k JOIN objectives o ON o.id = k.objective_id
           JOIN org_units u ON u.id = o.org_unit_id JOIN periods pe ON pe.id = o.period_id
          WHERE pe.closed_at IS NULL AND (k.title ILIKE $1 OR o.title ILIKE $1)
          ORDER BY pe.starts_on DESC, lower(k.title) LIMIT 10",
    )
    .bind(pattern)
    .fetch_all(db)
    .await
}

/// The outcome's parent, when `me` may change it.
pub async fn outcome_parent(
    state: &AppState,
    me: &Me,
    client: &str,
    outcome: Uuid,
) -> Result<Parent> {
    let (epic, initiative): (Option<Uuid>, Option<Uuid>) =
        sqlx::query_as("SELECT epic_id, initiative_id FROM outcomes WHERE id = $1")
            .bind(outcome)
            .fetch_optional(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
    parent_to_change(state, me, client, epic, initiative, "outcome", outcome).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LinkForm {
    key_result_id: String,
}

/// `POST /outcomes/{id}/key-results`: the outcome serves this key result.
pub async fn post_link(
    State(state): State<AppState>,
    me: Me,
    Id(outcome): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<LinkForm>,
) -> Result<Response> {
    let parent = outcome_parent(&state, &me, &client, outcome).await?;
    let here = format!("{}#alignment", parent.href());
    let Ok(key_result) = Uuid::parse_str(form.key_result_id.trim()) else {
        return Ok(page::see_other(&here, "Choose a key result from the list"));
    };
    match link(&state, &me, &client, outcome, key_result).await? {
        Some(title) => Ok(page::see_other(&here, &format!("Now serves “{title}”"))),
        None => Ok(page::see_other(
            &here,
            "Already linked, or that key result no longer exists",
        )),
    }
}

/// Links an outcome `me` may change to a key result it serves (pages and the API alike);
/// audited. The key result's title, or None when it was linked already or does not exist.
pub async fn link(
    state: &AppState,
    me: &Me,
    client: &str,
    outcome: Uuid,
    key_result: Uuid,
) -> Result<Option<String>> {
    let mut tx = state.db.begin().await?;
    let linked: Option<String> = sqlx::query_scalar(
        "INSERT INTO outcome_key_results (outcome_id, key_result_id, created_by)
         SELECT $1, k.id, $3 FROM key_results k WHERE k.id = $2
         ON CONFLICT DO NOTHING RETURNING (SELECT title FROM key_results WHERE id = $2)",
    )
    .bind(outcome)
    .bind(key_result)
    .bind(me.id)
    .fetch_optional(&mut *tx)
    .await?;
    if linked.is_none() {
        return Ok(None);
    }
    Entry::new("outcome_linked")
        .actor(Some(me.id))
        .entity("outcome", outcome)
        .after(json!({ "key_result_id": key_result }))
        .client(client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(linked)
}

/// `POST /outcomes/{id}/key-results/{key_result_id}/remove`
pub async fn post_unlink(
    State(state): State<AppState>,
    me: Me,
    Id((outcome, key_result)): Id<(Uuid, Uuid)>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let parent = outcome_parent(&state, &me, &client, outcome).await?;
    let here = format!("{}#alignment", parent.href());
    if unlink(&state, &me, &client, outcome, key_result).await? {
        Ok(page::see_other(&here, "Link removed"))
    } else {
        Ok(page::see_other(&here, "That link was already removed"))
    }
}

/// Removes an outcome's link to a key result (pages and the API alike); audited. Whether
/// there was one.
pub async fn unlink(
    state: &AppState,
    me: &Me,
    client: &str,
    outcome: Uuid,
    key_result: Uuid,
) -> Result<bool> {
    let mut tx = state.db.begin().await?;
    let removed =
        sqlx::query("DELETE FROM outcome_key_results WHERE outcome_id = $1 AND key_result_id = $2")
            .bind(outcome)
            .bind(key_result)
            .execute(&mut *tx)
            .await?;
    if removed.rows_affected() == 0 {
        return Ok(false);
    }
    Entry::new("outcome_unlinked")
        .actor(Some(me.id))
        .entity("outcome", outcome)
        .before(json!({ "key_result_id": key_result }))
        .client(client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(true)
}
