//! End to end through the routers: a webhook in, a chat with members and a card out, a
//! signed button click back, the source told (and the signature checked), the timeline
//! complete. Fake IM platform, embedded store, in-process queue.

mod common;

use axum::http::{Method, StatusCode};
use common::{event, App, CALLBACK_SECRET};
use std::time::Duration;
use warroom_core::TimelineAction as A;
use warroom_core::*;
use warroom_testkit::fake_callbacks;

fn count(entries: &[TimelineEntry], action: A) -> usize {
    entries.iter().filter(|e| e.action == action).count()
}

#[tokio::test]
async fn a_webhook_opens_a_war_room_with_the_responders_and_a_status_card() {
    let app = App::new().await;
    let (code, body) = app.hook(event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["results"][0]["outcome"], "created");
    app.drain().await;
    let inc = app.incident("e1").await;
    let chat = app.fake.chat(inc.war_room.chat_id.as_ref().unwrap().as_str()).expect("chat");
    assert_eq!(chat.members.iter().map(|m| m.as_str()).collect::<Vec<_>>(), ["U_ADA", "U_BOB"]);
    assert_eq!(app.fake.card_of(chat.id.as_str()).unwrap().status, Status::Triggered);
    let timeline = app.timeline(&inc).await;
    assert_eq!(count(&timeline, A::WarRoomCreated), 1);
    assert_eq!(count(&timeline, A::MemberInvited), 2);
    assert_eq!(count(&timeline, A::CardPosted), 1);
}

#[tokio::test]
async fn a_changed_responder_list_invites_the_new_responder() {
    let app = App::new().await;
    app.hook(event("e1", "triggered", 0, &["Ada"])).await;
    app.drain().await;
    app.hook(event("e1", "triggered", 30, &["Ada", "Cy"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let chat = app.fake.chat(inc.war_room.chat_id.as_ref().unwrap().as_str()).unwrap();
    assert!(chat.members.contains(&ImUserId::from("U_CY")));
    assert_eq!(count(&app.timeline(&inc).await, A::MemberInvited), 2);
}

#[tokio::test]
async fn a_card_click_changes_the_status_at_the_source_with_a_signed_callback_and_in_the_timeline() {
    let app = App::new().await;
    app.hook(event("e1", "triggered", 0, &["Ada"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let (code, reply) = app.click("U_ADA", &inc.id, CardAction::Acknowledge, "d-1").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(reply["message"], "Acknowledged by Ada");
    assert_eq!(reply["card"]["status"], "acknowledged");
    app.drain().await;

    let sent = app.receiver.all();
    assert_eq!(sent.len(), 1, "one status callback");
    let callback = &sent[0];
    let ts: i64 = callback.header("x-warroom-timestamp").unwrap().parse().unwrap();
    let signature = callback.header("x-warroom-signature").unwrap();
    assert!(warroom_sources::verify(CALLBACK_SECRET.as_bytes(), ts, &callback.body, signature, app.clock.now().secs(), Duration::from_secs(300)));
    assert!(!warroom_sources::verify(b"wrong secret", ts, &callback.body, signature, app.clock.now().secs(), Duration::from_secs(300)));
    assert_eq!(callback.json()["status"], "acknowledged");
    assert_eq!(callback.json()["source_id"], "e1");

    let inc = app.incident("e1").await;
    assert_eq!(inc.status, Status::Acknowledged);
    assert_eq!(app.fake.card_of(inc.war_room.chat_id.as_ref().unwrap().as_str()).unwrap().status, Status::Acknowledged);
    let timeline = app.timeline(&inc).await;
    let change = timeline.iter().find(|e| e.action == A::StatusChanged).unwrap();
    assert_eq!(change.actor, Actor::Member { id: "m_ada".into(), name: "Ada".into() });
    assert_eq!(count(&timeline, A::SyncedToSource), 1);
}

#[tokio::test]
async fn a_forged_stale_or_replayed_click_changes_nothing() {
    let app = App::new().await;
    app.hook(event("e1", "triggered", 0, &["Ada"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let path = format!("/im/{}/cards", app.integration.id);
    let body = fake_callbacks::click_body("U_ADA", &inc.id, CardAction::Resolve, "d-9");
    let now = app.clock.now().secs();
    let forged = [(fake_callbacks::TIMESTAMP_HEADER, now.to_string()), (fake_callbacks::SIGNATURE_HEADER, "00".repeat(32))];
    let (code, err) = app.request(Method::POST, &path, &forged, body.clone()).await;
    assert_eq!((code, err["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_signature")));
    let old = now - 3600;
    let stale = [(fake_callbacks::TIMESTAMP_HEADER, old.to_string()), (fake_callbacks::SIGNATURE_HEADER, fake_callbacks::signature(old, &body))];
    let (code, err) = app.request(Method::POST, &path, &stale, body.clone()).await;
    assert_eq!((code, err["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("stale_request")));
    assert_eq!(app.incident("e1").await.status, Status::Triggered);

    app.click("U_ADA", &inc.id, CardAction::Snooze { minutes: 30 }, "d-2").await;
    let first = app.incident("e1").await.snoozed_until;
    app.clock.advance(Duration::from_secs(60));
    let (code, reply) = app.click("U_ADA", &inc.id, CardAction::Snooze { minutes: 30 }, "d-2").await;
    assert_eq!((code, reply["message"].as_str()), (StatusCode::OK, Some("Already handled")));
    assert_eq!(app.incident("e1").await.snoozed_until, first, "the replay did not extend the snooze");
}

#[tokio::test]
async fn an_unlinked_clicker_is_told_how_to_link() {
    let app = App::new().await;
    app.hook(event("e1", "triggered", 0, &["Ada"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let (code, reply) = app.click("U_NOBODY", &inc.id, CardAction::Acknowledge, "d-3").await;
    assert_eq!(code, StatusCode::OK);
    assert!(reply["message"].as_str().unwrap().contains(&format!("/im/{}/web", app.integration.id)), "{reply}");
    assert_eq!(app.incident("e1").await.status, Status::Triggered);
}

#[tokio::test]
async fn closing_the_incident_dismisses_the_war_room() {
    let app = App::new().await;
    let mut tenant = app.store.get_tenant(&app.tenant).await.unwrap().unwrap();
    tenant.settings.auto_dismiss_after_minutes = Some(0);
    app.store.put_tenant(&tenant).await.unwrap();
    app.hook(event("e1", "triggered", 0, &["Ada"])).await;
    app.drain().await;
    app.hook(event("e1", "closed", 60, &["Ada"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    assert_eq!(inc.status, Status::Closed);
    assert_eq!(inc.war_room.state, WarRoomState::Dismissed);
    assert!(app.fake.chat(inc.war_room.chat_id.as_ref().unwrap().as_str()).unwrap().disbanded);
    assert_eq!(count(&app.timeline(&inc).await, A::WarRoomDismissed), 1);
}

#[tokio::test]
async fn duplicate_and_reordered_webhooks_make_one_chat_and_never_regress() {
    let app = App::new().await;
    let deliveries = [
        event("e1", "acknowledged", 10, &["Ada"]),
        event("e1", "triggered", 0, &["Ada"]),
        event("e1", "acknowledged", 10, &["Ada"]),
        event("e1", "triggered", 0, &["Ada"]),
    ];
    for d in deliveries {
        let (code, _) = app.hook(d).await;
        assert_eq!(code, StatusCode::ACCEPTED);
    }
    app.drain().await;
    assert_eq!(app.fake.chats().len(), 1);
    let inc = app.incident("e1").await;
    assert_eq!(inc.status, Status::Acknowledged);
    assert_eq!(count(&app.timeline(&inc).await, A::WarRoomCreated), 1);
}

#[tokio::test]
async fn one_failing_invite_leaves_the_rest_invited_and_the_failure_on_the_record() {
    let app = App::new().await;
    app.fake.fail_invite("U_BOB", ImError::Rejected { code: "cant_invite".into(), message: "restricted account".into() });
    app.hook(event("e1", "triggered", 0, &["Ada", "Bob", "Cy"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let chat = app.fake.chat(inc.war_room.chat_id.as_ref().unwrap().as_str()).unwrap();
    assert_eq!(chat.members.iter().map(|m| m.as_str()).collect::<Vec<_>>(), ["U_ADA", "U_CY"]);
    let failed: Vec<_> = app.timeline(&inc).await.into_iter().filter(|e| e.action == A::InviteFailed).collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].detail.contains("cant_invite"));
}

#[tokio::test]
async fn bad_intake_requests_are_refused_with_a_clear_error_and_store_nothing() {
    let app = App::new().await;
    let body = event("e1", "triggered", 0, &["Ada"]).to_string().into_bytes();
    let (code, err) = app.request(Method::POST, "/hooks/generic", &[], body.clone()).await;
    assert_eq!((code, err["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let wrong = [("authorization", "Bearer wr_not_a_key".to_string())];
    assert_eq!(app.request(Method::POST, "/hooks/generic", &wrong, body.clone()).await.0, StatusCode::UNAUTHORIZED);
    let auth = [("authorization", format!("Bearer {}", app.intake_key))];
    let (code, err) = app.request(Method::POST, "/hooks/nagios", &auth, body).await;
    assert_eq!((code, err["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let mut bad = event("e1", "triggered", 0, &["Ada"]);
    bad["responders"][0]["email"] = "not-an-email".into();
    let (code, err) = app.hook(bad).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"].as_str().unwrap().contains("responders[0].email"), "{err}");
    let (code, _) = app.request(Method::POST, "/hooks/generic", &auth, b"{not json".to_vec()).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(app.store.list_incidents(&app.tenant, None, 10).await.unwrap().incidents.is_empty());
}

/// A callback URL at the instance metadata address is refused by the outbound policy (only
/// loopback is allowed in these tests), said in the timeline with the reason, not retried.
#[tokio::test]
async fn a_status_callback_to_a_refused_address_is_on_the_timeline_with_the_reason() {
    let app = App::new().await;
    if let Some(generic) = app.sync_settings.0.lock().unwrap().generic.as_mut() {
        generic.callback_url = "http://169.254.169.254/latest/meta-data/iam/".into();
    }
    app.hook(event("e1", "triggered", 0, &["Ada"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    app.click("U_ADA", &inc.id, CardAction::Acknowledge, "d-1").await;
    app.drain().await;
    let timeline = app.timeline(&inc).await;
    let failed: Vec<_> = timeline.iter().filter(|e| e.action == A::SyncFailed).collect();
    assert_eq!(failed.len(), 1, "reported once, not retried: {timeline:?}");
    assert!(failed[0].detail.contains("169.254.169.254 is a link-local address (the instance metadata service)"), "{}", failed[0].detail);
    assert!(failed[0].detail.contains("WARROOM_OUTBOUND_ALLOW"), "{}", failed[0].detail);
    assert!(app.receiver.all().is_empty());
    assert_eq!(count(&timeline, A::SyncedToSource), 0);
}
