//! Slack: the real adapter against the Slack sandbox.

use crate::callbacks::*;
use crate::common::corpus::{self, Case, Rng};
use crate::common::event;
use crate::common::platform_app::{routers, PlatformApp};
use crate::*;
use serde_json::json;
use std::time::Duration;
use warroom_core::*;
use warroom_http::oauth_state::{self, Pending};
use warroom_platforms::{slack, PlatformsConfig, SlackApp};
use warroom_secrets::Secret;

pub(crate) const TEAM: &str = "T0ACME";
pub(crate) const SLACK_SECRET: &str = "signing-secret";

pub(crate) fn unknown_events(rng: &mut Rng) -> String {
    format!("/im/{}/events", IntegrationId::new(format!("int_{}", rng.alnum(20))))
}

pub(crate) fn unknown_cards(rng: &mut Rng) -> String {
    format!("/im/{}/cards", IntegrationId::new(format!("int_{}", rng.alnum(20))))
}

#[tokio::test]
pub(crate) async fn slack_callbacks_refuse_the_bad_input_corpus_and_change_nothing() {
    use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};
    let sandbox = SlackSandbox::new(SandboxConfig {
        client_id: "1234.5678".into(),
        client_secret: "client-secret".into(),
        signing_secret: SLACK_SECRET.into(),
        enforce_rate_limits: false,
    });
    let base = sandbox.serve_local().await.unwrap();
    sandbox.add_workspace(TEAM, "Acme");
    sandbox.add_user(TEAM, "U_ADA", "Ada", "ada@example.com");
    sandbox.add_user(TEAM, "U_BOB", "Bob", "bob@example.com");
    let app = PlatformApp::start(|public_url| PlatformsConfig {
        public_url: public_url.to_string(),
        slack_api_base: format!("{base}/api"),
        slack_oauth_base: base.clone(),
        slack_app: Some(SlackApp { client_id: "1234.5678".into(), client_secret: Secret::new("client-secret"), signing_secret: Secret::new(SLACK_SECRET) }),
        base_overrides: Default::default(),
        chat_links: None,
    })
    .await;

    // Install through the sandbox's OAuth, as in slack_e2e.
    let pending = Pending::SlackInstall { tenant_id: app.tenant.clone(), integration_id: None };
    let state = oauth_state::begin(&app.state, &pending).await.unwrap();
    let scopes: Vec<&str> = slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    let consent = slack::authorize_url(&base, "1234.5678", &scopes, &format!("{}/oauth/slack/callback", app.url), &state);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(3)).build().unwrap();
    assert_eq!(browser.get(consent).send().await.unwrap().status(), 200);
    let integration = app.store.find_integration_by_external(Platform::Slack, TEAM).await.unwrap().expect("installed");
    app.store.enable_war_room(&app.tenant, &integration.id).await.unwrap();
    app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let channel = inc.war_room.chat_id.clone().expect("a channel").to_string();
    let card = sandbox.channel(&channel).unwrap().messages.into_iter().find(|m| m.blocks.is_some()).expect("a card");

    // One good event and one good click, applied, so replays have something to replay.
    let events_url = format!("{}/im/slack/events", app.url);
    assert_eq!(sandbox.post_human_message(&events_url, TEAM, &channel, "U_ADA", "rolling back").await.unwrap().status(), 200);
    let envelope = sandbox.sent_events().last().cloned().unwrap();
    let click = json!({
        "type": "block_actions",
        "user": {"id": "U_ADA", "username": "Ada", "name": "Ada", "team_id": TEAM},
        "api_app_id": sandbox.app_id(), "token": sandbox.verification_token(),
        "container": {"type": "message", "message_ts": card.ts, "channel_id": channel, "is_ephemeral": false},
        "trigger_id": "1111.2222.abcdef", "team": {"id": TEAM, "domain": "acme"},
        "channel": {"id": channel, "name": "incident"}, "state": {"values": {}},
        "response_url": format!("{base}/response/not-issued"),
        "actions": [{"action_id": "warroom.ack", "block_id": "b1", "value": format!("{}|ack", inc.id), "type": "button", "action_ts": "1.2"}],
    });
    let router = routers(&app.state);
    let now = app.clock.now().secs();
    let clicks = CallbackSurface {
        name: "slack/interactions",
        path: "/im/slack/interactions".into(),
        unknown_path: unknown_cards,
        signer: Signer::Slack { secret: SLACK_SECRET.into(), form: true },
        good: click,
        limit: CARDS_LIMIT,
        now,
    };
    let body = clicks.body_of(&clicks.good);
    let good = Case {
        surface: clicks.name,
        kind: "good",
        path: clicks.path.clone(),
        headers: clicks.headers(&body),
        body,
        replay: true,
        note: "the good click".into(),
    };
    corpus::run(&router, &[good]).await.expect("the good click");
    app.drain().await;
    assert_eq!(app.incident("e1").await.status, Status::Acknowledged, "the good click applied");
    let events = CallbackSurface {
        name: "slack/events",
        path: "/im/slack/events".into(),
        unknown_path: unknown_events,
        signer: Signer::Slack { secret: SLACK_SECRET.into(), form: false },
        good: envelope,
        limit: EVENTS_LIMIT,
        now: app.clock.now().secs(),
    };
    let clicks = CallbackSurface { now: app.clock.now().secs(), ..clicks };
    // Let the click's ephemeral reply (a background call) land before the snapshot.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut rng = Rng::new(0x5eed_0002);
    let corpora = [(events.name, events.cases(&mut rng)), (clicks.name, clicks.cases(&mut rng))];
    let snapshot = || async {
        (app.embedded.dump().await.unwrap(), format!("{:?}", sandbox.channels(TEAM)), format!("{:?}", sandbox.ephemeral_replies()), sandbox.calls().len())
    };
    let before = snapshot().await;
    for (name, cases) in &corpora {
        fail_with(name, corpus::run(&router, cases).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = snapshot().await;
    assert!(app.queue.is_empty(), "the corpus queued work");
    assert!(before.0 == after.0, "the store changed:\n{}", diff(&before.0, &after.0));
    assert_eq!(before.1, after.1, "the sandbox's channels changed");
    assert_eq!(before.2, after.2, "ephemeral replies were sent");
    assert_eq!(before.3, after.3, "the sandbox was called");
}
