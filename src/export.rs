//! The organisation's data as one JSON document: every table's rows, read in one snapshot,
//! streamed as they are read (memory stays flat however large the organisation). Served to
//! administrators at `/admin/export` and written by `yardstick export FILE`.
//!
//! Left out: secrets (password hashes, session, invitation and API token hashes, sign-in
//! failures) and the dashboard's rollups, which are derived from the rest and rebuilt.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::http::{AppState, Result};

/// Tables whose rows are not exported, and why.
pub const LEFT_OUT: &[(&str, &str)] = &[
    ("_sqlx_migrations", "the schema's own bookkeeping"),
    ("sessions", "secret: signed-in sessions"),
    ("account_tokens", "secret: invitation and reset links"),
    ("sign_in_failures", "security throttling, kept briefly"),
    ("headcounts", "derived: counted from units and people"),
    ("dashboard_marks", "derived: rebuilt from the records"),
    ("dashboard_epic_groups", "derived: rebuilt from the records"),
    ("dashboard_flow", "derived: rebuilt from the records"),
    ("dashboard_loop_days", "derived: rebuilt from the records"),
    (
        "dashboard_epic_groups_up",
        "derived: rebuilt from the records",
    ),
    ("dashboard_flow_up", "derived: rebuilt from the records"),
    (
        "dashboard_loop_days_up",
        "derived: rebuilt from the records",
    ),
    ("objective_progress", "derived: rebuilt from the records"),
    ("dashboard_okr_groups", "derived: rebuilt from the records"),
    (
        "dashboard_okr_groups_up",
        "derived: rebuilt from the records",
    ),
    (
        "dashboard_check_in_days",
        "derived: rebuilt from the records",
    ),
    (
        "dashboard_check_in_days_up",
        "derived: rebuilt from the records",
    ),
    ("dashboard_versions", "derived: moved on by every refresh"),
];

/// Columns never exported.
pub const SECRET_COLUMNS: &[(&str, &str)] = &[
    ("people", "password_hash"),
    ("api_tokens", "token_hash"),
    ("webhook_endpoints", "secret"),
    // Not a secret, but the raw upload an import was read from, not the organisation's data.
    ("import_jobs", "content"),
];

/// How many rows each table had.
pub type Summary = Vec<(String, u64)>;

/// The exported tables and their columns (secrets left out), in name order.
async fn tables(tx: &mut sqlx::PgConnection) -> sqlx::Result<Vec<(String, Vec<String>)>> {
    let left_out: Vec<&str> = LEFT_OUT.iter().map(|(t, _)| *t).collect();
    let secret: Vec<String> = SECRET_COLUMNS
        .iter()
        .map(|(t, c)| format!("{t}.{c}"))
        .collect();
    sqlx::query_as(
        "SELECT t.table_name::text,
                array_agg(c.column_name::text ORDER BY c.ordinal_position)
           FROM information_schema.tables t
           JOIN information_schema.columns c
             ON c.table_schema = t.table_schema AND c.table_name = t.table_name
          WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
            AND NOT t.table_name = ANY($1)
            AND NOT (t.table_name || '.' || c.column_name) = ANY($2)
          GROUP BY t.table_name
          ORDER BY t.table_name",
    )
    .bind(&left_out)
    .bind(&secret)
    .fetch_all(&mut *tx)
    .await
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Writes the export to `out`: `{"format", "version", "exported_at", "migration",
/// "tables": {name: [row, …]}}`, all tables from one repeatable-read snapshot.
pub async fn write(
    db: &crate::db::Db,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut (impl AsyncWrite + Unpin),
) -> anyhow::Result<Summary> {
    let mut tx = db.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let migration: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&mut *tx)
        .await?;
    let head = json!({ "format": "yardstick-export", "version": 1, "exported_at": now, "migration": migration });
    let head = head.to_string();
    // The head's fields (its closing brace left off), then the tables.
    let open = head.strip_suffix('}').unwrap_or(&head);
    out.write_all(open.as_bytes()).await?;
    out.write_all(b",\"tables\":{").await?;
    let mut summary = Summary::new();
    for (i, (table, columns)) in tables(&mut tx).await?.into_iter().enumerate() {
        let columns: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let sql = format!(
            "SELECT row_to_json(t)::text FROM (SELECT {} FROM {}) t",
            columns.join(", "),
            quote(&table)
        );
        if i > 0 {
            out.write_all(b",").await?;
        }
        out.write_all(format!("{}:[", serde_json::to_string(&table)?).as_bytes())
            .await?;
        let mut rows = sqlx::query_scalar::<_, String>(&sql).fetch(&mut *tx);
        let mut count = 0u64;
        while let Some(row) = rows.try_next().await? {
            if count > 0 {
                out.write_all(b",\n").await?;
            }
            out.write_all(row.as_bytes()).await?;
            count += 1;
        }
        drop(rows);
        out.write_all(b"]").await?;
        summary.push((table, count));
    }
    out.write_all(b"}}\n").await?;
    out.flush().await?;
    tx.commit().await?;
    Ok(summary)
}

/// Writes the export to the file at `path` (`yardstick export FILE`).
pub async fn to_file(db: &crate::db::Db, path: &std::path::Path) -> anyhow::Result<Summary> {
    let file = tokio::fs::File::create(path)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    let mut out = tokio::io::BufWriter::new(file);
    write(db, chrono::Utc::now(), &mut out).await
}

/// `GET /admin/export`: the download, streamed; audited.
pub async fn get_export(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
) -> Result<Response> {
    let now = state.clock.now();
    Entry::new("data_exported")
        .actor(Some(me.id))
        .client(&client)
        .write(&state.db, now)
        .await?;
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let db = state.db.clone();
    tokio::spawn(async move {
        // A failure ends the body early: the download is then not valid JSON.
        if let Err(err) = write(&db, now, &mut writer).await {
            tracing::error!(err = format!("{err:#}"), "export failed");
        }
    });
    let chunks = futures_util::stream::unfold(reader, |mut reader| async move {
        let mut buffer = vec![0; 64 * 1024];
        match reader.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buffer)), reader))
            }
            Err(err) => Some((Err(err), reader)),
        }
    });
    let filename = format!("yardstick-export-{}.json", now.format("%Y-%m-%d"));
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}
