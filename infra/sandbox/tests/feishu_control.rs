//! The Feishu sandbox's control route, driven over HTTP as a script in another process
//! drives it: an admin changes an app's grant, and the app sees the change in its API.

use std::time::Duration;

use serde_json::{json, Value};
use warroom_sandbox::feishu::{control, FeishuSandbox, SandboxConfig};

const APP: &str = "cli_control01";
const SECRET: &str = "control-app-secret";

struct Fx {
    base: String,
    http: reqwest::Client,
}

async fn start() -> Fx {
    let sb = FeishuSandbox::new(SandboxConfig { enforce_rate_limits: true, token_ttl: Duration::from_secs(7200) });
    sb.add_app(APP, SECRET, "control-verification-token", "", &["im:message"]);
    sb.add_app("cli_other01", "other-app-secret", "other-verification-token", "", &["im:chat"]);
    let router = sb.router().nest("/control/feishu", control::router(&sb));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Fx { base, http: reqwest::Client::new() }
}

impl Fx {
    async fn grant(&self, body: reqwest::Body, content_type: Option<&str>) -> (u16, Value) {
        let mut rb = self.http.post(format!("{}/control/feishu/scopes", self.base)).body(body);
        if let Some(ct) = content_type {
            rb = rb.header("content-type", ct);
        }
        let resp = rb.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn grant_json(&self, body: Value) -> (u16, Value) {
        self.grant(body.to_string().into(), Some("application/json")).await
    }

    async fn token(&self, app: &str, secret: &str) -> String {
        let url = format!("{}/open-apis/auth/v3/tenant_access_token/internal", self.base);
        let b: Value = self.http.post(url).json(&json!({"app_id": app, "app_secret": secret})).send().await.unwrap().json().await.unwrap();
        b["tenant_access_token"].as_str().unwrap().to_string()
    }

    /// The app's granted scopes as its own API reports them (what the adapter reads).
    async fn granted(&self, app: &str, secret: &str) -> Vec<String> {
        let t = self.token(app, secret).await;
        let b: Value = self.http.get(format!("{}/open-apis/application/v6/scopes", self.base)).bearer_auth(&t).send().await.unwrap().json().await.unwrap();
        b["data"]["scopes"].as_array().unwrap().iter().map(|s| s["scope_name"].as_str().unwrap().to_string()).collect()
    }

    /// Whether the app may create a chat (needs `im:chat`).
    async fn creates_a_chat(&self) -> (u16, Option<i64>) {
        let t = self.token(APP, SECRET).await;
        let resp = self.http.post(format!("{}/open-apis/im/v1/chats", self.base)).bearer_auth(&t).json(&json!({"name": "war room"})).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap()["code"].as_i64())
    }
}

#[tokio::test]
async fn granting_scopes_replaces_the_apps_grant_and_its_api_sees_it_at_once() {
    let fx = start().await;
    assert_eq!(fx.creates_a_chat().await, (400, Some(99991672)), "im:chat is not granted yet");

    let (status, answer) = fx.grant_json(json!({"app": APP, "scopes": ["im:message", "im:chat", "im:chat"]})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"app": APP, "scopes": ["im:chat", "im:message"]}), "sorted, once each");
    assert_eq!(fx.granted(APP, SECRET).await, ["im:chat", "im:message"]);
    assert_eq!(fx.creates_a_chat().await, (200, Some(0)));

    // Replaced, not added to: taking a scope away is the same call.
    let (status, _) = fx.grant_json(json!({"app": APP, "scopes": ["im:message"]})).await;
    assert_eq!(status, 200);
    assert_eq!(fx.granted(APP, SECRET).await, ["im:message"]);
    assert_eq!(fx.creates_a_chat().await, (400, Some(99991672)));
    assert_eq!(fx.granted("cli_other01", "other-app-secret").await, ["im:chat"], "another app's grant is untouched");

    // A script that forgets the content type is still understood.
    let (status, _) = fx.grant(json!({"app": APP, "scopes": []}).to_string().into(), None).await;
    assert_eq!(status, 200);
    assert!(fx.granted(APP, SECRET).await.is_empty());
}

#[tokio::test]
async fn an_unknown_app_is_refused_with_404_naming_the_apps_there_are() {
    let fx = start().await;
    let (status, answer) = fx.grant_json(json!({"app": "cli_nope", "scopes": ["im:chat"]})).await;
    assert_eq!(status, 404, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("\"cli_nope\"") && error.contains("cli_control01, cli_other01"), "{error}");
    assert_eq!(fx.granted(APP, SECRET).await, ["im:message"], "nothing changed");
}

#[tokio::test]
async fn a_malformed_body_is_refused_with_400_and_changes_nothing() {
    let fx = start().await;
    let bodies = [
        ("not JSON", "{\"app\": ".to_string()),
        ("empty", String::new()),
        ("no scopes", json!({"app": APP}).to_string()),
        ("scopes not a list", json!({"app": APP, "scopes": "im:chat"}).to_string()),
        ("a scope not a string", json!({"app": APP, "scopes": [1]}).to_string()),
        ("a misspelt field", json!({"app": APP, "scope": ["im:chat"]}).to_string()),
        ("an empty scope", json!({"app": APP, "scopes": ["im:chat", ""]}).to_string()),
        ("a scope with a space", json!({"app": APP, "scopes": ["im:chat im:message"]}).to_string()),
        ("an array", json!([APP, "im:chat"]).to_string()),
    ];
    for (what, body) in bodies {
        let (status, answer) = fx.grant(body.into(), Some("application/json")).await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: says why: {answer}");
    }
    assert_eq!(fx.granted(APP, SECRET).await, ["im:message"], "nothing changed");
}
