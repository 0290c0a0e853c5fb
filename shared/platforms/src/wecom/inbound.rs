//! What a decrypted WeCom callback says, in WeCom's own terms (richer than the port's
//! `ImEvent` / `Click`: the `ResponseCode`, the `response_url`, stream polls). The codec
//! maps these onto the port; the platform can use them directly.
//!
//! - App (XML, wecom.md §2, notes Q2 / doc 90240): `template_card_event` and
//!   `template_card_menu_event` with `FromUserName`, `EventKey`, `TaskId`, `CardType`,
//!   `ResponseCode`, `CreateTime`; everything else is acknowledged and ignored.
//! - Smart bot (JSON, notes Q1 / docs 100719, 101027): `text` messages, `event`
//!   (`template_card_event`; `enter_chat`, `feedback_event` ignored), `stream` polls.

use super::short_hash;
use serde::Deserialize;
use serde_json::Value;
use warroom_core::{CallbackError, CardAction, Timestamp};

/// Which callback a request came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// The self-built app's "API接收" callback: XML, ReceiveId = CorpID.
    App,
    /// The smart bot's URL callback: JSON, ReceiveId = "".
    Bot,
}

/// How the clicked card (or the mentioned message) can be answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyHandle {
    /// The app click's `ResponseCode`: one `update_template_card` within 72 h (notes Q2).
    ResponseCode(String),
    /// The smart bot's `response_url`: one POST within 1 h (notes Q1).
    ResponseUrl(String),
}

const CODE_PREFIX: &str = "wecom-response-code:";
const URL_PREFIX: &str = "wecom-response-url:";

impl ReplyHandle {
    /// The opaque string carried in `Click::reply_to` (the port has no field of its own).
    pub fn encode(&self) -> String {
        match self {
            ReplyHandle::ResponseCode(code) => format!("{CODE_PREFIX}{code}"),
            ReplyHandle::ResponseUrl(url) => format!("{URL_PREFIX}{url}"),
        }
    }

    pub fn parse(encoded: &str) -> Option<Self> {
        if let Some(code) = encoded.strip_prefix(CODE_PREFIX) {
            return Some(ReplyHandle::ResponseCode(code.to_owned()));
        }
        encoded.strip_prefix(URL_PREFIX).map(|url| ReplyHandle::ResponseUrl(url.to_owned()))
    }
}

/// A button click (or an action-menu choice) on a template card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardEvent {
    pub channel: Channel,
    /// The clicker's userid (`FromUserName` / `from.userid`).
    pub user: String,
    /// Our button key (see [`button_key`]).
    pub event_key: String,
    pub task_id: String,
    pub card_type: Option<String>,
    /// `template_card_menu_event` (the action menu) rather than a button.
    pub menu: bool,
    pub reply: Option<ReplyHandle>,
    /// The group, for smart-bot cards; app cards are 1:1.
    pub chat_id: Option<String>,
    pub create_time: Option<Timestamp>,
    pub dedupe_key: String,
}

/// An @mention of the smart bot (or a 1:1 message to it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotMessage {
    pub msgid: String,
    /// `None` in a 1:1 chat (`chatid` is sent for groups only).
    pub chat_id: Option<String>,
    pub chat_type: String,
    pub user: String,
    /// `text.content` with the leading "@BotName" removed.
    pub text: String,
    pub response_url: Option<String>,
    pub create_time: Option<Timestamp>,
}

/// A stream-refresh poll: WeCom asks for the next chunk of stream `stream_id` (notes Q1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamPoll {
    pub stream_id: String,
    pub msgid: String,
    pub chat_id: Option<String>,
    pub user: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// URL verification: answer exactly this plaintext, as text/plain.
    Verify {
        echo: String,
    },
    Message(BotMessage),
    CardAction(CardEvent),
    StreamRefresh(StreamPoll),
    /// Verified, nothing Warroom acts on.
    Ignored {
        kind: String,
        dedupe_key: Option<String>,
    },
}

/// Separates the action from the incident in a button key (as DingTalk's button ids).
const KEY_SEPARATOR: char = '|';

/// The `key` of a card button: `<action>|<incident_id>` (≤1024 bytes, notes Q1/Q2).
pub fn button_key(action: CardAction, incident_id: &str) -> String {
    format!("{}{KEY_SEPARATOR}{incident_id}", action.to_value())
}

/// The action and incident of a clicked button's `EventKey`.
pub fn parse_button_key(key: &str) -> Option<(CardAction, String)> {
    let (action, incident) = key.split_once(KEY_SEPARATOR)?;
    if incident.is_empty() {
        return None;
    }
    Some((CardAction::parse(action)?, incident.to_owned()))
}

/// The decrypted app message (doc 90240 field names); other elements are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AppXml {
    from_user_name: Option<String>,
    create_time: Option<String>,
    msg_type: Option<String>,
    event: Option<String>,
    event_key: Option<String>,
    task_id: Option<String>,
    card_type: Option<String>,
    response_code: Option<String>,
    msg_id: Option<String>,
}

fn malformed(what: &str) -> CallbackError {
    CallbackError::Malformed(what.to_owned())
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Parses a decrypted app callback.
pub(crate) fn parse_app(plain: &str) -> Result<Inbound, CallbackError> {
    if !plain.trim_start().starts_with('<') {
        return Err(malformed("the decrypted app message is not XML"));
    }
    let x: AppXml = quick_xml::de::from_str(plain).map_err(|_| malformed("the decrypted app message is not XML"))?;
    let from = non_empty(x.from_user_name).unwrap_or_default();
    let create = non_empty(x.create_time).unwrap_or_default();
    let msg_type = non_empty(x.msg_type).unwrap_or_default();
    let event = non_empty(x.event).unwrap_or_default();
    if let Some(id) = non_empty(x.msg_id) {
        // Messages carry MsgId; events do not (notes Q2).
        return Ok(Inbound::Ignored { kind: format!("app {msg_type} message"), dedupe_key: Some(format!("app-msg:{id}")) });
    }
    let (event_key, task_id) = (non_empty(x.event_key).unwrap_or_default(), non_empty(x.task_id).unwrap_or_default());
    // Events are deduped on FromUserName + CreateTime (notes Q2), narrowed by the card and
    // button so two clicks in one second on different cards stay apart.
    let dedupe_key = format!("app-ev:{}", short_hash(&[&from, &create, &event, &task_id, &event_key]));
    let menu = match (msg_type.as_str(), event.as_str()) {
        ("event", "template_card_event") => false,
        ("event", "template_card_menu_event") => true,
        _ => return Ok(Inbound::Ignored { kind: format!("app {msg_type} {event}").trim().to_owned(), dedupe_key: Some(dedupe_key) }),
    };
    if from.is_empty() {
        return Err(malformed("a card event without FromUserName"));
    }
    Ok(Inbound::CardAction(CardEvent {
        channel: Channel::App,
        user: from,
        event_key,
        task_id,
        card_type: non_empty(x.card_type),
        menu,
        reply: non_empty(x.response_code).map(ReplyHandle::ResponseCode),
        chat_id: None,
        create_time: create.parse().ok().map(Timestamp::from_secs),
        dedupe_key,
    }))
}

/// Removes the "@BotName" WeCom puts before a group message's text (notes Q1): the first
/// word if it starts with `@`, up to whitespace (WeCom clients put U+2005 after a mention).
/// A bot name with a space in it would leave its tail — UNCERTAIN how WeCom renders one.
pub(crate) fn strip_leading_mention(text: &str) -> String {
    let t = text.trim_start();
    match t.strip_prefix('@') {
        Some(rest) => rest.split_once(char::is_whitespace).map(|(_, after)| after).unwrap_or("").trim().to_owned(),
        None => t.trim().to_owned(),
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `create_time` as seconds (number or digits).
fn time_at(v: &Value) -> Option<Timestamp> {
    let t = v.get("create_time")?;
    t.as_i64().or_else(|| t.as_str()?.parse().ok()).map(Timestamp::from_secs)
}

/// Parses a decrypted smart-bot callback.
pub(crate) fn parse_bot(plain: &str) -> Result<Inbound, CallbackError> {
    let v: Value = serde_json::from_str(plain).map_err(|_| malformed("the decrypted bot message is not JSON"))?;
    let msgid = str_at(&v, "/msgid").unwrap_or_default().to_owned();
    let user = str_at(&v, "/from/userid").unwrap_or_default().to_owned();
    let chat_id = str_at(&v, "/chatid").map(str::to_owned);
    let response_url = str_at(&v, "/response_url").map(str::to_owned);
    let dedupe = (!msgid.is_empty()).then(|| format!("bot-msg:{msgid}"));
    match str_at(&v, "/msgtype").unwrap_or_default() {
        "text" => {
            let content = str_at(&v, "/text/content").ok_or_else(|| malformed("a text message without text.content"))?;
            if msgid.is_empty() || user.is_empty() {
                return Err(malformed("a bot message without msgid or from.userid"));
            }
            Ok(Inbound::Message(BotMessage {
                msgid,
                chat_id,
                chat_type: str_at(&v, "/chattype").unwrap_or("single").to_owned(),
                user,
                text: strip_leading_mention(content),
                response_url,
                create_time: time_at(&v),
            }))
        }
        "stream" => {
            let stream_id = str_at(&v, "/stream/id").ok_or_else(|| malformed("a stream poll without stream.id"))?.to_owned();
            Ok(Inbound::StreamRefresh(StreamPoll { stream_id, msgid, chat_id, user }))
        }
        "event" => {
            let kind = str_at(&v, "/event/eventtype").unwrap_or_default();
            if kind != "template_card_event" {
                return Ok(Inbound::Ignored { kind: format!("bot event {kind}"), dedupe_key: dedupe });
            }
            // The docs nest the click under `event.template_card_event`; the node SDK puts it
            // on `event` itself (notes Q1, UNCERTAIN which is live): read both.
            let field = |name: &str| str_at(&v, &format!("/event/template_card_event/{name}")).or_else(|| str_at(&v, &format!("/event/{name}")));
            let (event_key, task_id) = (field("event_key").unwrap_or_default().to_owned(), field("task_id").unwrap_or_default().to_owned());
            if user.is_empty() {
                return Err(malformed("a card event without from.userid"));
            }
            let create_time = time_at(&v);
            let when = create_time.map(|t| t.secs().to_string()).unwrap_or_default();
            let dedupe_key = dedupe.unwrap_or_else(|| format!("bot-ev:{}", short_hash(&[&user, &when, &task_id, &event_key])));
            Ok(Inbound::CardAction(CardEvent {
                channel: Channel::Bot,
                user,
                event_key,
                task_id,
                card_type: field("card_type").map(str::to_owned),
                menu: false,
                reply: response_url.map(ReplyHandle::ResponseUrl),
                chat_id,
                create_time,
                dedupe_key,
            }))
        }
        other => Ok(Inbound::Ignored { kind: format!("bot {other} message"), dedupe_key: dedupe }),
    }
}

#[cfg(test)]
#[path = "inbound_tests.rs"]
mod tests;
