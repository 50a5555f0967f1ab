//! Logging: one line per event, each with the request's span (method, route, request id),
//! plus the per-request SQL statement counter.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global subscriber; `filter` is a `RUST_LOG`-style directive. Returns false
/// when one was already installed (tests call this more than once).
pub fn init(filter: &str, with_output: bool) -> bool {
    // Whatever the filter, the CSRF layer stays quiet below info: at trace it logs every
    // request's path, and a path may hold a secret (an invitation link).
    let env_filter = EnvFilter::try_new(filter)
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive("tower_http::csrf=info".parse().expect("a valid directive"));
    let output = with_output.then(|| {
        // Colours only for a person at a terminal: a log collected from a pipe or a file
        // stays plain text.
        tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_target(false)
            .with_filter(env_filter)
    });
    tracing_subscriber::registry()
        .with(output)
        .with(crate::http::query_count::layer())
        .try_init()
        .is_ok()
}
