//! Bad input: each is refused with a 4xx the port expresses, and names no secret.

use super::*;

fn refused(req: &Req) -> CallbackError {
    let e = event(&codec(), req).unwrap_err();
    assert!((400..500).contains(&e.status()), "{e:?}");
    let shown = e.to_string();
    for secret in [creds().callback_token, creds().callback_aes_key, creds().bot_token, creds().bot_aes_key] {
        assert!(!shown.contains(&secret), "{shown}");
    }
    assert_eq!(req.run(|r| codec().decode_click(r)).unwrap_err(), e, "the click path refuses it the same way");
    e
}

fn click_xml() -> String {
    card_event_xml("template_card_event", "ack|inc_7")
}

#[test]
fn a_tampered_signature_is_refused() {
    let req = Req::app(&app_crypt(), &click_xml(), CORP, NOW);
    let sig = req.query.split('&').next().unwrap().trim_start_matches("msg_signature=").to_owned();
    let flipped = format!("{}{}", if sig.starts_with('0') { "1" } else { "0" }, &sig[1..]);
    let tampered = Req { query: req.query.replace(&sig, &flipped), ..req };
    assert_eq!(refused(&tampered), CallbackError::BadSignature);
    // The signature covers the timestamp and the nonce.
    let req = Req::app(&app_crypt(), &click_xml(), CORP, NOW);
    let shifted = Req { query: req.query.replace(&format!("timestamp={NOW}"), &format!("timestamp={}", NOW + 1)), ..req };
    assert_eq!(refused(&shifted), CallbackError::BadSignature);
}

#[test]
fn an_unsigned_request_is_refused() {
    for query in ["", "timestamp=1&nonce=2", "msg_signature=abc&nonce=2", "msg_signature=abc&timestamp=1"] {
        let req = Req { method: "POST", query: query.into(), body: b"<xml><Encrypt>x</Encrypt></xml>".to_vec(), now: NOW };
        assert_eq!(refused(&req), CallbackError::BadSignature, "{query:?}");
    }
}

#[test]
fn a_stale_or_future_timestamp_is_refused_after_the_signature_checks() {
    assert_eq!(refused(&Req::app(&app_crypt(), &click_xml(), CORP, NOW).at(NOW + 15 * 60 + 1)), CallbackError::Stale);
    assert_eq!(refused(&Req::app(&app_crypt(), &click_xml(), CORP, NOW).at(NOW - 15 * 60 - 1)), CallbackError::Stale);
    assert!(event(&codec(), &Req::app(&app_crypt(), &click_xml(), CORP, NOW).at(NOW + 15 * 60)).is_ok(), "the window's edge");
}

#[test]
fn a_payload_under_a_wrong_key_is_refused() {
    // Our token, another EncodingAESKey: it verifies but does not decrypt.
    let wrong = MsgCrypt::new(&creds().callback_token, &creds().bot_aes_key).unwrap();
    assert_eq!(refused(&Req::app(&wrong, &click_xml(), CORP, NOW)), CallbackError::BadSignature);
}

#[test]
fn a_payload_for_another_receive_id_is_refused() {
    assert_eq!(refused(&Req::app(&app_crypt(), &click_xml(), "wwsomeoneelse", NOW)), CallbackError::BadSignature);
    // The bot's payloads carry "", the app's the CorpID: neither opens as the other.
    assert_eq!(refused(&Req::app(&app_crypt(), &click_xml(), "", NOW)), CallbackError::BadSignature);
    let for_corp = bot_crypt().encrypt(r#"{"msgtype":"text"}"#, CORP);
    let sig = bot_crypt().signature(&NOW.to_string(), "n", &for_corp);
    let req = Req {
        method: "POST",
        query: format!("msg_signature={sig}&timestamp={NOW}&nonce=n"),
        body: json!({"encrypt": for_corp}).to_string().into_bytes(),
        now: NOW,
    };
    assert_eq!(refused(&req), CallbackError::BadSignature);
}

#[test]
fn malformed_bodies_are_refused() {
    let sign = |body: &str, encrypt: &str| {
        let sig = app_crypt().signature(&NOW.to_string(), "n", encrypt);
        Req { method: "POST", query: format!("msg_signature={sig}&timestamp={NOW}&nonce=n"), body: body.as_bytes().to_vec(), now: NOW }
    };
    for body in ["<xml><Encrypt>", "<xml><ToUserName>x</ToUserName></xml>", "{\"encrypt\":", "{}", "plain text", ""] {
        assert!(matches!(refused(&sign(body, "x")), CallbackError::Malformed(_)), "{body:?}");
    }
    let not_base64 = sign("<xml><Encrypt>!!!</Encrypt></xml>", "!!!");
    assert!(matches!(refused(&not_base64), CallbackError::Malformed(_)));
    let not_utf8 = Req { body: vec![0xff, 0xfe], ..sign("", "x") };
    assert!(matches!(refused(&not_utf8), CallbackError::Malformed(_)));
    // Decrypted but not an app message.
    assert!(matches!(refused(&Req::app(&app_crypt(), "<xml><unclosed>", CORP, NOW)), CallbackError::Malformed(_)));
    let plain = json!({"msgid": "m", "from": {"userid": "u"}, "msgtype": "text"});
    assert!(matches!(refused(&Req::bot(&bot_crypt(), &plain, NOW)), CallbackError::Malformed(_)), "text without content");
}

#[test]
fn a_url_check_without_echostr_or_with_a_bad_escape_is_malformed() {
    let req = Req { method: "GET", query: format!("msg_signature=a&timestamp={NOW}&nonce=n"), body: vec![], now: NOW };
    assert!(matches!(refused(&req), CallbackError::Malformed(_)));
    let req = Req { method: "GET", query: format!("msg_signature=a&timestamp={NOW}&nonce=n&echostr=%zz"), body: vec![], now: NOW };
    assert!(matches!(refused(&req), CallbackError::Malformed(_)));
    let put = Req { method: "PUT", ..Req::app(&app_crypt(), &click_xml(), CORP, NOW) };
    assert!(matches!(refused(&put), CallbackError::Unsupported(_)));
}

#[test]
fn a_codec_without_a_smart_bot_refuses_bot_callbacks() {
    let no_bot = WeComCodec::new(WeComCredentials { bot_token: String::new(), bot_aes_key: String::new(), ..creds() });
    let plain = json!({"msgid": "m", "chatid": "c", "from": {"userid": "u"}, "msgtype": "text", "text": {"content": "x"}});
    assert_eq!(Req::bot(&bot_crypt(), &plain, NOW).run(|r| no_bot.decode_event(r)), Err(CallbackError::BadSignature));
    let bad_key = WeComCodec::new(WeComCredentials { bot_aes_key: "short".into(), ..creds() });
    assert_eq!(Req::bot(&bot_crypt(), &plain, NOW).run(|r| bad_key.decode_event(r)), Err(CallbackError::BadSignature));
}

#[test]
fn passive_replies_are_encrypted_for_their_channel_with_the_callbacks_nonce() {
    let nonce = WeComCodec::nonce_of("msg_signature=a&timestamp=1&nonce=1372623149").unwrap();
    let bot = codec().passive_reply(Channel::Bot, r#"{"msgtype":"stream"}"#, &nonce).unwrap();
    assert_eq!((bot.status, bot.content_type), (200, "application/json"));
    let v: Value = serde_json::from_slice(&bot.body).unwrap();
    let (encrypt, ts) = (v["encrypt"].as_str().unwrap(), v["timestamp"].as_str().unwrap());
    assert_eq!((ts, v["nonce"].as_str().unwrap()), (NOW.to_string().as_str(), "1372623149"));
    bot_crypt().verify(v["msgsignature"].as_str().unwrap(), ts, &nonce, encrypt).unwrap();
    assert_eq!(bot_crypt().decrypt(encrypt, "").unwrap(), r#"{"msgtype":"stream"}"#);

    let app = codec().passive_reply(Channel::App, "<xml><MsgType>update_button</MsgType></xml>", &nonce).unwrap();
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Reply {
        encrypt: String,
        msg_signature: String,
        time_stamp: String,
        nonce: String,
    }
    let r: Reply = quick_xml::de::from_str(std::str::from_utf8(&app.body).unwrap()).unwrap();
    assert_eq!((r.time_stamp.as_str(), r.nonce.as_str()), (NOW.to_string().as_str(), "1372623149"));
    app_crypt().verify(&r.msg_signature, &r.time_stamp, &r.nonce, &r.encrypt).unwrap();
    assert_eq!(app_crypt().decrypt(&r.encrypt, CORP).unwrap(), "<xml><MsgType>update_button</MsgType></xml>");
    let no_bot = WeComCodec::new(WeComCredentials { bot_token: String::new(), ..creds() });
    assert_eq!(no_bot.passive_reply(Channel::Bot, "{}", "n"), None);
}

#[test]
fn query_components_are_percent_decoded_keeping_plus_signs() {
    assert_eq!(percent_decode("a%2Bb+c%3D").as_deref(), Some("a+b+c="));
    assert_eq!(percent_decode("%E4%BD%A0").as_deref(), Some("你"));
    assert_eq!(percent_decode("%2"), None);
    assert_eq!(percent_decode("%zz"), None);
    assert_eq!(percent_decode("%ff"), None, "not UTF-8");
}
