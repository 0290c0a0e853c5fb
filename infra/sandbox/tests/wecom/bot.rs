//! Smart-bot callbacks (JSON, ReceiveId ""), stream polling, card clicks, `aibot/response`,
//! and the control routes.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use warroom_sandbox::wecom::{codes, control, CallbackError, Endpoint, Sender, Tamper};

use crate::support::{bot_crypt, bot_reply, open_bot, receiver, serve, signature, start, AGENT, BOT_NAME, BOT_TOKEN};

#[tokio::test]
async fn an_at_mention_arrives_as_encrypted_json_and_a_stream_reply_is_polled_until_it_finishes() {
    let fx = start().await;
    let polls = Arc::new(AtomicU32::new(0));
    let counter = polls.clone();
    let (url, inbox) = receiver(move |req| {
        let Ok(msg) = open_bot(req) else { return (401, String::new()) };
        let reply = match msg["msgtype"].as_str() {
            Some("text") => json!({"msgtype": "stream", "stream": {"id": "s1", "finish": false, "content": "Looking…"}}),
            Some("stream") => {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                json!({"msgtype": "stream", "stream": {"id": msg["stream"]["id"], "finish": n == 2, "content": format!("Looking… step {n}")}})
            }
            _ => return (200, String::new()),
        };
        (200, bot_reply(&reply, &req.query("nonce")))
    })
    .await;
    let ex = fx.sb.mention_bot(&url, AGENT, "wrinc1", "u_bob", "status?").await.unwrap();
    assert_eq!(ex.applied.as_deref(), Some("stream"), "{:?}", ex.passive);
    let got = inbox.lock().unwrap()[0].clone();
    let encrypt = serde_json::from_str::<Value>(&got.body).unwrap()["encrypt"].as_str().unwrap().to_string();
    assert_eq!(got.query("msg_signature"), signature(BOT_TOKEN, &got.query("timestamp"), &got.query("nonce"), &encrypt));
    assert!(bot_crypt().decrypt(&encrypt).is_ok(), "ReceiveId is the empty string");
    let msg = open_bot(&got).unwrap();
    assert_eq!((msg["msgtype"].as_str(), msg["chattype"].as_str(), msg["chatid"].as_str()), (Some("text"), Some("group"), Some("wrinc1")));
    assert_eq!((msg["from"]["userid"].as_str(), msg["aibotid"].as_str()), (Some("u_bob"), Some("aibot-01")));
    assert_eq!(msg["text"]["content"], format!("@{BOT_NAME} status?"));
    assert!(msg["response_url"].as_str().unwrap().starts_with(&format!("{}/cgi-bin/aibot/response?response_code=", fx.base)));
    assert_eq!(msg["msgid"], ex.msgid.as_str());

    let mut rounds = 0;
    loop {
        let poll = fx.sb.poll_stream(&url, AGENT, "s1").await.unwrap();
        rounds += 1;
        assert_eq!(poll.reply.as_ref().unwrap()["msgtype"], "stream");
        if poll.reply.unwrap()["stream"]["finish"] == json!(true) {
            break;
        }
    }
    assert_eq!((rounds, fx.sb.stream_state("s1")), (2, Some((2, true))));
    let last = open_bot(inbox.lock().unwrap().last().unwrap()).unwrap();
    assert_eq!((last["msgtype"].as_str(), last["stream"]["id"].as_str()), (Some("stream"), Some("s1")));
    assert!(matches!(fx.sb.poll_stream(&url, AGENT, "s1").await, Err(CallbackError::StreamFinished(_))));
    let chat = fx.sb.chat("wrinc1").unwrap();
    let shown: Vec<(Sender, String)> = chat.messages.iter().map(|m| (m.sender.clone(), m.text.clone())).collect();
    assert_eq!(shown, vec![(Sender::User("u_bob".into()), format!("@{BOT_NAME} status?")), (Sender::Bot("aibot-01".into()), "Looking… step 2".into())]);
}

#[tokio::test]
async fn a_stream_is_no_longer_polled_six_minutes_after_the_users_message() {
    let fx = start().await;
    fx.sb.freeze_clock();
    let (url, _) =
        receiver(|req| (200, bot_reply(&json!({"msgtype": "stream", "stream": {"id": "s9", "finish": false, "content": "…"}}), &req.query("nonce")))).await;
    fx.sb.mention_bot(&url, AGENT, "wrinc2", "u_ada", "why?").await.unwrap();
    fx.sb.advance(Duration::from_secs(5 * 60 + 59));
    assert!(fx.sb.poll_stream(&url, AGENT, "s9").await.is_ok());
    fx.sb.advance(Duration::from_secs(1));
    assert!(matches!(fx.sb.poll_stream(&url, AGENT, "s9").await, Err(CallbackError::StreamExpired(_))));
    assert!(matches!(fx.sb.poll_stream(&url, AGENT, "nope").await, Err(CallbackError::UnknownStream(_))));
}

#[tokio::test]
async fn the_response_url_posts_once_within_an_hour_as_the_bot() {
    let fx = start().await;
    fx.sb.freeze_clock();
    let (url, _) = receiver(|_| (200, String::new())).await;
    let ex = fx.sb.mention_bot(&url, AGENT, "wrinc3", "u_ada", "summary").await.unwrap();
    assert_eq!(ex.applied, None, "an empty reply is allowed");
    let response_url = ex.response_url.unwrap();
    let md = json!({"msgtype": "markdown", "markdown": {"content": "**INC-1** is mitigated"}});
    let post = |body: Value| fx.http.post(&response_url).json(&body).send();
    let b: Value = post(json!({"msgtype": "text", "text": {"content": "x"}})).await.unwrap().json().await.unwrap();
    assert_eq!(b["errcode"], codes::INVALID_MSGTYPE, "markdown or template_card only");
    let b: Value = post(md.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(b["errcode"], 0);
    let b: Value = post(md.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(b["errcode"], codes::RESPONSE_CODE_INVALID, "usable once");
    let messages = fx.sb.chat("wrinc3").unwrap().messages;
    assert_eq!((messages.len(), messages[1].sender.clone(), messages[1].text.as_str()), (2, Sender::Bot("aibot-01".into()), "**INC-1** is mitigated"));

    let later = fx.sb.mention_bot(&url, AGENT, "wrinc3", "u_ada", "again").await.unwrap().response_url.unwrap();
    fx.sb.advance(Duration::from_secs(3600));
    let b: Value = fx.http.post(&later).json(&md).send().await.unwrap().json().await.unwrap();
    assert_eq!(b["errcode"], codes::RESPONSE_CODE_INVALID, "valid 1 h");
}

#[tokio::test]
async fn a_bot_card_click_carries_the_event_and_an_update_template_card_reply_replaces_the_group_card() {
    let fx = start().await;
    let (url, inbox) = receiver(|req| {
        let Ok(msg) = open_bot(req) else { return (401, String::new()) };
        if msg["msgtype"] != "event" {
            return (200, String::new());
        }
        let card = json!({"card_type": "text_notice", "main_title": {"title": "INC-1 acknowledged"}});
        (200, bot_reply(&json!({"response_type": "update_template_card", "template_card": card}), &req.query("nonce")))
    })
    .await;
    let response_url = fx.sb.mention_bot(&url, AGENT, "wrinc4", "u_ada", "card").await.unwrap().response_url.unwrap();
    let card = json!({"card_type": "button_interaction", "task_id": "inc1_t", "main_title": {"title": "INC-1 triggered"},
                      "button_list": [{"text": "Ack", "style": 1, "key": "ack"}]});
    let b: Value = fx.http.post(&response_url).json(&json!({"msgtype": "template_card", "template_card": card})).send().await.unwrap().json().await.unwrap();
    assert_eq!(b["errcode"], 0);

    let ex = fx.sb.click_bot_card(&url, AGENT, "wrinc4", "u_bob", "inc1_t", "ack").await.unwrap();
    assert_eq!(ex.applied.as_deref(), Some("update_template_card"));
    let event = open_bot(inbox.lock().unwrap().last().unwrap()).unwrap();
    assert_eq!((event["msgtype"].as_str(), event["event"]["eventtype"].as_str()), (Some("event"), Some("template_card_event")));
    assert_eq!(event["event"]["template_card_event"], json!({"card_type": "button_interaction", "event_key": "ack", "task_id": "inc1_t"}));
    assert_eq!(event["from"]["userid"], "u_bob");
    assert!(event["response_url"].as_str().unwrap().contains("response_code="));
    let card = fx.sb.chat("wrinc4").unwrap().messages.into_iter().find(|m| m.msgtype == "template_card").unwrap();
    assert_eq!((card.text.as_str(), card.updates), ("INC-1 acknowledged", 1), "replaced for the whole group");

    for (tamper, status) in [(Tamper::BadSignature, 401), (Tamper::WrongReceiveId, 401), (Tamper::WrongKey, 401)] {
        fx.sb.tamper_next(tamper);
        let ex = fx.sb.click_bot_card(&url, AGENT, "wrinc4", "u_bob", "inc1_t", "ack").await.unwrap();
        assert_eq!((ex.passive.status, ex.applied), (status, None), "{tamper:?}");
    }
}

#[tokio::test]
async fn a_forged_passive_reply_is_not_applied_and_bot_url_verification_uses_the_bots_own_keys() {
    let fx = start().await;
    let (url, _) = receiver(|req| {
        if req.method == axum::http::Method::GET {
            let echostr = req.query("echostr");
            return match signature(BOT_TOKEN, &req.query("timestamp"), &req.query("nonce"), &echostr) == req.query("msg_signature") {
                true => (200, bot_crypt().decrypt(&echostr).unwrap()),
                false => (401, String::new()),
            };
        }
        let mut forged: Value =
            serde_json::from_str(&bot_reply(&json!({"msgtype": "stream", "stream": {"id": "x", "finish": true, "content": "hi"}}), "1")).unwrap();
        forged["msgsignature"] = json!("0000");
        (200, forged.to_string())
    })
    .await;
    let ex = fx.sb.mention_bot(&url, AGENT, "wrinc5", "u_ada", "hi").await.unwrap();
    assert_eq!((ex.applied, ex.passive.problem.is_some()), (None, true));
    assert!(fx.sb.stream_state("x").is_none());
    assert!(fx.sb.verify_url(Endpoint::Bot(AGENT), &url).await.unwrap().ok);
    assert!(!fx.sb.verify_url(Endpoint::App(AGENT), &url).await.unwrap().ok, "the app's keys are not the bot's");
}

#[tokio::test]
async fn the_control_routes_mention_the_bot_expire_tokens_and_show_the_war_room() {
    let fx = start().await;
    let control = serve(axum::Router::new().nest("/control/wecom", control::router(&fx.sb))).await;
    let post = |path: &str, body: Value| fx.http.post(format!("{control}/control/wecom{path}")).json(&body).send();
    let (url, _) =
        receiver(|req| (200, bot_reply(&json!({"msgtype": "stream", "stream": {"id": "c1", "finish": true, "content": "All good"}}), &req.query("nonce"))))
            .await;

    let resp = post("/mention", json!({"agent_id": AGENT, "chatid": "wrinc6", "user": "u_ada", "text": "status"})).await.unwrap();
    assert_eq!(resp.status(), 409, "no bot URL configured");
    assert!(resp.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("no URL"));
    fx.sb.set_callback_urls(AGENT, None, Some(&url));
    let resp = post("/mention", json!({"agent_id": AGENT, "chatid": "wrinc6", "user": "u_ada", "text": "status"})).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["applied"], "stream");
    assert_eq!(post("/click", json!({"agent_id": 7, "user": "u_ada", "task_id": "t", "event_key": "k"})).await.unwrap().status(), 404);

    let t = fx.token().await;
    assert_eq!(post("/expire_token", json!({"agent_id": AGENT})).await.unwrap().status(), 200);
    assert_eq!(fx.post("/cgi-bin/user/getuserid", &t, json!({"mobile": "13800000001"})).await["errcode"], codes::TOKEN_EXPIRED);

    let view: Value = fx.http.get(format!("{control}/control/wecom/view")).send().await.unwrap().json().await.unwrap();
    let chat = view["chats"].as_array().unwrap().iter().find(|c| c["chatid"] == "wrinc6").unwrap().clone();
    assert_eq!(chat["messages"][1]["text"], "All good");
    assert_eq!(chat["messages"][1]["sender"], json!({"kind": "bot", "id": "aibot-01"}));
    assert_eq!(view["streams"][0]["finish"], true);
    assert!(view["apps"][0].get("secret").is_none() && !view.to_string().contains("app-secret-01"), "no secrets in the view");
}

#[tokio::test]
async fn after_a_stream_reply_the_bot_polls_by_itself_until_the_stream_finishes_and_the_view_shows_each_step() {
    let fx = start().await;
    fx.sb.set_stream_polling(Some(Duration::from_millis(20)));
    let polls = Arc::new(AtomicU32::new(0));
    let counter = polls.clone();
    let (url, _) = receiver(move |req| {
        let Ok(msg) = open_bot(req) else { return (401, String::new()) };
        let reply = match msg["msgtype"].as_str() {
            Some("text") => json!({"msgtype": "stream", "stream": {"id": "s7", "finish": false, "content": "Thinking…"}}),
            Some("stream") => {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                json!({"msgtype": "stream", "stream": {"id": msg["stream"]["id"], "finish": n == 3, "content": format!("step {n}")}})
            }
            _ => return (200, String::new()),
        };
        (200, bot_reply(&reply, &req.query("nonce")))
    })
    .await;
    fx.sb.mention_bot(&url, AGENT, "wrinc7", "u_ada", "status?").await.unwrap();
    assert!(fx.sb.streams_settled(Duration::from_secs(5)).await, "polled until finish");
    let view = fx.sb.view();
    let stream = view.streams.iter().find(|s| s.id == "s7").unwrap();
    assert_eq!((stream.polls, stream.finish), (3, true));
    assert_eq!(stream.shown, vec!["Thinking…", "step 1", "step 2", "step 3"]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(polls.load(Ordering::SeqCst), 3, "no poll after finish");
}
