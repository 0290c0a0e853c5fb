//! One war room's whole life — opened for Ada, Bob and Dee (who has no account), acknowledged
//! and resolved from its card, dismissed at once — and what must hold at its end however its
//! calls failed or its worker died on the way: one chat, the right members, one card showing
//! the final status, each step once on the record.

use super::*;
use crate::Engine;
use std::collections::BTreeSet;
use warroom_core::TimelineAction as A;
use warroom_testkit::fake_platform::FakeMessageKind;

/// The external id of the scenario's incident.
pub const E1: &str = "e1";

/// Works the queue between the steps of the scenario: a first engine that may die mid-job,
/// then, once it has (or if there is none), a healthy one — a restarted worker over the same
/// store, queue and platform, to which the job in flight is redelivered.
pub struct Worker {
    pub dying: Option<Engine>,
    pub healthy: Engine,
    /// Whether the first engine died.
    pub died: bool,
    /// Before each run, the next answer of this call is to be lost (it still takes effect).
    pub lose: Option<warroom_testkit::fake_platform::FakeOp>,
}

impl Worker {
    pub fn dying_then(dying: Engine, healthy: Engine) -> Self {
        Self { dying: Some(dying), healthy, died: false, lose: None }
    }

    pub fn losing(engine: Engine, op: warroom_testkit::fake_platform::FakeOp) -> Self {
        Self { dying: None, healthy: engine, died: false, lose: Some(op) }
    }

    pub async fn run(&mut self, w: &World) {
        if let Some(op) = self.lose {
            w.fake.lose_answer_next(op);
        }
        if let Some(dying) = self.dying.clone() {
            if run_until_death(w, &dying).await {
                self.dying = None;
                self.died = true;
            }
        }
        if self.dying.is_none() {
            w.drain_with(&self.healthy, Duration::from_secs(120)).await;
        }
    }
}

/// Runs the queue with `engine` until it is idle, each batch in a task of its own so that a
/// panic (the worker dying) is seen rather than ending the test. True if it died: the
/// message it held stays in flight until its visibility timeout, as in SQS.
async fn run_until_death(w: &World, engine: &Engine) -> bool {
    for _ in 0..500 {
        let batch = w.queue.receive(10, Duration::ZERO).await.unwrap();
        if batch.is_empty() {
            if w.queue.is_empty() {
                return false;
            }
            w.clock.advance(Duration::from_secs(1));
            continue;
        }
        let (queue, engine) = (w.queue.clone(), engine.clone());
        let batch = tokio::spawn(async move { process_batch(queue.as_ref(), &engine, batch, true).await });
        if batch.await.is_err() {
            return true;
        }
    }
    panic!("jobs kept coming: a job loop?");
}

/// Rooms are dismissed as soon as their incident is resolved.
pub async fn dismiss_on_resolve(w: &World) {
    let mut tenant = w.store.get_tenant(&w.tenant).await.unwrap().unwrap();
    tenant.settings.auto_dismiss_after_minutes = Some(0);
    w.store.put_tenant(&tenant).await.unwrap();
}

/// Opens, acknowledges and resolves the incident, working the queue after each step.
pub async fn live(w: &World, worker: &mut Worker) {
    dismiss_on_resolve(w).await;
    w.engine.ingest(&w.tenant, w.event(E1, Status::Triggered, 0, &["Ada", "Bob", "Dee"])).await.unwrap();
    worker.run(w).await;
    for action in [CardAction::Acknowledge, CardAction::Resolve] {
        let inc = w.incident(E1).await;
        w.engine.card_action(&w.click("U_ADA"), &inc.id, action).await.unwrap();
        worker.run(w).await;
    }
}

/// What must hold after `live`, with `label` naming the run in failures. `notices`: how many
/// times the chat was told Dee could not be invited (once, unless the platform can neither
/// find nor dedupe a notice whose answer was lost).
pub async fn assert_converged(w: &World, label: &str, notices: usize) {
    let inc = w.incident(E1).await;
    assert_eq!(inc.status, Status::Resolved, "{label}");
    assert_eq!(inc.war_room.state, WarRoomState::Dismissed, "{label}");
    let chats = w.fake.chats();
    assert_eq!(chats.len(), 1, "{label}: exactly one chat");
    let chat = &chats[0];
    assert!(chat.disbanded, "{label}: the chat was dismissed");
    assert_eq!(inc.war_room.chat_id.as_ref(), Some(&chat.id), "{label}");
    let chat_ref = w.store.find_chat(&w.integration.id, &chat.id).await.unwrap();
    assert_eq!(chat_ref.map(|r| r.incident_id), Some(inc.id.clone()), "{label}: the chat leads back to its incident");
    let members: BTreeSet<&str> = chat.members.iter().map(|u| u.as_str()).collect();
    assert_eq!(members, BTreeSet::from(["U_ADA", "U_BOB"]), "{label}");
    assert_eq!(w.fake.cards_in(chat.id.as_str()), 1, "{label}: exactly one card");
    assert_eq!(w.fake.card_of(chat.id.as_str()).unwrap().status, Status::Resolved, "{label}: the card shows the final status");
    let told = |m: &&warroom_testkit::fake_platform::FakeMessage| matches!(&m.kind, FakeMessageKind::Text(t) if t.contains("Dee could not be invited"));
    assert_eq!(chat.messages.iter().filter(told).count(), notices, "{label}: notices about Dee");
    let actions = w.actions(&inc).await;
    for (action, n) in [(A::WarRoomCreated, 1), (A::CardPosted, 1), (A::StatusChanged, 2), (A::WarRoomDismissed, 1), (A::MemberInvited, 2)] {
        assert_eq!(count(&actions, action), n, "{label}: {action:?} in {actions:?}");
    }
    assert!(!inc.war_room.card_posting, "{label}: no card post left pending");
}
