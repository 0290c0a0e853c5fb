//! The Bedrock sandbox over HTTP, read with the SDK's own event-stream decoder
//! (aws-smithy-eventstream): frames that decode with their checksums, events in Bedrock's
//! order, and AWS's errors for unsigned or invalid requests. The SDK adapter's tests
//! (shared/ai/tests/bedrock.rs) drive the rest.

use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_types::event_stream::Message;
use serde_json::{json, Value};
use warroom_sandbox::bedrock::{BedrockSandbox, DEFAULT_MODEL_ID};

/// Well formed, not a real signature: the sandbox checks the shape only.
const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDSANDBOX/20261204/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

async fn post(base: &str, model: &str, auth: Option<&str>, body: &Value) -> reqwest::Response {
    let url = format!("{base}/model/{}/converse-stream", model.replace(':', "%3A"));
    let mut req = reqwest::Client::new().post(url).header("x-amz-date", "20261204T101010Z").json(body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap()
}

fn header(m: &Message, name: &str) -> String {
    m.headers().iter().find(|h| h.name().as_str() == name).and_then(|h| h.value().as_string().ok()).map(|s| s.as_str().to_string()).unwrap_or_default()
}

fn error_type(r: &reqwest::Response) -> String {
    r.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

fn ask(text: &str) -> Value {
    json!({"system": [{"text": "Incident: Payments API 500s"}], "messages": [{"role": "user", "content": [{"text": text}]}], "inferenceConfig": {"maxTokens": 200}})
}

#[tokio::test]
async fn an_answer_is_a_sequence_of_frames_the_sdk_decoder_reads_in_bedrocks_event_order() {
    let sb = BedrockSandbox::default();
    let base = sb.serve_local().await.unwrap();
    let r = post(&base, DEFAULT_MODEL_ID, Some(AUTH), &ask("what broke?")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/vnd.amazon.eventstream");
    let body = r.bytes().await.unwrap();
    let mut rest: &[u8] = &body;
    let mut events = Vec::new();
    while !rest.is_empty() {
        let m = read_message_from(&mut rest).expect("a frame with valid lengths and checksums");
        assert_eq!((header(&m, ":message-type"), header(&m, ":content-type")), ("event".to_string(), "application/json".to_string()));
        events.push((header(&m, ":event-type"), serde_json::from_slice::<Value>(m.payload()).unwrap()));
    }
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"messageStart"));
    assert_eq!(kinds[kinds.len() - 3..], ["contentBlockStop", "messageStop", "metadata"]);
    let text: String = events.iter().filter(|(k, _)| k == "contentBlockDelta").map(|(_, v)| v["delta"]["text"].as_str().unwrap()).collect();
    assert!(text.contains(r#"incident="Incident: Payments API 500s""#) && text.contains(r#"question="what broke?""#), "{text}");
    assert_eq!(events[kinds.len() - 2].1["stopReason"], "end_turn");
    let usage = &events[kinds.len() - 1].1["usage"];
    assert_eq!(usage["outputTokens"], text.len().div_ceil(4) as u64);
    assert_eq!(usage["totalTokens"], usage["inputTokens"].as_u64().unwrap() + usage["outputTokens"].as_u64().unwrap());
    assert_eq!(sb.last_request().unwrap().answer, text);
}

#[tokio::test]
async fn unsigned_invalid_and_unknown_model_requests_get_aws_errors_with_their_type_header() {
    let sb = BedrockSandbox::default();
    let base = sb.serve_local().await.unwrap();
    let r = post(&base, DEFAULT_MODEL_ID, None, &ask("q")).await;
    assert_eq!((r.status().as_u16(), error_type(&r).split(':').next().unwrap().to_string()), (403, "MissingAuthenticationTokenException".to_string()));
    let s3 = AUTH.replace("/bedrock/", "/s3/");
    let r = post(&base, DEFAULT_MODEL_ID, Some(&s3), &ask("q")).await;
    assert_eq!(r.status(), 403);
    assert!(error_type(&r).starts_with("InvalidSignatureException"));
    let r = post(&base, DEFAULT_MODEL_ID, Some(AUTH), &json!({"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]})).await;
    assert_eq!(r.status(), 400);
    assert!(error_type(&r).starts_with("ValidationException:"));
    assert!(r.json::<Value>().await.unwrap()["message"].as_str().unwrap().contains("start with a user message"));
    let r = post(&base, "no.such-model", Some(AUTH), &ask("q")).await;
    assert_eq!((r.status().as_u16(), error_type(&r).starts_with("ValidationException")), (400, true));
    sb.throttle_next();
    let r = post(&base, DEFAULT_MODEL_ID, Some(AUTH), &ask("q")).await;
    assert_eq!((r.status().as_u16(), error_type(&r).starts_with("ThrottlingException")), (429, true));
    assert_eq!(post(&base, DEFAULT_MODEL_ID, Some(AUTH), &ask("q")).await.status(), 200, "one throttle, then answers");
    assert!(sb.requests().iter().all(|r| !r.headers.iter().any(|(k, _)| k == "authorization")), "no credentials recorded");
}

#[tokio::test]
async fn an_exception_knob_ends_the_stream_with_an_exception_frame() {
    let sb = BedrockSandbox::default();
    let base = sb.serve_local().await.unwrap();
    sb.set_chunk_chars(3);
    sb.exception_next_stream(2, "modelStreamErrorException", "stream failed");
    let body = post(&base, DEFAULT_MODEL_ID, Some(AUTH), &ask("q")).await.bytes().await.unwrap();
    let mut rest: &[u8] = &body;
    let mut last = None;
    let mut deltas = 0;
    while !rest.is_empty() {
        let m = read_message_from(&mut rest).unwrap();
        deltas += usize::from(header(&m, ":event-type") == "contentBlockDelta");
        last = Some(m);
    }
    let last = last.unwrap();
    assert_eq!(deltas, 2);
    assert_eq!((header(&last, ":message-type"), header(&last, ":exception-type")), ("exception".into(), "modelStreamErrorException".into()));
    assert_eq!(serde_json::from_slice::<Value>(last.payload()).unwrap()["message"], "stream failed");
}

#[tokio::test]
async fn the_control_routes_arm_the_same_knobs_over_http() {
    let sb = BedrockSandbox::default();
    let base = sb.serve_local().await.unwrap();
    let control = |path: &str, body: Value| reqwest::Client::new().post(format!("{base}/control/{path}")).json(&body).send();
    assert_eq!(control("throttle_next", json!({})).await.unwrap().status(), 200);
    assert_eq!(post(&base, DEFAULT_MODEL_ID, Some(AUTH), &ask("q")).await.status(), 429);
    control("fail_next", json!({"error_type": "AccessDeniedException"})).await.unwrap();
    assert_eq!(post(&base, DEFAULT_MODEL_ID, Some(AUTH), &ask("q")).await.status(), 403);
    control("next_answer", json!({"text": "canned"})).await.unwrap();
    control("settings", json!({"chunk_chars": 2})).await.unwrap();
    let body = post(&base, DEFAULT_MODEL_ID, Some(AUTH), &ask("q")).await.bytes().await.unwrap();
    let mut rest: &[u8] = &body;
    let mut deltas = Vec::new();
    while !rest.is_empty() {
        let m = read_message_from(&mut rest).unwrap();
        if header(&m, ":event-type") == "contentBlockDelta" {
            deltas.push(serde_json::from_slice::<Value>(m.payload()).unwrap()["delta"]["text"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(deltas, ["ca", "nn", "ed"]);
    let last: Value = reqwest::get(format!("{base}/control/requests/last")).await.unwrap().json().await.unwrap();
    assert_eq!((last["seq"].as_u64(), last["answer"].as_str()), (Some(3), Some("canned")));
}
