//! The assistant and the post-mortem on DingTalk, end to end over real HTTP both ways: a
//! scene group (the DingTalk sandbox), the tenant's model the LLM sandbox. An @mention of the
//! group robot is answered in an AI card streamed with `PUT /v1.0/card/streaming` (several
//! updates, then finalized, with its sources), within DingTalk's limits; where the app lacks
//! the streaming permission, the same card is updated instead. The post-mortem is drafted
//! from what Warroom captured (DingTalk has no history API), stored, served as JSON and
//! Markdown, and announced in the group; after the group is disbanded on resolve, from the
//! transcript captured before.

mod common;

use common::cn_assistant::{dingtalk, drain_in_real_time, get, postmortem_prompt, TALK};
use serde_json::{json, Value};
use warroom_core::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_at_mention_is_answered_in_an_ai_card_streamed_in_several_updates_then_finalized_with_its_sources() {
    let w = dingtalk(|_| {}).await;
    w.mention("bob", "db failover started at 10:02").await;
    drain_in_real_time(&w.app).await;
    w.mention("ada", "what is the state of the failover?").await;
    drain_in_real_time(&w.app).await;

    let group = w.sandbox.group(&w.ocid).unwrap();
    let answers: Vec<_> = group.cards.iter().filter(|c| c.card_data.get("kind").is_some_and(|k| k == "answer")).collect();
    assert_eq!(answers.len(), 2, "one AI card per question: {:?}", group.cards.iter().map(|c| &c.card_data).collect::<Vec<_>>());
    let card = answers.iter().find(|c| c.card_data["msgContent"].contains("state of the failover")).expect("the second question's card");
    let text = &card.card_data["msgContent"];
    assert!(text.starts_with("[llm-sandbox]") && text.contains("Checkout errors e1"), "the model's answer, shown the incident: {text}");
    assert!(text.contains("Sources: ") && text.contains("AI-generated"), "finished with its sources: {text}");
    assert!(card.finalized && card.card_data["flowStatus"] == "3", "finalized: {:?}", card.card_data);
    let updates = &card.streamed;
    assert!(updates.len() >= 3, "several streaming updates: {}", updates.len());
    assert!(updates.iter().all(|u| u.is_full && u.key == "msgContent"), "markdown streams in full");
    assert!(updates.last().unwrap().finalize && updates[..updates.len() - 1].iter().all(|u| !u.finalize), "finalized by the last one only");
    assert!(updates.windows(2).all(|p| p[1].content.len() >= p[0].content.len()), "the text only grows");
    assert_eq!(w.sandbox.rate_limited_count(), 0, "no call over DingTalk's limits");
    let card_calls: Vec<_> = w.sandbox.calls().into_iter().filter(|c| c.path.starts_with("/v1.0/card/")).collect();
    assert!(card_calls.iter().all(|c| c.ok), "every card call accepted: {:?}", card_calls.iter().filter(|c| !c.ok).collect::<Vec<_>>());

    let prompt = serde_json::to_string(&w.llm.last_request().unwrap().messages).unwrap();
    assert!(prompt.contains("db failover started at 10:02"), "the room's captured messages were in the prompt");
    let inc = w.app.incident("e1").await;
    let noted = w.app.timeline(&inc).await.into_iter().rfind(|e| e.action == TimelineAction::AssistantAnswered).expect("on the timeline");
    println!("dingtalk answer: {} streaming updates; {}", updates.len(), noted.detail);
    assert_eq!(inc.status, Status::Triggered, "a question changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_the_streaming_permission_the_answer_card_is_updated_instead_and_still_ends_finished() {
    let w = dingtalk(|c| c.permissions.retain(|p| p != "Card.Streaming.Write")).await;
    w.mention("ada", "what changed?").await;
    drain_in_real_time(&w.app).await;
    let group = w.sandbox.group(&w.ocid).unwrap();
    let card = group.cards.iter().find(|c| c.card_data.get("kind").is_some_and(|k| k == "answer")).expect("the AI card");
    assert!(card.streamed.is_empty() && card.updated_count >= 2, "updated, not streamed: {card:?}");
    assert_eq!(card.card_data["flowStatus"], "3");
    assert!(card.card_data["msgContent"].contains("Sources: "), "{:?}", card.card_data);
    let refused: Vec<_> = w.sandbox.calls().into_iter().filter(|c| c.path == "/v1.0/card/streaming").collect();
    assert_eq!(refused.len(), 1, "asked once: {refused:?}");
    assert_eq!(w.sandbox.rate_limited_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postmortem_asked_while_the_group_is_open_is_stored_served_as_json_and_markdown_and_announced_in_the_group() {
    let w = dingtalk(|_| {}).await;
    w.llm.set_chunk_delay(std::time::Duration::ZERO);
    for (user, text) in TALK {
        w.mention(user, text).await;
    }
    drain_in_real_time(&w.app).await;
    let inc = w.app.incident("e1").await;
    let path = format!("/api/v1/incidents/{}/postmortem", inc.id);
    let (code, body) = w.app.post(&path, &w.app.admin_key, json!({})).await;
    assert_eq!(code, 202, "{body}");
    drain_in_real_time(&w.app).await;

    let (code, _, body) = get(&w.app, &path).await;
    assert_eq!(code, 200, "{body}");
    let pm: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((pm["version"].as_u64(), pm["model"]["model"].as_str()), (Some(1), Some("sandbox-gpt")), "{pm}");
    assert!(pm["material"]["chat_messages"].as_u64().unwrap() >= 3, "the captured @mentions: {pm}");
    assert_eq!(pm["review"]["root_cause"]["confirmed"], true, "{pm}");
    let (code, kind, md) = get(&w.app, &format!("{path}?format=markdown")).await;
    assert_eq!((code, kind.as_str()), (200, "text/markdown; charset=utf-8"));
    assert!(md.starts_with("# Post-mortem: Checkout errors e1\n") && md.contains("TODO add a pool saturation alarm"), "{md}");
    let prompt = postmortem_prompt(&w.llm);
    assert!(TALK.iter().all(|(_, t)| prompt.contains(t)), "the room's talk was in the prompt");
    let announced: Vec<String> = w.notices().into_iter().filter(|t| t.contains("Post-mortem draft v1 is ready")).collect();
    assert_eq!(announced.len(), 1, "{:?}", w.notices());
    assert_eq!(w.sandbox.rate_limited_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_resolve_the_postmortem_is_drafted_from_the_transcript_captured_before_the_group_was_disbanded() {
    let w = dingtalk(|_| {}).await;
    w.llm.set_chunk_delay(std::time::Duration::ZERO);
    let (code, body) = w.app.put_json("/api/v1/settings", json!({"postmortem_on_resolve": true, "auto_dismiss_after_minutes": 0})).await;
    assert_eq!(code, 200, "{body}");
    for (user, text) in TALK {
        w.mention(user, text).await;
    }
    drain_in_real_time(&w.app).await;
    assert_eq!(w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "resolved", 60, &["Ada", "Bob"])).await.0, 202);
    drain_in_real_time(&w.app).await;

    let inc = w.app.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::Dismissed);
    assert!(w.sandbox.group(&w.ocid).unwrap().disbanded, "the scene group is disbanded");
    let (code, _, body) = get(&w.app, &format!("/api/v1/incidents/{}/postmortem", inc.id)).await;
    assert_eq!(code, 200, "{body}");
    let pm: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(pm["requested_by"], json!({"kind": "system"}));
    assert_eq!(pm["material"]["transcript"], "captured", "{pm}");
    assert!(pm["material"]["chat_messages"].as_u64().unwrap() >= 3, "{pm}");
    let prompt = postmortem_prompt(&w.llm);
    assert!(TALK.iter().all(|(_, t)| prompt.contains(t)), "drafted from what the group said before it was disbanded");
    let (code, _, md) = get(&w.app, &format!("/api/v1/incidents/{}/postmortem?format=markdown", inc.id)).await;
    assert!(code == 200 && md.contains("connection pool"), "{md}");
}
