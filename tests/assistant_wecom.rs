//! The assistant and the post-mortem on WeCom, end to end over real HTTP both ways: an app
//! group with the smart bot (the WeCom sandbox, whose bot polls streams as WeCom does), the
//! tenant's model the LLM sandbox. An @mention of the bot is answered passively with a
//! `stream` ("Thinking…"); each stream-refresh callback, encrypted and signed like every bot
//! callback, gets the answer as the worker has written it so far, until `finish: true` with
//! the sources. A refresh for a stream the integration does not know is ended with a clear
//! message. The post-mortem is drafted from what Warroom captured (no history API), stored,
//! served as JSON and Markdown and announced in the group; on resolve, from the transcript
//! captured before the group was closed.

mod common;

use common::cn_assistant::{drain_in_real_time, get, postmortem_prompt, wecom, TALK, WC_AGENT};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use warroom_core::*;
use warroom_sandbox::wecom::Sender;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_at_mention_is_answered_with_a_stream_whose_refreshes_grow_until_it_finishes_with_its_sources() {
    let w = wecom().await;
    w.mention("bob", "db failover started at 10:02").await;
    drain_in_real_time(&w.app).await;
    let asked = Instant::now();
    let reply = w.mention("ada", "what is the state of the failover?").await.expect("a passive reply");
    assert_eq!((reply["msgtype"].as_str(), reply["stream"]["finish"].as_bool()), (Some("stream"), Some(false)), "{reply}");
    assert_eq!(reply["stream"]["content"], "Thinking…");
    let id = reply["stream"]["id"].as_str().unwrap().to_string();
    drain_in_real_time(&w.app).await;
    assert!(w.sandbox.streams_settled(Duration::from_secs(20)).await, "the stream finished: {:?}", w.sandbox.view().streams);
    let settled = asked.elapsed();

    let view = w.sandbox.view();
    let stream = view.streams.iter().find(|s| s.id == id).expect("the stream");
    assert!(stream.finish && stream.polls >= 3, "several refreshes: {} polls", stream.polls);
    let last = stream.shown.last().unwrap();
    assert!(last.starts_with("[llm-sandbox]") && last.contains("question=\"what is the state of the failover?\""), "{last}");
    assert!(last.contains("Sources: ") && last.contains("AI-generated"), "finished with its sources: {last}");
    let distinct: Vec<&String> = stream.shown.iter().fold(Vec::new(), |mut v, s| {
        if v.last() != Some(&s) {
            v.push(s);
        }
        v
    });
    let answer_steps = distinct.iter().filter(|s| s.starts_with("[llm-sandbox]")).count();
    assert!(answer_steps >= 2, "the content grew over several refreshes: {distinct:?}");
    assert!(distinct.windows(2).skip(1).all(|p| p[1].len() >= p[0].len()), "only grows: {distinct:?}");
    // The group shows the answer once, as the bot's stream message; no second answer.
    let chat = w.sandbox.chat(&w.chatid).unwrap();
    let answers = chat.messages.iter().filter(|m| matches!(m.sender, Sender::Bot(_)) && m.text.contains("state of the failover")).count();
    assert_eq!(answers, 1, "{:?}", chat.messages.iter().map(|m| &m.text).collect::<Vec<_>>());
    assert!(w.sandbox.calls().iter().all(|c| c.errcode != 45009 && c.errcode != 45033), "no call over WeCom's limits");

    let prompt = serde_json::to_string(&w.llm.last_request().unwrap().messages).unwrap();
    assert!(prompt.contains("db failover started at 10:02"), "the captured @mention was in the prompt");
    let inc = w.app.incident("e1").await;
    let noted = w.app.timeline(&inc).await.into_iter().rfind(|e| e.action == TimelineAction::AssistantAnswered).expect("on the timeline");
    println!("wecom answer: {} refreshes, {} distinct contents, settled after {settled:?}; {}", stream.polls, distinct.len(), noted.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_for_a_stream_this_integration_does_not_know_is_finished_with_a_clear_message() {
    let w = wecom().await;
    let reply = w.mention("ada", "what changed?").await.unwrap();
    let id = reply["stream"]["id"].as_str().unwrap().to_string();
    drain_in_real_time(&w.app).await;
    assert!(w.sandbox.streams_settled(Duration::from_secs(20)).await);
    // A signed refresh for a stream id this integration never handed out (or one expired).
    let exchange = w.sandbox.send_stream_refresh(&w.url, WC_AGENT, "wrs-not-ours", &w.chatid, "ada").await.unwrap();
    let told = exchange.reply.expect("answered");
    assert_eq!(told["stream"]["finish"], true);
    assert!(told["stream"]["content"].as_str().unwrap().contains("no longer available"), "{told}");
    // The real stream, asked again after it finished, still reads finished with its answer.
    let again = w.sandbox.send_stream_refresh(&w.url, WC_AGENT, &id, &w.chatid, "ada").await.unwrap().reply.unwrap();
    assert_eq!(again["stream"]["finish"], true);
    assert!(again["stream"]["content"].as_str().unwrap().contains("Sources: "), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postmortem_asked_while_the_group_is_open_is_stored_served_as_json_and_markdown_and_announced_in_the_group() {
    let w = wecom().await;
    w.llm.set_chunk_delay(Duration::ZERO);
    for (user, text) in TALK {
        w.mention(user, text).await;
    }
    drain_in_real_time(&w.app).await;
    let inc = w.app.incident("e1").await;
    let path = format!("/api/v1/incidents/{}/postmortem", inc.id);
    assert_eq!(w.app.post(&path, &w.app.admin_key, json!({})).await.0, 202);
    drain_in_real_time(&w.app).await;

    let (code, _, body) = get(&w.app, &path).await;
    assert_eq!(code, 200, "{body}");
    let pm: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(pm["version"], 1, "{pm}");
    assert_eq!(pm["material"]["transcript"], "captured", "WeCom has no history API: {pm}");
    assert!(pm["material"]["chat_messages"].as_u64().unwrap() >= 3, "{pm}");
    let (code, kind, md) = get(&w.app, &format!("{path}?format=markdown")).await;
    assert_eq!((code, kind.as_str()), (200, "text/markdown; charset=utf-8"));
    assert!(md.starts_with("# Post-mortem: Checkout errors e1\n") && md.contains("TODO add a pool saturation alarm"), "{md}");
    let prompt = postmortem_prompt(&w.llm);
    assert!(TALK.iter().all(|(_, t)| prompt.contains(t)), "the room's talk was in the prompt");
    let announced = w.texts().into_iter().filter(|t| t.contains("Post-mortem draft v1 is ready")).count();
    assert_eq!(announced, 1, "{:?}", w.texts());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_resolve_the_postmortem_is_drafted_from_the_transcript_captured_before_the_group_was_closed() {
    let w = wecom().await;
    w.llm.set_chunk_delay(Duration::ZERO);
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
    assert!(w.sandbox.chat(&w.chatid).unwrap().name.starts_with("[Closed]"), "closed (WeCom cannot disband app groups)");
    let (code, _, body) = get(&w.app, &format!("/api/v1/incidents/{}/postmortem", inc.id)).await;
    assert_eq!(code, 200, "{body}");
    let pm: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((pm["requested_by"].clone(), pm["material"]["transcript"].clone()), (json!({"kind": "system"}), json!("captured")), "{pm}");
    let prompt = postmortem_prompt(&w.llm);
    assert!(TALK.iter().all(|(_, t)| prompt.contains(t)), "drafted from what the group said before it was closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_question_past_the_rooms_answer_limit_has_its_stream_closed_with_when_to_ask_again() {
    let w = wecom().await;
    let mut ids = Vec::new();
    for question in ["what changed?", "who is on it?", "and the replica lag?"] {
        let reply = w.mention("ada", question).await.expect("a passive reply");
        ids.push(reply["stream"]["id"].as_str().unwrap().to_string());
    }
    drain_in_real_time(&w.app).await;
    assert!(w.sandbox.streams_settled(Duration::from_secs(20)).await, "every stream finished: {:?}", w.sandbox.view().streams);
    let view = w.sandbox.view();
    let last = |id: &str| view.streams.iter().find(|s| s.id == id).and_then(|s| s.shown.last().cloned()).unwrap_or_default();
    // Two at once per room: the first two are answered, the third told when to ask again —
    // in its own stream, not left at "Thinking…" until WeCom gives up.
    assert!(last(&ids[0]).starts_with("[llm-sandbox]") && last(&ids[1]).starts_with("[llm-sandbox]"), "{:?}", view.streams);
    assert!(last(&ids[2]).contains("ask again in"), "{:?}", view.streams);
    let chat = w.sandbox.chat(&w.chatid).unwrap();
    let told: Vec<_> = chat.messages.iter().filter(|m| m.text.contains("ask again in")).collect();
    assert!(told.len() == 1 && matches!(told[0].sender, Sender::Bot(_)), "said once, as the bot's stream: {:?}", w.texts());
}
