//! The Feishu sandbox's CardKit endpoints and message replies over HTTP: card entities, the
//! `sequence` rule, streaming mode, ownership, one send per card, and the chat view.

use std::time::Duration;

use serde_json::{json, Value};
use warroom_sandbox::feishu::{FeishuSandbox, SandboxConfig};

const APP: &str = "cli_cardkit01";
const OTHER: &str = "cli_cardkit02";
const SCOPES: &[&str] = &["im:chat", "im:message", "im:message.group_msg", "cardkit:card:write"];

struct Fx {
    sb: FeishuSandbox,
    base: String,
    http: reqwest::Client,
}

async fn start() -> Fx {
    let sb = FeishuSandbox::new(SandboxConfig { enforce_rate_limits: true, token_ttl: Duration::from_secs(7200) });
    sb.add_app(APP, "s1", "v", "", SCOPES);
    sb.add_app(OTHER, "s2", "v", "", SCOPES);
    sb.add_user("ou_alice", "Alice", None, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = sb.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Fx { sb, base, http: reqwest::Client::new() }
}

impl Fx {
    async fn call(&self, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
        let resp = self.http.request(method.parse().unwrap(), format!("{}{path}", self.base)).bearer_auth(token).json(&body).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }
    async fn token(&self, app: &str, secret: &str) -> String {
        let resp = self.http.post(format!("{}/open-apis/auth/v3/tenant_access_token/internal", self.base)).json(&json!({"app_id": app, "app_secret": secret}));
        let b: Value = resp.send().await.unwrap().json().await.unwrap();
        b["tenant_access_token"].as_str().unwrap().to_string()
    }
    async fn card(&self, t: &str, card: Value) -> (u16, Value) {
        self.call("POST", "/open-apis/cardkit/v1/cards", t, json!({"type": "card_json", "data": card.to_string()})).await
    }
    async fn content(&self, t: &str, card_id: &str, element: &str, text: &str, sequence: i64) -> (u16, Value) {
        let path = format!("/open-apis/cardkit/v1/cards/{card_id}/elements/{element}/content");
        self.call("PUT", &path, t, json!({"content": text, "sequence": sequence})).await
    }
}

fn streaming_card(text: &str) -> Value {
    json!({"schema": "2.0", "config": {"streaming_mode": true, "update_multi": true},
        "body": {"elements": [{"tag": "markdown", "element_id": "md", "content": text}]}})
}

#[tokio::test]
async fn a_streaming_card_is_sent_as_a_reply_grows_by_increasing_sequences_and_stops() {
    let fx = start().await;
    let t = fx.token(APP, "s1").await;
    let (_, chat) = fx.call("POST", "/open-apis/im/v1/chats", &t, json!({"name": "war room"})).await;
    let chat_id = chat["data"]["chat_id"].as_str().unwrap().to_string();
    let question = fx.sb.user_says(&chat_id, "ou_alice", "@bot why?");

    let (_, created) = fx.card(&t, streaming_card("…")).await;
    let card_id = created["data"]["card_id"].as_str().unwrap().to_string();
    assert_eq!(card_id.len(), 19, "card ids look like the docs' 19 digits");
    let content = json!({"type": "card", "data": {"card_id": card_id}}).to_string();
    let (status, sent) =
        fx.call("POST", &format!("/open-apis/im/v1/messages/{question}/reply"), &t, json!({"msg_type": "interactive", "content": content})).await;
    assert_eq!((status, sent["code"].as_i64()), (200, Some(0)), "{sent}");
    assert_eq!(sent["data"]["parent_id"], json!(question));
    // One card entity, one send.
    let (_, again) = fx.call("POST", &format!("/open-apis/im/v1/messages/{question}/reply"), &t, json!({"msg_type": "interactive", "content": content})).await;
    assert_eq!(again["code"], 230099, "{again}");

    assert_eq!(fx.content(&t, &card_id, "md", "Because", 5).await.1["code"], 0);
    let (status, same) = fx.content(&t, &card_id, "md", "Because of", 5).await;
    assert_eq!((status, same["code"].as_i64()), (400, Some(300317)), "a sequence that does not increase");
    let (_, lower) = fx.content(&t, &card_id, "md", "Because of", 4).await;
    assert_eq!(lower["code"], 300317);
    assert_eq!(fx.content(&t, &card_id, "md", "Because of the deploy.", 6).await.1["code"], 0);
    assert_eq!(fx.content(&t, &card_id, "nope", "x", 7).await.1["code"], 10002, "unknown element");
    assert_eq!(fx.content(&t, &card_id, "md", "x", 0).await.1["code"], 99992402, "sequence must be positive");

    let view = fx.sb.chat(&chat_id).unwrap();
    let answer = view.messages.iter().find(|m| m.sender_type == "app").unwrap();
    assert_eq!(answer.content["body"]["elements"][0]["content"], "Because of the deploy.", "the chat shows the card's text");
    assert_eq!((answer.parent_id.as_deref(), answer.card_streaming), (Some(question.as_str()), Some(true)));

    // Settings take a sequence too, then content updates are refused.
    let settings = json!({"config": {"streaming_mode": false}}).to_string();
    let (_, stale) = fx.call("PATCH", &format!("/open-apis/cardkit/v1/cards/{card_id}/settings"), &t, json!({"settings": settings, "sequence": 6})).await;
    assert_eq!(stale["code"], 300317);
    let (_, off) = fx.call("PATCH", &format!("/open-apis/cardkit/v1/cards/{card_id}/settings"), &t, json!({"settings": settings, "sequence": 8})).await;
    assert_eq!(off["code"], 0, "{off}");
    assert_eq!(fx.content(&t, &card_id, "md", "late", 9).await.1["code"], 300309, "streaming mode is off");
    assert_eq!(fx.sb.chat(&chat_id).unwrap().messages.iter().find(|m| m.sender_type == "app").unwrap().card_streaming, Some(false));
    let seqs: Vec<i64> = fx.sb.card_updates().iter().map(|u| u.sequence).collect();
    assert_eq!(seqs, [5, 6], "only accepted updates are logged");
    // The history lists the card as it is now, not the bare card_id reference.
    let resp = fx.http.get(format!("{}/open-apis/im/v1/messages?container_id_type=chat&container_id={chat_id}", fx.base)).bearer_auth(&t).send().await.unwrap();
    let listed: Value = resp.json().await.unwrap();
    let card = listed["data"]["items"].as_array().unwrap().iter().find(|m| m["msg_type"] == "interactive").unwrap();
    assert!(card["body"]["content"].as_str().unwrap().contains("Because of the deploy."), "{card}");
}

#[tokio::test]
async fn cards_are_checked_for_version_sharing_owner_and_existence() {
    let fx = start().await;
    let t = fx.token(APP, "s1").await;
    let (_, v1) = fx.card(&t, json!({"config": {"update_multi": true}, "elements": []})).await;
    assert_eq!(v1["code"], 200220, "JSON 1.0 is refused: {v1}");
    let mut exclusive = streaming_card("x");
    exclusive["config"]["update_multi"] = json!(false);
    assert_eq!(fx.card(&t, exclusive).await.1["code"], 300302);
    let (_, created) = fx.card(&t, streaming_card("x")).await;
    let card_id = created["data"]["card_id"].as_str().unwrap().to_string();
    let other = fx.token(OTHER, "s2").await;
    assert_eq!(fx.content(&other, &card_id, "md", "mine now", 1).await.1["code"], 300311, "another app's card");
    assert_eq!(fx.content(&t, "7000000000000000000", "md", "x", 1).await.1["code"], 200740, "unknown card");
    fx.sb.advance(Duration::from_secs(15 * 24 * 3600));
    let t = fx.token(APP, "s1").await;
    assert_eq!(fx.content(&t, &card_id, "md", "x", 1).await.1["code"], 200750, "expired after 14 days");
}

#[tokio::test]
async fn cardkit_needs_its_scope_and_eleven_operations_in_a_second_hit_the_per_card_limit() {
    let fx = start().await;
    fx.sb.freeze_clock();
    let t = fx.token(APP, "s1").await;
    let (_, created) = fx.card(&t, streaming_card("")).await;
    let card_id = created["data"]["card_id"].as_str().unwrap().to_string();
    for seq in 1..=10 {
        assert_eq!(fx.content(&t, &card_id, "md", "x", seq).await.1["code"], 0);
    }
    let (status, limited) = fx.content(&t, &card_id, "md", "x", 11).await;
    assert_eq!((status, limited["code"].as_i64()), (429, Some(99991400)));
    fx.sb.advance(Duration::from_secs(1));
    assert_eq!(fx.content(&t, &card_id, "md", "x", 11).await.1["code"], 0, "free again a second later");
    fx.sb.set_scopes(APP, &["im:message"]);
    assert_eq!(fx.card(&t, streaming_card("")).await.1["code"], 99991672);
}
