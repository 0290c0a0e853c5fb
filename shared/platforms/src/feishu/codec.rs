//! Feishu callbacks: events (`im.message.receive_v1`, `im.chat.disbanded_v1`, app status)
//! and card clicks (`card.action.trigger`, schema 2.0), both as `{"encrypt": …}` POSTs when
//! the app has an Encrypt Key (reference §2).
//!
//! Order of checks: the signature over the raw body (timestamp + nonce + Encrypt Key +
//! body) → freshness of `X-Lark-Request-Timestamp` → decryption → the Verification Token.
//! The SDKs do not check freshness (`oapi-sdk-go` `event/dispatcher/dispatcher.go`
//! `VerifySign`); we refuse anything over 5 minutes off, so a captured request cannot be
//! replayed later. The Go SDK skips the signature for `url_verification`, so a handshake
//! may come unsigned: it is accepted only if it decrypts and carries the right token.

use super::crypto::{decrypt, verify_signature};
use super::text::{message_text, replace_placeholders, Placeholder};
use super::{card::card_json, FeishuCredentials};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;
use warroom_core::*;

const MAX_SKEW_SECS: u64 = 300;
const JSON: &str = "application/json";

pub struct FeishuCodec {
    credentials: FeishuCredentials,
    bot_open_id: Option<String>,
}

impl FeishuCodec {
    pub fn new(credentials: FeishuCredentials) -> Self {
        Self { credentials, bot_open_id: None }
    }

    /// The bot's open_id ([`super::FeishuPlatform::bot_open_id`]). Events name mentioned
    /// users only by open_id, so without it no mention can be told to be the bot's: then
    /// `mentions_bot` is true only in direct chats and `@bot ack` keeps its `@Name`.
    pub fn with_bot_open_id(mut self, open_id: impl Into<String>) -> Self {
        self.bot_open_id = Some(open_id.into()).filter(|s: &String| !s.is_empty());
        self
    }

    /// Verifies, decrypts and parses a callback body.
    fn open(&self, request: &RawRequest<'_>) -> Result<Value, CallbackError> {
        let body: Value = serde_json::from_slice(request.body).map_err(|_| CallbackError::Malformed("the body is not JSON".into()))?;
        let key = &self.credentials.encrypt_key;
        let plain = if key.is_empty() {
            body
        } else {
            let encrypted = body.get("encrypt").and_then(Value::as_str).ok_or(CallbackError::BadSignature)?;
            match (request.header)("x-lark-signature") {
                Some(sig) => {
                    let ts = (request.header)("x-lark-request-timestamp").ok_or(CallbackError::BadSignature)?;
                    let nonce = (request.header)("x-lark-request-nonce").unwrap_or_default();
                    if !verify_signature(&ts, &nonce, key, request.body, &sig) {
                        return Err(CallbackError::BadSignature);
                    }
                    let secs: i64 = ts.trim().parse().map_err(|_| CallbackError::BadSignature)?;
                    // abs_diff: `now - secs` overflows for timestamps near i64::MIN (found by fuzzing).
                    if request.now.secs().abs_diff(secs) > MAX_SKEW_SECS {
                        return Err(CallbackError::Stale);
                    }
                    parse_plain(&decrypt(key, encrypted)?)?
                }
                None => {
                    // Unsigned: only a handshake may pass; every failure reads the same.
                    let plain = decrypt(key, encrypted).ok().and_then(|p| serde_json::from_str::<Value>(&p).ok());
                    plain.filter(|v| v["type"] == "url_verification").ok_or(CallbackError::BadSignature)?
                }
            }
        };
        self.check_token(&plain)?;
        Ok(plain)
    }

    /// `header.token` (schema 2.0) or `token` (1.0 and url_verification). With neither an
    /// Encrypt Key nor a Verification Token nothing could be verified: refused.
    fn check_token(&self, plain: &Value) -> Result<(), CallbackError> {
        let expected = &self.credentials.verification_token;
        if expected.is_empty() {
            return if self.credentials.encrypt_key.is_empty() { Err(CallbackError::BadSignature) } else { Ok(()) };
        }
        let given = plain.pointer("/header/token").or_else(|| plain.get("token")).and_then(Value::as_str).unwrap_or_default();
        if given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(())
        } else {
            Err(CallbackError::BadSignature)
        }
    }

    fn message(&self, event: &Value) -> Result<ImEvent, CallbackError> {
        let m = &event["message"];
        let chat = m["chat_id"].as_str().ok_or_else(|| CallbackError::Malformed("message without chat_id".into()))?;
        let kind = m["message_type"].as_str().unwrap_or_default();
        let Some(raw) = message_text(kind, m["content"].as_str().unwrap_or_default()) else {
            return Ok(ImEvent::Ignored(format!("{kind} message")));
        };
        let mut mentions_bot = m["chat_type"] == "p2p";
        let mut placeholders = Vec::new();
        for mention in m["mentions"].as_array().into_iter().flatten() {
            let is_bot = self.bot_open_id.is_some() && mention.pointer("/id/open_id").and_then(Value::as_str) == self.bot_open_id.as_deref();
            mentions_bot |= is_bot;
            let name = mention["name"].as_str().unwrap_or_default();
            let replacement = (!is_bot).then(|| format!("@{name}"));
            placeholders.push(Placeholder { key: mention["key"].as_str().unwrap_or_default().to_owned(), replacement });
        }
        let author = event.pointer("/sender/sender_id/open_id").and_then(Value::as_str).unwrap_or_default();
        let message = ChatMessage {
            id: m["message_id"].as_str().unwrap_or_default().to_owned(),
            at: Timestamp(m["create_time"].as_str().and_then(|t| t.parse().ok()).unwrap_or_default()),
            author: ImUserId::new(author),
            text: replace_placeholders(&raw, &mut placeholders),
        };
        Ok(ImEvent::Message { chat: ChatId::new(chat), message, mentions_bot })
    }
}

fn parse_plain(plain: &str) -> Result<Value, CallbackError> {
    serde_json::from_str(plain).map_err(|_| CallbackError::Malformed("the decrypted payload is not JSON".into()))
}

fn respond(body: Value) -> RawResponse {
    RawResponse { status: 200, content_type: JSON, body: body.to_string().into_bytes() }
}

#[async_trait::async_trait]
impl CallbackCodec for FeishuCodec {
    fn decode_click(&self, request: &RawRequest<'_>) -> Result<Click, CallbackError> {
        let v = self.open(request)?;
        if v["type"] == "url_verification" {
            // The callback URL is verified like the events URL; only decode_event answers it.
            return Err(CallbackError::Unsupported("url_verification: answer it with decode_event".into()));
        }
        let kind = v.pointer("/header/event_type").and_then(Value::as_str).unwrap_or_default();
        if kind != "card.action.trigger" {
            // Includes the legacy unencrypted card.action.trigger_v1 (SHA-1 over the
            // Verification Token), which this codec does not verify.
            return Err(CallbackError::Unsupported(format!("not a card.action.trigger callback ({kind:?})")));
        }
        let event = &v["event"];
        // `action.value` is the object our button carries; tolerate it JSON-encoded.
        let value = match &event["action"]["value"] {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            other => other.clone(),
        };
        let incident = value["incident_id"].as_str().ok_or_else(|| CallbackError::Unsupported("a button without an incident".into()))?;
        let action = value["action"].as_str().and_then(CardAction::parse).ok_or_else(|| CallbackError::Unsupported(format!("action {}", value["action"])))?;
        let user = event.pointer("/operator/open_id").and_then(Value::as_str).ok_or_else(|| CallbackError::Malformed("no operator.open_id".into()))?;
        // node-sdk `channel/normalize/card-action.ts`: the chat is under `context` in 2.0
        // payloads, at the top level in older ones.
        let chat = event.pointer("/context/open_chat_id").or_else(|| event.get("open_chat_id")).and_then(Value::as_str);
        Ok(Click {
            user: ImUserId::new(user),
            incident_id: IncidentId::new(incident),
            action,
            chat_id: chat.map(ChatId::new),
            delivery_id: v.pointer("/header/event_id").and_then(Value::as_str).map(str::to_owned),
            installation: None,
            reply_to: None,
        })
    }

    /// The toast and, when it changed, the new card in the callback answer (reference §2:
    /// `{"toast": {"type", "content"}, "card": {"type": "raw", "data"}}`). The toast type
    /// values (`success`, `info`, …) are UNCERTAIN (third-party source).
    fn click_reply(&self, message: &str, card: Option<&Card>) -> RawResponse {
        let toast_type = if card.is_some() { "success" } else { "info" };
        let mut body = json!({"toast": {"type": toast_type, "content": message}});
        if let Some(card) = card {
            body["card"] = json!({"type": "raw", "data": card_json(card)});
        }
        respond(body)
    }

    fn decode_event(&self, request: &RawRequest<'_>) -> Result<EventDelivery, CallbackError> {
        let v = self.open(request)?;
        let deliver = |delivery_id: Option<&str>, event| Ok(EventDelivery { delivery_id: delivery_id.map(str::to_owned), installation: None, event });
        if v["type"] == "url_verification" {
            let challenge = v["challenge"].as_str().ok_or_else(|| CallbackError::Malformed("url_verification without challenge".into()))?;
            return deliver(None, ImEvent::Handshake(respond(json!({"challenge": challenge}))));
        }
        if v["schema"] == "2.0" {
            let id = v.pointer("/header/event_id").and_then(Value::as_str);
            let kind = v.pointer("/header/event_type").and_then(Value::as_str).unwrap_or_default();
            let event = &v["event"];
            return match kind {
                "im.message.receive_v1" => deliver(id, self.message(event)?),
                "im.chat.disbanded_v1" => {
                    let chat = event["chat_id"].as_str().ok_or_else(|| CallbackError::Malformed("disbanded without chat_id".into()))?;
                    deliver(id, ImEvent::ChatGone { chat: ChatId::new(chat) })
                }
                other => deliver(id, ImEvent::Ignored(other.to_owned())),
            };
        }
        // Schema 1.0: app status events exist only in this protocol (`oapi-sdk-go`
        // `event/dispatcher/ext_event_dispatch.go`: `app_uninstalled` — store apps only —
        // and `app_status_change` with `status` start_by_tenant / stop_by_tenant /
        // stop_by_platform, `service/application/v6/ext_model.go`).
        let id = v["uuid"].as_str();
        let kind = v.pointer("/event/type").and_then(Value::as_str).unwrap_or_default();
        match (kind, v.pointer("/event/status").and_then(Value::as_str)) {
            ("app_uninstalled", _) | ("app_status_change", Some("stop_by_tenant" | "stop_by_platform")) => deliver(id, ImEvent::AppRevoked),
            _ => deliver(id, ImEvent::Ignored(kind.to_owned())),
        }
    }

    /// Any 200 acknowledges; the SDK answers `{"msg":"success"}`, `{}` is enough.
    fn event_ack(&self) -> RawResponse {
        respond(json!({}))
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
