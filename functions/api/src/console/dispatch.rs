//! In-process calls to the management API, as the session's caller.
//!
//! Each call is a new request built here, carrying the session's [`Caller`] in its
//! extensions, which `Caller`'s extractor takes instead of a bearer key. A browser's
//! request is never forwarded: its headers, cookies and extensions stay out of these calls,
//! and no HTTP client can set an extension, so nothing from outside can pose as a caller.

use crate::extract::Caller;
use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use std::sync::OnceLock;
use tower::ServiceExt;
use warroom_http::AppState;

/// The largest API answer the console reads.
const MAX_ANSWER: usize = 4 << 20;

/// The API router for one console request's calls. It is built on the first call of the
/// request: the console's routes are made before any state exists (`routes()` takes none)
/// and a process-wide cache would have to tell apart every `AppState` a process builds
/// (tests build hundreds); building the routes costs microseconds next to the store calls.
pub struct Api {
    state: AppState,
    caller: Caller,
    router: OnceLock<Router>,
}

/// What the API answered: its JSON (`Null` for `204`), or its refusal.
pub type Answer = Result<Value, Refusal>;

/// The API's `{"error": {"code", "message", ...}}`, with its status.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// The whole `error` object (details such as `missing_permissions`, `reauthorize_url`).
    pub error: Value,
}

impl Refusal {
    fn from_answer(status: StatusCode, body: &Value, text: &str) -> Self {
        let error = body.get("error").cloned().unwrap_or(Value::Null);
        let code = error["code"].as_str().unwrap_or("error").to_owned();
        let message = match error["message"].as_str() {
            Some(m) => m.to_owned(),
            None if text.is_empty() => format!("the API answered {status}"),
            None => text.chars().take(500).collect(),
        };
        Self { status, code, message, error }
    }

    pub fn detail(&self, name: &str) -> &Value {
        &self.error[name]
    }
}

impl Api {
    pub fn new(state: &AppState, caller: Caller) -> Self {
        Self { state: state.clone(), caller, router: OnceLock::new() }
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> Answer {
        self.call(Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }

    /// One API call; a `2xx` answers its JSON, anything else the API's refusal.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let bytes = self.send(method, path, body).await?;
        Ok(if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
    }

    /// A `GET` whose answer is text, not JSON (a Slack app manifest).
    pub async fn get_text(&self, path: &str) -> Result<String, Refusal> {
        let bytes = self.send(Method::GET, path, None).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Result<axum::body::Bytes, Refusal> {
        let router = self.router.get_or_init(|| crate::router(self.state.clone())).clone();
        let mut request = Request::builder().method(method).uri(path).extension(self.caller.clone());
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let request = match request.body(body) {
            Ok(r) => r,
            Err(e) => return Err(internal(format!("the console built a bad request: {e}"))),
        };
        let response = match router.oneshot(request).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = response.status();
        let bytes = match to_bytes(response.into_body(), MAX_ANSWER).await {
            Ok(b) => b,
            Err(e) => return Err(internal(format!("the API's answer could not be read: {e}"))),
        };
        if status.is_success() {
            return Ok(bytes);
        }
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Err(Refusal::from_answer(status, &json, &String::from_utf8_lossy(&bytes)))
    }
}

fn internal(message: String) -> Refusal {
    tracing::error!(%message, "console dispatch failed");
    Refusal { status: StatusCode::INTERNAL_SERVER_ERROR, code: "internal".into(), message: "the request could not be completed".into(), error: Value::Null }
}

/// A path segment or query value, percent-encoded.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
