//! Cost and return: a cost rate per team-week per unit (set by administrators, inherited by
//! the units beneath), an epic's cost = effort × rate, and ROI = realised value ÷ cost —
//! per epic, and summed per unit and period.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::http::page::{self, Flash, Form, FormErrors, INVALID, Id};
use crate::http::{AppError, AppState, Result};
use crate::planning::backlog::{BacklogInput, BacklogQuery, backlog_page};
use crate::planning::model::{CostRate, money, roi};

/// The rate that applies to a unit: its own, or that of the nearest unit above it.
#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct AppliedRate {
    #[serde(deserialize_with = "crate::db::json::decimal")]
    pub rate: Decimal,
    pub currency: String,
    /// Where the rate is set.
    pub set_on_id: Uuid,
    pub set_on_name: String,
    /// The version of the rate row, when it is the unit's own.
    pub version: i32,
}

impl AppliedRate {
    pub fn cost_rate(&self) -> CostRate {
        CostRate {
            rate: self.rate,
            currency: self.currency.clone(),
        }
    }

    /// "12,000 EUR"
    pub fn per_week(&self) -> String {
        money(self.rate, &self.currency)
    }
}

/// The rate that applies to `unit`; one statement.
pub async fn applied_rate(
    db: impl sqlx::PgExecutor<'_>,
    unit: Uuid,
) -> sqlx::Result<Option<AppliedRate>> {
    sqlx::query_as(&rate_of("$1"))
        .bind(unit)
        .fetch_optional(db)
        .await
}

/// The rate that applies to the unit `unit` (an SQL expression).
fn rate_of(unit: &str) -> String {
    format!(
        "SELECT c.rate, c.currency, u.id AS set_on_id, u.name AS set_on_name, c.version
           FROM org_unit_tree t JOIN unit_cost_rates c ON c.org_unit_id = t.ancestor_id
           JOIN org_units u ON u.id = t.ancestor_id
          WHERE t.descendant_id = {unit}
          ORDER BY t.depth LIMIT 1"
    )
}

/// [`applied_rate`] as a JSON column ([`crate::db::json::row`]).
pub fn applied_rate_json(unit: &str) -> String {
    crate::db::json::row(&rate_of(unit))
}

/// An epic's cost and return, as its page shows them.
#[derive(Debug, Clone)]
pub struct EpicCost {
    pub effort: Option<Decimal>,
    pub rate: Option<AppliedRate>,
    /// Sum of the realised values recorded on its outcomes, if any.
    pub realised: Option<Decimal>,
}

impl EpicCost {
    pub fn cost(&self) -> Option<Decimal> {
        Some(self.rate.as_ref()?.cost_rate().cost(self.effort?))
    }

    /// "4 team-weeks × 12,000 EUR = 48,000 EUR"
    pub fn explained(&self) -> Option<String> {
        let rate = self.rate.as_ref()?;
        Some(format!(
            "{} team-weeks × {} = {}",
            self.effort?.normalize(),
            rate.per_week(),
            rate.cost_rate().money(self.cost()?)
        ))
    }

    pub fn roi(&self) -> Option<Decimal> {
        roi(self.realised, self.cost())
    }

    /// "120,000 ÷ 48,000 EUR = 2.5"
    pub fn roi_explained(&self) -> Option<String> {
        let roi = self.roi()?;
        let rate = self.rate.as_ref()?;
        Some(format!(
            "{} ÷ {} = {}",
            crate::planning::model::grouped(self.realised?),
            rate.cost_rate().money(self.cost()?),
            roi.normalize()
        ))
    }

    pub fn realised_text(&self) -> Option<String> {
        self.realised.map(crate::planning::model::grouped)
    }
}

impl EpicCost {
    /// The cost and return of an epic with `effort` at `rate` (its team's) whose outcomes
    /// realised `realised` (their recorded values; none: nothing realised yet).
    pub fn new(
        effort: Option<Decimal>,
        rate: Option<AppliedRate>,
        realised: impl IntoIterator<Item = Option<Decimal>>,
    ) -> EpicCost {
        let realised = realised
            .into_iter()
            .flatten()
            .reduce(|sum, value| sum + value);
        EpicCost {
            effort,
            rate,
            realised,
        }
    }
}

/// Cost and return of the work planned in a unit (and beneath) in a period, in one
/// currency.
#[derive(Debug, sqlx::FromRow)]
pub struct CostSum {
    /// None: epics whose unit has no cost rate.
    pub currency: Option<String>,
    pub epics: i64,
    /// Epics with both effort and a rate.
    pub costed: i64,
    pub cost: Option<Decimal>,
    /// Epics with a realised value and a known cost.
    pub realised_epics: i64,
    pub realised: Option<Decimal>,
    /// Cost of the epics that have a realised value.
    pub realised_cost: Option<Decimal>,
}

impl CostSum {
    pub fn cost_text(&self) -> String {
        match (&self.currency, self.cost) {
            (Some(currency), Some(cost)) => money(cost, currency),
            _ => "—".to_string(),
        }
    }

    pub fn realised_text(&self) -> String {
        self.realised
            .map(crate::planning::model::grouped)
            .unwrap_or_else(|| "—".to_string())
    }

    /// Σ realised value ÷ Σ cost, over the epics where both are known.
    pub fn roi(&self) -> Option<Decimal> {
        roi(self.realised, self.realised_cost)
    }
}

/// The sums per currency (one statement): epics planned in `period` in `unit` (and beneath,
/// when asked), cancelled work excluded. Each unit's rate is looked up once, not per epic.
pub async fn cost_sums(
    db: &crate::db::Db,
    unit: Uuid,
    with_subunits: bool,
    period: Uuid,
) -> sqlx::Result<Vec<CostSum>> {
    sqlx::query_as(
        "WITH scope AS (
             SELECT t.descendant_id AS id FROM org_unit_tree t
              WHERE t.ancestor_id = $1 AND ($2 OR t.depth = 0)),
         rates AS (
             SELECT s.id, r.rate, r.currency FROM scope s
               LEFT JOIN LATERAL (
                   SELECT c.rate, c.currency FROM org_unit_tree t JOIN unit_cost_rates c ON c.org_unit_id = t.ancestor_id
                    WHERE t.descendant_id = s.id ORDER BY t.depth LIMIT 1) r ON true),
         work AS (
             SELECT r.currency, e.effort_weeks * r.rate AS cost,
                    (SELECT sum(o.realised_value) FROM outcomes o WHERE o.epic_id = e.id) AS realised
               FROM epics e JOIN rates r ON r.id = e.team_id
              WHERE e.period_id = $3 AND e.status <> 'cancelled')
         SELECT currency, count(*) AS epics, count(cost) AS costed, sum(cost) AS cost,
                count(*) FILTER (WHERE cost IS NOT NULL AND realised IS NOT NULL) AS realised_epics,
                sum(realised) FILTER (WHERE cost IS NOT NULL) AS realised,
                sum(cost) FILTER (WHERE realised IS NOT NULL) AS realised_cost
           FROM work GROUP BY currency ORDER BY currency NULLS LAST",
    )
    .bind(unit)
    .bind(with_subunits)
    .bind(period)
    .fetch_all(db)
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RateForm {
    rate: String,
    currency: String,
    /// The unit's own rate version as read; empty when it had none.
    version: String,
    period: String,
    subunits: String,
}

/// `POST /org/units/{id}/cost-rate` (administrators): sets the unit's cost per team-week,
/// or removes it when the rate is left empty. Audited; a stale version is refused.
pub async fn post_cost_rate(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<RateForm>,
) -> Result<Response> {
    let query = BacklogQuery::new(&form.period, &form.subunits);
    let here = format!("{}#cost", query.href(id));
    let valid = if form.rate.trim().is_empty() {
        Ok(None)
    } else {
        CostRate::parse(&form.rate, &form.currency).map(Some)
    };
    let rate = match valid {
        Ok(rate) => rate,
        Err(problems) => {
            let mut errors = FormErrors::default();
            for (field, message) in problems {
                errors.add(field, message);
            }
            let input = BacklogInput {
                rate: form.rate.clone(),
                currency: form.currency.clone(),
                errors,
                ..BacklogInput::default()
            };
            let page = backlog_page(&state, &me, id, query, Flash::default(), input).await?;
            return Ok((INVALID, page).into_response());
        }
    };
    let version: Option<i32> = form.version.trim().parse().ok();
    let mut tx = state.db.begin().await?;
    let before: Option<(Decimal, String, i32)> = sqlx::query_as(
        "SELECT rate, currency, version FROM unit_cost_rates WHERE org_unit_id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if before.as_ref().map(|(_, _, v)| *v) != version {
        return Ok(page::see_other(
            &here,
            "Someone changed this cost rate meanwhile: here it is as it is now. Try again if it still needs it.",
        ));
    }
    let message = match &rate {
        Some(rate) => {
            let saved = sqlx::query(
                "INSERT INTO unit_cost_rates (org_unit_id, rate, currency) VALUES ($1, $2, $3)
                 ON CONFLICT (org_unit_id)
                 DO UPDATE SET rate = excluded.rate, currency = excluded.currency,
                               version = unit_cost_rates.version + 1, updated_at = now()",
            )
            .bind(id)
            .bind(rate.rate)
            .bind(&rate.currency)
            .execute(&mut *tx)
            .await;
            match saved {
                Ok(_) => {}
                Err(err) if crate::http::error::violated_constraint(&err).is_some() => {
                    return Err(AppError::NotFound);
                }
                Err(err) => return Err(err.into()),
            }
            format!("Cost rate set to {} per team-week", rate.money(rate.rate))
        }
        None => {
            sqlx::query("DELETE FROM unit_cost_rates WHERE org_unit_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            "Cost rate removed: the rate of the unit above applies, if any".to_string()
        }
    };
    Entry::new("cost_rate_set")
        .actor(Some(me.id))
        .entity("org_unit", id)
        .before(json!(
            before.map(|(r, c, _)| json!({ "rate": r, "currency": c }))
        ))
        .after(json!(
            rate.map(|r| json!({ "rate": r.rate, "currency": r.currency }))
        ))
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(&here, &message))
}
