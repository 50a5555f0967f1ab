//! What an outcome belongs to — an epic or an initiative, exactly one — and the outcomes
//! each lists, with their loop state.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::auth::guard::ensure_may_change;
use crate::auth::policy::Me;
use crate::http::{AppError, AppState, Result};
use crate::outcomes::model::{Direction, Goal, LoopState, MetricUnit, OutcomeKind, sentence};

/// The epic or initiative an outcome belongs to, as the outcome pages need it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct Parent {
    /// "epic" or "initiative".
    pub kind: String,
    pub id: Uuid,
    pub title: String,
    pub unit_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub owner_email: Option<String>,
    pub status: String,
    /// The epic's initiative: an epic's outcome may lead to one of the initiative's.
    pub initiative_id: Option<Uuid>,
}

impl Parent {
    pub fn is_epic(&self) -> bool {
        self.kind == "epic"
    }

    /// "epic" or "initiative", as sentences name it.
    pub fn noun(&self) -> &'static str {
        if self.is_epic() { "epic" } else { "initiative" }
    }

    pub fn href(&self) -> String {
        format!("/{}s/{}", self.kind, self.id)
    }

    /// The list the parent belongs to, for breadcrumbs: ("/epics", "Epics").
    pub fn list(&self) -> (&'static str, &'static str) {
        if self.is_epic() {
            ("/epics", "Epics")
        } else {
            ("/initiatives", "Initiatives")
        }
    }

    /// Work committed to (an epic past draft, an initiative past proposed): outcomes added
    /// now are committed at once.
    pub fn committed(&self) -> bool {
        !matches!(self.status.as_str(), "draft" | "proposed")
    }

    /// When its outcomes were committed: "the epic became ready".
    pub fn commitment_moment(&self) -> &'static str {
        if self.is_epic() {
            "the epic became ready"
        } else {
            "the initiative started"
        }
    }

    /// The loop state of one of its outcomes.
    pub fn loop_state(
        &self,
        closed: bool,
        measure_by: NaiveDate,
        today: NaiveDate,
    ) -> Option<LoopState> {
        loop_state(&self.status, closed, measure_by, today)
    }
}

/// The loop state of an outcome of work (epic or initiative) in `status`: none once the
/// work is cancelled; measuring once it is delivered (or done).
pub fn loop_state(
    status: &str,
    closed: bool,
    measure_by: NaiveDate,
    today: NaiveDate,
) -> Option<LoopState> {
    let delivered = matches!(status, "delivered" | "measuring" | "closed" | "done");
    LoopState::of(closed, status == "cancelled", delivered, measure_by, today)
}

/// Loads the epic or the initiative (pass exactly one id).
pub async fn load_parent(
    db: &crate::db::Db,
    epic: Option<Uuid>,
    initiative: Option<Uuid>,
) -> Result<Parent> {
    sqlx::query_as(&parent_of("$1", "$2"))
        .bind(epic)
        .bind(initiative)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The epic `epic` or the initiative `initiative` (SQL expressions; one is null).
fn parent_of(epic: &str, initiative: &str) -> String {
    format!(
        "SELECT 'epic' AS kind, e.id, e.title, e.team_id AS unit_id, e.owner_id, p.email AS owner_email, e.status,
                e.initiative_id
           FROM epics e LEFT JOIN people p ON p.id = e.owner_id WHERE e.id = {epic}
         UNION ALL
         SELECT 'initiative', i.id, i.title, i.org_unit_id, i.owner_id, p.email, i.status, NULL
           FROM initiatives i LEFT JOIN people p ON p.id = i.owner_id WHERE i.id = {initiative}"
    )
}

/// One outcome and its parent, in one statement (the parent as a JSON column).
pub async fn outcome_with_parent(db: &crate::db::Db, id: Uuid) -> Result<(OutcomeRow, Parent)> {
    #[derive(sqlx::FromRow)]
    struct Read {
        #[sqlx(flatten)]
        outcome: OutcomeRow,
        #[sqlx(json(nullable))]
        parent: Option<Parent>,
    }
    static READ: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT x.*, {parent} AS parent FROM (SELECT {COLUMNS} WHERE o.id = $1) x",
            parent = crate::db::json::row(&parent_of("x.epic_id", "x.initiative_id")),
        )
    });
    let read: Read = sqlx::query_as(&READ)
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((read.outcome, read.parent.ok_or(AppError::NotFound)?))
}

/// The parent of an outcome, when `me` may change it (and so the outcome); otherwise the
/// audited 403. `entity` and `id` name what the person tried to change.
pub async fn parent_to_change(
    state: &AppState,
    me: &Me,
    client: &str,
    epic: Option<Uuid>,
    initiative: Option<Uuid>,
    entity: &'static str,
    id: Uuid,
) -> Result<Parent> {
    let parent = load_parent(&state.db, epic, initiative).await?;
    ensure_may_change(
        state,
        me,
        client,
        parent.unit_id,
        parent.owner_id,
        entity,
        id,
    )
    .await?;
    Ok(parent)
}

/// Commits the outcomes of an epic or initiative not committed yet (the work is now
/// committed to): later changes to their baseline, goal or date need a reason.
pub async fn commit_outcomes(
    tx: &mut sqlx::PgConnection,
    parent: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outcomes SET committed_at = $2
          WHERE (epic_id = $1 OR initiative_id = $1) AND committed_at IS NULL",
    )
    .bind(parent)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

/// An outcome as the pages of its epic or initiative list it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct OutcomeRow {
    pub id: Uuid,
    pub epic_id: Option<Uuid>,
    pub initiative_id: Option<Uuid>,
    pub kind: String,
    pub statement: String,
    pub metric: String,
    pub unit: String,
    pub unit_label: String,
    pub direction: String,
    #[serde(deserialize_with = "crate::db::json::decimal")]
    pub baseline: Decimal,
    #[serde(deserialize_with = "crate::db::json::optional_decimal")]
    pub target: Option<Decimal>,
    #[serde(deserialize_with = "crate::db::json::optional_decimal")]
    pub band_lower: Option<Decimal>,
    #[serde(deserialize_with = "crate::db::json::optional_decimal")]
    pub band_upper: Option<Decimal>,
    pub measure_by: NaiveDate,
    /// Where the numbers come from and how they are measured.
    pub data_source: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub owner_active: bool,
    pub committed: bool,
    pub leads_to_id: Option<Uuid>,
    /// Interim checkpoint dates, earliest first.
    pub checkpoints: Vec<NaiveDate>,
    pub version: i32,
    /// The loop is closed (a verdict is recorded).
    pub closed: bool,
    pub verdict: Option<String>,
    /// The key an analytics job posts this outcome's values for.
    pub metric_key: Option<String>,
    /// The value it realised, recorded when its loop closed.
    #[serde(deserialize_with = "crate::db::json::optional_decimal")]
    pub realised_value: Option<Decimal>,
    #[sqlx(skip)]
    #[serde(skip)]
    pub loop_state: Option<LoopState>,
}

impl OutcomeRow {
    /// "Search success rate from 70% to 90% by 30 Jun 2026"
    pub fn sentence(&self) -> String {
        let direction = Direction::parse(&self.direction).unwrap_or(Direction::Increase);
        let band = self.band_lower.zip(self.band_upper);
        match Goal::new(direction, self.baseline, self.target, band) {
            Ok(goal) => sentence(
                &self.metric,
                MetricUnit::parse(&self.unit).unwrap_or(MetricUnit::Count),
                &self.unit_label,
                self.baseline,
                &goal,
                self.measure_by,
            ),
            Err(_) => self.metric.clone(),
        }
    }

    pub fn kind_label(&self) -> &str {
        OutcomeKind::label_of(&self.kind)
    }

    /// What commitment fixes: changing any of it later needs a reason.
    pub fn commitment(&self) -> serde_json::Value {
        // NUMERIC(20, 6) comes back as 70.000000: compare values, not their scale.
        let n = |v: Option<Decimal>| v.map(|d| d.normalize());
        serde_json::json!({
            "direction": self.direction, "baseline": self.baseline.normalize(), "target": n(self.target),
            "band_lower": n(self.band_lower), "band_upper": n(self.band_upper), "measure_by": self.measure_by,
        })
    }

    /// "30 Jun 2026"
    pub fn due_date(&self) -> String {
        crate::periods::model::human_date(self.measure_by)
    }

    /// "31 Jul 2026, 30 Sep 2026"
    pub fn checkpoint_dates(&self) -> String {
        self.checkpoints
            .iter()
            .map(|d| crate::periods::model::human_date(*d))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The columns of an [`OutcomeRow`], ending `FROM outcomes o` (joined to its owner): other
/// joins may follow.
pub const COLUMNS: &str = "o.id, o.epic_id, o.initiative_id, o.kind, o.statement, o.metric, o.unit, o.unit_label, o.direction,
       o.baseline, o.target, o.band_lower, o.band_upper, o.measure_by, o.data_source, o.owner_id, p.name AS owner_name,
       p.email AS owner_email, coalesce(p.active, false) AS owner_active, o.committed_at IS NOT NULL AS committed,
       o.leads_to_id,
       array(SELECT c.due_on FROM outcome_checkpoints c WHERE c.outcome_id = o.id ORDER BY c.due_on) AS checkpoints,
       o.version, o.closed_at IS NOT NULL AS closed, o.verdict, o.metric_key, o.realised_value
  FROM outcomes o LEFT JOIN people p ON p.id = o.owner_id";

/// The outcomes of an epic or an initiative, oldest first, with their loop state.
pub async fn outcomes_of(
    db: &crate::db::Db,
    parent: &Parent,
    today: NaiveDate,
) -> sqlx::Result<Vec<OutcomeRow>> {
    let column = if parent.is_epic() {
        "epic_id"
    } else {
        "initiative_id"
    };
    let rows = sqlx::query_as(&of_parent(column, "$1"))
        .bind(parent.id)
        .fetch_all(db)
        .await?;
    Ok(with_loop_states(parent, rows, today))
}

/// The outcomes whose `column` is `parent` (an SQL expression), oldest first.
fn of_parent(column: &str, parent: &str) -> String {
    format!("SELECT {COLUMNS} WHERE o.{column} = {parent} ORDER BY o.created_at, o.id")
}

/// The outcomes of the epic `epic` (an SQL expression) as [`outcomes_of`] reads them, as a
/// JSON column ([`crate::db::json::rows`]); their loop states come from
/// [`with_loop_states`].
pub fn outcomes_of_epic_json(epic: &str) -> String {
    crate::db::json::rows(&of_parent("epic_id", epic))
}

/// Outcomes of `parent` with their loop states on `today`.
pub fn with_loop_states(
    parent: &Parent,
    mut rows: Vec<OutcomeRow>,
    today: NaiveDate,
) -> Vec<OutcomeRow> {
    for row in &mut rows {
        row.loop_state = parent.loop_state(row.closed, row.measure_by, today);
    }
    rows
}

/// The outcomes an outcome of `parent` may lead to: the parent's others and, for an epic,
/// those of its initiative.
pub async fn leads_to_options(
    db: &crate::db::Db,
    parent: &Parent,
    except: Option<Uuid>,
) -> sqlx::Result<Vec<OutcomeRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS}
          WHERE (o.epic_id = $1 OR o.initiative_id = $1 OR o.initiative_id = $2) AND o.id IS DISTINCT FROM $3
          ORDER BY o.initiative_id IS NULL, o.created_at, o.id"
    ))
    .bind(parent.id)
    .bind(parent.initiative_id)
    .bind(except)
    .fetch_all(db)
    .await
}

/// One outcome, for its page.
pub async fn outcome_row(db: &crate::db::Db, id: Uuid) -> Result<OutcomeRow> {
    sqlx::query_as(&format!("SELECT {COLUMNS} WHERE o.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The outcomes that say they lead to this one.
pub async fn outcomes_leading_to(db: &crate::db::Db, id: Uuid) -> sqlx::Result<Vec<OutcomeRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} WHERE o.leads_to_id = $1 ORDER BY o.created_at, o.id"
    ))
    .bind(id)
    .fetch_all(db)
    .await
}

/// An epic of an initiative with its outcomes, as the initiative's page lists them.
#[derive(Debug, sqlx::FromRow)]
pub struct EpicWithOutcomes {
    pub id: Uuid,
    pub title: String,
    pub work_type: String,
    pub status: String,
    pub team_id: Uuid,
    pub team_name: String,
    pub owner_name: Option<String>,
    pub owner_active: bool,
    #[sqlx(skip)]
    pub outcomes: Vec<OutcomeRow>,
}

impl EpicWithOutcomes {
    pub fn type_label(&self) -> &str {
        crate::epics::model::WorkType::label_of(&self.work_type)
    }

    pub fn status_label(&self) -> &str {
        crate::epics::model::EpicStatus::label_of(&self.status)
    }
}

/// The epics of an initiative, oldest first, each with its outcomes and their loop state:
/// two statements however many epics there are.
pub async fn epics_of_initiative(
    db: &crate::db::Db,
    initiative: Uuid,
    today: NaiveDate,
) -> sqlx::Result<Vec<EpicWithOutcomes>> {
    let mut epics: Vec<EpicWithOutcomes> = sqlx::query_as(
        "SELECT e.id, e.title, e.work_type, e.status, e.team_id, u.name AS team_name, p.name AS owner_name,
                coalesce(p.active, false) AS owner_active
           FROM epics e JOIN org_units u ON u.id = e.team_id LEFT JOIN people p ON p.id = e.owner_id
          WHERE e.initiative_id = $1
          ORDER BY e.created_at, e.id",
    )
    .bind(initiative)
    .fetch_all(db)
    .await?;
    let outcomes: Vec<OutcomeRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} WHERE o.epic_id IN (SELECT id FROM epics WHERE initiative_id = $1)
          ORDER BY o.created_at, o.id"
    ))
    .bind(initiative)
    .fetch_all(db)
    .await?;
    for mut outcome in outcomes {
        if let Some(epic) = epics.iter_mut().find(|e| Some(e.id) == outcome.epic_id) {
            outcome.loop_state =
                loop_state(&epic.status, outcome.closed, outcome.measure_by, today);
            epic.outcomes.push(outcome);
        }
    }
    Ok(epics)
}
