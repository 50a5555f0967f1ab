//! Counts the SQL statements each request issues, so tests can prove a page issues the same
//! number for 10 rows as for 200 (no N+1).
//!
//! sqlx reports every statement as a `sqlx::query` tracing event from the task that runs
//! it. The request's task holds a counter in a task-local; a tracing layer adds one per
//! event. The layer's own filter keeps those events enabled whatever `RUST_LOG` says, and
//! they are printed only when `RUST_LOG` asks for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{Targets, filter_fn};
use tracing_subscriber::layer::Context;

use crate::http::AppState;

tokio::task_local! {
    static STATEMENTS: Arc<AtomicU32>;
}

/// The response header tests read when `AppState::expose_query_count` is on.
pub const HEADER: &str = "x-query-count";

/// Adds one to the current request's counter for every statement sqlx runs.
pub struct QueryCountLayer;

impl<S: Subscriber> Layer<S> for QueryCountLayer {
    fn on_event(&self, _event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let _ = STATEMENTS.try_with(|count| count.fetch_add(1, Ordering::Relaxed));
    }
}

/// The counting layer with the filter that keeps sqlx's statement events enabled.
pub fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let targets = Targets::new().with_target("sqlx::query", tracing::Level::TRACE);
    QueryCountLayer
        .with_filter(targets)
        .with_filter(filter_fn(|meta| meta.is_event()))
}

/// Middleware: counts this request's statements, logs the count, and exposes it to tests.
pub async fn count_statements(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let counter = Arc::new(AtomicU32::new(0));
    let mut response = STATEMENTS.scope(counter.clone(), next.run(request)).await;
    let statements = counter.load(Ordering::Relaxed);
    tracing::debug!(statements, "sql statements");
    if state.expose_query_count {
        response
            .headers_mut()
            .insert(HEADER, HeaderValue::from(statements));
    }
    response
}
