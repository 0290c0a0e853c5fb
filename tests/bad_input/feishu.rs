//! Feishu: the real adapter against the Feishu sandbox.

use crate::callbacks::*;
use crate::common::corpus::{self, Rng};
use crate::common::event;
use crate::common::platform_app::{routers, PlatformApp};
use crate::slack::{unknown_cards, unknown_events};
use crate::*;
use serde_json::json;
use std::time::Duration;
use warroom_core::*;
use warroom_platforms::{feishu, PlatformsConfig};

pub(crate) const APP_ID: &str = "cli_warroom_bad_input";
pub(crate) const ENCRYPT_KEY: &str = "encrypt-key";

#[tokio::test]
pub(crate) async fn feishu_callbacks_refuse_the_bad_input_corpus_and_change_nothing() {
    use warroom_sandbox::feishu::{FeishuSandbox, SandboxConfig};
    let sandbox = FeishuSandbox::new(SandboxConfig { enforce_rate_limits: false, token_ttl: Duration::from_secs(7200) });
    let scopes: Vec<&str> = feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    sandbox.add_app(APP_ID, "app-secret", "verification-token", ENCRYPT_KEY, &scopes);
    sandbox.add_user("ou_ada", "Ada", Some("ada@example.com"), None);
    sandbox.add_user("ou_bob", "Bob", Some("bob@example.com"), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sandbox_router = sandbox.router();
    tokio::spawn(async move { axum::serve(listener, sandbox_router).await.unwrap() });
    let app = PlatformApp::start(|public_url| PlatformsConfig::production(public_url).with_base_override(warroom_core::Platform::Feishu, base.clone())).await;

    let integration = app.connect_feishu(APP_ID, "app-secret", "verification-token", ENCRYPT_KEY, &base).await;
    app.store.enable_war_room(&app.tenant, &integration.id).await.unwrap();
    app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let chat_id = inc.war_room.chat_id.clone().expect("a chat").to_string();
    let card = sandbox.chat(&chat_id).unwrap().messages.iter().find(|m| m.msg_type == "interactive").expect("a card").clone();

    // One good event and one good click, applied, so replays have something to replay.
    let events_url = format!("{}/im/{}/events", app.url, integration.id);
    let cards_url = format!("{}/im/{}/cards", app.url, integration.id);
    assert_eq!(sandbox.send_message_event(&events_url, APP_ID, &chat_id, "ou_bob", "failover done", false).await.unwrap().status(), 200);
    let message = sandbox.last_delivery().unwrap().plaintext;
    let reply = sandbox.click_card(&cards_url, APP_ID, "ou_ada", &card.message_id, json!({"incident_id": inc.id, "action": "ack"})).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let click = sandbox.last_delivery().unwrap().plaintext;
    app.drain().await;
    assert_eq!(app.incident("e1").await.status, Status::Acknowledged, "the good click applied");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let now = app.clock.now().secs();
    let signer = Signer::Feishu { key: ENCRYPT_KEY.into() };
    let events = CallbackSurface {
        name: "feishu/events",
        path: format!("/im/{}/events", integration.id),
        unknown_path: unknown_events,
        signer: signer.clone(),
        good: message,
        limit: EVENTS_LIMIT,
        now,
    };
    let cards = CallbackSurface {
        name: "feishu/cards",
        path: format!("/im/{}/cards", integration.id),
        unknown_path: unknown_cards,
        signer,
        good: click,
        limit: CARDS_LIMIT,
        now,
    };
    let mut rng = Rng::new(0x5eed_0003);
    let corpora = [(events.name, events.cases(&mut rng)), (cards.name, cards.cases(&mut rng))];
    let router = routers(&app.state);
    let snapshot = || async { (app.embedded.dump().await.unwrap(), sandbox.chats(), sandbox.calls().len()) };
    let before = snapshot().await;
    for (name, cases) in &corpora {
        fail_with(name, corpus::run(&router, cases).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = snapshot().await;
    assert!(app.queue.is_empty(), "the corpus queued work");
    assert!(before.0 == after.0, "the store changed:\n{}", diff(&before.0, &after.0));
    assert!(before.1 == after.1, "the sandbox's chats changed");
    assert_eq!(before.2, after.2, "the sandbox was called");
}
