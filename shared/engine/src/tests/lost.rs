//! Lost answers: an IM call takes effect but its answer never arrives (a timeout or a 5xx
//! after the platform acted), at every step of a room's life, before every run of the queue.
//! The retried jobs must not repeat what already happened: one chat, one card.

use super::scenario::{assert_converged, live, Worker};
use super::*;
use warroom_testkit::fake_platform::{CardDedupe, FakeOp};

const STEPS: [FakeOp; 10] = [
    FakeOp::CreateChat,
    FakeOp::SendText,
    FakeOp::AddMembers,
    FakeOp::PostCard,
    FakeOp::FindCard,
    FakeOp::UpdateCard,
    FakeOp::SetTopic,
    FakeOp::History,
    FakeOp::DismissChat,
    FakeOp::FindNotice,
];

async fn sweep(dedupe: CardDedupe) {
    for op in STEPS {
        let w = World::new().await;
        w.fake.set_card_dedupe(dedupe);
        // FindCard / FindNotice are only called after a post whose outcome is unknown: lose
        // that first.
        if op == FakeOp::FindCard {
            w.fake.lose_answer_next(FakeOp::PostCard);
        }
        if op == FakeOp::FindNotice {
            w.fake.lose_answer_next(FakeOp::SendText);
        }
        let mut worker = Worker::losing(w.engine.clone(), op);
        live(&w, &mut worker).await;
        let label = format!("{dedupe:?}: answers of {op:?} lost");
        assert!(w.fake.answers_lost() >= 1, "{label}: no answer was lost, so the run shows nothing");
        // The notice about Dee is found again (or its post deduped) like the card: once.
        assert_converged(&w, &label, 1).await;
    }
}

#[tokio::test]
async fn lost_answers_at_every_step_of_a_slack_like_room_leave_one_chat_and_one_card() {
    sweep(CardDedupe::Lookup).await;
}

#[tokio::test]
async fn lost_answers_at_every_step_of_a_feishu_like_room_leave_one_chat_and_one_card() {
    sweep(CardDedupe::IdempotencyKey).await;
}

#[tokio::test]
async fn a_lost_card_post_that_cannot_be_found_again_shows_as_a_second_card() {
    // Control for the sweeps above: the counters do see a duplicate when there is one.
    let w = World::new().await;
    w.fake.set_card_dedupe(CardDedupe::Neither);
    w.fake.lose_answer_next(FakeOp::PostCard);
    w.engine.ingest(&w.tenant, w.event(super::scenario::E1, Status::Triggered, 0, &["Ada"])).await.unwrap();
    w.drain().await;
    let chat = w.incident(super::scenario::E1).await.war_room.chat_id.unwrap();
    assert_eq!(w.fake.cards_in(chat.as_str()), 2);
}

#[tokio::test]
async fn a_lost_card_post_in_a_chat_of_one_message_a_second_is_looked_for_once_and_brought_up_to_date() {
    // Finding the card and bringing it up to date are two calls in two rate-limit families;
    // with Slack's one message per second per channel the edit may have to wait, and the
    // card found is written down first, so waiting does not start the search over.
    for dedupe in [CardDedupe::Lookup, CardDedupe::IdempotencyKey] {
        let w = World::new().await;
        w.fake.set_card_dedupe(dedupe).set_chat_rate(1);
        let mut worker = Worker::losing(w.engine.clone(), FakeOp::PostCard);
        live(&w, &mut worker).await;
        assert_converged(&w, &format!("{dedupe:?}, one message a second"), 1).await;
        let finds = w.fake.calls().iter().filter(|c| c.starts_with("find_card")).count();
        assert!(finds <= 3, "{dedupe:?}: the card was looked for {finds} times");
    }
}

#[tokio::test]
async fn a_chat_whose_creation_answer_was_lost_is_found_and_dismissed_when_the_incident_closed_before_the_retry() {
    let w = World::new().await;
    super::scenario::dismiss_on_resolve(&w).await;
    w.fake.lose_answer_next(FakeOp::CreateChat);
    w.engine.ingest(&w.tenant, w.event(super::scenario::E1, Status::Triggered, 0, &["Ada"])).await.unwrap();
    let inc = w.incident(super::scenario::E1).await;
    assert!(w.engine.reconcile(&w.tenant, &inc.id).await.is_err(), "the create's answer is lost");
    assert_eq!(w.fake.chats().len(), 1, "the platform made the chat all the same");
    w.engine.ingest(&w.tenant, w.event(super::scenario::E1, Status::Resolved, 60, &["Ada"])).await.unwrap();
    w.drain().await;

    let inc = w.incident(super::scenario::E1).await;
    assert_eq!(w.fake.chats().len(), 1, "found again, not made twice");
    let chat = w.fake.chats().remove(0);
    assert_eq!(inc.war_room.chat_id.as_ref(), Some(&chat.id), "recorded");
    assert_eq!(inc.war_room.state, WarRoomState::Dismissed, "and dismissed as the closed incident wants, not left behind");
    assert!(chat.disbanded, "{chat:?}");
}
