//! Events API bodies (already verified) to platform-neutral events.
//!
//! Envelope `{"type": "event_callback", "team_id", "event_id", "event": {…},
//! "authorizations": [{"user_id", "is_bot"}]}` and the inner events' fields from the
//! docs' examples: docs.slack.dev/reference/events/member_joined_channel,
//! …/tokens_revoked, api.slack.com/events/app_uninstalled; app_mention fields from
//! @slack/types `AppMentionEvent`; message fields from slack-web (Haskell) golden tests.

use super::util::parse_ts;
use serde::Deserialize;
use serde_json::{json, Value};
use warroom_core::{CallbackError, ChatMessage, EventDelivery, ImEvent, RawResponse};

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    event: Option<Value>,
    #[serde(default)]
    authorizations: Vec<Authorization>,
}

#[derive(Deserialize)]
struct Authorization {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    is_bot: bool,
}

/// Decodes a verified JSON body. `bot_user_id`, when known, is the mention to strip;
/// otherwise the bot users named in `authorizations` are.
pub(crate) fn decode(body: &[u8], bot_user_id: Option<&str>) -> Result<EventDelivery, CallbackError> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| CallbackError::Malformed(format!("event body: {e}")))?;
    match env.kind.as_str() {
        "url_verification" => {
            let challenge = env.challenge.ok_or_else(|| CallbackError::Malformed("url_verification without challenge".into()))?;
            // Bolt answers `{"challenge": …}` with 200 (bolt-python url_verification middleware).
            let body = json!({ "challenge": challenge }).to_string().into_bytes();
            let response = RawResponse { status: 200, content_type: "application/json", body };
            Ok(EventDelivery { delivery_id: None, installation: None, event: ImEvent::Handshake(response) })
        }
        "event_callback" => {
            let event = env.event.as_ref().ok_or_else(|| CallbackError::Malformed("event_callback without event".into()))?;
            let mut bots: Vec<&str> = env.authorizations.iter().filter(|a| a.is_bot).filter_map(|a| a.user_id.as_deref()).collect();
            if let Some(b) = bot_user_id {
                bots.insert(0, b);
            }
            Ok(EventDelivery { delivery_id: env.event_id.clone(), installation: env.team_id.clone(), event: inner(event, &bots)? })
        }
        other => Ok(EventDelivery { delivery_id: env.event_id, installation: env.team_id, event: ImEvent::Ignored(format!("callback type {other}")) }),
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn required<'a>(v: &'a Value, key: &str, kind: &str) -> Result<&'a str, CallbackError> {
    text(v, key).ok_or_else(|| CallbackError::Malformed(format!("{kind} event without {key}")))
}

fn inner(event: &Value, bots: &[&str]) -> Result<ImEvent, CallbackError> {
    let kind = text(event, "type").unwrap_or("");
    Ok(match kind {
        "app_mention" => match message(event, kind, bots, true)? {
            Some(m) => m,
            None => ImEvent::Ignored("app_mention from a bot".into()),
        },
        "message" => match text(event, "channel_type") {
            // Direct messages and group DMs are no war rooms.
            Some("im" | "mpim") => ImEvent::Ignored("direct message".into()),
            _ if text(event, "subtype").is_some() => ImEvent::Ignored(format!("message subtype {}", text(event, "subtype").unwrap_or(""))),
            _ => message(event, kind, bots, false)?.unwrap_or_else(|| ImEvent::Ignored("message from a bot".into())),
        },
        "member_joined_channel" => ImEvent::MemberJoined { chat: required(event, "channel", kind)?.into(), user: required(event, "user", kind)?.into() },
        // `channel` is the channel id in all four (docs examples).
        "channel_archive" | "channel_deleted" | "group_archive" | "group_deleted" => ImEvent::ChatGone { chat: required(event, "channel", kind)?.into() },
        "app_uninstalled" => ImEvent::AppRevoked,
        // Only the bot token matters to Warroom; revoked user tokens leave it working
        // (Bolt's TokenRevocationListeners likewise deletes the bot only if `tokens.bot`
        // is non-empty). Wrongly ignoring costs little: the next call says token_revoked.
        "tokens_revoked" => {
            let bot_revoked = event.pointer("/tokens/bot").and_then(Value::as_array).is_some_and(|b| !b.is_empty());
            if bot_revoked {
                ImEvent::AppRevoked
            } else {
                ImEvent::Ignored("user tokens revoked; the bot token still works".into())
            }
        }
        other => ImEvent::Ignored(format!("event {other}")),
    })
}

/// A person's message; `None` for messages posted by bots (never answer a bot: loops).
fn message(event: &Value, kind: &str, bots: &[&str], mentions_bot: bool) -> Result<Option<ImEvent>, CallbackError> {
    if text(event, "bot_id").is_some() {
        return Ok(None);
    }
    let Some(author) = text(event, "user") else { return Ok(None) };
    if bots.contains(&author) {
        return Ok(None);
    }
    let chat = required(event, "channel", kind)?;
    let ts = required(event, "ts", kind)?;
    let at = parse_ts(ts).ok_or_else(|| CallbackError::Malformed(format!("{kind} event with ts {ts:?}")))?;
    let raw = event.get("text").and_then(Value::as_str).unwrap_or("");
    let text = if mentions_bot { strip_mentions(raw, bots) } else { raw.trim().to_string() };
    let message = ChatMessage { id: ts.to_string(), at, author: author.into(), text };
    Ok(Some(ImEvent::Message { chat: chat.into(), message, mentions_bot }))
}

/// Removes the bot's mention markup (`<@U123>` or `<@U123|name>`). If the bot's id is
/// unknown, the leading mention is taken to be the bot's (an `app_mention` always
/// mentions it, usually first).
fn strip_mentions(text: &str, bots: &[&str]) -> String {
    let mut out = text.to_string();
    if bots.is_empty() {
        if let Some(rest) = out.trim_start().strip_prefix("<@") {
            if let Some(end) = rest.find('>') {
                out = rest[end + 1..].to_string();
            }
        }
    }
    for bot in bots {
        let plain = format!("<@{bot}>");
        out = out.replace(&plain, "");
        let labelled = format!("<@{bot}|");
        while let Some(start) = out.find(&labelled) {
            match out[start..].find('>') {
                Some(len) => out.replace_range(start..start + len + 1, ""),
                None => break,
            }
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
