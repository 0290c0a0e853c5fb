//! Callbacks as WeCom sends them, through the port: W1/W2/W4a verbatim, and requests we
//! encrypt and sign with the channel's own keys.

use super::*;
use crate::wecom::{test_credentials, ReplyHandle, StreamPoll, API_BASE};
use serde_json::{json, Value};
use std::collections::HashMap;
use warroom_core::CardAction;

const CORP: &str = "ww1436e0e65a779aee";
const NOW: i64 = 1_790_000_000;

fn creds() -> WeComCredentials {
    test_credentials(API_BASE)
}

fn codec() -> WeComCodec {
    WeComCodec::new(creds()).with_clock(Arc::new(ManualClock::at(Timestamp::from_secs(NOW))))
}

fn app_crypt() -> MsgCrypt {
    MsgCrypt::new(&creds().callback_token, &creds().callback_aes_key).unwrap()
}

fn bot_crypt() -> MsgCrypt {
    MsgCrypt::new(&creds().bot_token, &creds().bot_aes_key).unwrap()
}

/// A request as WeCom sends it.
struct Req {
    method: &'static str,
    query: String,
    body: Vec<u8>,
    now: i64,
}

impl Req {
    fn run<T>(&self, f: impl FnOnce(&RawRequest<'_>) -> T) -> T {
        let headers: HashMap<String, String> = HashMap::new();
        let lookup = |name: &str| headers.get(name).cloned();
        f(&RawRequest { method: self.method, query: &self.query, header: &lookup, body: &self.body, now: Timestamp::from_secs(self.now) })
    }

    fn at(mut self, now: i64) -> Self {
        self.now = now;
        self
    }

    /// An app POST: `plain` encrypted for `receive_id` and signed at `ts`.
    fn app(crypt: &MsgCrypt, plain: &str, receive_id: &str, ts: i64) -> Self {
        let encrypt = crypt.encrypt(plain, receive_id);
        let sig = crypt.signature(&ts.to_string(), "1597212914", &encrypt);
        let body =
            format!("<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>");
        Self { method: "POST", query: format!("msg_signature={sig}&timestamp={ts}&nonce=1597212914"), body: body.into_bytes(), now: NOW }
    }

    /// A smart-bot POST: `plain` encrypted for "" and signed at `ts`.
    fn bot(crypt: &MsgCrypt, plain: &Value, ts: i64) -> Self {
        let encrypt = crypt.encrypt(&plain.to_string(), "");
        let sig = crypt.signature(&ts.to_string(), "n0nce", &encrypt);
        Self {
            method: "POST",
            query: format!("msg_signature={sig}&timestamp={ts}&nonce=n0nce"),
            body: json!({"encrypt": encrypt}).to_string().into_bytes(),
            now: NOW,
        }
    }
}

fn event(codec: &WeComCodec, req: &Req) -> Result<EventDelivery, CallbackError> {
    req.run(|r| codec.decode_event(r))
}

fn click(codec: &WeComCodec, req: &Req) -> Result<Click, CallbackError> {
    req.run(|r| codec.decode_click(r))
}

fn card_event_xml(event: &str, key: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>{NOW}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey><TaskId><![CDATA[task-1]]></TaskId><CardType><![CDATA[button_interaction]]></CardType><ResponseCode><![CDATA[rc-123]]></ResponseCode><AgentID>1000002</AgentID></xml>"
    )
}

#[test]
fn w1_the_app_url_check_answers_the_echo_alone_as_text() {
    let query = "msg_signature=012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=1476416373&nonce=47744683&echostr=fsi1xnbH4yQh0%2BPJxcOdhhK6TDXkjMyhEPA7xB2TGz6b%2Bg7xyAbEkRxN%2F3cNXW9qdqjnoVzEtpbhnFyq6SVHyA%3D%3D";
    let req = Req { method: "GET", query: query.into(), body: vec![], now: 1_476_416_373 };
    let d = event(&codec(), &req).unwrap();
    let ImEvent::Handshake(answer) = d.event else { panic!("{:?}", d.event) };
    assert_eq!((answer.status, answer.content_type, answer.body.as_slice()), (200, TEXT, b"1288432023552776189".as_slice()));
    assert_eq!(d.delivery_id, None);
    // The same echostr unencoded (`+` and `/` raw) verifies too.
    let raw = Req { query: percent_decode(query).unwrap(), ..req };
    assert!(matches!(event(&codec(), &raw).unwrap().event, ImEvent::Handshake(_)));
}

#[test]
fn w4a_the_docs_url_check_with_an_encoded_echostr_verifies() {
    let docs = WeComCredentials {
        corp_id: "wx5823bf96d3bd56c7".into(),
        callback_token: "QDG6eK".into(),
        callback_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C".into(),
        bot_token: String::new(),
        ..creds()
    };
    let query = "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D";
    let req = Req { method: "GET", query: query.into(), body: vec![], now: 1_409_659_589 };
    assert_eq!(req.run(|r| WeComCodec::new(docs).decode_on(Channel::App, r)).unwrap(), Inbound::Verify { echo: "1616140317555161061".into() });
    // W4 is for a CorpID, so the smart bot (ReceiveId "", same keys in `creds`) refuses it.
    assert_eq!(req.run(|r| codec().decode_on(Channel::Bot, r)), Err(CallbackError::BadSignature));
}

#[test]
fn w2_an_app_text_message_is_acknowledged_ignored_and_deduped_on_its_msgid() {
    let body = "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA[Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>";
    let query = "msg_signature=0c3914025cb4b4d68103f6bfc8db550f79dcf48e&timestamp=1476422779&nonce=1597212914";
    let req = Req { method: "POST", query: query.into(), body: body.as_bytes().to_vec(), now: 1_476_422_779 };
    let d = event(&codec(), &req).unwrap();
    assert_eq!(d, EventDelivery { delivery_id: Some("app-msg:1456453720".into()), installation: None, event: ImEvent::Ignored("app text message".into()) });
    assert_eq!(click(&codec(), &req), Err(CallbackError::Unsupported("not a template card event".into())));
    let ack = codec().event_ack();
    assert_eq!((ack.status, ack.body.len()), (200, 0), "an empty 200");
}

#[test]
fn w3_a_json_body_signed_with_the_app_token_opens_but_is_not_an_app_message() {
    let body = r#"{ "tousername": "wx5823bf96d3bd56c7", "encrypt": "cjhLUX7UU4yCSelv1vz7T0zT8huF51bAMVWriNvO1FMegHrQZNrtvRxbwf0fUPsFvwqR0U0fgiJNEA5Y30F2MoI2S7vv3EjVQ68C0cjw9frBoUE2Hj0BvFp9h3u6Vbsg4lc1C8AtHdaN8orKuNKkLRLuYEL52R1J3v8olJGZRLnRdVKIivixmX/eQpzgeExtp20jI1HxRP1AAZ6xZoILdqDPO549LO4WeG+685JRUTdiwcY5fjZlqeMxuT4PpMn1X9OWsS7NRj06Wa5E3Tvg4twjWp39KPfOdRte6P1T4JU=", "agentid": 218 }"#;
    let query = "msg_signature=e3647471e395139e2308c1fa963f2d648a00b90e&timestamp=1409659813&nonce=1372623149";
    let req = Req { method: "POST", query: query.into(), body: body.as_bytes().to_vec(), now: 1_409_659_813 };
    assert!(matches!(event(&codec(), &req), Err(CallbackError::Malformed(_))), "the plaintext is neither XML nor valid JSON");
}

#[test]
fn an_app_button_click_is_a_click_carrying_its_response_code() {
    let req = Req::app(&app_crypt(), &card_event_xml("template_card_event", "ack|inc_7"), CORP, NOW);
    let d = event(&codec(), &req).unwrap();
    assert_eq!(d.event, ImEvent::Ignored("template card event".into()), "left to decode_click");
    let c = click(&codec(), &req).unwrap();
    assert_eq!((c.user.as_str(), c.incident_id.as_str(), c.action), ("zhangsan", "inc_7", CardAction::Acknowledge));
    assert_eq!(c.chat_id, None, "app cards are 1:1");
    assert_eq!(c.reply_to.as_deref().and_then(ReplyHandle::parse), Some(ReplyHandle::ResponseCode("rc-123".into())));
    assert_eq!(c.delivery_id, d.delivery_id, "one dedupe key for both views");
    assert!(c.delivery_id.unwrap().starts_with("app-ev:"));
    let answer = codec().click_reply("Acknowledged", None);
    assert_eq!((answer.status, answer.body.len()), (200, 0));
}

#[test]
fn an_action_menu_choice_is_a_click_too_and_a_retry_has_the_same_delivery_id() {
    let xml = card_event_xml("template_card_menu_event", "snooze:30|inc_7");
    let (a, b) = (Req::app(&app_crypt(), &xml, CORP, NOW), Req::app(&app_crypt(), &xml, CORP, NOW + 5));
    let (ca, cb) = (click(&codec(), &a).unwrap(), click(&codec(), &b).unwrap());
    assert_eq!(ca.action, CardAction::Snooze { minutes: 30 });
    assert_eq!(ca.delivery_id, cb.delivery_id, "same FromUserName + CreateTime + card + key");
    let Inbound::CardAction(e) = a.run(|r| codec().decode_on(Channel::App, r)).unwrap() else { panic!() };
    assert!(e.menu);
}

#[test]
fn a_click_on_a_button_that_is_not_ours_is_unsupported() {
    let req = Req::app(&app_crypt(), &card_event_xml("template_card_event", "launch-rockets"), CORP, NOW);
    assert!(matches!(click(&codec(), &req), Err(CallbackError::Unsupported(_))));
    assert!(matches!(event(&codec(), &req).unwrap().event, ImEvent::Ignored(_)), "still acknowledged as an event");
}

#[test]
fn other_app_events_are_acknowledged_and_ignored() {
    let xml = format!("<xml><FromUserName>sys</FromUserName><CreateTime>{NOW}</CreateTime><MsgType>event</MsgType><Event>change_contact</Event></xml>");
    let d = event(&codec(), &Req::app(&app_crypt(), &xml, CORP, NOW)).unwrap();
    assert_eq!(d.event, ImEvent::Ignored("app event change_contact".into()));
    assert!(d.delivery_id.is_some());
}

#[test]
fn a_smart_bot_mention_in_a_group_is_a_message_carrying_its_response_code() {
    let plain = json!({
        "msgid": "m1", "aibotid": "bot1", "chatid": "wrchat1", "chattype": "group", "from": {"userid": "lisi"},
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC9",
        "msgtype": "text", "text": {"content": "@WarBot\u{2005}ack"}
    });
    let d = event(&codec(), &Req::bot(&bot_crypt(), &plain, NOW)).unwrap();
    let ImEvent::Message { chat, message, mentions_bot } = d.event else { panic!("{:?}", d.event) };
    assert_eq!((chat.as_str(), message.author.as_str(), message.text.as_str(), mentions_bot), ("wrchat1", "lisi", "ack", true));
    assert_eq!(parse_message_ref(&message.id), ("m1", Some("RC9")));
    assert_eq!(message.at, Timestamp::from_secs(NOW), "no create_time: the request's time");
    assert_eq!(d.delivery_id.as_deref(), Some("bot-msg:m1"));
}

#[test]
fn a_one_to_one_bot_message_is_ignored() {
    let plain = json!({"msgid": "m2", "chattype": "single", "from": {"userid": "lisi"}, "msgtype": "text", "text": {"content": "hi"}});
    assert_eq!(event(&codec(), &Req::bot(&bot_crypt(), &plain, NOW)).unwrap().event, ImEvent::Ignored("1:1 message to the smart bot".into()));
}

#[test]
fn a_smart_bot_card_click_is_a_click_in_its_group_in_either_shape() {
    let url = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC1";
    let nested = json!({"msgid": "e1", "chatid": "wrchat1", "chattype": "group", "from": {"userid": "lisi"}, "response_url": url,
        "msgtype": "event", "create_time": NOW, "event": {"eventtype": "template_card_event", "template_card_event": {"card_type": "button_interaction", "event_key": "resolve|inc_9", "task_id": "t9"}}});
    let flat = json!({"msgid": "e2", "chatid": "wrchat1", "from": {"userid": "lisi"}, "response_url": url,
        "msgtype": "event", "event": {"eventtype": "template_card_event", "event_key": "resolve|inc_9", "task_id": "t9"}});
    for (plain, id) in [(nested, "bot-msg:e1"), (flat, "bot-msg:e2")] {
        let c = click(&codec(), &Req::bot(&bot_crypt(), &plain, NOW)).unwrap();
        assert_eq!((c.user.as_str(), c.incident_id.as_str(), c.action), ("lisi", "inc_9", CardAction::Resolve));
        assert_eq!(c.chat_id, Some(ChatId::new("wrchat1")));
        assert_eq!(c.reply_to.as_deref().and_then(ReplyHandle::parse), Some(ReplyHandle::ResponseUrl(url.into())));
        assert_eq!(c.delivery_id.as_deref(), Some(id));
    }
}

#[test]
fn a_stream_poll_is_its_own_kind_and_never_deduped() {
    let plain = json!({"msgid": "p1", "chatid": "wrchat1", "from": {"userid": "lisi"}, "msgtype": "stream", "stream": {"id": "s-42"}});
    let req = Req::bot(&bot_crypt(), &plain, NOW);
    let (channel, inbound) = req.run(|r| codec().decode(r)).unwrap();
    assert_eq!(channel, Channel::Bot);
    assert!(matches!(inbound, Inbound::StreamRefresh(StreamPoll { ref stream_id, .. }) if stream_id == "s-42"));
    assert_eq!(event(&codec(), &req).unwrap(), EventDelivery { delivery_id: None, installation: None, event: ImEvent::Ignored("stream_refresh:s-42".into()) });
}

#[test]
fn enter_chat_and_feedback_events_are_ignored() {
    for kind in ["enter_chat", "feedback_event"] {
        let plain = json!({"msgid": "x", "from": {"userid": "lisi"}, "msgtype": "event", "event": {"eventtype": kind}});
        assert_eq!(event(&codec(), &Req::bot(&bot_crypt(), &plain, NOW)).unwrap().event, ImEvent::Ignored(format!("bot event {kind}")));
    }
}

#[test]
fn the_smart_bot_url_check_uses_its_own_token_and_an_empty_receive_id() {
    let encrypt = bot_crypt().encrypt("echo-77", "");
    let sig = bot_crypt().signature(&NOW.to_string(), "n", &encrypt);
    let query = format!("msg_signature={sig}&timestamp={NOW}&nonce=n&echostr={}", encrypt.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D"));
    let req = Req { method: "GET", query, body: vec![], now: NOW };
    assert_eq!(req.run(|r| codec().decode(r)).unwrap(), (Channel::Bot, Inbound::Verify { echo: "echo-77".into() }));
    assert_eq!(req.run(|r| codec().decode_on(Channel::App, r)), Err(CallbackError::BadSignature), "the app route refuses the bot's token");
}

#[test]
fn one_token_for_both_channels_is_told_apart_by_the_receive_id() {
    let shared = WeComCredentials { bot_token: creds().callback_token, ..creds() };
    let bot = MsgCrypt::new(&shared.bot_token, &shared.bot_aes_key).unwrap();
    let plain = json!({"msgid": "m3", "chatid": "c", "from": {"userid": "u"}, "msgtype": "text", "text": {"content": "hello"}});
    let (channel, _) = Req::bot(&bot, &plain, NOW).run(|r| WeComCodec::new(shared.clone()).decode(r)).unwrap();
    assert_eq!(channel, Channel::Bot);
}

#[path = "codec_refusals.rs"]
mod refusals;
