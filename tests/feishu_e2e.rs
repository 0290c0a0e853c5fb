//! Feishu / Lark end to end against the Feishu sandbox, over real HTTP both ways:
//! credentials → permission check → enable → incident → chat with members and an
//! interactive card → a card click acknowledges (toast + updated card + timeline actor) →
//! disbanding from inside Feishu is recorded and the chat never recreated. Encrypted,
//! signed callbacks; a redelivered event has no second effect.

mod common;

use common::event;
use common::platform_app::PlatformApp;
use serde_json::json;
use std::time::Duration;
use warroom_core::*;
use warroom_platforms::{feishu, PlatformsConfig};
use warroom_sandbox::feishu::{FeishuSandbox, SandboxConfig};

const APP: &str = "cli_warroom_e2e";

async fn start(scopes: &[&str]) -> (FeishuSandbox, PlatformApp) {
    let sandbox = FeishuSandbox::new(SandboxConfig { enforce_rate_limits: true, token_ttl: Duration::from_secs(7200) });
    sandbox.add_app(APP, "app-secret", "verification-token", "encrypt-key", scopes);
    sandbox.add_user("ou_ada", "Ada", Some("ada@example.com"), None);
    sandbox.add_user("ou_bob", "Bob", Some("bob@example.com"), Some("+8613800000000"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = sandbox.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let app = PlatformApp::start(|public_url| PlatformsConfig::production(public_url).with_base_override(warroom_core::Platform::Feishu, base.clone())).await;
    (sandbox, app)
}

/// What connecting with the app credentials stores: sealed credentials, the bot's
/// open_id and the scopes Feishu reports.
async fn connect(app: &PlatformApp) -> Integration {
    let base = app.state.platforms.as_ref().unwrap().config.base_override(warroom_core::Platform::Feishu).unwrap().to_owned();
    app.connect_feishu(APP, "app-secret", "verification-token", "encrypt-key", &base).await
}

fn all_scopes() -> Vec<&'static str> {
    feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect()
}

#[tokio::test]
async fn enabling_war_rooms_without_every_permission_is_refused_with_the_list() {
    let mut scopes = all_scopes();
    let dropped = scopes.remove(0);
    let (_sandbox, app) = start(&scopes).await;
    let integration = connect(&app).await;
    let (code, body) = app.post(&format!("/api/v1/integrations/{}/war-room", integration.id), &app.admin_key, json!({})).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error"]["code"], "missing_permissions");
    assert!(body.to_string().contains(dropped), "{body}");
}

#[tokio::test]
async fn a_feishu_war_room_opens_is_acknowledged_from_its_card_and_is_not_recreated_after_a_disband() {
    let (sandbox, app) = start(&all_scopes()).await;
    let integration = connect(&app).await;
    let (code, body) = app.post(&format!("/api/v1/integrations/{}/war-room", integration.id), &app.admin_key, json!({})).await;
    assert!(code < 300, "enable: {code} {body}");

    app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let chat_id = inc.war_room.chat_id.clone().expect("a chat").to_string();
    let chat = sandbox.chat(&chat_id).unwrap();
    assert_eq!(chat.chat_type, "private");
    assert!(chat.members.contains(&"ou_ada".to_string()) && chat.members.contains(&"ou_bob".to_string()), "{:?}", chat.members);
    let card = chat.messages.iter().find(|m| m.msg_type == "interactive").expect("an interactive card").clone();

    let cards = format!("{}/im/{}/cards", app.url, integration.id);
    let reply = sandbox.click_card(&cards, APP, "ou_ada", &card.message_id, json!({"incident_id": inc.id, "action": "ack"})).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json.clone().unwrap();
    assert_eq!(answer["toast"]["content"], "Acknowledged by Ada");
    assert!(reply.applied, "the card in the answer replaced the message");
    assert!(reply.elapsed < Duration::from_secs(3));
    app.drain().await;
    let inc = app.incident("e1").await;
    assert_eq!(inc.status, Status::Acknowledged);
    let change = app.timeline(&inc).await.into_iter().find(|e| e.action == TimelineAction::StatusChanged).unwrap();
    assert_eq!(change.actor, Actor::Member { id: "m_ada".into(), name: "Ada".into() });

    let events = format!("{}/im/{}/events", app.url, integration.id);
    let said = sandbox.send_message_event(&events, APP, &chat_id, "ou_bob", "failover done", false).await.unwrap();
    assert_eq!(said.status(), 200);
    let again = sandbox.resend(&events, &sandbox.last_delivery().unwrap()).await.unwrap();
    assert_eq!(again.status(), 200);
    let captured = app.store.list_chat_messages(&app.tenant, &inc.id).await.unwrap();
    assert_eq!(captured.iter().filter(|m| m.text == "failover done").count(), 1, "a redelivery is not captured twice");

    let gone = sandbox.disband_from_inside(&events, APP, &chat_id, "ou_bob").await.unwrap();
    assert_eq!(gone.status(), 200);
    app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 30, &["Ada", "Bob"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::DisbandedExternally);
    assert_eq!(sandbox.chats().len(), 1, "never recreated");
    assert_eq!(app.timeline(&inc).await.iter().filter(|e| e.action == TimelineAction::DisbandedExternally).count(), 1);
}

#[tokio::test]
async fn a_mention_command_in_the_chat_works_and_callbacks_with_a_bad_signature_change_nothing() {
    let (sandbox, app) = start(&all_scopes()).await;
    let integration = connect(&app).await;
    app.store.enable_war_room(&app.tenant, &integration.id).await.unwrap();
    app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 0, &["Ada"])).await;
    app.drain().await;
    let chat_id = app.incident("e1").await.war_room.chat_id.clone().unwrap().to_string();
    let events = format!("{}/im/{}/events", app.url, integration.id);

    let forged = reqwest::Client::new()
        .post(&events)
        .header("x-lark-request-timestamp", app.clock.now().secs().to_string())
        .header("x-lark-request-nonce", "n")
        .header("x-lark-signature", "0".repeat(64))
        .body(json!({"encrypt": feishu::encrypt("encrypt-key", r#"{"schema":"2.0"}"#)}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    sandbox.send_message_event(&events, APP, &chat_id, "ou_ada", "ack", true).await.unwrap();
    assert_eq!(app.incident("e1").await.status, Status::Acknowledged, "@Warroom ack works where there are no buttons too");
}
