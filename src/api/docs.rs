//! `/api/docs`: Swagger UI for the OpenAPI document, from assets built into the binary
//! (nothing is loaded from the internet). It needs inline styles, so its pages carry a
//! content security policy relaxed for that alone; every other page keeps the strict one.

use std::sync::{Arc, OnceLock};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use utoipa_swagger_ui::Config;

use crate::http::page::Id;

/// The strict policy with inline styles allowed (Swagger UI sets styles inline).
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| Arc::new(Config::from("/api/v1/openapi.json")))
        .clone()
}

/// `GET /api/docs`
pub async fn get_index() -> Redirect {
    Redirect::to("/api/docs/index.html")
}

/// `GET /api/docs/{*path}`
pub async fn get_file(Id(path): Id<String>) -> Response {
    match utoipa_swagger_ui::serve(&path, config()) {
        Ok(Some(file)) => {
            let mut response = (
                [(header::CONTENT_TYPE, file.content_type)],
                file.bytes.to_vec(),
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY),
            );
            response
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(%err, "the API documentation could not be served");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
