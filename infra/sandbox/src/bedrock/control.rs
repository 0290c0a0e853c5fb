//! Driving the Bedrock sandbox over HTTP (tests in other processes, the local stack). Nested at
//! `/control` by [`super::router`]. No auth: the sandbox is local.
//!
//! | route | body | does |
//! |---|---|---|
//! | `GET /requests` | | every request ([`super::BedrockRecord`]) |
//! | `GET /requests/last` | | the newest one (404 when none) |
//! | `POST /next_answer` | `{"text"}` | queue a canned answer |
//! | `POST /throttle_next` | | the next call gets 429 `ThrottlingException` |
//! | `POST /fail_next` | `{"error_type","message"?}` | the next call gets that error, with Bedrock's status for it |
//! | `POST /break_next` | `{"after_deltas"}` | the next answer's connection drops mid-way |
//! | `POST /exception_next` | `{"after_deltas","exception_type","message"?}` | an exception frame mid-way |
//! | `POST /stall_next` | `{"after_deltas","stall_ms"?}` | silence mid-way (for ever without `stall_ms`) |
//! | `POST /settings` | `{"chunk_chars"?,"chunk_delay_ms"?}` | slow or fine-grained chunks |
//! | `POST /reset` | | forget requests, answers, faults |

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::BedrockSandbox;

pub fn router(sb: &BedrockSandbox) -> Router {
    Router::new()
        .route("/requests", get(|State(sb): State<BedrockSandbox>| async move { Json(sb.requests()) }))
        .route("/requests/last", get(last))
        .route("/next_answer", post(next_answer))
        .route(
            "/throttle_next",
            post(|State(sb): State<BedrockSandbox>| async move {
                sb.throttle_next();
                ok()
            }),
        )
        .route("/fail_next", post(fail_next))
        .route(
            "/break_next",
            post(|State(sb): State<BedrockSandbox>, Json(b): Json<After>| async move {
                sb.break_next_stream(b.after_deltas);
                ok()
            }),
        )
        .route("/exception_next", post(exception_next))
        .route("/stall_next", post(stall_next))
        .route("/settings", post(settings))
        .route(
            "/reset",
            post(|State(sb): State<BedrockSandbox>| async move {
                sb.reset();
                ok()
            }),
        )
        .with_state(sb.clone())
}

fn ok() -> Json<Value> {
    Json(json!({"ok": true}))
}

async fn last(State(sb): State<BedrockSandbox>) -> Response {
    match sb.last_request() {
        Some(r) => Json(r).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no request yet"}))).into_response(),
    }
}

#[derive(Deserialize)]
struct Text {
    text: String,
}

async fn next_answer(State(sb): State<BedrockSandbox>, Json(b): Json<Text>) -> Json<Value> {
    sb.set_next_answer(&b.text);
    ok()
}

#[derive(Deserialize)]
struct Fail {
    error_type: String,
    message: Option<String>,
}

async fn fail_next(State(sb): State<BedrockSandbox>, Json(b): Json<Fail>) -> Json<Value> {
    sb.fail_next(&b.error_type, b.message.as_deref().unwrap_or("sandbox fault"));
    ok()
}

#[derive(Deserialize)]
struct After {
    after_deltas: usize,
    stall_ms: Option<u64>,
    exception_type: Option<String>,
    message: Option<String>,
}

async fn exception_next(State(sb): State<BedrockSandbox>, Json(b): Json<After>) -> Response {
    let Some(kind) = b.exception_type else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "exception_type is required (e.g. modelStreamErrorException)"}))).into_response();
    };
    sb.exception_next_stream(b.after_deltas, &kind, b.message.as_deref().unwrap_or("sandbox fault"));
    ok().into_response()
}

async fn stall_next(State(sb): State<BedrockSandbox>, Json(b): Json<After>) -> Json<Value> {
    sb.stall_next_stream(b.after_deltas, b.stall_ms.map(Duration::from_millis));
    ok()
}

#[derive(Deserialize)]
struct Settings {
    chunk_chars: Option<usize>,
    chunk_delay_ms: Option<u64>,
}

async fn settings(State(sb): State<BedrockSandbox>, Json(b): Json<Settings>) -> Json<Value> {
    if let Some(c) = b.chunk_chars {
        sb.set_chunk_chars(c);
    }
    if let Some(ms) = b.chunk_delay_ms {
        sb.set_chunk_delay(Duration::from_millis(ms));
    }
    ok()
}
