//! The matching runbook is posted once when a room opens, whatever happens to the jobs;
//! the assistant's knowledge (runbooks, similar past incidents) is the tenant's own only.

use super::*;
use warroom_core::runbook::{Runbook, RunbookId, Selector};
use warroom_testkit::fake_platform::{FakeMessageKind, FakeOp};

pub(crate) fn runbook(tenant: &TenantId, title: &str, selectors: &[&str], body: &str) -> Runbook {
    Runbook {
        tenant_id: tenant.clone(),
        id: RunbookId::generate(),
        title: title.into(),
        body: body.into(),
        selectors: selectors.iter().map(|s| Selector::parse(s).unwrap()).collect(),
        summary: None,
        created_at: fixtures::T0,
        updated_at: fixtures::T0,
        version: 0,
    }
}

fn checkout_event(w: &World, id: &str, at_secs: i64) -> IncidentEvent {
    let mut e = w.event(id, Status::Triggered, at_secs, &["Ada"]);
    e.labels = [("service".to_string(), "checkout".to_string()), ("env".to_string(), "prod".to_string())].into();
    e
}

fn runbook_posts(w: &World, chat: &ChatId) -> usize {
    let texts = w.fake.chat(chat.as_str()).unwrap().messages;
    texts.iter().filter(|m| matches!(&m.kind, FakeMessageKind::Text(t) if t.starts_with("Runbook for this incident"))).count()
}

#[tokio::test]
async fn the_matching_runbook_is_posted_once_when_the_room_opens_however_often_it_is_reconciled() {
    let w = World::new().await;
    let rb = w.store.put_runbook(&runbook(&w.tenant, "Checkout 5xx", &["service=checkout"], "# Checkout\n\nRoll back the last deploy.")).await.unwrap();
    w.store.put_runbook(&runbook(&w.tenant, "Search", &["service=search"], "Restart search.")).await.unwrap();
    w.engine.ingest(&w.tenant, checkout_event(&w, "e1", 0)).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    let chat = inc.war_room.chat_id.clone().expect("room open");
    assert_eq!(runbook_posts(&w, &chat), 1);
    let text = w.fake.chat(chat.as_str()).unwrap().messages.into_iter().find_map(|m| match m.kind {
        FakeMessageKind::Text(t) if t.starts_with("Runbook") => Some(t),
        _ => None,
    });
    let text = text.unwrap();
    assert!(text.contains("Roll back the last deploy."), "{text}");
    assert!(text.contains(&format!("https://warroom.example.com/api/v1/runbooks/{}?format=markdown", rb.id)), "{text}");
    // More passes: the incident changes, the same job runs again.
    w.engine.card_action(&w.click("U_ADA"), &inc.id, CardAction::Acknowledge).await.unwrap();
    w.drain().await;
    w.engine.reconcile(&w.tenant, &inc.id).await.unwrap();
    w.engine.reconcile(&w.tenant, &inc.id).await.unwrap();
    assert_eq!(runbook_posts(&w, &chat), 1, "posted once");
    assert_eq!(count(&w.actions(&inc).await, TimelineAction::RunbookPosted), 1);
    let entry = w.timeline(&inc).await.into_iter().find(|e| e.action == TimelineAction::RunbookPosted).unwrap();
    assert!(entry.detail.contains(rb.id.as_str()) && entry.detail.contains("service=checkout"), "{}", entry.detail);
}

#[tokio::test]
async fn a_runbook_post_whose_answer_was_lost_is_found_again_not_posted_twice() {
    let w = World::new().await;
    w.store.put_runbook(&runbook(&w.tenant, "Checkout 5xx", &["service=checkout"], "Roll back.")).await.unwrap();
    w.engine.ingest(&w.tenant, checkout_event(&w, "e1", 0)).await.unwrap();
    // The room's first texts are the runbook (Ada is linked: nobody is reported unreachable).
    w.fake.lose_answer_next(FakeOp::SendText);
    w.drain().await;
    assert!(w.fake.answers_lost() >= 1, "an answer was lost");
    let inc = w.incident("e1").await;
    w.engine.reconcile(&w.tenant, &inc.id).await.unwrap();
    assert_eq!(runbook_posts(&w, &inc.war_room.chat_id.clone().unwrap()), 1);
    assert_eq!(count(&w.actions(&inc).await, TimelineAction::RunbookPosted), 1);
}

#[tokio::test]
async fn no_runbook_is_posted_when_none_matches_or_only_another_tenants_does() {
    let w = World::new().await;
    let other = fixtures::tenant_id();
    w.store.put_runbook(&runbook(&other, "Checkout (other tenant)", &["service=checkout"], "Not yours.")).await.unwrap();
    w.store.put_runbook(&runbook(&w.tenant, "Checkout in staging", &["service=checkout", "env=staging"], "Staging only.")).await.unwrap();
    w.store.put_runbook(&runbook(&w.tenant, "No selectors", &[], "Questions only.")).await.unwrap();
    w.engine.ingest(&w.tenant, checkout_event(&w, "e1", 0)).await.unwrap();
    w.drain().await;
    let inc = w.incident("e1").await;
    assert_eq!(runbook_posts(&w, &inc.war_room.chat_id.clone().unwrap()), 0);
    assert_eq!(count(&w.actions(&inc).await, TimelineAction::RunbookPosted), 0);
}

#[tokio::test]
async fn knowledge_holds_the_tenants_similar_past_incidents_with_how_they_ended_and_never_another_tenants() {
    let w = World::new().await;
    let other = fixtures::tenant_id();
    // The same incident in both tenants, resolved by someone, with a post-mortem.
    let mut past_ids = Vec::new();
    for tenant in [&w.tenant, &other] {
        let mut past = fixtures::incident(tenant, "old-checkout", fixtures::T0);
        past.title = "Checkout 5xx errors".into();
        past.labels = [("service".to_string(), "checkout".to_string())].into();
        past.status = Status::Resolved;
        let past = w.store.create_incident(&past).await.unwrap();
        let by = Actor::Member { id: "m_ada".into(), name: format!("Ada of {tenant}") };
        w.store
            .append_timeline(&TimelineEntry::new(tenant.clone(), past.id.clone(), fixtures::T0, by, TimelineAction::StatusChanged, "triggered → resolved"))
            .await
            .unwrap();
        let pm = Postmortem {
            tenant_id: tenant.clone(),
            incident_id: past.id.clone(),
            version: 1,
            created_at: fixtures::T0,
            requested_by: Actor::System,
            model: ModelInfo { provider: "openai-compatible".into(), model: "m".into() },
            prompt_version: "p".into(),
            usage: None,
            latency_ms: 1,
            material: Default::default(),
            review: postmortem::Review { summary: format!("the payment gateway timed out ({tenant})"), ..Default::default() },
            corrections: vec![],
        };
        w.store.put_postmortem(&pm).await.unwrap();
        past_ids.push(past.id);
    }
    let mut unrelated = fixtures::incident(&w.tenant, "disk", fixtures::T0);
    unrelated.title = "Disk full".into();
    w.store.create_incident(&unrelated).await.unwrap();
    let mut now = fixtures::incident(&w.tenant, "new-checkout", Timestamp(fixtures::T0.0 + 1000));
    now.title = "Checkout 5xx errors again".into();
    now.labels = [("service".to_string(), "checkout".to_string())].into();
    let now = w.store.create_incident(&now).await.unwrap();
    w.store.put_runbook(&runbook(&other, "Checkout (other tenant)", &["service=checkout"], "checkout gateway")).await.unwrap();

    let k = w.engine.knowledge(&now, Some("is the checkout gateway down?")).await.unwrap();
    assert_eq!(k.past.len(), 1, "{k:?}");
    let past = &k.past[0];
    assert_eq!(past.id, past_ids[0], "ours, never the other tenant's twin");
    assert_eq!(past.status, Status::Resolved);
    assert_eq!(past.closed_by.as_deref(), Some(format!("Ada of {}", w.tenant).as_str()));
    assert_eq!(past.postmortem_summary.as_deref(), Some(format!("the payment gateway timed out ({})", w.tenant).as_str()));
    assert!(k.runbooks.is_empty(), "the other tenant's runbook is not ours: {k:?}");
}
