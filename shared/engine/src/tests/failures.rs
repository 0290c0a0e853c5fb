//! Duplicates, reordering, platform failures and limits.

use super::*;
use crate::handler::MAX_ATTEMPTS;
use warroom_core::TimelineAction as A;
use warroom_testkit::fake_platform::FakeOp;

#[tokio::test]
async fn duplicate_and_reordered_events_make_one_chat_and_never_move_backwards() {
    let w = World::new().await;
    let first = w.event("e1", Status::Triggered, 0, &["Ada"]);
    let ack = w.event("e1", Status::Acknowledged, 5, &["Ada"]);
    for e in [first.clone(), ack.clone(), first.clone(), ack.clone()] {
        w.engine.ingest(&w.tenant, e).await.unwrap();
    }
    // An old "triggered" arriving late, even with a newer time, does not undo the ack.
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 7, &["Ada"])).await.unwrap();
    w.drain().await;
    assert_eq!(w.fake.chats().len(), 1);
    let inc = w.incident("e1").await;
    assert_eq!(inc.status, Status::Acknowledged);
    let actions = w.actions(&inc).await;
    assert_eq!(count(&actions, A::StatusChanged), 1, "{actions:?}");
    assert_eq!(count(&actions, A::WarRoomCreated), 1);
    assert!(w.source.pushed.lock().unwrap().is_empty(), "changes reported by the source are not pushed back to it");
}

#[tokio::test]
async fn one_failed_invite_does_not_stop_the_others_and_is_on_the_record() {
    let w = World::new().await;
    w.fake.fail_invite("U_BOB", ImError::Rejected { code: "cant_invite".into(), message: "user is a guest".into() });
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada", "Bob", "Cy", "Dee"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    let chat = w.fake.chat(inc.war_room.chat_id.as_ref().unwrap().as_str()).unwrap();
    let members: Vec<_> = chat.members.iter().map(|u| u.as_str()).collect();
    assert_eq!(members, ["U_ADA", "U_CY"]);
    let timeline = w.timeline(&inc).await;
    let failed = timeline.iter().find(|e| e.action == A::InviteFailed).unwrap();
    assert!(failed.detail.contains("Bob") && failed.detail.contains("cant_invite"), "{}", failed.detail);
    let unlinked = timeline.iter().find(|e| e.action == A::ResponderUnlinked).unwrap();
    assert!(unlinked.detail.contains("Dee"));
    let told =
        chat.messages.iter().any(|m| matches!(&m.kind, warroom_testkit::fake_platform::FakeMessageKind::Text(t) if t.contains("Dee could not be invited")));
    assert!(told, "the chat hears about the unreachable responder");
    // Another pass neither retries Bob nor repeats the notices.
    w.engine.reconcile(&w.tenant, &inc.id).await.unwrap();
    let actions = w.actions(&inc).await;
    assert_eq!(count(&actions, A::InviteFailed), 1);
    assert_eq!(count(&actions, A::ResponderUnlinked), 1);
}

#[tokio::test]
async fn a_chat_disbanded_from_inside_is_recorded_and_never_recreated() {
    let w = World::new().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    let chat = inc.war_room.chat_id.clone().unwrap();
    w.fake.disband_from_inside(chat.as_str());
    w.engine.chat_disbanded(&w.integration.id, &chat).await.unwrap();
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 10, &["Ada", "Bob"])).await.unwrap();
    w.drain().await;
    assert_eq!(w.fake.chats().len(), 1);
    let inc = w.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::DisbandedExternally);
    assert_eq!(count(&w.actions(&inc).await, A::DisbandedExternally), 1);
}

#[tokio::test]
async fn a_chat_found_gone_while_posting_is_recorded_the_same_way() {
    let w = World::new().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    w.fake.disband_from_inside(inc.war_room.chat_id.as_ref().unwrap().as_str());
    w.engine.ingest(&w.tenant, w.event("e1", Status::Acknowledged, 10, &["Ada"])).await.unwrap();
    w.drain().await;
    assert_eq!(w.incident("e1").await.war_room.state, WarRoomState::DisbandedExternally);
}

#[tokio::test]
async fn a_crash_after_the_chat_was_created_finds_the_same_chat_again() {
    let w = World::new().await;
    w.fake.fail_after_create_next();
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    assert_eq!(w.fake.chats().len(), 1, "the retried create reused the idempotency key");
    let inc = w.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::Open);
    assert_eq!(count(&w.actions(&inc).await, A::WarRoomCreated), 1);
}

#[tokio::test]
async fn a_rate_limited_call_defers_the_job_for_the_time_asked() {
    let w = World::new().await;
    w.fake.fail_next(FakeOp::CreateChat, ImError::RateLimited { retry_after: Duration::from_secs(30) });
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    let start = w.clock.now();
    w.drain().await;
    assert!(w.clock.now() >= start.plus(Duration::from_secs(30)), "deferred, then done");
    assert_eq!(w.incident("e1").await.war_room.state, WarRoomState::Open);
    let creates = w.fake.calls().into_iter().filter(|c| c.starts_with("create_chat")).count();
    assert_eq!(creates, 2, "one refused call and one real: no tight loop");
}

#[tokio::test]
async fn a_platform_that_keeps_failing_is_given_up_on_the_record_and_dead_lettered() {
    let w = World::new().await;
    w.fake.fail_always(FakeOp::CreateChat, ImError::Transient("503 from the platform".into()));
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    let given_up = w.timeline(&inc).await.into_iter().find(|e| e.action == A::GivenUp).expect("given up on the record");
    assert!(given_up.detail.contains("503") && given_up.detail.contains(&MAX_ATTEMPTS.to_string()), "{}", given_up.detail);
    assert_eq!(w.queue.dead_letters(10).await.unwrap().len(), 1);
    w.fake.clear_failures();
    assert_eq!(w.queue.redrive_dead_letters().await.unwrap(), 1);
    w.drain().await;
    assert_eq!(w.incident("e1").await.war_room.state, WarRoomState::Open, "redriven after the fix");
}

#[tokio::test]
async fn without_a_war_room_integration_the_reason_is_recorded_once() {
    let w = World::new().await;
    w.store.disable_war_room(&w.tenant, &w.integration.id).await.unwrap();
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 5, &["Ada", "Bob"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    assert_eq!(count(&w.actions(&inc).await, A::WarRoomCreateFailed), 1);
    assert!(w.fake.chats().is_empty());
}

#[tokio::test]
async fn a_missing_permission_is_recorded_and_not_retried() {
    let w = World::new().await;
    w.fake.fail_always(FakeOp::CreateChat, ImError::MissingPermission { scope: "groups:write".into() });
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    let entry = w.timeline(&inc).await.into_iter().find(|e| e.action == A::PermissionMissing).unwrap();
    assert!(entry.detail.contains("groups:write") && entry.detail.contains("re-authorize"));
    let creates = w.fake.calls().into_iter().filter(|c| c.starts_with("create_chat")).count();
    assert_eq!(creates, 1);
}

#[tokio::test]
async fn a_source_that_fails_for_good_leaves_the_reason_in_the_timeline() {
    let w = World::new().await;
    *w.source.fail.lock().unwrap() = Some(SyncError::permanent("404: no such incident at the source"));
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    w.engine.card_action(&w.click("U_ADA"), &inc.id, CardAction::Resolve).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    assert_eq!(inc.status, Status::Resolved, "the war room's change stands");
    let failed = w.timeline(&inc).await.into_iter().find(|e| e.action == A::SyncFailed).unwrap();
    assert!(failed.detail.contains("404"));
}

#[tokio::test]
async fn a_source_asking_to_come_back_later_defers_the_sync_by_that_time_and_it_is_no_failed_attempt() {
    let w = World::new().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    *w.source.fail.lock().unwrap() = Some(SyncError::retryable("PagerDuty answered 429").after(Some(Duration::from_secs(7))));
    w.engine.card_action(&w.click("U_ADA"), &inc.id, CardAction::Acknowledge).await.unwrap();
    let job = Job::new(w.tenant.clone(), JobKind::SyncStatus { incident_id: inc.id.clone() }, "sync-1");
    let delivery = |receive_count| Delivery { message_id: "m-sync".into(), receipt: "r".into(), group: job.group(), body: job.to_json(), receive_count };
    // More times than a failing job is allowed: each time exactly the time asked (no
    // backoff, no jitter), never given up.
    for receives in 1..=MAX_ATTEMPTS + 1 {
        assert_eq!(w.engine.handle(&job, &delivery(receives)).await, Outcome::Defer(Duration::from_secs(7)), "receive {receives}");
    }
    assert!(w.queue.dead_letters(10).await.unwrap().is_empty());
    assert_eq!(count(&w.actions(&inc).await, A::SyncFailed), 0, "waiting as asked is no failure");
    // The first real failure of the same message backs off as a first failure: the
    // deferrals were not counted.
    *w.source.fail.lock().unwrap() = Some(SyncError::retryable("PagerDuty answered 500"));
    assert_eq!(w.engine.handle(&job, &delivery(MAX_ATTEMPTS + 2)).await, Outcome::Defer(Duration::from_secs(2)));
    assert_eq!(count(&w.actions(&inc).await, A::SyncFailed), 1);
}
