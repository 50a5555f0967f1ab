//! `/import/jira`: upload a file; map its columns and Jira statuses with a preview of every
//! row's problems; start the import; follow its progress (the page refreshes itself, or a
//! script moves the bar); read the report of what each row became.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::plan::{self, FIELDS, Known, Mapping, RowPlan, TARGETS};
use super::sheet::Sheet;
use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::epics::model::{EpicStatus, WorkType};
use crate::http::page::{self, CONFLICT, Flash, Form, FormErrors, INVALID, Id, Layout, Section};
use crate::http::{AppError, AppState, Result};

/// The largest file accepted.
pub const UPLOAD_LIMIT: usize = 20 * 1024 * 1024;
/// Rows the preview shows as they will be imported.
const SAMPLE: usize = 20;
/// Problem rows the preview and the report list.
const LISTED: usize = 500;

/// The upload form as typed (the file itself cannot be shown again).
#[derive(Debug, Clone, Default)]
pub struct UploadForm {
    pub team_id: String,
    pub work_type: String,
    pub link_base: String,
}

/// An earlier import, as the list shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct JobRow {
    pub id: Uuid,
    pub file_name: String,
    pub status: String,
    pub total_rows: i32,
    pub rows_done: i32,
    pub created_count: i32,
    pub updated_count: i32,
    pub failed_count: i32,
    pub created_at: DateTime<Utc>,
    pub created_by_name: Option<String>,
}

impl JobRow {
    pub fn when(&self) -> String {
        self.created_at.format("%-d %b %Y %H:%M UTC").to_string()
    }

    pub fn state(&self) -> String {
        match self.status.as_str() {
            "mapping" => "Not started: mapping columns".to_string(),
            "queued" => "Waiting to start".to_string(),
            "running" => format!("Running: {} of {} rows", self.rows_done, self.total_rows),
            "failed" => "Stopped".to_string(),
            _ => format!(
                "Done: {} created, {} updated, {} failed",
                self.created_count, self.updated_count, self.failed_count
            ),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "imports/index.html")]
pub struct ImportsPage {
    layout: Layout,
    form: UploadForm,
    errors: FormErrors,
    teams: Vec<(String, String)>,
    types: Vec<(String, String)>,
    jobs: Vec<JobRow>,
}

async fn imports_page(
    state: &AppState,
    me: &Me,
    form: UploadForm,
    errors: FormErrors,
    flash: Flash,
) -> Result<ImportsPage> {
    let teams = crate::org::unit_options(&state.db).await?;
    let jobs = sqlx::query_as(
        "SELECT j.id, j.file_name, j.status, j.total_rows, j.rows_done, j.created_count, j.updated_count,
                j.failed_count, j.created_at, p.name AS created_by_name
           FROM import_jobs j LEFT JOIN people p ON p.id = j.created_by
          ORDER BY j.created_at DESC, j.id DESC LIMIT 20",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(ImportsPage {
        layout: Layout::new("Import from Jira", Section::Epics, me).with_flash(flash),
        form,
        errors,
        teams,
        types: WorkType::options(),
        jobs,
    })
}

/// `GET /import/jira`
pub async fn get_imports(
    State(state): State<AppState>,
    me: Me,
    flash: Flash,
) -> Result<ImportsPage> {
    let form = UploadForm {
        work_type: "feature".to_string(),
        ..UploadForm::default()
    };
    imports_page(&state, &me, form, FormErrors::default(), flash).await
}

/// The file and the fields sent with it.
struct Upload {
    form: UploadForm,
    file_name: String,
    content: Vec<u8>,
}

/// Reads the multipart body; a body too large or cut short is a message on the `file`
/// field, like any other problem with the form.
async fn read_upload(
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> (Upload, FormErrors) {
    let mut upload = Upload {
        form: UploadForm::default(),
        file_name: String::new(),
        content: Vec::new(),
    };
    let mut errors = FormErrors::default();
    let unreadable = |err: &dyn std::fmt::Display, status: axum::http::StatusCode| {
        tracing::info!(%err, "unreadable upload");
        if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            "The file is larger than 20 MB: export fewer issues at a time".to_string()
        } else {
            "The file could not be received: choose it and send the form again".to_string()
        }
    };
    let mut multipart = match multipart {
        Ok(multipart) => multipart,
        Err(rejection) => {
            errors.add("file", unreadable(&rejection, rejection.status()));
            return (upload, errors);
        }
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => {
                errors.add("file", unreadable(&err, err.status()));
                break;
            }
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            upload.file_name = field.file_name().unwrap_or("").chars().take(200).collect();
        }
        let value = match field.bytes().await {
            Ok(value) => value,
            Err(err) => {
                errors.add("file", unreadable(&err, err.status()));
                break;
            }
        };
        let text = || String::from_utf8_lossy(&value).replace('\0', "");
        match name.as_str() {
            "file" => upload.content = value.to_vec(),
            "team_id" => upload.form.team_id = text(),
            "work_type" => upload.form.work_type = text(),
            "link_base" => upload.form.link_base = text(),
            _ => {}
        }
    }
    (upload, errors)
}

/// `POST /import/jira` (multipart): stores the file with a first guess of its mapping,
/// then shows the mapping and preview.
pub async fn post_upload(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let (upload, mut errors) = read_upload(multipart).await;
    let form = upload.form;
    let teams = crate::org::unit_options(&state.db).await?;
    let team = Uuid::parse_str(form.team_id.trim())
        .ok()
        .filter(|id| teams.iter().any(|(t, _)| *t == id.to_string()));
    if team.is_none() {
        errors.add("team_id", "Choose the team new epics belong to");
    }
    let work_type = WorkType::parse(&form.work_type).ok();
    if work_type.is_none() {
        errors.add("work_type", "Choose the type of work the epics are");
    }
    let link_base = form.link_base.trim().to_string();
    let is_link = link_base.starts_with("https://") || link_base.starts_with("http://");
    if !link_base.is_empty() && (!is_link || link_base.chars().count() > 500) {
        errors.add(
            "link_base",
            "The issue address must start with https:// (or http://), like https://acme.atlassian.net/browse/",
        );
    }
    let sheet = if errors.has("file") {
        None
    } else if upload.content.is_empty() {
        errors.add("file", "Choose the CSV file Jira exported");
        None
    } else {
        match Sheet::read(&upload.content) {
            Ok(sheet) if sheet.rows.is_empty() => {
                errors.add("file", "The file has a header but no rows");
                None
            }
            Ok(sheet) => Some(sheet),
            Err(why) => {
                errors.add("file", why);
                None
            }
        }
    };
    let (Some(sheet), Some(team), Some(work_type), true) =
        (sheet, team, work_type, errors.is_empty())
    else {
        let page = imports_page(&state, &me, form, errors, Flash::default()).await?;
        return Ok((INVALID, page).into_response());
    };
    let mapping = Mapping::guess(&sheet);
    let id = Uuid::new_v4();
    let now = state.clock.now();
    let file_name = if upload.file_name.trim().is_empty() {
        "export.csv".to_string()
    } else {
        upload.file_name.replace('\0', "")
    };
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO import_jobs (id, file_name, content, team_id, work_type, link_base, mapping, total_rows,
                                  created_by, client_addr, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(&file_name)
    .bind(&upload.content)
    .bind(team)
    .bind(work_type.as_str())
    .bind(&link_base)
    .bind(sqlx::types::Json(&mapping))
    .bind(sheet.rows.len() as i32)
    .bind(me.id)
    .bind(&client)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Entry::new("jira_import_uploaded")
        .actor(Some(me.id))
        .entity("import", id)
        .after(json!({ "file_name": file_name, "rows": sheet.rows.len(), "team_id": team }))
        .client(&client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await?;
    Ok(page::see_other(
        &format!("/import/jira/{id}"),
        "File read. Check how its columns and statuses map, then import.",
    ))
}

/// A job as its page needs it.
#[derive(Debug, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub file_name: String,
    pub team_name: String,
    pub work_type: String,
    pub link_base: String,
    pub mapping: sqlx::types::Json<Mapping>,
    pub status: String,
    pub total_rows: i32,
    pub rows_done: i32,
    pub created_count: i32,
    pub updated_count: i32,
    pub failed_count: i32,
    pub failure: String,
    pub version: i32,
}

impl Job {
    pub fn percent(&self) -> i32 {
        (self.rows_done * 100)
            .checked_div(self.total_rows)
            .unwrap_or(0)
    }

    pub fn unchanged(&self) -> i32 {
        self.rows_done - self.created_count - self.updated_count - self.failed_count
    }

    pub fn work_type_label(&self) -> &str {
        WorkType::label_of(&self.work_type)
    }

    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "done" | "failed")
    }
}

async fn load_job(db: &crate::db::Db, id: Uuid) -> Result<Job> {
    sqlx::query_as(
        "SELECT j.id, j.file_name, u.name AS team_name, j.work_type, j.link_base, j.mapping, j.status,
                j.total_rows, j.rows_done, j.created_count, j.updated_count, j.failed_count, j.failure, j.version
           FROM import_jobs j JOIN org_units u ON u.id = j.team_id
          WHERE j.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

/// The uploaded file, read: only the mapping and its preview need it (a job's progress
/// page, refreshed every two seconds, must not fetch up to 20 MB each time).
async fn load_sheet(db: &crate::db::Db, id: Uuid) -> Result<Sheet> {
    let content: Vec<u8> = sqlx::query_scalar("SELECT content FROM import_jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Sheet::read(&content).map_err(anyhow::Error::msg)?)
}

/// One field's column choice on the mapping form.
#[derive(Debug)]
pub struct ColumnChoice {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub required: bool,
    pub chosen: String,
}

/// One Jira status's choice on the mapping form.
#[derive(Debug)]
pub struct StatusChoice {
    pub jira: String,
    pub rows: usize,
    pub chosen: String,
}

/// A row as the preview shows it.
#[derive(Debug)]
pub struct PreviewRow {
    pub number: usize,
    pub line: u64,
    pub key: String,
    pub title: String,
    pub status: String,
    pub owner: String,
    pub action: &'static str,
    pub notes: String,
}

/// A row's problems as the preview lists them.
#[derive(Debug)]
pub struct ProblemRow {
    pub number: usize,
    pub line: u64,
    pub key: String,
    pub problems: String,
}

/// What the preview counts.
#[derive(Debug, Default)]
pub struct Counts {
    pub rows: usize,
    pub new: usize,
    pub existing: usize,
    pub problems: usize,
    pub notes: usize,
}

/// A row of the finished import's report.
#[derive(Debug, sqlx::FromRow)]
pub struct ReportRow {
    pub row_number: i32,
    pub line: i32,
    pub issue_key: String,
    pub result: String,
    pub epic_id: Option<Uuid>,
    pub message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "imports/job.html")]
pub struct JobPage {
    layout: Layout,
    job: Job,
    encoding: &'static str,
    columns: Vec<(String, String)>,
    choices: Vec<ColumnChoice>,
    statuses: Vec<StatusChoice>,
    targets: Vec<(String, String)>,
    counts: Counts,
    sample: Vec<PreviewRow>,
    problems: Vec<ProblemRow>,
    errors: FormErrors,
    report: Vec<ReportRow>,
}

/// The job's page again with the mapping as sent (or as another person saved it) and the
/// reasons it was not saved, answered with `status`.
async fn refused(
    state: &AppState,
    me: &Me,
    status: StatusCode,
    job: Job,
    mapping: Mapping,
    errors: FormErrors,
    sheet: Sheet,
) -> Result<Response> {
    let page = job_page(
        state,
        me,
        job,
        mapping,
        errors,
        Flash::default(),
        Some(sheet),
    )
    .await?;
    Ok((status, page).into_response())
}

/// The job's page: mapping and preview before it starts, progress while it runs, the
/// report once it ended.
async fn job_page(
    state: &AppState,
    me: &Me,
    job: Job,
    mapping: Mapping,
    errors: FormErrors,
    flash: Flash,
    sheet: Option<Sheet>,
) -> Result<JobPage> {
    let title = format!("Import {}", job.file_name);
    let mut page = JobPage {
        layout: Layout::new(title, Section::Epics, me).with_flash(flash),
        encoding: "",
        columns: Vec::new(),
        choices: Vec::new(),
        statuses: Vec::new(),
        targets: TARGETS
            .iter()
            .map(|s| (s.as_str().to_string(), s.label().to_string()))
            .collect(),
        counts: Counts::default(),
        sample: Vec::new(),
        problems: Vec::new(),
        errors,
        report: Vec::new(),
        job,
    };
    if page.job.finished() {
        page.report = sqlx::query_as(
            "SELECT row_number, line, issue_key, result, epic_id, message FROM import_rows
              WHERE job_id = $1 AND (result = 'failed' OR message <> '')
              ORDER BY result <> 'failed', row_number LIMIT $2",
        )
        .bind(page.job.id)
        .bind(LISTED as i64)
        .fetch_all(&state.db)
        .await?;
        return Ok(page);
    }
    if page.job.status != "mapping" {
        return Ok(page);
    }
    let sheet = match sheet {
        Some(sheet) => sheet,
        None => load_sheet(&state.db, page.job.id).await?,
    };
    let zone = crate::org::Organisation::load(&state.db).await?.zone();
    let known = Known::load(&state.db, &sheet, &mapping).await?;
    let plans = plan::plan(&sheet, &mapping, &known, zone);
    page.encoding = sheet.encoding;
    page.columns = sheet
        .column_names()
        .into_iter()
        .enumerate()
        .map(|(i, name)| (i.to_string(), name))
        .collect();
    page.choices = FIELDS
        .iter()
        .map(|f| ColumnChoice {
            name: f.name,
            label: f.label,
            hint: f.hint,
            required: f.required,
            chosen: mapping
                .column(f.name)
                .map(|c| c.to_string())
                .unwrap_or_default(),
        })
        .collect();
    page.statuses = mapping
        .jira_statuses(&sheet)
        .into_iter()
        .map(|(jira, rows)| StatusChoice {
            chosen: mapping.status_for(&jira).as_str().to_string(),
            jira,
            rows,
        })
        .collect();
    page.counts = preview(&plans, &mut page.sample, &mut page.problems);
    Ok(page)
}

/// Counts the plans and picks the rows the preview lists.
fn preview(
    plans: &[RowPlan],
    sample: &mut Vec<PreviewRow>,
    problems: &mut Vec<ProblemRow>,
) -> Counts {
    let mut counts = Counts {
        rows: plans.len(),
        ..Counts::default()
    };
    for row in plans {
        match &row.plan {
            Err(found) => {
                counts.problems += 1;
                if problems.len() < LISTED {
                    problems.push(ProblemRow {
                        number: row.number,
                        line: row.line,
                        key: row.key.clone(),
                        problems: found.join("; "),
                    });
                }
            }
            Ok(planned) => {
                if planned.existing.is_some() {
                    counts.existing += 1;
                } else {
                    counts.new += 1;
                }
                if !planned.notes.is_empty() {
                    counts.notes += 1;
                }
                if sample.len() < SAMPLE {
                    let status = match (&planned.jira_status, planned.status) {
                        (Some(jira), Some(ours)) => format!("{jira} → {}", ours.label()),
                        _ => "Draft (no status)".to_string(),
                    };
                    sample.push(PreviewRow {
                        number: row.number,
                        line: row.line,
                        key: planned.key.clone(),
                        title: planned.title.clone(),
                        status,
                        owner: if planned.owner.is_some() {
                            planned.owner_named.clone()
                        } else {
                            "None".to_string()
                        },
                        action: if planned.existing.is_some() {
                            "Update"
                        } else {
                            "New"
                        },
                        notes: planned.notes.join("; "),
                    });
                }
            }
        }
    }
    counts
}

/// `GET /import/jira/{id}`
pub async fn get_job(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    flash: Flash,
) -> Result<JobPage> {
    let job = load_job(&state.db, id).await?;
    let mapping = job.mapping.0.clone();
    job_page(
        &state,
        &me,
        job,
        mapping,
        FormErrors::default(),
        flash,
        None,
    )
    .await
}

/// The mapping as chosen on the form, with what is wrong with it.
fn mapping_from(pairs: &[(String, String)], columns: usize) -> (Mapping, FormErrors) {
    let mut mapping = Mapping::default();
    let mut errors = FormErrors::default();
    let value = |name: &str| page::field(pairs, name).trim();
    for field in FIELDS {
        let name = format!("col_{}", field.name);
        match value(&name) {
            "" if field.required => errors.add(
                field.name,
                format!(
                    "Choose the column that holds the {}",
                    field.label.to_lowercase()
                ),
            ),
            "" => {}
            chosen => match chosen.parse::<usize>() {
                Ok(index) if index < columns => {
                    mapping.columns.insert(field.name.to_string(), index);
                }
                _ => errors.add(field.name, "Choose a column from the list"),
            },
        }
    }
    for (name, jira) in pairs {
        let Some(n) = name.strip_prefix("jira_") else {
            continue;
        };
        let ours = value(&format!("status_{n}"));
        match EpicStatus::parse(ours) {
            Ok(status) if TARGETS.contains(&status) => {
                mapping
                    .statuses
                    .insert(jira.clone(), status.as_str().to_string());
            }
            _ if !errors.has("statuses") => {
                errors.add("statuses", format!("Choose what “{jira}” becomes"))
            }
            _ => {}
        }
    }
    (mapping, errors)
}

/// `POST /import/jira/{id}`: saves the mapping, then shows the preview again or starts the
/// import (`action=import`).
pub async fn post_job(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
    ClientAddr(client): ClientAddr,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let job = load_job(&state.db, id).await?;
    let here = format!("/import/jira/{id}");
    if job.status != "mapping" {
        return Ok(page::see_other(&here, "This import has already started."));
    }
    let sheet = load_sheet(&state.db, id).await?;
    let (mapping, errors) = mapping_from(&pairs, sheet.headers.len());
    let start = pairs.iter().any(|(n, v)| n == "action" && v == "import");
    if !errors.is_empty() {
        return refused(&state, &me, INVALID, job, mapping, errors, sheet).await;
    }
    let version: i32 = page::field(&pairs, "version").trim().parse().unwrap_or(0);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let saved = sqlx::query(
        "UPDATE import_jobs SET mapping = $3, status = CASE WHEN $4 THEN 'queued' ELSE status END,
                version = version + 1
          WHERE id = $1 AND version = $2 AND status = 'mapping'",
    )
    .bind(id)
    .bind(version)
    .bind(sqlx::types::Json(&mapping))
    .bind(start)
    .execute(&mut *tx)
    .await?;
    if saved.rows_affected() == 0 {
        drop(tx);
        let job = load_job(&state.db, id).await?;
        let mut errors = FormErrors::default();
        errors.add(
            "mapping",
            "Someone changed this import meanwhile: here is their mapping. Check it and send again.",
        );
        let mapping = job.mapping.0.clone();
        return refused(&state, &me, CONFLICT, job, mapping, errors, sheet).await;
    }
    if start {
        Entry::new("jira_import_started")
            .actor(Some(me.id))
            .entity("import", id)
            .after(json!({ "mapping": mapping }))
            .client(&client)
            .write(&mut *tx, now)
            .await?;
    }
    tx.commit().await?;
    let message = if start {
        "Import started. This page follows its progress."
    } else {
        "Mapping saved: the preview below uses it."
    };
    Ok(page::see_other(&here, message))
}

/// `GET /import/jira/{id}/progress`: how far the job is, for the page's script.
pub async fn get_progress(State(state): State<AppState>, Id(id): Id<Uuid>) -> Result<Response> {
    let progress: (String, i32, i32) =
        sqlx::query_as("SELECT status, rows_done, total_rows FROM import_jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
    Ok(
        Json(json!({ "status": progress.0, "rows_done": progress.1, "total_rows": progress.2 }))
            .into_response(),
    )
}
