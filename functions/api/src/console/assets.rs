//! The console's only two static files, compiled in: no file system, no build chain.

use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

/// Short caching: a deploy changes them, and they are tiny.
const CACHE: &str = "public, max-age=300";

pub async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, CACHE)], CSS)
}

pub async fn js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, CACHE)], JS)
}
