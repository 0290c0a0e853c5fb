//! LLM sandbox: a stateful emulator of an OpenAI-compatible Chat Completions server, so the AI
//! assistant's tests and the local stack get (streamed) answers over real HTTP with no account.
//!
//! Written from `shared/reference/ai.md` ("Model APIs") and the official openai-python SDK's
//! types (`src/openai/types/chat/chat_completion_chunk.py`, `…/chat_completion.py`,
//! `src/openai/lib/azure.py`), cited where a wire detail depends on them. Choices the sources
//! leave open are marked UNCERTAIN, each in one place.
//!
//! Surface ([`router`]; every path is matched by its *suffix*, so the router can be mounted under
//! any prefix — `/v1`, `/api/v1`, `/compatible-mode/v1`, …):
//!
//! | route | does |
//! |---|---|
//! | `POST …/chat/completions` | OpenAI shape, `Authorization: Bearer <key>` |
//! | `POST …/openai/deployments/{deployment}/chat/completions?api-version=…` | Azure OpenAI shape, `api-key` header ([`azure`]) |
//! | `GET …/models` | the configured models, OpenAI's list shape |
//! | `/control/…` | faults, canned answers, settings, the recording ([`control`]) |
//!
//! Checks, in order: (Azure: `api-version` present, else 404) → key (401 `invalid_api_key`) →
//! body (400, `error.param` names the field) → model / deployment (404 `model_not_found` /
//! `DeploymentNotFound`) → context window (400 `context_length_exceeded`) → per-key rate limit
//! (429, `Retry-After`) → an armed [`Fault`] → the answer. Every chat request is recorded.
//!
//! Answers are made from the request, deterministically ([`answer`] documents the exact format),
//! unless a canned answer was queued with [`LlmSandbox::set_next_answer`].

pub mod answer;
mod auth;
pub mod azure;
pub mod control;
mod handler;
mod ratelimit;
pub mod record;
mod respond;
mod sandbox;
mod stream;
pub mod wire;

use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};

pub use answer::{count_tokens, MARKER};
pub use record::{AuthRecord, LlmView, RequestRecord};
pub use sandbox::LlmSandbox;
pub use wire::{ChatMessage, RequestError};

/// The key accepted by [`LlmConfig::default`]: what the local stack's config points at.
pub const DEFAULT_API_KEY: &str = "sk-sandbox-local";
/// The model accepted by [`LlmConfig::default`] besides a few common names.
pub const DEFAULT_MODEL: &str = "sandbox-gpt";

/// How the sandbox behaves. Everything here can also be changed later (control methods/routes).
#[derive(Clone, Serialize, Deserialize)]
pub struct LlmConfig {
    /// Accepted API keys (Bearer for OpenAI, `api-key` for Azure). Never logged or recorded.
    #[serde(skip_serializing)]
    pub api_keys: Vec<String>,
    /// Model names answered; anything else is 404 `model_not_found`.
    pub models: Vec<String>,
    /// Azure deployments: (deployment name, model it runs). A configured model's name also works
    /// as a deployment name (what most Azure set-ups do).
    pub azure_deployments: Vec<(String, String)>,
    /// Per-key request limit (429 + `Retry-After` beyond it); `None` = unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Characters of answer per streamed `delta.content` chunk (at least 1).
    pub chunk_chars: usize,
    /// Pause before each streamed chunk after the first (a slow model).
    pub chunk_delay: Duration,
    /// Context window in tokens ([`count_tokens`]): prompt + `max_tokens` beyond it is 400
    /// `context_length_exceeded`, as OpenAI answers. `None` = unlimited.
    pub context_window: Option<u32>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            api_keys: vec![DEFAULT_API_KEY.to_string()],
            models: [DEFAULT_MODEL, "gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "deepseek-chat", "qwen-plus"].iter().map(|m| m.to_string()).collect(),
            azure_deployments: vec![("sandbox-deployment".to_string(), "gpt-4o-mini".to_string())],
            rate_limit: None,
            chunk_chars: 12,
            chunk_delay: Duration::ZERO,
            context_window: None,
        }
    }
}

impl std::fmt::Debug for LlmConfig {
    // No keys in logs: only how many there are.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("api_keys", &self.api_keys.len())
            .field("models", &self.models)
            .field("azure_deployments", &self.azure_deployments)
            .field("rate_limit", &self.rate_limit)
            .field("chunk_chars", &self.chunk_chars)
            .field("chunk_delay", &self.chunk_delay)
            .field("context_window", &self.context_window)
            .finish()
    }
}

/// At most `requests` per key in any sliding `window` (OpenAI's RPM is `window` = 60 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

/// A fault armed for the next chat request that passes auth, parsing, the model check and the
/// rate limit (so a 401 test does not consume it). FIFO: one fault per request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// Answer `status` with `body` (sent as JSON when it parses, text otherwise), or with
    /// OpenAI's error JSON for that status when `body` is `None` (500 → `server_error`).
    Status { status: u16, body: Option<String> },
    /// Send the role chunk and `after_chunks` content chunks, then drop the connection without
    /// the final chunk or `[DONE]` (non-streaming: half the JSON, then drop).
    BreakStream { after_chunks: usize },
    /// Send the role chunk and `after_chunks` content chunks, then go silent for `stall_for`
    /// and carry on; `None` = silent until the client gives up.
    StallStream { after_chunks: usize, stall_for: Option<Duration> },
}

/// The HTTP surface with the control routes nested at `/control`. Same as [`LlmSandbox::router`].
pub fn router(sb: &LlmSandbox) -> Router {
    Router::new().fallback(handler::dispatch).with_state(sb.clone()).nest("/control", control::router(sb))
}
