//! Holding a call in flight, over real HTTP: a call held before it takes effect changes
//! nothing until released (and nothing at all when aborted); a call held after has its
//! effect visible while its answer waits. What crash tests kill a caller in between.

use std::time::Duration;

use serde_json::{json, Value};
use warroom_sandbox::feishu::{FeishuSandbox, SandboxConfig as FeishuConfig};
use warroom_sandbox::slack::{SandboxConfig as SlackConfig, SlackSandbox};
use warroom_sandbox::{HoldPoint, Holds, Release};

const TEAM: &str = "T0HOLD";

async fn slack() -> (SlackSandbox, String, String) {
    let sb = SlackSandbox::new(SlackConfig { client_id: "1.2".into(), client_secret: "s".into(), signing_secret: "s".into(), enforce_rate_limits: false });
    sb.add_workspace(TEAM, "Hold");
    let token = sb.issue_bot_token(TEAM, &["groups:write", "channels:manage", "chat:write"]);
    let base = sb.serve_local().await.unwrap();
    (sb, base, token)
}

async fn create(base: String, token: String, name: &'static str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/conversations.create"))
        .bearer_auth(token)
        .json(&json!({"name": name, "is_private": true}))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

async fn until_holding(holds: &Holds) {
    for _ in 0..500 {
        if holds.status().is_some_and(|s| s.holding) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no call reached the hold: {:?}", holds.status());
}

#[tokio::test]
async fn a_slack_call_held_before_it_applies_changes_nothing_and_never_applies_once_aborted() {
    let (sb, base, token) = slack().await;
    sb.holds().arm("conversations.create", HoldPoint::Before).unwrap();
    let call = tokio::spawn(create(base.clone(), token.clone(), "held"));
    until_holding(sb.holds()).await;
    assert!(sb.channels(TEAM).is_empty(), "not applied while held");
    sb.holds().release(Release::Abort).unwrap();
    assert_eq!(call.await.unwrap().0, 503);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(sb.channels(TEAM).is_empty(), "never applied");
    assert!(sb.calls().is_empty(), "never answered as a Slack call");

    // Disarmed: the next call goes straight through.
    let (status, body) = create(base, token, "free").await;
    assert_eq!((status, &body["ok"]), (200, &json!(true)), "{body}");
}

#[tokio::test]
async fn a_slack_call_held_after_it_applied_shows_its_effect_while_its_answer_waits() {
    let (sb, base, token) = slack().await;
    sb.holds().arm("conversations.create", HoldPoint::After).unwrap();
    let call = tokio::spawn(create(base, token, "held"));
    until_holding(sb.holds()).await;
    let channels = sb.channels(TEAM);
    assert_eq!(channels.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["held"], "applied before the answer");
    assert!(!call.is_finished(), "the answer waits");
    sb.holds().release(Release::Proceed).unwrap();
    let (status, body) = call.await.unwrap();
    assert_eq!((status, &body["channel"]["id"]), (200, &json!(channels[0].id)), "{body}");
}

#[tokio::test]
async fn a_feishu_call_is_held_by_a_pattern_with_a_wildcard_segment() {
    let sb = FeishuSandbox::new(FeishuConfig::default());
    sb.add_app("cli_hold", "secret", "vt", "key", &["im:chat"]);
    sb.add_user("ou_ada", "Ada", None, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = sb.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/open-apis/auth/v3/tenant_access_token/internal"))
        .json(&json!({"app_id": "cli_hold", "app_secret": "secret"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["tenant_access_token"].as_str().unwrap().to_string();
    let chat: Value =
        http.post(format!("{base}/open-apis/im/v1/chats")).bearer_auth(&token).json(&json!({"name": "room"})).send().await.unwrap().json().await.unwrap();
    let chat_id = chat["data"]["chat_id"].as_str().unwrap().to_string();

    sb.holds().arm("POST /open-apis/im/v1/chats/*/members", HoldPoint::Before).unwrap();
    let url = format!("{base}/open-apis/im/v1/chats/{chat_id}/members?member_id_type=open_id");
    let call = tokio::spawn(async move { http.post(url).bearer_auth(token).json(&json!({"id_list": ["ou_ada"]})).send().await.unwrap().status().as_u16() });
    until_holding(sb.holds()).await;
    assert_eq!(sb.holds().status().unwrap().held_call, Some(format!("POST /open-apis/im/v1/chats/{chat_id}/members")));
    assert!(sb.chat(&chat_id).unwrap().members.is_empty());
    sb.holds().release(Release::Proceed).unwrap();
    assert_eq!(call.await.unwrap(), 200);
    assert_eq!(sb.chat(&chat_id).unwrap().members, vec!["ou_ada".to_string()]);
}
