//! IM events through `/im/{integration_id}/events`: verified, de-duplicated by event id,
//! and applied (transcript, text commands, chats disbanded from inside, app revoked).

mod common;

use axum::http::{Method, StatusCode};
use common::{event, App};
use serde_json::{json, Value};
use warroom_core::*;
use warroom_testkit::fake_callbacks;

async fn send(app: &App, body: Value) -> (StatusCode, Value) {
    let bytes = body.to_string().into_bytes();
    let headers = fake_callbacks::signed_headers(&bytes, app.clock.now());
    app.request(Method::POST, &format!("/im/{}/events", app.integration.id), &headers, bytes).await
}

async fn war_room(app: &App) -> Incident {
    app.hook(event("e1", "triggered", 0, &["Ada"])).await;
    app.drain().await;
    app.incident("e1").await
}

#[tokio::test]
async fn a_url_handshake_is_answered_with_its_challenge() {
    let app = App::new().await;
    let (code, body) = send(&app, json!({"type": "challenge", "challenge": "abc123"})).await;
    assert_eq!((code, body["challenge"].as_str()), (StatusCode::OK, Some("abc123")));
}

#[tokio::test]
async fn war_room_messages_are_captured_once_even_when_redelivered() {
    let app = App::new().await;
    let inc = war_room(&app).await;
    let chat = inc.war_room.chat_id.clone().unwrap();
    let msg = json!({"type": "message", "event_id": "ev-1", "chat": chat, "id": "m1", "user": "U_ADA", "text": "db failover started"});
    for _ in 0..3 {
        assert_eq!(send(&app, msg.clone()).await.0, StatusCode::OK);
    }
    let other = json!({"type": "message", "event_id": "ev-2", "chat": "C_NOT_A_ROOM", "id": "m2", "user": "U_ADA", "text": "lunch?"});
    assert_eq!(send(&app, other).await.0, StatusCode::OK);
    let messages = app.store.list_chat_messages(&app.tenant, &inc.id).await.unwrap();
    assert_eq!(messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["db failover started"]);
}

#[tokio::test]
async fn a_text_command_in_the_room_acknowledges_as_the_linked_member() {
    let app = App::new().await;
    let inc = war_room(&app).await;
    let chat = inc.war_room.chat_id.clone().unwrap();
    let cmd = json!({"type": "message", "event_id": "ev-3", "chat": chat, "id": "m3", "user": "U_ADA", "text": "ack", "mention": true});
    assert_eq!(send(&app, cmd.clone()).await.0, StatusCode::OK);
    assert_eq!(send(&app, cmd).await.0, StatusCode::OK, "a redelivery is acknowledged and ignored");
    let inc = app.incident("e1").await;
    assert_eq!(inc.status, Status::Acknowledged);
    let changes: Vec<_> = app.timeline(&inc).await.into_iter().filter(|e| e.action == TimelineAction::StatusChanged).collect();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].actor, Actor::Member { id: "m_ada".into(), name: "Ada".into() });
    let said = app.fake.chat(chat.as_str()).unwrap().messages;
    assert!(said.iter().any(|m| matches!(&m.kind, warroom_testkit::fake_platform::FakeMessageKind::Text(t) if t == "Acknowledged by Ada")));
}

#[tokio::test]
async fn a_chat_disbanded_from_inside_is_recorded_and_the_room_is_not_recreated() {
    let app = App::new().await;
    let inc = war_room(&app).await;
    let chat = inc.war_room.chat_id.clone().unwrap();
    app.fake.disband_from_inside(chat.as_str());
    assert_eq!(send(&app, json!({"type": "chat_gone", "event_id": "ev-4", "chat": chat})).await.0, StatusCode::OK);
    app.hook(event("e1", "triggered", 30, &["Ada", "Bob"])).await;
    app.drain().await;
    assert_eq!(app.incident("e1").await.war_room.state, WarRoomState::DisbandedExternally);
    assert_eq!(app.fake.chats().len(), 1);
}

#[tokio::test]
async fn an_uninstalled_app_marks_the_integration_revoked() {
    let app = App::new().await;
    assert_eq!(send(&app, json!({"type": "revoked", "event_id": "ev-5"})).await.0, StatusCode::OK);
    let integration = app.store.get_integration(&app.integration.id).await.unwrap().unwrap();
    assert_eq!(integration.status, IntegrationStatus::Revoked);
}

#[tokio::test]
async fn forged_or_unknown_event_callbacks_are_refused_and_change_nothing() {
    let app = App::new().await;
    let inc = war_room(&app).await;
    let body = json!({"type": "chat_gone", "event_id": "ev-6", "chat": inc.war_room.chat_id}).to_string().into_bytes();
    let forged = [(fake_callbacks::TIMESTAMP_HEADER, app.clock.now().secs().to_string()), (fake_callbacks::SIGNATURE_HEADER, "ab".repeat(32))];
    let (code, err) = app.request(Method::POST, &format!("/im/{}/events", app.integration.id), &forged, body.clone()).await;
    assert_eq!((code, err["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_signature")));
    let (code, _) = app.request(Method::POST, "/im/int_unknown/events", &fake_callbacks::signed_headers(&body, app.clock.now()), body).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(app.incident("e1").await.war_room.state, WarRoomState::Open);
}
