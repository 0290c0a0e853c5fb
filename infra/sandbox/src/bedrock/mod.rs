//! Bedrock sandbox: Amazon Bedrock Runtime's `ConverseStream` over its real wire protocol, so
//! the Bedrock adapter's tests (and the local stack) run the AWS SDK itself over HTTP, with no
//! account.
//!
//! Sources: the Bedrock API reference (docs.aws.amazon.com/bedrock/latest/APIReference/
//! API_runtime_ConverseStream.html: the route, the request and event shapes, the errors and
//! their HTTP statuses), the SDK that calls it (aws-sdk-bedrockruntime 1.153.0: the request
//! serializer `src/protocol_serde/shape_converse_stream_input.rs`, the event unmarshaller
//! `src/event_stream_serde.rs`, the error reader `src/json_errors.rs`), the team's notes
//! (`shared/reference/ai.md`, "Model APIs") and the event-stream framing ([`frame`]). What
//! none of them settles is marked UNCERTAIN, once.
//!
//! | route | does |
//! |---|---|
//! | `POST /model/{modelId}/converse-stream` | the answer as `application/vnd.amazon.eventstream` |
//! | `/control/…` | knobs (throttle, faults, slow chunks) and the recording ([`control`]) |
//!
//! Checks, in order: SigV4 `Authorization` shape, service `bedrock` (403, [`sigv4`]) → body
//! (400 `ValidationException`, [`wire`]) → model id (400 `ValidationException` "The provided model
//! identifier is invalid." for an unknown one; 403 `AccessDeniedException` for one listed in
//! [`BedrockConfig::denied_models`]) → an armed [`Fault`] → the answer. HTTP errors carry
//! `x-amzn-ErrorType` and `{"message"}`, as restJson1 services do.
//!
//! The answer is the LLM sandbox's ([`crate::llm::answer`]: an echo line quoting the incident and
//! the question, or post-mortem JSON), made from `system` and `messages`, streamed as
//! `messageStart`, `contentBlockDelta`×n, `contentBlockStop`, `messageStop{stopReason}`,
//! `metadata{usage, metrics}`. Tokens are the LLM sandbox's count (bytes ÷ 4).

pub mod control;
pub mod frame;
mod handler;
mod sandbox;
pub mod sigv4;
pub mod wire;

use std::time::Duration;

use axum::routing::post;
use axum::Router;
use serde::Serialize;

pub use sandbox::{BedrockRecord, BedrockSandbox};

/// A model id the default configuration answers (and what the local stack is pointed at).
pub const DEFAULT_MODEL_ID: &str = "anthropic.claude-3-haiku-20240307-v1:0";

/// How the sandbox behaves; every field can be changed later through [`BedrockSandbox`].
#[derive(Clone, Debug, Serialize)]
pub struct BedrockConfig {
    /// Model ids (or inference-profile ids / ARNs) answered.
    pub models: Vec<String>,
    /// Model ids the caller has no access to: 403 `AccessDeniedException`.
    pub denied_models: Vec<String>,
    /// Characters of answer per `contentBlockDelta` (at least 1).
    pub chunk_chars: usize,
    /// Pause before each delta after the first (a slow model).
    pub chunk_delay: Duration,
}

impl Default for BedrockConfig {
    fn default() -> Self {
        BedrockConfig {
            models: [DEFAULT_MODEL_ID, "anthropic.claude-3-5-sonnet-20240620-v1:0", "amazon.nova-lite-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0"]
                .iter()
                .map(|m| m.to_string())
                .collect(),
            denied_models: vec!["anthropic.claude-3-opus-20240229-v1:0".to_string()],
            chunk_chars: 12,
            chunk_delay: Duration::ZERO,
        }
    }
}

/// A fault armed for the next request that passes the signature, body and model checks
/// (FIFO, one per request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// An HTTP error before the stream: `status`, `x-amzn-ErrorType: error_type`, `{"message"}`.
    Http { status: u16, error_type: String, message: String },
    /// After `after_deltas` deltas, an exception frame (`:message-type: exception`,
    /// `:exception-type: exception_type`, e.g. `throttlingException`), then the end.
    Exception { after_deltas: usize, exception_type: String, message: String },
    /// After `after_deltas` deltas, the connection drops (no `messageStop`, no end of body).
    Break { after_deltas: usize },
    /// After `after_deltas` deltas, silence for `stall_for` (for ever when `None`).
    Stall { after_deltas: usize, stall_for: Option<Duration> },
}

/// Bedrock's HTTP status for each error type (API_runtime_ConverseStream.html, "Errors").
pub fn status_of(error_type: &str) -> u16 {
    match error_type {
        "AccessDeniedException" => 403,
        "ResourceNotFoundException" => 404,
        "ModelTimeoutException" => 408,
        "ModelErrorException" | "ModelStreamErrorException" => 424,
        "ThrottlingException" | "ModelNotReadyException" => 429,
        "InternalServerException" => 500,
        "ServiceUnavailableException" => 503,
        _ => 400,
    }
}

/// The HTTP surface (see the module docs). Path parameters are matched after percent-decoding,
/// so `anthropic.claude-3-haiku-20240307-v1%3A0` and an ARN with `%2F` reach the same route.
pub fn router(sb: &BedrockSandbox) -> Router {
    Router::new().route("/model/{model_id}/converse-stream", post(handler::converse_stream)).with_state(sb.clone()).nest("/control", control::router(sb))
}
