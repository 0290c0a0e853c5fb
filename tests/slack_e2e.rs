//! Slack end to end against the Slack sandbox, over real HTTP both ways: OAuth install →
//! enable war room → incident webhook → private channel with the responders and a Block
//! Kit card → a signed button click acknowledges it (card updated, timeline actor) →
//! resolve → archive; a responder with no Slack account is reported, not fatal; a Slack
//! retry of the same event has no second effect.

mod common;

use common::event;
use common::platform_app::PlatformApp;
use warroom_core::*;
use warroom_http::oauth_state::{self, Pending};
use warroom_platforms::{slack, PlatformsConfig, SlackApp};
use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};
use warroom_secrets::Secret;

const TEAM: &str = "T0ACME";

async fn start() -> (SlackSandbox, PlatformApp) {
    let sandbox = SlackSandbox::new(SandboxConfig {
        client_id: "1234.5678".into(),
        client_secret: "client-secret".into(),
        signing_secret: "signing-secret".into(),
        enforce_rate_limits: true,
    });
    let base = sandbox.serve_local().await.unwrap();
    sandbox.add_workspace(TEAM, "Acme");
    sandbox.add_user(TEAM, "U_ADA", "Ada", "ada@example.com");
    sandbox.add_user(TEAM, "U_BOB", "Bob", "bob@example.com");
    let app = PlatformApp::start(|public_url| PlatformsConfig {
        public_url: public_url.to_string(),
        slack_api_base: format!("{base}/api"),
        slack_oauth_base: base.clone(),
        slack_app: Some(SlackApp { client_id: "1234.5678".into(), client_secret: Secret::new("client-secret"), signing_secret: Secret::new("signing-secret") }),
        base_overrides: Default::default(),
        chat_links: None,
    })
    .await;
    let mut tenant = app.store.get_tenant(&app.tenant).await.unwrap().unwrap();
    tenant.settings.auto_dismiss_after_minutes = Some(0);
    app.store.put_tenant(&tenant).await.unwrap();
    (sandbox, app)
}

/// The browser half of the install, as a person would click through it.
async fn install(app: &PlatformApp) -> Integration {
    let pending = Pending::SlackInstall { tenant_id: app.tenant.clone(), integration_id: None };
    let state = oauth_state::begin(&app.state, &pending).await.unwrap();
    let platforms = app.state.platforms.clone().unwrap();
    let scopes: Vec<&str> = slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    let consent = slack::authorize_url(&platforms.config.slack_oauth_base, "1234.5678", &scopes, &format!("{}/oauth/slack/callback", app.url), &state);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(3)).build().unwrap();
    let page = browser.get(consent).send().await.unwrap();
    assert_eq!(page.status(), 200, "the install ends on our callback page");
    let html = page.text().await.unwrap();
    assert!(html.contains("Slack connected") && html.contains("Every permission"), "{html}");
    app.store.find_integration_by_external(Platform::Slack, TEAM).await.unwrap().expect("integration created")
}

#[tokio::test]
async fn a_slack_war_room_runs_from_install_to_archive() {
    let (sandbox, app) = start().await;
    let integration = install(&app).await;
    assert_eq!(integration.granted_scopes.len(), slack::REQUIRED_SCOPES.len());
    let (code, body) = app.post(&format!("/api/v1/integrations/{}/war-room", integration.id), &app.admin_key, serde_json::json!({})).await;
    assert!(code < 300, "enable: {code} {body}");

    let (code, _) = app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 0, &["Ada", "Bob", "Dee"])).await;
    assert_eq!(code, 202);
    app.drain().await;
    let inc = app.incident("e1").await;
    let channel_id = inc.war_room.chat_id.clone().expect("a channel").to_string();
    let channel = sandbox.channel(&channel_id).unwrap();
    assert!(channel.is_private);
    assert!(channel.members.contains(&"U_ADA".to_string()) && channel.members.contains(&"U_BOB".to_string()));
    // Notices carry a block too (their key's block id): the card is the one naming the incident.
    let is_card = |m: &&warroom_sandbox::slack::MessageView| serde_json::to_string(&m.blocks).unwrap().contains("warroom.card.");
    let card = channel.messages.iter().find(is_card).expect("a Block Kit card").clone();
    assert!(channel.messages.iter().any(|m| m.text.contains("Dee could not be invited")), "the chat hears about Dee");
    let timeline = app.timeline(&inc).await;
    assert!(timeline.iter().any(|e| e.action == TimelineAction::ResponderUnlinked && e.detail.contains("Dee")));

    let interactions = format!("{}/im/slack/interactions", app.url);
    let ack = sandbox.click_button(&interactions, TEAM, "U_ADA", &channel_id, &card.ts, "warroom.ack", &format!("{}|ack", inc.id)).await.unwrap();
    assert_eq!(ack.status(), 200);
    app.drain().await;
    let inc = app.incident("e1").await;
    assert_eq!(inc.status, Status::Acknowledged);
    let card_now = sandbox.channel(&channel_id).unwrap().messages.into_iter().find(|m| m.ts == card.ts).unwrap();
    assert!(card_now.edited, "the card was updated in place");
    assert!(sandbox.channel(&channel_id).unwrap().topic.contains("acknowledged"), "the channel topic follows the card");
    assert!(!serde_json::to_string(&card_now.blocks).unwrap().contains("warroom.ack"), "no Acknowledge button any more");
    let change = app.timeline(&inc).await.into_iter().find(|e| e.action == TimelineAction::StatusChanged).unwrap();
    assert_eq!(change.actor, Actor::Member { id: "m_ada".into(), name: "Ada".into() });
    assert!(sandbox.ephemeral_replies().iter().any(|r| r["text"] == "Acknowledged by Ada"), "{:?}", sandbox.ephemeral_replies());

    sandbox.click_button(&interactions, TEAM, "U_BOB", &channel_id, &card.ts, "warroom.resolve", &format!("{}|resolve", inc.id)).await.unwrap();
    app.drain().await;
    let inc = app.incident("e1").await;
    assert_eq!(inc.status, Status::Resolved);
    assert_eq!(inc.war_room.state, WarRoomState::Dismissed);
    assert!(sandbox.channel(&channel_id).unwrap().is_archived);
    assert!(app.timeline(&inc).await.iter().any(|e| e.action == TimelineAction::TranscriptCaptured));
}

#[tokio::test]
async fn a_retried_slack_event_has_no_second_effect_and_a_forged_one_is_refused() {
    let (sandbox, app) = start().await;
    let integration = install(&app).await;
    app.store.enable_war_room(&app.tenant, &integration.id).await.unwrap();
    app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 0, &["Ada"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let channel = inc.war_room.chat_id.clone().unwrap().to_string();
    let events = format!("{}/im/slack/events", app.url);
    let first = sandbox.post_human_message(&events, TEAM, &channel, "U_ADA", "rolling back").await.unwrap();
    assert_eq!(first.status(), 200);
    let id = sandbox.last_event_id().unwrap();
    let retry = sandbox.send_event_retry(&events, &id).await.unwrap();
    assert_eq!(retry.status(), 200);
    let captured = app.store.list_chat_messages(&app.tenant, &inc.id).await.unwrap();
    assert_eq!(captured.iter().filter(|m| m.text == "rolling back").count(), 1);

    // An @mention: marked as seen with a reaction, answered in the channel.
    sandbox.post_human_message(&events, TEAM, &channel, "U_ADA", "<@UBOT> what changed?").await.unwrap();
    let said = sandbox.channel(&channel).unwrap().messages.into_iter().find(|m| m.text.contains("what changed")).unwrap();
    let mention =
        serde_json::json!({"type": "app_mention", "user": "U_ADA", "text": "<@UBOT> what changed?", "ts": said.ts, "channel": channel, "event_ts": said.ts});
    assert_eq!(sandbox.send_event(&events, TEAM, mention).await.unwrap().status(), 200);
    app.drain().await;
    let after = sandbox.channel(&channel).unwrap();
    let marked = after.messages.iter().find(|m| m.ts == said.ts).unwrap();
    assert!(marked.reactions.iter().any(|r| r.name == "eyes"), "{:?}", marked.reactions);
    assert!(after.messages.iter().any(|m| m.text.contains("no model configured")), "the mention was answered, saying how to configure a model");

    let forged = reqwest::Client::new()
        .post(&events)
        .header("x-slack-request-timestamp", app.clock.now().secs().to_string())
        .header("x-slack-signature", "v0=00")
        .body(r#"{"type":"event_callback","team_id":"T0ACME","event_id":"Ev9","event":{"type":"channel_archive","channel":"C1"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(app.incident("e1").await.war_room.state, WarRoomState::Open);
}
