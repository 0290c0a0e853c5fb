//! The Feishu sandbox, driven over HTTP like the adapter will drive it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use warroom_sandbox::feishu::{FeishuSandbox, SandboxConfig};

const APP: &str = "cli_sandbox01";
const SECRET: &str = "s3cret";
const VTOKEN: &str = "vtoken";
const KEY: &str = "test key";
const ALL_SCOPES: &[&str] =
    &["im:chat", "im:message", "im:message.group_msg", "contact:user.id:readonly", "contact:user.email:readonly", "contact:user.phone:readonly"];

struct Fx {
    sb: FeishuSandbox,
    base: String,
    http: reqwest::Client,
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

async fn start(enforce_rate_limits: bool) -> Fx {
    let sb = FeishuSandbox::new(SandboxConfig { enforce_rate_limits, token_ttl: Duration::from_secs(7200) });
    sb.add_app(APP, SECRET, VTOKEN, KEY, ALL_SCOPES);
    sb.add_user("ou_alice", "Alice", Some("alice@example.com"), Some("+8613011111111"));
    sb.add_user("ou_bob", "Bob", Some("bob@example.com"), None);
    let base = serve(sb.router()).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Fx { sb, base, http }
}

impl Fx {
    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, HeaderMap, Value) {
        let mut rb = self.http.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        (status, headers, resp.json().await.unwrap_or(Value::Null))
    }

    async fn token(&self) -> String {
        let (_, _, b) = self.call("POST", "/open-apis/auth/v3/tenant_access_token/internal", None, Some(json!({"app_id": APP, "app_secret": SECRET}))).await;
        b["tenant_access_token"].as_str().unwrap().to_string()
    }

    async fn chat(&self, t: &str, body: Value) -> String {
        let (_, _, b) = self.call("POST", "/open-apis/im/v1/chats", Some(t), Some(body)).await;
        b["data"]["chat_id"].as_str().unwrap().to_string()
    }

    async fn send(&self, t: &str, chat_id: &str, msg_type: &str, content: Value) -> (u16, HeaderMap, Value) {
        let body = json!({"receive_id": chat_id, "msg_type": msg_type, "content": content.to_string()});
        self.call("POST", "/open-apis/im/v1/messages?receive_id_type=chat_id", Some(t), Some(body)).await
    }
}

/// A receiver for callbacks: records (headers, raw body) and answers `reply`.
async fn receiver(reply: Value) -> (String, Arc<Mutex<Vec<(HeaderMap, String)>>>) {
    let inbox: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let seen = inbox.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            let reply = reply.clone();
            async move {
                seen.lock().unwrap().push((headers, body));
                axum::Json(reply)
            }
        }),
    );
    (format!("{}/hook", serve(router).await), inbox)
}

/// Decryption as the reference describes the official method: key = SHA-256(encrypt_key),
/// IV = the first 16 bytes of the base64-decoded payload, AES-256-CBC, PKCS#7.
fn decrypt(encrypt_key: &str, encrypted: &str) -> Vec<u8> {
    let buf = STANDARD.decode(encrypted).unwrap();
    let key = Sha256::digest(encrypt_key.as_bytes());
    let (iv, ciphertext) = buf.split_at(16);
    cbc::Decryptor::<aes::Aes256>::new_from_slices(&key[..], iv).unwrap().decrypt_padded_vec::<Pkcs7>(ciphertext).unwrap()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).unwrap().to_str().unwrap()
}

#[tokio::test]
async fn a_tenant_token_is_reused_while_30_minutes_remain_then_renewed_and_finally_expires() {
    let fx = start(false).await;
    let path = "/open-apis/auth/v3/tenant_access_token/internal";
    let (status, _, wrong) = fx.call("POST", path, None, Some(json!({"app_id": APP, "app_secret": "nope"}))).await;
    assert_eq!((status, wrong["code"].as_i64()), (400, Some(10014)));
    let (_, _, first) = fx.call("POST", path, None, Some(json!({"app_id": APP, "app_secret": SECRET}))).await;
    assert_eq!((first["code"].as_i64(), first["expire"].as_u64()), (Some(0), Some(7200)));
    let t1 = first["tenant_access_token"].as_str().unwrap().to_string();
    assert!(t1.starts_with("t-"));
    fx.sb.advance(Duration::from_secs(5000));
    let (_, _, again) = fx.call("POST", path, None, Some(json!({"app_id": APP, "app_secret": SECRET}))).await;
    assert_eq!(again["tenant_access_token"], json!(t1));
    assert!(again["expire"].as_u64().unwrap() <= 2200);
    fx.sb.advance(Duration::from_secs(500)); // 1700 s (< 30 min) left: a new token
    let (_, _, renewed) = fx.call("POST", path, None, Some(json!({"app_id": APP, "app_secret": SECRET}))).await;
    let t2 = renewed["tenant_access_token"].as_str().unwrap().to_string();
    assert_ne!(t2, t1);
    assert_eq!(renewed["expire"].as_u64(), Some(7200));
    let (status, _, b) = fx.call("GET", "/open-apis/application/v6/scopes", Some(&t1), None).await;
    assert_eq!((status, b["code"].as_i64()), (200, Some(0)), "both tokens are valid together");
    fx.sb.advance(Duration::from_secs(1800));
    let (status, _, b) = fx.call("GET", "/open-apis/application/v6/scopes", Some(&t1), None).await;
    assert_eq!((status, b["code"].as_i64()), (400, Some(99991663)));
    let (_, _, b) = fx.call("GET", "/open-apis/application/v6/scopes", Some(&t2), None).await;
    assert_eq!(b["code"].as_i64(), Some(0));
    let (_, _, b) = fx.call("GET", "/open-apis/application/v6/scopes", None, None).await;
    assert_eq!(b["code"].as_i64(), Some(99991661));
}

#[tokio::test]
async fn creating_a_chat_twice_with_one_uuid_within_10_hours_returns_the_same_chat() {
    let fx = start(true).await;
    let t = fx.token().await;
    let body = json!({"name": "INC-1", "description": "db down", "user_id_list": ["ou_alice"]});
    let path = "/open-apis/im/v1/chats?user_id_type=open_id&uuid=inc-1";
    let (_, _, a) = fx.call("POST", path, Some(&t), Some(body.clone())).await;
    let (_, _, b) = fx.call("POST", path, Some(&t), Some(body.clone())).await;
    assert_eq!(a["data"]["chat_id"], b["data"]["chat_id"]);
    assert_eq!(fx.sb.chats().len(), 1);
    fx.sb.advance(Duration::from_secs(10 * 3600));
    let t = fx.token().await;
    let (_, _, c) = fx.call("POST", path, Some(&t), Some(body)).await;
    assert_ne!(a["data"]["chat_id"], c["data"]["chat_id"]);
    let chat = fx.sb.chat(a["data"]["chat_id"].as_str().unwrap()).unwrap();
    assert_eq!((chat.name.as_str(), chat.members.clone(), chat.bots.clone()), ("INC-1", vec!["ou_alice".to_string()], vec![APP.to_string()]));
}

#[tokio::test]
async fn adding_an_unknown_member_with_succeed_type_1_adds_the_rest_and_lists_it_as_not_existed() {
    let fx = start(true).await;
    let t = fx.token().await;
    let chat_id = fx.chat(&t, json!({"name": "INC-2"})).await;
    let ids = json!({"id_list": ["ou_alice", "ou_ghost"]});
    let strict = format!("/open-apis/im/v1/chats/{chat_id}/members?member_id_type=open_id");
    let (status, _, b) = fx.call("POST", &strict, Some(&t), Some(ids.clone())).await;
    assert_eq!((status, b["code"].as_i64()), (400, Some(99992351)));
    let (_, _, b) = fx.call("POST", &format!("{strict}&succeed_type=1"), Some(&t), Some(ids)).await;
    assert_eq!(b["code"].as_i64(), Some(0));
    assert_eq!(b["data"]["not_existed_id_list"], json!(["ou_ghost"]));
    assert_eq!(b["data"]["invalid_id_list"], json!([]));
    assert_eq!(fx.sb.chat(&chat_id).unwrap().members, vec!["ou_alice".to_string()]);
}

#[tokio::test]
async fn a_message_whose_content_is_an_object_instead_of_a_string_is_refused_with_9499() {
    let fx = start(true).await;
    let t = fx.token().await;
    let chat_id = fx.chat(&t, json!({"name": "INC-3"})).await;
    let body = json!({"receive_id": chat_id, "msg_type": "text", "content": {"text": "hi"}});
    let (status, _, b) = fx.call("POST", "/open-apis/im/v1/messages?receive_id_type=chat_id", Some(&t), Some(body)).await;
    assert_eq!((status, b["code"].as_i64()), (400, Some(9499)));
    assert!(b["msg"].as_str().unwrap().contains("Invalid parameter type in json: content"));
    let (_, _, b) = fx.send(&t, &chat_id, "text", json!({"text": "hi"})).await;
    assert_eq!(b["data"]["body"]["content"], json!("{\"text\":\"hi\"}"));
    assert_eq!(fx.sb.chat(&chat_id).unwrap().messages[0].content, json!({"text": "hi"}));
}

#[tokio::test]
async fn the_sixth_send_to_one_chat_within_a_second_is_refused_with_230020_as_documented() {
    let fx = start(true).await;
    fx.sb.freeze_clock();
    let t = fx.token().await;
    let chat_id = fx.chat(&t, json!({"name": "INC-4"})).await;
    for i in 0..5 {
        let (_, _, b) = fx.send(&t, &chat_id, "text", json!({"text": format!("m{i}")})).await;
        assert_eq!(b["code"].as_i64(), Some(0));
    }
    let (status, _, b) = fx.send(&t, &chat_id, "text", json!({"text": "too fast"})).await;
    assert_eq!((status, b["code"].as_i64()), (400, Some(230020)));
    assert_eq!(fx.sb.rate_limited_count(), 1);
    fx.sb.advance(Duration::from_secs(1));
    let (_, _, b) = fx.send(&t, &chat_id, "text", json!({"text": "later"})).await;
    assert_eq!(b["code"].as_i64(), Some(0));
}

#[tokio::test]
async fn the_51st_call_of_an_app_within_a_second_gets_429_99991400_with_ratelimit_headers() {
    let fx = start(true).await;
    fx.sb.freeze_clock();
    let t = fx.token().await;
    for _ in 0..50 {
        let (status, _, _) = fx.call("GET", "/open-apis/application/v6/scopes", Some(&t), None).await;
        assert_eq!(status, 200);
    }
    let (status, headers, b) = fx.call("GET", "/open-apis/im/v1/chats", Some(&t), None).await;
    assert_eq!(status, 429);
    assert_eq!(b, json!({"code": 99991400, "msg": "request trigger frequency limit"}));
    assert_eq!((header(&headers, "x-ogw-ratelimit-limit"), header(&headers, "x-ogw-ratelimit-reset")), ("50", "1"));
    fx.sb.advance(Duration::from_millis(999));
    assert_eq!(fx.call("GET", "/open-apis/im/v1/chats", Some(&t), None).await.0, 429);
    fx.sb.advance(Duration::from_millis(1));
    assert_eq!(fx.call("GET", "/open-apis/im/v1/chats", Some(&t), None).await.0, 200);
    let calls = fx.sb.calls();
    assert_eq!(calls.iter().filter(|c| c.code == 99991400).count(), 2);
    assert!(fx.sb.first_call_at() <= fx.sb.last_call_at());
}

#[tokio::test]
async fn a_message_event_survives_the_official_decryption_and_carries_a_valid_signature() {
    // The decryption helper first reproduces the official vector (reference F1).
    assert_eq!(decrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="), b"hello world");
    let fx = start(true).await;
    let t = fx.token().await;
    let chat_id = fx.chat(&t, json!({"name": "INC-5", "user_id_list": ["ou_alice"]})).await;
    let (url, inbox) = receiver(json!({"msg": "success"})).await;
    let resp = fx.sb.send_message_event(&url, APP, &chat_id, "ou_alice", "ack", true).await.unwrap();
    assert_eq!(resp.status(), 200);
    let (headers, body) = inbox.lock().unwrap()[0].clone();
    let (ts, nonce) = (header(&headers, "x-lark-request-timestamp"), header(&headers, "x-lark-request-nonce"));
    let expected = hex::encode(Sha256::digest(format!("{ts}{nonce}{KEY}{body}").as_bytes()));
    assert_eq!(header(&headers, "x-lark-signature"), expected);
    let outer: Value = serde_json::from_str(&body).unwrap();
    let event: Value = serde_json::from_slice(&decrypt(KEY, outer["encrypt"].as_str().unwrap())).unwrap();
    assert_eq!(event["schema"], "2.0");
    assert_eq!(event["header"]["event_type"], "im.message.receive_v1");
    assert_eq!((event["header"]["token"].as_str(), event["header"]["app_id"].as_str()), (Some(VTOKEN), Some(APP)));
    assert_eq!(event["event"]["message"]["content"], json!("{\"text\":\"@_user_1 ack\"}"));
    assert_eq!(event["event"]["message"]["mentions"][0]["id"]["open_id"], json!(fx.sb.bot_open_id(APP).unwrap()));
    assert_eq!(event["event"]["sender"]["sender_id"]["open_id"], "ou_alice");
    assert_eq!(fx.sb.chat(&chat_id).unwrap().messages[0].sender, "ou_alice");
    // A re-push keeps the event_id.
    let first = fx.sb.last_delivery().unwrap();
    fx.sb.resend(&url, &first).await.unwrap();
    let (_, body2) = inbox.lock().unwrap()[1].clone();
    let outer2: Value = serde_json::from_str(&body2).unwrap();
    let again: Value = serde_json::from_slice(&decrypt(KEY, outer2["encrypt"].as_str().unwrap())).unwrap();
    assert_eq!(again["header"]["event_id"], event["header"]["event_id"]);
}

#[tokio::test]
async fn a_card_can_be_patched_only_when_shared_and_five_times_a_second() {
    let fx = start(true).await;
    fx.sb.freeze_clock();
    let t = fx.token().await;
    let chat_id = fx.chat(&t, json!({"name": "INC-6"})).await;
    let (_, _, private) = fx.send(&t, &chat_id, "interactive", json!({"elements": []})).await;
    let card = json!({"config": {"update_multi": true}, "elements": []});
    let patch = |id: &str| format!("/open-apis/im/v1/messages/{id}");
    let (_, _, b) = fx.call("PATCH", &patch(private["data"]["message_id"].as_str().unwrap()), Some(&t), Some(json!({"content": card.to_string()}))).await;
    assert_eq!(b["code"].as_i64(), Some(230001));
    let (_, _, shared) = fx.send(&t, &chat_id, "interactive", card.clone()).await;
    let id = shared["data"]["message_id"].as_str().unwrap().to_string();
    for _ in 0..5 {
        let (_, _, b) = fx.call("PATCH", &patch(&id), Some(&t), Some(json!({"content": card.to_string()}))).await;
        assert_eq!(b, json!({"code": 0, "data": {}, "msg": "ok"}));
    }
    let (status, _, b) = fx.call("PATCH", &patch(&id), Some(&t), Some(json!({"content": card.to_string()}))).await;
    assert_eq!((status, b["code"].as_i64()), (400, Some(230020)));
    let chat = fx.sb.chat(&chat_id).unwrap();
    assert_eq!(chat.messages[1].updated_count, 5);
}

#[tokio::test]
async fn a_missing_scope_is_refused_with_99991672_naming_the_scopes() {
    let fx = start(true).await;
    fx.sb.set_scopes(APP, &["im:chat"]);
    let t = fx.token().await;
    let body = json!({"emails": ["alice@example.com"]});
    let (status, _, b) = fx.call("POST", "/open-apis/contact/v3/users/batch_get_id?user_id_type=open_id", Some(&t), Some(body)).await;
    assert_eq!((status, b["code"].as_i64()), (400, Some(99991672)));
    assert!(b["msg"].as_str().unwrap().contains("contact:user.id:readonly"));
    assert_eq!(b["error"]["permission_violations"][0]["subject"], "contact:user.id:readonly");
    let (_, _, bot) = fx.call("GET", "/open-apis/bot/v3/info", Some(&t), None).await;
    assert_eq!(bot["bot"]["open_id"], json!(fx.sb.bot_open_id(APP).unwrap()), "bot info needs no scope");
}

#[tokio::test]
async fn batch_get_id_finds_users_by_email_and_mobile_and_leaves_unknown_ones_without_an_id() {
    let fx = start(true).await;
    let t = fx.token().await;
    let body = json!({"emails": ["alice@example.com", "nobody@example.com"], "mobiles": ["13011111111"]});
    let (_, _, b) = fx.call("POST", "/open-apis/contact/v3/users/batch_get_id?user_id_type=open_id", Some(&t), Some(body)).await;
    let list = b["data"]["user_list"].as_array().unwrap();
    assert_eq!(list[0]["user_id"], "ou_alice");
    assert_eq!(list[1], json!({"email": "nobody@example.com"}));
    assert_eq!((list[2]["mobile"].as_str(), list[2]["user_id"].as_str()), (Some("13011111111"), Some("ou_alice")));
}

#[tokio::test]
async fn disbanding_a_chat_through_the_api_deletes_its_history() {
    let fx = start(true).await;
    let t = fx.token().await;
    let chat_id = fx.chat(&t, json!({"name": "INC-7"})).await;
    fx.send(&t, &chat_id, "text", json!({"text": "timeline"})).await;
    let (_, _, b) = fx.call("DELETE", &format!("/open-apis/im/v1/chats/{chat_id}"), Some(&t), None).await;
    assert_eq!(b["code"].as_i64(), Some(0));
    let chat = fx.sb.chat(&chat_id).unwrap();
    assert!(chat.disbanded && chat.messages.is_empty());
    let (_, _, b) = fx.send(&t, &chat_id, "text", json!({"text": "late"})).await;
    assert_eq!(b["code"].as_i64(), Some(232009));
}

#[tokio::test]
async fn sign_in_redirects_with_a_code_that_buys_one_user_token_for_user_info() {
    let fx = start(true).await;
    let auth = "/open-apis/authen/v1/authorize?client_id=cli_sandbox01&redirect_uri=http%3A%2F%2Fapp%2Fcb&state=xyz&user=ou_bob";
    let resp = fx.http.get(format!("{}{auth}", fx.base)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("http://app/cb?code=") && location.ends_with("&state=xyz"));
    let code = location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let exchange = json!({"grant_type": "authorization_code", "client_id": APP, "client_secret": SECRET, "code": code});
    let (_, _, tok) = fx.call("POST", "/open-apis/authen/v2/oauth/token", None, Some(exchange.clone())).await;
    assert_eq!(tok["code"].as_i64(), Some(0));
    let (status, _, reuse) = fx.call("POST", "/open-apis/authen/v2/oauth/token", None, Some(exchange)).await;
    assert_eq!((status, reuse["code"].as_i64()), (400, Some(20065)));
    let (_, _, me) = fx.call("GET", "/open-apis/authen/v1/user_info", tok["access_token"].as_str(), None).await;
    assert_eq!(me["data"]["open_id"], "ou_bob");
    assert_eq!((me["data"]["name"].as_str(), me["data"]["email"].as_str()), (Some("Bob"), Some("bob@example.com")));
}

#[tokio::test]
async fn a_card_click_is_delivered_signed_and_a_raw_card_answer_replaces_the_card() {
    let fx = start(true).await;
    let t = fx.token().await;
    let chat_id = fx.chat(&t, json!({"name": "INC-8", "user_id_list": ["ou_alice"]})).await;
    let (_, _, sent) = fx.send(&t, &chat_id, "interactive", json!({"config": {"update_multi": true}, "elements": []})).await;
    let id = sent["data"]["message_id"].as_str().unwrap().to_string();
    let new_card = json!({"config": {"update_multi": true}, "elements": [{"tag": "markdown", "content": "acked"}]});
    let (url, inbox) = receiver(json!({"toast": {"type": "success", "content": "Acked"}, "card": {"type": "raw", "data": new_card}})).await;
    let reply = fx.sb.click_card(&url, APP, "ou_alice", &id, json!({"action": "ack"})).await.unwrap();
    assert_eq!(reply.json.unwrap()["toast"]["content"], "Acked");
    assert!(reply.applied);
    let (headers, body) = inbox.lock().unwrap()[0].clone();
    let outer: Value = serde_json::from_str(&body).unwrap();
    let cb: Value = serde_json::from_slice(&decrypt(KEY, outer["encrypt"].as_str().unwrap())).unwrap();
    assert_eq!(cb["header"]["event_type"], "card.action.trigger");
    assert_eq!(cb["event"]["action"], json!({"value": {"action": "ack"}, "tag": "button"}));
    assert_eq!(cb["event"]["context"], json!({"open_message_id": id, "open_chat_id": chat_id}));
    assert_eq!(cb["event"]["operator"]["open_id"], "ou_alice");
    let (ts, nonce) = (header(&headers, "x-lark-request-timestamp"), header(&headers, "x-lark-request-nonce"));
    assert_eq!(header(&headers, "x-lark-signature"), hex::encode(Sha256::digest(format!("{ts}{nonce}{KEY}{body}").as_bytes())));
    let chat = fx.sb.chat(&chat_id).unwrap();
    assert_eq!((chat.messages[0].content.clone(), chat.messages[0].updated_count), (new_card, 1));
}

#[tokio::test]
async fn url_verification_sends_an_encrypted_challenge_with_the_verification_token() {
    let fx = start(true).await;
    let (url, inbox) = receiver(json!({"challenge": "ignored"})).await;
    let (resp, challenge) = fx.sb.url_verification(&url, APP).await.unwrap();
    assert_eq!(resp.status(), 200);
    let (_, body) = inbox.lock().unwrap()[0].clone();
    let outer: Value = serde_json::from_str(&body).unwrap();
    let plain: Value = serde_json::from_slice(&decrypt(KEY, outer["encrypt"].as_str().unwrap())).unwrap();
    assert_eq!(plain, json!({"challenge": challenge, "token": VTOKEN, "type": "url_verification"}));
}

#[tokio::test]
async fn listing_pages_newest_first_names_senders_renders_cards_unless_asked_as_sent_and_needs_the_group_scope() {
    let fx = start(true).await;
    let t = fx.token().await;
    let chat_id = fx.chat(&t, json!({"name": "INC-9", "user_id_list": ["ou_alice"]})).await;
    let card = json!({"config": {"update_multi": true}, "header": {"title": {"tag": "plain_text", "content": "DB down"}},
        "elements": [{"tag": "action", "actions": [{"tag": "button", "text": {"tag": "plain_text", "content": "Ack"}, "value": {"incident_id": "inc_9"}}]},
                     {"tag": "note", "elements": [{"tag": "plain_text", "content": "Incident inc_9"}]}]});
    let (_, _, sent) = fx.send(&t, &chat_id, "interactive", card.clone()).await;
    let (url, _) = receiver(json!({})).await;
    fx.sb.send_message_event(&url, APP, &chat_id, "ou_alice", "on it", false).await.unwrap();
    for n in 0..3 {
        fx.send(&t, &chat_id, "text", json!({"text": format!("update {n}")})).await;
    }
    let (fx, t) = (&fx, &t);
    let list = |q: String| {
        let path = format!("/open-apis/im/v1/messages?container_id_type=chat&container_id={chat_id}{q}");
        async move { fx.call("GET", &path, Some(t), None).await }
    };
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let (_, _, b) = list(format!("&sort_type=ByCreateTimeDesc&page_size=2&page_token={token}")).await;
        items.extend(b["data"]["items"].as_array().unwrap().clone());
        match b["data"]["has_more"].as_bool().unwrap() {
            true => token = b["data"]["page_token"].as_str().unwrap().to_string(),
            false => break,
        }
    }
    let texts: Vec<&str> = items.iter().map(|m| m["msg_type"].as_str().unwrap()).collect();
    assert_eq!(texts, ["text", "text", "text", "text", "interactive"], "five messages in three pages, newest first");
    assert_eq!(items[0]["body"]["content"], json!(json!({"text": "update 2"}).to_string()));
    assert_eq!(items[0]["sender"]["id"], APP);
    assert_eq!((items[0]["sender"]["id_type"].as_str(), items[0]["sender"]["sender_type"].as_str()), (Some("app_id"), Some("app")));
    assert_eq!((items[3]["sender"]["id"].as_str(), items[3]["sender"]["id_type"].as_str()), (Some("ou_alice"), Some("open_id")));
    assert_eq!((items[3]["sender"]["sender_type"].as_str(), items[4]["deleted"].as_bool()), (Some("user"), Some(false)));
    assert!(items[4]["create_time"].as_str().unwrap().parse::<u64>().unwrap() > 1_600_000_000_000, "milliseconds");
    // By default a card comes back as Feishu renders it: the button values are gone, the note stays.
    assert_eq!(items[4]["message_id"], sent["data"]["message_id"]);
    let rendered: Value = serde_json::from_str(items[4]["body"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(rendered, json!({"title": "DB down", "elements": [[{"tag": "button", "text": "Ack"}], [{"tag": "text", "text": "Incident inc_9"}]]}));
    let (_, _, b) = list("&page_size=1&card_msg_content_type=user_card_content".into()).await;
    assert_eq!(serde_json::from_str::<Value>(b["data"]["items"][0]["body"]["content"].as_str().unwrap()).unwrap(), card, "asked for, as sent");
    // A group's history needs the group-message scope besides im:message.
    fx.sb.set_scopes(APP, &["im:chat", "im:message"]);
    let (status, _, b) = list(String::new()).await;
    assert_eq!((status, b["code"].as_i64()), (400, Some(230027)));
}
