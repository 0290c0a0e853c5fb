//! The fake platform's card callbacks: a small signed JSON format, verified like the real
//! ones are (HMAC over timestamp and body, a five-minute window), so the routers' handling
//! of forged, stale and malformed callbacks is tested for real.

use hmac::{KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use warroom_core::*;

/// The fake app's signing secret.
pub const SIGNING_SECRET: &[u8] = b"fake-signing-secret";
pub const SIGNATURE_HEADER: &str = "x-fake-signature";
pub const TIMESTAMP_HEADER: &str = "x-fake-timestamp";
const WINDOW_SECS: i64 = 300;

pub fn signature(timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(SIGNING_SECRET).expect("any key length");
    mac.update(format!("{timestamp}:").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A click body as the fake platform sends it.
pub fn click_body(user: &str, incident: &IncidentId, action: CardAction, delivery_id: &str) -> Vec<u8> {
    json!({"user": user, "incident_id": incident, "action": action.to_value(), "delivery_id": delivery_id}).to_string().into_bytes()
}

/// Signed headers for a fake callback body.
pub fn signed_headers(body: &[u8], now: Timestamp) -> [(&'static str, String); 2] {
    let ts = now.secs();
    [(TIMESTAMP_HEADER, ts.to_string()), (SIGNATURE_HEADER, signature(ts, body))]
}

fn verified_json(request: &RawRequest<'_>) -> Result<Value, CallbackError> {
    let ts: i64 = (request.header)(TIMESTAMP_HEADER).and_then(|t| t.parse().ok()).ok_or(CallbackError::BadSignature)?;
    let given = (request.header)(SIGNATURE_HEADER).ok_or(CallbackError::BadSignature)?;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(SIGNING_SECRET).expect("any key length");
    mac.update(format!("{ts}:").as_bytes());
    mac.update(request.body);
    let given = hex::decode(given).map_err(|_| CallbackError::BadSignature)?;
    mac.verify_slice(&given).map_err(|_| CallbackError::BadSignature)?;
    if (request.now.secs() - ts).abs() > WINDOW_SECS {
        return Err(CallbackError::Stale);
    }
    serde_json::from_slice(request.body).map_err(|e| CallbackError::Malformed(e.to_string()))
}

pub struct FakeCodec;

#[async_trait::async_trait]
impl CallbackCodec for FakeCodec {
    fn decode_click(&self, request: &RawRequest<'_>) -> Result<Click, CallbackError> {
        let v = verified_json(request)?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).ok_or_else(|| CallbackError::Malformed(format!("missing {k}")));
        let action = CardAction::parse(field("action")?).ok_or_else(|| CallbackError::Unsupported(format!("action {:?}", v["action"])))?;
        Ok(Click {
            user: field("user")?.into(),
            incident_id: field("incident_id")?.into(),
            action,
            chat_id: v.get("chat_id").and_then(Value::as_str).map(Into::into),
            delivery_id: v.get("delivery_id").and_then(Value::as_str).map(str::to_owned),
            installation: None,
            reply_to: None,
        })
    }

    fn decode_event(&self, request: &RawRequest<'_>) -> Result<EventDelivery, CallbackError> {
        let v = verified_json(request)?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).ok_or_else(|| CallbackError::Malformed(format!("missing {k}")));
        let event = match field("type")? {
            "challenge" => ImEvent::Handshake(RawResponse {
                status: 200,
                content_type: "application/json",
                body: json!({"challenge": field("challenge")?}).to_string().into_bytes(),
            }),
            "message" => ImEvent::Message {
                chat: field("chat")?.into(),
                message: ChatMessage { id: field("id")?.into(), at: request.now, author: field("user")?.into(), text: field("text")?.into() },
                mentions_bot: v.get("mention").and_then(Value::as_bool).unwrap_or(false),
            },
            "chat_gone" => ImEvent::ChatGone { chat: field("chat")?.into() },
            "revoked" => ImEvent::AppRevoked,
            other => ImEvent::Ignored(format!("event type {other}")),
        };
        Ok(EventDelivery { delivery_id: v.get("event_id").and_then(Value::as_str).map(str::to_owned), installation: None, event })
    }

    fn event_ack(&self) -> RawResponse {
        RawResponse { status: 200, content_type: "application/json", body: b"{}".to_vec() }
    }

    fn click_reply(&self, message: &str, card: Option<&Card>) -> RawResponse {
        let body = json!({"message": message, "card": card}).to_string().into_bytes();
        RawResponse { status: 200, content_type: "application/json", body }
    }
}
