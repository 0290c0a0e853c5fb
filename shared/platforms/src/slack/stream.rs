//! Slack's own streaming for the assistant's answers: `chat.startStream`,
//! `chat.appendStream`, `chat.stopStream` (changelog 2025-10-07 "chat-streaming",
//! https://docs.slack.dev/changelog/2025/10/7/chat-streaming). Arguments, errors and tiers
//! from slack-ruby/slack-api-ref `docs.slack.dev/methods/chat.{start,append,stop}Stream.json`:
//! - startStream: `channel`, `thread_ts` required ("Streamed messages should always be
//!   replies to a user request"); `recipient_user_id` + `recipient_team_id` "Required when
//!   streaming to channels"; optional `markdown_text` (≤ 12,000 characters); Tier 2;
//!   answers `{channel, ts}`; errors include `channel_type_not_supported`,
//!   `missing_recipient_user_id`, `missing_recipient_team_id`.
//! - appendStream: `channel`, `ts`, `markdown_text` — "This text is what will be appended to
//!   the message received so far"; Tier 4; `message_not_in_streaming_state`.
//! - stopStream: `channel`, `ts`, optional `markdown_text`, which also APPENDS
//!   (python-slack-sdk `slack_sdk/web/chat_stream.py` `ChatStream.stop` docstring, and it
//!   sends its unflushed buffer there); Tier 2.
//!
//! Which conversation types accept streams: the method pages say `channel` is "a channel,
//! private group, or DM" and list `channel_type_not_supported` without naming the types —
//! UNCERTAIN. So a start refused for any reason but a rate limit, an outage, a gone chat or
//! bad credentials answers `Ok(None)` and the engine posts and edits instead.
//!
//! Exactly-once final text: stopStream only appends, so the adapter remembers what it has
//! streamed (per platform instance). When the final text extends it, the rest goes in
//! stopStream's `markdown_text`; otherwise (a retry in a new process, a placeholder `first`
//! the answer does not start with) the stream is stopped empty and `chat.update` replaces the
//! text (its `streaming_state_conflict` error — "currently streaming text and cannot be
//! edited", chat.update.json — implies a stopped stream can be edited).

use super::error::SlackApiError;
use super::platform::SlackPlatform;
use super::util::truncate_chars;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use warroom_core::{ChatId, ImError, ImResult, MessageId, StreamRef};

/// "Limit this field to 12,000 characters" (all three methods and chat.update).
pub(crate) const MARKDOWN_MAX: usize = 12_000;
/// Thread pages read to find the question's author (200 messages each).
const REPLY_PAGES: usize = 5;

/// What the engine keeps for a Slack stream.
#[derive(Debug, Serialize, Deserialize)]
struct Ref {
    channel: String,
    ts: String,
}

/// What this instance has streamed, by message `ts`: `None` once unknown (a failed append
/// may or may not have landed).
#[derive(Debug, Default)]
pub(crate) struct Streamed(Mutex<HashMap<String, Option<String>>>);

impl Streamed {
    fn get(&self, ts: &str) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(ts).cloned().flatten()
    }
    fn set(&self, ts: &str, text: Option<String>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // A bound, not a cache policy: an instance lives for a job or a few.
        if map.len() > 256 {
            map.clear();
        }
        map.insert(ts.to_string(), text);
    }
    fn forget(&self, ts: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(ts);
    }
}

/// The question's author and the thread to stream into (the parent's `ts` when the question
/// is itself a reply: "Avoid using a reply's ts value; use its parent's value instead",
/// @slack/web-api `ThreadTS`).
struct Question {
    user: Option<String>,
    thread_ts: String,
}

/// Pieces of at most `max` characters (never splitting a character).
pub(crate) fn pieces(s: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(max.max(1)).map(|c| c.iter().collect()).collect()
}

/// Errors after which streaming is still worth nothing more than a retry of the job.
fn is_fatal_for_start(e: &ImError) -> bool {
    matches!(e, ImError::RateLimited { .. } | ImError::Transient(_) | ImError::ChatGone | ImError::Unauthorized(_))
}

fn parse_ref(stream: &StreamRef) -> ImResult<Ref> {
    serde_json::from_str(&stream.0).map_err(|_| ImError::Rejected { code: "bad_stream_ref".into(), message: "not a Slack stream reference".into() })
}

impl SlackPlatform {
    /// `conversations.replies` with the question's `ts` (it takes "a thread's parent message
    /// or a message in the thread"), looking for the question in the thread.
    async fn question(&self, channel: &str, ts: &str) -> Result<Question, SlackApiError> {
        let mut cursor: Option<String> = None;
        for _ in 0..REPLY_PAGES {
            let mut args = json!({"channel": channel, "ts": ts, "limit": 200});
            if let Some(c) = &cursor {
                args["cursor"] = json!(c);
            }
            let page: Value = self.client().call_json("conversations.replies", &args).await?;
            let messages = page.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
            if let Some(m) = messages.iter().find(|m| m.get("ts").and_then(Value::as_str) == Some(ts)) {
                let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
                return Ok(Question { user: text("user"), thread_ts: text("thread_ts").unwrap_or_else(|| ts.to_string()) });
            }
            match page.pointer("/response_metadata/next_cursor").and_then(Value::as_str).filter(|c| !c.is_empty()) {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        Ok(Question { user: None, thread_ts: ts.to_string() })
    }

    pub(crate) async fn stream_start(&self, chat: &ChatId, reply_to: Option<&MessageId>, first: &str) -> ImResult<Option<StreamRef>> {
        // thread_ts is required: no question, no stream (the engine posts instead).
        let Some(reply_to) = reply_to else { return Ok(None) };
        let question = match self.question(chat.as_str(), reply_to.as_str()).await {
            Ok(q) => q,
            Err(e) => return self.no_stream(chat, e.to_im_error()),
        };
        let mut args = json!({"channel": chat.as_str(), "thread_ts": question.thread_ts});
        // Required in channels, harmless in DMs; the recipient's team is taken to be the
        // installation's (a Slack Connect asker's own team is not known here — UNCERTAIN).
        if let Some(user) = &question.user {
            args["recipient_user_id"] = json!(user);
            args["recipient_team_id"] = json!(self.team_id());
        }
        let first = truncate_chars(first, MARKDOWN_MAX);
        if !first.is_empty() {
            args["markdown_text"] = json!(first);
        }
        let started: Value = match self.client().call_json("chat.startStream", &args).await {
            Ok(v) => v,
            Err(e) => return self.no_stream(chat, e.to_im_error()),
        };
        let Some(ts) = started.get("ts").and_then(Value::as_str) else {
            return self.no_stream(chat, ImError::Rejected { code: "bad_response".into(), message: "chat.startStream without ts".into() });
        };
        let channel = started.get("channel").and_then(Value::as_str).unwrap_or(chat.as_str());
        self.streamed().set(ts, Some(first));
        let r = Ref { channel: channel.to_string(), ts: ts.to_string() };
        Ok(Some(StreamRef(serde_json::to_string(&r).unwrap_or_default())))
    }

    /// A start that failed: retryable or fatal errors go back to the engine; anything else
    /// (streams refused here, a missing scope the fallback does not need) means "no stream".
    fn no_stream(&self, chat: &ChatId, e: ImError) -> ImResult<Option<StreamRef>> {
        if is_fatal_for_start(&e) {
            return Err(e);
        }
        tracing::info!(team = %self.team_id(), channel = %chat, error = %e, "Slack streaming unavailable; the answer is posted and edited");
        Ok(None)
    }

    async fn append_raw(&self, r: &Ref, text: &str) -> ImResult<()> {
        for piece in pieces(text, MARKDOWN_MAX) {
            let args = json!({"channel": r.channel, "ts": r.ts, "markdown_text": piece});
            self.client().call_json::<Value>("chat.appendStream", &args).await?;
        }
        Ok(())
    }

    /// Sends what `so_far` adds to what this instance streamed (so a repeated append adds
    /// nothing twice); without that knowledge, `delta`.
    pub(crate) async fn stream_append(&self, stream: &StreamRef, so_far: &str, delta: &str) -> ImResult<()> {
        let r = parse_ref(stream)?;
        let known = self.streamed().get(&r.ts);
        let send = match &known {
            Some(done) if so_far.starts_with(done.as_str()) => &so_far[done.len()..],
            _ => delta,
        };
        if send.is_empty() {
            return Ok(());
        }
        match self.append_raw(&r, send).await {
            Ok(()) => {
                let now = known.filter(|d| so_far.starts_with(d.as_str())).map(|_| so_far.to_string());
                self.streamed().set(&r.ts, now);
                Ok(())
            }
            Err(e) => {
                self.streamed().set(&r.ts, None);
                Err(e)
            }
        }
    }

    /// Ends the stream so that its text is exactly `final_text` (see the module docs).
    pub(crate) async fn stream_stop(&self, stream: &StreamRef, final_text: &str) -> ImResult<()> {
        let r = parse_ref(stream)?;
        let known = self.streamed().get(&r.ts);
        let rest = known.as_deref().and_then(|done| final_text.strip_prefix(done));
        let result = match rest {
            Some(rest) => {
                let mut parts = pieces(rest, MARKDOWN_MAX);
                let last = parts.pop();
                self.append_raw(&r, &parts.concat()).await?;
                self.stop_raw(&r, last.as_deref()).await
            }
            None => self.stop_raw(&r, None).await,
        };
        let replace = match result {
            Ok(()) => rest.is_none(),
            // Stopped already (an earlier stop whose answer was lost): make the text right.
            Err(e) if e.code == "message_not_in_streaming_state" => true,
            Err(e) => {
                self.streamed().set(&r.ts, None);
                return Err(e.into());
            }
        };
        self.streamed().forget(&r.ts);
        if replace {
            let args = json!({"channel": r.channel, "ts": r.ts, "markdown_text": truncate_chars(final_text, MARKDOWN_MAX)});
            self.client().call_json::<Value>("chat.update", &args).await?;
        }
        Ok(())
    }

    async fn stop_raw(&self, r: &Ref, text: Option<&str>) -> Result<(), SlackApiError> {
        let mut args = json!({"channel": r.channel, "ts": r.ts});
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            args["markdown_text"] = json!(text);
        }
        self.client().call_json::<Value>("chat.stopStream", &args).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::pieces;
    use crate::slack::test_stub::{Reply, Stub};
    use crate::slack::{SlackCredentials, SlackPlatform};
    use serde_json::json;
    use std::time::Duration;
    use warroom_core::{ChatId, ImError, ImPlatform, MessageId, StreamRef};

    fn platform(stub: &Stub) -> SlackPlatform {
        let credentials = SlackCredentials { bot_token: "xoxb-t".into(), team_id: "T1".into(), bot_user_id: None, app_id: None, signing_secret: None };
        SlackPlatform::new(credentials, format!("{}/api", stub.base), reqwest::Client::new())
    }

    /// Every streaming method answers 429 + Retry-After: 7; the question is found.
    async fn limited() -> Stub {
        Stub::start(|c| match c.method.as_str() {
            "conversations.replies" => Reply::ok(json!({"ok": true, "messages": [{"ts": "1.000001", "user": "U1"}]})),
            _ => Reply::with(429, vec![("retry-after", "7".into())], r#"{"ok":false,"error":"ratelimited"}"#),
        })
        .await
    }

    #[tokio::test]
    async fn a_429_on_any_streaming_call_is_rate_limited_with_its_retry_after_never_a_silent_fallback() {
        let stub = limited().await;
        let p = platform(&stub);
        let (chat, q) = (ChatId::new("C1"), MessageId::new("1.000001"));
        let wait = ImError::RateLimited { retry_after: Duration::from_secs(7) };
        assert_eq!(p.start_stream(&chat, Some(&q), "x").await.unwrap_err(), wait);
        let s = StreamRef(json!({"channel": "C1", "ts": "2.000002"}).to_string());
        assert_eq!(p.append_stream(&chat, &s, "ab", "b").await.unwrap_err(), wait);
        assert_eq!(p.stop_stream(&chat, &s, "abc").await.unwrap_err(), wait);
        // The recipient was the question's author, in the installation's team.
        let start = stub.calls_to("chat.startStream").pop().unwrap().json();
        assert_eq!(
            (start["recipient_user_id"].as_str(), start["recipient_team_id"].as_str(), start["thread_ts"].as_str()),
            (Some("U1"), Some("T1"), Some("1.000001"))
        );
    }

    #[test]
    fn pieces_split_on_characters_within_the_limit() {
        assert_eq!(pieces("héllo", 2), ["hé", "ll", "o"]);
        assert!(pieces("", 5).is_empty());
        assert_eq!(pieces("abc", 12_000), ["abc"]);
    }
}
