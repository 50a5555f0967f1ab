//! Load shedding: at most `max_in_flight` requests are served at once. Beyond that a
//! request is answered at once with 503 and `Retry-After` instead of waiting in a queue
//! without limit (where it would hold memory, wait for a database connection, and make
//! every other request's latency grow with the queue). `/healthz` is always answered: the
//! process is alive, only busy.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::api::problem::ApiError;
use crate::http::AppState;
use crate::http::error::ErrorPage;

/// Requests served at once unless configured (`YARDSTICK_MAX_IN_FLIGHT`): well above what
/// the pool's connections serve in the time a person waits, well below what exhausts memory.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// The permits of requests in flight, shared by every route of a server.
#[derive(Debug, Clone)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(max: usize) -> InFlight {
        InFlight(Arc::new(Semaphore::new(max.max(1))))
    }
}

/// Serves the request while a permit is free, or refuses it with 503 at once.
pub async fn shed(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    let Ok(permit) = state.in_flight.0.clone().try_acquire_owned() else {
        tracing::debug!("busy: request refused with 503");
        return busy(request.uri().path().starts_with("/api/"));
    };
    let response = next.run(request).await;
    drop(permit);
    response
}

/// The 503 with `Retry-After`: a page, or the API's problem (`ApiError::Busy`).
fn busy(api: bool) -> Response {
    if api {
        return ApiError::Busy.into_response();
    }
    let mut response = ErrorPage::respond(
        StatusCode::SERVICE_UNAVAILABLE,
        "Yardstick is busy",
        "Yardstick is serving as many requests as it can right now. Nothing was changed: try again in a moment.",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
