//! [`Bedrock`]: Amazon Bedrock's ConverseStream through the AWS SDK (aws-sdk-bedrockruntime
//! 1.153.0), with the function's IAM role: credentials come from the SDK's default chain
//! (on Lambda, the role's keys in the environment), never from settings.
//!
//! Request (API_runtime_ConverseStream.html, the SDK's `ConverseStreamFluentBuilder`): the
//! system turns go to `system`, the others to `messages` (role + text content blocks), the
//! cap and temperature to `inferenceConfig`. Bedrock refuses a conversation that does not
//! start with the user or does not alternate ("A conversation must alternate between user
//! and assistant roles", langchain-ai/langchain-aws#130), and the assistant sends the
//! incident's context and the question as two user turns: consecutive turns of one role
//! become one message with one content block each.
//!
//! Stream (ConverseStreamOutput): `contentBlockDelta.delta.text` → [`ModelEvent::Delta`];
//! `messageStop.stopReason` → the finish reason; `metadata.usage` → [`ModelEvent::Usage`].
//! Bedrock sends `metadata` *after* `messageStop`, and the port wants `Finished` last, so
//! `Finished` is emitted when the stream ends (or right after `metadata`). A stream that ends
//! before `messageStop` is [`ModelError::StreamBroken`].
//!
//! The SDK's own retries are off: like the OpenAI adapter, this one never retries; the caller
//! defers on a retryable error ([`crate::bedrock_errors`]).

use crate::bedrock_errors::{send_error, stream_error};
use crate::bedrock_http::http_client;
use crate::Timeouts;
use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{Region, StalledStreamProtectionConfig};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput as Event, InferenceConfiguration, Message, SystemContentBlock,
};
use aws_sdk_bedrockruntime::Client;
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;
use tokio::sync::OnceCell;
use warroom_core::{ChatModel, ChatRequest, FinishReason, ModelError, ModelEvent, ModelInfo, ModelProvider, ModelSettings, ModelStream, Role, TokenUsage};

/// The default chain's configuration, loaded once per process (the credentials it holds cache
/// and refresh themselves), over the first adapter's HTTP client: every client handed in is
/// built over the same TLS configuration.
static DEFAULT_CHAIN: OnceCell<SdkConfig> = OnceCell::const_new();

/// A model on Amazon Bedrock.
pub struct Bedrock {
    model_id: String,
    region: Option<String>,
    endpoint_url: Option<String>,
    default_max_tokens: u32,
    timeouts: Timeouts,
    http: reqwest::Client,
    /// Set by [`Bedrock::with_sdk_config`] (tests: static credentials); `None`: the default chain.
    given: Option<SdkConfig>,
    client: OnceCell<Client>,
}

impl fmt::Debug for Bedrock {
    // By hand: the SDK config holds the credentials provider.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bedrock")
            .field("model_id", &self.model_id)
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .finish_non_exhaustive()
    }
}

impl Bedrock {
    /// `http` as for [`crate::OpenAiCompatible::new`]: over the process's TLS configuration,
    /// a connect timeout, no overall timeout. Nothing is called until the first answer.
    pub fn new(settings: &ModelSettings, http: reqwest::Client) -> Result<Self, ModelError> {
        let ModelProvider::Bedrock { model_id, region, endpoint_url } = &settings.provider else {
            return Err(ModelError::BadRequest("these settings are not for a Bedrock model".into()));
        };
        let model_id = model_id.trim();
        if model_id.is_empty() {
            return Err(ModelError::BadRequest("no Bedrock model id in the settings".into()));
        }
        if let Some(url) = endpoint_url {
            let ok = reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                return Err(ModelError::BadRequest(format!("the Bedrock endpoint URL {url:?} is not an http(s) URL")));
            }
        }
        Ok(Bedrock {
            model_id: model_id.to_owned(),
            region: region.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned),
            endpoint_url: endpoint_url.clone(),
            default_max_tokens: settings.max_output_tokens,
            timeouts: Timeouts::default(),
            http,
            given: None,
            client: OnceCell::new(),
        })
    }

    /// Uses `config` (region, credentials) instead of the default chain; its HTTP client is
    /// still replaced by the streaming one over `http`.
    pub fn with_sdk_config(mut self, config: SdkConfig) -> Self {
        self.given = Some(config);
        self
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    async fn client(&self) -> Result<&Client, ModelError> {
        self.client
            .get_or_try_init(|| async {
                let base = match &self.given {
                    Some(config) => config,
                    None => {
                        DEFAULT_CHAIN.get_or_init(|| aws_config::defaults(BehaviorVersion::latest()).http_client(http_client(self.http.clone())).load()).await
                    }
                };
                let mut config = aws_sdk_bedrockruntime::config::Builder::from(base)
                    .http_client(http_client(self.http.clone()))
                    // The caller defers on retryable errors; SDK retries would sleep in a handler.
                    .retry_config(RetryConfig::disabled())
                    // Silence is bounded by `Timeouts` (a model may think for a while before its
                    // first token); the SDK's own stall check would cut such answers differently.
                    .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
                if let Some(region) = &self.region {
                    config = config.region(Region::new(region.clone()));
                }
                if let Some(url) = &self.endpoint_url {
                    config = config.endpoint_url(url);
                }
                let config = config.build();
                if config.region().is_none() {
                    return Err(ModelError::BadRequest("Bedrock: no AWS region (set WARROOM_BEDROCK_REGION, or AWS_REGION as Lambda does)".into()));
                }
                Ok(Client::from_conf(config))
            })
            .await
    }

    /// The cap, as the OpenAI adapter computes it: the request's, at most four times the
    /// settings' (a post-mortem is longer than an answer).
    fn cap(&self, request: &ChatRequest) -> i32 {
        let cap = if request.max_output_tokens == 0 {
            self.default_max_tokens
        } else {
            request.max_output_tokens.min(self.default_max_tokens.max(1).saturating_mul(4))
        };
        i32::try_from(cap.max(1)).unwrap_or(i32::MAX)
    }
}

/// `system` blocks and alternating `messages` (see the module docs).
pub(crate) fn conversation(request: &ChatRequest) -> Result<(Vec<SystemContentBlock>, Vec<Message>), ModelError> {
    let mut system = Vec::new();
    let mut turns: Vec<(ConversationRole, Vec<ContentBlock>)> = Vec::new();
    for turn in request.messages.iter().filter(|t| !t.content.trim().is_empty()) {
        let role = match turn.role {
            Role::System => {
                system.push(SystemContentBlock::Text(turn.content.clone()));
                continue;
            }
            Role::User => ConversationRole::User,
            Role::Assistant => ConversationRole::Assistant,
        };
        match turns.last_mut() {
            Some((last, blocks)) if *last == role => blocks.push(ContentBlock::Text(turn.content.clone())),
            _ => turns.push((role, vec![ContentBlock::Text(turn.content.clone())])),
        }
    }
    if turns.first().is_none_or(|(role, _)| *role != ConversationRole::User) {
        return Err(ModelError::BadRequest("a Bedrock conversation must start with a user turn".into()));
    }
    let messages = turns
        .into_iter()
        .map(|(role, content)| Message::builder().role(role).set_content(Some(content)).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ModelError::BadRequest(format!("Bedrock message: {e}")))?;
    Ok((system, messages))
}

#[async_trait]
impl ChatModel for Bedrock {
    fn describe(&self) -> ModelInfo {
        ModelInfo { provider: "bedrock".into(), model: self.model_id.clone() }
    }

    async fn stream(&self, request: &ChatRequest) -> Result<Box<dyn ModelStream>, ModelError> {
        let (system, messages) = conversation(request)?;
        let client = self.client().await?;
        let config = InferenceConfiguration::builder().max_tokens(self.cap(request)).set_temperature(request.temperature).build();
        let send = client
            .converse_stream()
            .model_id(&self.model_id)
            .set_system((!system.is_empty()).then_some(system))
            .set_messages(Some(messages))
            .inference_config(config)
            .send();
        tracing::debug!(model = %self.model_id, region = ?self.region, "bedrock request");
        let output = match tokio::time::timeout(self.timeouts.first_byte, send).await {
            Err(_) => return Err(ModelError::Unavailable(format!("Bedrock model {:?}: no answer within {:?}", self.model_id, self.timeouts.first_byte))),
            Ok(Err(e)) => {
                let error = send_error(e, &self.model_id);
                tracing::warn!(model = %self.model_id, error = %error, "bedrock request refused");
                return Err(error);
            }
            Ok(Ok(output)) => output,
        };
        Ok(Box::new(BedrockStream {
            events: Some(output.stream),
            idle: self.timeouts.idle,
            model: self.model_id.clone(),
            stop: None,
            pending: VecDeque::new(),
            done: false,
        }))
    }
}

type Receiver = aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver<Event, aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError>;

struct BedrockStream {
    /// `None` once ended: dropping the receiver closes the connection.
    events: Option<Receiver>,
    idle: Duration,
    model: String,
    /// `messageStop`'s reason, held until the stream ends.
    stop: Option<FinishReason>,
    pending: VecDeque<Result<ModelEvent, ModelError>>,
    done: bool,
}

/// Bedrock's stop reasons (the SDK's `StopReason`): `end_turn` and `stop_sequence` end the
/// answer naturally, `max_tokens` cuts it; the rest (`guardrail_intervened`,
/// `content_filtered`, `tool_use`, …) are passed on by name.
pub(crate) fn finish_reason(wire: &str) -> FinishReason {
    match wire {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" => FinishReason::Length,
        other => FinishReason::Other(other.to_owned()),
    }
}

impl BedrockStream {
    fn end(&mut self, last: Result<ModelEvent, ModelError>) {
        self.pending.push_back(last);
        self.done = true;
    }

    fn finish_or_break(&mut self, why: &str) {
        match self.stop.take() {
            Some(reason) => self.end(Ok(ModelEvent::Finished { reason })),
            None => {
                tracing::warn!(model = %self.model, reason = why, "bedrock stream broke off");
                self.end(Err(ModelError::StreamBroken(format!("Bedrock model {:?}: {why}", self.model))));
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::ContentBlockDelta(e) => {
                // Reasoning text, tool input and citations are not the answer.
                if let Some(ContentBlockDelta::Text(text)) = e.delta {
                    if !text.is_empty() {
                        self.pending.push_back(Ok(ModelEvent::Delta(text)));
                    }
                }
            }
            Event::MessageStop(e) => self.stop = Some(finish_reason(e.stop_reason.as_str())),
            Event::Metadata(e) => {
                if let Some(u) = e.usage {
                    let clamp = |n: i32| u32::try_from(n).unwrap_or(0);
                    self.pending.push_back(Ok(ModelEvent::Usage(TokenUsage { input: clamp(u.input_tokens), output: clamp(u.output_tokens) })));
                }
                // `metadata` is the stream's last event: finish now rather than wait for EOF.
                if let Some(reason) = self.stop.take() {
                    self.end(Ok(ModelEvent::Finished { reason }));
                }
            }
            _ => {} // messageStart, contentBlockStart/Stop, events newer than this SDK.
        }
    }
}

#[async_trait]
impl ModelStream for BedrockStream {
    async fn next(&mut self) -> Option<Result<ModelEvent, ModelError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.done {
                self.events = None;
                return None;
            }
            let events = self.events.as_mut()?;
            match tokio::time::timeout(self.idle, events.recv()).await {
                Err(_) => self.finish_or_break(&format!("nothing received for {:?}", self.idle)),
                Ok(Ok(Some(event))) => self.on_event(event),
                Ok(Ok(None)) => self.finish_or_break("the answer ended before messageStop"),
                Ok(Err(e)) => {
                    let error = stream_error(e, &self.model);
                    tracing::warn!(model = %self.model, error = %error, "bedrock stream error");
                    self.end(Err(error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warroom_core::ChatTurn;

    fn ask(messages: Vec<ChatTurn>) -> ChatRequest {
        ChatRequest { messages, max_output_tokens: 100, temperature: None }
    }

    fn text(block: &ContentBlock) -> &str {
        block.as_text().map(String::as_str).unwrap_or("")
    }

    #[test]
    fn system_turns_go_to_system_and_consecutive_turns_of_one_role_become_one_message() {
        let (system, messages) = conversation(&ask(vec![
            ChatTurn::system("You help."),
            ChatTurn::user("Incident: DB down"),
            ChatTurn::user("what now?"),
            ChatTurn::assistant("Restart it."),
        ]))
        .unwrap();
        assert_eq!(system, [SystemContentBlock::Text("You help.".into())]);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].role, ConversationRole::User);
        assert_eq!(messages[0].content.iter().map(text).collect::<Vec<_>>(), ["Incident: DB down", "what now?"]);
        assert_eq!(messages[1].role, ConversationRole::Assistant);
    }

    #[test]
    fn a_conversation_without_a_first_user_turn_is_refused_before_any_call() {
        let e = conversation(&ask(vec![ChatTurn::system("s"), ChatTurn::assistant("hi")])).unwrap_err();
        assert!(matches!(e, ModelError::BadRequest(_)) && !e.is_retryable());
        assert!(conversation(&ask(vec![ChatTurn::system("s")])).is_err());
    }

    #[test]
    fn stop_reasons_map_to_finish_reasons() {
        assert_eq!(finish_reason("end_turn"), FinishReason::Stop);
        assert_eq!(finish_reason("stop_sequence"), FinishReason::Stop);
        assert_eq!(finish_reason("max_tokens"), FinishReason::Length);
        assert_eq!(finish_reason("guardrail_intervened"), FinishReason::Other("guardrail_intervened".into()));
    }

    #[test]
    fn settings_without_a_model_id_or_with_a_bad_endpoint_are_refused_and_debug_names_no_secret() {
        let http = reqwest::Client::builder().build().unwrap();
        let settings = |model_id: &str, endpoint_url: Option<&str>| ModelSettings {
            provider: ModelProvider::Bedrock { model_id: model_id.into(), region: Some("eu-west-1".into()), endpoint_url: endpoint_url.map(Into::into) },
            max_output_tokens: 500,
        };
        assert!(Bedrock::new(&settings(" ", None), http.clone()).is_err());
        assert!(Bedrock::new(&settings("m", Some("ftp://x")), http.clone()).is_err());
        let b = Bedrock::new(&settings("amazon.nova-lite-v1:0", None), http).unwrap();
        assert_eq!(b.describe(), ModelInfo { provider: "bedrock".into(), model: "amazon.nova-lite-v1:0".into() });
        assert!(format!("{b:?}").contains("eu-west-1"));
    }
}
