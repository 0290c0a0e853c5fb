//! Driving the LLM sandbox over HTTP, for tests in other processes and the local stack. Paths
//! are relative: [`super::router`] nests them at `/control`; elsewhere mount with
//! `Router::nest("/control/llm", control::router(&sb))`. No auth: the sandbox is local.
//!
//! | route | body | does |
//! |---|---|---|
//! | `GET /view` | | [`super::LlmView`]: settings, queues, prompt maximum, requests |
//! | `GET /requests` | | every chat request ([`super::RequestRecord`]) |
//! | `GET /requests/last` | | the newest one (404 when none) |
//! | `GET /contains?needle=…` | | `{"found": bool}`: [`super::LlmSandbox::contains_anywhere`] |
//! | `POST /next_answer` | `{"text"}` | queue a canned answer |
//! | `POST /fail_next` | `{"status","body"?}` | the next request gets that status (`body` a string) |
//! | `POST /break_next` | `{"after_chunks"}` | the next answer's connection drops mid-way |
//! | `POST /stall_next` | `{"after_chunks","stall_ms"?}` | the next answer goes silent (for ever without `stall_ms`) |
//! | `POST /settings` | `{"chunk_chars"?,"chunk_delay_ms"?,"rate_limit"?,"context_window"?}` | change settings; `rate_limit` is `{"requests","window_ms"}` or `null` to lift it |
//! | `POST /reset` | | forget requests, queues, windows, the prompt maximum |
//!
//! Answers 200 with `{"ok": true}` (or the data asked for); 400 for a body that does not fit.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{LlmSandbox, RateLimit};

/// The control routes (see the module docs).
pub fn router(sb: &LlmSandbox) -> Router {
    Router::new()
        .route("/view", get(|State(sb): State<LlmSandbox>| async move { Json(sb.view()) }))
        .route("/requests", get(|State(sb): State<LlmSandbox>| async move { Json(sb.requests()) }))
        .route("/requests/last", get(last))
        .route("/contains", get(contains))
        .route("/next_answer", post(next_answer))
        .route("/fail_next", post(fail_next))
        .route("/break_next", post(break_next))
        .route("/stall_next", post(stall_next))
        .route("/settings", post(settings))
        .route(
            "/reset",
            post(|State(sb): State<LlmSandbox>| async move {
                sb.reset();
                ok()
            }),
        )
        .with_state(sb.clone())
}

fn ok() -> Json<Value> {
    Json(json!({"ok": true}))
}

async fn last(State(sb): State<LlmSandbox>) -> Response {
    match sb.last_request() {
        Some(r) => Json(r).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no request yet"}))).into_response(),
    }
}

#[derive(Deserialize)]
struct Needle {
    needle: String,
}

async fn contains(State(sb): State<LlmSandbox>, Query(q): Query<Needle>) -> Json<Value> {
    Json(json!({"found": sb.contains_anywhere(&q.needle)}))
}

#[derive(Deserialize)]
struct Text {
    text: String,
}

async fn next_answer(State(sb): State<LlmSandbox>, Json(b): Json<Text>) -> Json<Value> {
    sb.set_next_answer(&b.text);
    ok()
}

#[derive(Deserialize)]
struct FailNext {
    status: u16,
    body: Option<String>,
}

async fn fail_next(State(sb): State<LlmSandbox>, Json(b): Json<FailNext>) -> Response {
    if !(100..=599).contains(&b.status) {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "status must be 100..=599"}))).into_response();
    }
    sb.fail_next(b.status, b.body.as_deref());
    ok().into_response()
}

#[derive(Deserialize)]
struct After {
    after_chunks: usize,
    stall_ms: Option<u64>,
}

async fn break_next(State(sb): State<LlmSandbox>, Json(b): Json<After>) -> Json<Value> {
    sb.break_next_stream(b.after_chunks);
    ok()
}

async fn stall_next(State(sb): State<LlmSandbox>, Json(b): Json<After>) -> Json<Value> {
    sb.stall_next_stream(b.after_chunks, b.stall_ms.map(Duration::from_millis));
    ok()
}

#[derive(Deserialize)]
struct Limit {
    requests: u32,
    window_ms: u64,
}

#[derive(Deserialize)]
struct Settings {
    chunk_chars: Option<usize>,
    chunk_delay_ms: Option<u64>,
    /// Absent: unchanged; `null`: lifted.
    #[serde(default, deserialize_with = "present")]
    rate_limit: Option<Option<Limit>>,
    #[serde(default, deserialize_with = "present")]
    context_window: Option<Option<u32>>,
}

/// Tells an explicit `null` (Some(None)) from an absent field (None).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

async fn settings(State(sb): State<LlmSandbox>, Json(b): Json<Settings>) -> Json<Value> {
    if let Some(c) = b.chunk_chars {
        sb.set_chunk_chars(c);
    }
    if let Some(ms) = b.chunk_delay_ms {
        sb.set_chunk_delay(Duration::from_millis(ms));
    }
    if let Some(rl) = b.rate_limit {
        sb.set_rate_limit(rl.map(|l| RateLimit { requests: l.requests, window: Duration::from_millis(l.window_ms) }));
    }
    if let Some(w) = b.context_window {
        sb.set_context_window(w);
    }
    Json(
        serde_json::to_value(sb.view())
            .map(|mut v| {
                v.as_object_mut().map(|o| o.remove("requests"));
                v
            })
            .unwrap_or_default(),
    )
}
