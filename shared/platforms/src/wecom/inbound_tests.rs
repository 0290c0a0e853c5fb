//! Decrypted payloads → WeCom's inbound kinds; reply handles; passive-reply plaintexts.

use super::*;
use crate::wecom::{update_button_plaintext, BotMessage};

#[test]
fn the_w4b_docs_message_is_an_ignored_text_deduped_on_its_msgid() {
    let plain = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>";
    assert_eq!(parse_app(plain).unwrap(), Inbound::Ignored { kind: "app text message".into(), dedupe_key: Some("app-msg:4561255354251345929".into()) });
}

#[test]
fn an_app_card_click_keeps_every_field_the_platform_needs() {
    let plain = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[ack|inc_1]]></EventKey><TaskId><![CDATA[t1]]></TaskId><CardType><![CDATA[vote_interaction]]></CardType><ResponseCode><![CDATA[rc]]></ResponseCode><AgentID>1</AgentID><SelectedItems><SelectedItem><QuestionKey><![CDATA[q]]></QuestionKey><OptionIds><OptionId><![CDATA[o1]]></OptionId></OptionIds></SelectedItem></SelectedItems></xml>";
    let Inbound::CardAction(e) = parse_app(plain).unwrap() else { panic!() };
    assert_eq!((e.channel, e.user.as_str(), e.event_key.as_str(), e.task_id.as_str()), (Channel::App, "zhangsan", "ack|inc_1", "t1"));
    assert_eq!((e.card_type.as_deref(), e.menu, e.create_time), (Some("vote_interaction"), false, Some(Timestamp::from_secs(1_700_000_000))));
    assert_eq!(e.reply, Some(ReplyHandle::ResponseCode("rc".into())));
}

#[test]
fn a_card_event_without_its_clicker_is_malformed() {
    let plain = "<xml><MsgType>event</MsgType><Event>template_card_event</Event><EventKey>ack|inc_1</EventKey></xml>";
    assert!(matches!(parse_app(plain), Err(CallbackError::Malformed(_))));
    let plain = r#"{"msgtype":"event","event":{"eventtype":"template_card_event","event_key":"ack|inc_1"}}"#;
    assert!(matches!(parse_bot(plain), Err(CallbackError::Malformed(_))));
}

#[test]
fn the_leading_bot_mention_is_stripped_and_nothing_else() {
    for (raw, text) in [
        ("@WarBot\u{2005}ack", "ack"),
        ("@WarBot ack now", "ack now"),
        ("  @WarBot   what broke?", "what broke?"),
        ("@WarBot", ""),
        ("ack", "ack"),
        ("mail me@example.com", "mail me@example.com"),
    ] {
        assert_eq!(strip_leading_mention(raw), text, "{raw:?}");
    }
}

#[test]
fn bot_messages_default_to_a_single_chat_and_read_numeric_or_text_times() {
    let plain = r#"{"msgid":"m","from":{"userid":"u"},"msgtype":"text","text":{"content":"hi"},"create_time":"1700000000"}"#;
    let Inbound::Message(m) = parse_bot(plain).unwrap() else { panic!() };
    assert_eq!(
        m,
        BotMessage {
            msgid: "m".into(),
            chat_id: None,
            chat_type: "single".into(),
            user: "u".into(),
            text: "hi".into(),
            response_url: None,
            create_time: Some(Timestamp::from_secs(1_700_000_000))
        }
    );
    assert!(matches!(parse_bot("not json"), Err(CallbackError::Malformed(_))));
    assert!(matches!(parse_bot(r#"{"msgtype":"stream"}"#), Err(CallbackError::Malformed(_))), "a poll without stream.id");
    assert_eq!(
        parse_bot(r#"{"msgid":"i","msgtype":"image"}"#).unwrap(),
        Inbound::Ignored { kind: "bot image message".into(), dedupe_key: Some("bot-msg:i".into()) }
    );
}

#[test]
fn a_bot_click_without_a_msgid_is_deduped_on_its_fields() {
    let plain = r#"{"from":{"userid":"u"},"create_time":1700000000,"msgtype":"event","event":{"eventtype":"template_card_event","event_key":"ack|inc_1","task_id":"t"}}"#;
    let Inbound::CardAction(e) = parse_bot(plain).unwrap() else { panic!() };
    assert!(e.dedupe_key.starts_with("bot-ev:"));
    let Inbound::CardAction(again) = parse_bot(plain).unwrap() else { panic!() };
    assert_eq!(e.dedupe_key, again.dedupe_key);
    assert_eq!(e.reply, None, "no response_url");
}

#[test]
fn reply_handles_round_trip_through_their_opaque_string() {
    for h in [ReplyHandle::ResponseCode("rc|x".into()), ReplyHandle::ResponseUrl("https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=a".into())] {
        assert_eq!(ReplyHandle::parse(&h.encode()), Some(h));
    }
    assert_eq!(ReplyHandle::parse("https://hooks.slack.com/x"), None);
}

#[test]
fn button_keys_carry_the_action_and_the_incident() {
    let key = button_key(CardAction::Snooze { minutes: 30 }, "inc_1");
    assert_eq!(key, "snooze:30|inc_1");
    assert_eq!(parse_button_key(&key), Some((CardAction::Snooze { minutes: 30 }, "inc_1".into())));
    for bad in ["ack|", "ack", "nuke|inc_1", "snooze:7|inc_1"] {
        assert_eq!(parse_button_key(bad), None, "{bad}");
    }
}

#[test]
fn message_refs_carry_the_response_code_only() {
    use crate::wecom::{message_ref, parse_message_ref};
    let mut m = BotMessage {
        msgid: "m1".into(),
        chat_id: None,
        chat_type: "group".into(),
        user: "u".into(),
        text: String::new(),
        response_url: None,
        create_time: None,
    };
    assert_eq!(message_ref(&m), "m1");
    m.response_url = Some("https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=A%2BB".into());
    assert_eq!(message_ref(&m), "m1|A+B");
    assert_eq!(parse_message_ref("m1|A+B"), ("m1", Some("A+B")));
    assert_eq!(parse_message_ref("m1"), ("m1", None));
    m.response_url = Some("not a url".into());
    assert_eq!(message_ref(&m), "m1");
}

#[test]
fn the_update_button_plaintext_is_the_documented_xml_and_survives_cdata_breakers() {
    let xml = update_button_plaintext("zhangsan", "ww1", 1_700_000_000, "已确认 ]]> done");
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Button {
        replace_name: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Reply {
        to_user_name: String,
        msg_type: String,
        create_time: i64,
        button: Button,
    }
    let r: Reply = quick_xml::de::from_str(&xml).unwrap();
    assert_eq!((r.to_user_name.as_str(), r.msg_type.as_str(), r.create_time), ("zhangsan", "update_button", 1_700_000_000));
    assert_eq!(r.button.replace_name, "已确认 ]]> done");
}

#[test]
fn empty_elements_read_as_absent() {
    let plain = "<?xml version=\"1.0\"?><xml><FromUserName>u</FromUserName><CreateTime></CreateTime><MsgType>event</MsgType><Event>template_card_event</Event><EventKey></EventKey><TaskId/><ResponseCode><![CDATA[]]></ResponseCode></xml>";
    let Inbound::CardAction(e) = parse_app(plain).unwrap() else { panic!() };
    assert_eq!((e.event_key.as_str(), e.task_id.as_str(), e.reply, e.create_time), ("", "", None, None));
    assert_eq!(parse_button_key(&e.event_key), None, "refused as a click by the codec");
}
