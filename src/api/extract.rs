//! Extractors whose refusals are problems (`problem.rs`), not the pages' HTML: a JSON body,
//! a query string, a record id in the path, and the version an update names in `If-Match`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::problem::{ApiError, FieldProblem};

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            // A field of the wrong type or out of range: name it.
            Err(JsonRejection::JsonDataError(err)) => {
                let text = err.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                    .unwrap_or(&text);
                let (field, message) = match detail.split_once(": ") {
                    Some((field, message)) if !field.contains(' ') => (field, message),
                    _ => ("body", detail),
                };
                Err(ApiError::invalid(field, message))
            }
            Err(err) if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::TooLarge)
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::BadRequest(
                "Send the body as JSON, with Content-Type: application/json".into(),
            )),
            Err(err) => Err(ApiError::BadRequest(format!(
                "The body is not valid JSON: {}",
                err.body_text()
            ))),
        }
    }
}

/// A query string.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|err| {
                ApiError::BadRequest(format!(
                    "The query string cannot be read: {}",
                    err.body_text()
                ))
            })
    }
}

/// Parameters of the path (a metric key, two ids); a path that cannot be read (invalid
/// UTF-8, say) names nothing (404).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|_| ApiError::NotFound)
    }
}

/// A record's id in the path; anything else names no record (404).
pub struct ApiId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for ApiId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        Uuid::parse_str(&text)
            .map(ApiId)
            .map_err(|_| ApiError::NotFound)
    }
}

/// The version an update is based on, from `If-Match: "7"` (the ETag a read answered).
/// Without the header (or with `*`, which names no version) the update is refused with
/// 428; a value this server never gave out is `None`, and matches no version (412).
pub struct IfMatch(pub Option<i32>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Err(ApiError::PreconditionRequired);
        };
        let text = value.to_str().unwrap_or_default().trim();
        if text == "*" {
            return Err(ApiError::PreconditionRequired);
        }
        let text = text.strip_prefix("W/").unwrap_or(text);
        let version = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .and_then(|t| t.parse::<i32>().ok());
        Ok(IfMatch(version))
    }
}

impl IfMatch {
    /// The version named, when it is the record's `current` one; otherwise 412.
    pub fn current(self, current: i32) -> Result<i32, ApiError> {
        self.0
            .filter(|v| *v == current)
            .ok_or(ApiError::PreconditionFailed { current })
    }
}

/// The ETag of a record at `version`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// A decimal as the API writes it: as text, without trailing zeros (no precision lost to
/// floating point).
pub fn decimal(value: Decimal) -> String {
    value.round_dp(6).normalize().to_string()
}

/// An optional id from a query string: None when absent or empty; a problem for the field
/// when it is not a UUID.
pub fn optional_id(
    field: &str,
    value: Option<&str>,
    problems: &mut Vec<FieldProblem>,
) -> Option<Uuid> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    let parsed = Uuid::parse_str(value).ok();
    if parsed.is_none() {
        problems.push(FieldProblem {
            field: field.to_string(),
            message: "Give an id (a UUID)".to_string(),
        });
    }
    parsed
}

/// How many rows a list answers, from `limit` (1–200, default 50).
pub fn page_limit(value: Option<&str>, problems: &mut Vec<FieldProblem>) -> i64 {
    match value.map(str::trim) {
        None | Some("") => 50,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => {
                problems.push(FieldProblem {
                    field: "limit".into(),
                    message: "Give a whole number from 1 to 200".into(),
                });
                50
            }
        },
    }
}

/// A status change.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StatusIn {
    /// One of the record's next steps.
    #[schema(example = "active")]
    pub status: String,
}
