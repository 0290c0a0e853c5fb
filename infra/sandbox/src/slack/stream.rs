//! Streamed messages (chat.startStream / appendStream / stopStream) and conversations.replies.
//! Arguments, errors and tiers from slack-ruby/slack-api-ref
//! `docs.slack.dev/methods/chat.{start,append,stop}Stream.json` and `conversations.replies.json`;
//! answer shapes from their `examples` (`{"ok":true,"channel":"C…","ts":"…"}`, stopStream adds
//! `message`).
//!
//! Emulated rules:
//! - startStream: `thread_ts` is required (the args' `required` list); in a channel
//!   `recipient_user_id` / `recipient_team_id` are "Required when streaming to channels" →
//!   `missing_recipient_user_id` / `missing_recipient_team_id`; an unknown recipient →
//!   `user_not_found`. Which conversation types refuse streams is UNCERTAIN (the docs list
//!   `channel_type_not_supported` without saying which): the sandbox refuses in channels named
//!   with [`SlackSandbox::refuse_streams_in`], so tests can exercise the fallback.
//! - appendStream: `markdown_text` is required (`no_text`); "appended to the message received
//!   so far"; a stopped stream → `message_not_in_streaming_state`; a `ts` not in that channel
//!   → `message_not_found`.
//! - stopStream: optional `markdown_text` appended, then the message is final.
//! - `markdown_text` over 12,000 characters → `msg_too_long` (UNCERTAIN: the code Slack uses
//!   for this limit on these methods is not listed).
//!
//! Every append is logged ([`SlackSandbox::stream_appends`]) so tests can check the deltas.

use serde::Serialize;
use serde_json::{json, Value};

use super::api::{err, missing_field, ApiError, Args, Caller, Reply, Spec};
use super::chat::postable;
use super::conversations::{is_member, visible};
use super::state::{ts_key, Message, State};
use super::SlackSandbox;

/// "Limit this field to 12,000 characters."
const MARKDOWN_MAX: usize = 12_000;

/// One call that grew a streamed message, in order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamAppend {
    pub channel: String,
    pub ts: String,
    /// `chat.startStream`, `chat.appendStream` or `chat.stopStream`.
    pub method: String,
    pub markdown_text: String,
}

fn markdown(args: &Args) -> Result<Option<String>, ApiError> {
    match args.str("markdown_text") {
        Some(t) if t.chars().count() > MARKDOWN_MAX => Err(err("msg_too_long")),
        other => Ok(other),
    }
}

pub(crate) fn start(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let id = postable(st, caller, spec, args)?;
    let thread_ts = args.str("thread_ts").ok_or_else(|| missing_field("thread_ts"))?;
    if st.no_streams.contains(&id) {
        return Err(err("channel_type_not_supported"));
    }
    // Every sandbox conversation is a channel, where the recipient is required.
    let user = args.str("recipient_user_id").ok_or_else(|| err("missing_recipient_user_id"))?;
    let team = args.str("recipient_team_id").ok_or_else(|| err("missing_recipient_team_id"))?;
    if st.user_in_team(&user, &team).is_none() {
        return Err(err("user_not_found"));
    }
    // UNCERTAIN: the code for a thread_ts naming no message (startStream lists none); the
    // sandbox refuses rather than start a thread under nothing.
    if !st.channels[&id].messages.iter().any(|m| m.ts == thread_ts) {
        return Err(err("message_not_found"));
    }
    let text = markdown(args)?.unwrap_or_default();
    let ts = st.next_ts();
    let msg = Message {
        ts: ts.clone(),
        user: Some(caller.bot_user_id.clone()),
        bot_id: Some(caller.bot_id.clone()),
        text: text.clone(),
        blocks: None,
        edited: None,
        thread_ts: Some(thread_ts),
        reactions: Vec::new(),
        streaming: true,
    };
    st.channels.get_mut(&id).expect("visible").messages.push(msg);
    st.stream_log.push(StreamAppend { channel: id.clone(), ts: ts.clone(), method: "chat.startStream".into(), markdown_text: text });
    Ok(json!({"channel": id, "ts": ts}))
}

/// The bot's streamed message `ts` in the channel of `args`, and the channel.
fn streamed<'a>(st: &'a mut State, caller: &Caller, spec: &Spec, args: &Args) -> Result<(String, &'a mut Message), ApiError> {
    let id = postable(st, caller, spec, args)?;
    let ts = args.str("ts").ok_or_else(|| missing_field("ts"))?;
    let m = st.channels.get_mut(&id).expect("visible").messages.iter_mut().find(|m| m.ts == ts && m.user.as_deref() == Some(caller.bot_user_id.as_str()));
    let m = m.ok_or_else(|| err("message_not_found"))?;
    if !m.streaming {
        return Err(err("message_not_in_streaming_state"));
    }
    Ok((id, m))
}

pub(crate) fn append(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let text = markdown(args)?.ok_or_else(|| err("no_text"))?;
    let (id, m) = streamed(st, caller, spec, args)?;
    m.text.push_str(&text);
    let ts = m.ts.clone();
    st.stream_log.push(StreamAppend { channel: id.clone(), ts: ts.clone(), method: "chat.appendStream".into(), markdown_text: text });
    Ok(json!({"channel": id, "ts": ts}))
}

pub(crate) fn stop(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let text = markdown(args)?.unwrap_or_default();
    let (id, m) = streamed(st, caller, spec, args)?;
    m.text.push_str(&text);
    m.streaming = false;
    let m = m.clone();
    st.stream_log.push(StreamAppend { channel: id.clone(), ts: m.ts.clone(), method: "chat.stopStream".into(), markdown_text: text });
    let team = caller.team_id.clone();
    Ok(json!({"channel": id, "ts": m.ts, "message": st.message_json(&team, &m)}))
}

/// conversations.replies: `ts` is "either a thread's parent message or a message in the
/// thread"; answers the parent then its replies, oldest first, `limit` (default 1000 — the
/// docs' default, UNCERTAIN) with `has_more` and a `next_cursor` (base64 of `next_ts:<ts>`,
/// as the history cursor). `thread_not_found` for an unknown `ts`.
pub(crate) fn replies(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let id = visible(st, caller, args.str("channel"), false)?;
    let c = &st.channels[&id];
    caller.require_kind(spec, c.is_private)?;
    if !is_member(c, &caller.bot_user_id) {
        return Err(err("not_in_channel"));
    }
    let ts = args.str("ts").ok_or_else(|| missing_field("ts"))?;
    let asked = c.messages.iter().find(|m| m.ts == ts).ok_or_else(|| err("thread_not_found"))?;
    let root = asked.thread_ts.clone().unwrap_or_else(|| ts.clone());
    let from = match args.str("cursor") {
        None => None,
        Some(cur) => {
            let raw = b64.decode(cur.as_bytes()).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
            Some(raw.strip_prefix("next_ts:").and_then(ts_key).ok_or_else(|| err("invalid_cursor"))?)
        }
    };
    let thread: Vec<&Message> = c
        .messages
        .iter()
        .filter(|m| m.ts == root || m.thread_ts.as_deref() == Some(root.as_str()))
        .filter(|m| from.is_none_or(|f| ts_key(&m.ts).unwrap_or_default() >= f))
        .collect();
    let limit = args.limit(1000, 1000);
    let mut out = json!({"messages": thread.iter().take(limit).map(|m| st.message_json(&c.team_id, m)).collect::<Vec<Value>>(),
        "has_more": thread.len() > limit});
    if let Some(next) = thread.get(limit) {
        out["response_metadata"] = json!({"next_cursor": b64.encode(format!("next_ts:{}", next.ts))});
    }
    Ok(out)
}

impl SlackSandbox {
    /// chat.startStream answers `channel_type_not_supported` in this channel from now on.
    pub fn refuse_streams_in(&self, channel_id: &str) {
        self.with_state(|st| st.no_streams.insert(channel_id.to_string()));
    }

    /// Every start / append / stop that grew a streamed message, in order.
    pub fn stream_appends(&self) -> Vec<StreamAppend> {
        self.with_state(|st| st.stream_log.clone())
    }

    /// A person writes in a channel (in the thread of `thread_ts` if given) without any event
    /// being delivered; returns the message's `ts`. Panics if the channel is unknown.
    pub fn person_says(&self, channel_id: &str, user_id: &str, text: &str, thread_ts: Option<&str>) -> String {
        self.with_state(|st| {
            let ts = st.next_ts();
            let c = st.channels.get_mut(channel_id).expect("person_says: unknown channel");
            if !c.members.iter().any(|m| m == user_id) {
                c.members.push(user_id.to_string());
            }
            let m = Message {
                ts: ts.clone(),
                user: Some(user_id.to_string()),
                bot_id: None,
                text: text.to_string(),
                blocks: None,
                edited: None,
                thread_ts: thread_ts.map(str::to_string),
                reactions: Vec::new(),
                streaming: false,
            };
            c.messages.push(m);
            ts
        })
    }
}
