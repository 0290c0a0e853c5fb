//! The happy paths, end to end through the engine.

use super::*;
use crate::{EngineError, IngestOutcome};
use warroom_core::TimelineAction as A;

#[tokio::test]
async fn an_incident_event_opens_a_war_room_with_its_responders_and_a_card() {
    let w = World::new().await;
    let out = w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada", "Bob"])).await.unwrap();
    assert!(matches!(out, IngestOutcome::Created(_)));
    w.drain().await;

    let inc = w.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::Open);
    let chat = w.fake.chat(inc.war_room.chat_id.as_ref().unwrap().as_str()).unwrap();
    assert!(chat.private, "tenants get private chats by default");
    assert!(chat.name.starts_with("inc-checkout-errors-e1-"), "{}", chat.name);
    let members: Vec<_> = chat.members.iter().map(|u| u.as_str()).collect();
    assert_eq!(members, ["U_ADA", "U_BOB"]);
    let card = w.fake.card_of(chat.id.as_str()).expect("a card was posted");
    assert_eq!(card.status, Status::Triggered);
    assert!(card.actions.contains(&CardAction::Acknowledge));
    // Bob was found by email: the link is kept for next time.
    let bob = w.store.link_by_member(&w.tenant, &w.integration.id, &"m_bob".into()).await.unwrap().unwrap();
    assert_eq!((bob.im_user_id.as_str(), bob.method), ("U_BOB", LinkMethod::Email));
    let actions = w.actions(&inc).await;
    for expected in [A::IncidentOpened, A::WarRoomRequested, A::WarRoomCreated, A::CardPosted] {
        assert_eq!(count(&actions, expected), 1, "{expected:?} in {actions:?}");
    }
    assert_eq!(count(&actions, A::MemberInvited), 2);
    let chat_ref = w.store.find_chat(&w.integration.id, &chat.id).await.unwrap().unwrap();
    assert_eq!(chat_ref.incident_id, inc.id);
}

#[tokio::test]
async fn a_responder_change_invites_only_the_new_member() {
    let w = World::new().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 10, &["Ada", "Cy"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    let chat = w.fake.chat(inc.war_room.chat_id.as_ref().unwrap().as_str()).unwrap();
    assert_eq!(chat.members.len(), 2);
    let invites: Vec<_> = w.fake.calls().into_iter().filter(|c| c.starts_with("add_members")).collect();
    assert_eq!(invites.len(), 2, "{invites:?}");
    assert!(invites[1].contains("U_CY") && !invites[1].contains("U_ADA"), "{invites:?}");
    assert_eq!(count(&w.actions(&inc).await, A::MemberInvited), 2);
}

#[tokio::test]
async fn a_card_click_changes_the_status_records_the_clicker_and_syncs_the_source() {
    let w = World::new().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    let reply = w.engine.card_action(&w.click("U_ADA"), &inc.id, CardAction::Acknowledge).await.unwrap();
    assert!(reply.changed);
    assert_eq!(reply.message, "Acknowledged by Ada");
    assert_eq!(reply.card.status, Status::Acknowledged);
    w.drain().await;

    let inc = w.incident("e1").await;
    assert_eq!(inc.status, Status::Acknowledged);
    let card = w.fake.card_of(inc.war_room.chat_id.as_ref().unwrap().as_str()).unwrap();
    assert_eq!(card.status, Status::Acknowledged, "the card in the chat was updated");
    let timeline = w.timeline(&inc).await;
    let change = timeline.iter().find(|e| e.action == A::StatusChanged).unwrap();
    assert_eq!(change.actor, Actor::Member { id: "m_ada".into(), name: "Ada".into() });
    assert_eq!(w.source.pushed.lock().unwrap().last().unwrap().status, Status::Acknowledged);
    assert!(timeline.iter().any(|e| e.action == A::SyncedToSource));
    assert!(timeline.iter().any(|e| e.action == A::CardUpdated));

    let again = w.engine.card_action(&w.click("U_ADA"), &inc.id, CardAction::Acknowledge).await.unwrap();
    assert!(!again.changed, "a second click changes nothing");
    assert_eq!(again.message, "Already acknowledged");
}

#[tokio::test]
async fn an_unlinked_clicker_is_told_where_to_link_and_nothing_changes() {
    let w = World::new().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    let err = w.engine.card_action(&w.click("U_STRANGER"), &inc.id, CardAction::Resolve).await.unwrap_err();
    match err {
        EngineError::NotLinked { link_url } => assert_eq!(link_url, format!("https://warroom.example.com/im/{}/web", w.integration.id)),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.incident("e1").await.status, Status::Triggered);
}

#[tokio::test]
async fn snoozing_shows_on_the_card_until_it_ends() {
    let w = World::new().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    w.engine.card_action(&w.click("U_ADA"), &inc.id, CardAction::Snooze { minutes: 30 }).await.unwrap();
    w.drain().await;
    let chat = inc.war_room.chat_id.clone().unwrap();
    assert!(w.fake.card_of(chat.as_str()).unwrap().snoozed_until.is_some());
    w.drain_for(Duration::from_secs(31 * 60)).await;
    assert_eq!(w.fake.card_of(chat.as_str()).unwrap().snoozed_until, None, "the timer re-rendered the card");
}

#[tokio::test]
async fn closing_dismisses_the_room_after_the_tenants_delay_with_the_transcript_kept() {
    let w = World::new().await;
    let mut tenant = w.store.get_tenant(&w.tenant).await.unwrap().unwrap();
    tenant.settings.auto_dismiss_after_minutes = Some(10);
    w.store.put_tenant(&tenant).await.unwrap();
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    let chat = inc.war_room.chat_id.clone().unwrap();
    w.fake.say(chat.as_str(), "U_ADA", "rolled back the deploy");
    w.engine.ingest(&w.tenant, w.event("e1", Status::Closed, 20, &["Ada"])).await.unwrap();
    w.drain().await;
    assert!(!w.fake.chat(chat.as_str()).unwrap().disbanded, "not before the delay");
    w.drain_for(Duration::from_secs(11 * 60)).await;
    assert!(w.fake.chat(chat.as_str()).unwrap().disbanded);
    let inc = w.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::Dismissed);
    assert!(w.clock.now() >= Timestamp(fixtures::T0.0 + 10 * 60 * 1000), "not before the delay");
    let transcript = w.store.list_chat_messages(&w.tenant, &inc.id).await.unwrap();
    assert_eq!(transcript.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["rolled back the deploy"]);
    let actions = w.actions(&inc).await;
    assert_eq!(count(&actions, A::TranscriptCaptured), 1);
    assert_eq!(count(&actions, A::WarRoomDismissed), 1);
}

#[tokio::test]
async fn a_manual_dismiss_and_a_manual_create_do_what_they_say() {
    let w = World::new().await;
    let mut event = w.event("e1", Status::Triggered, 0, &["Ada"]);
    event.war_room = false;
    w.engine.ingest(&w.tenant, event).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::None, "no rule asked for a room");
    let who = Actor::ApiKey { label: "ops".into() };
    w.engine.request_war_room(&w.tenant, &inc.id, who.clone()).await.unwrap();
    w.drain().await;
    assert_eq!(w.incident("e1").await.war_room.state, WarRoomState::Open);
    w.engine.request_dismiss(&w.tenant, &inc.id, who.clone()).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::Dismissed);
    let dismissed = w.timeline(&inc).await.into_iter().find(|e| e.action == A::WarRoomDismissed).unwrap();
    assert_eq!(dismissed.actor, who);
    assert!(w.engine.request_war_room(&w.tenant, &inc.id, who).await.is_err(), "a dismissed room is not recreated");
}

#[tokio::test]
async fn one_click_linking_reports_linked_and_failed_members_with_reasons() {
    let w = World::new().await;
    let report = w.engine.link_members(&w.tenant, &w.integration.id, &[]).await.unwrap();
    assert_eq!((report.linked, report.failed), (3, 1), "{report:?}");
    let dee = report.results.iter().find(|r| r.member_id.as_str() == "m_dee").unwrap();
    assert!(!dee.linked);
    assert!(dee.detail.contains("no slack user with this email"), "{}", dee.detail);
    assert!(w.store.link_by_im_user(&w.tenant, &w.integration.id, &"U_CY".into()).await.unwrap().is_some());
}

#[tokio::test]
async fn a_link_run_that_cannot_succeed_still_leaves_an_answer_to_poll() {
    let w = World::new().await;
    w.fake.fail_always(warroom_testkit::fake_platform::FakeOp::LookupEmail, ImError::Unauthorized("token revoked".into()));
    let kind = JobKind::LinkUsers { integration_id: w.integration.id.clone(), member_ids: vec![] };
    w.queue.send(&Job::new(w.tenant.clone(), kind, "run-1")).await.unwrap();
    w.drain().await;
    let key = format!("linkrun:{}:run-1", w.integration.id);
    let stored = w.store.get_ephemeral(&key, w.clock.now()).await.unwrap().expect("a report");
    assert!(stored.contains("token revoked"), "{stored}");
}
