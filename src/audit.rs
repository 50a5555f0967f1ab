//! The audit log: who did what, when, from where — sign-ins, refusals and every change to a
//! record with its values before and after, written in the same transaction as the change.
//! Admins read it at `/admin/audit`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::policy::Me;
use crate::http::page::{Layout, Query, Section};
use crate::http::{AppState, Result};

/// One row to append.
#[derive(Debug, Clone)]
pub struct Entry {
    action: &'static str,
    actor: Option<Uuid>,
    entity: Option<(&'static str, Uuid)>,
    before: Option<Value>,
    after: Option<Value>,
    client_addr: String,
}

impl Entry {
    pub fn new(action: &'static str) -> Entry {
        Entry {
            action,
            actor: None,
            entity: None,
            before: None,
            after: None,
            client_addr: String::new(),
        }
    }

    pub fn actor(mut self, actor: Option<Uuid>) -> Entry {
        self.actor = actor;
        self
    }

    pub fn entity(mut self, kind: &'static str, id: Uuid) -> Entry {
        self.entity = Some((kind, id));
        self
    }

    pub fn before(mut self, before: Value) -> Entry {
        self.before = Some(before);
        self
    }

    pub fn after(mut self, after: Value) -> Entry {
        self.after = Some(after);
        self
    }

    pub fn client(mut self, client_addr: &str) -> Entry {
        self.client_addr = client_addr.to_string();
        self
    }

    /// Appends the row (pass the transaction of the change it records).
    pub async fn write(self, db: impl sqlx::PgExecutor<'_>, at: DateTime<Utc>) -> sqlx::Result<()> {
        self.write_with(sqlx::QueryBuilder::new(""), db, at).await
    }

    /// Appends the row in the same statement as `change`: a builder holding
    /// `WITH change AS (…)`, a data-modifying statement with its values bound (or nothing).
    /// One round trip instead of a transaction's four, and both or neither all the same.
    pub async fn write_with(
        self,
        mut change: sqlx::QueryBuilder<'_, sqlx::Postgres>,
        db: impl sqlx::PgExecutor<'_>,
        at: DateTime<Utc>,
    ) -> sqlx::Result<()> {
        change.push(
            "INSERT INTO audit_log (at, actor_id, action, entity_type, entity_id, before, after, client_addr) VALUES (",
        );
        change
            .separated(", ")
            .push_bind(at)
            .push_bind(self.actor)
            .push_bind(self.action)
            .push_bind(self.entity.map(|(kind, _)| kind))
            .push_bind(self.entity.map(|(_, id)| id))
            .push_bind(self.before)
            .push_bind(self.after)
            .push_bind(self.client_addr);
        change.push(")").build().execute(db).await?;
        Ok(())
    }
}

/// How many rows a page of the log shows.
const PAGE_SIZE: i64 = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    action: String,
    actor: String,
    entity: String,
    from: String,
    to: String,
    after: String,
}

#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub client_addr: String,
}

impl AuditRow {
    pub fn when(&self) -> String {
        self.at.format("%-d %b %Y %H:%M:%S UTC").to_string()
    }

    /// The change, compactly: `before → after` as JSON.
    pub fn detail(&self) -> String {
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => format!("{b} → {a}"),
            (None, Some(a)) => a.to_string(),
            (Some(b), None) => format!("{b} → (removed)"),
            (None, None) => String::new(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    layout: Layout,
    query: AuditQuery,
    actions: Vec<(String, String)>,
    rows: Vec<AuditRow>,
    next: Option<String>,
}

impl AuditPage {
    /// The CSV of every entry the filters match.
    fn csv_href(&self) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("action", &self.query.action)
            .append_pair("actor", &self.query.actor)
            .append_pair("entity", &self.query.entity)
            .append_pair("from", &self.query.from)
            .append_pair("to", &self.query.to)
            .finish();
        format!("/admin/audit/csv?{query}")
    }

    fn next_href(&self, after: &str) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("action", &self.query.action)
            .append_pair("actor", &self.query.actor)
            .append_pair("entity", &self.query.entity)
            .append_pair("from", &self.query.from)
            .append_pair("to", &self.query.to)
            .append_pair("after", after)
            .finish();
        format!("/admin/audit?{query}")
    }
}

/// The entries the filters match, newest first, before the `after` cursor: at most `limit`.
async fn find(db: &crate::db::Db, query: &AuditQuery, limit: i64) -> sqlx::Result<Vec<AuditRow>> {
    let action = Some(query.action.trim()).filter(|a| !a.is_empty());
    let actor = Uuid::parse_str(query.actor.trim()).ok();
    let entity = Uuid::parse_str(query.entity.trim()).ok();
    let from = NaiveDate::parse_from_str(query.from.trim(), "%Y-%m-%d").ok();
    let to = NaiveDate::parse_from_str(query.to.trim(), "%Y-%m-%d").ok();
    let after: Option<i64> = query.after.trim().parse().ok();
    sqlx::query_as(
        "SELECT a.id, a.at, a.actor_id, p.name AS actor_name, a.action, a.entity_type, a.entity_id,
                a.before, a.after, a.client_addr
           FROM audit_log a LEFT JOIN people p ON p.id = a.actor_id
          WHERE ($1::text IS NULL OR a.action = $1)
            AND ($2::uuid IS NULL OR a.actor_id = $2)
            AND ($3::uuid IS NULL OR a.entity_id = $3)
            AND ($4::date IS NULL OR a.at >= $4::date)
            AND ($5::date IS NULL OR a.at < $5::date + 1)
            AND ($6::bigint IS NULL OR a.id < $6)
          ORDER BY a.id DESC
          LIMIT $7",
    )
    .bind(action)
    .bind(actor)
    .bind(entity)
    .bind(from)
    .bind(to)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// `GET /admin/audit/csv?action=&actor=&entity=&from=&to=`: every entry the filters match
/// (at most `csv::MAX_ROWS`), with the values before and after as JSON.
pub async fn get_audit_csv(
    State(state): State<AppState>,
    Query(mut query): Query<AuditQuery>,
) -> Result<axum::response::Response> {
    query.after.clear();
    let rows = find(&state.db, &query, crate::http::csv::MAX_ROWS).await?;
    let json = |v: Option<Value>| v.map(|v| v.to_string()).unwrap_or_default();
    let head = [
        "ID",
        "At",
        "Actor ID",
        "Actor",
        "Action",
        "Record type",
        "Record ID",
        "Before",
        "After",
        "From",
    ];
    let rows = rows.into_iter().map(|r| {
        vec![
            r.id.to_string(),
            r.at.to_rfc3339(),
            r.actor_id.map(|a| a.to_string()).unwrap_or_default(),
            r.actor_name.unwrap_or_default(),
            r.action,
            r.entity_type.unwrap_or_default(),
            r.entity_id.map(|e| e.to_string()).unwrap_or_default(),
            json(r.before),
            json(r.after),
            r.client_addr,
        ]
    });
    crate::http::csv::download("audit", &head, rows)
}

/// `GET /admin/audit?action=&actor=&entity=&from=&to=&after=`: newest first, 100 a page.
pub async fn get_audit(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<AuditQuery>,
) -> Result<AuditPage> {
    let mut rows = find(&state.db, &query, PAGE_SIZE + 1).await?;
    let next = crate::http::page::next_page(&mut rows, PAGE_SIZE, |r| r.id.to_string());
    let actions: Vec<(String, String)> =
        sqlx::query_scalar::<_, String>("SELECT DISTINCT action FROM audit_log ORDER BY 1")
            .fetch_all(&state.db)
            .await?
            .into_iter()
            .map(|a| (a.clone(), a.replace('_', " ")))
            .collect();
    Ok(AuditPage {
        layout: Layout::new("Audit log", Section::Organisation, &me),
        query,
        actions,
        rows,
        next,
    })
}

/// One entry of a record's change history, as its page shows it.
#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub actor_name: Option<String>,
    pub action: String,
    pub entity_type: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Fields worth naming in a history line, with the words people use for them.
const FIELD_NAMES: &[(&str, &str)] = &[
    ("title", "Title"),
    ("status", "Status"),
    ("work_type", "Type"),
    ("description", "Description"),
    ("why_now", "Why now"),
    ("validation_plan", "How we validate"),
    ("sentence", "Outcome"),
    ("statement", "What changes"),
    ("checkpoints", "Checkpoints"),
    ("owner_id", "Owner"),
    ("team_id", "Team"),
    ("org_unit_id", "Unit"),
    ("initiative_id", "Initiative"),
    ("period_id", "Planned period"),
    ("periods", "Planned periods"),
    ("priority", "Priority score"),
    ("leads_to_id", "Leads to"),
];

/// A value as a history line shows it: text as typed (shortened), lists joined; `None`
/// when there is nothing (null, empty text, empty list).
fn shown(value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::Null => return None,
        Value::String(text) => text.replace('_', " "),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    match text.chars().count() {
        0 => None,
        n if n > 120 => Some(format!("{}…", text.chars().take(119).collect::<String>())),
        _ => Some(text),
    }
}

impl Change {
    pub fn when(&self) -> String {
        self.at.format("%-d %b %Y %H:%M UTC").to_string()
    }

    /// "Outcome edited", "Status changed", …
    pub fn what(&self) -> String {
        let record = match self.entity_type.as_deref() {
            Some("outcome") => "Outcome",
            Some("initiative") => "Initiative",
            _ => "Epic",
        };
        match self.action.as_str() {
            "epic_created" | "initiative_created" => "Created".to_string(),
            "outcome_created" => "Outcome added".to_string(),
            "epic_updated" | "initiative_updated" => "Edited".to_string(),
            "outcome_updated" => "Outcome edited".to_string(),
            "epic_status_changed" | "initiative_status_changed" => "Status changed".to_string(),
            "epic_imported" => "Imported from Jira".to_string(),
            "epic_reimported" => "Updated from Jira".to_string(),
            "owner_reassigned" => format!("{record} owner reassigned"),
            other => other.replace('_', " "),
        }
    }

    /// Each named field that changed: "Status: draft → ready". For a creation, what was
    /// created ("Outcome: Search success rate from 70% to 90% by 30 Jun 2026").
    pub fn details(&self) -> Vec<String> {
        let after = self.after.as_ref().and_then(Value::as_object);
        let before = self.before.as_ref().and_then(Value::as_object);
        let Some(after) = after else {
            return Vec::new();
        };
        FIELD_NAMES
            .iter()
            .filter_map(|(key, name)| {
                let new = after.get(*key)?;
                let identifier = key.ends_with("_id");
                let none = || "(none)".to_string();
                match before {
                    None if identifier => None,
                    None => shown(Some(new)).map(|value| format!("{name}: {value}")),
                    Some(before) if before.get(*key) == Some(new) => None,
                    Some(_) if identifier => Some(format!("{name} changed")),
                    Some(before) => Some(format!(
                        "{name}: {} → {}",
                        shown(before.get(*key)).unwrap_or_else(none),
                        shown(Some(new)).unwrap_or_else(none)
                    )),
                }
            })
            .collect()
    }
}

/// How many entries a record's history shows.
const HISTORY_SIZE: i64 = 50;

/// The changes to a record, and to its outcomes for an epic or initiative, newest first
/// (refusals left out: they changed nothing).
pub async fn history(
    db: &crate::db::Db,
    entity: &'static str,
    id: Uuid,
) -> sqlx::Result<Vec<Change>> {
    sqlx::query_as(&history_of(entity, "$1"))
        .bind(id)
        .fetch_all(db)
        .await
}

/// The history of the record of type `entity` whose id is `id` (SQL), newest first.
fn history_of(entity: &'static str, id: &str) -> String {
    let records = match entity {
        // A list of (type, id) pairs, so each is one lookup in audit_log_entity_idx (an OR
        // over the two kinds made it read the whole log: 345 ms at 340,000 rows).
        "epic" | "initiative" => format!(
            "(a.entity_type, a.entity_id) IN (
                 SELECT '{entity}', {id}
                 UNION ALL
                 SELECT 'outcome', o.id FROM outcomes o WHERE o.{entity}_id = {id})"
        ),
        _ => format!("a.entity_type = '{entity}' AND a.entity_id = {id}"),
    };
    format!(
        "SELECT a.at, p.name AS actor_name, a.action, a.entity_type, a.before, a.after
           FROM audit_log a LEFT JOIN people p ON p.id = a.actor_id
          WHERE a.action <> 'permission_refused' AND {records}
          ORDER BY a.id DESC
          LIMIT {HISTORY_SIZE}"
    )
}

/// [`history`] as a JSON column ([`crate::db::json::rows`]).
pub fn history_json(entity: &'static str, id: &str) -> String {
    crate::db::json::rows(&history_of(entity, id))
}
