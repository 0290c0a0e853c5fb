//! Connecting IM apps by their credentials, against the Slack and Feishu sandboxes: what
//! is checked, stored (sealed) and shown, the Slack install link and manifest, rotation.

mod common;

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

#[tokio::test]
async fn a_slack_app_connects_by_its_bot_token_recording_workspace_and_scopes_and_never_echoing_the_token() {
    let w = world().await;
    let token = w.slack.issue_bot_token(TEAM, &slack_scopes());
    let r = w.connect(&w.t.key, json!({"platform": "slack", "name": "Acme on-call", "bot_token": token, "signing_secret": SIGNING_SECRET})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["platform"], "slack");
    assert_eq!(r.body["name"], "Acme on-call");
    assert_eq!(r.body["external_id"], TEAM);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["war_room_enabled"], false);
    let mut expected: Vec<&str> = slack_scopes();
    expected.sort();
    assert_eq!(r.body["granted_scopes"], json!(expected));
    assert_eq!(r.body["missing_permissions"], json!([]));
    assert!(!r.text.contains(&token) && !r.text.contains(SIGNING_SECRET), "a secret was echoed: {}", r.text);
    assert!(r.body.get("credentials").is_none());

    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        r.body["setup"],
        json!({
            "event_request_url": format!("{PUBLIC_URL}/im/{id}/events"),
            "interactivity_url": format!("{PUBLIC_URL}/im/{id}/cards"),
            "manifest_url": format!("{PUBLIC_URL}/api/v1/integrations/slack/manifest?integration_id={id}"),
        })
    );

    let stored = w.stored(&r.body["id"]).await;
    assert_eq!(stored.tenant_id, w.t.id);
    assert_eq!(stored.external_id.as_deref(), Some(TEAM));
    let raw = serde_json::to_string(&stored).unwrap();
    assert!(!raw.contains(&token) && !raw.contains(SIGNING_SECRET), "plaintext credentials stored: {raw}");
    let opened = w.platforms.slack_credentials(&stored).unwrap();
    assert_eq!(opened.bot_token, token);
    assert_eq!(opened.team_id, TEAM);
    assert_eq!(opened.signing_secret.as_deref(), Some(SIGNING_SECRET));
    assert_eq!(opened.bot_user_id, w.slack.bot_user_id(TEAM));

    let listed = w.app.get("/api/v1/integrations", &w.t.key).await;
    assert_eq!(listed.body["integrations"].as_array().unwrap().len(), 1);
    assert!(!listed.text.contains(&token));
}

#[tokio::test]
async fn a_slack_app_without_a_name_is_named_after_its_workspace_and_records_the_scopes_it_lacks() {
    let w = world().await;
    let token = w.slack.issue_bot_token(TEAM, &["chat:write", "users:read"]);
    let r = w.connect_slack(&token).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["name"], format!("Slack {TEAM}"));
    assert_eq!(r.body["granted_scopes"], json!(["chat:write", "users:read"]));
    assert!(r.body["missing_permissions"].as_array().unwrap().iter().any(|s| s == "channels:manage"));
    assert_eq!(r.body["reauthorize_url"], format!("{PUBLIC_URL}/oauth/{}/authorize", r.body["id"].as_str().unwrap()));
}

#[tokio::test]
async fn a_bad_slack_token_is_refused_with_422_invalid_credentials_without_echoing_it() {
    let w = world().await;
    let bogus = "xoxb-00000000000-0000000000000-notarealtokenatall00000";
    let r = w.connect_slack(bogus).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.code(), "invalid_credentials");
    assert!(r.message().starts_with("bot_token:") && r.message().contains("invalid_auth"), "{}", r.message());
    assert!(!r.text.contains(bogus), "{}", r.text);

    let revoked = w.slack.issue_bot_token(TEAM, &slack_scopes());
    w.slack.revoke_token(&revoked);
    let r = w.connect_slack(&revoked).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials"), "{}", r.text);
    assert!(!r.text.contains(&revoked));

    let r = w.connect_slack("xoxp-a-user-token").await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{}", r.text);
    assert!(r.message().starts_with("bot_token:"), "{}", r.message());

    let r = w.connect(&w.t.key, json!({"platform": "slack", "bot_token": revoked})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().starts_with("signing_secret: required (the app's Signing Secret"), "{}", r.message());
    assert!(w.app.store.list_integrations(&w.t.id).await.unwrap().is_empty(), "nothing is stored");
}

#[tokio::test]
async fn requests_naming_no_known_platform_or_mixing_fields_are_refused_naming_the_field() {
    let w = world().await;
    for (body, starts) in [
        (json!({"bot_token": "xoxb-1", "signing_secret": "s"}), "platform: required"),
        (json!({"platform": "teams"}), "platform: unknown platform"),
        (json!({"platform": "wecom"}), "platform: wecom apps cannot be connected"),
        (json!({"platform": "slack", "bot_token": "xoxb-1", "signing_secret": "s", "app_id": "cli_1"}), "app_id: not a field of a slack integration"),
        (json!({"platform": "feishu", "app_id": "cli_1", "app_secret": "s"}), "verification_token: required"),
        (
            json!({"platform": "feishu", "app_id": "cli_1", "app_secret": "s", "verification_token": "v", "domain": "larksuite"}),
            "domain: must be feishu or lark",
        ),
        (json!({"platform": "slack", "name": "x".repeat(201), "bot_token": "xoxb-1", "signing_secret": "s"}), "name: at most 200"),
    ] {
        let r = w.connect(&w.t.key, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(r.message().starts_with(starts), "{body}: {}", r.message());
    }
    let r = w.connect(&w.t.key, json!({"platform": "slack", "token": "xoxb-1"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("unknown field `token`"), "{}", r.message());
}

#[tokio::test]
async fn the_same_workspace_connected_twice_is_409_already_connected() {
    let w = world().await;
    let first = w.connect_slack(&w.slack.issue_bot_token(TEAM, &slack_scopes())).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let id = first.body["id"].as_str().unwrap();

    let again = w.connect_slack(&w.slack.issue_bot_token(TEAM, &slack_scopes())).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "already_connected"), "{}", again.text);
    assert!(again.message().contains(&format!("PUT /api/v1/integrations/{id}/credentials")), "{}", again.message());
    assert_eq!(again.body["error"]["integration_id"], id);

    let other = w.app.tenant("globex").await;
    let token = w.slack.issue_bot_token(TEAM, &slack_scopes());
    let r = w.connect(&other.key, json!({"platform": "slack", "bot_token": token, "signing_secret": SIGNING_SECRET})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "already_connected"), "{}", r.text);
    assert!(r.message().contains("another Warroom tenant"), "{}", r.message());
    assert!(!r.text.contains(id), "another tenant's integration id leaked: {}", r.text);
    assert_eq!(w.app.store.list_integrations(&w.t.id).await.unwrap().len(), 1);
    assert!(w.app.store.list_integrations(&other.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_feishu_app_with_a_wrong_secret_is_refused_naming_the_problem() {
    let w = world().await;
    let r = w.connect(&w.t.key, feishu_body("not-the-secret")).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials"), "{}", r.text);
    assert!(r.message().contains("app_secret") && r.message().contains("app secret invalid"), "{}", r.message());
    assert!(!r.text.contains("not-the-secret"));

    let mut unknown = feishu_body(FEISHU_SECRET);
    unknown["app_id"] = json!("cli_nobody");
    let r = w.connect(&w.t.key, unknown).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials"), "{}", r.text);
    assert!(w.app.store.list_integrations(&w.t.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_feishu_app_connects_recording_its_scopes_and_bot_and_shows_the_four_setup_urls() {
    let w = world().await;
    let mut body = feishu_body(FEISHU_SECRET);
    body["domain"] = json!("lark");
    let r = w.connect(&w.t.key, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["platform"], "feishu");
    assert_eq!(r.body["name"], format!("Lark {FEISHU_APP}"));
    assert_eq!(r.body["external_id"], FEISHU_APP);
    let mut expected: Vec<&str> = feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    expected.sort();
    assert_eq!(r.body["granted_scopes"], json!(expected));
    assert_eq!(r.body["missing_permissions"], json!([]));
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        r.body["setup"],
        json!({
            "web_configuration_url": format!("{PUBLIC_URL}/im/{id}/web"),
            "redirect_url": format!("{PUBLIC_URL}/oauth/{id}/callback"),
            "card_request_url": format!("{PUBLIC_URL}/im/{id}/cards"),
            "event_request_url": format!("{PUBLIC_URL}/im/{id}/events"),
        })
    );
    for secret in [FEISHU_SECRET, "verification-token", "encrypt-key"] {
        assert!(!r.text.contains(secret), "{secret} echoed: {}", r.text);
    }

    let stored = w.stored(&r.body["id"]).await;
    let raw = serde_json::to_string(&stored).unwrap();
    assert!(!raw.contains(FEISHU_SECRET), "plaintext secret stored: {raw}");
    let opened: StoredFeishu = w.platforms.open(&stored).unwrap();
    assert_eq!(opened.credentials.base_url, feishu::LARK_BASE, "the real domain is stored; the sandbox override applies when opening");
    assert_eq!(opened.credentials.app_secret, FEISHU_SECRET);
    assert_eq!(opened.credentials.encrypt_key, "encrypt-key");
    assert_eq!(opened.bot_open_id, w.feishu.bot_open_id(FEISHU_APP));
}

#[tokio::test]
async fn the_install_url_carries_a_state_the_oauth_callback_accepts_once() {
    let w = world().await;
    let r = w.app.call(Method::POST, "/api/v1/integrations/slack/install", Some(&w.t.key), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let url = r.body["install_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/oauth/v2/authorize?", w.slack.base_url())), "{url}");
    assert_eq!(query_param(url, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(query_param(url, "redirect_uri"), Some(format!("{PUBLIC_URL}/oauth/slack/callback")));
    assert_eq!(query_param(url, "scope"), Some(slack_scopes().join(",")));
    let state = query_param(url, "state").unwrap();
    let pending = oauth_state::finish(&w.app.state, &state).await.unwrap();
    assert_eq!(pending, Some(Pending::SlackInstall { tenant_id: w.t.id.clone(), integration_id: None }));
    assert_eq!(oauth_state::finish(&w.app.state, &state).await.unwrap(), None, "a state is single-use");

    // Re-authorizing one of the tenant's Slack integrations.
    let connected = w.connect_slack(&w.slack.issue_bot_token(TEAM, &["chat:write"])).await;
    let id = connected.body["id"].as_str().unwrap();
    let r = w.app.call(Method::POST, "/api/v1/integrations/slack/install", Some(&w.t.key), Some(json!({"integration_id": id}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let state = query_param(r.body["install_url"].as_str().unwrap(), "state").unwrap();
    let pending = oauth_state::finish(&w.app.state, &state).await.unwrap();
    assert_eq!(pending, Some(Pending::SlackInstall { tenant_id: w.t.id.clone(), integration_id: Some(IntegrationId::new(id)) }));

    // Not one of the tenant's Slack integrations.
    let feishu = w.connect(&w.t.key, feishu_body(FEISHU_SECRET)).await;
    let r = w.app.call(Method::POST, "/api/v1/integrations/slack/install", Some(&w.t.key), Some(json!({"integration_id": feishu.body["id"]}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "wrong_platform"), "{}", r.text);
    assert!(r.message().starts_with("integration_id:"), "{}", r.message());
    let other = w.app.tenant("globex").await;
    let r = w.app.call(Method::POST, "/api/v1/integrations/slack/install", Some(&other.key), Some(json!({"integration_id": id}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", r.text);
}

#[tokio::test]
async fn without_a_deployment_slack_app_the_install_link_is_409_no_slack_app() {
    let w = world_with(false).await;
    let r = w.app.call(Method::POST, "/api/v1/integrations/slack/install", Some(&w.t.key), Some(json!({}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "no_slack_app"), "{}", r.text);
}

#[tokio::test]
async fn the_manifest_is_yaml_with_the_integrations_event_url() {
    let w = world().await;
    let connected = w.connect_slack(&w.slack.issue_bot_token(TEAM, &slack_scopes())).await;
    let id = connected.body["id"].as_str().unwrap();
    let r = w.app.get(&format!("/api/v1/integrations/slack/manifest?integration_id={id}"), &w.t.key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/yaml"));
    assert!(r.text.contains("display_information:") && r.text.contains("Warroom"), "{}", r.text);
    assert!(r.text.contains(&format!("{PUBLIC_URL}/im/{id}/events")), "{}", r.text);
    assert!(r.text.contains(&format!("{PUBLIC_URL}/im/{id}/cards")), "{}", r.text);
    assert!(r.text.contains("channels:manage"));

    let r = w.app.get("/api/v1/integrations/slack/manifest", &w.t.key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains(&format!("{PUBLIC_URL}/im/slack/events")), "the deployment's app: {}", r.text);

    let r = w.app.get("/api/v1/integrations/slack/manifest?integration_id=int_nope", &w.t.key).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = w.app.call(Method::GET, "/api/v1/integrations/slack/manifest", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rotating_credentials_keeps_the_war_room_flag_and_replaces_the_token() {
    let w = world().await;
    let old = w.slack.issue_bot_token(TEAM, &slack_scopes());
    let connected = w.connect_slack(&old).await;
    let id = connected.body["id"].as_str().unwrap().to_owned();
    let r = w.app.call(Method::POST, &format!("/api/v1/integrations/{id}/war-room"), Some(&w.t.key), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["war_room_enabled"], true);

    let new = w.slack.issue_bot_token(TEAM, &slack_scopes());
    let path = format!("/api/v1/integrations/{id}/credentials");
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(json!({"bot_token": new, "signing_secret": "a-new-signing-secret"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["war_room_enabled"], true, "the war-room flag stays");
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["name"], format!("Slack {TEAM}"), "the name stays when none is given");
    assert!(!r.text.contains(&new));
    let stored = w.stored(&json!(id)).await;
    let opened = w.platforms.slack_credentials(&stored).unwrap();
    assert_eq!(opened.bot_token, new);
    assert_eq!(opened.signing_secret.as_deref(), Some("a-new-signing-secret"));
    assert_eq!(w.app.store.war_room_integration(&w.t.id).await.unwrap(), Some(IntegrationId::new(id.as_str())));

    // Another workspace's token, another platform's app, a bad token: refused, nothing changes.
    let elsewhere = w.slack.issue_bot_token("T0OTHER", &slack_scopes());
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(json!({"bot_token": elsewhere, "signing_secret": SIGNING_SECRET}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "different_installation"), "{}", r.text);
    assert!(r.message().contains("T0OTHER"), "{}", r.message());
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(feishu_body(FEISHU_SECRET))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "different_installation"), "{}", r.text);
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(json!({"bot_token": "xoxb-0-0-bogus", "signing_secret": SIGNING_SECRET}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials"), "{}", r.text);
    let after = w.platforms.slack_credentials(&w.stored(&json!(id)).await).unwrap();
    assert_eq!(after.bot_token, new);

    let other = w.app.tenant("globex").await;
    let r = w.app.call(Method::PUT, &path, Some(&other.key), Some(json!({"bot_token": new, "signing_secret": SIGNING_SECRET}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn rotating_a_feishu_secret_checks_the_new_one_even_with_a_token_cached() {
    let w = world().await;
    let connected = w.connect(&w.t.key, feishu_body(FEISHU_SECRET)).await;
    assert_eq!(connected.status, StatusCode::CREATED, "{}", connected.text);
    let path = format!("/api/v1/integrations/{}/credentials", connected.body["id"].as_str().unwrap());
    // A token for the app is cached now; a wrong secret must still be refused.
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(feishu_body("wrong-secret"))).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials"), "{}", r.text);
    let mut renamed = feishu_body(FEISHU_SECRET);
    renamed["name"] = json!("Ops bot");
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(renamed)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Ops bot");
    assert_eq!(r.body["setup"]["card_request_url"], format!("{PUBLIC_URL}/im/{}/cards", connected.body["id"].as_str().unwrap()));
}

#[tokio::test]
async fn the_setup_of_a_slack_integration_through_the_deployment_app_points_at_the_deployment_urls() {
    let w = world().await;
    let mut integration = warroom_testkit::fixtures::integration(&w.t.id, Platform::Slack);
    let credentials = slack::SlackCredentials { bot_token: "xoxb-1".into(), team_id: TEAM.into(), bot_user_id: None, app_id: None, signing_secret: None };
    integration.credentials = w.platforms.seal(&integration.id, &credentials);
    assert_eq!(
        api::views::integration_detail(&w.app.state, &integration)["setup"],
        json!({"event_request_url": format!("{PUBLIC_URL}/im/slack/events"), "interactivity_url": format!("{PUBLIC_URL}/im/slack/interactions")})
    );
    // Credentials that do not open: no setup rather than a wrong one.
    integration.credentials = SealedCredentials("garbage".into());
    let detail = api::views::integration_detail(&w.app.state, &integration);
    assert!(detail.get("setup").is_none(), "{detail}");
    assert_eq!(detail["platform"], "slack", "the rest of the detail is still there");
}

#[tokio::test]
async fn without_platform_adapters_connecting_answers_503_platforms_unavailable() {
    let app = App::new();
    let t = app.tenant("acme").await;
    for (method, path, body) in [
        (Method::POST, "/api/v1/integrations".to_string(), Some(json!({"platform": "slack", "bot_token": "xoxb-1", "signing_secret": "s"}))),
        (Method::POST, "/api/v1/integrations/slack/install".to_string(), None),
    ] {
        let r = app.call(method, &path, Some(&t.key), body).await;
        assert_eq!((r.status, r.code()), (StatusCode::SERVICE_UNAVAILABLE, "platforms_unavailable"), "{path}: {}", r.text);
    }
    let (i, _) = app.integration(&t.id, Platform::Slack, &[]).await;
    let r = app.call(Method::PUT, &format!("/api/v1/integrations/{}/credentials", i.id), Some(&t.key), Some(json!({"bot_token": "xoxb-1"}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::SERVICE_UNAVAILABLE, "platforms_unavailable"), "{}", r.text);
}
