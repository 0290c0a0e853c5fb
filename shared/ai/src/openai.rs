//! [`OpenAiCompatible`]: the Chat Completions API, streamed. Wire details are those of the
//! official openai-python SDK (github.com/openai/openai-python, commit e43b422, 2026-08-21);
//! each is cited where it is used.

use crate::errors::{status_error, transport_error, ProviderError};
use crate::stream::OpenAiStream;
use async_trait::async_trait;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;
use serde_json::{json, Value};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use warroom_core::{ChatModel, ChatRequest, ModelError, ModelInfo, ModelProvider, ModelSettings, ModelStream, Role};

/// How long to wait before giving up on a silent server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// From sending the request to the response's status and headers. 60 s by default:
    /// OpenAI answers within a second, but a local server (Ollama, vLLM) may first load
    /// the model from disk, and a busy one queues the request before answering.
    pub first_byte: Duration,
    /// Between two pieces of the body (keep-alive comments count). 30 s by default: a
    /// model producing tokens sends several a second; half a minute of silence is a hung
    /// connection, and the war room should hear "try again" rather than wait.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { first_byte: Duration::from_secs(60), idle: Duration::from_secs(30) }
    }
}

/// A model behind `POST …/chat/completions`.
///
/// `base_url` includes the version segment: `https://api.openai.com/v1`,
/// `https://api.deepseek.com/v1`, `https://dashscope.aliyuncs.com/compatible-mode/v1`
/// (Qwen), `http://HOST:11434/v1` (Ollama), `http://HOST:8000/v1` (vLLM),
/// `http://HOST:8080/v1` (llama.cpp's `llama-server`); the SDK's own default is
/// `https://api.openai.com/v1` (src/openai/_client.py). With `azure_api_version` set,
/// `base_url` is the Azure resource endpoint and `model` the deployment name, as in the
/// SDK's `AzureOpenAI(azure_endpoint=…, azure_deployment=…)` (src/openai/lib/azure.py:
/// `{azure_endpoint}/openai/deployments/{deployment}` + `/chat/completions`, query
/// `api-version`, key in the `api-key` header instead of `Authorization: Bearer`).
pub struct OpenAiCompatible {
    http: reqwest::Client,
    url: Url,
    /// Host + path of `url`: all we ever log or put in an error (a query may hold a token).
    where_: String,
    model: String,
    azure: bool,
    api_key: Option<String>,
    default_max_tokens: u32,
    timeouts: Timeouts,
    /// Set once the server refused `max_tokens` and asked for `max_completion_tokens`.
    use_max_completion_tokens: AtomicBool,
}

impl fmt::Debug for OpenAiCompatible {
    // By hand: the key must not reach a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompatible").field("endpoint", &self.where_).field("model", &self.model).field("azure", &self.azure).finish_non_exhaustive()
    }
}

impl OpenAiCompatible {
    /// `http` should be built over the process's TLS configuration
    /// (`warroom_platforms::tls::http_client_builder()`), with a connect timeout and no
    /// overall `timeout` (it would cut long answers; [`Timeouts`] bound silence instead),
    /// and without following redirects (they would re-send the key elsewhere).
    pub fn new(settings: &ModelSettings, http: reqwest::Client) -> Result<Self, ModelError> {
        let ModelProvider::OpenAiCompatible { base_url, model, api_key, azure_api_version } = &settings.provider else {
            return Err(ModelError::BadRequest("these settings are not for an OpenAI-compatible model".into()));
        };
        let mut url = Url::parse(base_url.trim()).map_err(|e| ModelError::BadRequest(format!("invalid model base URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ModelError::BadRequest(format!("unsupported scheme {:?} in the model base URL", url.scheme())));
        }
        if model.trim().is_empty() {
            return Err(ModelError::BadRequest("no model name in the settings".into()));
        }
        {
            // Each segment is percent-encoded, so a model name cannot add path segments.
            let mut path = url.path_segments_mut().map_err(|()| ModelError::BadRequest("the model base URL cannot take a path".into()))?;
            path.pop_if_empty();
            if azure_api_version.is_some() {
                path.extend(["openai", "deployments", model.trim()]);
            }
            path.extend(["chat", "completions"]);
        }
        if let Some(version) = azure_api_version {
            url.query_pairs_mut().append_pair("api-version", version.trim());
        }
        if let Some(key) = api_key {
            // Checked now so a key with a newline fails at configuration, not per request.
            HeaderValue::from_str(key).map_err(|_| ModelError::BadRequest("the API key has characters an HTTP header cannot carry".into()))?;
        }
        let where_ = format!("{}{}", url.host_str().unwrap_or(""), url.path());
        Ok(OpenAiCompatible {
            http,
            url,
            where_,
            model: model.trim().to_owned(),
            azure: azure_api_version.is_some(),
            api_key: api_key.clone().filter(|k| !k.is_empty()),
            default_max_tokens: settings.max_output_tokens,
            timeouts: Timeouts::default(),
            use_max_completion_tokens: AtomicBool::new(false),
        })
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The request body (src/openai/types/chat/completion_create_params.py). The token cap
    /// goes in `max_tokens`: every compatible server (Ollama, vLLM, llama.cpp, DeepSeek,
    /// Qwen, Azure's older API versions) reads it, while `max_completion_tokens` is
    /// OpenAI's newer name, which the SDK documents as replacing `max_tokens` ("now
    /// deprecated … not compatible with o-series models"). When a server refuses
    /// `max_tokens` for that reason, the request is sent again once with
    /// `max_completion_tokens`, and that name is used from then on. UNCERTAIN: which
    /// newer OpenAI models (beyond the o-series the SDK names) refuse `max_tokens`, and
    /// whether every compatible server accepts `max_completion_tokens`.
    fn body(&self, request: &ChatRequest, max_completion_tokens: bool) -> Value {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|turn| {
                let role = match turn.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                json!({ "role": role, "content": turn.content })
            })
            .collect();
        // The settings' cap is an answer's; a post-mortem (a longer, structured text) may ask
        // for up to four times it, never more.
        let cap = if request.max_output_tokens == 0 {
            self.default_max_tokens
        } else {
            request.max_output_tokens.min(self.default_max_tokens.max(1).saturating_mul(4))
        };
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            // Usage arrives in one more chunk, with empty `choices`, before `[DONE]`
            // (ChatCompletionStreamOptionsParam.include_usage). Servers that ignore the
            // option simply send no usage.
            "stream_options": { "include_usage": true },
        });
        body[if max_completion_tokens { "max_completion_tokens" } else { "max_tokens" }] = json!(cap);
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        body
    }

    async fn send(&self, request: &ChatRequest, max_completion_tokens: bool) -> Result<reqwest::Response, ModelError> {
        let mut builder = self.http.post(self.url.clone()).header(CONTENT_TYPE, "application/json").json(&self.body(request, max_completion_tokens));
        if let Some(key) = &self.api_key {
            let (name, value) = if self.azure { ("api-key", key.clone()) } else { (AUTHORIZATION.as_str(), format!("Bearer {key}")) };
            let mut value =
                HeaderValue::from_str(&value).map_err(|_| ModelError::BadRequest("the API key has characters an HTTP header cannot carry".into()))?;
            value.set_sensitive(true);
            builder = builder.header(name, value);
        }
        tracing::debug!(endpoint = %self.where_, model = %self.model, "model request");
        match tokio::time::timeout(self.timeouts.first_byte, builder.send()).await {
            Err(_) => Err(ModelError::Unavailable(format!("{}: no answer within {:?}", self.where_, self.timeouts.first_byte))),
            Ok(Err(e)) => Err(transport_error(e, &self.where_)),
            Ok(Ok(response)) => Ok(response),
        }
    }

    /// Reads at most 64 KiB of an error body, within the first-byte timeout.
    async fn error_body(&self, mut response: reqwest::Response) -> ProviderError {
        let mut body = Vec::new();
        let read = async {
            while let Ok(Some(chunk)) = response.chunk().await {
                body.extend_from_slice(&chunk);
                if body.len() > 64 * 1024 {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(self.timeouts.first_byte, read).await;
        ProviderError::parse(&body, self.api_key.as_deref())
    }
}

#[async_trait]
impl ChatModel for OpenAiCompatible {
    fn describe(&self) -> ModelInfo {
        ModelInfo { provider: if self.azure { "azure-openai" } else { "openai-compatible" }.into(), model: self.model.clone() }
    }

    async fn stream(&self, request: &ChatRequest) -> Result<Box<dyn ModelStream>, ModelError> {
        let mut completion_name = self.use_max_completion_tokens.load(Ordering::Relaxed);
        loop {
            let response = self.send(request, completion_name).await?;
            let status = response.status();
            if status.is_success() {
                return Ok(Box::new(OpenAiStream::new(response, self.timeouts.idle, self.api_key.clone(), self.where_.clone())));
            }
            let headers = response.headers().clone();
            let body = self.error_body(response).await;
            if status.as_u16() == 400 && !completion_name && body.wants_max_completion_tokens() {
                tracing::info!(endpoint = %self.where_, model = %self.model, "the model wants max_completion_tokens; using it from now on");
                self.use_max_completion_tokens.store(true, Ordering::Relaxed);
                completion_name = true;
                continue;
            }
            tracing::warn!(endpoint = %self.where_, model = %self.model, status = status.as_u16(), "model request refused");
            return Err(status_error(status, &headers, body, &self.model, &self.where_));
        }
    }
}
