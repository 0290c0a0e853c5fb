//! The sandbox web view against real sandboxes and a fake bundle that checks what arrives:
//! a click on the page's API makes the Slack sandbox send a v0-signed `block_actions` and the
//! Feishu sandbox an encrypted, signed `card.action.trigger` (both verified here with the
//! adapters' own checks); the state lists the chats and the card's status as it changes; the
//! fire button posts a generic incident with the intake key; errors are JSON.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use warroom_core::card::{Card, CardAction};
use warroom_core::time::Timestamp;
use warroom_core::{Severity, Status};
use warroom_local::web::{self, WebContext};
use warroom_platforms::{feishu, slack};
use warroom_sandbox::feishu::{FeishuSandbox, SandboxConfig as FeishuConfig};
use warroom_sandbox::slack::{SandboxConfig as SlackConfig, SlackSandbox};

const TEAM: &str = "T0ACME";
const SIGNING_SECRET: &str = "signing-secret";
const APP: &str = "cli_sandbox";
const ENCRYPT_KEY: &str = "encrypt-key";
const FEISHU_INTEGRATION: &str = "int_feishu";
const INTAKE_KEY: &str = "wr_test_intake";

#[derive(Clone, Debug)]
struct Seen {
    path: String,
    /// The platform's signature checked out (Slack v0 / Feishu X-Lark-Signature) or, for the
    /// intake, the bearer key was the demo key.
    verified: bool,
    /// The decoded payload (Slack `payload`, Feishu decrypted envelope, intake JSON).
    body: Value,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn now() -> Timestamp {
    Timestamp(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn card(status: Status) -> Card {
    let actions = match status {
        Status::Triggered => vec![CardAction::Acknowledge, CardAction::Resolve, CardAction::Snooze { minutes: 30 }],
        _ => vec![CardAction::Resolve],
    };
    Card {
        incident_id: "inc_1".into(),
        title: "Checkout <errors> & timeouts".into(),
        status,
        severity: Severity::Critical,
        snoozed_until: None,
        fields: vec![("Responders".into(), "Ada, Bob".into())],
        actions,
        url: None,
    }
}

/// What the bundle would do with a click: Slack → replace the card through `response_url`;
/// Feishu → answer with a toast and the new card.
async fn slack_interaction(State(log): State<Log>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let verified =
        slack::verify(SIGNING_SECRET.as_bytes(), header(&headers, "x-slack-request-timestamp"), header(&headers, "x-slack-signature"), &body, now()).is_ok();
    let form = reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(&body))).unwrap();
    let payload: Value = form.query_pairs().find(|(k, _)| k == "payload").map(|(_, v)| serde_json::from_str(&v).unwrap()).unwrap_or(Value::Null);
    log.lock().unwrap().push(Seen { path: "/im/slack/interactions".into(), verified, body: payload.clone() });
    if verified && payload["actions"][0]["value"] == "inc_1|ack" {
        let update = json!({"replace_original": true, "text": "acknowledged", "blocks": slack::render_card(&card(Status::Acknowledged))});
        let url = payload["response_url"].as_str().unwrap().to_string();
        reqwest::Client::new().post(url).json(&update).send().await.unwrap().error_for_status().unwrap();
    }
    StatusCode::OK
}

async fn feishu_card_callback(State(log): State<Log>, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> axum::response::Response {
    let sig = header(&headers, "x-lark-signature").unwrap_or_default();
    let (ts, nonce) = (header(&headers, "x-lark-request-timestamp").unwrap_or_default(), header(&headers, "x-lark-request-nonce").unwrap_or_default());
    let verified = feishu::verify_signature(ts, nonce, ENCRYPT_KEY, &body, sig);
    let outer: Value = serde_json::from_slice(&body).unwrap();
    let plain: Value = serde_json::from_str(&feishu::decrypt(ENCRYPT_KEY, outer["encrypt"].as_str().unwrap()).unwrap()).unwrap();
    log.lock().unwrap().push(Seen { path: format!("/im/{id}/cards"), verified, body: plain });
    let answer = json!({"toast": {"type": "success", "content": "Acknowledged by Ada"}, "card": {"type": "raw", "data": feishu::card_json(&card(Status::Acknowledged))}});
    (StatusCode::OK, axum::Json(answer)).into_response()
}

async fn generic_hook(State(log): State<Log>, headers: HeaderMap, body: Bytes) -> axum::response::Response {
    let verified = header(&headers, "authorization") == Some(&format!("Bearer {INTAKE_KEY}"));
    let event: Value = serde_json::from_slice(&body).unwrap();
    log.lock().unwrap().push(Seen { path: "/hooks/generic".into(), verified, body: event.clone() });
    if !verified {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"code": "unauthorized", "message": "unknown API key"}}))).into_response();
    }
    let results = json!([{"source_id": event["id"], "incident_id": "inc_fired", "outcome": "created"}]);
    (StatusCode::ACCEPTED, axum::Json(json!({"accepted": 1, "results": results}))).into_response()
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

struct World {
    url: String,
    log: Log,
    slack_channel: String,
    slack_ts: String,
    feishu_chat: String,
    feishu_message: String,
    http: reqwest::Client,
}

impl World {
    async fn start(intake_key: &str) -> World {
        let http = reqwest::Client::new();
        // Slack: a workspace, Ada and Bob, a private war room with the bot's card.
        let slack_sb = SlackSandbox::new(SlackConfig {
            client_id: "1.2".into(),
            client_secret: "cs".into(),
            signing_secret: SIGNING_SECRET.into(),
            enforce_rate_limits: false,
        });
        let slack_base = slack_sb.serve_local().await.unwrap();
        slack_sb.add_workspace(TEAM, "Acme");
        slack_sb.add_user(TEAM, "U_ADA", "Ada", "ada@example.com");
        slack_sb.add_user(TEAM, "U_BOB", "Bob", "bob@example.com");
        let bot = slack_sb.bot_user_id(TEAM).unwrap();
        let channel = slack_sb.create_channel(TEAM, "U_ADA", "inc-checkout", true);
        for u in [bot.as_str(), "U_ADA", "U_BOB"] {
            slack_sb.join_channel(&channel, u);
        }
        let token = slack_sb.issue_bot_token(TEAM, &["chat:write"]);
        let posted: Value = http
            .post(format!("{slack_base}/api/chat.postMessage"))
            .bearer_auth(&token)
            .json(&json!({"channel": channel, "text": "Checkout errors", "blocks": slack::render_card(&card(Status::Triggered))}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(posted["ok"], true, "{posted}");

        // Feishu: an app with an Encrypt Key, Ada, a chat with the bot's card.
        let feishu_sb = FeishuSandbox::new(FeishuConfig { enforce_rate_limits: false, ..Default::default() });
        let feishu_base = serve(feishu_sb.router()).await;
        feishu_sb.add_app(APP, "app-secret", "verification-token", ENCRYPT_KEY, &["im:chat", "im:message"]);
        feishu_sb.add_user("ou_ada", "Ada", Some("ada@example.com"), None);
        let token: Value = http
            .post(format!("{feishu_base}/open-apis/auth/v3/tenant_access_token/internal"))
            .json(&json!({"app_id": APP, "app_secret": "app-secret"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["tenant_access_token"].as_str().unwrap().to_string();
        let chat: Value = http
            .post(format!("{feishu_base}/open-apis/im/v1/chats"))
            .bearer_auth(&token)
            .json(&json!({"name": "INC checkout", "user_id_list": ["ou_ada"], "chat_type": "private"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let chat_id = chat["data"]["chat_id"].as_str().unwrap_or_else(|| panic!("{chat}")).to_string();
        let sent: Value = http
            .post(format!("{feishu_base}/open-apis/im/v1/messages?receive_id_type=chat_id"))
            .bearer_auth(&token)
            .json(&json!({"receive_id": chat_id, "msg_type": "interactive", "content": feishu::card_json(&card(Status::Triggered)).to_string()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let message_id = sent["data"]["message_id"].as_str().unwrap_or_else(|| panic!("{sent}")).to_string();

        // The fake bundle, and the view mounted at /sandbox as the local stack mounts it.
        let log: Log = Arc::default();
        let bundle = Router::new()
            .route("/im/slack/interactions", post(slack_interaction))
            .route("/im/{id}/cards", post(feishu_card_callback))
            .route("/hooks/generic", post(generic_hook))
            .with_state(log.clone());
        let bundle_url = serve(bundle).await;
        let ctx = WebContext {
            slack: slack_sb.clone(),
            feishu: feishu_sb.clone(),
            dingtalk: warroom_sandbox::dingtalk::DingTalkSandbox::new(Default::default()),
            wecom: warroom_sandbox::wecom::WeComSandbox::new(Default::default()),
            bundle_url,
            intake_key: intake_key.into(),
            admin_key: "wr_test_admin".into(),
            slack_team_id: TEAM.into(),
            slack_integration_id: "int_slack".into(),
            feishu_app_id: APP.into(),
            feishu_integration_id: FEISHU_INTEGRATION.into(),
        };
        let url = serve(Router::new().nest("/sandbox", web::router(ctx))).await;
        let slack_ts = posted["ts"].as_str().unwrap().to_string();
        World { url, log, slack_channel: channel, slack_ts, feishu_chat: chat_id, feishu_message: message_id, http }
    }

    async fn state(&self) -> Value {
        self.http.get(format!("{}/sandbox/api/state", self.url)).send().await.unwrap().json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self.http.post(format!("{}/sandbox{path}", self.url)).json(&body).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    fn seen(&self, path: &str) -> Vec<Seen> {
        self.log.lock().unwrap().iter().filter(|s| s.path == path).cloned().collect()
    }
}

fn chat<'a>(state: &'a Value, platform: &str, id: &str) -> &'a Value {
    state[platform]["chats"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no chat {id} in {state}"))
}

#[tokio::test]
async fn the_state_lists_both_sandboxes_chats_with_their_cards_read_back() {
    let w = World::start(INTAKE_KEY).await;
    let state = w.state().await;
    let c = chat(&state, "slack", &w.slack_channel);
    assert_eq!((c["name"].as_str(), c["private"].as_bool(), &c["closed"]), (Some("inc-checkout"), Some(true), &Value::Null));
    assert_eq!(c["default_actor"], "U_ADA", "the first person, not the bot");
    let card = &c["messages"][0]["card"];
    assert_eq!(
        (card["title"].as_str(), card["status"].as_str(), card["severity"].as_str()),
        (Some("Checkout <errors> & timeouts"), Some("triggered"), Some("critical"))
    );
    assert_eq!(card["buttons"][0], json!({"label": "Acknowledge", "action": "ack", "style": "primary", "action_id": "warroom.ack", "value": "inc_1|ack"}));
    assert_eq!(c["messages"][0]["from_bot"], true);

    let f = chat(&state, "feishu", &w.feishu_chat);
    assert_eq!((f["name"].as_str(), f["private"].as_bool(), f["members"].clone()), (Some("INC checkout"), Some(true), json!(["ou_ada"])));
    assert_eq!(f["bots"], json!([APP]));
    let fcard = &f["messages"][0]["card"];
    assert_eq!((fcard["status"].as_str(), fcard["color"].as_str(), fcard["incident_id"].as_str()), (Some("triggered"), Some("red"), Some("inc_1")));
    assert_eq!(fcard["buttons"][0]["value"], json!({"incident_id": "inc_1", "action": "ack"}));
}

#[tokio::test]
async fn a_slack_click_sends_a_signed_block_actions_and_the_card_shows_acknowledged() {
    let w = World::start(INTAKE_KEY).await;
    let (status, answer) = w.post("/api/click", json!({"platform": "slack", "chat": w.slack_channel, "message": w.slack_ts, "action": "ack"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["status"].as_u64(), answer["user"].as_str()), (Some(200), Some("U_ADA")));
    assert!(answer["delivered_to"].as_str().unwrap().ends_with("/im/slack/interactions"));

    let seen = w.seen("/im/slack/interactions");
    assert_eq!(seen.len(), 1);
    assert!(seen[0].verified, "the v0 signature verifies with the app's signing secret");
    let p = &seen[0].body;
    assert_eq!((p["type"].as_str(), p["team"]["id"].as_str(), p["user"]["id"].as_str()), (Some("block_actions"), Some(TEAM), Some("U_ADA")));
    assert_eq!((p["container"]["channel_id"].as_str(), p["container"]["message_ts"].as_str()), (Some(w.slack_channel.as_str()), Some(w.slack_ts.as_str())));
    assert_eq!((p["actions"][0]["action_id"].as_str(), p["actions"][0]["value"].as_str()), (Some("warroom.ack"), Some("inc_1|ack")));

    let state = w.state().await;
    let card = &chat(&state, "slack", &w.slack_channel)["messages"][0]["card"];
    assert_eq!(card["status"], "acknowledged", "{card}");

    // By action_id, as a chosen person.
    let (status, answer) = w
        .post("/api/click", json!({"platform": "slack", "chat": w.slack_channel, "message": w.slack_ts, "action_id": "warroom.resolve", "user": "U_BOB"}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let seen = w.seen("/im/slack/interactions");
    assert_eq!((seen[1].body["user"]["id"].as_str(), seen[1].body["actions"][0]["value"].as_str()), (Some("U_BOB"), Some("inc_1|resolve")));
}

#[tokio::test]
async fn a_feishu_click_sends_an_encrypted_card_callback_and_applies_the_answer() {
    let w = World::start(INTAKE_KEY).await;
    let (status, answer) = w.post("/api/click", json!({"platform": "feishu", "chat": w.feishu_chat, "message": w.feishu_message, "action": "ack"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["toast"].as_str(), answer["card_replaced"].as_bool()), (Some("Acknowledged by Ada"), Some(true)));
    let seen = w.seen(&format!("/im/{FEISHU_INTEGRATION}/cards"));
    assert_eq!(seen.len(), 1);
    assert!(seen[0].verified, "X-Lark-Signature verifies with the Encrypt Key");
    let e = &seen[0].body;
    assert_eq!((e["header"]["event_type"].as_str(), e["header"]["app_id"].as_str()), (Some("card.action.trigger"), Some(APP)));
    assert_eq!(e["event"]["action"]["value"], json!({"incident_id": "inc_1", "action": "ack"}));
    assert_eq!(
        (e["event"]["operator"]["open_id"].as_str(), e["event"]["context"]["open_message_id"].as_str()),
        (Some("ou_ada"), Some(w.feishu_message.as_str()))
    );
    let state = w.state().await;
    let m = &chat(&state, "feishu", &w.feishu_chat)["messages"][0];
    assert_eq!((m["card"]["status"].as_str(), m["card"]["color"].as_str(), m["edited"].as_bool()), (Some("acknowledged"), Some("yellow"), Some(true)));
}

#[tokio::test]
async fn fire_posts_a_generic_incident_with_the_intake_key() {
    let w = World::start(INTAKE_KEY).await;
    let (status, answer) = w.post("/api/fire", json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["incident_id"].as_str(), answer["status"].as_u64()), (Some("inc_fired"), Some(202)));
    let (_, again) = w.post("/api/fire", json!({})).await;
    let seen = w.seen("/hooks/generic");
    assert_eq!(seen.len(), 2);
    assert!(seen[0].verified);
    let e = &seen[0].body;
    assert_eq!((e["severity"].as_str(), e["status"].as_str(), e["war_room"].as_bool()), (Some("critical"), Some("triggered"), Some(true)));
    let names: Vec<&str> = e["responders"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Ada", "Bob"]);
    assert_eq!(e["responders"][0]["email"], "ada@example.com");
    assert!(Timestamp::parse_rfc3339(e["time"].as_str().unwrap()).is_some());
    assert_ne!(e["id"], seen[1].body["id"], "every sample incident is a new one");
    assert_eq!(again["source_id"], seen[1].body["id"]);
}

#[tokio::test]
async fn errors_are_json_and_name_the_problem() {
    let w = World::start("wr_wrong_key").await;
    let (status, answer) = w.post("/api/fire", json!({})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (502, Some("bundle_refused")));
    assert!(answer["error"]["message"].as_str().unwrap().contains("answered 401: unknown API key"), "{answer}");

    let (status, answer) = w.post("/api/click", json!({"platform": "slack", "chat": w.slack_channel, "message": w.slack_ts, "action": "dance"})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("no_such_button")));
    assert!(answer["error"]["message"].as_str().unwrap().contains("ack, resolve, snooze:30"), "{answer}");
    let (status, answer) = w.post("/api/click", json!({"platform": "teams", "chat": "c", "message": "m", "action": "ack"})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("bad_request")));
    let (status, answer) = w.post("/api/click", json!({"platform": "feishu", "chat": "oc_nope", "message": "m", "action": "ack"})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("not_found")));
    let resp = w.http.post(format!("{}/sandbox/api/click", w.url)).body("{not json").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    assert!(w.seen("/im/slack/interactions").is_empty(), "nothing was sent for a refused click");
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_the_mount_prefix_written_in() {
    let w = World::start(INTAKE_KEY).await;
    let resp = w.http.get(format!("{}/sandbox", w.url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(resp.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"<meta name="warroom-base" content="/sandbox">"#) && html.contains(r#"src="/sandbox/assets/app.js""#), "{html}");
    assert!(html.contains(r#"data-testid="fire""#));
    for (path, kind) in [("/sandbox/assets/app.js", "text/javascript"), ("/sandbox/assets/style.css", "text/css")] {
        let resp = w.http.get(format!("{}{path}", w.url)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with(kind), "{path}");
    }
    let js = w.http.get(format!("{}/sandbox/assets/app.js", w.url)).send().await.unwrap().text().await.unwrap();
    assert!(!js.contains("innerHTML"), "sandbox text only ever goes in through textContent");
}
