//! Streaming: the chunk sequence, usage, [DONE], chunk size, and slow / broken / stalled streams.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{body, read_sse, start, streaming, Fx, KEY, MODEL};

const IDLE: Duration = Duration::from_secs(5);

async fn stream(fx: &Fx, b: &Value) -> reqwest::Response {
    let resp = fx.post("/v1/chat/completions", Some(KEY), b).await;
    assert_eq!(resp.status(), 200);
    resp
}

#[tokio::test]
async fn a_stream_is_role_then_content_then_finish_then_usage_then_done() {
    let fx = start().await;
    let resp = stream(&fx, &streaming(body("Incident: INC-1 db down", "status?"), true)).await;
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let sse = read_sse(resp, IDLE).await;
    assert!(sse.done && !sse.broken, "{sse:?}");
    let first = &sse.chunks[0];
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["model"], MODEL);
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    let id = first["id"].clone();
    assert!(sse.chunks.iter().all(|c| c["id"] == id && c["created"] == first["created"]), "one id and timestamp for all chunks");
    let n = sse.chunks.len();
    let (finish, usage) = (&sse.chunks[n - 2], &sse.chunks[n - 1]);
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(finish["choices"][0]["delta"], json!({}));
    assert_eq!(usage["choices"], json!([]), "the usage chunk has no choices");
    assert!(sse.chunks[..n - 1].iter().all(|c| c["usage"].is_null()), "usage is null before the last chunk");
    let text = sse.text();
    assert_eq!(text, "[llm-sandbox] messages=2 | incident=\"Incident: INC-1 db down\" | question=\"status?\" | latest=-");
    assert_eq!(usage["usage"]["completion_tokens"], text.len().div_ceil(4));
    assert_eq!(fx.sb.last_request().unwrap().delivery.as_deref(), Some("complete"));
}

#[tokio::test]
async fn without_include_usage_there_is_no_usage_chunk_and_chunks_follow_the_chunk_size() {
    let fx = start().await;
    fx.sb.set_chunk_chars(5);
    fx.sb.set_next_answer("abcdefghijklm");
    let sse = read_sse(stream(&fx, &streaming(body("s", "q"), false)).await, IDLE).await;
    assert!(sse.done);
    assert!(sse.chunks.iter().all(|c| c.get("usage").is_none() && !c["choices"].as_array().unwrap().is_empty()));
    let pieces: Vec<&str> = sse.content_chunks().iter().map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap()).collect();
    assert_eq!(pieces, ["abcde", "fghij", "klm"]);
}

#[tokio::test]
async fn max_tokens_cuts_a_stream_with_finish_reason_length() {
    let fx = start().await;
    let mut b = streaming(body("s", "q"), true);
    b["max_completion_tokens"] = json!(2);
    let sse = read_sse(stream(&fx, &b).await, IDLE).await;
    assert_eq!(sse.text(), "[llm-san", "2 tokens = 8 bytes");
    let n = sse.chunks.len();
    assert_eq!(sse.chunks[n - 2]["choices"][0]["finish_reason"], "length");
    assert_eq!(sse.chunks[n - 1]["usage"]["completion_tokens"], 2);
}

#[tokio::test]
async fn a_slow_stream_spaces_its_chunks_by_the_delay() {
    let fx = start().await;
    fx.sb.set_chunk_delay(Duration::from_millis(80));
    fx.sb.set_chunk_chars(4);
    fx.sb.set_next_answer("aaaabbbbcccc");
    let t0 = Instant::now();
    let sse = read_sse(stream(&fx, &streaming(body("s", "q"), false)).await, IDLE).await;
    assert!(sse.done);
    // role, 3 content chunks, finish, [DONE]: 5 pauses of 80 ms.
    assert!(t0.elapsed() >= Duration::from_millis(400), "{:?}", t0.elapsed());
    let gap = sse.at[2] - sse.at[1];
    assert!(gap >= Duration::from_millis(60), "content chunks arrive apart: {gap:?}");
}

#[tokio::test]
async fn a_broken_stream_ends_early_without_done() {
    let fx = start().await;
    fx.sb.set_chunk_chars(4);
    fx.sb.set_next_answer("aaaabbbbccccdddd");
    fx.sb.break_next_stream(2);
    let sse = read_sse(stream(&fx, &streaming(body("s", "q"), true)).await, IDLE).await;
    assert!(!sse.done, "no [DONE] on a broken stream");
    assert!(sse.broken, "the client sees a transport error, not a clean end");
    assert_eq!(sse.text(), "aaaabbbb");
    assert!(sse.chunks.iter().all(|c| c["choices"][0]["finish_reason"].is_null()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(fx.sb.last_request().unwrap().delivery.as_deref(), Some("broken"));
    // The next stream is whole again.
    assert!(read_sse(stream(&fx, &streaming(body("s", "q"), false)).await, IDLE).await.done);
}

#[tokio::test]
async fn a_stalled_stream_goes_silent_then_resumes_or_stays_silent_until_the_client_leaves() {
    let fx = start().await;
    fx.sb.set_chunk_chars(4);
    fx.sb.set_next_answer("aaaabbbb");
    fx.sb.stall_next_stream(1, Some(Duration::from_millis(300)));
    let sse = read_sse(stream(&fx, &streaming(body("s", "q"), false)).await, IDLE).await;
    assert!(sse.done && sse.text() == "aaaabbbb");
    assert!(sse.at[2] - sse.at[1] >= Duration::from_millis(250), "silence between the 1st and 2nd content chunk: {:?}", sse.at);

    fx.sb.stall_next_stream(0, None);
    let sse = read_sse(stream(&fx, &streaming(body("s", "q"), false)).await, Duration::from_millis(300)).await;
    assert!(!sse.done && !sse.broken && sse.chunks.len() == 1, "only the role chunk, then nothing: {sse:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fx.sb.last_request().unwrap().delivery.as_deref(), Some("client_gone"), "dropping the response ends the stall");
}

#[tokio::test]
async fn a_broken_json_answer_reaches_the_client_half_written() {
    let fx = start().await;
    fx.sb.break_next_stream(0);
    let resp = fx.post("/v1/chat/completions", Some(KEY), &body("s", "q")).await;
    assert_eq!(resp.status(), 200, "the head went out before the break");
    assert!(resp.json::<Value>().await.is_err(), "the body is cut short");
    assert_eq!(fx.chat(&body("s", "q")).await.0, 200, "the next answer is whole");
}
