//! Callbacks to a small receiving server that verifies them as the bundle must.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use warroom_sandbox::dingtalk::control;

use crate::support::{event_bundle, event_payload, receiver, serve, sha1_signature, start, APP, EVENT_TOKEN, SECRET};

fn hmac_b64(key: &str, msg: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(msg.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn check_url_arrives_encrypted_and_signed_and_only_the_encrypted_success_counts_as_acknowledged() {
    let fx = start(true).await;
    let (url, inbox) = receiver(event_bundle).await;
    fx.sb.set_callback_urls(APP, Some(&url), None);
    let ack = fx.sb.check_url(APP).await.unwrap();
    assert!(ack.acknowledged, "{:?}", ack.problem);
    let got = inbox.lock().unwrap()[0].clone();
    assert_eq!(got.query("msg_signature"), sha1_signature(EVENT_TOKEN, &got.query("timeStamp"), &got.query("nonce"), got.json()["encrypt"].as_str().unwrap()));
    assert!(got.query("timeStamp").parse::<u64>().unwrap() > 1_600_000_000_000, "milliseconds");
    assert_eq!(event_payload(&got), json!({"EventType": "check_url"}));

    let (plain_url, _) = receiver(|_| (200, "success".to_string())).await;
    fx.sb.set_callback_urls(APP, Some(&plain_url), None);
    let ack = fx.sb.check_url(APP).await.unwrap();
    assert!(!ack.acknowledged && ack.problem.is_some(), "a plain `success` is not the required answer");
}

#[tokio::test]
async fn a_robot_mention_is_signed_with_the_app_secret_and_its_session_webhook_posts_into_the_group() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "u_bob").await;
    let (url, inbox) = receiver(|_| (200, "{}".to_string())).await;
    fx.sb.set_callback_urls(APP, None, Some(&url));
    let resp = fx.sb.mention_robot(&ocid, "u_bob", "status?").await.unwrap();
    assert_eq!(resp.status(), 200);
    let got = inbox.lock().unwrap()[0].clone();
    let ts = got.header("timestamp");
    assert_eq!(got.header("sign"), hmac_b64(SECRET, &format!("{ts}\n{SECRET}")));
    let msg = got.json();
    assert_eq!((msg["conversationId"].as_str(), msg["senderStaffId"].as_str()), (Some(ocid.as_str()), Some("u_bob")));
    assert_eq!((msg["text"]["content"].as_str(), msg["isInAtList"].as_bool(), msg["conversationType"].as_str()), (Some("status?"), Some(true), Some("2")));
    assert_eq!(msg["robotCode"], "grb_dingappkey01");

    let reply = json!({"msgtype": "markdown", "markdown": {"title": "INC-1", "text": "triggered"}});
    let b: serde_json::Value = fx.http.post(msg["sessionWebhook"].as_str().unwrap()).json(&reply).send().await.unwrap().json().await.unwrap();
    assert_eq!(b["errcode"].as_i64(), Some(0));
    let texts: Vec<(String, bool)> = fx.sb.group(&ocid).unwrap().messages.iter().map(|m| (m.text.clone(), m.from_robot)).collect();
    assert_eq!(texts, vec![("status?".to_string(), false), ("INC-1\ntriggered".to_string(), true)]);
    let b: serde_json::Value = fx.http.post(format!("{}/robot/sendBySession?session=forged", fx.base)).json(&reply).send().await.unwrap().json().await.unwrap();
    assert_eq!(b["errcode"].as_i64(), Some(300005));
}

#[tokio::test]
async fn a_card_click_is_signed_with_the_api_secret_and_a_timely_answer_updates_the_card() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "u_bob").await;
    let answer = json!({"cardData": {"cardParamMap": {"status": "acknowledged"}}, "userPrivateData": {"cardParamMap": {"mine": "yes"}},
                        "cardUpdateOptions": {"updateCardDataByKey": true, "updatePrivateDataByKey": true}});
    let (url, inbox) = receiver(move |_| (200, answer.to_string())).await;
    let register = json!({"callbackRouteKey": "warroom", "callbackUrl": url, "apiSecret": "card-secret"});
    fx.new_api("POST", "/v1.0/card/callbacks/register", Some(&t), register).await;
    fx.card(&t, &ocid, "inc-1-card", "warroom").await;
    let click = fx.sb.click_card("inc-1-card", "u_bob", "ack", json!({"incident": "inc_1"})).await.unwrap();
    assert!(click.applied);
    let got = inbox.lock().unwrap()[0].clone();
    assert_eq!(got.header("x-ddpaas-signature"), hmac_b64("card-secret", &got.header("x-ddpaas-signature-timestamp")));
    let cb = got.json();
    assert_eq!((cb["type"].as_str(), cb["outTrackId"].as_str(), cb["userId"].as_str()), (Some("actionCallback"), Some("inc-1-card"), Some("u_bob")));
    let content: serde_json::Value = serde_json::from_str(cb["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, json!({"cardPrivateData": {"actionIds": ["ack"], "params": {"incident": "inc_1"}}}));
    let card = fx.sb.card("inc-1-card").unwrap();
    assert_eq!((card.card_data["status"].as_str(), card.card_data["title"].as_str()), ("acknowledged", "DB down"));
    assert_eq!(card.private_data["u_bob"]["mine"], "yes");

    // A blocking sleep stalls this test's runtime too, which is fine: the sandbox times the
    // answer by the wall clock.
    let (slow_url, _) = receiver(|_| {
        std::thread::sleep(std::time::Duration::from_millis(2100));
        (200, json!({"cardData": {"cardParamMap": {"status": "late"}}}).to_string())
    })
    .await;
    let register = json!({"callbackRouteKey": "warroom", "callbackUrl": slow_url, "forceUpdate": true});
    fx.new_api("POST", "/v1.0/card/callbacks/register", Some(&t), register).await;
    let click = fx.sb.click_card("inc-1-card", "u_bob", "ack", json!({})).await.unwrap();
    assert!(!click.applied, "answered after 2 s");
    assert_eq!(fx.sb.card("inc-1-card").unwrap().card_data["status"], "acknowledged");
}

#[tokio::test]
async fn disbanding_or_changing_members_inside_dingtalk_sends_the_group_events_and_api_calls_then_get_chat_gone() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "u_bob").await;
    let (url, inbox) = receiver(event_bundle).await;
    fx.sb.set_callback_urls(APP, Some(&url), None);
    let ack = fx.sb.change_members_from_inside(&ocid, "u_ada", &["u_cy", "u_bob"], true).await.unwrap().unwrap();
    assert!(ack.acknowledged);
    let added = event_payload(&inbox.lock().unwrap()[0]);
    assert_eq!((added["EventType"].as_str(), added["UserId"].clone()), (Some("chat_add_member"), json!(["u_cy"])), "only who changed");
    let ack = fx.sb.disband_from_inside(&ocid, "u_ada").await.unwrap().unwrap();
    assert!(ack.acknowledged);
    let disbanded = event_payload(&inbox.lock().unwrap()[1]);
    assert_eq!((disbanded["EventType"].as_str(), disbanded["OpenConversationId"].as_str()), (Some("chat_disband"), Some(ocid.as_str())));
    assert_eq!(disbanded["Operator"], "u_ada");
    let (status, b) = fx.new_api("POST", "/v1.0/im/sceneGroups/query", Some(&t), json!({"openConversationId": ocid})).await;
    assert_eq!((status, b["code"].as_str()), (400, Some("invalid.openConversationId")));
}

#[tokio::test]
async fn the_control_routes_drive_a_click_and_show_the_war_room_in_the_view() {
    let fx = start(true).await;
    let control = serve(axum::Router::new().nest("/control/dingtalk", control::router(&fx.sb))).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "u_bob").await;
    let (url, _) = receiver(|_| (200, json!({"cardData": {"cardParamMap": {"status": "resolved"}}}).to_string())).await;
    fx.new_api("POST", "/v1.0/card/callbacks/register", Some(&t), json!({"callbackRouteKey": "k", "callbackUrl": url})).await;
    fx.card(&t, &ocid, "c1", "k").await;
    let post = |path: &str, body: serde_json::Value| fx.http.post(format!("{control}/control/dingtalk{path}")).json(&body).send();
    let resp = post("/click", json!({"out_track_id": "c1", "user": "u_bob", "action_id": "resolve"})).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["card_updated"], json!(true));
    assert_eq!(post("/click", json!({"out_track_id": "nope", "user": "u_bob", "action_id": "x"})).await.unwrap().status(), 404);
    assert_eq!(post("/mention", json!({"group": ocid, "user": "u_bob", "text": "hi"})).await.unwrap().status(), 409, "no robot URL");
    let view: serde_json::Value = fx.http.get(format!("{control}/control/dingtalk/view")).send().await.unwrap().json().await.unwrap();
    let group = &view["groups"][0];
    assert_eq!((group["open_conversation_id"].as_str(), group["members"].clone()), (Some(ocid.as_str()), json!(["u_ada", "u_bob"])));
    assert_eq!(group["cards"][0]["card_data"]["status"], "resolved");
    assert_eq!(view["users"][2]["email"], "cy@example.com");
}
