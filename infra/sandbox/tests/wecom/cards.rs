//! App template cards: per-recipient cards, once-only response codes (72 h), silent drops, and
//! the app's XML click callback with its passive reply.

use std::time::Duration;

use serde_json::json;
use warroom_sandbox::wecom::{codes, Endpoint, SandboxConfig, Tamper};

use crate::support::{app_reply, open_app, receiver, start, start_with, xml_field, AGENT, CORP};

#[tokio::test]
async fn a_button_card_reaches_each_known_recipient_and_its_response_code_updates_them_only_once() {
    let fx = start().await;
    let t = fx.token().await;
    let b = fx.card(&t, "u_ada|u_bob|ghost", "inc1_ack").await;
    assert_eq!((b["errcode"].as_i64(), b["invaliduser"].as_str()), (Some(0), Some("ghost")));
    let code = b["response_code"].as_str().unwrap().to_string();
    assert!(b["msgid"].is_string());
    assert_eq!((fx.sb.cards_of("u_ada").len(), fx.sb.cards_of("u_bob").len()), (1, 1));

    let update = json!({"atall": 1, "agentid": AGENT, "response_code": code, "button": {"replace_name": "Acknowledged"}});
    assert_eq!(fx.post("/cgi-bin/message/update_template_card", &t, update.clone()).await["errcode"], 0);
    for user in ["u_ada", "u_bob"] {
        let card = &fx.sb.cards_of(user)[0];
        assert_eq!((card.replace_name.as_deref(), card.updates.len()), (Some("Acknowledged"), 1), "{user}");
    }
    assert_eq!(fx.sb.response_code_used(&code), Some(true));
    let again = fx.post("/cgi-bin/message/update_template_card", &t, update).await;
    assert_eq!(again["errcode"], codes::RESPONSE_CODE_INVALID, "usable once");
    assert_eq!(fx.sb.cards_of("u_ada")[0].updates.len(), 1);
}

#[tokio::test]
async fn a_response_code_expires_after_72_hours() {
    let fx = start().await;
    fx.sb.freeze_clock();
    let t = fx.token().await;
    let early = fx.card(&t, "u_ada", "t1").await["response_code"].as_str().unwrap().to_string();
    fx.sb.advance(Duration::from_secs(3600));
    let late = fx.card(&t, "u_ada", "t2").await["response_code"].as_str().unwrap().to_string();
    fx.sb.advance(Duration::from_secs(71 * 3600));
    let t = fx.token().await;
    let body = |code: &str| json!({"userids": ["u_ada"], "agentid": AGENT, "response_code": code, "button": {"replace_name": "Done"}});
    assert_eq!(fx.post("/cgi-bin/message/update_template_card", &t, body(&early)).await["errcode"], codes::RESPONSE_CODE_INVALID, "72 h passed");
    assert_eq!(fx.post("/cgi-bin/message/update_template_card", &t, body(&late)).await["errcode"], 0, "71 h old");
}

#[tokio::test]
async fn card_validation_refuses_a_seventh_button_a_missing_task_id_and_another_apps_agentid() {
    let fx = start().await;
    let t = fx.token().await;
    let buttons: Vec<_> = (0..7).map(|i| json!({"text": format!("b{i}"), "key": format!("k{i}")})).collect();
    let seven = json!({"card_type": "button_interaction", "task_id": "t1", "button_list": buttons});
    let b = fx.post("/cgi-bin/message/send", &t, json!({"touser": "u_ada", "msgtype": "template_card", "agentid": AGENT, "template_card": seven})).await;
    assert_eq!(b["errcode"], codes::INVALID_PARAM);
    let no_task = json!({"card_type": "button_interaction", "button_list": [{"text": "ok", "key": "ok"}]});
    let b = fx.post("/cgi-bin/message/send", &t, json!({"touser": "u_ada", "msgtype": "template_card", "agentid": AGENT, "template_card": no_task})).await;
    assert_eq!(b["errcode"], codes::INVALID_PARAM);
    let text = json!({"touser": "u_ada", "msgtype": "text", "agentid": 42, "text": {"content": "hi"}});
    assert_eq!(fx.post("/cgi-bin/message/send", &t, text).await["errcode"], codes::WRONG_AGENT);
    let nobody = json!({"touser": "ghost", "msgtype": "text", "agentid": AGENT, "text": {"content": "hi"}});
    assert_eq!(fx.post("/cgi-bin/message/send", &t, nobody).await["errcode"], codes::ALL_RECIPIENTS_INVALID);
    assert!(fx.sb.cards_of("u_ada").is_empty());
}

#[tokio::test]
async fn a_thirty_first_message_within_a_minute_to_one_member_is_accepted_but_silently_dropped() {
    let fx = start_with(SandboxConfig::default()).await;
    fx.sb.freeze_clock();
    let t = fx.token().await;
    for i in 0..31 {
        assert_eq!(fx.card(&t, "u_ada", &format!("t{i}")).await["errcode"], 0, "message {i} is answered ok");
    }
    assert_eq!(fx.sb.cards_of("u_ada").len(), 30);
    let dropped = fx.sb.dropped();
    assert_eq!((dropped.len(), dropped[0].userid.as_str(), dropped[0].msgtype.as_str()), (1, "u_ada", "template_card"));
    assert_eq!(fx.card(&t, "u_bob", "other").await["errcode"], 0);
    assert_eq!(fx.sb.cards_of("u_bob").len(), 1, "the limit is per member");
    fx.sb.advance(Duration::from_secs(60));
    fx.card(&t, "u_ada", "later").await;
    assert_eq!(fx.sb.cards_of("u_ada").len(), 31);
}

#[tokio::test]
async fn a_card_click_arrives_signed_and_encrypted_and_an_update_button_reply_changes_only_the_clickers_card() {
    let fx = start().await;
    let t = fx.token().await;
    fx.card(&t, "u_ada|u_bob", "inc1_ack").await;
    let (url, inbox) = receiver(|req| match open_app(req) {
        Ok(_) => (
            200,
            app_reply(
                "<xml><ToUserName>u_bob</ToUserName><MsgType>update_button</MsgType><Button><ReplaceName>Acked by Bob</ReplaceName></Button></xml>",
                &req.query("nonce"),
            ),
        ),
        Err(status) => (status, String::new()),
    })
    .await;
    let click = fx.sb.click_card(&url, AGENT, "u_bob", "inc1_ack", "ack").await.unwrap();
    assert_eq!(click.passive.status, 200);
    assert_eq!(click.applied.as_deref(), Some("update_button"), "{:?}", click.passive.problem);
    let got = inbox.lock().unwrap()[0].clone();
    assert_eq!((xml_field(&got.body, "ToUserName"), xml_field(&got.body, "AgentID")), (CORP.to_string(), AGENT.to_string()));
    let event = open_app(&got).unwrap();
    for (field, value) in [
        ("MsgType", "event"),
        ("Event", "template_card_event"),
        ("FromUserName", "u_bob"),
        ("EventKey", "ack"),
        ("TaskId", "inc1_ack"),
        ("CardType", "button_interaction"),
    ] {
        assert_eq!(xml_field(&event, field), value, "{field}");
    }
    assert_eq!(xml_field(&event, "ResponseCode"), click.response_code);
    assert_eq!(fx.sb.cards_of("u_bob")[0].replace_name.as_deref(), Some("Acked by Bob"));
    assert_eq!(fx.sb.cards_of("u_ada")[0].replace_name, None, "only the clicker's card");

    // The click's own ResponseCode updates the card once more through the API.
    let update = json!({"userids": ["u_bob"], "agentid": AGENT, "response_code": click.response_code, "template_card": {"card_type": "text_notice", "main_title": {"title": "resolved"}}});
    assert_eq!(fx.post("/cgi-bin/message/update_template_card", &t, update.clone()).await["errcode"], 0);
    assert_eq!(fx.sb.cards_of("u_bob")[0].card["main_title"]["title"], "resolved");
    assert_eq!(fx.sb.cards_of("u_ada")[0].card["main_title"]["title"], "INC-1 db down");
    assert_eq!(fx.post("/cgi-bin/message/update_template_card", &t, update).await["errcode"], codes::RESPONSE_CODE_INVALID);
    let second = fx.sb.click_card(&url, AGENT, "u_bob", "inc1_ack", "ack").await.unwrap();
    assert_ne!(second.response_code, click.response_code, "a fresh code per click");
}

#[tokio::test]
async fn tampered_app_callbacks_are_refused_by_a_checking_bundle_and_a_redelivery_is_byte_identical() {
    let fx = start().await;
    let (url, inbox) = receiver(|req| match open_app(req) {
        Ok(_) => {
            let ts: u64 = req.query("timestamp").parse().unwrap();
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            if now.abs_diff(ts) > 300 {
                (408, String::new())
            } else {
                (200, String::new())
            }
        }
        Err(status) => (status, String::new()),
    })
    .await;
    let ok = fx.sb.click_card(&url, AGENT, "u_ada", "t", "k").await.unwrap();
    assert_eq!((ok.passive.status, ok.applied.clone(), ok.passive.problem.clone()), (200, None, None), "an empty 200 is a valid no-reply");
    for (tamper, status) in [(Tamper::BadSignature, 401), (Tamper::WrongKey, 400), (Tamper::WrongReceiveId, 400), (Tamper::StaleTimestamp, 408)] {
        fx.sb.tamper_next(tamper);
        let click = fx.sb.click_card(&url, AGENT, "u_ada", "t", "k").await.unwrap();
        assert_eq!(click.passive.status, status, "{tamper:?}");
        assert_eq!(click.delivery.tamper, Some(tamper));
    }
    let again = fx.sb.redeliver(&ok.delivery).await.unwrap();
    assert_eq!(again.status, 200);
    let inbox = inbox.lock().unwrap();
    let (first, last) = (&inbox[0], inbox.last().unwrap());
    assert_eq!((first.uri.clone(), first.body.clone()), (last.uri.clone(), last.body.clone()));
    assert_eq!(inbox.len(), 6);
}

#[tokio::test]
async fn url_verification_passes_only_when_the_bundle_echoes_the_exact_plaintext() {
    let fx = start().await;
    let (url, _) = receiver(|req| match open_app_echo(req) {
        Some(plain) => (200, plain),
        None => (401, String::new()),
    })
    .await;
    let check = fx.sb.verify_url(Endpoint::App(AGENT), &url).await.unwrap();
    assert!(check.ok, "{check:?}");
    assert_eq!(check.body, check.expected);
    let (quoted, _) = receiver(|req| (200, format!("\"{}\"", open_app_echo(req).unwrap_or_default()))).await;
    assert!(!fx.sb.verify_url(Endpoint::App(AGENT), &quoted).await.unwrap().ok, "no quotes allowed");
    fx.sb.tamper_next(Tamper::BadSignature);
    let check = fx.sb.verify_url(Endpoint::App(AGENT), &url).await.unwrap();
    assert_eq!((check.status, check.ok), (401, false));
}

/// The GET check as the bundle does it: verify over the echostr, decrypt (ReceiveId = CorpID).
fn open_app_echo(req: &crate::support::Received) -> Option<String> {
    let echostr = req.query("echostr");
    let sig = crate::support::signature(crate::support::APP_TOKEN, &req.query("timestamp"), &req.query("nonce"), &echostr);
    if req.method != axum::http::Method::GET || sig != req.query("msg_signature") {
        return None;
    }
    crate::support::app_crypt().decrypt(&echostr).ok()
}
