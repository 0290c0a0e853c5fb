//! The Feishu sandbox behind the fault layer, and how a room looks in it. Feishu deletes a
//! disbanded chat's messages, so cards and notices are counted from what the sandbox
//! answered (the fault layer's log of every call that reached it, lost answers included).

use super::common::faults::{Rig, HANG};
use super::plan::DOOMED;
use super::{run, RoomView, Sandbox};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use warroom_core::*;
use warroom_platforms::{feishu, PlatformsConfig, StoredFeishu};
use warroom_sandbox::feishu::{FeishuSandbox, SandboxConfig};
use warroom_testkit::faults::{Dialect, Exchange, FaultConfig, Faults};

const APP: &str = "cli_faults";
const SEND: &str = "/open-apis/im/v1/messages?receive_id_type=chat_id";

struct Feishu {
    sandbox: FeishuSandbox,
    faults: Faults,
}

fn answer(e: &Exchange) -> Option<Value> {
    serde_json::from_str::<Value>(&e.response).ok().filter(|v| v["code"] == 0)
}

/// "**Status:** acknowledged · …" in the card's first element.
fn status_of(card: &Value) -> Option<Status> {
    let line = card["elements"][0]["text"]["content"].as_str()?;
    let word = line.strip_prefix("**Status:** ")?.split(' ').next()?;
    [Status::Triggered, Status::Acknowledged, Status::Resolved, Status::Closed].into_iter().find(|s| s.as_str() == word)
}

impl Feishu {
    /// Messages the sandbox sent to `chat` (id → request body), in the order they were made.
    fn sent(&self, chat: &str, msg_type: &str) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = Vec::new();
        for e in self.faults.exchanges().iter().filter(|e| e.method == "POST" && e.uri == SEND) {
            let request: Value = serde_json::from_str(&e.request).unwrap_or_default();
            let Some(id) = answer(e).and_then(|a| a["data"]["message_id"].as_str().map(str::to_owned)) else { continue };
            if request["receive_id"] == chat && request["msg_type"] == msg_type && !out.iter().any(|(seen, _)| seen == &id) {
                out.push((id, request));
            }
        }
        out
    }

    /// The card's content as last set through the API (sent, then patched).
    fn last_content(&self, message_id: &str, sent: &Value) -> Option<Value> {
        let patch = format!("/open-apis/im/v1/messages/{message_id}");
        let patched = self.faults.exchanges().into_iter().rev().find(|e| e.method == "PATCH" && e.uri == patch && answer(e).is_some());
        let body: Value = match patched {
            Some(e) => serde_json::from_str(&e.request).ok()?,
            None => sent.clone(),
        };
        serde_json::from_str(body["content"].as_str()?).ok()
    }
}

#[async_trait::async_trait]
impl Sandbox for Feishu {
    fn name(&self) -> &'static str {
        "feishu"
    }

    fn user(&self, name: &str) -> String {
        format!("ou_{}", name.to_lowercase())
    }

    fn chats(&self) -> Vec<String> {
        self.sandbox.chats().into_iter().map(|c| c.chat_id).collect()
    }

    fn room(&self, chat_id: &str) -> RoomView {
        let chat = self.sandbox.chat(chat_id).expect("the chat exists");
        let cards = self.sent(chat_id, "interactive");
        let card_status = cards.last().and_then(|(id, sent)| {
            // A live chat shows its card as it is (click answers included); a disbanded one
            // only as the API last set it.
            match chat.messages.iter().find(|m| &m.message_id == id) {
                Some(m) => status_of(&m.content),
                None => status_of(&self.last_content(id, sent)?),
            }
        });
        let notices = self.sent(chat_id, "text").iter().filter(|(_, r)| r["content"].as_str().is_some_and(|c| c.contains("Dee could not be invited"))).count();
        RoomView { closed: chat.disbanded, members: chat.members.iter().cloned().collect::<BTreeSet<_>>(), cards: cards.len(), card_status, notices }
    }

    async fn click(&self, rig: &Rig, incident: &Incident, who: &str, to: Status) -> bool {
        let Some(message) = &incident.war_room.card_message_id else { return false };
        let integration = incident.war_room.integration_id.as_ref().expect("a room has its integration");
        let action = if to == Status::Acknowledged { "ack" } else { "resolve" };
        let url = format!("{}/im/{integration}/cards", rig.url);
        let reply = self.sandbox.click_card(&url, APP, &self.user(who), message.as_str(), json!({"incident_id": incident.id, "action": action})).await.unwrap();
        assert_eq!(reply.status, 200, "a click is answered at once, whatever the faults: {}", reply.body);
        true
    }

    fn lost_creates_and_posts(&self, faults: &Faults) -> (usize, usize) {
        let lost = faults.exchanges().into_iter().filter(|e| e.fault.is_some_and(|f| f.took_effect()) && answer(e).is_some());
        let (mut creates, mut posts) = (0, 0);
        for e in lost {
            creates += usize::from(e.method == "POST" && e.uri.starts_with("/open-apis/im/v1/chats?"));
            posts += usize::from(e.method == "POST" && e.uri == SEND && e.request.contains("\"interactive\""));
        }
        (creates, posts)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_feishu_war_rooms_reach_their_desired_state_through_a_fifth_of_calls_failing() {
    // The fault layer stands in for Feishu's limits (see the Slack test).
    let sandbox = FeishuSandbox::new(SandboxConfig { enforce_rate_limits: false, token_ttl: Duration::from_secs(7200) });
    let scopes: Vec<&str> = feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    sandbox.add_app(APP, "app-secret", "verification-token", "encrypt-key", &scopes);
    sandbox.add_user("ou_ada", "Ada", Some("ada@example.com"), None);
    sandbox.add_user("ou_bob", "Bob", Some("bob@example.com"), None);
    let seed = std::env::var("WARROOM_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20250701);
    let faults = Faults::new(FaultConfig { seed, rate: 0.2, hang: HANG, dialect: Dialect::Feishu, doomed: Some(DOOMED.into()) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = faults.wrap(sandbox.router());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let rig = Rig::start(PlatformsConfig::production("http://replaced.invalid").with_base_override(warroom_core::Platform::Feishu, base.clone())).await;
    let credentials = feishu::FeishuCredentials {
        app_id: APP.into(),
        app_secret: "app-secret".into(),
        verification_token: "verification-token".into(),
        encrypt_key: "encrypt-key".into(),
        base_url: base,
    };
    let stored = StoredFeishu { credentials, bot_open_id: sandbox.bot_open_id(APP) };
    rig.integrate(Platform::Feishu, APP, serde_json::to_value(&stored).unwrap(), "ou_ada", "ou_bob").await;
    let feishu = Feishu { sandbox, faults: faults.clone() };
    println!("{} (seed {seed})", run(&rig, &feishu, &faults).await);
}
