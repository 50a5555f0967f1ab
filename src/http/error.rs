//! The one error type of the web layer. Internal details go to the log, never to the page.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::http::page::{Layout, Section};

const NOT_FOUND_MESSAGE: &str =
    "There is no page at this address. It may have moved, or the link may be mistyped.";

/// What can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such page or record.
    #[error("not found")]
    NotFound,
    /// Signed in, but not allowed to change this record (already written to the audit log).
    #[error("forbidden")]
    Forbidden,
    /// The database cannot be reached: answer 503 quickly, never hang.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// Text the database cannot store (a NUL character): the request is refused, never
    /// a 500.
    #[error("text with a NUL character")]
    Unstorable,
    /// Anything else: a bug or an unexpected database error.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Handlers return this.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => AppError::NotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                AppError::Unavailable(err)
            }
            // 57P01 admin_shutdown, 57P03 cannot_connect_now, 3D000 the database is gone.
            sqlx::Error::Database(ref e)
                if matches!(e.code().as_deref(), Some("57P01" | "57P03" | "3D000")) =>
            {
                AppError::Unavailable(err)
            }
            // 22021 character_not_in_repertoire: a NUL in text.
            sqlx::Error::Database(ref e) if e.code().as_deref() == Some("22021") => {
                AppError::Unstorable
            }
            other => AppError::Internal(other.into()),
        }
    }
}

/// What a person is told when their text holds a character that cannot be stored.
pub const UNSTORABLE: &str = "A field holds a character that cannot be stored (a NUL character). \
                              Nothing was saved: remove it and send again.";

/// A plain error page in the site's layout.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: std::borrow::Cow<'static, str>,
}

impl ErrorPage {
    /// Renders the page with `status`.
    pub fn respond(
        status: StatusCode,
        heading: &'static str,
        message: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Response {
        Self::render(
            status,
            Layout::public(heading, Section::None),
            heading,
            message.into(),
        )
    }

    fn render(
        status: StatusCode,
        layout: Layout,
        heading: &'static str,
        message: std::borrow::Cow<'static, str>,
    ) -> Response {
        let page = ErrorPage {
            layout,
            heading,
            message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, heading).into_response(),
        }
    }

    /// The 404 page for someone signed in: with the navigation, to find their way on.
    pub fn not_found_for(me: &crate::auth::policy::Me) -> Response {
        let heading = "Page not found";
        Self::render(
            StatusCode::NOT_FOUND,
            Layout::new(heading, Section::None, me),
            heading,
            NOT_FOUND_MESSAGE.into(),
        )
    }

    /// The 404 page.
    pub fn not_found() -> Response {
        Self::respond(StatusCode::NOT_FOUND, "Page not found", NOT_FOUND_MESSAGE)
    }

    /// The 500 page.
    pub fn internal() -> Response {
        Self::respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Yardstick could not answer this request. Nothing you entered was saved. Please try again; \
             if it keeps happening, tell your administrator the time it happened.",
        )
    }
}

impl AppError {
    /// Logs what the person is not shown: the database being away, or the internal error.
    /// Pages and the API log alike.
    pub fn log(&self) {
        match self {
            AppError::Unavailable(err) => tracing::warn!(%err, "database unavailable"),
            AppError::Internal(err) => tracing::error!(err = format!("{err:#}"), "request failed"),
            AppError::NotFound | AppError::Forbidden | AppError::Unstorable => {}
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        match self {
            AppError::NotFound => ErrorPage::not_found(),
            AppError::Forbidden => crate::auth::guard::forbidden(),
            AppError::Unavailable(_) => {
                let mut response = ErrorPage::respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Yardstick is briefly unavailable",
                    "The database cannot be reached right now. Nothing you entered was saved. Please try again in a moment.",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                response
            }
            AppError::Unstorable => ErrorPage::respond(
                StatusCode::BAD_REQUEST,
                "Text that cannot be stored",
                UNSTORABLE,
            ),
            AppError::Internal(_) => ErrorPage::internal(),
        }
    }
}

/// The SQLSTATE and constraint name of a violated constraint, if that is what `err` is.
pub fn violated_constraint(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(e) => e.constraint(),
        _ => None,
    }
}
