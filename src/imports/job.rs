//! Running an import. Any server may run `run_due`: it leases (by the database's clock) the oldest queued job with
//! `FOR UPDATE SKIP LOCKED`, then writes its rows a chunk per transaction, each row behind
//! a savepoint (a row that fails is reported and the others go on), and moves the job's
//! progress in the same transaction as the rows. A server that dies mid-run leaves a lease
//! that expires; the next run resumes after the last committed chunk. Writing a row again
//! is harmless anyway: it is keyed on the issue key.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::plan::{self, Known, Mapping, Planned};
use super::sheet::Sheet;
use crate::audit::Entry;
use crate::epics::model::EpicStatus;

/// Rows written per transaction (and between two progress updates).
pub const CHUNK: usize = 100;
/// How long a lease lasts: far longer than one chunk takes.
const LEASE_SECONDS: i64 = 120;
/// Runs that may end unfinished before the job is given up.
const MAX_ATTEMPTS: i32 = 3;

#[derive(Debug, sqlx::FromRow)]
struct Leased {
    id: Uuid,
    content: Vec<u8>,
    mapping: sqlx::types::Json<Mapping>,
    team_id: Uuid,
    work_type: String,
    link_base: String,
    rows_done: i32,
    attempts: i32,
    created_by: Option<Uuid>,
    client_addr: String,
    leased_until: DateTime<Utc>,
}

/// How one row ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
    Unchanged,
    Failed,
}

impl Written {
    pub fn as_str(self) -> &'static str {
        match self {
            Written::Created => "created",
            Written::Updated => "updated",
            Written::Unchanged => "unchanged",
            Written::Failed => "failed",
        }
    }
}

/// A chunk's row results, column by column (as `unnest` inserts them).
#[derive(Debug, Default)]
struct Results {
    numbers: Vec<i32>,
    lines: Vec<i32>,
    keys: Vec<String>,
    written: Vec<&'static str>,
    epics: Vec<Option<Uuid>>,
    messages: Vec<String>,
}

/// Runs the oldest due job to its end, if there is one; answers whether there was.
pub async fn run_due(db: &crate::db::Db, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let leased: Option<Leased> = sqlx::query_as(
        "UPDATE import_jobs j
            SET status = 'running', leased_until = clock_timestamp() + make_interval(secs => $2),
                started_at = coalesce(started_at, $1),
                attempts = attempts + CASE WHEN j.status = 'running' THEN 1 ELSE 0 END
          WHERE id = (SELECT id FROM import_jobs
                       WHERE status = 'queued' OR (status = 'running' AND leased_until < clock_timestamp())
                       ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id, content, mapping, team_id, work_type, link_base, rows_done, attempts,
                    created_by, client_addr, leased_until",
    )
    .bind(now)
    .bind(LEASE_SECONDS as f64)
    .fetch_optional(db)
    .await?;
    let Some(job) = leased else {
        return Ok(false);
    };
    if job.attempts >= MAX_ATTEMPTS {
        sqlx::query(
            "UPDATE import_jobs SET status = 'failed', finished_at = $2, leased_until = NULL, content = '',
                    failure = 'The import stopped ' || attempts || ' times before it finished. The rows counted were imported: upload the file again to finish (rows already imported are updated, not repeated).'
              WHERE id = $1",
        )
        .bind(job.id)
        .bind(now)
        .execute(db)
        .await?;
        return Ok(true);
    }
    run(db, job, now).await?;
    Ok(true)
}

async fn run(db: &crate::db::Db, job: Leased, now: DateTime<Utc>) -> anyhow::Result<()> {
    let sheet = Sheet::read(&job.content).map_err(anyhow::Error::msg)?;
    let zone = crate::org::Organisation::load(db).await?.zone();
    let known = Known::load(db, &sheet, &job.mapping).await?;
    let plans = plan::plan(&sheet, &job.mapping, &known, zone);
    let mut lease = job.leased_until;
    let start = (job.rows_done.max(0) as usize).min(plans.len());
    for chunk in plans[start..].chunks(CHUNK) {
        let mut tx = db.begin().await?;
        let mut results = Results::default();
        for row in chunk {
            let (written, epic, message) = match &row.plan {
                Err(problems) => (Written::Failed, None, problems.join("; ")),
                Ok(planned) => {
                    sqlx::query("SAVEPOINT import_row")
                        .execute(&mut *tx)
                        .await?;
                    match write_row(&mut tx, &job, planned, now).await {
                        Ok((written, epic)) => {
                            sqlx::query("RELEASE SAVEPOINT import_row")
                                .execute(&mut *tx)
                                .await?;
                            (written, Some(epic), planned.notes.join("; "))
                        }
                        Err(err) => {
                            sqlx::query("ROLLBACK TO SAVEPOINT import_row")
                                .execute(&mut *tx)
                                .await?;
                            tracing::info!(row = row.number, error = %err, "import row refused");
                            (Written::Failed, None, refusal(&err))
                        }
                    }
                }
            };
            results.numbers.push(row.number as i32);
            results.lines.push(row.line.min(i32::MAX as u64) as i32);
            results.keys.push(row.key.chars().take(200).collect());
            results.written.push(written.as_str());
            results.epics.push(epic);
            results.messages.push(message);
        }
        let count =
            |w: Written| results.written.iter().filter(|r| **r == w.as_str()).count() as i32;
        let (created, updated, failed) = (
            count(Written::Created),
            count(Written::Updated),
            count(Written::Failed),
        );
        sqlx::query(
            "INSERT INTO import_rows (job_id, row_number, line, issue_key, result, epic_id, message)
             SELECT $1, * FROM unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::uuid[], $7::text[])
             ON CONFLICT (job_id, row_number) DO UPDATE
                SET result = excluded.result, epic_id = excluded.epic_id, message = excluded.message",
        )
        .bind(job.id)
        .bind(&results.numbers)
        .bind(&results.lines)
        .bind(&results.keys)
        .bind(&results.written)
        .bind(&results.epics)
        .bind(&results.messages)
        .execute(&mut *tx)
        .await?;
        // Progress and the lease move with the rows; a lease someone else took over means
        // this run was presumed dead: its chunk is dropped and theirs counts.
        let renewed: Option<DateTime<Utc>> = sqlx::query_scalar(
            "UPDATE import_jobs
                SET rows_done = rows_done + $3, created_count = created_count + $4,
                    updated_count = updated_count + $5, failed_count = failed_count + $6,
                    leased_until = clock_timestamp() + make_interval(secs => $7)
              WHERE id = $1 AND status = 'running' AND leased_until = $2
              RETURNING leased_until",
        )
        .bind(job.id)
        .bind(lease)
        .bind(chunk.len() as i32)
        .bind(created)
        .bind(updated)
        .bind(failed)
        .bind(LEASE_SECONDS as f64)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(renewed) = renewed else {
            tx.rollback().await?;
            tracing::warn!(job = %job.id, "import lease lost to another server; stopping this run");
            return Ok(());
        };
        lease = renewed;
        tx.commit().await?;
    }
    sqlx::query(
        "UPDATE import_jobs SET status = 'done', finished_at = $3, leased_until = NULL, content = ''
          WHERE id = $1 AND leased_until = $2",
    )
    .bind(job.id)
    .bind(lease)
    .bind(now)
    .execute(db)
    .await?;
    Entry::new("jira_import_finished")
        .actor(job.created_by)
        .entity("import", job.id)
        .client(&job.client_addr)
        .write(db, now)
        .await?;
    Ok(())
}

/// Why the database refused a row, in words.
fn refusal(err: &sqlx::Error) -> String {
    match crate::http::error::violated_constraint(err) {
        Some("epics_tracker_key_key") => {
            "Another epic took this issue key meanwhile: import the file again".to_string()
        }
        Some("epics_team_id_fkey") => "The team no longer exists".to_string(),
        Some(other) => format!("Refused by the database ({other})"),
        None => "Could not be saved; the other rows went on".to_string(),
    }
}

/// The epic as stored, for comparing with the row.
#[derive(Debug, sqlx::FromRow)]
struct Stored {
    id: Uuid,
    status: String,
    title: String,
    description: String,
    why_now: String,
    validation_plan: String,
    owner_id: Option<Uuid>,
    team_id: Uuid,
    tracker_url: Option<String>,
}

/// The column that records when an epic reached `status`.
fn reached_column(status: EpicStatus) -> Option<&'static str> {
    match status {
        EpicStatus::Ready => Some("ready_at"),
        EpicStatus::InProgress => Some("started_at"),
        EpicStatus::Delivered | EpicStatus::Measuring => Some("delivered_at"),
        EpicStatus::Closed => Some("closed_at"),
        EpicStatus::Cancelled => Some("cancelled_at"),
        EpicStatus::Draft => None,
    }
}

/// The epic with `key`, locked for this transaction.
async fn stored_epic(tx: &mut sqlx::PgConnection, key: &str) -> sqlx::Result<Option<Stored>> {
    sqlx::query_as(
        "SELECT id, status, title, description, why_now, validation_plan, owner_id, team_id, tracker_url
           FROM epics WHERE tracker_key = $1 FOR UPDATE",
    )
    .bind(key)
    .fetch_optional(tx)
    .await
}

/// When the row's epic reached `status`: Jira's resolution date for delivered or cancelled
/// work, else now.
fn reached_at(row: &Planned, status: EpicStatus, now: DateTime<Utc>) -> DateTime<Utc> {
    match status {
        EpicStatus::Delivered | EpicStatus::Cancelled => row.resolved.unwrap_or(now),
        _ => now,
    }
}

/// Creates or updates the epic with the row's issue key.
async fn write_row(
    tx: &mut sqlx::PgConnection,
    job: &Leased,
    row: &Planned,
    now: DateTime<Utc>,
) -> sqlx::Result<(Written, Uuid)> {
    let link = (!job.link_base.is_empty()).then(|| format!("{}{}", job.link_base, row.key));
    let stored = match stored_epic(tx, &row.key).await? {
        Some(stored) => stored,
        None => {
            if let Some(id) = insert_epic(tx, job, row, link.as_deref(), now).await? {
                return Ok((Written::Created, id));
            }
            // Another import inserted this key meanwhile (and has committed): update it.
            stored_epic(tx, &row.key)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?
        }
    };
    // Yardstick owns the loop once work is delivered: a later Jira status does not move it.
    let from = EpicStatus::parse(&stored.status).unwrap_or(EpicStatus::Draft);
    let status = match row.status {
        Some(_) if matches!(from, EpicStatus::Measuring | EpicStatus::Closed) => from,
        Some(EpicStatus::Delivered) => EpicStatus::Measuring,
        Some(status) => status,
        None => from,
    };
    let wanted = [
        ("title", Some(row.title.clone()), Some(stored.title)),
        (
            "description",
            row.description.clone(),
            Some(stored.description),
        ),
        ("why_now", row.why_now.clone(), Some(stored.why_now)),
        (
            "validation_plan",
            row.validation_plan.clone(),
            Some(stored.validation_plan),
        ),
        ("tracker_url", link.clone(), stored.tracker_url),
        (
            "status",
            Some(status.as_str().to_string()),
            Some(stored.status),
        ),
        (
            "owner_id",
            row.owner.map(|o| o.to_string()),
            stored.owner_id.map(|o| o.to_string()),
        ),
        (
            "team_id",
            row.team.map(|t| t.to_string()),
            Some(stored.team_id.to_string()),
        ),
    ];
    let (mut before, mut after) = (Map::new(), Map::new());
    for (field, new, old) in wanted {
        if let Some(new) = new.filter(|new| Some(new) != old.as_ref()) {
            before.insert(
                field.to_string(),
                old.map(Value::String).unwrap_or(Value::Null),
            );
            after.insert(field.to_string(), Value::String(new));
        }
    }
    if after.is_empty() {
        return Ok((Written::Unchanged, stored.id));
    }
    let moved = status != from;
    let set_reached = reached_column(status)
        .filter(|_| moved)
        .map(|column| {
            let measuring = if status == EpicStatus::Measuring {
                ", measuring_at = $11"
            } else {
                ""
            };
            format!(", {column} = $11{measuring}")
        })
        .unwrap_or_default();
    sqlx::query(&format!(
        "UPDATE epics
            SET title = $2, description = coalesce($3, description), why_now = coalesce($4, why_now),
                validation_plan = coalesce($5, validation_plan), tracker_url = coalesce($6, tracker_url),
                status = $7, owner_id = coalesce($8, owner_id), team_id = coalesce($9, team_id),
                updated_at = $10, version = version + 1{set_reached}
          WHERE id = $1"
    ))
    .bind(stored.id)
    .bind(&row.title)
    .bind(&row.description)
    .bind(&row.why_now)
    .bind(&row.validation_plan)
    .bind(&link)
    .bind(status.as_str())
    .bind(row.owner)
    .bind(row.team)
    .bind(now)
    .bind(reached_at(row, row.status.unwrap_or(status), now))
    .execute(&mut *tx)
    .await?;
    if moved {
        if matches!(
            status,
            EpicStatus::Ready | EpicStatus::InProgress | EpicStatus::Measuring
        ) {
            crate::outcomes::parent::commit_outcomes(&mut *tx, stored.id, now).await?;
        }
        crate::webhooks::epic_status_changed(
            &mut *tx,
            stored.id,
            from.as_str(),
            status.as_str(),
            now,
        )
        .await?;
    }
    after.insert("import_id".to_string(), json!(job.id));
    Entry::new("epic_reimported")
        .actor(job.created_by)
        .entity("epic", stored.id)
        .before(Value::Object(before))
        .after(Value::Object(after))
        .client(&job.client_addr)
        .write(&mut *tx, now)
        .await?;
    Ok((Written::Updated, stored.id))
}

/// Adds the row's epic; `None` when an epic with its key appeared meanwhile.
async fn insert_epic(
    tx: &mut sqlx::PgConnection,
    job: &Leased,
    row: &Planned,
    link: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<Uuid>> {
    let status = row.status.unwrap_or(EpicStatus::Draft);
    let kept = if status == EpicStatus::Delivered {
        EpicStatus::Measuring
    } else {
        status
    };
    let id = Uuid::new_v4();
    let at = reached_at(row, status, now);
    let inserted = sqlx::query(
        "INSERT INTO epics (id, team_id, owner_id, work_type, title, description, why_now, validation_plan,
                            tracker_key, tracker_url, status, created_at, updated_at,
                            ready_at, started_at, delivered_at, measuring_at, cancelled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                 CASE WHEN $11 = 'ready' THEN $14 END, CASE WHEN $11 = 'in_progress' THEN $14 END,
                 CASE WHEN $11 = 'measuring' THEN $14 END, CASE WHEN $11 = 'measuring' THEN $14 END,
                 CASE WHEN $11 = 'cancelled' THEN $14 END)
         ON CONFLICT (tracker_key) WHERE tracker_key IS NOT NULL DO NOTHING",
    )
    .bind(id)
    .bind(row.team.unwrap_or(job.team_id))
    .bind(row.owner)
    .bind(&job.work_type)
    .bind(&row.title)
    .bind(row.description.as_deref().unwrap_or(""))
    .bind(row.why_now.as_deref().unwrap_or(""))
    .bind(row.validation_plan.as_deref().unwrap_or(""))
    .bind(&row.key)
    .bind(link)
    .bind(kept.as_str())
    .bind(row.created.unwrap_or(now).min(at))
    .bind(now)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(None);
    }
    Entry::new("epic_imported")
        .actor(job.created_by)
        .entity("epic", id)
        .after(json!({ "title": row.title, "tracker_key": row.key, "status": kept.as_str(),
                       "team_id": row.team.unwrap_or(job.team_id), "owner_id": row.owner, "import_id": job.id }))
        .client(&job.client_addr)
        .write(&mut *tx, now)
        .await?;
    Ok(Some(id))
}
