//! Runbooks and past incidents end to end, over real HTTP both ways (the Slack sandbox, the
//! LLM sandbox that records what the model was given): a runbook created through the API is
//! posted once when a matching war room opens; an @mention's prompt carries that runbook
//! (its summary and the part matching the question) and the tenant's similar past incident
//! with how it ended and its post-mortem summary, and never another tenant's, though that
//! tenant has the very same incident.

mod common;

use common::assistant_world::{start, World, TEAM};
use serde_json::json;
use warroom_core::*;
use warroom_sandbox::llm::DEFAULT_API_KEY;

const OTHER_TENANTS_FIX: &str = "OTHER-TENANT-ONLY: flushed the shared cache";

fn checkout_event(id: &str, at_secs: i64) -> serde_json::Value {
    let mut e = common::event(id, "triggered", at_secs, &["Ada", "Bob"]);
    e["labels"] = json!({"service": "checkout", "env": "prod"});
    e
}

/// A resolved checkout incident in `tenant`, closed by a person, with a post-mortem.
async fn past_incident(w: &World, tenant: &TenantId, fix: &str) -> Incident {
    let mut past = warroom_testkit::fixtures::incident(tenant, "old-checkout", Timestamp(warroom_testkit::fixtures::T0.0 - 7 * 24 * 3_600_000));
    past.title = "Checkout errors e0".into();
    past.labels = [("service".to_string(), "checkout".to_string())].into();
    past.status = Status::Resolved;
    let store = &w.app.store;
    let past = store.create_incident(&past).await.unwrap();
    let by = Actor::Member { id: "m_ada".into(), name: "Ada".into() };
    let at = Timestamp(past.created_at.0 + 1_800_000);
    store.append_timeline(&TimelineEntry::new(tenant.clone(), past.id.clone(), at, by, TimelineAction::StatusChanged, "triggered → resolved")).await.unwrap();
    let pm = Postmortem {
        tenant_id: tenant.clone(),
        incident_id: past.id.clone(),
        version: 1,
        created_at: at,
        requested_by: Actor::System,
        model: ModelInfo { provider: "openai-compatible".into(), model: "m".into() },
        prompt_version: "p".into(),
        usage: None,
        latency_ms: 1,
        material: Default::default(),
        review: postmortem::Review { summary: fix.into(), ..Default::default() },
        corrections: vec![],
    };
    store.put_postmortem(&pm).await.unwrap();
    past
}

fn runbook_posts(w: &World, channel: &str) -> usize {
    w.slack.channel(channel).unwrap().messages.iter().filter(|m| m.bot_id.is_some() && m.text.starts_with("Runbook for this incident")).count()
}

#[tokio::test]
async fn a_runbook_is_posted_once_when_its_room_opens_and_answers_cite_it_and_the_tenants_own_past_incident() {
    let w = start(DEFAULT_API_KEY).await;
    let ours = past_incident(&w, &w.app.tenant, "the payment gateway pool was exhausted; raised the pool size").await;
    // Another tenant with the very same incident and a runbook for the same labels.
    let other = TenantId::generate();
    w.app.store.put_tenant(&warroom_testkit::fixtures::tenant(&other)).await.unwrap();
    let theirs = past_incident(&w, &other, OTHER_TENANTS_FIX).await;
    let mut foreign = warroom_core::runbook::Runbook {
        tenant_id: other.clone(),
        id: warroom_core::runbook::RunbookId::generate(),
        title: "OTHER-TENANT runbook".into(),
        body: "OTHER-TENANT steps for the payment gateway pool".into(),
        selectors: vec![warroom_core::runbook::Selector::parse("service=checkout").unwrap()],
        summary: None,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
        version: 0,
    };
    foreign = w.app.store.put_runbook(&foreign).await.unwrap();

    let body = json!({
        "title": "Checkout 5xx runbook",
        "body": "# Checkout\n\nRoll back the last checkout deploy first.\n\nIf the payment gateway pool is exhausted, raise the pool size in the gateway config.",
        "selectors": ["service=checkout"],
    });
    let (status, created) = w.app.post("/api/v1/runbooks", &w.app.admin_key, body).await;
    assert_eq!(status, 201, "{created}");
    let runbook_id = created["id"].as_str().unwrap().to_string();

    // The room opens: the runbook's summary and link, once, however often the room is tended.
    w.app.post("/hooks/generic", &w.app.intake_key, checkout_event("e2", 10)).await;
    w.app.drain().await;
    let channel = w.app.incident("e2").await.war_room.chat_id.unwrap().to_string();
    assert_eq!(runbook_posts(&w, &channel), 1);
    let post = w.slack.channel(&channel).unwrap().messages.into_iter().find(|m| m.text.starts_with("Runbook for this incident")).unwrap();
    assert!(
        post.text.contains("Roll back the last checkout deploy first.") && post.text.contains(&format!("/api/v1/runbooks/{runbook_id}?format=markdown")),
        "{}",
        post.text
    );
    w.app.post("/hooks/generic", &w.app.intake_key, checkout_event("e2", 20)).await;
    w.app.drain().await;
    assert_eq!(runbook_posts(&w, &channel), 1, "still once");
    let inc = w.app.incident("e2").await;
    assert_eq!(w.app.timeline(&inc).await.iter().filter(|e| e.action == TimelineAction::RunbookPosted).count(), 1);
    assert_eq!(runbook_posts(&w, &w.channel), 0, "e1 has no labels: no runbook in its room");

    // An @mention in that room.
    let events = &w.events;
    let text = "<@UBOT> is the payment gateway pool exhausted again?";
    w.slack.post_human_message(events, TEAM, &channel, "U_ADA", text).await.unwrap();
    let ts = w.slack.channel(&channel).unwrap().messages.into_iter().rfind(|m| m.text == text).unwrap().ts;
    let mention = json!({"type": "app_mention", "user": "U_ADA", "text": text, "ts": ts, "channel": channel, "event_ts": ts});
    assert_eq!(w.slack.send_event(events, TEAM, mention).await.unwrap().status(), 200);
    w.app.drain().await;

    let request = w.llm.last_request().expect("the model was called");
    let shown = request.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>().join("\n");
    assert!(shown.contains(&format!("Runbook {runbook_id} \"Checkout 5xx runbook\"")), "the runbook: {shown}");
    assert!(shown.contains("Summary: Roll back the last checkout deploy first."), "its summary");
    assert!(shown.contains("Relevant part: If the payment gateway pool is exhausted, raise the pool size"), "the part matching the question");
    assert!(shown.contains(&format!("Past incident {} \"Checkout errors e0\": status resolved", ours.id)), "the similar past incident: {shown}");
    assert!(shown.contains("last status change by Ada") && shown.contains("the payment gateway pool was exhausted; raised the pool size"), "how it ended");
    for foreign_text in [OTHER_TENANTS_FIX, theirs.id.as_str(), foreign.id.as_str(), "OTHER-TENANT"] {
        assert!(!w.llm.contains_anywhere(foreign_text), "another tenant's data reached the model: {foreign_text}");
    }
    let answer = w.slack.channel(&channel).unwrap().messages.into_iter().find(|m| m.bot_id.is_some() && m.thread_ts.as_deref() == Some(ts.as_str())).unwrap();
    assert!(answer.text.contains(&format!("runbooks: Checkout 5xx runbook ({runbook_id})")), "the sources name the runbook: {}", answer.text);
    assert!(answer.text.contains(&format!("similar past incidents: {}", ours.id)), "{}", answer.text);
}
