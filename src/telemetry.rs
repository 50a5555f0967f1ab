//! Logging: one line per event, each with the request's span (method, route, request id),
//! plus the per-request SQL statement counter.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global subscriber; `filter` is a `RUST_LOG`-style directive. Returns false
/// when one was already installed (tests call this more than once).
pub fn init(filter: &str, with_output: bool) -> bool {
    let env_filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let output = with_output.then(|| {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_filter(env_filter)
    });
    tracing_subscriber::registry()
        .with(output)
        .with(crate::http::query_count::layer())
        .try_init()
        .is_ok()
}
