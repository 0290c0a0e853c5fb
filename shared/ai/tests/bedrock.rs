//! The Bedrock adapter — the real AWS SDK, signing and all — against the Bedrock sandbox over
//! HTTP (`warroom_sandbox::bedrock`, which speaks ConverseStream's event-stream framing).

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockruntime::config::{Credentials, SharedCredentialsProvider};
use warroom_ai::{Bedrock, Timeouts, THROTTLED_RETRY_AFTER};
use warroom_core::{ChatModel, ChatRequest, ChatTurn, FinishReason, ModelError, ModelEvent, ModelProvider, ModelSettings, ModelStream, TokenUsage};
use warroom_sandbox::bedrock::{BedrockSandbox, DEFAULT_MODEL_ID};

/// Static test credentials (the log scan finds `SECRET` literals by name).
const TEST_ACCESS_KEY_ID: &str = "AKIDBEDROCKTEST";
const TEST_SECRET_ACCESS_KEY: &str = "bedrock-test-SECRET-do-not-log-0123456789";

fn http() -> reqwest::Client {
    warroom_platforms::tls::http_client_builder().connect_timeout(Duration::from_secs(2)).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn start() -> (BedrockSandbox, String) {
    let sb = BedrockSandbox::default();
    let endpoint = sb.serve_local().await.unwrap();
    (sb, endpoint)
}

fn model_at(endpoint: &str, model_id: &str) -> Bedrock {
    let settings = ModelSettings {
        provider: ModelProvider::Bedrock { model_id: model_id.into(), region: Some("eu-west-1".into()), endpoint_url: Some(endpoint.into()) },
        max_output_tokens: 600,
    };
    let credentials = Credentials::new(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, None, None, "tests");
    let sdk = SdkConfig::builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .region(Region::new("us-east-1"))
        .behavior_version(BehaviorVersion::latest())
        .build();
    Bedrock::new(&settings, http()).unwrap().with_sdk_config(sdk)
}

fn model(endpoint: &str) -> Bedrock {
    model_at(endpoint, DEFAULT_MODEL_ID)
}

fn question() -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatTurn::system("You help run an incident.\nIncident: Checkout DB down in eu-west"),
            ChatTurn::user("[10:02] alice: failed over to the replica"),
            ChatTurn::user("Question: what is the impact?"),
        ],
        max_output_tokens: 300,
        temperature: Some(0.2),
    }
}

async fn all(stream: &mut Box<dyn ModelStream>) -> Vec<Result<ModelEvent, ModelError>> {
    let mut out = Vec::new();
    while let Some(e) = stream.next().await {
        out.push(e);
    }
    out
}

fn text_of(events: &[Result<ModelEvent, ModelError>]) -> String {
    events.iter().filter_map(|e| if let Ok(ModelEvent::Delta(t)) = e { Some(t.as_str()) } else { None }).collect()
}

fn assert_no_secret(e: &ModelError) {
    let shown = format!("{e:?} {e}");
    assert!(!shown.contains(TEST_SECRET_ACCESS_KEY), "the secret leaked: {shown}");
}

#[tokio::test]
async fn streamed_text_arrives_in_order_as_deltas_then_usage_then_the_finish() {
    let (sb, endpoint) = start().await;
    sb.set_chunk_chars(5);
    let mut stream = model(&endpoint).stream(&question()).await.unwrap();
    let events = all(&mut stream).await;
    let deltas = events.iter().filter(|e| matches!(e, Ok(ModelEvent::Delta(_)))).count();
    let sent = sb.last_request().unwrap();
    assert!(deltas > 5, "the answer came in pieces: {deltas}");
    assert_eq!(text_of(&events), sent.answer, "every delta, in order");
    let n = events.len();
    let Ok(ModelEvent::Usage(usage)) = &events[n - 2] else { panic!("usage before the finish: {events:?}") };
    assert_eq!(usage.output, sent.answer.len().div_ceil(4) as u32);
    assert!(usage.input > 0);
    assert_eq!(events[n - 1], Ok(ModelEvent::Finished { reason: FinishReason::Stop }));
}

#[tokio::test]
async fn the_request_carries_the_system_prompt_alternating_messages_and_the_inference_settings() {
    let (sb, endpoint) = start().await;
    let done = model(&endpoint).complete(&question()).await.unwrap();
    // The sandbox's echo quotes what the model was given.
    assert!(done.text.contains(r#"incident="Incident: Checkout DB down in eu-west""#), "{}", done.text);
    assert!(done.text.contains(r#"question="what is the impact?""#), "{}", done.text);
    let seen = sb.last_request().unwrap();
    assert_eq!(seen.model_id, DEFAULT_MODEL_ID, "the id with its colon, through the path");
    let request = seen.request.unwrap();
    assert_eq!(request.system, ["You help run an incident.\nIncident: Checkout DB down in eu-west"]);
    assert_eq!(request.messages.len(), 1, "two user turns become one message");
    assert_eq!(request.messages[0].role, "user");
    assert_eq!(request.blocks, [2], "one content block per turn");
    assert_eq!((request.max_tokens, request.temperature.map(|t| (t * 10.0).round())), (Some(300), Some(2.0)));
    let scope = seen.scope.unwrap();
    assert!(scope.scope.ends_with("/eu-west-1/bedrock/aws4_request"), "the settings' region, Bedrock's signing name: {}", scope.scope);
    assert!(!seen.headers.iter().any(|(k, v)| k == "authorization" || v.contains(TEST_SECRET_ACCESS_KEY)));
    assert_eq!(done.usage.map(|u| u.output), Some(done.text.len().div_ceil(4) as u32));
}

#[tokio::test]
async fn text_is_handed_on_as_it_arrives_not_when_the_answer_ends() {
    let (sb, endpoint) = start().await;
    sb.set_chunk_chars(10);
    sb.set_chunk_delay(Duration::from_millis(150));
    let started = Instant::now();
    let mut stream = model(&endpoint).stream(&question()).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    let first_at = started.elapsed();
    assert!(matches!(first, ModelEvent::Delta(_)), "{first:?}");
    let rest = all(&mut stream).await;
    let total = started.elapsed();
    assert!(rest.len() > 5);
    assert!(first_at * 3 < total, "the first delta came at {first_at:?}, the whole answer at {total:?}: the body was buffered");
}

#[tokio::test]
async fn throttling_is_a_rate_limit_with_a_wait_and_the_sdk_does_not_retry_it_itself() {
    let (sb, endpoint) = start().await;
    let m = model(&endpoint);
    sb.throttle_next();
    let e = m.stream(&question()).await.err().unwrap();
    assert_eq!(e, ModelError::RateLimited { retry_after: Some(THROTTLED_RETRY_AFTER) });
    assert!(e.is_retryable());
    assert_eq!(sb.requests().len(), 1, "one attempt: the caller defers, nothing sleeps in the handler");
    assert!(m.complete(&question()).await.is_ok(), "the retry goes through");
}

#[tokio::test]
async fn a_stream_broken_midway_is_a_retryable_error_after_the_text_that_arrived() {
    let (sb, endpoint) = start().await;
    sb.set_chunk_chars(4);
    sb.break_next_stream(3);
    let mut stream = model(&endpoint).stream(&question()).await.unwrap();
    let events = all(&mut stream).await;
    assert_eq!(text_of(&events), sb.last_request().unwrap().answer, "the three deltas sent");
    assert_eq!(text_of(&events).chars().count(), 12);
    let last = events.last().unwrap().clone().unwrap_err();
    assert!(matches!(last, ModelError::StreamBroken(_)), "{last:?}");
    assert!(last.is_retryable());
    assert_no_secret(&last);
}

#[tokio::test]
async fn exception_frames_in_the_stream_map_by_their_type() {
    let (sb, endpoint) = start().await;
    let m = model(&endpoint);
    for (kind, expect_retryable) in [("modelStreamErrorException", true), ("throttlingException", true), ("validationException", false)] {
        sb.exception_next_stream(1, kind, "the model said no");
        let mut stream = m.stream(&question()).await.unwrap();
        let events = all(&mut stream).await;
        let e = events.last().unwrap().clone().unwrap_err();
        assert_eq!(e.is_retryable(), expect_retryable, "{kind}: {e:?}");
        match kind {
            "throttlingException" => assert_eq!(e.retry_after(), Some(THROTTLED_RETRY_AFTER)),
            "validationException" => assert!(matches!(&e, ModelError::BadRequest(m) if m.contains("the model said no")), "{e:?}"),
            _ => assert!(matches!(e, ModelError::StreamBroken(_)), "{e:?}"),
        }
    }
}

#[tokio::test]
async fn validation_access_missing_models_and_outages_map_to_what_the_caller_should_do() {
    let (sb, endpoint) = start().await;
    let m = model(&endpoint);
    sb.fail_next("ValidationException", "Malformed input request");
    let e = m.stream(&question()).await.err().unwrap();
    assert!(matches!(&e, ModelError::BadRequest(msg) if msg.contains("Malformed input request")), "{e:?}");
    let e = model_at(&endpoint, "no.such-model-v1:0").stream(&question()).await.err().unwrap();
    assert!(matches!(&e, ModelError::BadRequest(msg) if msg.contains("model identifier is invalid")), "{e:?}");
    let e = model_at(&endpoint, "anthropic.claude-3-opus-20240229-v1:0").stream(&question()).await.err().unwrap();
    assert!(matches!(e, ModelError::Unauthorized(_)), "{e:?}");
    sb.fail_next("ResourceNotFoundException", "Model not found");
    assert!(matches!(m.stream(&question()).await.err().unwrap(), ModelError::ModelNotFound(_)));
    for outage in ["ServiceUnavailableException", "InternalServerException", "ModelTimeoutException"] {
        sb.fail_next(outage, "try later");
        let e = m.stream(&question()).await.err().unwrap();
        assert!(matches!(e, ModelError::Unavailable(_)), "{outage}: {e:?}");
        assert_no_secret(&e);
    }
}

#[tokio::test]
async fn slow_chunks_within_the_idle_limit_arrive_and_silence_beyond_it_breaks_the_stream() {
    let (sb, endpoint) = start().await;
    let timeouts = Timeouts { first_byte: Duration::from_secs(5), idle: Duration::from_millis(400) };
    sb.set_chunk_chars(30);
    sb.set_chunk_delay(Duration::from_millis(100));
    let done = model(&endpoint).with_timeouts(timeouts).complete(&question()).await.unwrap();
    assert_eq!(done.finish, FinishReason::Stop);
    sb.stall_next_stream(1, None);
    let mut stream = model(&endpoint).with_timeouts(timeouts).stream(&question()).await.unwrap();
    let events = all(&mut stream).await;
    assert_eq!(events.iter().filter(|e| matches!(e, Ok(ModelEvent::Delta(_)))).count(), 1);
    assert!(matches!(events.last().unwrap(), Err(ModelError::StreamBroken(m)) if m.contains("nothing received")), "{events:?}");
}

#[tokio::test]
async fn an_answer_cut_at_the_token_cap_finishes_with_length() {
    let (_sb, endpoint) = start().await;
    let mut short = question();
    short.max_output_tokens = 5;
    let done = model(&endpoint).complete(&short).await.unwrap();
    assert_eq!(done.finish, FinishReason::Length);
    assert_eq!(done.text.len(), 20, "5 tokens of 4 bytes: {}", done.text);
    assert_eq!(done.usage, Some(TokenUsage { input: done.usage.unwrap().input, output: 5 }));
}
