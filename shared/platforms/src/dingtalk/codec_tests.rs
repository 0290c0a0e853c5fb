use super::*;
use crate::dingtalk::{card_param_map, card_signature, robot_signature, test_credentials, API_BASE};
use std::collections::HashMap;
use warroom_core::incident::{Severity, Status};

const NOW_MS: i64 = 1_763_715_600_000;

fn creds() -> DingTalkCredentials {
    test_credentials(API_BASE)
}

fn crypto() -> EventCrypto {
    let c = creds();
    EventCrypto::new(&c.event_token, &c.event_aes_key).unwrap()
}

/// A request as DingTalk sends it.
struct Req {
    query: String,
    body: Vec<u8>,
    headers: HashMap<String, String>,
}

impl Req {
    /// An event push: `plain` encrypted for `owner`, signed at `ts_ms`.
    fn event(plain: &Value, owner: &str, ts_ms: i64) -> Self {
        let c = crypto();
        let encrypt = c.encrypt(&plain.to_string(), owner);
        let ts = ts_ms.to_string();
        let sig = c.signature(&ts, "nonce1", &encrypt);
        Self {
            query: format!("msg_signature={sig}&timeStamp={ts}&nonce=nonce1"),
            body: json!({"encrypt": encrypt}).to_string().into_bytes(),
            headers: HashMap::new(),
        }
    }
    fn robot(body: &Value, secret: &str, ts_ms: i64) -> Self {
        let ts = ts_ms.to_string();
        let headers = HashMap::from([("timestamp".to_string(), ts.clone()), ("sign".to_string(), robot_signature(secret, &ts))]);
        Self { query: String::new(), body: body.to_string().into_bytes(), headers }
    }
    fn card(body: &Value, secret: &str, ts_ms: i64) -> Self {
        let ts = ts_ms.to_string();
        let headers =
            HashMap::from([("x-ddpaas-signature-timestamp".to_string(), ts.clone()), ("x-ddpaas-signature".to_string(), card_signature(secret, &ts))]);
        Self { query: String::new(), body: body.to_string().into_bytes(), headers }
    }
    fn with(mut self, header: &str, value: &str) -> Self {
        self.headers.insert(header.into(), value.into());
        self
    }
    fn run<T>(&self, f: impl FnOnce(&RawRequest<'_>) -> T) -> T {
        let lookup = |name: &str| self.headers.get(name).cloned();
        f(&RawRequest { method: "POST", query: &self.query, header: &lookup, body: &self.body, now: Timestamp(NOW_MS) })
    }
}

fn codec() -> DingTalkCodec {
    DingTalkCodec::new(creds()).with_clock(Arc::new(ManualClock::at(Timestamp(NOW_MS))))
}

fn decode(codec: &DingTalkCodec, req: &Req) -> Result<EventDelivery, CallbackError> {
    req.run(|r| codec.decode_event(r))
}

/// Opens an encrypted `success` answer the way DingTalk would.
fn assert_encrypted_success(answer: &RawResponse, owner: &str) {
    assert_eq!((answer.status, answer.content_type), (200, "application/json"));
    let v: Value = serde_json::from_slice(&answer.body).unwrap();
    let (encrypt, ts, nonce) = (v["encrypt"].as_str().unwrap(), v["timeStamp"].as_str().unwrap(), v["nonce"].as_str().unwrap());
    assert!(crypto().verify(v["msg_signature"].as_str().unwrap(), ts, nonce, encrypt));
    assert_eq!(crypto().decrypt(encrypt, &[owner]).unwrap(), "success");
}

#[test]
fn the_url_check_is_answered_with_an_encrypted_success() {
    let d = decode(&codec(), &Req::event(&json!({"EventType": "check_url"}), "dingappkey", NOW_MS)).unwrap();
    let ImEvent::Handshake(answer) = d.event else { panic!("{:?}", d.event) };
    assert_encrypted_success(&answer, "dingappkey");
    assert_eq!(serde_json::from_slice::<Value>(&answer.body).unwrap()["timeStamp"], NOW_MS.to_string(), "the injected clock");
}

#[test]
fn a_payload_for_the_corp_id_is_accepted_and_answered_for_it() {
    let c = codec();
    let d = decode(&c, &Req::event(&json!({"EventType": "chat_update_title", "ChatId": "chat1", "Title": "x"}), "dingcorp", NOW_MS)).unwrap();
    assert_eq!(d.event, ImEvent::Ignored("chat_update_title".into()));
    assert_encrypted_success(&c.event_ack(), "dingcorp");
}

#[test]
fn a_payload_for_another_owner_is_refused() {
    let err = decode(&codec(), &Req::event(&json!({"EventType": "chat_disband", "ChatId": "c"}), "dingsomeoneelse", NOW_MS)).unwrap_err();
    assert_eq!(err, CallbackError::BadSignature);
}

#[test]
fn a_disbanded_group_is_reported_gone_and_a_joined_member_too() {
    let c = codec();
    let plain = json!({"EventType": "chat_disband", "ChatId": "chat1", "OpenConversationId": "cidROOM", "TimeStamp": 1, "CorpId": "dingcorp"});
    let gone = decode(&c, &Req::event(&plain, "dingappkey", NOW_MS)).unwrap();
    assert_eq!(gone.event, ImEvent::ChatGone { chat: ChatId::new("cidROOM") });
    assert!(gone.delivery_id.as_deref().is_some_and(|id| id.starts_with("sha:")));
    // Same plaintext, freshly encrypted: the same delivery id, so a redelivery is handled once.
    let again = decode(&c, &Req::event(&plain, "dingappkey", NOW_MS)).unwrap();
    assert_eq!(again.delivery_id, gone.delivery_id);
    let only_chat_id = decode(&c, &Req::event(&json!({"EventType": "chat_disband", "ChatId": "chat1"}), "dingappkey", NOW_MS)).unwrap();
    assert_eq!(only_chat_id.event, ImEvent::ChatGone { chat: ChatId::new("chat1") });
    let joined = json!({"EventType": "chat_add_member", "OpenConversationId": "cidROOM", "UserId": ["u7", "u8"], "EventId": "ev1"});
    let d = decode(&c, &Req::event(&joined, "dingappkey", NOW_MS)).unwrap();
    assert_eq!((d.delivery_id.as_deref(), d.event), (Some("ev1"), ImEvent::MemberJoined { chat: ChatId::new("cidROOM"), user: ImUserId::new("u7") }));
    let removed = decode(&c, &Req::event(&json!({"EventType": "chat_remove_member", "ChatId": "c", "UserId": ["u7"]}), "dingappkey", NOW_MS)).unwrap();
    assert_eq!(removed.event, ImEvent::Ignored("chat_remove_member".into()));
    assert!(matches!(decode(&c, &Req::event(&json!({"EventType": "chat_disband"}), "dingappkey", NOW_MS)), Err(CallbackError::Malformed(_))));
}

#[test]
fn a_tampered_event_signature_is_refused() {
    let c = codec();
    let mut req = Req::event(&json!({"EventType": "chat_disband", "ChatId": "c"}), "dingappkey", NOW_MS);
    req.query = req.query.replacen("msg_signature=", "msg_signature=0", 1);
    assert_eq!(decode(&c, &req).unwrap_err(), CallbackError::BadSignature);
    // The body swapped for another correctly encrypted one: the signature no longer covers it.
    let mut swapped = Req::event(&json!({"EventType": "chat_disband", "ChatId": "c"}), "dingappkey", NOW_MS);
    swapped.body = json!({"encrypt": crypto().encrypt(r#"{"EventType":"chat_disband","ChatId":"other"}"#, "dingappkey")}).to_string().into_bytes();
    assert_eq!(decode(&c, &swapped).unwrap_err(), CallbackError::BadSignature);
}

#[test]
fn a_stale_event_is_refused_as_a_possible_replay() {
    let plain = json!({"EventType": "chat_disband", "ChatId": "c"});
    assert_eq!(decode(&codec(), &Req::event(&plain, "dingappkey", NOW_MS - 3_600_001)).unwrap_err(), CallbackError::Stale);
    assert_eq!(decode(&codec(), &Req::event(&plain, "dingappkey", NOW_MS + 3_600_001)).unwrap_err(), CallbackError::Stale);
    assert!(decode(&codec(), &Req::event(&plain, "dingappkey", NOW_MS - 3_599_000)).is_ok());
}

#[test]
fn events_are_refused_when_no_event_crypto_is_configured() {
    let mut no_crypto = creds();
    no_crypto.event_aes_key = "too short".into();
    let c = DingTalkCodec::new(no_crypto);
    assert_eq!(decode(&c, &Req::event(&json!({"EventType": "check_url"}), "dingappkey", NOW_MS)).unwrap_err(), CallbackError::BadSignature);
    assert_eq!(c.event_ack().body, b"{}");
}

#[test]
fn unsigned_or_garbage_requests_are_refused_without_panicking() {
    let c = codec();
    let nothing = Req { query: String::new(), body: b"{}".to_vec(), headers: HashMap::new() };
    assert_eq!(decode(&c, &nothing).unwrap_err(), CallbackError::BadSignature);
    let mut garbage = Req::event(&json!({}), "dingappkey", NOW_MS);
    garbage.body = b"\xff\x00".to_vec();
    assert!(matches!(decode(&c, &garbage), Err(CallbackError::Malformed(_))));
    let ts = NOW_MS.to_string();
    let sig = crypto().signature(&ts, "n", "AAAA");
    let not_blocks = Req { query: format!("msg_signature={sig}&timeStamp={ts}&nonce=n"), body: br#"{"encrypt":"AAAA"}"#.to_vec(), headers: HashMap::new() };
    assert!(matches!(decode(&c, &not_blocks), Err(CallbackError::Malformed(_))));
}

fn robot_message(text: &str) -> Value {
    json!({
        "msgtype": "text", "text": {"content": text}, "msgId": "msg1", "createAt": 1_763_715_599_000i64,
        "conversationType": "2", "conversationId": "cidROOM", "conversationTitle": "war room",
        "senderId": "$:LWCP_v1:$abc", "senderNick": "Ann", "senderStaffId": "u_ann", "chatbotUserId": "$:bot",
        "robotCode": "dinggrouprobot", "isInAtList": true, "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=x"
    })
}

#[test]
fn an_at_mention_of_the_robot_arrives_as_a_message_to_the_bot() {
    let c = codec();
    let d = decode(&c, &Req::robot(&robot_message(" ack "), "app-secret", NOW_MS)).unwrap();
    assert_eq!(d.delivery_id.as_deref(), Some("msg1"));
    let ImEvent::Message { chat, message, mentions_bot } = d.event else { panic!("{:?}", d.event) };
    assert_eq!((chat, mentions_bot), (ChatId::new("cidROOM"), true));
    assert_eq!((message.id.as_str(), message.author.as_str(), message.text.as_str(), message.at), ("msg1", "u_ann", "ack", Timestamp(1_763_715_599_000)));
    assert_eq!(c.event_ack().body, b"{}", "robot messages are acknowledged in clear");
    // Signed with the robot's token instead of the AppSecret (scene-group robots, UNCERTAIN).
    assert!(decode(&c, &Req::robot(&robot_message("ack"), "evtoken", NOW_MS)).is_ok());
}

#[test]
fn robot_messages_that_are_not_for_the_bot_or_not_text_are_told_apart() {
    let c = codec();
    let mut not_at = robot_message("fyi");
    not_at["isInAtList"] = json!(false);
    assert!(matches!(decode(&c, &Req::robot(&not_at, "app-secret", NOW_MS)).unwrap().event, ImEvent::Message { mentions_bot: false, .. }));
    let picture = json!({"msgtype": "picture", "msgId": "m2", "conversationId": "cidROOM", "content": {"downloadCode": "x"}});
    assert_eq!(decode(&c, &Req::robot(&picture, "app-secret", NOW_MS)).unwrap().event, ImEvent::Ignored("picture message".into()));
}

#[test]
fn a_forged_or_stale_robot_message_is_refused() {
    let c = codec();
    assert_eq!(decode(&c, &Req::robot(&robot_message("ack"), "not-the-secret", NOW_MS)).unwrap_err(), CallbackError::BadSignature);
    assert_eq!(decode(&c, &Req::robot(&robot_message("ack"), "app-secret", NOW_MS - 3_600_001)).unwrap_err(), CallbackError::Stale);
    let replayed_with_new_time = Req::robot(&robot_message("ack"), "app-secret", NOW_MS - 7_200_000).with("timestamp", &NOW_MS.to_string());
    assert_eq!(decode(&c, &replayed_with_new_time).unwrap_err(), CallbackError::BadSignature);
}

fn click(content: Value) -> Value {
    json!({"type": "actionCallback", "outTrackId": "wr_abc", "corpId": "dingcorp", "userId": "u_ann", "content": content.to_string()})
}

fn ours(button_id: &str) -> Value {
    json!({"cardPrivateData": {"actionIds": [button_id], "params": {}}})
}

#[test]
fn a_button_click_decodes_to_its_incident_action_and_user() {
    let c = codec();
    let got = Req::card(&click(ours("snooze:30|inc_1")), "card-secret", NOW_MS).run(|r| c.decode_click(r)).unwrap();
    assert_eq!((got.user, got.incident_id, got.action), (ImUserId::new("u_ann"), IncidentId::new("inc_1"), CardAction::Snooze { minutes: 30 }));
    assert!(got.delivery_id.as_deref().is_some_and(|id| id.starts_with("click:")));
    assert_eq!((got.chat_id, got.installation, got.reply_to), (None, None, None));
    // A custom template's button params work as well.
    let params = json!({"cardPrivateData": {"actionIds": ["b1"], "params": {"action": "ack", "incident_id": "inc_2"}}});
    let got = Req::card(&click(params), "card-secret", NOW_MS).run(|r| c.decode_click(r)).unwrap();
    assert_eq!((got.action, got.incident_id), (CardAction::Acknowledge, IncidentId::new("inc_2")));
}

#[test]
fn a_forged_stale_or_foreign_click_is_refused() {
    let c = codec();
    let forged = Req::card(&click(ours("ack|inc_1")), "not-the-secret", NOW_MS);
    assert_eq!(forged.run(|r| c.decode_click(r)).unwrap_err(), CallbackError::BadSignature);
    let stale = Req::card(&click(ours("ack|inc_1")), "card-secret", NOW_MS - 301_000);
    assert_eq!(stale.run(|r| c.decode_click(r)).unwrap_err(), CallbackError::Stale);
    let unknown = Req::card(&click(ours("snooze:7|inc_1")), "card-secret", NOW_MS);
    assert!(matches!(unknown.run(|r| c.decode_click(r)), Err(CallbackError::Unsupported(_))));
    let robot = Req::robot(&robot_message("ack"), "app-secret", NOW_MS);
    assert!(matches!(robot.run(|r| c.decode_click(r)), Err(CallbackError::Unsupported(_))), "not a card callback");
}

#[test]
fn a_replayed_click_carries_the_same_delivery_id() {
    let c = codec();
    let req = Req::card(&click(ours("ack|inc_1")), "card-secret", NOW_MS);
    let (a, b) = (req.run(|r| c.decode_click(r)).unwrap(), req.run(|r| c.decode_click(r)).unwrap());
    assert_eq!(a.delivery_id, b.delivery_id);
    let other = Req::card(&click(ours("resolve|inc_1")), "card-secret", NOW_MS).run(|r| c.decode_click(r)).unwrap();
    assert_ne!(a.delivery_id, other.delivery_id);
}

#[test]
fn a_click_sent_to_the_events_url_is_verified_then_left_to_decode_click() {
    let c = codec();
    let req = Req::card(&click(ours("ack|inc_1")), "card-secret", NOW_MS);
    assert_eq!(decode(&c, &req).unwrap().event, ImEvent::Ignored("card callback".into()));
    assert_eq!(decode(&c, &Req::card(&click(ours("ack|inc_1")), "nope", NOW_MS)).unwrap_err(), CallbackError::BadSignature);
}

#[test]
fn the_click_answer_carries_the_new_card_data() {
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
    let reply = codec().click_reply("Acknowledged", Some(&card));
    assert_eq!((reply.status, reply.content_type), (200, "application/json"));
    let v: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(v["cardData"]["cardParamMap"], Value::Object(card_param_map(&card)));
    assert_eq!(v["userPrivateData"]["cardParamMap"]["notice"], "Acknowledged");
}
