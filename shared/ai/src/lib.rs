//! Model adapters for the AI assistant (streamed answers in war rooms) and the AI
//! post-mortem: implementations of `warroom_core::ChatModel`.
//!
//! - [`OpenAiCompatible`]: OpenAI's Chat Completions API and everything that speaks it —
//!   Azure OpenAI, DeepSeek, Qwen (DashScope compatible mode), Ollama, vLLM, llama.cpp —
//!   streamed over server-sent events ([`sse`]).
//! - Bedrock: not built yet (the AWS SDK for it is large); [`build`] refuses it clearly.
//!
//! The adapter never retries: errors say whether they are retryable and for how long to
//! wait, and the caller (a queued job) defers. It never logs or returns the key, nor a
//! URL's query: logs and errors name the endpoint by host and path only.

mod deployment;
mod errors;
mod openai;
pub mod sse;
mod stream;
mod tenant;

pub use deployment::{settings_from_lookup, DeploymentModels, DEFAULT_MAX_TOKENS};
pub use errors::MAX_RETRY_AFTER;
pub use openai::{OpenAiCompatible, Timeouts};
pub use stream::ChunkDecoder;
pub use tenant::{KeyOpener, TenantModels, UrlCheck};

use std::sync::Arc;
use warroom_core::{ChatModel, ModelError, ModelProvider, ModelSettings};

/// The model `settings` describe, over `http` (see [`OpenAiCompatible::new`] for how to
/// build the client).
pub fn build(settings: &ModelSettings, http: reqwest::Client) -> Result<Arc<dyn ChatModel>, ModelError> {
    match &settings.provider {
        ModelProvider::OpenAiCompatible { .. } => Ok(Arc::new(OpenAiCompatible::new(settings, http)?)),
        // NOT BUILT YET: Bedrock needs aws-sdk-bedrockruntime (ConverseStream), a large
        // dependency left out of this first cut. Saying so beats a vague "not configured".
        ModelProvider::Bedrock { .. } => Err(ModelError::BadRequest("Bedrock is not built into this deployment yet".into())),
    }
}
