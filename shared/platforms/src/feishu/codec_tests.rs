use super::*;
use crate::feishu::{encrypt, signature, FEISHU_BASE};
use std::collections::HashMap;
use warroom_core::incident::{Severity, Status};

const KEY: &str = "test key";
const TOKEN: &str = "vtok";
const NOW: i64 = 1_763_715_600; // seconds

fn creds(encrypt_key: &str) -> FeishuCredentials {
    FeishuCredentials {
        app_id: "cli_1".into(),
        app_secret: "s".into(),
        verification_token: TOKEN.into(),
        encrypt_key: encrypt_key.into(),
        base_url: FEISHU_BASE.into(),
    }
}

/// A request as Feishu sends it: `{"encrypt": …}` signed with `sign_key` at `ts`.
struct Req {
    body: Vec<u8>,
    headers: HashMap<String, String>,
}

impl Req {
    fn sealed(plain: &Value, key: &str, ts: i64) -> Self {
        let body = json!({"encrypt": encrypt(key, &plain.to_string())}).to_string().into_bytes();
        let ts = ts.to_string();
        let headers = HashMap::from([
            ("x-lark-request-timestamp".to_string(), ts.clone()),
            ("x-lark-request-nonce".to_string(), "n1".to_string()),
            ("x-lark-signature".to_string(), signature(&ts, "n1", key, &body)),
        ]);
        Self { body, headers }
    }
    fn plain(plain: &Value) -> Self {
        Self { body: plain.to_string().into_bytes(), headers: HashMap::new() }
    }
    fn without(mut self, header: &str) -> Self {
        self.headers.remove(header);
        self
    }
    fn with(mut self, header: &str, value: &str) -> Self {
        self.headers.insert(header.into(), value.into());
        self
    }
    fn run<T>(&self, f: impl FnOnce(&RawRequest<'_>) -> T) -> T {
        let lookup = |name: &str| self.headers.get(name).cloned();
        f(&RawRequest { method: "POST", query: "", header: &lookup, body: &self.body, now: Timestamp::from_secs(NOW) })
    }
}

fn event(kind: &str, event: Value) -> Value {
    json!({"schema": "2.0", "header": {"event_id": "ev_1", "event_type": kind, "create_time": "1763715600000", "token": TOKEN, "app_id": "cli_1", "tenant_key": "t"}, "event": event})
}

fn message_event(text: &str, chat_type: &str) -> Value {
    event(
        "im.message.receive_v1",
        json!({
            "sender": {"sender_id": {"open_id": "ou_alice"}, "sender_type": "user"},
            "message": {"message_id": "om_1", "create_time": "1763715600123", "chat_id": "oc_room", "chat_type": chat_type,
                "message_type": "text", "content": json!({"text": text}).to_string(),
                "mentions": [
                    {"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "Warroom"},
                    {"key": "@_user_2", "id": {"open_id": "ou_bob"}, "name": "Bob"}]}
        }),
    )
}

fn decode(codec: &FeishuCodec, req: &Req) -> Result<EventDelivery, CallbackError> {
    req.run(|r| codec.decode_event(r))
}

#[test]
fn a_signed_encrypted_message_arrives_with_the_bot_mention_removed() {
    let codec = FeishuCodec::new(creds(KEY)).with_bot_open_id("ou_bot");
    let d = decode(&codec, &Req::sealed(&message_event("@_user_1 ack cc @_user_2", "group"), KEY, NOW)).unwrap();
    assert_eq!(d.delivery_id.as_deref(), Some("ev_1"));
    let ImEvent::Message { chat, message, mentions_bot } = d.event else { panic!("{:?}", d.event) };
    assert_eq!(chat, ChatId::new("oc_room"));
    assert!(mentions_bot);
    assert_eq!(message.text, "ack cc @Bob");
    assert_eq!((message.id.as_str(), message.author.as_str(), message.at), ("om_1", "ou_alice", Timestamp(1_763_715_600_123)));
}

#[test]
fn without_the_bot_id_mentions_keep_their_names_and_only_direct_chats_count() {
    let codec = FeishuCodec::new(creds(KEY));
    let group = decode(&codec, &Req::sealed(&message_event("@_user_1 hi", "group"), KEY, NOW)).unwrap();
    assert!(matches!(group.event, ImEvent::Message { mentions_bot: false, ref message, .. } if message.text == "@Warroom hi"));
    let direct = decode(&codec, &Req::sealed(&message_event("status?", "p2p"), KEY, NOW)).unwrap();
    assert!(matches!(direct.event, ImEvent::Message { mentions_bot: true, .. }));
}

#[test]
fn a_bad_signature_is_refused() {
    let codec = FeishuCodec::new(creds(KEY));
    let forged = Req::sealed(&message_event("ack", "group"), KEY, NOW).with("x-lark-signature", &"0".repeat(64));
    assert_eq!(decode(&codec, &forged).unwrap_err(), CallbackError::BadSignature);
    // Signed with another key (so also encrypted with it): refused before decryption.
    assert_eq!(decode(&codec, &Req::sealed(&message_event("ack", "group"), "other key", NOW)).unwrap_err(), CallbackError::BadSignature);
    // An unsigned event (not a handshake) is refused too.
    let unsigned = Req::sealed(&message_event("ack", "group"), KEY, NOW).without("x-lark-signature");
    assert_eq!(decode(&codec, &unsigned).unwrap_err(), CallbackError::BadSignature);
}

#[test]
fn a_stale_or_future_timestamp_is_refused_as_a_possible_replay() {
    let codec = FeishuCodec::new(creds(KEY));
    let plain = message_event("ack", "group");
    assert_eq!(decode(&codec, &Req::sealed(&plain, KEY, NOW - 301)).unwrap_err(), CallbackError::Stale);
    assert_eq!(decode(&codec, &Req::sealed(&plain, KEY, NOW + 301)).unwrap_err(), CallbackError::Stale);
    assert!(decode(&codec, &Req::sealed(&plain, KEY, NOW - 299)).is_ok());
}

/// Found by fuzzing (fuzz target feishu_events, `~ts` inputs): a correctly signed timestamp
/// near i64::MIN overflowed the skew subtraction (a panic in debug builds).
#[test]
fn a_signed_timestamp_at_the_ends_of_i64_is_stale_not_a_panic() {
    let codec = FeishuCodec::new(creds(KEY));
    let plain = message_event("ack", "group");
    for ts in [i64::MIN, i64::MIN + 1, i64::MAX] {
        assert_eq!(decode(&codec, &Req::sealed(&plain, KEY, ts)).unwrap_err(), CallbackError::Stale, "{ts}");
    }
}

#[test]
fn a_wrong_verification_token_is_refused() {
    let codec = FeishuCodec::new(creds(KEY));
    let mut plain = message_event("ack", "group");
    plain["header"]["token"] = json!("not the token");
    assert_eq!(decode(&codec, &Req::sealed(&plain, KEY, NOW)).unwrap_err(), CallbackError::BadSignature);
}

#[test]
fn garbage_is_refused_without_panicking() {
    let codec = FeishuCodec::new(creds(KEY));
    let not_json = Req { body: b"\xff\x00garbage".to_vec(), headers: HashMap::new() };
    assert!(matches!(decode(&codec, &not_json), Err(CallbackError::Malformed(_))));
    let not_encrypted = Req::plain(&message_event("ack", "group"));
    assert_eq!(decode(&codec, &not_encrypted).unwrap_err(), CallbackError::BadSignature);
    let mut bad_cipher = Req::sealed(&json!({}), KEY, NOW);
    bad_cipher.body = json!({"encrypt": "AAAA"}).to_string().into_bytes();
    let ts = NOW.to_string();
    let sig = signature(&ts, "n1", KEY, &bad_cipher.body);
    assert!(matches!(decode(&codec, &bad_cipher.with("x-lark-signature", &sig)), Err(CallbackError::Malformed(_))));
}

#[test]
fn the_url_handshake_answers_the_challenge_even_unsigned() {
    let codec = FeishuCodec::new(creds(KEY));
    let challenge = json!({"challenge": "c-123", "type": "url_verification", "token": TOKEN});
    let d = decode(&codec, &Req::sealed(&challenge, KEY, NOW).without("x-lark-signature")).unwrap();
    let ImEvent::Handshake(answer) = d.event else { panic!() };
    assert_eq!((answer.status, answer.content_type), (200, "application/json"));
    assert_eq!(serde_json::from_slice::<Value>(&answer.body).unwrap(), json!({"challenge": "c-123"}));
    let wrong = json!({"challenge": "c", "type": "url_verification", "token": "nope"});
    assert_eq!(decode(&codec, &Req::sealed(&wrong, KEY, NOW).without("x-lark-signature")).unwrap_err(), CallbackError::BadSignature);
}

#[test]
fn a_disbanded_chat_and_a_stopped_app_are_reported() {
    let codec = FeishuCodec::new(creds(KEY));
    let gone = decode(&codec, &Req::sealed(&event("im.chat.disbanded_v1", json!({"chat_id": "oc_room"})), KEY, NOW)).unwrap();
    assert_eq!(gone.event, ImEvent::ChatGone { chat: ChatId::new("oc_room") });
    let v1 = |status: &str| json!({"uuid": "u1", "ts": "1", "token": TOKEN, "type": "event_callback", "event": {"type": "app_status_change", "app_id": "cli_1", "status": status}});
    let stopped = decode(&codec, &Req::sealed(&v1("stop_by_tenant"), KEY, NOW)).unwrap();
    assert_eq!((stopped.delivery_id.as_deref(), stopped.event), (Some("u1"), ImEvent::AppRevoked));
    assert!(matches!(decode(&codec, &Req::sealed(&v1("start_by_tenant"), KEY, NOW)).unwrap().event, ImEvent::Ignored(_)));
    let other = decode(&codec, &Req::sealed(&event("im.message.reaction.created_v1", json!({})), KEY, NOW)).unwrap();
    assert_eq!(other.event, ImEvent::Ignored("im.message.reaction.created_v1".into()));
}

#[test]
fn unencrypted_callbacks_are_checked_by_token_alone() {
    let codec = FeishuCodec::new(creds(""));
    assert!(decode(&codec, &Req::plain(&message_event("ack", "group"))).is_ok());
    let mut wrong = message_event("ack", "group");
    wrong["header"]["token"] = json!("x");
    assert_eq!(decode(&codec, &Req::plain(&wrong)).unwrap_err(), CallbackError::BadSignature);
    let mut nothing = creds("");
    nothing.verification_token.clear();
    assert_eq!(decode(&FeishuCodec::new(nothing), &Req::plain(&message_event("ack", "group"))).unwrap_err(), CallbackError::BadSignature);
}

fn click_event(value: Value) -> Value {
    event(
        "card.action.trigger",
        json!({
            "operator": {"tenant_key": "t", "open_id": "ou_alice"},
            "token": "c-tok",
            "action": {"tag": "button", "value": value},
            "host": "im_message",
            "context": {"open_message_id": "om_card", "open_chat_id": "oc_room"}
        }),
    )
}

#[test]
fn a_button_click_decodes_to_its_incident_action_user_and_chat() {
    let codec = FeishuCodec::new(creds(KEY));
    let req = Req::sealed(&click_event(json!({"incident_id": "inc_1", "action": "snooze:30"})), KEY, NOW);
    let click = req.run(|r| codec.decode_click(r)).unwrap();
    assert_eq!(click.user, ImUserId::new("ou_alice"));
    assert_eq!(click.incident_id, IncidentId::new("inc_1"));
    assert_eq!(click.action, CardAction::Snooze { minutes: 30 });
    assert_eq!(click.chat_id, Some(ChatId::new("oc_room")));
    assert_eq!(click.delivery_id.as_deref(), Some("ev_1"));
    assert_eq!((click.installation, click.reply_to), (None, None));
    // A JSON-encoded value is tolerated; an unknown action or a handshake is not a click.
    let encoded = Req::sealed(&click_event(json!(r#"{"incident_id":"inc_1","action":"ack"}"#)), KEY, NOW);
    assert_eq!(encoded.run(|r| codec.decode_click(r)).unwrap().action, CardAction::Acknowledge);
    let unknown = Req::sealed(&click_event(json!({"incident_id": "inc_1", "action": "snooze:7"})), KEY, NOW);
    assert!(matches!(unknown.run(|r| codec.decode_click(r)), Err(CallbackError::Unsupported(_))));
    let handshake = Req::sealed(&json!({"challenge": "c", "type": "url_verification", "token": TOKEN}), KEY, NOW);
    assert!(matches!(handshake.run(|r| codec.decode_click(r)), Err(CallbackError::Unsupported(_))));
    let forged = Req::sealed(&click_event(json!({"incident_id": "inc_1", "action": "ack"})), KEY, NOW - 600);
    assert_eq!(forged.run(|r| codec.decode_click(r)).unwrap_err(), CallbackError::Stale);
}

#[test]
fn the_click_answer_carries_a_toast_and_the_new_card() {
    let codec = FeishuCodec::new(creds(KEY));
    let card = Card {
        incident_id: "inc_1".into(),
        title: "t".into(),
        status: Status::Acknowledged,
        severity: Severity::Info,
        snoozed_until: None,
        fields: vec![],
        actions: vec![],
        url: None,
    };
    let with_card: Value = serde_json::from_slice(&codec.click_reply("Acknowledged", Some(&card)).body).unwrap();
    assert_eq!(with_card["toast"], json!({"type": "success", "content": "Acknowledged"}));
    assert_eq!(with_card["card"]["type"], "raw");
    assert_eq!(with_card["card"]["data"], card_json(&card));
    let reply = codec.click_reply("Link your account first", None);
    assert_eq!((reply.status, reply.content_type), (200, "application/json"));
    let without: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(without, json!({"toast": {"type": "info", "content": "Link your account first"}}));
    assert_eq!(codec.event_ack().body, b"{}");
}
