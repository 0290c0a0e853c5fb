//! The `ChatModel` port: what the AI assistant (streamed answers in war rooms) and the
//! AI post-mortem need from a large language model. The OpenAI-compatible adapter lives in
//! `warroom-ai`, beside the Bedrock one. Streaming is a pull interface ([`ModelStream::next`])
//! so the domain needs no futures crate: the caller decides how often to push text to the
//! IM (each platform has its own edit cadence and rate limits).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Who said a turn of the conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions: the assistant's job and the incident's facts.
    System,
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatTurn {
    pub role: Role,
    pub content: String,
}

impl ChatTurn {
    pub fn system(content: impl Into<String>) -> Self {
        Self { role: Role::System, content: content.into() }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: Role::User, content: content.into() }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self { role: Role::Assistant, content: content.into() }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<ChatTurn>,
    /// A hard cap on the answer, so one question cannot run up the bill.
    pub max_output_tokens: u32,
    /// `None`: the model's default (some reasoning models accept no other value).
    pub temperature: Option<f32>,
}

/// Tokens one request used, as the provider counted them (for cost and quota reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input: u32,
    pub output: u32,
}

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinishReason {
    /// A natural end of the answer.
    Stop,
    /// `max_output_tokens` was reached: the answer is cut (say so in the war room).
    Length,
    /// Anything else the provider reports (a content filter, …), as it named it.
    Other(String),
}

/// One step of a streamed answer. A stream yields any number of `Delta`s, at most one
/// `Usage` (providers send it at the end, and only when asked), then exactly one
/// `Finished`, which is the last event: `next` returns `None` after it. A stream that
/// cannot reach `Finished` yields an error instead (usually [`ModelError::StreamBroken`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelEvent {
    /// More text of the answer, in order; never empty.
    Delta(String),
    Usage(TokenUsage),
    Finished {
        reason: FinishReason,
    },
}

/// Which model answers, for logs and the admin page. Never holds a key or a URL with a query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// `openai-compatible`, `azure-openai`, `bedrock`.
    pub provider: String,
    /// The model (or Azure deployment) name.
    pub model: String,
}

/// A whole answer, for callers that do not stream (the post-mortem draft).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    /// `None` where the provider did not report it.
    pub usage: Option<TokenUsage>,
    pub finish: FinishReason,
}

/// Everything a failed model call can mean to the caller. Messages never contain the API
/// key (adapters scrub what the provider echoes back) nor a URL's query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Slow down: honoured by deferring, never by sleeping in a handler.
    #[error("the model provider is rate limiting us; retry after {retry_after:?}")]
    RateLimited { retry_after: Option<Duration> },
    /// A 5xx, a timeout, a refused connection: try again later.
    #[error("the model provider is unavailable: {0}")]
    Unavailable(String),
    /// The key is wrong, revoked or lacks access: retrying will not help; tell the admin.
    #[error("the model provider refused our credentials: {0}")]
    Unauthorized(String),
    /// The provider refused the request itself (too long a prompt, a bad parameter).
    #[error("the model provider refused the request: {0}")]
    BadRequest(String),
    /// The model (or Azure deployment) does not exist at that endpoint: a settings error.
    #[error("the model was not found: {0}")]
    ModelNotFound(String),
    /// The answer stopped midway (the connection dropped, nothing arrived for too long).
    #[error("the model's answer stream broke off: {0}")]
    StreamBroken(String),
    /// No model is configured for this tenant/deployment: the AI features are off.
    #[error("no model is configured")]
    NotConfigured,
}

impl ModelError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ModelError::RateLimited { .. } | ModelError::Unavailable(_) | ModelError::StreamBroken(_))
    }
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ModelError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// A streamed answer, pulled one event at a time. Dropping it abandons the answer (the
/// adapter closes the connection).
#[async_trait]
pub trait ModelStream: Send {
    /// The next event; `None` once `Finished` (or an error) has been returned.
    async fn next(&mut self) -> Option<Result<ModelEvent, ModelError>>;
}

#[async_trait]
pub trait ChatModel: Send + Sync {
    /// Provider and model, for logs; no secrets.
    fn describe(&self) -> ModelInfo;
    /// Starts an answer. Errors the provider returns before the first byte of the answer
    /// (bad key, rate limit, unknown model) come back here, not from the stream.
    async fn stream(&self, request: &ChatRequest) -> Result<Box<dyn ModelStream>, ModelError>;
    /// The whole answer at once (see [`drain`]).
    async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError> {
        let mut stream = self.stream(request).await?;
        drain(stream.as_mut()).await
    }
}

/// Reads `stream` to its end into one [`Completion`]. A stream that ends without
/// `Finished` is [`ModelError::StreamBroken`]: a half answer is not passed off as whole.
pub async fn drain(stream: &mut (dyn ModelStream + '_)) -> Result<Completion, ModelError> {
    let (mut text, mut usage) = (String::new(), None);
    while let Some(event) = stream.next().await {
        match event? {
            ModelEvent::Delta(piece) => text.push_str(&piece),
            ModelEvent::Usage(u) => usage = Some(u),
            ModelEvent::Finished { reason } => return Ok(Completion { text, usage, finish: reason }),
        }
    }
    Err(ModelError::StreamBroken("the answer ended without a finish reason".into()))
}

/// Which model the AI features use, and how to reach it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelProvider {
    /// OpenAI's Chat Completions API, or anything that speaks it (Azure OpenAI, DeepSeek,
    /// Qwen's compatible mode, Ollama, vLLM, llama.cpp's `llama-server`).
    #[serde(rename = "openai_compatible")]
    OpenAiCompatible {
        /// Up to and including the version segment: `https://api.openai.com/v1`,
        /// `http://ollama:11434/v1`. For Azure, the resource endpoint
        /// (`https://NAME.openai.azure.com`), and `model` is the deployment.
        base_url: String,
        model: String,
        /// The opened key (it is sealed at rest elsewhere); `None` for local servers.
        /// `Debug` prints `[redacted]`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_key: Option<String>,
        /// Set for Azure OpenAI: its `api-version` query parameter (e.g. `2024-10-21`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        azure_api_version: Option<String>,
    },
    /// Amazon Bedrock (Converse API), with the function's IAM role: no key.
    Bedrock {
        model_id: String,
        /// `None`: the function's own region.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<String>,
        /// Tests and sandboxes only (`WARROOM_BEDROCK_ENDPOINT_URL`); `None`: AWS's endpoint
        /// for the region. Never taken from a tenant.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint_url: Option<String>,
    },
}

impl fmt::Debug for ModelProvider {
    // By hand: a derived Debug would print the key into every log line that shows settings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelProvider::OpenAiCompatible { base_url, model, api_key, azure_api_version } => f
                .debug_struct("OpenAiCompatible")
                .field("base_url", base_url)
                .field("model", model)
                .field("api_key", &api_key.as_ref().map(|_| "[redacted]"))
                .field("azure_api_version", azure_api_version)
                .finish(),
            ModelProvider::Bedrock { model_id, region, endpoint_url } => {
                f.debug_struct("Bedrock").field("model_id", model_id).field("region", region).field("endpoint_url", endpoint_url).finish()
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSettings {
    pub provider: ModelProvider,
    /// The cap every request gets unless the caller asks for less.
    pub max_output_tokens: u32,
}

/// The model a tenant's assistant uses: the tenant's own settings (sealed key opened by the
/// adapter), else the deployment's default; `Ok(None)` when neither is set, so the
/// assistant can say how to configure one instead of staying silent.
pub trait ModelFactory: Send + Sync {
    fn for_tenant(&self, tenant: &crate::tenant::Tenant) -> Result<Option<std::sync::Arc<dyn ChatModel>>, ModelError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted stream: yields the events given, then `None`.
    struct Scripted(std::collections::VecDeque<Result<ModelEvent, ModelError>>);

    #[async_trait]
    impl ModelStream for Scripted {
        async fn next(&mut self) -> Option<Result<ModelEvent, ModelError>> {
            self.0.pop_front()
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        // The futures here never wait on anything, so one poll with a no-op waker ends them.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut future = std::pin::pin!(future);
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("the scripted stream never waits"),
        }
    }

    fn scripted(events: Vec<Result<ModelEvent, ModelError>>) -> Scripted {
        Scripted(events.into())
    }

    #[test]
    fn draining_a_stream_joins_the_text_and_keeps_usage_and_the_finish_reason() {
        let mut stream = scripted(vec![
            Ok(ModelEvent::Delta("The database ".into())),
            Ok(ModelEvent::Delta("failed over.".into())),
            Ok(ModelEvent::Usage(TokenUsage { input: 120, output: 7 })),
            Ok(ModelEvent::Finished { reason: FinishReason::Length }),
        ]);
        let done = block_on(drain(&mut stream)).unwrap();
        assert_eq!(
            done,
            Completion { text: "The database failed over.".into(), usage: Some(TokenUsage { input: 120, output: 7 }), finish: FinishReason::Length }
        );
    }

    #[test]
    fn a_stream_that_ends_without_finishing_is_a_broken_stream_not_a_short_answer() {
        let mut stream = scripted(vec![Ok(ModelEvent::Delta("half an ans".into()))]);
        let err = block_on(drain(&mut stream)).unwrap_err();
        assert!(matches!(err, ModelError::StreamBroken(_)), "{err:?}");
        assert!(err.is_retryable());
    }

    #[test]
    fn the_first_error_of_a_stream_ends_the_drain() {
        let mut stream = scripted(vec![Ok(ModelEvent::Delta("a".into())), Err(ModelError::Unavailable("503".into())), Ok(ModelEvent::Delta("b".into()))]);
        assert_eq!(block_on(drain(&mut stream)), Err(ModelError::Unavailable("503".into())));
    }

    #[test]
    fn rate_limits_outages_and_broken_streams_are_retryable_and_the_rest_are_not() {
        let wait = Duration::from_secs(20);
        assert!(ModelError::RateLimited { retry_after: Some(wait) }.is_retryable());
        assert_eq!(ModelError::RateLimited { retry_after: Some(wait) }.retry_after(), Some(wait));
        assert_eq!(ModelError::RateLimited { retry_after: None }.retry_after(), None);
        assert!(ModelError::Unavailable("x".into()).is_retryable());
        assert!(ModelError::StreamBroken("x".into()).is_retryable());
        for permanent in
            [ModelError::Unauthorized("x".into()), ModelError::BadRequest("x".into()), ModelError::ModelNotFound("x".into()), ModelError::NotConfigured]
        {
            assert!(!permanent.is_retryable(), "{permanent:?}");
            assert_eq!(permanent.retry_after(), None);
        }
    }

    fn openai_settings() -> ModelSettings {
        ModelSettings {
            provider: ModelProvider::OpenAiCompatible {
                base_url: "https://api.openai.com/v1".into(),
                model: "gpt-4o-mini".into(),
                api_key: Some("sk-very-secret-123".into()),
                azure_api_version: None,
            },
            max_output_tokens: 800,
        }
    }

    #[test]
    fn debug_output_of_the_settings_never_shows_the_key() {
        let shown = format!("{:?} {:#?}", openai_settings(), openai_settings().provider);
        assert!(!shown.contains("sk-very-secret-123"), "{shown}");
        assert!(shown.contains("[redacted]") && shown.contains("gpt-4o-mini"), "{shown}");
    }

    #[test]
    fn settings_round_trip_through_json_with_a_kind_tag() {
        let json = serde_json::to_value(openai_settings()).unwrap();
        assert_eq!(json["provider"]["kind"], "openai_compatible");
        assert_eq!(serde_json::from_value::<ModelSettings>(json).unwrap(), openai_settings());
        let bedrock: ModelSettings =
            serde_json::from_str(r#"{"provider":{"kind":"bedrock","model_id":"anthropic.claude-3-haiku-20240307-v1:0"},"max_output_tokens":500}"#).unwrap();
        assert_eq!(bedrock.provider, ModelProvider::Bedrock { model_id: "anthropic.claude-3-haiku-20240307-v1:0".into(), region: None, endpoint_url: None });
        let local: ModelSettings =
            serde_json::from_str(r#"{"provider":{"kind":"openai_compatible","base_url":"http://ollama:11434/v1","model":"qwen2.5"},"max_output_tokens":500}"#)
                .unwrap();
        assert!(matches!(local.provider, ModelProvider::OpenAiCompatible { api_key: None, azure_api_version: None, .. }));
    }
}
