//! `GET /dashboard/csv?table=…&unit=&period=&until=`: every table of the dashboard as CSV,
//! with the same rows and the same cells as the page shows.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::rows::{Row, SORTS};
use super::{DashboardQuery, Figures, load};
use crate::auth::policy::Me;
use crate::http::page::Query;
use crate::http::{AppError, AppState, Result};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsvQuery {
    table: String,
    #[serde(flatten)]
    scope: DashboardQuery,
}

/// The tables that can be exported, by the key `table=` names.
pub const TABLES: [&str; 9] = [
    "type",
    "unit",
    "flow",
    "value",
    "okrs",
    "check_ins",
    "overdue",
    "trend",
    "outcomes",
];

/// `GET /dashboard/csv?table=`
pub async fn get_csv(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<CsvQuery>,
) -> Result<Response> {
    // Without a table: the team comparison.
    let table = match query.table.trim() {
        "" => "unit",
        table => table,
    };
    if !TABLES.contains(&table) {
        return Err(AppError::NotFound);
    }
    let page = load(&state, &me, &query.scope, crate::http::csv::MAX_ROWS).await?;
    let (head, body) = table_of(&page, table);
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    crate::http::csv::download(&format!("dashboard-{table}"), &head, body)
}

/// A table's heading and rows, as the page has them.
pub fn table_of(page: &Figures, table: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let figures = |first: &str, rows: &[Row]| {
        let mut head = vec![first.to_string()];
        head.extend(SORTS[1..].iter().map(|(_, h)| h.to_string()));
        let body = rows
            .iter()
            .chain(page.total.iter())
            .map(Row::cells)
            .collect();
        (head, body)
    };
    match table {
        "type" => figures("Type", &page.by_type),
        "unit" => figures("Unit", &page.by_unit),
        "flow" => (
            strings(&[
                "Type or unit",
                "Cycle time (days, median / 85th)",
                "Time to realisation (days, median / 85th)",
                "Outcomes revised after commitment",
            ]),
            page.flow_rows()
                .map(|r| {
                    vec![
                        r.label.clone(),
                        r.cycle(),
                        r.realisation_time(),
                        format!("{} of {}", r.revised(), r.outcomes()),
                    ]
                })
                .collect(),
        ),
        "value" => (
            strings(&[
                "Type or unit",
                "Value in",
                "Delivered epics",
                "Anticipated value",
                "Realised value",
                "Cost",
                "ROI",
            ]),
            page.value.iter().map(|v| v.cells()).collect(),
        ),
        "okrs" => (
            strings(&[
                "Unit",
                "Objectives",
                "Progress",
                "Key results",
                "On track",
                "At risk",
                "Off track",
                "No confidence yet",
                "Check-ins overdue",
            ]),
            page.health.iter().map(|h| h.cells()).collect(),
        ),
        "check_ins" => (
            strings(&[
                "Key result",
                "Objective",
                "Unit",
                "Owner",
                "Since the last check-in",
            ]),
            page.check_ins
                .iter()
                .map(|c| c.cells(&page.today))
                .collect(),
        ),
        "overdue" => (
            strings(&["Outcome", "Work", "Unit", "Owner", "Overdue"]),
            page.overdue
                .iter()
                .map(|l| {
                    vec![
                        l.metric.clone(),
                        l.parent_title.clone(),
                        l.unit_name.clone(),
                        l.owner_name.clone().unwrap_or_else(|| "No owner".into()),
                        l.when(&page.today),
                    ]
                })
                .collect(),
        ),
        "trend" => (
            strings(&[
                "Period",
                "Closed",
                "Achieved",
                "Partly",
                "Not achieved",
                "Inconclusive",
                "Realisation",
            ]),
            page.trend.iter().map(|t| t.cells()).collect(),
        ),
        _ => (
            strings(&[
                "Outcome",
                "Work",
                "Baseline",
                "Target",
                "Actual",
                "Verdict",
                "Closed on",
            ]),
            page.closed.iter().map(|b| b.cells()).collect(),
        ),
    }
}
