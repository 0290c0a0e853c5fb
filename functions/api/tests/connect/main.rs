//! Connecting IM apps by their credentials, against the Slack and Feishu sandboxes: what
//! is checked, stored (sealed) and shown, the Slack install link and manifest, rotation.

#[path = "../common/mod.rs"]
mod common;
mod feishu_apps;
mod install;
mod rotate;
mod slack_apps;

use axum::http::{header, Method, StatusCode};
use common::{App, TenantCtx, PUBLIC_URL};
use serde_json::{json, Value};
use std::sync::Arc;
use warroom_core::{Integration, IntegrationId, Platform, SealedCredentials, Store};
use warroom_http::oauth_state::{self, Pending};
use warroom_platforms::{feishu, slack, Platforms, PlatformsConfig, SlackApp, StoredFeishu};
use warroom_sandbox::feishu::FeishuSandbox;
use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};
use warroom_secrets::Secret;

const TEAM: &str = "T0ACME";
const CLIENT_ID: &str = "1234.5678";
const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const FEISHU_APP: &str = "cli_a1b2c3d4e5f6";
const FEISHU_SECRET: &str = "feishu-app-secret-0123456789";

struct World {
    app: App,
    platforms: Arc<Platforms>,
    slack: SlackSandbox,
    feishu: FeishuSandbox,
    t: TenantCtx,
}

async fn world() -> World {
    world_with(true).await
}

/// Both sandboxes on loopback ports, an app whose adapters point at them, and a tenant.
async fn world_with(deployment_slack_app: bool) -> World {
    let slack = SlackSandbox::new(SandboxConfig {
        client_id: CLIENT_ID.into(),
        client_secret: "client-secret".into(),
        signing_secret: "deployment-signing-secret".into(),
        enforce_rate_limits: true,
    });
    let slack_base = slack.serve_local().await.unwrap();
    slack.add_workspace(TEAM, "Acme");
    slack.add_workspace("T0OTHER", "Other");

    let feishu = FeishuSandbox::new(Default::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feishu_base = format!("http://{}", listener.local_addr().unwrap());
    let router = feishu.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let scopes: Vec<&str> = feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    feishu.add_app(FEISHU_APP, FEISHU_SECRET, "verification-token", "encrypt-key", &scopes);

    let slack_app = deployment_slack_app.then(|| SlackApp {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new("client-secret"),
        signing_secret: Secret::new("deployment-signing-secret"),
    });
    let (app, platforms) = App::with_platforms(PlatformsConfig {
        public_url: PUBLIC_URL.into(),
        slack_api_base: format!("{slack_base}/api"),
        slack_oauth_base: slack_base,
        slack_app,
        base_overrides: [(warroom_core::Platform::Feishu, feishu_base)].into(),
        chat_links: None,
    });
    let t = app.tenant("acme").await;
    World { app, platforms, slack, feishu, t }
}

fn slack_scopes() -> Vec<&'static str> {
    slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect()
}

fn feishu_body(secret: &str) -> Value {
    json!({"platform": "feishu", "app_id": FEISHU_APP, "app_secret": secret, "verification_token": "verification-token", "encrypt_key": "encrypt-key"})
}

impl World {
    async fn connect(&self, key: &str, body: Value) -> common::Reply {
        self.app.call(Method::POST, "/api/v1/integrations", Some(key), Some(body)).await
    }

    async fn connect_slack(&self, token: &str) -> common::Reply {
        self.connect(&self.t.key, json!({"platform": "slack", "bot_token": token, "signing_secret": SIGNING_SECRET})).await
    }

    async fn stored(&self, id: &Value) -> Integration {
        self.app.store.get_integration(&IntegrationId::new(id.as_str().unwrap())).await.unwrap().unwrap()
    }
}

/// A query parameter of a URL, percent-decoded.
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let raw = query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}=")))?;
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&raw[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(String::from_utf8(out).unwrap())
}
