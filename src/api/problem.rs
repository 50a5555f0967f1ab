//! The API's errors as `application/problem+json` (RFC 9457): a title, the status, a detail
//! a person can act on, and for validation every field with its message. Never a 500 for
//! what a caller can send.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppError;
use crate::http::page::{FormErrors, StatusRefused};

/// One field's problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field, as the request body names it.
    #[schema(example = "title")]
    pub field: String,
    #[schema(example = "Enter a title")]
    pub message: String,
}

/// An RFC 9457 problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[schema(example = "https://yardstick.dev/problems/invalid")]
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(example = "The request has invalid fields")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "Correct the fields listed and send it again")]
    pub detail: String,
    /// For validation problems: each field and its message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug)]
pub enum ApiError {
    /// No token, or one that does not open the API (unknown, revoked, expired).
    Unauthorized,
    /// Signed in, but not allowed.
    Forbidden(String),
    NotFound,
    /// The body or query has invalid fields.
    Invalid(Vec<FieldProblem>),
    /// The body is not the JSON the operation takes.
    BadRequest(String),
    /// `If-Match` names a version that is no longer current.
    PreconditionFailed {
        current: i32,
    },
    /// An update without `If-Match`.
    PreconditionRequired,
    /// The change conflicts with the record's state (a transition not allowed now).
    Conflict(String),
    /// The body is larger than any operation takes.
    TooLarge,
    /// The server is serving as many requests as it may at once (`http::shed`).
    Busy,
    App(AppError),
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::NotFound => ApiError::NotFound,
            AppError::Forbidden => ApiError::Forbidden("Your role does not allow this".into()),
            AppError::Unstorable => {
                ApiError::BadRequest(crate::http::error::UNSTORABLE.to_string())
            }
            other => ApiError::App(other),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::from(AppError::from(err))
    }
}

impl From<FormErrors> for ApiError {
    fn from(errors: FormErrors) -> Self {
        ApiError::Invalid(
            errors
                .iter()
                .map(|(field, message)| FieldProblem {
                    field: field.to_string(),
                    message: message.to_string(),
                })
                .collect(),
        )
    }
}

impl ApiError {
    pub fn invalid(field: &str, message: &str) -> ApiError {
        ApiError::Invalid(vec![FieldProblem {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// A refused status change: an unknown status names the field and those allowed (422),
    /// one not possible now says why (409), a stale version answers the `current` (412).
    pub fn status_refused(refused: StatusRefused, allowed: &str, current: i32) -> ApiError {
        match refused {
            StatusRefused::Unknown => {
                ApiError::invalid("status", &format!("Give one of {allowed}"))
            }
            StatusRefused::NotNow(why) => ApiError::Conflict(why),
            StatusRefused::Stale => ApiError::PreconditionFailed { current },
        }
    }

    fn problem(&self) -> (StatusCode, &'static str, String, String) {
        match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "A valid API token is needed".into(),
                "Send `Authorization: Bearer <token>` with a token from your account page that is neither revoked nor expired".into(),
            ),
            ApiError::Forbidden(detail) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed".into(),
                detail.clone(),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not-found",
                "No such record".into(),
                "Nothing exists at this address; check the id (or the metric key)".into(),
            ),
            ApiError::Invalid(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "The request has invalid fields".into(),
                "Correct the fields listed and send it again".into(),
            ),
            ApiError::BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "The request could not be read".into(),
                detail.clone(),
            ),
            ApiError::PreconditionFailed { current } => (
                StatusCode::PRECONDITION_FAILED,
                "stale-version",
                "The record changed since you read it".into(),
                format!("It is now at version {current}: read it again, reapply your change and send it with If-Match: \"{current}\""),
            ),
            ApiError::PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                "if-match-required",
                "Say which version you are changing".into(),
                "Send If-Match with the ETag of the version you read, so a concurrent change is never overwritten".into(),
            ),
            ApiError::Conflict(detail) => (
                StatusCode::CONFLICT,
                "conflict",
                "The change conflicts with the record's state".into(),
                detail.clone(),
            ),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "The body is too large".into(),
                format!(
                    "Nothing was saved: a body may hold at most {} KB",
                    crate::http::BODY_LIMIT / 1024
                ),
            ),
            ApiError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Too busy to answer now".into(),
                "Yardstick is serving as many requests as it can right now. Nothing was changed: try again in a moment.".into(),
            ),
            ApiError::App(AppError::Unavailable(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Yardstick cannot reach its database".into(),
                "Try again in a moment".into(),
            ),
            ApiError::App(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong".into(),
                "Nothing was saved; if it keeps happening, tell your administrator the time it happened".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Logged as the pages log them; no internals go into the body.
        if let ApiError::App(err) = &self {
            err.log();
        }
        let (status, kind, title, detail) = self.problem();
        // A busy server is worth asking again sooner than one without its database.
        let retry_after = if matches!(self, ApiError::Busy) {
            "1"
        } else {
            "5"
        };
        let errors = match self {
            ApiError::Invalid(errors) => errors,
            _ => vec![],
        };
        let body = Problem {
            kind: format!("https://yardstick.dev/problems/{kind}"),
            title,
            status: status.as_u16(),
            detail,
            errors,
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"yardstick\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(retry_after));
        }
        response
    }
}
