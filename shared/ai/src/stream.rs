//! The body of a streamed Chat Completion, turned into [`ModelEvent`]s.
//!
//! Each SSE event's data is a `ChatCompletionChunk` (src/openai/types/chat/
//! chat_completion_chunk.py, openai-python commit e43b422): the text is in
//! `choices[0].delta.content`, `choices[0].finish_reason` is `stop`, `length`,
//! `tool_calls`, `content_filter` or `function_call` on the last content chunk, and with
//! `stream_options.include_usage` one more chunk has empty `choices` and
//! `usage.{prompt_tokens, completion_tokens}` (null in every other chunk). The stream ends
//! with `data: [DONE]` (the SDK stops at data starting with `[DONE]`). A chunk may instead
//! be `{"error": {…}}`, which the SDK raises as an `APIError`.
//!
//! We emit `Usage` when it arrives and `Finished` only at `[DONE]`, so `Finished` is always
//! last. A body that ends before `[DONE]` is [`ModelError::StreamBroken`]: the SDK does not
//! check this, but without it a dropped connection would pass for a short answer.

use crate::errors::{excerpt, in_stream_error, ProviderError};
use crate::sse::{SseEvent, SseParser};
use async_trait::async_trait;
use serde::Deserialize;
use std::collections::VecDeque;
use std::time::Duration;
use warroom_core::{FinishReason, ModelError, ModelEvent, ModelStream, TokenUsage};

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

/// Only `content`: `role` carries nothing new, and reasoning text some servers send
/// separately (DeepSeek's `reasoning_content`) is not part of the answer.
#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

pub(crate) fn finish_reason(wire: &str) -> FinishReason {
    match wire {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Turns SSE events into model events; separate from the I/O so it can be tested alone.
#[derive(Debug, Default)]
pub struct ChunkDecoder {
    finish: Option<FinishReason>,
    /// `[DONE]` (or an error) was seen: everything after it is ignored.
    pub(crate) ended: bool,
}

impl ChunkDecoder {
    /// Appends what `event` means to `out`; an error ends the stream.
    pub fn decode(&mut self, event: &SseEvent, secret: Option<&str>, where_: &str, out: &mut VecDeque<Result<ModelEvent, ModelError>>) {
        if self.ended {
            return;
        }
        if event.data.trim_start().starts_with("[DONE]") {
            let reason = self.finish.take().unwrap_or_else(|| FinishReason::Other("unspecified".into()));
            out.push_back(Ok(ModelEvent::Finished { reason }));
            self.ended = true;
            return;
        }
        let value: serde_json::Value = match serde_json::from_str(&event.data) {
            Ok(v) => v,
            Err(e) => return self.fail(out, ModelError::StreamBroken(format!("{where_}: unreadable chunk ({e}): {}", excerpt(&event.data, secret)))),
        };
        if value.get("error").is_some_and(|e| !e.is_null()) {
            let error = ProviderError::parse(event.data.as_bytes(), secret);
            return self.fail(out, in_stream_error(error, where_));
        }
        let chunk: Chunk = match serde_json::from_value(value) {
            Ok(c) => c,
            Err(e) => return self.fail(out, ModelError::StreamBroken(format!("{where_}: unexpected chunk shape ({e})"))),
        };
        // We never ask for n > 1, so only choice 0 is the answer.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(text) = choice.delta.and_then(|d| d.content).filter(|t| !t.is_empty()) {
                out.push_back(Ok(ModelEvent::Delta(text)));
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(finish_reason(&reason));
            }
        }
        if let Some(u) = chunk.usage {
            let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
            out.push_back(Ok(ModelEvent::Usage(TokenUsage { input: clamp(u.prompt_tokens), output: clamp(u.completion_tokens) })));
        }
    }

    fn fail(&mut self, out: &mut VecDeque<Result<ModelEvent, ModelError>>, error: ModelError) {
        out.push_back(Err(error));
        self.ended = true;
    }
}

/// The [`ModelStream`] over a 2xx response.
pub struct OpenAiStream {
    /// `None` once the stream ended: dropping the response closes the connection.
    response: Option<reqwest::Response>,
    parser: SseParser,
    decoder: ChunkDecoder,
    pending: VecDeque<Result<ModelEvent, ModelError>>,
    idle: Duration,
    secret: Option<String>,
    where_: String,
}

impl OpenAiStream {
    pub(crate) fn new(response: reqwest::Response, idle: Duration, secret: Option<String>, where_: String) -> Self {
        OpenAiStream { response: Some(response), parser: SseParser::new(), decoder: ChunkDecoder::default(), pending: VecDeque::new(), idle, secret, where_ }
    }

    fn broken(&mut self, why: String) {
        tracing::warn!(endpoint = %self.where_, reason = %why, "model stream broke off");
        self.decoder.fail(&mut self.pending, ModelError::StreamBroken(format!("{}: {why}", self.where_)));
    }

    fn decode_all(&mut self, events: Vec<SseEvent>) {
        for event in &events {
            self.decoder.decode(event, self.secret.as_deref(), &self.where_, &mut self.pending);
        }
    }
}

#[async_trait]
impl ModelStream for OpenAiStream {
    async fn next(&mut self) -> Option<Result<ModelEvent, ModelError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.decoder.ended {
                self.response = None;
                return None;
            }
            let response = self.response.as_mut()?;
            let mut events = Vec::new();
            match tokio::time::timeout(self.idle, response.chunk()).await {
                Err(_) => self.broken(format!("nothing received for {:?}", self.idle)),
                Ok(Err(e)) => self.broken(format!("the connection failed ({})", e.without_url())),
                Ok(Ok(Some(bytes))) => match self.parser.feed(&bytes, &mut events) {
                    Ok(()) => self.decode_all(events),
                    Err(_) => self.broken(format!("an event exceeded {} bytes", SseParser::MAX_EVENT_BYTES)),
                },
                Ok(Ok(None)) => {
                    self.parser.finish(&mut events);
                    self.decode_all(events);
                    if !self.decoder.ended {
                        self.broken("the answer ended before [DONE]".into());
                    }
                }
            }
        }
    }
}
