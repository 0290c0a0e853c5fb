//! Secrets at rest: credentials and tokens entered through the management API (a Slack
//! bot token and signing secret, a Feishu app secret, encrypt key and verification token,
//! rotated credentials, status-sync secrets in the settings) never reach the store in
//! plaintext. The app is wired as a deployment (`warroom_runtime::compose`, real platform
//! adapters against the Slack and Feishu sandboxes); the test then reads the raw store:
//! the redb file's bytes on disk, or every item of the DynamoDB table (a full scan), and
//! looks for each secret. `Debug` of the types that carry secrets shows none of them.

use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;
use warroom_core::*;
use warroom_http::auth;
use warroom_platforms::feishu::{self, FeishuCredentials};
use warroom_platforms::slack::{self, SlackCredentials};
use warroom_platforms::{PlatformsConfig, SlackApp};
use warroom_queue::{MemoryQueue, MemoryQueueConfig};
use warroom_sandbox::feishu::FeishuSandbox;
use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};
use warroom_secrets::{Secret, SecretBox};
use warroom_store::dynamo::DynamoStore;
use warroom_store::embedded::EmbeddedStore;
use warroom_testkit::fixtures;

const TEAM: &str = "T0SECRETS";
const SLACK_SIGNING: &str = "slack-signing-secret-a1b2c3d4e5";
const SLACK_SIGNING_ROTATED: &str = "slack-signing-secret-rotated-f6g7h8";
const FEISHU_APP: &str = "cli_secrets_at_rest";
const FEISHU_SECRET: &str = "feishu-app-secret-q9w8e7r6t5";
const FEISHU_ENCRYPT: &str = "feishu-encrypt-key-y4u3i2o1p0";
const FEISHU_VERIFY: &str = "feishu-verification-token-z1x2c3v4";
const GENERIC_SIGNING: &str = "generic-signing-secret-m5n6b7v8";
const PD_TOKEN: &str = "pagerduty-api-token-k9j8h7g6";
const PD_WEBHOOK: &str = "pagerduty-webhook-secret-l5k4j3h2";
/// The deployment's own Slack app (configuration, never stored, but must not be either).
const CLIENT_SECRET: &str = "deployment-client-secret-d3f4g5";
const DEPLOYMENT_SIGNING: &str = "deployment-signing-secret-s7d8f9";

/// What the scenario wrote: every plaintext secret (labelled), and values that are not
/// secret and must be found in the raw store (proof that the search reads real data).
struct Written {
    secrets: Vec<(&'static str, String)>,
    markers: Vec<String>,
    integrations: Vec<IntegrationId>,
    tenant: TenantId,
}

async fn call(router: &Router, method: Method, path: &str, key: &str, body: Value) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Connects a Slack and a Feishu integration, rotates the Slack credentials and sets the
/// status-sync secrets, all through the management API of an app composed over `store`.
async fn write_secrets(store: Arc<dyn Store>) -> Written {
    warroom_testkit::logging::init();
    let slack = SlackSandbox::new(SandboxConfig {
        client_id: "1234.5678".into(),
        client_secret: CLIENT_SECRET.into(),
        signing_secret: DEPLOYMENT_SIGNING.into(),
        enforce_rate_limits: true,
    });
    let slack_base = slack.serve_local().await.unwrap();
    slack.add_workspace(TEAM, "Secrets Inc");
    let scopes: Vec<&str> = slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    let bot_token = slack.issue_bot_token(TEAM, &scopes);
    let rotated_token = slack.issue_bot_token(TEAM, &scopes);

    let feishu_sandbox = FeishuSandbox::new(Default::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feishu_base = format!("http://{}", listener.local_addr().unwrap());
    let feishu_router = feishu_sandbox.router();
    tokio::spawn(async move { axum::serve(listener, feishu_router).await.unwrap() });
    let feishu_scopes: Vec<&str> = feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    feishu_sandbox.add_app(FEISHU_APP, FEISHU_SECRET, FEISHU_VERIFY, FEISHU_ENCRYPT, &feishu_scopes);

    let clock = Arc::new(ManualClock::at(SystemClock.now()));
    let queue = Arc::new(MemoryQueue::new(MemoryQueueConfig::default(), clock.clone()));
    let config = PlatformsConfig {
        public_url: "https://warroom.example.com".into(),
        slack_api_base: format!("{slack_base}/api"),
        slack_oauth_base: slack_base,
        slack_app: Some(SlackApp { client_id: "1234.5678".into(), client_secret: Secret::new(CLIENT_SECRET), signing_secret: Secret::new(DEPLOYMENT_SIGNING) }),
        base_overrides: [(warroom_core::Platform::Feishu, feishu_base)].into(),
        chat_links: None,
    };
    let state = warroom_runtime::compose(store.clone(), queue, clock.clone(), SecretBox::from_key(&[9u8; 32]), config, Default::default()).unwrap();
    let router = api::router(state);

    let tenant = fixtures::tenant_id();
    store.put_tenant(&fixtures::tenant(&tenant)).await.unwrap();
    let (key, record) = auth::new_key(&tenant, "tests", KeyScope::Admin, clock.now());
    store.put_api_key(&record).await.unwrap();

    let (code, body) =
        call(&router, Method::POST, "/api/v1/integrations", &key, json!({"platform": "slack", "bot_token": bot_token, "signing_secret": SLACK_SIGNING})).await;
    assert!(code < 300, "connect Slack: {code} {body}");
    let slack_id = IntegrationId::from(body["id"].as_str().expect("integration id"));
    let (code, rotated) = call(
        &router,
        Method::PUT,
        &format!("/api/v1/integrations/{slack_id}/credentials"),
        &key,
        json!({"platform": "slack", "bot_token": rotated_token, "signing_secret": SLACK_SIGNING_ROTATED}),
    )
    .await;
    assert!(code < 300, "rotate Slack: {code} {rotated}");

    let feishu_body =
        json!({"platform": "feishu", "app_id": FEISHU_APP, "app_secret": FEISHU_SECRET, "verification_token": FEISHU_VERIFY, "encrypt_key": FEISHU_ENCRYPT});
    let (code, feishu_answer) = call(&router, Method::POST, "/api/v1/integrations", &key, feishu_body).await;
    assert!(code < 300, "connect Feishu: {code} {feishu_answer}");
    let feishu_id = IntegrationId::from(feishu_answer["id"].as_str().expect("integration id"));

    let settings = json!({"sources": {
        "generic": {"callback_url": "https://ops.example.com/warroom", "signing_secret": GENERIC_SIGNING},
        "pagerduty": {"api_token": PD_TOKEN, "from_email": "oncall-secrets@example.com", "webhook_secret": PD_WEBHOOK},
    }});
    let (code, answer) = call(&router, Method::PUT, "/api/v1/settings", &key, settings).await;
    assert!(code < 300, "settings: {code} {answer}");
    let (_, shown) = call(&router, Method::GET, "/api/v1/settings", &key, Value::Null).await;

    let secrets = vec![
        ("slack bot token", bot_token),
        ("rotated slack bot token", rotated_token),
        ("slack signing secret", SLACK_SIGNING.to_string()),
        ("rotated slack signing secret", SLACK_SIGNING_ROTATED.to_string()),
        ("feishu app secret", FEISHU_SECRET.to_string()),
        ("feishu encrypt key", FEISHU_ENCRYPT.to_string()),
        ("feishu verification token", FEISHU_VERIFY.to_string()),
        ("generic signing secret", GENERIC_SIGNING.to_string()),
        ("pagerduty api token", PD_TOKEN.to_string()),
        ("pagerduty webhook secret", PD_WEBHOOK.to_string()),
        ("deployment slack client secret", CLIENT_SECRET.to_string()),
        ("deployment slack signing secret", DEPLOYMENT_SIGNING.to_string()),
    ];
    // The API never answers with them either.
    for answer in [&body, &rotated, &feishu_answer, &answer, &shown] {
        let text = answer.to_string();
        for (label, secret) in &secrets {
            assert!(!text.contains(secret.as_str()), "the API answered with the {label}: {text}");
        }
    }
    let markers = vec![TEAM.to_string(), FEISHU_APP.to_string(), "oncall-secrets@example.com".to_string(), slack_id.to_string(), feishu_id.to_string()];
    Written { secrets, markers, integrations: vec![slack_id, feishu_id], tenant }
}

/// Fails naming every secret found in `raw` (and every marker not found: then the search
/// is not reading the data).
fn assert_no_plaintext(what: &str, raw: &[u8], written: &Written) {
    let contains = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    let missing: Vec<&String> = written.markers.iter().filter(|m| !contains(m.as_bytes())).collect();
    assert!(missing.is_empty(), "{what}: the raw data lacks values that were stored in clear ({missing:?}): the search is not reading the store");
    let leaked: Vec<&str> = written.secrets.iter().filter(|(_, s)| contains(s.as_bytes())).map(|(label, _)| *label).collect();
    assert!(leaked.is_empty(), "{what}: plaintext secrets at rest: {leaked:?}");
}

/// `Debug` of what the store returns and of every type that carries a secret.
async fn assert_debug_redacts(store: &dyn Store, written: &Written) {
    let mut shown = Vec::new();
    for id in &written.integrations {
        let integration = store.get_integration(id).await.unwrap().expect("stored integration");
        shown.push(format!("{integration:?}"));
        shown.push(format!("{:#?}", integration.credentials));
    }
    shown.push(format!("{:?}", store.get_tenant(&written.tenant).await.unwrap()));
    for (_, secret) in &written.secrets {
        let s = Secret::new(secret.clone());
        let debug = format!("{s:?}");
        assert_eq!(debug, format!("Secret({} bytes)", secret.len()));
        shown.push(debug);
        shown.push(format!("{s}"));
        shown.push(format!("{:?}", Some(s.clone())));
    }
    let slack = SlackCredentials {
        bot_token: written.secrets[0].1.clone(),
        team_id: TEAM.into(),
        bot_user_id: Some("U0BOT".into()),
        app_id: Some("A0APP".into()),
        signing_secret: Some(SLACK_SIGNING.into()),
    };
    shown.push(format!("{slack:?}"));
    shown.push(format!("{slack:#?}"));
    let feishu = FeishuCredentials {
        app_id: FEISHU_APP.into(),
        app_secret: FEISHU_SECRET.into(),
        verification_token: FEISHU_VERIFY.into(),
        encrypt_key: FEISHU_ENCRYPT.into(),
        base_url: "http://127.0.0.1:1".into(),
    };
    shown.push(format!("{feishu:?}"));
    shown.push(format!("{feishu:#?}"));
    shown.push(format!("{:?}", SecretBox::from_key(&[9u8; 32])));
    shown.push(format!(
        "{:?}",
        SlackApp { client_id: "1234.5678".into(), client_secret: Secret::new(CLIENT_SECRET), signing_secret: Secret::new(DEPLOYMENT_SIGNING) }
    ));
    for text in &shown {
        for (label, secret) in &written.secrets {
            assert!(!text.contains(secret.as_str()), "Debug/Display shows the {label}: {text}");
        }
    }
    assert!(format!("{slack:?}").contains(TEAM) && format!("{feishu:?}").contains(FEISHU_APP), "Debug still shows the non-secret fields");
}

#[tokio::test]
async fn no_plaintext_secret_is_in_the_embedded_store_file() {
    let path = std::env::temp_dir().join(format!("warroom-secrets-at-rest-{}.redb", warroom_core::ids::random_suffix()));
    let store = Arc::new(EmbeddedStore::open(&path).unwrap());
    let written = write_secrets(store.clone()).await;
    assert_debug_redacts(store.as_ref(), &written).await;
    // The router (inside the scenario) is gone; dropping the last handle closes the file.
    drop(store);
    let raw = std::fs::read(&path).expect("the store file");
    let _ = std::fs::remove_file(&path);
    assert_no_plaintext(&format!("redb file {}", path.display()), &raw, &written);
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator: run ./infra/test.sh"]
async fn no_plaintext_secret_is_in_the_dynamodb_table() {
    let client = warroom_testkit::aws::dynamodb_client();
    let table = warroom_testkit::aws::unique_name("warroom-secrets");
    DynamoStore::create_table(&client, &table).await.expect("create test table");
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client.clone(), table.clone()));
    let written = write_secrets(store.clone()).await;
    assert_debug_redacts(store.as_ref(), &written).await;

    // Every attribute of every item: text attributes (and anything nested) through their
    // Debug form, binary attributes as bytes.
    let mut raw: Vec<u8> = Vec::new();
    let mut items = 0;
    let mut start = None;
    loop {
        let page = client.scan().table_name(&table).set_exclusive_start_key(start).send().await.expect("scan");
        for item in page.items() {
            items += 1;
            raw.extend_from_slice(format!("{item:?}\n").as_bytes());
            for value in item.values() {
                if let Ok(s) = value.as_s() {
                    raw.extend_from_slice(s.as_bytes());
                    raw.push(b'\n');
                }
                if let Ok(b) = value.as_b() {
                    raw.extend_from_slice(b.as_ref());
                    raw.push(b'\n');
                }
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert!(items > 0, "the table is empty");
    assert_no_plaintext(&format!("DynamoDB table {table} ({items} items)"), &raw, &written);
}
