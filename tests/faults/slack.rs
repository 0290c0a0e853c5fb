//! The Slack sandbox behind the fault layer, and how a room looks in it.

use super::common::faults::{Rig, HANG};
use super::plan::DOOMED;
use super::{run, RoomView, Sandbox};
use std::collections::BTreeSet;
use warroom_core::*;
use warroom_platforms::{slack, PlatformsConfig, SlackApp};
use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};
use warroom_secrets::Secret;
use warroom_testkit::faults::{Dialect, FaultConfig, Faults};

const TEAM: &str = "T0FAULT";
const SIGNING: &str = "signing-secret";

struct Slack {
    sandbox: SlackSandbox,
    bot: String,
}

/// "*Status*\nAcknowledged" in the card's facts.
fn card_status(blocks: &serde_json::Value) -> Option<Status> {
    let facts = blocks.as_array()?.iter().find_map(|b| b.get("fields"))?.as_array()?.clone();
    let text = facts.iter().find_map(|f| f["text"].as_str()?.strip_prefix("*Status*\n").map(str::to_lowercase))?;
    [Status::Triggered, Status::Acknowledged, Status::Resolved, Status::Closed].into_iter().find(|s| s.as_str() == text)
}

#[async_trait::async_trait]
impl Sandbox for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn user(&self, name: &str) -> String {
        format!("U_{}", name.to_uppercase())
    }

    fn chats(&self) -> Vec<String> {
        self.sandbox.channels(TEAM).into_iter().map(|c| c.id).collect()
    }

    fn room(&self, chat_id: &str) -> RoomView {
        let channel = self.sandbox.channel(chat_id).expect("the channel exists");
        // Notices carry blocks too (their key's block id): a card is what names its incident.
        let is_card = |blocks: &serde_json::Value| {
            blocks.as_array().is_some_and(|b| b.iter().any(|b| b["block_id"].as_str().is_some_and(|id| id.starts_with("warroom.card."))))
        };
        let cards: Vec<_> = channel.messages.iter().filter(|m| m.bot_id.is_some() && m.blocks.as_ref().is_some_and(is_card)).collect();
        RoomView {
            closed: channel.is_archived,
            members: channel.members.iter().filter(|m| **m != self.bot).cloned().collect::<BTreeSet<_>>(),
            cards: cards.len(),
            card_status: cards.last().and_then(|m| card_status(m.blocks.as_ref()?)),
            notices: channel.messages.iter().filter(|m| m.bot_id.is_some() && m.text.contains("Dee could not be invited")).count(),
        }
    }

    async fn click(&self, rig: &Rig, incident: &Incident, who: &str, to: Status) -> bool {
        let (Some(channel), Some(ts)) = (&incident.war_room.chat_id, &incident.war_room.card_message_id) else { return false };
        let action = if to == Status::Acknowledged { "ack" } else { "resolve" };
        let url = format!("{}/im/slack/interactions", rig.url);
        let user = self.user(who);
        let sent = self
            .sandbox
            .click_button(&url, TEAM, &user, channel.as_str(), ts.as_str(), &format!("warroom.{action}"), &format!("{}|{action}", incident.id))
            .await;
        let status = sent.expect("the card has the button").status();
        assert_eq!(status, 200, "a click is answered at once, whatever the faults");
        true
    }

    fn lost_creates_and_posts(&self, faults: &Faults) -> (usize, usize) {
        let lost = faults.exchanges().into_iter().filter(|e| e.fault.is_some_and(|f| f.took_effect()) && e.status == 200);
        let (mut creates, mut posts) = (0, 0);
        for e in lost {
            creates += usize::from(e.uri.ends_with("/conversations.create") && e.response.contains("\"ok\":true"));
            posts += usize::from(e.uri.ends_with("/chat.postMessage") && e.request.contains("\"blocks\"") && e.response.contains("\"ok\":true"));
        }
        (creates, posts)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_slack_war_rooms_reach_their_desired_state_through_a_fifth_of_calls_failing() {
    let sandbox = SlackSandbox::new(SandboxConfig {
        client_id: "1234.5678".into(),
        client_secret: "client-secret".into(),
        signing_secret: SIGNING.into(),
        // The fault layer stands in for Slack's 429s; the sandbox's own windows run on the
        // wall clock, which the rig's clock skips ahead of while jobs wait.
        enforce_rate_limits: false,
    });
    let seed = std::env::var("WARROOM_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20250701);
    let faults = Faults::new(FaultConfig { seed, rate: 0.2, hang: HANG, dialect: Dialect::Slack, doomed: Some(DOOMED.into()) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    sandbox.set_base_url(&base);
    let router = faults.wrap(sandbox.router());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    sandbox.add_workspace(TEAM, "Faults");
    sandbox.add_user(TEAM, "U_ADA", "Ada", "ada@example.com");
    sandbox.add_user(TEAM, "U_BOB", "Bob", "bob@example.com");
    let scopes: Vec<&str> = slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    let token = sandbox.issue_bot_token(TEAM, &scopes);
    let rig = Rig::start(PlatformsConfig {
        slack_api_base: format!("{base}/api"),
        slack_oauth_base: base.clone(),
        slack_app: Some(SlackApp { client_id: "1234.5678".into(), client_secret: Secret::new("client-secret"), signing_secret: Secret::new(SIGNING) }),
        ..PlatformsConfig::production("http://replaced.invalid")
    })
    .await;
    let credentials = slack::SlackCredentials { bot_token: token, team_id: TEAM.into(), bot_user_id: None, app_id: None, signing_secret: None };
    rig.integrate(Platform::Slack, TEAM, serde_json::to_value(&credentials).unwrap(), "U_ADA", "U_BOB").await;
    let slack = Slack { bot: sandbox.bot_user_id(TEAM).unwrap(), sandbox };
    println!("{} (seed {seed})", run(&rig, &slack, &faults).await);
}
