//! Answers made from the request, canned answers, the post-mortem mode, tokens, the recording.

use serde_json::{json, Value};
use warroom_sandbox::llm::count_tokens;

use crate::support::{body, start, KEY, MODEL};

const SYSTEM: &str = "You are the war room's assistant.\nIncident: INC-42 checkout latency in eu-west\nSeverity: SEV2\nRecent chat:\n[09:58] alice: p99 is at 4s\n[10:03] Bob: rolled back release 1.8.2";

#[tokio::test]
async fn a_non_streaming_answer_has_openais_shape_and_usage_counts_four_bytes_per_token() {
    let fx = start().await;
    let (status, v) = fx.chat(&body(SYSTEM, "What is the impact?")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(v["created"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(v["model"], MODEL);
    let choice = &v["choices"][0];
    assert_eq!((choice["index"].clone(), choice["message"]["role"].clone(), choice["finish_reason"].clone()), (json!(0), json!("assistant"), json!("stop")));
    let content = choice["message"]["content"].as_str().unwrap();
    let prompt = count_tokens(SYSTEM) + count_tokens("What is the impact?");
    assert_eq!(v["usage"], json!({"prompt_tokens": prompt, "completion_tokens": count_tokens(content), "total_tokens": prompt + count_tokens(content)}));
}

#[tokio::test]
async fn the_answer_says_what_the_model_was_given() {
    let fx = start().await;
    let (_, v) = fx.chat(&body(SYSTEM, "Context is above.\nQuestion: What is the impact on \"checkout\"?")).await;
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "[llm-sandbox] messages=2 | incident=\"Incident: INC-42 checkout latency in eu-west\" | question=\"What is the impact on 'checkout'?\" | latest=\"Bob: rolled back release 1.8.2\""
    );
    // The array-of-parts form reads the same, and an answer without those lines says `-`.
    let parts =
        json!({"model": MODEL, "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}, {"type": "text", "text": "why is it down?"}]}]});
    let (status, v) = fx.chat(&parts).await;
    assert_eq!(status, 200);
    assert_eq!(v["choices"][0]["message"]["content"], "[llm-sandbox] messages=1 | incident=- | question=\"why is it down?\" | latest=-");
}

#[tokio::test]
async fn a_canned_answer_is_used_once_then_answers_are_made_from_the_request_again() {
    let fx = start().await;
    fx.sb.set_next_answer("Checkout is degraded for EU users.");
    let (_, first) = fx.chat(&body(SYSTEM, "impact?")).await;
    let (_, second) = fx.chat(&body(SYSTEM, "impact?")).await;
    assert_eq!(first["choices"][0]["message"]["content"], "Checkout is degraded for EU users.");
    assert!(second["choices"][0]["message"]["content"].as_str().unwrap().starts_with("[llm-sandbox] "));
}

#[tokio::test]
async fn a_system_prompt_asking_for_json_gets_a_postmortem_built_only_from_the_prompt() {
    let fx = start().await;
    let system = format!("{SYSTEM}\n[10:09] carol: TODO add a latency alarm\nWrite the postmortem as JSON.");
    let (_, v) = fx.chat(&body(&system, "Draft it.")).await;
    let pm: Value = serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).expect("the answer is JSON");
    assert_eq!(pm["title"], "Incident: INC-42 checkout latency in eu-west");
    assert_eq!(pm["participants"], json!(["alice", "Bob", "carol"]));
    assert_eq!(pm["timeline"][0], json!({"at": "09:58", "who": "alice", "event": "p99 is at 4s"}));
    assert_eq!(pm["action_items"][0]["item"], "TODO add a latency alarm");
}

#[tokio::test]
async fn max_tokens_cuts_the_answer_and_says_length() {
    let fx = start().await;
    let mut b = body(SYSTEM, "impact?");
    b["max_tokens"] = json!(3);
    let (_, v) = fx.chat(&b).await;
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["choices"][0]["message"]["content"], "[llm-sandbox", "3 tokens = 12 bytes");
    assert_eq!(v["usage"]["completion_tokens"], 3);
    // The newer name works too, and a roomy limit does not cut.
    let mut b = body(SYSTEM, "impact?");
    b["max_completion_tokens"] = json!(4000);
    let (_, v) = fx.chat(&b).await;
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(fx.sb.last_request().unwrap().max_tokens, Some(4000));
}

#[tokio::test]
async fn the_recording_holds_the_request_and_a_fingerprint_but_never_the_key() {
    let fx = start().await;
    let mut b = body(SYSTEM, "impact?");
    b["temperature"] = json!(0.2);
    let resp = fx.http.post(format!("{}/v1/chat/completions", fx.base)).bearer_auth(KEY).header("x-trace-id", "trace-7").json(&b).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let r = fx.sb.last_request().unwrap();
    assert_eq!((r.api.as_str(), r.model.as_deref(), r.messages.len(), r.temperature, r.stream), ("openai", Some(MODEL), 2, Some(0.2), false));
    assert_eq!(r.messages[1].content, "impact?");
    assert!(r.auth.passed && r.auth.scheme == "bearer");
    assert!(r.auth.key_fingerprint.as_deref().unwrap().starts_with("sha256:"));
    assert!(r.headers.iter().any(|(k, v)| k == "x-trace-id" && v == "trace-7"), "other headers are kept");
    assert!(r.headers.iter().all(|(k, _)| k != "authorization"));
    assert!(r.received_at <= r.responded_at && r.finished_at.is_some());
    assert!(!fx.sb.contains_anywhere(KEY), "the key is nowhere in the recording");
    assert!(!serde_json::to_string(&fx.sb.view()).unwrap().contains(KEY), "nor in the view");
    assert!(fx.sb.contains_anywhere("rolled back release 1.8.2"), "the check does see prompt text");
}

#[tokio::test]
async fn the_largest_prompt_is_kept_and_a_context_window_refuses_longer_requests() {
    let fx = start().await;
    fx.chat(&body("s", &"x".repeat(400))).await;
    fx.chat(&body("s", "short")).await;
    assert_eq!(fx.sb.max_prompt_tokens(), 1 + 100);
    fx.sb.set_context_window(Some(150));
    let mut b = body("s", &"x".repeat(400));
    b["max_tokens"] = json!(100);
    let (status, v) = fx.chat(&b).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "context_length_exceeded");
    assert_eq!(v["error"]["param"], "messages");
}
