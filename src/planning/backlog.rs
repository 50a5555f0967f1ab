//! `/org/units/{id}/backlog`: a unit's open epics ranked by anticipated outcome —
//! anticipated value × confidence ÷ 10 ÷ effort — with a manual order kept as a rank, and
//! those missing an input listed apart with what they lack.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::{ClientAddr, ensure_may_change};
use crate::auth::policy::{Me, may_change_record};
use crate::epics::model::{EpicStatus, Priority, WorkType};
use crate::http::page::{self, Flash, Form, FormErrors, Id, Layout, Query, Section};
use crate::http::{AppError, AppState, Result};
use crate::periods::{Period, current_period, load_period};
use crate::planning::capacity::{CapacityRow, capacity_rows};
use crate::planning::cost::{AppliedRate, CostSum, applied_rate, cost_sums};

/// Most epics one backlog ranks (a division's; the whole company's is capped).
const LIMIT: i64 = 500;

#[derive(Debug, sqlx::FromRow)]
pub struct BacklogRow {
    pub id: Uuid,
    pub title: String,
    pub work_type: String,
    pub status: String,
    pub team_id: Uuid,
    pub team_name: String,
    pub owner_name: Option<String>,
    pub value: Option<Decimal>,
    pub value_label: String,
    pub confidence: Option<i16>,
    pub effort_weeks: Option<Decimal>,
    pub rank: Option<i32>,
}

impl BacklogRow {
    pub fn priority(&self) -> Priority {
        Priority {
            value: self.value,
            value_label: self.value_label.clone(),
            confidence: self.confidence,
            effort: self.effort_weeks,
        }
    }

    pub fn type_label(&self) -> &str {
        WorkType::label_of(&self.work_type)
    }

    pub fn status_label(&self) -> &str {
        EpicStatus::label_of(&self.status)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BacklogQuery {
    /// "0": the unit's own epics only; otherwise with its sub-units'.
    subunits: String,
    /// The period capacity, cost and return are shown for (default: the current one).
    period: String,
}

impl BacklogQuery {
    pub fn new(period: &str, subunits: &str) -> BacklogQuery {
        BacklogQuery {
            subunits: subunits.to_string(),
            period: period.to_string(),
        }
    }

    pub fn with_subunits(&self) -> bool {
        self.subunits.trim() != "0"
    }

    fn period(&self) -> Option<Uuid> {
        Uuid::parse_str(self.period.trim()).ok()
    }

    /// The backlog's address with these choices.
    pub fn href(&self, unit: Uuid) -> String {
        let mut query = Vec::new();
        if let Some(period) = self.period() {
            query.push(format!("period={period}"));
        }
        if !self.with_subunits() {
            query.push("subunits=0".to_string());
        }
        let query = query.join("&");
        format!(
            "/org/units/{unit}/backlog{}{query}",
            if query.is_empty() { "" } else { "?" }
        )
    }
}

/// What was typed into the capacity or cost-rate form when it is shown again with reasons;
/// empty fields show what is stored.
#[derive(Debug, Default)]
pub struct BacklogInput {
    pub weeks: String,
    pub rate: String,
    pub currency: String,
    pub errors: FormErrors,
}

/// The unit's open epics (draft, ready, in progress), hand-placed first, then by score,
/// then oldest first; one statement.
async fn open_epics(
    db: impl sqlx::PgExecutor<'_>,
    unit: Uuid,
    with_subunits: bool,
) -> sqlx::Result<Vec<BacklogRow>> {
    sqlx::query_as(
        "SELECT e.id, e.title, e.work_type, e.status, e.team_id, u.name AS team_name, p.name AS owner_name,
                e.value, e.value_label, e.confidence, e.effort_weeks, e.rank
           FROM epics e JOIN org_units u ON u.id = e.team_id LEFT JOIN people p ON p.id = e.owner_id
          WHERE e.status IN ('draft', 'ready', 'in_progress')
            AND (e.team_id = $1 OR ($2 AND e.team_id IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1)))
          ORDER BY e.rank NULLS LAST, e.value * e.confidence / 10 / e.effort_weeks DESC NULLS LAST, e.created_at, e.id
          LIMIT $3",
    )
    .bind(unit)
    .bind(with_subunits)
    .bind(LIMIT)
    .fetch_all(db)
    .await
}

/// The ranked epics (every input known) in backlog order, and the others.
fn split(rows: Vec<BacklogRow>) -> (Vec<BacklogRow>, Vec<BacklogRow>) {
    rows.into_iter()
        .partition(|r| r.priority().score().is_some())
}

#[derive(Template, WebTemplate)]
#[template(path = "planning/backlog.html")]
pub struct BacklogPage {
    layout: Layout,
    unit_id: Uuid,
    unit_name: String,
    with_subunits: bool,
    ranked: Vec<BacklogRow>,
    missing: Vec<BacklogRow>,
    manual: bool,
    may_change: bool,
    is_admin: bool,
    period: Option<Period>,
    periods: Vec<(String, String)>,
    capacity: Vec<CapacityRow>,
    rate: Option<AppliedRate>,
    sums: Vec<CostSum>,
    input: BacklogInput,
}

impl BacklogPage {
    /// The capacity row of the unit itself (always the first).
    fn own_capacity(&self) -> Option<&CapacityRow> {
        self.capacity.first().filter(|c| c.unit_id == self.unit_id)
    }

    /// The capacity field's value: as typed, or as stored.
    fn weeks_value(&self) -> String {
        if self.input.errors.is_empty() {
            self.own_capacity()
                .and_then(|c| c.weeks)
                .map(|w| w.normalize().to_string())
                .unwrap_or_default()
        } else {
            self.input.weeks.clone()
        }
    }

    fn capacity_version(&self) -> String {
        self.own_capacity()
            .and_then(|c| c.version)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    /// The unit's own rate, when it has one (not inherited).
    fn own_rate(&self) -> Option<&AppliedRate> {
        self.rate.as_ref().filter(|r| r.set_on_id == self.unit_id)
    }

    fn rate_value(&self) -> String {
        if self.input.errors.is_empty() {
            self.own_rate()
                .map(|r| r.rate.normalize().to_string())
                .unwrap_or_default()
        } else {
            self.input.rate.clone()
        }
    }

    fn currency_value(&self) -> String {
        if self.input.errors.is_empty() {
            self.own_rate()
                .map(|r| r.currency.clone())
                .unwrap_or_default()
        } else {
            self.input.currency.clone()
        }
    }

    fn rate_version(&self) -> String {
        self.own_rate()
            .map(|r| r.version.to_string())
            .unwrap_or_default()
    }

    fn subunits_value(&self) -> &'static str {
        if self.with_subunits { "1" } else { "0" }
    }
}

/// The backlog page: ranked epics, capacity against committed effort and cost and return
/// in the chosen period.
pub async fn backlog_page(
    state: &AppState,
    me: &Me,
    id: Uuid,
    query: BacklogQuery,
    flash: Flash,
    input: BacklogInput,
) -> Result<BacklogPage> {
    let unit_name: String = sqlx::query_scalar("SELECT name FROM org_units WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let with_subunits = query.with_subunits();
    let (ranked, missing) = split(open_epics(&state.db, id, with_subunits).await?);
    let manual = ranked.iter().any(|r| r.rank.is_some());
    let may_change = may_change_record(&state.db, me, id, None).await?;
    let period = match query.period() {
        Some(period) => Some(load_period(&state.db, period).await?),
        None => current_period(&state.db, me.today(&state.clock)).await?,
    };
    let periods = crate::periods::options(state, me).await?;
    let (capacity, sums) = match &period {
        Some(p) => (
            capacity_rows(&state.db, id, with_subunits, p.id).await?,
            cost_sums(&state.db, id, with_subunits, p.id).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let rate = applied_rate(&state.db, id).await?;
    let layout =
        Layout::new(format!("Backlog · {unit_name}"), Section::Organisation, me).with_flash(flash);
    Ok(BacklogPage {
        layout,
        unit_id: id,
        unit_name,
        with_subunits,
        ranked,
        missing,
        manual,
        may_change,
        is_admin: me.is_admin(),
        period,
        periods,
        capacity,
        rate,
        sums,
        input,
    })
}

/// `GET /org/units/{id}/backlog?subunits=0|1&period=`
pub async fn get_backlog(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    Query(query): Query<BacklogQuery>,
    flash: Flash,
) -> Result<BacklogPage> {
    backlog_page(&state, &me, id, query, flash, BacklogInput::default()).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MoveForm {
    epic: String,
    /// "up", "down", or "reset" (back to score order).
    direction: String,
    subunits: String,
    period: String,
}

/// `POST /org/units/{id}/backlog`: moves one epic up or down the ranked list (every epic
/// listed then keeps its place as a rank), or puts the list back in score order.
pub async fn post_backlog(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<MoveForm>,
) -> Result<Response> {
    ensure_may_change(&state, &me, &client, id, None, "org_unit", id).await?;
    let query = BacklogQuery::new(&form.period, &form.subunits);
    let here = query.href(id);
    let mut tx = state.db.begin().await?;
    // One reorder at a time per unit, so two people moving epics cannot interleave.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('backlog:' || $1::text))")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let (ranked, _) = split(open_epics(&mut *tx, id, query.with_subunits()).await?);
    let before: Vec<Uuid> = ranked.iter().map(|r| r.id).collect();
    let epic = Uuid::parse_str(form.epic.trim()).ok();
    let position = epic.and_then(|e| before.iter().position(|x| *x == e));
    let (after, message): (Vec<Uuid>, String) = match (form.direction.as_str(), position) {
        ("reset", _) => (Vec::new(), "Backlog back in score order".to_string()),
        ("up", Some(p)) if p > 0 => {
            let mut order = before.clone();
            order.swap(p, p - 1);
            (order, format!("Moved up to position {p}"))
        }
        ("down", Some(p)) if p + 1 < before.len() => {
            let mut order = before.clone();
            order.swap(p, p + 1);
            (order, format!("Moved down to position {}", p + 2))
        }
        _ => return Ok(page::see_other(&here, "Nothing to move")),
    };
    // Ranks for everything listed: 1, 2, 3… in the new order (none after a reset).
    sqlx::query("UPDATE epics SET rank = NULL WHERE id = ANY($1)")
        .bind(&before)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE epics e SET rank = o.position FROM unnest($1::uuid[]) WITH ORDINALITY AS o (id, position)
          WHERE e.id = o.id",
    )
    .bind(&after)
    .execute(&mut *tx)
    .await?;
    Entry::new("backlog_reordered")
        .actor(Some(me.id))
        .entity("org_unit", id)
        .before(json!({ "order": before }))
        .after(json!({ "order": after, "moved": epic, "direction": form.direction }))
        .client(&client)
        .write(&mut *tx, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(page::see_other(&here, &message))
}
