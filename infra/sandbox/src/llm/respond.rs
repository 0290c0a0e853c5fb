//! Turning a decision into an HTTP response: error JSON, the non-streaming answer, or the
//! server-sent-event stream (role chunk, content chunks, finish chunk, usage chunk, `[DONE]`).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::response::Response;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};

use super::handler::{raw, with_headers, Refusal};
use super::stream::{self, Cut, Schedule};
use super::wire::{self, Completion};
use super::{Fault, LlmSandbox};

/// A planned answer.
pub(crate) struct Plan {
    pub completion: Completion,
    pub content: String,
    pub finish_reason: &'static str,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub stream: bool,
    pub include_usage: bool,
    pub chunk_chars: usize,
    pub delay: std::time::Duration,
    /// A break or stall (status faults never get this far).
    pub fault: Option<Fault>,
    /// Rate-limit headers.
    pub headers: Vec<(String, String)>,
}

/// A new completion's identity: `chatcmpl-` + 24 random alphanumerics, now, the model.
pub(crate) fn completion(model: &str) -> Completion {
    let id = format!("chatcmpl-{}", Alphanumeric.sample_string(&mut rand::rng(), 24));
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    Completion { id, created, model: model.to_string() }
}

pub(crate) fn json(status: u16, body: &Value, headers: &[(String, String)]) -> Response {
    with_headers(raw(status, "application/json", Body::from(body.to_string())), headers)
}

pub(crate) fn refusal(r: &Refusal) -> Response {
    json(r.status, &r.body, &r.headers)
}

/// `fail_next(status, body)`: the given body, or OpenAI's error for that status.
pub(crate) fn fault_refusal(status: u16, body: Option<&str>) -> Refusal {
    if let Some(text) = body {
        let body = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()));
        return Refusal { status, body, headers: Vec::new(), code: format!("fault_{status}") };
    }
    let (message, kind, code) = match status {
        400 => ("Bad request (sandbox fault).", "invalid_request_error", None),
        401 => ("Incorrect API key provided.", "invalid_request_error", Some("invalid_api_key")),
        403 => ("You are not allowed to sample from this model.", "invalid_request_error", None),
        404 => ("The model does not exist or you do not have access to it.", "invalid_request_error", Some("model_not_found")),
        429 => ("Rate limit reached (sandbox fault). Please try again in 1s.", "requests", Some("rate_limit_exceeded")),
        503 => ("The engine is currently overloaded, please try again later.", "server_error", None),
        _ => ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    };
    let mut r = Refusal { status, body: wire::error_body(message, kind, None, code), headers: Vec::new(), code: format!("fault_{status}") };
    if status == 429 {
        r.headers.push(("retry-after".into(), "1".into()));
    }
    r
}

/// The answer's response: JSON or SSE, played by [`stream::body`] when it must be paced.
pub(crate) fn answer(sb: &LlmSandbox, seq: u64, plan: Plan) -> Response {
    let id_header = ("x-request-id".to_string(), format!("req_{}", Alphanumeric.sample_string(&mut rand::rng(), 16)));
    let mut headers = plan.headers.clone();
    headers.push(id_header);
    if plan.stream {
        headers.push(("cache-control".into(), "no-cache".into()));
        let (frames, content_chunks) = sse_frames(&plan);
        let cut = plan.fault.as_ref().map(|f| cut_at(f, 1 + content_chunks));
        let schedule = Schedule { frames, delay: plan.delay, cut };
        let body = stream::body(sb, seq, schedule);
        return with_headers(raw(200, "text/event-stream; charset=utf-8", body), &headers);
    }
    let text = wire::completion_body(&plan.completion, &plan.content, plan.finish_reason, plan.prompt_tokens, plan.completion_tokens).to_string();
    let Some(fault) = &plan.fault else {
        sb.finish(seq, "complete");
        return with_headers(raw(200, "application/json", Body::from(text)), &headers);
    };
    // Faults on a JSON answer: the body comes in two halves, the break/stall between them.
    let mut mid = text.len() / 2;
    while !text.is_char_boundary(mid) {
        mid -= 1;
    }
    let frames = vec![Bytes::from(text[..mid].to_string()), Bytes::from(text[mid..].to_string())];
    let cut = match fault {
        Fault::BreakStream { .. } => Some(Cut::Break { at: 1 }),
        Fault::StallStream { stall_for, .. } => Some(Cut::Stall { at: 0, stall_for: *stall_for }),
        Fault::Status { .. } => None,
    };
    let body = stream::body(sb, seq, Schedule { frames, delay: std::time::Duration::ZERO, cut });
    with_headers(raw(200, "application/json", body), &headers)
}

/// Where a break/stall fault cuts a stream whose frame 0 is the role chunk and frames
/// `1..=content` are content chunks: after `after_chunks` content chunks, at most all of them.
fn cut_at(fault: &Fault, last_content_end: usize) -> Cut {
    match *fault {
        Fault::BreakStream { after_chunks } => Cut::Break { at: (1 + after_chunks).min(last_content_end) },
        Fault::StallStream { after_chunks, stall_for } => Cut::Stall { at: (1 + after_chunks).min(last_content_end), stall_for },
        Fault::Status { .. } => Cut::Break { at: 0 },
    }
}

/// The SSE frames and how many content chunks they hold.
fn sse_frames(plan: &Plan) -> (Vec<Bytes>, usize) {
    let c = &plan.completion;
    let frame = |v: Value| Bytes::from(wire::sse(&v.to_string()));
    let mut frames = vec![frame(wire::chunk(c, json!({"role": "assistant", "content": ""}), None, plan.include_usage))];
    let chars: Vec<char> = plan.content.chars().collect();
    let pieces: Vec<String> = chars.chunks(plan.chunk_chars).map(|p| p.iter().collect()).collect();
    for piece in &pieces {
        frames.push(frame(wire::chunk(c, json!({"content": piece}), None, plan.include_usage)));
    }
    frames.push(frame(wire::chunk(c, json!({}), Some(plan.finish_reason), plan.include_usage)));
    if plan.include_usage {
        frames.push(frame(wire::usage_chunk(c, plan.prompt_tokens, plan.completion_tokens)));
    }
    frames.push(Bytes::from(wire::sse("[DONE]")));
    (frames, pieces.len())
}
