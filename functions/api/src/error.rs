//! The API's failures: always `{"error": {"code", "message", ...details}}` with a stable
//! code, and how the engine's and the IM platforms' errors map onto it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};
use warroom_core::{ImError, StoreError};
use warroom_engine::EngineError;
use warroom_http::ApiError;

/// An [`ApiError`] plus optional machine-readable details (merged into the `error`
/// object, e.g. `missing_permissions`) and a `Retry-After` header.
#[derive(Debug)]
pub struct Failure {
    pub error: ApiError,
    pub details: Map<String, Value>,
    pub retry_after: Option<u64>,
    /// An `ETag` header to answer with (a `412` names the current version).
    pub etag: Option<String>,
}

pub type ApiResult<T> = Result<T, Failure>;

impl Failure {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(status, code, message).into()
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::bad_request(message).into()
    }
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ApiError::not_found(format!("{what} not found")).into()
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::conflict(code, message).into()
    }
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
    pub fn code(&self) -> &'static str {
        self.error.code
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Self { error, details: Map::new(), retry_after: None, etag: None }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut error = Map::new();
        error.insert("code".into(), self.error.code.into());
        error.insert("message".into(), self.error.message.into());
        for (k, v) in self.details {
            error.entry(k).or_insert(v);
        }
        let mut response = (self.error.status, Json(serde_json::json!({ "error": error }))).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(tag) = self.etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
            response.headers_mut().insert(header::ETAG, tag);
        }
        response
    }
}

/// An IM platform call made on the caller's behalf failed: 502 `platform_error` with the
/// platform's message, except a rate limit, which is 503 `rate_limited` with `Retry-After`.
pub fn platform(e: ImError) -> Failure {
    match e {
        ImError::RateLimited { retry_after } => {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            let mut f = Failure::new(StatusCode::SERVICE_UNAVAILABLE, "rate_limited", format!("the IM platform asks to slow down; retry in {secs} s"));
            f.retry_after = Some(secs.max(1));
            f
        }
        // What the platform has no API for (DingTalk and WeCom cannot list a bot's chats):
        // not a failure of the platform, and retrying cannot help.
        ImError::Rejected { code, message } if code == "unsupported" => Failure::conflict("not_supported", message),
        e => Failure::new(StatusCode::BAD_GATEWAY, "platform_error", e.to_string()),
    }
}

/// The engine's errors as API answers.
pub fn engine(e: EngineError) -> Failure {
    match e {
        EngineError::NotFound(what) => Failure::not_found(what),
        EngineError::Invalid(message) => Failure::conflict("invalid_state", message),
        EngineError::Refused(t) => Failure::conflict("refused", t.to_string()),
        EngineError::NotLinked { link_url } => {
            Failure::conflict("not_linked", format!("not linked to a member yet; link it at {link_url}")).with("link_url", link_url)
        }
        EngineError::Store(s) => s.into(),
        EngineError::Platform(ImError::MissingPermission { scope }) => {
            Failure::conflict("missing_permissions", format!("the IM app lacks the permission {scope}; re-authorize the integration"))
                .with("missing_permissions", vec![scope])
        }
        EngineError::Platform(e) if !e.is_retryable() => platform(e),
        EngineError::Platform(e @ ImError::RateLimited { .. }) => platform(e),
        e if e.is_retryable() => {
            tracing::warn!(error = %e, "retryable failure answered with 503");
            Failure::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "a backend is temporarily unavailable; try again shortly")
        }
        e => {
            tracing::error!(error = %e, "request failed");
            ApiError::internal("the request could not be completed").into()
        }
    }
}

/// `404 no_such_route`: distinguishable from a missing object (`not_found`).
pub async fn no_such_route(method: axum::http::Method, uri: axum::http::Uri) -> Failure {
    Failure::new(StatusCode::NOT_FOUND, "no_such_route", format!("no route {method} {}; see docs/openapi.json", uri.path()))
}

pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Failure {
    Failure::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("{} does not accept {method}", uri.path()))
}
