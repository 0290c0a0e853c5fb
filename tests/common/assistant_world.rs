//! A Slack war room (the Slack sandbox) whose tenant's model is the LLM sandbox, over real
//! HTTP both ways: what the assistant's and the post-mortem's tests start from.

use super::event;
use super::platform_app::PlatformApp;
use std::time::Duration;
use warroom_core::*;
use warroom_http::oauth_state::{self, Pending};
use warroom_platforms::{slack, PlatformsConfig, SlackApp};
use warroom_sandbox::llm::{LlmConfig, LlmSandbox};
use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};
use warroom_secrets::Secret;

pub const TEAM: &str = "T0ACME";

pub struct World {
    pub slack: SlackSandbox,
    pub llm: LlmSandbox,
    pub llm_base: String,
    pub app: PlatformApp,
    pub channel: String,
    pub events: String,
}

/// Ada and Bob in a Slack workspace, incident `e1` with its room open; the model answers
/// with the key `key`.
pub async fn start(key: &str) -> World {
    let slack = SlackSandbox::new(SandboxConfig {
        client_id: "1234.5678".into(),
        client_secret: "client-secret".into(),
        signing_secret: "signing-secret".into(),
        enforce_rate_limits: true,
    });
    let base = slack.serve_local().await.unwrap();
    slack.add_workspace(TEAM, "Acme");
    slack.add_user(TEAM, "U_ADA", "Ada", "ada@example.com");
    slack.add_user(TEAM, "U_BOB", "Bob", "bob@example.com");
    let llm = LlmSandbox::new(LlmConfig::default());
    // Slow enough that the answer is edited while it streams (edits are ≥ 800 ms apart).
    llm.set_chunk_delay(Duration::from_millis(60));
    llm.set_chunk_chars(6);
    let llm_base = llm.serve_local().await.unwrap();
    let settings = ModelSettings {
        provider: ModelProvider::OpenAiCompatible {
            base_url: format!("{llm_base}/v1"),
            model: "sandbox-gpt".into(),
            api_key: Some(key.into()),
            azure_api_version: None,
        },
        max_output_tokens: 400,
    };
    let app = PlatformApp::start_with_model(
        |public_url| PlatformsConfig {
            public_url: public_url.to_string(),
            slack_api_base: format!("{base}/api"),
            slack_oauth_base: base.clone(),
            slack_app: Some(SlackApp {
                client_id: "1234.5678".into(),
                client_secret: Secret::new("client-secret"),
                signing_secret: Secret::new("signing-secret"),
            }),
            base_overrides: Default::default(),
            chat_links: None,
        },
        Some(&settings),
    )
    .await;

    let pending = Pending::SlackInstall { tenant_id: app.tenant.clone(), integration_id: None };
    let state = oauth_state::begin(&app.state, &pending).await.unwrap();
    let scopes: Vec<&str> = slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    let consent = slack::authorize_url(&base, "1234.5678", &scopes, &format!("{}/oauth/slack/callback", app.url), &state);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(3)).build().unwrap();
    assert_eq!(browser.get(consent).send().await.unwrap().status(), 200);
    let integration = app.store.find_integration_by_external(Platform::Slack, TEAM).await.unwrap().unwrap();
    app.store.enable_war_room(&app.tenant, &integration.id).await.unwrap();
    app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    app.drain().await;
    let channel = app.incident("e1").await.war_room.chat_id.unwrap().to_string();
    let events = format!("{}/im/slack/events", app.url);
    World { slack, llm, llm_base, app, channel, events }
}

impl World {
    /// A person writes in the room; with `mention`, Slack's `app_mention` follows.
    pub async fn say(&self, user: &str, text: &str, mention: bool) -> String {
        let text = if mention { format!("<@UBOT> {text}") } else { text.to_string() };
        self.slack.post_human_message(&self.events, TEAM, &self.channel, user, &text).await.unwrap();
        let ts = self.slack.channel(&self.channel).unwrap().messages.into_iter().rfind(|m| m.text == text).unwrap().ts;
        if mention {
            let event = serde_json::json!({"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": self.channel, "event_ts": ts});
            assert_eq!(self.slack.send_event(&self.events, TEAM, event).await.unwrap().status(), 200);
        }
        ts
    }
}
