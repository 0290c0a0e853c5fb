//! DingTalk callbacks. Three kinds arrive, told apart by what carries their signature (one
//! URL may serve several, and the card-actions and events routes both hand us whatever came):
//! - `msg_signature` (or `signature`) in the query: event subscription (ref §2a), an
//!   encrypted `{"encrypt"}` body. Checks: signature → freshness → decryption with an
//!   accepted owner key. Answered with the encrypted `success` (check_url included).
//! - `x-ddpaas-signature` header: a card click (notes Q6). Checks: signature → freshness.
//! - `sign` + `timestamp` headers: a robot message (ref §2b, notes Q7). Same checks.
//!
//! Replays: every kind is refused once its timestamp is out of its window, and each
//! delivery carries an id (the event's plaintext digest, the robot's `msgId`, a digest of
//! the click) that the caller de-duplicates on.

use super::card::{click_answer, ID_SEPARATOR};
use super::crypto::{CryptoError, EventCrypto};
use super::sign::{
    timestamp_millis, verify_card_signature, verify_robot_signature, CARD_SIGN_HEADER, CARD_TIMESTAMP_HEADER, ROBOT_SIGN_HEADER, ROBOT_TIMESTAMP_HEADER,
};
use super::text::message_text;
use super::{short_hash, DingTalkCredentials};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom_core::*;

const JSON: &str = "application/json";
/// Event pushes carry their signing time (ms); DingTalk states no window and no retry policy
/// (ref §2a, UNCERTAIN), so we take the robot page's hour.
const EVENT_WINDOW: Duration = Duration::from_secs(60 * 60);
/// The answer to the URL check: `check_url` for apps, `check_*_suite_url` for ISV suites (D2).
const URL_CHECKS: &[&str] = &["check_url", "check_create_suite_url", "check_update_suite_url"];

/// What a request is, by where its signature travels.
enum Kind {
    Event { signature: String, timestamp: String, nonce: String },
    Card,
    Robot,
}

/// How the last decoded event must be acknowledged (see [`CallbackCodec::event_ack`], which
/// takes no request). The callers decode and acknowledge one request on one codec instance
/// (a codec per request from the factory; one request at a time per Lambda instance).
#[derive(Clone, Debug, PartialEq)]
enum Ack {
    /// The encrypted `success`, for the owner key the event was encrypted for.
    Encrypted(String),
    /// Any 200: robot messages (a body without `msgtype` sends no reply — UNCERTAIN).
    Plain,
}

pub struct DingTalkCodec {
    credentials: DingTalkCredentials,
    crypto: Option<EventCrypto>,
    clock: Arc<dyn Clock>,
    last: Mutex<Option<Ack>>,
}

impl DingTalkCodec {
    /// Without a valid token and aes_key, event-subscription pushes are refused; robot
    /// messages and card clicks still verify with their own secrets.
    pub fn new(credentials: DingTalkCredentials) -> Self {
        let crypto = match (credentials.event_token.is_empty(), EventCrypto::new(&credentials.event_token, &credentials.event_aes_key)) {
            (false, Ok(c)) => Some(c),
            (_, Err(e)) if !credentials.event_aes_key.is_empty() => {
                tracing::warn!(client_id = %credentials.client_id, error = %e, "event subscription disabled: unusable aes_key");
                None
            }
            _ => None,
        };
        Self { credentials, crypto, clock: Arc::new(SystemClock), last: Mutex::new(None) }
    }

    /// The clock whose time goes into the encrypted acknowledgement (it is only signed, not
    /// checked by DingTalk, ref §2a; verification uses the request's `now`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn kind(request: &RawRequest<'_>) -> Option<Kind> {
        let query: Vec<(String, String)> = serde_urlencoded::from_str(request.query).unwrap_or_default();
        let get = |names: &[&str]| names.iter().find_map(|n| query.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()));
        // The README's Java sample falls back to `signature` / `timestamp` (ref §2a).
        if let Some(signature) = get(&["msg_signature", "signature"]) {
            let timestamp = get(&["timeStamp", "timestamp"]).unwrap_or_default();
            return Some(Kind::Event { signature, timestamp, nonce: get(&["nonce"]).unwrap_or_default() });
        }
        if (request.header)(CARD_SIGN_HEADER).is_some() {
            return Some(Kind::Card);
        }
        ((request.header)(ROBOT_SIGN_HEADER).is_some()).then_some(Kind::Robot)
    }

    fn remember(&self, ack: Ack) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(ack);
    }

    fn success(&self, owner: &str) -> RawResponse {
        let Some(crypto) = &self.crypto else { return respond(json!({})) };
        use rand::RngCore;
        let mut nonce = [0u8; 8];
        rand::rng().fill_bytes(&mut nonce);
        respond(crypto.success_reply(owner, &self.clock.now().millis().to_string(), &hex::encode(nonce)))
    }

    /// Verifies and decrypts an event push: the plaintext and the owner key it was for.
    fn open_event(&self, request: &RawRequest<'_>, signature: &str, timestamp: &str, nonce: &str) -> Result<(Value, String), CallbackError> {
        let crypto = self.crypto.as_ref().ok_or(CallbackError::BadSignature)?;
        let body: Value = serde_json::from_slice(request.body).map_err(|_| CallbackError::Malformed("the body is not JSON".into()))?;
        let encrypt = body.get("encrypt").and_then(Value::as_str).ok_or_else(|| CallbackError::Malformed("no encrypt field".into()))?;
        if !crypto.verify(signature, timestamp, nonce, encrypt) {
            return Err(CallbackError::BadSignature);
        }
        let ts = timestamp_millis(timestamp).ok_or(CallbackError::BadSignature)?;
        if request.now.millis().abs_diff(ts) > EVENT_WINDOW.as_millis() as u64 {
            return Err(CallbackError::Stale);
        }
        for owner in self.credentials.owner_keys() {
            match crypto.decrypt(encrypt, &[owner]) {
                Ok(plain) => {
                    let v = serde_json::from_str(&plain).map_err(|_| CallbackError::Malformed("the decrypted payload is not JSON".into()))?;
                    return Ok((v, owner.to_owned()));
                }
                Err(CryptoError::WrongOwner) => continue,
                Err(CryptoError::NotBase64 | CryptoError::NotBlocks) => return Err(CallbackError::Malformed("the encrypted payload is not AES blocks".into())),
                // Signed with our token yet undecryptable: a wrong aes_key or tampering.
                Err(_) => return Err(CallbackError::BadSignature),
            }
        }
        Err(CallbackError::BadSignature)
    }

    fn event(&self, request: &RawRequest<'_>, signature: &str, timestamp: &str, nonce: &str) -> Result<EventDelivery, CallbackError> {
        let (v, owner) = self.open_event(request, signature, timestamp, nonce)?;
        self.remember(Ack::Encrypted(owner.clone()));
        let kind = v.get("EventType").and_then(Value::as_str).unwrap_or_default();
        if URL_CHECKS.contains(&kind) {
            return Ok(EventDelivery { delivery_id: None, installation: None, event: ImEvent::Handshake(self.success(&owner)) });
        }
        let id = v.get("EventId").or_else(|| v.get("eventId")).and_then(Value::as_str).map(str::to_owned);
        // Without an event id the plaintext (which carries the event's TimeStamp) identifies it.
        let id = id.unwrap_or_else(|| format!("sha:{}", short_hash(&[&v.to_string()])));
        let event = match kind {
            "chat_disband" => ImEvent::ChatGone { chat: chat_of(&v)? },
            "chat_add_member" => match users_of(&v).first() {
                Some(user) => ImEvent::MemberJoined { chat: chat_of(&v)?, user: ImUserId::new(*user) },
                None => ImEvent::Ignored(kind.to_owned()),
            },
            other => ImEvent::Ignored(other.to_owned()),
        };
        Ok(EventDelivery { delivery_id: Some(id), installation: None, event })
    }

    fn robot(&self, request: &RawRequest<'_>) -> Result<EventDelivery, CallbackError> {
        let (ts, sign) = ((request.header)(ROBOT_TIMESTAMP_HEADER), (request.header)(ROBOT_SIGN_HEADER));
        verify_robot_signature(&self.credentials.robot_sign_keys(), ts.as_deref(), sign.as_deref(), request.now)?;
        self.remember(Ack::Plain);
        let body: Value = serde_json::from_slice(request.body).map_err(|_| CallbackError::Malformed("the body is not JSON".into()))?;
        let chat = body.get("conversationId").and_then(Value::as_str).ok_or_else(|| CallbackError::Malformed("message without conversationId".into()))?;
        let id = body.get("msgId").and_then(Value::as_str).map(str::to_owned);
        let Some(text) = message_text(&body) else {
            let kind = body.get("msgtype").and_then(Value::as_str).unwrap_or("unknown");
            return Ok(EventDelivery { delivery_id: id, installation: None, event: ImEvent::Ignored(format!("{kind} message")) });
        };
        // Robots are sent @mentions and 1:1 messages only (notes Q7); `isInAtList` says which.
        let direct = body.get("conversationType").and_then(Value::as_str) == Some("1");
        let mentions_bot = direct || body.get("isInAtList").and_then(Value::as_bool).unwrap_or(true);
        // `senderStaffId` is the userid every API takes; `senderId` (an encrypted dingtalkId)
        // only when there is none (a user of another organisation).
        let author = ["senderStaffId", "senderId"].iter().find_map(|k| body.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty())).unwrap_or_default();
        let message = ChatMessage {
            id: id.clone().unwrap_or_default(),
            at: Timestamp(body.get("createAt").and_then(Value::as_i64).unwrap_or_else(|| request.now.millis())),
            author: ImUserId::new(author),
            text,
        };
        Ok(EventDelivery { delivery_id: id, installation: None, event: ImEvent::Message { chat: ChatId::new(chat), message, mentions_bot } })
    }

    fn verify_card(&self, request: &RawRequest<'_>) -> Result<String, CallbackError> {
        let ts = (request.header)(CARD_TIMESTAMP_HEADER);
        verify_card_signature(self.credentials.card_secret(), ts.as_deref(), (request.header)(CARD_SIGN_HEADER).as_deref(), request.now)?;
        Ok(ts.unwrap_or_default())
    }
}

/// The group of a chat event. Old-style callbacks name it `ChatId` (the chatid, not the
/// openConversationId our rooms are known by); whether subscription events also carry an
/// `OpenConversationId` is UNCERTAIN, so that is preferred when present.
fn chat_of(v: &Value) -> Result<ChatId, CallbackError> {
    ["OpenConversationId", "openConversationId", "ChatId", "chatId"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .map(ChatId::new)
        .ok_or_else(|| CallbackError::Malformed("a chat event without a chat id".into()))
}

/// `UserId` of chat member events: a list of userids (old callback field set).
fn users_of(v: &Value) -> Vec<&str> {
    match v.get("UserId") {
        Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(id)) => vec![id.as_str()],
        _ => vec![],
    }
}

fn respond(body: Value) -> RawResponse {
    RawResponse { status: 200, content_type: JSON, body: body.to_string().into_bytes() }
}

/// The clicked button: `params.action` / `params.incident_id` (a custom template's button
/// params), else the button id `<action>|<incident>` in `actionIds` (ours, see `card`).
fn clicked(content: &Value) -> Option<(String, String)> {
    let private = content.get("cardPrivateData")?;
    let params = private.get("params");
    let from_params = params.and_then(|p| Some((p.get("action")?.as_str()?.to_owned(), p.get("incident_id")?.as_str()?.to_owned())));
    from_params.or_else(|| {
        let id = private.get("actionIds")?.as_array()?.iter().filter_map(Value::as_str).find(|id| id.contains(ID_SEPARATOR))?;
        let (action, incident) = id.split_once(ID_SEPARATOR)?;
        Some((action.to_owned(), incident.to_owned()))
    })
}

#[async_trait::async_trait]
impl CallbackCodec for DingTalkCodec {
    fn decode_click(&self, request: &RawRequest<'_>) -> Result<Click, CallbackError> {
        if !matches!(Self::kind(request), Some(Kind::Card)) {
            return Err(CallbackError::Unsupported("not a card callback (no x-ddpaas-signature)".into()));
        }
        let ts = self.verify_card(request)?;
        let body: Value = serde_json::from_slice(request.body).map_err(|_| CallbackError::Malformed("the body is not JSON".into()))?;
        if let Some(kind) = body.get("type").and_then(Value::as_str).filter(|t| *t != "actionCallback") {
            return Err(CallbackError::Unsupported(format!("card callback type {kind}")));
        }
        // `content` is a JSON string (notes Q6); tolerate an object.
        let content = match body.get("content") {
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
            Some(other) => other.clone(),
            None => Value::Null,
        };
        let (action, incident) = clicked(&content).ok_or_else(|| CallbackError::Unsupported("a button without an incident".into()))?;
        let action = CardAction::parse(&action).ok_or_else(|| CallbackError::Unsupported(format!("action {action:?}")))?;
        let user = body.get("userId").and_then(Value::as_str).filter(|u| !u.is_empty()).ok_or_else(|| CallbackError::Malformed("no userId".into()))?;
        let track = body.get("outTrackId").and_then(Value::as_str).unwrap_or_default();
        Ok(Click {
            user: ImUserId::new(user),
            incident_id: IncidentId::new(incident),
            action,
            // The callback names the card, not its group (notes Q6).
            chat_id: body.get("openConversationId").and_then(Value::as_str).map(ChatId::new),
            delivery_id: Some(format!("click:{}", short_hash(&[&ts, track, user, &content.to_string()]))),
            installation: None,
            reply_to: None,
        })
    }

    fn click_reply(&self, message: &str, card: Option<&Card>) -> RawResponse {
        respond(click_answer(message, card))
    }

    fn decode_event(&self, request: &RawRequest<'_>) -> Result<EventDelivery, CallbackError> {
        match Self::kind(request) {
            Some(Kind::Event { signature, timestamp, nonce }) => self.event(request, &signature, &timestamp, &nonce),
            Some(Kind::Robot) => self.robot(request),
            Some(Kind::Card) => {
                // A click sent to the events URL: verified here, decoded by decode_click.
                self.verify_card(request)?;
                Ok(EventDelivery { delivery_id: None, installation: None, event: ImEvent::Ignored("card callback".into()) })
            }
            None => Err(CallbackError::BadSignature),
        }
    }

    /// The encrypted `success` after an event push (DingTalk counts anything else as a
    /// failed push, ref §2a), `{}` after a robot message.
    fn event_ack(&self) -> RawResponse {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match last {
            Some(Ack::Plain) => respond(json!({})),
            Some(Ack::Encrypted(owner)) => self.success(&owner),
            None => self.success(&self.credentials.client_id),
        }
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
