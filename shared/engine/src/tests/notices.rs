//! Unreachable responders cost one lookup, and what people wait for in the chat is never
//! dropped: a command's answer that meets a full chat bucket is queued, not lost.

use super::*;
use crate::LOOKUP_MISS_TTL;
use warroom_core::ratelimit::Take;
use warroom_testkit::fake_platform::FakeMessageKind;

fn dee_lookups(w: &World) -> usize {
    w.fake.calls().iter().filter(|c| c.starts_with("lookup_by_email dee@")).count()
}

#[tokio::test]
async fn a_responder_with_no_account_is_looked_up_once_across_passes() {
    let w = World::new().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada", "Dee"])).await.unwrap();
    w.drain().await;
    assert_eq!(dee_lookups(&w), 1);
    // Three more passes: a status change, a responder change, a re-sent event.
    let inc = w.incident("e1").await;
    w.engine.card_action(&w.click("U_ADA"), &inc.id, CardAction::Acknowledge).await.unwrap();
    w.drain().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Acknowledged, 20, &["Ada", "Dee", "Bob"])).await.unwrap();
    w.drain().await;
    assert!(w.fake.chat(w.incident("e1").await.war_room.chat_id.unwrap().as_str()).unwrap().members.contains(&"U_BOB".into()));
    assert_eq!(dee_lookups(&w), 1, "the platform's 'nobody has this email' is remembered");

    // Once the answer is old, it is asked again.
    w.clock.advance(LOOKUP_MISS_TTL + Duration::from_secs(1));
    w.engine.ingest(&w.tenant, w.event("e1", Status::Acknowledged, 40, &["Ada", "Dee"])).await.unwrap();
    w.drain().await;
    assert_eq!(dee_lookups(&w), 2);
}

#[tokio::test]
async fn one_click_linking_looks_again_and_the_next_pass_invites_the_new_account() {
    let w = World::new().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada", "Dee"])).await.unwrap();
    w.drain().await;
    // Dee makes an account during the incident; the remembered miss hides it from passes...
    w.fake.add_user("U_DEE", "Dee", Some("dee@example.com"), None);
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 10, &["Ada", "Dee", "Bob"])).await.unwrap();
    w.drain().await;
    let chat = w.incident("e1").await.war_room.chat_id.unwrap();
    assert!(!w.fake.chat(chat.as_str()).unwrap().members.contains(&"U_DEE".into()));
    // ...until someone presses One-Click Link, which always asks the platform.
    let report = w.engine.link_members(&w.tenant, &w.integration.id, &["m_dee".into()]).await.unwrap();
    assert_eq!(report.linked, 1, "{report:?}");
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 20, &["Ada", "Dee", "Cy"])).await.unwrap();
    w.drain().await;
    assert!(w.fake.chat(chat.as_str()).unwrap().members.contains(&"U_DEE".into()));
}

#[tokio::test]
async fn linking_by_hand_forgets_the_remembered_miss() {
    let w = World::new().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada", "Dee"])).await.unwrap();
    w.drain().await;
    assert_eq!(dee_lookups(&w), 1);
    let dee = w.store.get_member(&w.tenant, &"m_dee".into()).await.unwrap().unwrap();
    w.engine.forget_lookup_misses(&w.integration.id, &dee).await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 10, &["Ada", "Dee", "Bob"])).await.unwrap();
    w.drain().await;
    assert_eq!(dee_lookups(&w), 2, "asked again after the miss was forgotten");
}

#[tokio::test]
async fn a_command_answer_that_meets_a_full_chat_bucket_is_queued_and_sent_once() {
    let w = World::new().await;
    w.fake.set_chat_rate(1);
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let chat = w.incident("e1").await.war_room.chat_id.unwrap();
    // Someone (the card's own edit, another reply) just used the chat's one message a second.
    for bucket in w.fake.buckets(ApiFamily::Message, Some(&chat)) {
        while let Take::Granted = w.store.take_tokens(&bucket, 1, w.clock.now()).await.unwrap() {}
    }
    let said = ChatMessage { id: "m-ack-1".into(), at: w.clock.now(), author: "U_ADA".into(), text: "ack".into() };
    let event = ImEvent::Message { chat: chat.clone(), message: said, mentions_bot: false };
    let outcome = w.engine.handle_im_event(&w.integration, event.clone()).await.unwrap();
    assert!(matches!(&outcome, crate::EventOutcome::Command(m) if m.contains("Acknowledged")), "{outcome:?}");
    let answers = |w: &World| {
        let c = w.fake.chat(chat.as_str()).unwrap();
        c.messages.iter().filter(|m| matches!(&m.kind, FakeMessageKind::Text(t) if t.contains("Acknowledged by Ada"))).count()
    };
    assert_eq!(answers(&w), 0, "the bucket was full: nothing sent yet");
    w.drain().await;
    assert_eq!(answers(&w), 1, "the queued answer went out once the bucket allowed");
    // The same answer queued again (a redelivered job) is not sent twice.
    let key = crate::notice::notice_key("re", &[w.integration.id.as_str(), chat.as_str(), "m-ack-1"]);
    let inc = w.incident("e1").await;
    let text = w.fake.chat(chat.as_str()).unwrap().messages.iter().rev().find_map(|m| match &m.kind {
        FakeMessageKind::Text(t) if t.contains("Acknowledged by Ada") => Some(t.clone()),
        _ => None,
    });
    let kind = JobKind::Notice { incident_id: inc.id.clone(), chat_id: chat.clone(), text: text.unwrap(), key: key.clone() };
    w.queue.send(&Job::new(w.tenant.clone(), kind, format!("{key}-again"))).await.unwrap();
    w.drain().await;
    assert_eq!(answers(&w), 1);
}
