//! A DingTalk and a WeCom war room (their sandboxes) whose tenant's model is the LLM sandbox,
//! over real HTTP both ways: what the DingTalk and WeCom assistant tests start from.

use super::platform_app::PlatformApp;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use warroom_core::*;
use warroom_platforms::PlatformsConfig;
use warroom_sandbox::dingtalk::{self as dingtalk_sb, DingTalkSandbox};
use warroom_sandbox::llm::{LlmConfig, LlmSandbox, DEFAULT_API_KEY};
use warroom_sandbox::wecom::{self as wecom_sb, WeComSandbox};

/// The LLM sandbox, slow enough that an answer streams in several steps (appends are
/// ≥ 300 ms apart), and the tenant's model settings pointing at it.
pub async fn llm() -> (LlmSandbox, ModelSettings) {
    let llm = LlmSandbox::new(LlmConfig::default());
    llm.set_chunk_delay(Duration::from_millis(60));
    llm.set_chunk_chars(6);
    let base = llm.serve_local().await.unwrap();
    let settings = ModelSettings {
        provider: ModelProvider::OpenAiCompatible {
            base_url: format!("{base}/v1"),
            model: "sandbox-gpt".into(),
            api_key: Some(DEFAULT_API_KEY.into()),
            azure_api_version: None,
        },
        max_output_tokens: 400,
    };
    (llm, settings)
}

/// Runs the queue while the app's clock moves with real time, as it does in production: the
/// platforms' rate-limit buckets refill by that clock (DingTalk's hold one call at a time), so
/// a frozen clock would starve an answer's stream of tokens.
pub async fn drain_in_real_time(app: &PlatformApp) {
    let (clock, running) = (app.clock.clone(), Arc::new(AtomicBool::new(true)));
    let ticking = running.clone();
    let ticker = tokio::spawn(async move {
        while ticking.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            clock.advance(Duration::from_millis(20));
        }
    });
    app.drain().await;
    running.store(false, Ordering::SeqCst);
    ticker.await.unwrap();
}

/// GET with the admin key: status, content type, body.
pub async fn get(app: &PlatformApp, path: &str) -> (u16, String, String) {
    let resp = reqwest::Client::new().get(format!("{}{path}", app.url)).bearer_auth(&app.admin_key).send().await.unwrap();
    let code = resp.status().as_u16();
    let kind = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (code, kind, resp.text().await.unwrap())
}

/// The room's talk before a post-mortem: each line an @mention (the robots see nothing else).
pub const TALK: [(&str, &str); 3] = [
    ("bob", "p99 latency on checkout is at 4s, customers see timeouts"),
    ("bob", "root cause: the connection pool is exhausted, confirmed by the pool metrics"),
    ("ada", "TODO add a pool saturation alarm"),
];

/// The model request that drafted a post-mortem, with every line of `TALK` in it.
pub fn postmortem_prompt(llm: &LlmSandbox) -> String {
    let request = llm.requests().into_iter().rfind(|r| r.messages[0].content.contains("post-mortem")).expect("a post-mortem was drafted");
    serde_json::to_string(&request.messages).unwrap()
}

pub const DT_APP: &str = "dingassistante2e";
pub const DT_SECRET: &str = "dingtalk-assistant-secret";
const DT_TOKEN: &str = "event-token";
const DT_AES_KEY: &str = "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus";

pub struct DingTalkWorld {
    pub sandbox: DingTalkSandbox,
    pub llm: LlmSandbox,
    pub app: PlatformApp,
    /// The war room's openConversationId.
    pub ocid: String,
}

/// Ada and Bob in a DingTalk org, the integration connected through the API, incident `e1`
/// with its scene group open.
pub async fn dingtalk(configure: impl FnOnce(&mut dingtalk_sb::AppConfig)) -> DingTalkWorld {
    let (llm, settings) = llm().await;
    let sandbox = DingTalkSandbox::new(dingtalk_sb::SandboxConfig { enforce_rate_limits: true, ..dingtalk_sb::SandboxConfig::default() });
    let base = sandbox.serve_local().await.unwrap();
    let app = PlatformApp::start_with_model(|url| PlatformsConfig::production(url).with_base_override(Platform::Dingtalk, base.clone()), Some(&settings)).await;
    let mut config = dingtalk_sb::AppConfig::new(DT_APP, DT_SECRET);
    config.event_token = DT_TOKEN.into();
    config.event_aes_key = DT_AES_KEY.into();
    configure(&mut config);
    sandbox.add_app(config);
    sandbox.add_user("owner01", "Owner", Some("13800000000"), None);
    sandbox.add_user("ada", "Ada", Some("13800000001"), None);
    sandbox.add_user("bob", "Bob", Some("13800000002"), None);
    phones(&app, "138").await;
    let body = json!({
        "platform": "dingtalk", "client_id": DT_APP, "client_secret": DT_SECRET, "template_id": format!("tpl_{DT_APP}"),
        "owner_user_id": "owner01", "event_token": DT_TOKEN, "event_aes_key": DT_AES_KEY, "robot_code": format!("grb_{DT_APP}"),
    });
    let (code, body) = app.post("/api/v1/integrations", &app.admin_key, body).await;
    assert_eq!(code, 201, "{body}");
    let id = IntegrationId::new(body["id"].as_str().unwrap());
    let events = format!("{}/im/{id}/events", app.url);
    sandbox.set_callback_urls(DT_APP, Some(&events), Some(&events));
    app.store.enable_war_room(&app.tenant, &id).await.unwrap();
    app.post("/hooks/generic", &app.intake_key, super::event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    app.drain().await;
    let ocid = app.incident("e1").await.war_room.chat_id.expect("a scene group").to_string();
    DingTalkWorld { sandbox, llm, app, ocid }
}

/// Ada and Bob with mainland phones `+86 <prefix>0000000{1,2}`, so either IM finds them.
async fn phones(app: &PlatformApp, prefix: &str) {
    for (id, name, n) in [("m_ada", "Ada", 1), ("m_bob", "Bob", 2)] {
        let mut m = warroom_testkit::fixtures::member(&app.tenant, id, name);
        m.phone = Some(format!("+86{prefix}0000000{n}"));
        app.store.put_member(&m).await.unwrap();
    }
}

impl DingTalkWorld {
    /// `user` @mentions the group robot.
    pub async fn mention(&self, user: &str, text: &str) {
        let resp = self.sandbox.mention_robot(&self.ocid, user, text).await.unwrap();
        assert_eq!(resp.status(), 200);
    }

    /// The texts the robot's notice cards show (announcements, command answers).
    pub fn notices(&self) -> Vec<String> {
        let group = self.sandbox.group(&self.ocid).unwrap();
        group.cards.iter().filter(|c| c.card_data.get("kind").is_some_and(|k| k == "notice")).filter_map(|c| c.card_data.get("markdown").cloned()).collect()
    }
}

pub const WC_CORP: &str = "wwassistant0001";
pub const WC_AGENT: i64 = 1000002;

pub struct WeComWorld {
    pub sandbox: WeComSandbox,
    pub llm: LlmSandbox,
    pub app: PlatformApp,
    /// The bot's (and the app's) callback URL.
    pub url: String,
    pub chatid: String,
}

/// Ada and Bob in a WeCom corp with a smart bot, the integration connected through the API,
/// incident `e1` with its app group open. The bot polls streams every 100 ms.
pub async fn wecom() -> WeComWorld {
    let (llm, settings) = llm().await;
    let sandbox = WeComSandbox::new(wecom_sb::SandboxConfig { enforce_rate_limits: true, ..wecom_sb::SandboxConfig::default() });
    sandbox.set_stream_polling(Some(Duration::from_millis(100)));
    let base = sandbox.serve_local().await.unwrap();
    let app = PlatformApp::start_with_model(|url| PlatformsConfig::production(url).with_base_override(Platform::Wecom, base.clone()), Some(&settings)).await;
    let config = wecom_sb::AppConfig::new(WC_CORP, WC_AGENT, "wecom-assistant-secret");
    sandbox.add_app(config.clone());
    sandbox.add_user("owner01", "Owner", Some("13900000000"), None);
    sandbox.add_user("ada", "Ada", Some("13900000001"), None);
    sandbox.add_user("bob", "Bob", Some("13900000002"), None);
    phones(&app, "139").await;
    let body = json!({
        "platform": "wecom", "corp_id": WC_CORP, "agent_id": WC_AGENT.to_string(), "secret": "wecom-assistant-secret", "owner_userid": "owner01",
        "callback_token": config.callback_token, "callback_aes_key": config.callback_aes_key,
        "bot_token": config.bot_token, "bot_aes_key": config.bot_aes_key,
    });
    let (code, body) = app.post("/api/v1/integrations", &app.admin_key, body).await;
    assert_eq!(code, 201, "{body}");
    let id = IntegrationId::new(body["id"].as_str().unwrap());
    let url = format!("{}/im/{id}/events", app.url);
    sandbox.set_callback_urls(WC_AGENT, Some(&url), Some(&url));
    app.store.enable_war_room(&app.tenant, &id).await.unwrap();
    app.post("/hooks/generic", &app.intake_key, super::event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    app.drain().await;
    let chatid = app.incident("e1").await.war_room.chat_id.expect("an app group").to_string();
    WeComWorld { sandbox, llm, app, url, chatid }
}

impl WeComWorld {
    /// `user` @mentions the smart bot; the bot's passive reply, decrypted.
    pub async fn mention(&self, user: &str, text: &str) -> Option<Value> {
        let said = self.sandbox.mention_bot(&self.url, WC_AGENT, &self.chatid, user, text).await.unwrap();
        assert_eq!(said.passive.status, 200);
        said.reply
    }

    /// What the group shows as text (the app's messages and the bot's).
    pub fn texts(&self) -> Vec<String> {
        self.sandbox.chat(&self.chatid).map(|c| c.messages.into_iter().map(|m| m.text).collect()).unwrap_or_default()
    }
}
