//! Model adapters for the AI assistant (streamed answers in war rooms) and the AI
//! post-mortem: implementations of `warroom_core::ChatModel`.
//!
//! - [`OpenAiCompatible`]: OpenAI's Chat Completions API and everything that speaks it —
//!   Azure OpenAI, DeepSeek, Qwen (DashScope compatible mode), Ollama, vLLM, llama.cpp —
//!   streamed over server-sent events ([`sse`]).
//! - [`Bedrock`]: Amazon Bedrock's ConverseStream through the AWS SDK, with the function's
//!   IAM role ([`bedrock`]).
//!
//! The adapter never retries: errors say whether they are retryable and for how long to
//! wait, and the caller (a queued job) defers. It never logs or returns the key, nor a
//! URL's query: logs and errors name the endpoint by host and path only.

mod bedrock;
mod bedrock_errors;
mod bedrock_http;
mod deployment;
mod errors;
mod openai;
pub mod sse;
mod stream;
mod tenant;

pub use bedrock::Bedrock;
pub use bedrock_errors::THROTTLED_RETRY_AFTER;
pub use deployment::{settings_from_lookup, DeploymentModels, DEFAULT_MAX_TOKENS};
pub use errors::MAX_RETRY_AFTER;
pub use openai::{OpenAiCompatible, Timeouts};
pub use stream::ChunkDecoder;
pub use tenant::{KeyOpener, TenantModels, UrlCheck};

use std::sync::Arc;
use warroom_core::{ChatModel, ModelError, ModelProvider, ModelSettings};

/// The model `settings` describe, over `http` (see [`OpenAiCompatible::new`] for how to
/// build the client). Bedrock's credentials come from the SDK's default chain, at the first
/// answer.
pub fn build(settings: &ModelSettings, http: reqwest::Client) -> Result<Arc<dyn ChatModel>, ModelError> {
    match &settings.provider {
        ModelProvider::OpenAiCompatible { .. } => Ok(Arc::new(OpenAiCompatible::new(settings, http)?)),
        ModelProvider::Bedrock { .. } => Ok(Arc::new(Bedrock::new(settings, http)?)),
    }
}
