//! `POST /model/{modelId}/converse-stream`: the checks, then the answer as event-stream frames.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::mpsc;

use super::frame;
use super::sandbox::BedrockRecord;
use super::wire::{self, padding};
use super::{sigv4, BedrockSandbox, Fault};
use crate::llm::answer;

/// Headers never recorded: they carry credentials (the session token with temporary ones).
const SECRET_HEADERS: &[&str] = &["authorization", "x-amz-security-token", "cookie"];

/// How long a broken stream waits before failing the body, so hyper writes the frames before
/// it out first (an error at once would discard them; see `llm/stream.rs`).
const BREAK_GRACE: Duration = Duration::from_millis(50);

/// A restJson1 error: the status, `x-amzn-ErrorType` and `{"message"}`. The header carries
/// the `:http://internal.amazon.com/coral/…` suffix Bedrock adds (the SDK strips it,
/// `sanitize_error_code` in `src/json_errors.rs`). UNCERTAIN: the suffix's exact text.
fn error(status: u16, error_type: &str, message: &str) -> Response {
    let mut response = (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), axum::Json(json!({ "message": message }))).into_response();
    let value = format!("{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/");
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert("x-amzn-errortype", v);
    }
    response.headers_mut().insert("x-amzn-requestid", HeaderValue::from_static("00000000-0000-4000-8000-00000000b3d0"));
    response
}

pub(crate) async fn converse_stream(State(sb): State<BedrockSandbox>, Path(model_id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let recorded: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| !SECRET_HEADERS.contains(&n.as_str()))
        .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let mut record = BedrockRecord {
        seq: 0,
        model_id: model_id.clone(),
        scope: None,
        headers: recorded,
        request: None,
        status: 200,
        error: None,
        answer: String::new(),
        stop_reason: None,
    };
    let refuse = |record: &mut BedrockRecord, status: u16, kind: &str, message: &str| {
        record.status = status;
        record.error = Some(kind.to_string());
        sb.record(record.clone());
        error(status, kind, message)
    };
    match sigv4::check(&headers) {
        Ok(scope) => record.scope = Some(scope),
        Err(e) => return refuse(&mut record, 403, e.kind, &e.message),
    }
    let request = match wire::parse(&body) {
        Ok(r) => r,
        Err(message) => return refuse(&mut record, 400, "ValidationException", &message),
    };
    record.request = Some(request.clone());
    let (known, denied) = {
        let st = sb.lock();
        (st.config.models.contains(&model_id), st.config.denied_models.contains(&model_id))
    };
    if denied {
        return refuse(&mut record, 403, "AccessDeniedException", "You don't have access to the model with the specified model ID.");
    }
    if !known {
        return refuse(&mut record, 400, "ValidationException", "The provided model identifier is invalid.");
    }
    let (fault, canned, chunk_chars, delay) = {
        let mut st = sb.lock();
        let fault = st.faults.pop_front();
        let canned = if matches!(fault, Some(Fault::Http { .. })) { None } else { st.next_answers.pop_front() };
        (fault, canned, st.config.chunk_chars.max(1), st.config.chunk_delay)
    };
    if let Some(Fault::Http { status, error_type, message }) = &fault {
        return refuse(&mut record, *status, error_type, message);
    }
    let chat = request.as_chat();
    let full = canned.unwrap_or_else(|| answer::compose(&chat));
    let (text, cut) = answer::truncate_to_tokens(&full, request.max_tokens);
    let chunks: Vec<String> = text.chars().collect::<Vec<_>>().chunks(chunk_chars).map(|c| c.iter().collect()).collect();
    let stop_reason = if cut { "max_tokens" } else { "end_turn" };
    let usage = (answer::prompt_tokens(&chat), answer::count_tokens(&text));
    let seq = sb.record(record);

    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(play(sb, seq, Play { chunks, stop_reason, usage, delay, fault }, tx));
    let mut response = Response::new(Body::new(ChannelBody(rx)));
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/vnd.amazon.eventstream"));
    response.headers_mut().insert("x-amzn-requestid", HeaderValue::from_static("00000000-0000-4000-8000-00000000b3d0"));
    response
}

struct Play {
    chunks: Vec<String>,
    stop_reason: &'static str,
    usage: (u32, u32),
    delay: Duration,
    fault: Option<Fault>,
}

type Frame = Result<Bytes, std::io::Error>;

/// Sends the frames, applying the fault; records what went out and how it ended. A send that
/// fails means the client went away.
async fn play(sb: BedrockSandbox, seq: u64, p: Play, tx: mpsc::Sender<Frame>) {
    let started = tokio::time::Instant::now();
    let send = |bytes: Vec<u8>| tx.send(Ok(Bytes::from(bytes)));
    if send(frame::event("messageStart", &json!({"role": "assistant", "p": padding(0)}))).await.is_err() {
        return;
    }
    for (i, chunk) in p.chunks.iter().enumerate() {
        match &p.fault {
            Some(Fault::Break { after_deltas }) if *after_deltas == i => {
                tokio::time::sleep(BREAK_GRACE).await;
                sb.update(seq, |r| r.error = Some("break".into()));
                let _ = tx.send(Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "bedrock sandbox: stream broken (fault)"))).await;
                return;
            }
            Some(Fault::Exception { after_deltas, exception_type, message }) if *after_deltas == i => {
                sb.update(seq, |r| r.error = Some(exception_type.clone()));
                let _ = send(frame::exception(exception_type, message)).await;
                return;
            }
            Some(Fault::Stall { after_deltas, stall_for }) if *after_deltas == i => {
                sb.update(seq, |r| r.error = Some("stall".into()));
                match stall_for {
                    Some(d) => tokio::time::sleep(*d).await,
                    None => return tx.closed().await,
                }
            }
            _ => {}
        }
        if i > 0 && !p.delay.is_zero() {
            tokio::time::sleep(p.delay).await;
        }
        let delta = json!({"contentBlockIndex": 0, "delta": {"text": chunk}, "p": padding(i + 1)});
        if send(frame::event("contentBlockDelta", &delta)).await.is_err() {
            return;
        }
        sb.update(seq, |r| r.answer.push_str(chunk));
    }
    let latency = started.elapsed().as_millis() as u64;
    let (input, output) = p.usage;
    let tail = [
        frame::event("contentBlockStop", &json!({"contentBlockIndex": 0, "p": padding(1)})),
        frame::event("messageStop", &json!({"stopReason": p.stop_reason, "p": padding(2)})),
        frame::event(
            "metadata",
            &json!({"usage": {"inputTokens": input, "outputTokens": output, "totalTokens": input + output}, "metrics": {"latencyMs": latency}, "p": padding(3)}),
        ),
    ];
    for bytes in tail {
        if send(bytes).await.is_err() {
            return;
        }
    }
    sb.update(seq, |r| r.stop_reason = Some(p.stop_reason.to_string()));
}

/// The response body: frames as `play` sends them; an `Err` makes hyper drop the connection.
struct ChannelBody(mpsc::Receiver<Frame>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|next| next.map(|r| r.map(http_body::Frame::data)))
    }
}
