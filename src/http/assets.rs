//! Static files, embedded in the binary. Their URLs carry a content hash
//! (`/static/<version>/style.css`), so they are cached for a year and a new release is never
//! served stale.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::error::ErrorPage;
use crate::http::page::Id;

include!(concat!(env!("OUT_DIR"), "/static_files.rs"));

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// `GET /static/{version}/{*path}`. An old version's URL still answers (with the current
/// file) but is not cached for long, so a browser holding an old page recovers.
pub async fn get_static(Id((version, path)): Id<(String, String)>) -> Response {
    let Some((_, body)) = FILES.iter().find(|(name, _)| *name == path) else {
        return ErrorPage::not_found();
    };
    let cache = if version == VERSION {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=60"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&path)),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        *body,
    )
        .into_response()
}
