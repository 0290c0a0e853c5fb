//! DingTalk and WeCom in the local stack, as a newcomer meets them: the real binary, the
//! platform's demo app connected at start (through its module, over HTTP to the in-process
//! sandbox), war rooms moved to it from the sandbox page, a sample incident fired, the group
//! shown on the page with its status card, and the card's buttons and an @mention working.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;

async fn state(stack: &Stack) -> Value {
    reqwest::get(format!("{}/sandbox/api/state", stack.url)).await.unwrap().json().await.unwrap()
}

/// The platform's newest chat on the page, once it shows a status card.
async fn wait_for_group_with_card(stack: &Stack, platform: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = state(stack).await;
        let chat = s[platform]["chats"].as_array().and_then(|c| c.last()).cloned();
        if let Some(chat) = chat.filter(|c| c["messages"].as_array().is_some_and(|m| m.iter().any(|m| m["card"].is_object()))) {
            return chat;
        }
        assert!(Instant::now() < deadline, "no {platform} war room with a card appeared: {}", s[platform]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newcomer_moves_war_rooms_to_dingtalk_on_the_sandbox_page_and_acknowledges_from_the_card() {
    let data = temp_dir("dingtalk-demo");
    let stack = Stack::start(&data, &[]);
    let admin = keys(&data)["admin_key"].as_str().unwrap().to_string();
    let page = |path: &str| format!("{}/sandbox{path}", stack.url);

    let listed = reqwest::get(page("/api/integrations")).await.unwrap().json::<Value>().await.unwrap();
    let dingtalk = listed["integrations"].as_array().unwrap().iter().find(|i| i["platform"] == "dingtalk").cloned();
    let dingtalk = dingtalk.unwrap_or_else(|| panic!("the DingTalk demo app is connected at start: {listed}\n{}", stack.printed()));
    assert_eq!(dingtalk["war_room_enabled"], false, "Slack keeps war rooms by default");
    let id = dingtalk["id"].as_str().unwrap().to_string();
    let detail = get(&format!("{}/api/v1/integrations/{id}", stack.url), &admin).await;
    assert_eq!(detail["status"], "active", "{detail}");

    let (code, moved) = post(&page("/api/war-room"), None, json!({"integration_id": id})).await;
    assert_eq!(code, 200, "{moved}");
    assert_eq!(moved["moved_from"].as_str().map(|s| s.starts_with("int_")), Some(true), "taken from the Slack integration: {moved}");
    let listed = reqwest::get(page("/api/integrations")).await.unwrap().json::<Value>().await.unwrap();
    let on: Vec<&Value> = listed["integrations"].as_array().unwrap().iter().filter(|i| i["war_room_enabled"] == true).collect();
    assert_eq!((on.len(), &on[0]["platform"]), (1, &json!("dingtalk")), "{listed}");

    let (code, fired) = post(&page("/api/fire"), None, json!({})).await;
    assert_eq!(code, 200, "{fired}");
    let incident = fired["incident_id"].as_str().unwrap().to_string();
    let chat = wait_for_group_with_card(&stack, "dingtalk").await;
    let members: Vec<&str> = chat["members"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(members.contains(&"dt_ada") && members.contains(&"dt_bob"), "Ada and Bob found by phone: {chat}");
    let card_msg = chat["messages"].as_array().unwrap().iter().find(|m| m["card"].is_object()).unwrap().clone();
    let card = &card_msg["card"];
    assert_eq!((card["incident_id"].as_str(), card["status"].as_str()), (Some(incident.as_str()), Some("triggered")), "{card}");
    let actions: Vec<&str> = card["buttons"].as_array().unwrap().iter().filter_map(|b| b["action"].as_str()).collect();
    assert!(actions.contains(&"ack") && actions.contains(&"resolve"), "{card}");

    let click = json!({"platform": "dingtalk", "chat": chat["id"], "message": card_msg["id"], "action": "ack", "user": "dt_bob"});
    let (code, clicked) = post(&page("/api/click"), None, click).await;
    assert_eq!(code, 200, "{clicked}");
    assert!(clicked["delivered_to"].as_str().is_some_and(|u| u.ends_with("/cards")), "the signed card callback went to the bundle: {clicked}");
    let acked = wait_for(&stack, &admin, &format!("/api/v1/incidents/{incident}"), "status", "acknowledged").await;
    assert_eq!(acked["status"], "acknowledged");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = state(&stack).await;
        let shown = s["dingtalk"]["chats"].as_array().unwrap().iter().find(|c| c["id"] == chat["id"]).cloned().unwrap();
        let status = shown["messages"].as_array().unwrap().iter().find(|m| m["id"] == card_msg["id"]).map(|m| m["card"]["status"].clone());
        if status == Some(json!("acknowledged")) {
            break;
        }
        assert!(Instant::now() < deadline, "the card was never updated in place: {shown}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (code, said) = post(&page("/api/say"), None, json!({"platform": "dingtalk", "chat": chat["id"], "text": "plain words"})).await;
    assert_eq!((code, said["error"]["code"].as_str()), (400, Some("bad_request")), "a group robot hears only @mentions: {said}");
    let (code, said) = post(&page("/api/say"), None, json!({"platform": "dingtalk", "chat": chat["id"], "text": "resolve", "mention": true})).await;
    assert_eq!(code, 200, "{said}");
    wait_for(&stack, &admin, &format!("/api/v1/incidents/{incident}"), "status", "resolved").await;
    stack.stop();
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dingtalk_sandbox_control_routes_are_served_in_process_for_scripts() {
    let data = temp_dir("dingtalk-control");
    let stack = Stack::start(&data, &[]);
    let view: Value = reqwest::get(format!("{}/sandbox/control/dingtalk/view", stack.url)).await.unwrap().json().await.unwrap();
    let users: Vec<&str> = view["users"].as_array().unwrap().iter().filter_map(|u| u["user_id"].as_str()).collect();
    assert!(users.contains(&"dt_ada"), "{view}");
    let (code, body) =
        post(&format!("{}/sandbox/control/dingtalk/mention", stack.url), None, json!({"group": "cidnone", "user": "dt_ada", "text": "hi"})).await;
    assert_eq!(code, 404, "an unknown group is named: {body}");
    stack.stop();
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newcomer_moves_war_rooms_to_wecom_and_acknowledges_from_a_responders_card() {
    let data = temp_dir("wecom-demo");
    let stack = Stack::start(&data, &[]);
    let admin = keys(&data)["admin_key"].as_str().unwrap().to_string();
    let page = |path: &str| format!("{}/sandbox{path}", stack.url);
    let listed = reqwest::get(page("/api/integrations")).await.unwrap().json::<Value>().await.unwrap();
    let wecom = listed["integrations"].as_array().unwrap().iter().find(|i| i["platform"] == "wecom").cloned();
    let wecom = wecom.unwrap_or_else(|| panic!("the WeCom demo app is connected at start: {listed}\n{}", stack.printed()));
    let (code, moved) = post(&page("/api/war-room"), None, json!({"integration_id": wecom["id"]})).await;
    assert_eq!(code, 200, "{moved}");

    let (code, fired) = post(&page("/api/fire"), None, json!({})).await;
    assert_eq!(code, 200, "{fired}");
    let incident = fired["incident_id"].as_str().unwrap().to_string();
    let chat = wait_for_group_with_card(&stack, "wecom").await;
    let members: Vec<&str> = chat["members"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(members.contains(&"wc_ada") && members.contains(&"wc_bob") && members.contains(&"wc_owner"), "{chat}");
    let card_msg = chat["messages"].as_array().unwrap().iter().find(|m| m["card"].is_object()).unwrap().clone();
    assert_eq!(card_msg["card"]["incident_id"].as_str(), Some(incident.as_str()), "{card_msg}");

    let click = json!({"platform": "wecom", "chat": chat["id"], "message": card_msg["id"], "action": "ack", "user": "wc_bob"});
    let (code, clicked) = post(&page("/api/click"), None, click).await;
    assert_eq!(code, 200, "{clicked}");
    wait_for(&stack, &admin, &format!("/api/v1/incidents/{incident}"), "status", "acknowledged").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = state(&stack).await;
        let shown = s["wecom"]["chats"].as_array().unwrap().iter().find(|c| c["id"] == chat["id"]).cloned().unwrap();
        let card = shown["messages"].as_array().unwrap().iter().find(|m| m["card"].is_object()).map(|m| m["card"]["status"].clone());
        if card == Some(json!("acknowledged")) {
            break;
        }
        assert!(Instant::now() < deadline, "the responders' card was never updated: {shown}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (code, said) = post(&page("/api/say"), None, json!({"platform": "wecom", "chat": chat["id"], "text": "resolve", "mention": true})).await;
    assert_eq!(code, 200, "{said}");
    wait_for(&stack, &admin, &format!("/api/v1/incidents/{incident}"), "status", "resolved").await;
    stack.stop();
    let _ = std::fs::remove_dir_all(&data);
}
