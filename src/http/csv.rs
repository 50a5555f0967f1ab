//! CSV downloads: a header and rows, with cells a spreadsheet would run as a formula
//! written as text. The dashboard's tables and every list page use it.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::Result;

/// Most rows a list's CSV holds; narrower filters export the rest.
pub const MAX_ROWS: i64 = 100_000;

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) is written as text.
pub fn defused(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// `rows` under `head` as `filename`.csv, an attachment.
pub fn download<I, R>(filename: &str, head: &[&str], rows: I) -> Result<Response>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = String>,
{
    let mut out = csv::Writer::from_writer(vec![]);
    out.write_record(head).map_err(anyhow::Error::from)?;
    for row in rows {
        let cells: Vec<String> = row.into_iter().map(|c| defused(&c)).collect();
        out.write_record(&cells).map_err(anyhow::Error::from)?;
    }
    let bytes = out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}.csv\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
