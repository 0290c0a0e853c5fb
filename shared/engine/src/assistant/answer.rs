//! The assistant's answer to an @mention (issue 13): the incident, its timeline and the room's
//! chat (`context`), sent to the tenant's model, and the answer streamed into the room. Where
//! the platform has its own streaming message (Slack `chat.startStream`, Feishu's CardKit
//! card) the answer grows in it; elsewhere a reply is posted at once ("Thinking…") and edited
//! as text arrives at the pace the chat's bucket allows; where answers cannot be edited
//! (WeCom's app groups) it is sent once, complete. Every answer ends with the sources it was
//! shown. No model configured: one sentence saying how.
//!
//! A retry (a model that failed mid-way, a rate limit) reuses the reply or stream already
//! started, kept under the question's key, so a question never gets two replies.

use super::context::{self, Prompt, SourceKind, PROMPT_VERSION};
use crate::{Engine, EngineError};
use std::time::{Duration, Instant};
use warroom_core::*;

const THINKING: &str = "Thinking…";
/// Edits at least this far apart, whatever the bucket allows: every edit resends the whole
/// text, and people read at a few lines a second anyway.
const MIN_EDIT_GAP: Duration = Duration::from_millis(800);
/// What the prompt may take, in (estimated) tokens. Most models take far more; a smaller
/// prompt is faster and cheaper, and the newest messages are the ones that matter.
pub const PROMPT_BUDGET: u32 = 12_000;
/// How long the final edit may wait for the chat's bucket before it is sent anyway.
const FINAL_WAIT: Duration = Duration::from_secs(10);
const ANSWER_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

pub const NOT_CONFIGURED: &str = "The Warroom assistant has no model configured yet: an admin sets one for the deployment (WARROOM_MODEL_BASE_URL, WARROOM_MODEL and WARROOM_MODEL_API_KEY). Commands work without it: ack, resolve, snooze 30m | 2h | 8h.";

/// Appends to a platform's own stream at least this far apart (Feishu allows 10 operations
/// a second per card; Slack's appends are Tier 4): a steady trickle, not one call per token.
const MIN_APPEND_GAP: Duration = Duration::from_millis(300);

/// Where the answer grows: the platform's own stream, a message edited as it grows, or
/// nothing yet (platforms that cannot edit get the answer once, complete).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    Message(MessageId),
    Stream(StreamRef),
}

impl Reply {
    /// As kept under the question's key (a plain message id, as before streams existed).
    fn to_stored(&self) -> String {
        match self {
            Reply::Message(id) => id.to_string(),
            Reply::Stream(s) => format!("stream:{}", s.0),
        }
    }

    fn parse(stored: &str) -> Reply {
        match stored.strip_prefix("stream:") {
            Some(s) => Reply::Stream(StreamRef(s.to_string())),
            None => Reply::Message(MessageId::new(stored)),
        }
    }
}

/// What one answer took, for the timeline and the note.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnswerStats {
    pub prompt_tokens_estimated: u32,
    pub usage: Option<TokenUsage>,
    pub first_text_ms: Option<u64>,
    pub total_ms: u64,
    pub edits: u32,
    pub omitted_messages: usize,
}

fn sources_line(prompt: &Prompt) -> String {
    let messages: Vec<&context::Source> = prompt.sources.iter().filter(|s| s.kind == SourceKind::Message).collect();
    let timeline = prompt.sources.len() - messages.len();
    let span = match (messages.first(), messages.last()) {
        (Some(a), Some(b)) => format!(" ({} {} … {} {})", a.at.to_rfc3339(), a.who, b.at.to_rfc3339(), b.who),
        _ => String::new(),
    };
    let or_more = if prompt.older_unread { " or more" } else { "" };
    let cut = if prompt.omitted_messages > 0 { format!("; {}{or_more} older messages not read", prompt.omitted_messages) } else { String::new() };
    let runbooks: Vec<String> = prompt.knowledge.runbooks.iter().map(|r| format!("{} ({})", one_line(&r.title), r.id)).collect();
    let runbooks = if runbooks.is_empty() { String::new() } else { format!("; runbooks: {}", runbooks.join(", ")) };
    let past: Vec<&str> = prompt.knowledge.past.iter().map(|p| p.id.as_str()).collect();
    let past = if past.is_empty() { String::new() } else { format!("; similar past incidents: {}", past.join(", ")) };
    format!("Sources: {} chat messages{span}, {timeline} timeline entries{cut}{runbooks}{past}. AI-generated: check before acting.", messages.len())
}

/// A title on one line, as short as a sources line needs.
fn one_line(text: &str) -> String {
    warroom_core::runbook::cut(&text.split_whitespace().collect::<Vec<_>>().join(" "), 80)
}

/// Answers per room: at most [`ANSWERS_PER_MINUTE`] in any minute, two at once (Flashduty
/// allows 5 post-mortems a minute per account; a room's questions are cheaper but many).
pub const ANSWERS_PER_MINUTE: u32 = 6;

pub(crate) fn answers_bucket(tenant: &TenantId, chat: &ChatId) -> warroom_core::ratelimit::BucketSpec {
    warroom_core::ratelimit::BucketSpec::within(format!("assistant.{tenant}.{chat}"), ANSWERS_PER_MINUTE, Duration::from_secs(60), 2)
}

/// The question without the platform's mention markup in front (`<@U123>`, `@Warroom`).
pub(crate) fn without_mentions(text: &str) -> String {
    let mut rest = text.trim();
    loop {
        if let Some(after) = rest.strip_prefix("<@").and_then(|r| r.split_once('>')).map(|(_, after)| after) {
            rest = after.trim_start();
        } else if let Some(after) = rest.strip_prefix('@').and_then(|r| r.split_once(char::is_whitespace)).map(|(_, after)| after) {
            rest = after.trim_start();
        } else {
            return rest.to_string();
        }
    }
}

/// "@bot postmortem" (or "post-mortem", "复盘"), any case, nothing else.
pub(crate) fn asks_for_postmortem(text: &str) -> bool {
    let rest = without_mentions(text).to_lowercase();
    matches!(rest.trim().trim_start_matches('/').trim_end_matches(['.', '!', '?']), "postmortem" | "post-mortem" | "post mortem" | "复盘")
}

/// Claimed while a question is answered (and kept once it is): a question is answered once,
/// however many times its job runs (Slack sends `message` and `app_mention` for it).
pub(crate) fn claim_key(integration: &IntegrationId, message: &MessageId) -> String {
    format!("answered:{integration}:{:016x}", fxhash(message.as_str()))
}

fn answer_key(integration: &IntegrationId, message: &MessageId) -> String {
    format!("answer:{integration}:{:016x}", fxhash(message.as_str()))
}

/// A short stable hash (the key must stay short whatever the platform's message id).
fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl Engine {
    /// Answers the question `message` asked in `chat`.
    pub(crate) async fn answer_with_model(
        &self,
        incident: &Incident,
        integration: &Integration,
        platform: &dyn ImPlatform,
        chat: &ChatId,
        message: &MessageId,
        model: &dyn ChatModel,
    ) -> Result<AnswerStats, EngineError> {
        let started = Instant::now();
        let history = if platform.capabilities().history {
            self.throttle(platform, ApiFamily::Read, Some(chat)).await?;
            Some(platform.chat_history(chat).await?)
        } else {
            None
        };
        let prompt = self.answer_prompt(incident, history, message).await?;
        let request = ChatRequest {
            messages: vec![ChatTurn::system(prompt.system.clone()), ChatTurn::user(prompt.user.clone()), ChatTurn::user(prompt.question.clone())],
            max_output_tokens: 0,
            temperature: Some(0.2),
        };

        let key = answer_key(&integration.id, message);
        let mut reply = self.store.get_ephemeral(&key, self.clock.now()).await?.map(|v| Reply::parse(&v));
        if reply.is_none() {
            reply = self.start_reply(platform, chat, message).await?;
            if let Some(r) = &reply {
                self.store.put_ephemeral(&key, &r.to_stored(), ANSWER_TTL, self.clock.now()).await?;
            }
        }

        let mut stats = AnswerStats { prompt_tokens_estimated: prompt.tokens, omitted_messages: prompt.omitted_messages, ..Default::default() };
        let mut text = String::new();
        let mut last_edit = Instant::now();
        // How much of `text` a stream has been sent.
        let mut sent = 0;
        let mut stream = match model.stream(&request).await {
            Ok(stream) => stream,
            Err(e) => return Err(self.failed(platform, chat, message, reply.as_ref(), e).await),
        };
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(event) => event,
                Err(e) => return Err(self.failed(platform, chat, message, reply.as_ref(), e).await),
            };
            match event {
                ModelEvent::Delta(delta) => {
                    if stats.first_text_ms.is_none() && !delta.is_empty() {
                        stats.first_text_ms = Some(started.elapsed().as_millis() as u64);
                    }
                    text.push_str(&delta);
                    // The platform's own stream takes frequent appends (what is not sent yet
                    // goes with the next one); an edited message, fewer whole rewrites.
                    let pace = match &reply {
                        Some(Reply::Stream(_)) => Some((ApiFamily::Stream, MIN_APPEND_GAP)),
                        Some(Reply::Message(_)) => Some((ApiFamily::Message, MIN_EDIT_GAP)),
                        None => None,
                    };
                    if let Some((family, gap)) = pace {
                        if last_edit.elapsed() >= gap && self.try_take(platform, family, Some(chat)).await {
                            match &reply {
                                Some(Reply::Stream(stream)) => {
                                    platform.append_stream(chat, stream, &text, &text[sent..]).await?;
                                    sent = text.len();
                                }
                                Some(Reply::Message(id)) => platform.edit_answer(chat, id, &format!("{text} …")).await?,
                                None => {}
                            }
                            stats.edits += 1;
                            last_edit = Instant::now();
                        }
                    }
                }
                ModelEvent::Usage(usage) => stats.usage = Some(usage),
                ModelEvent::Finished { .. } => break,
            }
        }
        if text.trim().is_empty() {
            text = "The model gave no answer.".into();
        }
        let full = format!("{}\n\n{}", text.trim_end(), sources_line(&prompt));
        self.final_text(platform, chat, message, reply.as_ref(), &full).await?;
        stats.edits += u32::from(reply.is_some());
        stats.total_ms = started.elapsed().as_millis() as u64;
        Ok(stats)
    }

    /// The reply a question gets at once: the platform's own stream where it has one (it
    /// starts empty: Slack only appends, so a placeholder would stay), else a "Thinking…"
    /// message where answers can be edited, else none (the answer comes whole).
    async fn start_reply(&self, platform: &dyn ImPlatform, chat: &ChatId, question: &MessageId) -> Result<Option<Reply>, EngineError> {
        self.throttle(platform, ApiFamily::Stream, Some(chat)).await?;
        if let Some(stream) = platform.start_stream(chat, Some(question), "").await? {
            return Ok(Some(Reply::Stream(stream)));
        }
        if !platform.capabilities().edit_answers {
            return Ok(None);
        }
        self.throttle(platform, ApiFamily::Message, Some(chat)).await?;
        Ok(Some(Reply::Message(platform.post_answer(chat, Some(question), THINKING).await?)))
    }

    /// A model failure: retryable ones go back to the queue (the reply stays "Thinking…" and
    /// the retry reuses it); the others are said in the reply, since retrying cannot help.
    async fn failed(&self, platform: &dyn ImPlatform, chat: &ChatId, question: &MessageId, reply: Option<&Reply>, e: ModelError) -> EngineError {
        if !e.is_retryable() {
            let text = format!("The assistant could not answer: {e}. An admin can check the model settings.");
            if let Err(post) = self.final_text(platform, chat, question, reply, &text).await {
                tracing::warn!(error = %post, "could not say in the room that the assistant failed");
            }
        }
        EngineError::Model(e)
    }

    /// The finished answer: the last edit, or the one message where edits are impossible.
    /// It waits for the chat's bucket a while (a person is waiting for it), then sends.
    async fn final_text(&self, platform: &dyn ImPlatform, chat: &ChatId, question: &MessageId, reply: Option<&Reply>, text: &str) -> Result<(), EngineError> {
        let waited = Instant::now();
        let family = if matches!(reply, Some(Reply::Stream(_))) { ApiFamily::Stream } else { ApiFamily::Message };
        while waited.elapsed() < FINAL_WAIT && !self.try_take(platform, family, Some(chat)).await {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match reply {
            Some(Reply::Message(id)) => platform.edit_answer(chat, id, text).await?,
            Some(Reply::Stream(stream)) => platform.stop_stream(chat, stream, text).await?,
            None => {
                platform.post_answer(chat, Some(question), text).await?;
            }
        }
        Ok(())
    }

    /// Tells whoever asked something other than an answer (busy, no model, settings that
    /// cannot work): in the reply the platform's callback already opened for the question
    /// where it did (WeCom's smart-bot stream, which would otherwise show "Thinking…" until
    /// WeCom gives up), else as a notice sent once under `key`.
    pub(crate) async fn tell_asker(
        &self,
        platform: &dyn ImPlatform,
        integration: &IntegrationId,
        chat: &ChatId,
        question: &MessageId,
        text: &str,
        key: &str,
    ) -> Result<(), EngineError> {
        if platform.capabilities().reply_opened_by_callback {
            if let Some(stream) = platform.start_stream(chat, Some(question), "").await? {
                return Ok(platform.stop_stream(chat, &stream, text).await?);
            }
        }
        self.send_once(platform, &crate::notice::Notice { integration, chat, text, key }).await
    }

    /// The timeline line of an answer: model, tokens, times, edits.
    pub(crate) async fn note_answer(&self, incident: &Incident, model: &ModelInfo, stats: &AnswerStats) {
        let usage = stats.usage.map_or("usage not reported".to_string(), |u| format!("{} tokens in, {} out", u.input, u.output));
        let first = stats.first_text_ms.map_or("no text".to_string(), |ms| format!("first text after {ms} ms"));
        let detail = format!(
            "answered an @mention with {} {} (prompt {PROMPT_VERSION}, ~{} tokens sent, {} older messages left out): {usage}, {first}, done in {} ms, {} edits",
            model.provider, model.model, stats.prompt_tokens_estimated, stats.omitted_messages, stats.total_ms, stats.edits
        );
        self.note(incident, Actor::System, TimelineAction::AssistantAnswered, detail).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answers_key_is_short_and_stable_whatever_the_message_id() {
        let i = IntegrationId::new("int_1");
        let long = MessageId::new("x".repeat(500));
        assert_eq!(answer_key(&i, &long), answer_key(&i, &long));
        assert!(answer_key(&i, &long).len() < 60);
        assert_ne!(answer_key(&i, &MessageId::new("a")), answer_key(&i, &MessageId::new("b")));
    }

    #[test]
    fn only_a_bare_postmortem_request_asks_for_one() {
        assert!(asks_for_postmortem("<@U0BOT> postmortem"));
        assert!(asks_for_postmortem("@Warroom Post-Mortem!"));
        assert!(asks_for_postmortem("@bot 复盘"));
        assert!(!asks_for_postmortem("<@U0BOT> what should the postmortem say about the db?"));
        assert!(!asks_for_postmortem("<@U0BOT> status"));
    }

    #[test]
    fn mention_markup_in_front_of_the_question_is_dropped() {
        assert_eq!(without_mentions("<@U0BOT> what changed?"), "what changed?");
        assert_eq!(without_mentions("@Warroom  <@U1> is it the db?"), "is it the db?");
        assert_eq!(without_mentions("ask <@U1> later"), "ask <@U1> later");
    }
}
