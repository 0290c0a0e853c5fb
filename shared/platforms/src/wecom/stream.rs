//! The smart bot's own streaming for the assistant's answers: the passive `stream` reply.
//! WeCom facts (doc 100719 "接收消息 / 流式消息刷新" and doc 101031 "被动回复消息 / 流式消息回复",
//! read from the docs crawl cited in notes Q1, read_file id 52852458282):
//! - the answer to an @mention may be `{"msgtype":"stream","stream":{"id","finish","content"}}`;
//!   `stream.id` is ours ("自定义的唯一id … 后续回调会根据这个id来获取最新的流式消息");
//! - until a reply says `finish: true`, WeCom keeps calling the bot's URL with stream-refresh
//!   callbacks (`msgtype:"stream"`, `stream.id`), "从用户发消息开始最多等待6min";
//! - `content` replaces what was shown ("第一次回复内容为\"1\"，第二次回复\"123\"，则此时消息展示内容
//!   \"123\""), at most 20480 bytes of UTF-8.
//!
//! Each refresh is a separate request answered by whichever im-events instance gets it, and
//! the answer is written by the worker: they meet in the store (`put_ephemeral` /
//! `get_ephemeral`) under the integration and the stream id, so a refresh signed by one
//! integration's bot never reads another's. The stream id is derived from the question's
//! `msgid`, so the callback and the worker agree on it without talking. Only the callback
//! creates the record, when it answers "Thinking…": the record's existence means WeCom was
//! told of the stream. The worker waits a moment for it (the callback writes it right after
//! queueing the job) and streams only into a stream WeCom knows; its writes all come after.
//!
//! Where a stream cannot be used (no smart bot, the question came another way, or the answer
//! starts or ends after WeCom stopped refreshing) the answer goes once through the message's
//! `response_url` (`post_answer`), valid 1 h.

use super::platform::WeComPlatform;
use super::short_hash;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use warroom_core::{ChatId, ImError, ImResult, MessageId, Store, StreamRef, Timestamp};

/// "从用户发消息开始最多等待6min" (doc 100719).
pub const STREAM_WINDOW: Duration = Duration::from_secs(6 * 60);
/// An answer that only starts this late would likely be cut off: it goes through the
/// `response_url` instead (valid 1 h, notes Q1).
const START_BEFORE: Duration = Duration::from_secs(5 * 60);
/// `stream.content` "最长不超过20480个字节" (doc 101031).
const MAX_CONTENT: usize = 20_480;
/// What a stream shows before the model's first words.
pub const THINKING: &str = "Thinking…";
/// A refresh for a stream this integration does not know (expired, or not ours): it is ended.
pub const UNKNOWN_STREAM: &str = "This answer is no longer available (it expired or belongs to another conversation). Ask again.";
/// How long the worker waits for the callback's record before answering without a stream.
const START_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// Records outlive the window a little, for a late refresh to be answered "finished".
const RECORD_TTL: Duration = Duration::from_secs(15 * 60);

/// What the worker wrote and the refreshes read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub content: String,
    pub finish: bool,
    /// Epoch ms of the record's creation (≈ the question): the 6-minute window's start.
    pub started_ms: i64,
}

/// What the engine keeps for a WeCom stream.
#[derive(Debug, Serialize, Deserialize)]
struct Ref {
    id: String,
    /// The question's `ChatMessage::id` (`msgid|response_code`): the `response_url` fallback.
    question: String,
    started_ms: i64,
}

/// The stream id of the answer to the bot message `msgid`.
pub(crate) fn stream_id(msgid: &str) -> String {
    format!("wrs{}", short_hash(&["stream", msgid]))
}

/// Where a stream's record is kept: under the integration (or, without one, the app).
pub(crate) fn record_key(scope: &str, stream_id: &str) -> String {
    format!("wecom-stream:{scope}:{stream_id}")
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn fit(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The plaintext of a passive stream reply.
pub(crate) fn stream_reply(id: &str, content: &str, finish: bool) -> String {
    json!({"msgtype": "stream", "stream": {"id": id, "finish": finish, "content": fit(content, MAX_CONTENT)}}).to_string()
}

fn store_error(e: impl std::fmt::Display) -> ImError {
    ImError::Transient(format!("the stream store: {e}"))
}

pub(crate) async fn read(store: &dyn Store, key: &str, now: Timestamp) -> ImResult<Option<Record>> {
    let raw = store.get_ephemeral(key, now).await.map_err(store_error)?;
    Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
}

pub(crate) async fn write(store: &dyn Store, key: &str, record: &Record, now: Timestamp) -> ImResult<()> {
    let value = serde_json::to_string(record).map_err(store_error)?;
    store.put_ephemeral(key, &value, RECORD_TTL, now).await.map_err(store_error)
}

/// The record of a stream, created ("Thinking…") if missing.
pub(crate) async fn open(store: &dyn Store, key: &str, now: Timestamp) -> ImResult<Record> {
    if let Some(record) = read(store, key, now).await? {
        return Ok(record);
    }
    let record = Record { content: THINKING.into(), finish: false, started_ms: now.0 };
    write(store, key, &record, now).await?;
    Ok(record)
}

fn parse_ref(stream: &StreamRef) -> ImResult<Ref> {
    serde_json::from_str(&stream.0).map_err(|_| ImError::Rejected { code: "bad_stream_ref".into(), message: "not a WeCom stream reference".into() })
}

fn elapsed(started_ms: i64, now: Timestamp) -> Duration {
    Duration::from_millis((now.0 - started_ms).max(0) as u64)
}

impl WeComPlatform {
    fn stream_key(&self, id: &str) -> String {
        record_key(&self.stream_parts().3, id)
    }

    fn store(&self) -> &dyn Store {
        self.stream_parts().1.as_ref()
    }

    fn now(&self) -> Timestamp {
        self.stream_parts().2.now()
    }

    /// The stream the callback started for a question the smart bot was asked (its `msgid`
    /// in `reply_to`), if WeCom is still refreshing it; `None`: none was started (no smart
    /// bot, the callback's answer failed) or it is too late, and the answer goes once.
    pub(crate) async fn stream_start(&self, reply_to: Option<&MessageId>) -> ImResult<Option<StreamRef>> {
        let Some(question) = reply_to.filter(|_| self.stream_parts().0.has_bot()) else { return Ok(None) };
        let (msgid, _) = super::parse_message_ref(question.as_str());
        let id = stream_id(msgid);
        let key = self.stream_key(&id);
        let waited = std::time::Instant::now();
        let record = loop {
            match read(self.store(), &key, self.now()).await? {
                Some(record) => break record,
                None if waited.elapsed() >= START_WAIT => return Ok(None),
                None => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        };
        if record.finish || elapsed(record.started_ms, self.now()) >= START_BEFORE {
            return Ok(None);
        }
        let r = Ref { id, question: question.to_string(), started_ms: record.started_ms };
        Ok(Some(StreamRef(serde_json::to_string(&r).map_err(store_error)?)))
    }

    /// The whole text so far replaces the stream's content (WeCom shows the latest).
    pub(crate) async fn stream_append(&self, stream: &StreamRef, so_far: &str) -> ImResult<()> {
        let r = parse_ref(stream)?;
        let now = self.now();
        if elapsed(r.started_ms, now) >= STREAM_WINDOW {
            return Ok(()); // WeCom stopped refreshing: the end goes through the response_url.
        }
        let record = Record { content: fit(so_far, MAX_CONTENT).to_owned(), finish: false, started_ms: r.started_ms };
        write(self.store(), &self.stream_key(&r.id), &record, now).await
    }

    /// The answer through the smart bot's `response_url` when the question came to it (once,
    /// within 1 h, notes Q1), rebuilt on the configured host from the code the message id
    /// carries (`codec::message_ref`). `None`: there is none, or it refused (the app posts).
    pub(crate) async fn answer_by_response_url(&self, chat: &ChatId, reply_to: Option<&MessageId>, text: &str) -> Option<MessageId> {
        let (msgid, Some(code)) = super::parse_message_ref(reply_to?.as_str()) else { return None };
        // markdown ≤ 20480 bytes (notes Q1).
        let body = json!({"msgtype": "markdown", "markdown": {"content": fit(text, 20_000)}});
        let client = self.client();
        match client.aibot_respond(&client.aibot_response_url(code), &body).await {
            Ok(()) => Some(MessageId::new(format!("wrbot{}", short_hash(&[chat.as_str(), msgid])))),
            Err(e) => {
                tracing::info!(error = %e, "the smart bot's response_url refused the answer; the app posts it");
                None
            }
        }
    }

    /// The final text with `finish: true`; past the window, one reply through the
    /// `response_url` instead (the stream shows what it had).
    pub(crate) async fn stream_stop(&self, chat: &ChatId, stream: &StreamRef, final_text: &str) -> ImResult<()> {
        let r = parse_ref(stream)?;
        let now = self.now();
        if elapsed(r.started_ms, now) >= STREAM_WINDOW {
            use warroom_core::ImPlatform;
            return self.post_answer(chat, Some(&MessageId::new(r.question)), final_text).await.map(drop);
        }
        let record = Record { content: fit(final_text, MAX_CONTENT).to_owned(), finish: true, started_ms: r.started_ms };
        write(self.store(), &self.stream_key(&r.id), &record, now).await
    }
}

/// The plaintext of the bot's passive answer to `inbound`, where it carries a stream: an
/// @mention the assistant will answer (`answer_queued`, or one already streaming: a
/// redelivery) gets the stream's start; a refresh gets the text so far, or, for a stream
/// this integration does not know, `finish` and [`UNKNOWN_STREAM`]. `None`: an empty answer.
pub(crate) async fn passive_answer(store: &dyn Store, scope: &str, inbound: &super::Inbound, answer_queued: bool, now: Timestamp) -> ImResult<Option<String>> {
    match inbound {
        super::Inbound::Message(m) if m.chat_id.is_some() => {
            let id = stream_id(&m.msgid);
            let key = record_key(scope, &id);
            let record = match (read(store, &key, now).await?, answer_queued) {
                (Some(record), _) => record,
                (None, true) => open(store, &key, now).await?,
                (None, false) => return Ok(None),
            };
            Ok(Some(stream_reply(&id, &record.content, record.finish)))
        }
        super::Inbound::StreamRefresh(poll) => Ok(Some(match read(store, &record_key(scope, &poll.stream_id), now).await? {
            Some(record) => stream_reply(&poll.stream_id, &record.content, record.finish),
            None => stream_reply(&poll.stream_id, UNKNOWN_STREAM, true),
        })),
        _ => Ok(None),
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
