//! The AI post-mortem end to end (issue 13, item 4): a Slack war room (the Slack sandbox),
//! the tenant's model an OpenAI-compatible server (the LLM sandbox), the API over real HTTP.
//! Asked through the API or with "@bot postmortem", drafted from the room's chat, stored in
//! versions, served as JSON and Markdown, announced in the room; on resolve when the tenant
//! wants it, from the transcript taken before the room is dismissed. A name the model makes
//! up is removed and the removal said.

mod common;

use common::assistant_world::{start, World};
use serde_json::{json, Value};
use warroom_core::*;
use warroom_sandbox::llm::DEFAULT_API_KEY;

/// The room with a model that streams at once (a post-mortem is long; the answers' tests
/// slow it down to see edits).
async fn world() -> World {
    let w = start(DEFAULT_API_KEY).await;
    w.llm.set_chunk_delay(std::time::Duration::ZERO);
    w.llm.set_chunk_chars(64);
    w
}

async fn get(w: &World, path: &str) -> (u16, String, String) {
    let resp = reqwest::Client::new().get(format!("{}{path}", w.app.url)).bearer_auth(&w.app.admin_key).send().await.unwrap();
    let code = resp.status().as_u16();
    let kind = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (code, kind, resp.text().await.unwrap())
}

async fn postmortem_json(w: &World, id: &IncidentId, query: &str) -> Value {
    let (code, _, body) = get(w, &format!("/api/v1/incidents/{id}/postmortem{query}")).await;
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn talk(w: &World) {
    w.say("U_BOB", "p99 latency on checkout is at 4s, customers see timeouts", false).await;
    w.say("U_BOB", "root cause: the connection pool is exhausted, confirmed by the pool metrics", false).await;
    w.say("U_ADA", "we decided to fail over to the replica", false).await;
    w.say("U_ADA", "TODO add a pool saturation alarm", false).await;
}

fn room_texts(w: &World) -> Vec<String> {
    w.slack.channel(&w.channel).unwrap().messages.into_iter().map(|m| m.text).collect()
}

#[tokio::test]
async fn a_postmortem_asked_through_the_api_is_drafted_from_the_room_kept_as_version_one_and_announced_there() {
    let w = world().await;
    talk(&w).await;
    let inc = w.app.incident("e1").await;
    let (code, body) = w.app.post(&format!("/api/v1/incidents/{}/postmortem", inc.id), &w.app.admin_key, json!({})).await;
    assert_eq!((code, body["status"].as_str()), (202, Some("queued")), "{body}");
    let (code, _, _) = get(&w, &format!("/api/v1/incidents/{}/postmortem", inc.id)).await;
    assert_eq!(code, 404, "nothing before the worker drafted it");
    w.app.drain().await;

    let pm = postmortem_json(&w, &inc.id, "").await;
    assert_eq!(pm["version"], 1);
    assert_eq!(pm["model"]["model"], "sandbox-gpt");
    assert_eq!(pm["material"]["transcript"], "history", "read from Slack while the room is open");
    assert!(pm["material"]["chat_messages"].as_u64().unwrap() >= 4, "{pm}");
    let review = &pm["review"];
    assert_eq!(review["root_cause"]["confirmed"], true, "{review}");
    assert_eq!(review["action_items"][0], json!({"item": "TODO add a pool saturation alarm", "owner": "Ada"}), "the member's name, not the IM id: {review}");
    assert_eq!(review["decisions"][0]["by"], "Ada", "{review}");
    assert!(review["impact"].as_str().unwrap().contains("customers see timeouts"), "{review}");
    assert!(pm["usage"]["input"].as_u64().unwrap() > 0, "{pm}");
    assert_eq!(pm["corrections"], json!([]));
    assert_eq!(pm["requested_by"], json!({"kind": "api_key", "label": "tests"}));

    let request = w.llm.last_request().unwrap();
    let system = &request.messages[0].content;
    assert!(system.contains("post-mortem") && system.contains("JSON"), "{system}");
    assert!(!w.llm.contains_anywhere(DEFAULT_API_KEY) && !w.llm.contains_anywhere("signing-secret"), "no secret reached the model");

    let (code, kind, md) = get(&w, &format!("/api/v1/incidents/{}/postmortem?format=markdown", inc.id)).await;
    assert_eq!((code, kind.as_str()), (200, "text/markdown; charset=utf-8"));
    assert!(md.starts_with("# Post-mortem: Checkout errors e1\n"), "{md}");
    assert!(md.contains("## Root cause (confirmed in the war room)"), "{md}");
    assert!(md.contains("- [ ] TODO add a pool saturation alarm — owner: Ada"), "{md}");

    let announced: Vec<String> = room_texts(&w).into_iter().filter(|t| t.contains("Post-mortem draft v1 is ready")).collect();
    assert_eq!(announced.len(), 1, "{:?}", room_texts(&w));
    assert!(announced[0].contains("/postmortem?format=markdown"), "{}", announced[0]);
    let noted = w.app.timeline(&inc).await.into_iter().find(|e| e.action == TimelineAction::PostmortemWritten).expect("on the timeline");
    assert!(noted.detail.contains("version 1") && noted.detail.contains("tokens in") && noted.detail.contains("sandbox-gpt"), "{}", noted.detail);
    assert_eq!(w.app.incident("e1").await.status, Status::Triggered, "drafting changes nothing");
}

#[tokio::test]
async fn regenerating_keeps_the_earlier_version_and_a_name_the_model_made_up_is_removed_and_said() {
    let w = world().await;
    talk(&w).await;
    let inc = w.app.incident("e1").await;
    let path = format!("/api/v1/incidents/{}/postmortem", inc.id);
    assert_eq!(w.app.post(&path, &w.app.admin_key, json!({})).await.0, 202);
    w.app.drain().await;
    let invented = json!({
        "summary": "Pool exhaustion", "impact": "timeouts",
        "decisions": [{"decision": "fail over", "by": "Zed Nobody"}],
        "root_cause": {"text": "pool", "confirmed": false},
        "action_items": [{"item": "alarm", "owner": "Ada"}, {"item": "review limits", "owner": "Mallory"}]
    });
    w.llm.set_next_answer(&format!("Here is the review:\n```json\n{invented}\n```"));
    assert_eq!(w.app.post(&path, &w.app.admin_key, json!({})).await.0, 202);
    w.app.drain().await;

    let v2 = postmortem_json(&w, &inc.id, "").await;
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["versions"].as_array().unwrap().len(), 2);
    assert_eq!(v2["review"]["decisions"][0]["by"], Value::Null);
    assert_eq!(v2["review"]["action_items"][0]["owner"], "Ada");
    assert_eq!(v2["review"]["action_items"][1]["owner"], Value::Null);
    let corrections = v2["corrections"].to_string();
    assert!(corrections.contains("Zed Nobody") && corrections.contains("Mallory") && corrections.contains("named nowhere"), "{corrections}");
    let v1 = postmortem_json(&w, &inc.id, "?version=1").await;
    assert_eq!(v1["version"], 1, "the first draft is kept");
    assert_eq!(v1["review"]["action_items"][0]["owner"], "Ada");
    let (code, _, body) = get(&w, &format!("{path}?version=7")).await;
    assert_eq!(code, 404, "{body}");
    for bad in ["?format=pdf", "?format=", "?version=", "?version=0", "?version=x"] {
        let (code, _, body) = get(&w, &format!("{path}{bad}")).await;
        assert_eq!(code, 400, "{bad}: {body}");
    }
}

#[tokio::test]
async fn at_bot_postmortem_in_the_room_drafts_one_and_a_redelivered_mention_does_not_draft_twice() {
    let w = world().await;
    talk(&w).await;
    w.say("U_ADA", "postmortem", true).await;
    w.app.drain().await;
    let texts = room_texts(&w);
    assert_eq!(texts.iter().filter(|t| t.starts_with("Drafting the post-mortem")).count(), 1, "{texts:?}");
    assert_eq!(texts.iter().filter(|t| t.contains("Post-mortem draft v1 is ready")).count(), 1, "{texts:?}");
    let inc = w.app.incident("e1").await;
    let pm = postmortem_json(&w, &inc.id, "").await;
    assert_eq!(pm["requested_by"]["kind"], "im_user", "{pm}");
    assert_eq!(pm["versions"].as_array().unwrap().len(), 1, "Slack's message and app_mention for one question draft one version");
    assert!(w.llm.requests().iter().all(|r| r.messages[0].content.contains("post-mortem")), "no answer was drafted for it as a question");
}

#[tokio::test]
async fn on_resolve_the_postmortem_is_drafted_from_the_transcript_taken_before_the_room_was_dismissed() {
    let w = world().await;
    let (code, body) = w.app.put_json("/api/v1/settings", json!({"postmortem_on_resolve": true, "auto_dismiss_after_minutes": 0})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["postmortem_on_resolve"], true);
    talk(&w).await;
    assert_eq!(w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "resolved", 60, &["Ada", "Bob"])).await.0, 202);
    w.app.drain().await;

    let inc = w.app.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::Dismissed);
    let pm = postmortem_json(&w, &inc.id, "").await;
    assert_eq!(pm["requested_by"], json!({"kind": "system"}));
    assert!(pm["material"]["chat_messages"].as_u64().unwrap() >= 4, "the chat was in it: {pm}");
    assert_eq!(pm["review"]["action_items"][0]["owner"], "Ada", "{pm}");
    let timeline = w.app.timeline(&inc).await;
    let captured = timeline.iter().position(|e| e.action == TimelineAction::TranscriptCaptured);
    let written = timeline.iter().position(|e| e.action == TimelineAction::PostmortemWritten);
    assert!(captured.is_some() && written.is_some(), "{timeline:?}");
}

#[tokio::test]
async fn the_api_refuses_a_postmortem_without_a_model_and_past_five_a_minute() {
    let app = common::platform_app::PlatformApp::start_without_model().await;
    app.post("/hooks/generic", &app.intake_key, common::event("e9", "triggered", 0, &["Ada"])).await;
    app.drain().await;
    let inc = app.incident("e9").await;
    let path = format!("/api/v1/incidents/{}/postmortem", inc.id);
    let (code, body) = app.post(&path, &app.admin_key, json!({})).await;
    assert_eq!((code, body["error"]["code"].as_str()), (409, Some("model_not_configured")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("WARROOM_MODEL_BASE_URL"), "{body}");

    let w = world().await;
    let inc = w.app.incident("e1").await;
    let path = format!("/api/v1/incidents/{}/postmortem", inc.id);
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(w.app.post(&path, &w.app.admin_key, json!({})).await);
    }
    assert_eq!(codes.iter().map(|(c, _)| *c).collect::<Vec<_>>(), vec![202, 202, 202, 202, 202, 429]);
    assert_eq!(codes[5].1["error"]["code"], "rate_limited", "{:?}", codes[5]);
    let other = w.app.post("/api/v1/incidents/inc_nope/postmortem", &w.app.admin_key, json!({})).await;
    assert_eq!(other.0, 404);
}
