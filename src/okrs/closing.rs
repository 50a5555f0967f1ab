//! Ending a period: closing it freezes each key result's final score (its progress then,
//! roll-ups included), closes its objectives, makes its OKRs read-only and asks each key
//! result's owner for a short reflection; an administrator may reopen it. Unfinished work
//! is carried over into a later period, keeping the link to where it came from.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::{ClientAddr, ensure_may_change};
use crate::auth::policy::Me;
use crate::http::page::{self, Flash, Form, Id};
use crate::http::{AppError, AppState, Result};
use crate::okrs::cascade;
use crate::okrs::objectives::load_objective;

/// `POST /periods/{id}/close` (administrators)
pub async fn post_close_period(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    // First the period closes (check-ins hold a share lock on it, so none is half done),
    // then the scores are taken from what it holds.
    let mut tx = state.db.begin().await?;
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE periods SET closed_at = $2, version = version + 1, updated_at = now()
          WHERE id = $1 AND closed_at IS NULL RETURNING name",
    )
    .bind(id)
    .bind(state.clock.now())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(name) = name else {
        return Ok(page::see_other("/periods", "That period is already closed"));
    };
    tx.commit().await?;
    let roots: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM objectives WHERE period_id = $1")
        .bind(id)
        .fetch_all(&state.db)
        .await?;
    let cascade = cascade::load(&state.db, &roots).await?;
    let in_period: Vec<Uuid> = cascade
        .key_results
        .iter()
        .filter(|k| roots.contains(&k.objective_id))
        .map(|k| k.id)
        .collect();
    let scores: Vec<Decimal> = in_period
        .iter()
        .map(|k| cascade.key_result_progress(k).round_dp(4))
        .collect();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "UPDATE key_results k SET final_score = s.score
           FROM unnest($1::uuid[], $2::numeric[]) AS s (id, score) WHERE k.id = s.id",
    )
    .bind(&in_period)
    .bind(&scores)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE objectives SET status = 'closed', version = version + 1, updated_at = now()
          WHERE period_id = $1 AND status <> 'closed'",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Entry::new("period_closed")
        .actor(Some(me.id))
        .entity("period", id)
        .after(json!({ "objectives": roots.len(), "key_results_scored": in_period.len() }))
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        "/periods",
        &format!(
            "{name} is closed: {} key results have their final score, and their owners are asked for a reflection",
            in_period.len()
        ),
    ))
}

/// `POST /periods/{id}/reopen` (administrators): its OKRs may change again; final scores
/// stay until it closes again.
pub async fn post_reopen_period(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let mut tx = state.db.begin().await?;
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE periods SET closed_at = NULL, version = version + 1, updated_at = now()
          WHERE id = $1 AND closed_at IS NOT NULL RETURNING name",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(name) = name else {
        return Ok(page::see_other("/periods", "That period is not closed"));
    };
    Entry::new("period_reopened")
        .actor(Some(me.id))
        .entity("period", id)
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        "/periods",
        &format!("{name} is open again"),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReflectionForm {
    reflection: String,
}

/// `POST /key-results/{id}/reflection`: once its period is closed, what the owner learned.
pub async fn post_reflection(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<ReflectionForm>,
) -> Result<Response> {
    let (objective_id, owner, before): (Uuid, Option<Uuid>, String) =
        sqlx::query_as("SELECT objective_id, owner_id, reflection FROM key_results WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
    let objective = load_objective(&state.db, objective_id).await?;
    ensure_may_change(
        &state,
        &me,
        &client,
        objective.unit_id,
        owner,
        "key_result",
        id,
    )
    .await?;
    let here = format!("/key-results/{id}#reflection");
    if !objective.period_closed {
        return Ok(page::see_other(
            &here,
            "The reflection comes when the period closes",
        ));
    }
    let reflection = form.reflection.trim().to_string();
    if reflection.is_empty() || reflection.chars().count() > 2_000 {
        let mut errors = crate::http::page::FormErrors::default();
        errors.add(
            "reflection",
            "Write the reflection in a few sentences (at most 2000 characters)",
        );
        let mut page = crate::okrs::key_results::key_result_page(
            &state,
            &me,
            id,
            None,
            errors,
            Flash::default(),
        )
        .await?;
        page.reflection = Some(form.reflection);
        return Ok((crate::http::page::INVALID, page).into_response());
    }
    let mut tx = state.db.begin().await?;
    sqlx::query("UPDATE key_results SET reflection = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(&reflection)
        .execute(&mut *tx)
        .await?;
    Entry::new("key_result_reflected")
        .actor(Some(me.id))
        .entity("key_result", id)
        .before(json!({ "reflection": before }))
        .after(json!({ "reflection": reflection }))
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(&here, "Reflection saved"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CarryOverForm {
    period_id: String,
}

/// `POST /objectives/{id}/carry-over`: a draft copy of the objective in a later period
/// with its unfinished key results, each starting where the old one stands; both keep the
/// link to where they came from.
pub async fn post_carry_over(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<CarryOverForm>,
) -> Result<Response> {
    let objective = load_objective(&state.db, id).await?;
    ensure_may_change(
        &state,
        &me,
        &client,
        objective.unit_id,
        objective.owner_id,
        "objective",
        id,
    )
    .await?;
    let here = format!("/objectives/{id}");
    let Ok(period) = Uuid::parse_str(form.period_id.trim()) else {
        return Ok(page::see_other(&here, "Choose the period to carry it into"));
    };
    let later: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM periods p WHERE p.id = $1 AND p.closed_at IS NULL AND p.starts_on > $2)",
    )
    .bind(period)
    .bind(objective.period_ends_on)
    .fetch_one(&state.db)
    .await?;
    if !later {
        return Ok(page::see_other(
            &here,
            "Carry it into an open period that starts after this one ends",
        ));
    }
    let cascade = cascade::load(&state.db, &[id]).await?;
    let unfinished: Vec<Uuid> = cascade
        .key_results_of(&id)
        .filter(|k| cascade.key_result_progress(&k.id) < Decimal::ONE)
        .map(|k| k.id)
        .collect();
    let copy = Uuid::new_v4();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO objectives (id, org_unit_id, period_id, owner_id, carried_from_id, title, description)
         SELECT $1, org_unit_id, $2, owner_id, id, title, description FROM objectives WHERE id = $3",
    )
    .bind(copy)
    .bind(period)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO key_results (id, objective_id, owner_id, title, metric, unit, unit_label, direction, start_value,
                                  target, band_lower, band_upper, weight, progress_source, source_outcome_id,
                                  carried_from_id, position)
         SELECT gen_random_uuid(), $1, owner_id, title, metric, unit, unit_label, direction,
                CASE WHEN direction = 'stay_within' OR current_value IS NULL THEN start_value
                     WHEN direction = 'increase' AND current_value < target THEN current_value
                     WHEN direction = 'decrease' AND current_value > target THEN current_value
                     ELSE start_value END,
                target, band_lower, band_upper, weight, progress_source, source_outcome_id, id, position
           FROM key_results WHERE id = ANY($2)",
    )
    .bind(copy)
    .bind(&unfinished)
    .execute(&mut *tx)
    .await?;
    Entry::new("objective_carried_over")
        .actor(Some(me.id))
        .entity("objective", copy)
        .after(json!({ "carried_from_id": id, "period_id": period, "key_results": unfinished }))
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/objectives/{copy}"),
        &format!(
            "Carried over as a draft with {} unfinished key result{}",
            unfinished.len(),
            if unfinished.len() == 1 { "" } else { "s" }
        ),
    ))
}
