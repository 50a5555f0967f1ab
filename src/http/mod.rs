//! The web layer: `app(state)` assembles every feature's routes (the sitemap) behind the
//! shared middleware; `serve` runs it until a shutdown signal, draining in-flight requests.

pub mod assets;
pub mod csv;
pub mod error;
pub mod floor;
pub mod health;
pub mod page;
pub mod query_count;
pub mod shed;
pub mod sitemap;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::policy::Access;
use crate::clock::Clock;
pub use error::{AppError, ErrorPage, Result};
use page::Flash;
use sitemap::Sitemap;

/// What every handler can reach. Cheap to clone; holds nothing that must survive a restart
/// (several servers may share one database).
#[derive(Clone)]
pub struct AppState {
    pub db: crate::db::Db,
    pub clock: Clock,
    /// Adds the `x-query-count` header to every response (tests).
    pub expose_query_count: bool,
    /// Served over https: session cookies are `Secure` with a `__Host-` name, and HSTS.
    pub secure_cookies: bool,
    /// The address people reach Yardstick at, without a trailing slash (for links).
    pub public_url: String,
    /// Mail, when SMTP is configured: invitation and reset links are sent, not only shown.
    pub mailer: Option<std::sync::Arc<crate::mail::Mailer>>,
    /// Requests served at once; more are refused with 503 (`shed`).
    pub in_flight: shed::InFlight,
    /// The dashboards' figures and the OKR trees this server keeps between views.
    pub dashboards: std::sync::Arc<crate::dashboard::cache::Cache<crate::dashboard::Figures>>,
    pub okr_trees: std::sync::Arc<crate::dashboard::cache::Cache<crate::okrs::tree::Tree>>,
    /// The choices list pages' filters offer (units, periods) this server keeps.
    pub choices: std::sync::Arc<crate::org::choices::Choices>,
    /// The epic pages' reads this server keeps.
    pub epic_reads: std::sync::Arc<crate::epics::read::Reads>,
    /// The key result pages' reads this server keeps.
    pub key_result_reads: std::sync::Arc<crate::okrs::read::Reads>,
}

impl AppState {
    pub fn new(db: PgPool, clock: Clock) -> AppState {
        AppState {
            db: crate::db::Db::new(db),
            clock,
            expose_query_count: false,
            secure_cookies: false,
            public_url: String::new(),
            mailer: None,
            in_flight: shed::InFlight::new(shed::DEFAULT_MAX_IN_FLIGHT),
            dashboards: Default::default(),
            okr_trees: Default::default(),
            choices: Default::default(),
            epic_reads: std::sync::Arc::new(crate::epics::read::reads()),
            key_result_reads: std::sync::Arc::new(crate::okrs::read::reads()),
        }
    }

    /// Serves at most `max` requests at once, refusing more with 503 and `Retry-After`.
    pub fn with_max_in_flight(mut self, max: usize) -> AppState {
        self.in_flight = shed::InFlight::new(max);
        self
    }

    /// Mails invitation and reset links through `mailer`.
    pub fn with_mailer(mut self, mailer: crate::mail::Mailer) -> AppState {
        self.mailer = Some(std::sync::Arc::new(mailer));
        self
    }

    /// Sets the public address; https turns on secure cookies and HSTS.
    pub fn with_public_url(mut self, public_url: &str) -> AppState {
        self.public_url = public_url.trim_end_matches('/').to_string();
        self.secure_cookies = self.public_url.starts_with("https://");
        self
    }
}

/// Longest time a request may take before it is answered with 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body a handler reads (forms are small); an upload route sets its own,
/// up to `UPLOAD_LIMIT`.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Largest request body accepted at all (with multipart framing around the file).
pub const UPLOAD_LIMIT: usize = crate::imports::pages::UPLOAD_LIMIT + 64 * 1024;

/// No inline script or style, nothing from other origins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The whole application: every route, behind the middleware.
pub fn app(state: AppState) -> Router {
    let routes = sitemap(&state).into_router().fallback(not_found);
    with_middleware(routes, state)
}

/// The sitemap: each feature's routes with the access they require.
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/", Access::SignedIn, crate::home::get_home)
        .merge(crate::auth::sitemap(state))
        .merge(crate::org::sitemap(state))
        .merge(crate::people::sitemap(state))
        .merge(crate::periods::sitemap(state))
        .merge(crate::initiatives::sitemap(state))
        .merge(crate::epics::sitemap(state))
        .merge(crate::planning::sitemap(state))
        .merge(crate::okrs::sitemap(state))
        .merge(crate::loops::sitemap(state))
        .merge(crate::notifications::sitemap(state))
        .merge(crate::dashboard::sitemap(state))
        .merge(crate::api::sitemap(state))
        .merge(crate::webhooks::sitemap(state))
        .merge(crate::imports::sitemap(state))
        .get("/admin/audit", Access::Admin, crate::audit::get_audit)
        .get(
            "/admin/audit/csv",
            Access::Admin,
            crate::audit::get_audit_csv,
        )
        .get("/admin/export", Access::Admin, crate::export::get_export)
        .get("/healthz", Access::Public, health::get_healthz)
        .get("/floor", Access::SignedIn, floor::get_floor)
        .get("/readyz", Access::Public, health::get_readyz)
        .get(
            "/static/{version}/{*path}",
            Access::Public,
            assets::get_static,
        )
}

/// Wraps routes in the middleware every response goes through (outermost first): request
/// id, trace span, timeout → 503, gzip, security headers, CSRF, body limit, panic → 500 page,
/// flash clearing, statement counting.
pub fn with_middleware(routes: Router<AppState>, state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ));

    let hsts = state.secure_cookies.then(|| {
        SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        )
    });
    // Cross-site form posts are refused (Origin / Sec-Fetch-Site), with no tokens in forms.
    let mut csrf = CsrfLayer::new();
    if !state.public_url.is_empty() {
        csrf = csrf
            .add_trusted_origin(&state.public_url)
            .unwrap_or_else(|_| CsrfLayer::new());
    }
    let csrf = csrf.with_rejection_response(|_| {
        ErrorPage::respond(
            StatusCode::FORBIDDEN,
            "This request came from another site",
            "Yardstick only accepts changes sent from its own pages. Go back, reload the page and try again.",
        )
    });

    routes
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(crate::db::request::one_connection))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            query_count::count_statements,
        ))
        .layer(middleware::from_fn(clear_shown_flash))
        // Inside the header layers, so the 500 page carries them too.
        .layer(CatchPanicLayer::custom(|_| ErrorPage::internal()))
        // Inside the header layers too: a refused body's 413 carries them, and says why.
        .layer(RequestBodyLimitLayer::new(UPLOAD_LIMIT))
        .layer(middleware::from_fn(explain_too_large))
        .layer(csrf)
        // Outside everything but the headers: a refused request costs almost nothing, and
        // its 503 carries the security headers.
        .layer(middleware::from_fn_with_state(state.clone(), shed::shed))
        .layer(headers)
        .layer(tower::util::option_layer(hsts))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

/// The span every log line of a request carries. It names the route pattern, not the URI:
/// paths and query strings may hold tokens, which must never reach the logs.
fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("(no route)");
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("request", method = %request.method(), route, request_id)
}

/// Unknown addresses: the 404 page for people signed in; sign-in first for anyone else, so
/// the site's shape is not shown to strangers.
async fn not_found(State(state): State<AppState>, request: Request) -> Response {
    match crate::auth::guard::signed_in(&state, request.headers()).await {
        Ok(Some(me)) => ErrorPage::not_found_for(&me),
        Ok(None) => crate::auth::guard::to_sign_in(&request),
        Err(err) => AppError::from(err).into_response(),
    }
}

/// A body refused for its size before any handler read it (its length said too much) is
/// answered as every refusal is: a page, or a problem for the API.
async fn explain_too_large(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    // Ours are pages and problems; the limit layer's own answer is bare text.
    let bare = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|t| t.as_bytes().starts_with(b"text/plain"));
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE || !bare {
        return response;
    }
    too_large(api)
}

/// The 413: a page, or the API's problem.
pub fn too_large(api: bool) -> Response {
    if api {
        crate::api::problem::ApiError::TooLarge.into_response()
    } else {
        ErrorPage::respond(
            StatusCode::PAYLOAD_TOO_LARGE,
            "This request is too large",
            format!(
                "Nothing was saved. A form holds far less than this; a Jira export may be at most {} MB.",
                crate::imports::pages::UPLOAD_LIMIT / (1024 * 1024)
            ),
        )
    }
}

/// Removes the confirmation cookie once a page (not a redirect) has shown it.
async fn clear_shown_flash(request: Request, next: Next) -> Response {
    let had_flash = Flash::present(request.headers());
    let mut response = next.run(request).await;
    let shown = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if had_flash && shown {
        response
            .headers_mut()
            .append(header::SET_COOKIE, Flash::clear_cookie());
    }
    response
}

/// Serves `app(state)` on `listener` until `shutdown` completes, then waits (at most
/// `drain`) for in-flight requests to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    let (drained_tx, drained_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight requests");
        let _ = drained_tx.send(());
    };
    let server = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    let server = std::pin::pin!(server.into_future());
    // Once the signal came, give in-flight requests `drain` to finish, then stop anyway.
    tokio::select! {
        result = server => result,
        _ = async { let _ = drained_rx.await; tokio::time::sleep(drain).await } => {
            tracing::warn!("requests still running after the drain period; stopping anyway");
            Ok(())
        }
    }
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled: a signal that arrives as soon as the server has said
/// where it serves is not lost to the default action (which would kill the process
/// without draining or stopping the embedded cluster).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        let wait = |s: Option<tokio::signal::unix::Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! { _ = wait(interrupt) => {}, _ = wait(terminate) => {} }
    }
}
