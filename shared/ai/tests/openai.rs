//! `OpenAiCompatible` against a scripted server: the request it sends, the stream it
//! reads, and every way the provider can fail.

mod support;

use std::time::Duration;
use support::*;
use warroom_ai::{build, OpenAiCompatible, Timeouts};
use warroom_core::{ChatModel, Completion, FinishReason, ModelError, ModelEvent, ModelProvider, ModelSettings, TokenUsage};

async fn model(server: &Server) -> OpenAiCompatible {
    OpenAiCompatible::new(&settings(server.base(), None), http()).unwrap()
}

async fn error_of(answer: Answer) -> ModelError {
    let server = Server::start(vec![answer]).await;
    match model(&server).await.stream(&question()).await {
        Ok(_) => panic!("the request should have failed"),
        Err(e) => e,
    }
}

fn assert_no_key(e: &ModelError) {
    let shown = format!("{e:?} {e}");
    assert!(!shown.contains(KEY), "the key leaked: {shown}");
}

#[tokio::test]
async fn a_streamed_answer_cut_in_awkward_places_arrives_whole_with_usage_and_finish() {
    let first = chunk("The primary 数据库");
    let (a, b) = first.as_bytes().split_at(first.find("数").unwrap() + 1); // mid-character
    let server = Server::start(vec![Answer::sse(vec![
        text(": keep-alive\r\n\r\n"),
        text("da"),
        text("ta: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r"),
        text("\n\r\n"),
        Piece::Bytes(a.to_vec()),
        Piece::Bytes(b.to_vec()),
        text(&chunk(" failed over")[..10]),
        text(&chunk(" failed over")[10..]),
        text("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":null}\n\n"),
        text("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":31,\"completion_tokens\":5,\"total_tokens\":36}}\n"),
        text("\ndata: [DO"),
        text("NE]\n\n"),
    ])])
    .await;
    let mut stream = model(&server).await.stream(&question()).await.unwrap();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.unwrap());
    }
    let text: String = events.iter().filter_map(|e| if let ModelEvent::Delta(t) = e { Some(t.as_str()) } else { None }).collect();
    assert_eq!(text, "The primary 数据库 failed over");
    assert_eq!(events[events.len() - 2..], [ModelEvent::Usage(TokenUsage { input: 31, output: 5 }), ModelEvent::Finished { reason: FinishReason::Length }]);
}

#[tokio::test]
async fn the_request_is_a_streamed_chat_completion_with_usage_a_token_cap_and_a_bearer_key() {
    let server = Server::start(vec![Answer::sse(vec![text(&chunk("ok")), text("data: [DONE]\n\n")])]).await;
    let done = model(&server).await.complete(&question()).await.unwrap();
    assert_eq!(done, Completion { text: "ok".into(), usage: None, finish: FinishReason::Other("unspecified".into()) });
    let seen = server.seen().remove(0);
    assert_eq!(seen.uri.path(), "/v1/chat/completions");
    assert_eq!(seen.headers["authorization"], format!("Bearer {KEY}").as_str());
    assert!(seen.headers.get("api-key").is_none());
    let body = seen.body;
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["max_tokens"], 300, "the request's cap, below the settings' 600");
    assert!(body.get("max_completion_tokens").is_none());
    assert!((body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
    let roles: Vec<&str> = body["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(body["messages"][1]["content"], "What failed?");
}

#[tokio::test]
async fn azure_puts_the_deployment_in_the_path_the_version_in_the_query_and_the_key_in_api_key() {
    let server = Server::start(vec![Answer::sse(vec![text(&chunk("hi")), text("data: [DONE]\n\n")])]).await;
    let azure = OpenAiCompatible::new(&settings(format!("http://{}/", server.addr), Some("2024-10-21")), http()).unwrap();
    assert_eq!(azure.describe().provider, "azure-openai");
    assert_eq!(azure.complete(&question()).await.unwrap().text, "hi");
    let seen = server.seen().remove(0);
    assert_eq!(seen.uri.path(), "/openai/deployments/gpt-4o-mini/chat/completions");
    assert_eq!(seen.uri.query(), Some("api-version=2024-10-21"));
    assert_eq!(seen.headers["api-key"], KEY);
    assert!(seen.headers.get("authorization").is_none());
}

#[tokio::test]
async fn a_429_is_a_rate_limit_with_the_servers_retry_after_in_seconds_or_as_a_date() {
    let mut answer = Answer::json(429, r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#);
    answer.headers.push(("retry-after", "12".into()));
    let e = error_of(answer).await;
    assert_eq!(e, ModelError::RateLimited { retry_after: Some(Duration::from_secs(12)) });
    assert!(e.is_retryable());

    let mut answer = Answer::json(429, "{}");
    let soon = std::time::SystemTime::now() + Duration::from_secs(90);
    answer.headers.push(("retry-after", httpdate::fmt_http_date(soon)));
    let wait = error_of(answer).await.retry_after().unwrap();
    assert!(wait > Duration::from_secs(85) && wait <= Duration::from_secs(90), "{wait:?}");
}

#[tokio::test]
async fn an_exhausted_quota_is_not_retried_but_reported_to_the_admin() {
    let e =
        error_of(Answer::json(429, r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#)).await;
    assert!(matches!(e, ModelError::Unauthorized(ref m) if m.contains("quota")), "{e:?}");
}

#[tokio::test]
async fn a_401_is_unauthorized_and_the_key_the_server_echoes_is_scrubbed() {
    let echo = format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}.","type":"invalid_request_error","code":"invalid_api_key"}}}}"#);
    let e = error_of(Answer::json(401, &echo)).await;
    assert!(matches!(e, ModelError::Unauthorized(ref m) if m.contains("Incorrect API key provided: [redacted]")), "{e:?}");
    assert!(!e.is_retryable());
    assert_no_key(&e);
    assert_no_key(&error_of(Answer::json(403, &echo)).await);
    assert_no_key(&error_of(Answer::json(400, &echo)).await);
    assert_no_key(&error_of(Answer::json(500, &format!("upstream said {KEY}"))).await);
}

#[tokio::test]
async fn the_key_and_the_base_urls_query_never_appear_in_errors_or_debug_output() {
    let server = Server::start(vec![Answer::json(502, "bad gateway")]).await;
    let model = OpenAiCompatible::new(&settings(format!("{}?token=hush-hush", server.base()), None), http()).unwrap();
    let e = model.stream(&question()).await.err().unwrap();
    let shown = format!("{e:?} {e} {model:?} {:?}", model.describe());
    assert!(!shown.contains(KEY) && !shown.contains("hush-hush"), "{shown}");
    assert!(shown.contains(&format!("{}/v1/chat/completions", server.addr.ip())), "the endpoint is named by host and path: {shown}");
}

#[tokio::test]
async fn a_404_names_the_model_that_was_not_found() {
    let e = error_of(Answer::json(
        404,
        r#"{"error":{"message":"The model `gpt-4o-mini` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#,
    ))
    .await;
    assert!(matches!(e, ModelError::ModelNotFound(ref m) if m.contains("gpt-4o-mini")), "{e:?}");
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn a_400_or_422_is_a_bad_request_with_the_providers_message_shortened() {
    let long = "x".repeat(5000);
    let e = error_of(Answer::json(
        400,
        &format!(r#"{{"error":{{"message":"This model's maximum context length is 8192 tokens. {long}","type":"invalid_request_error"}}}}"#),
    ))
    .await;
    assert!(matches!(e, ModelError::BadRequest(ref m) if m.contains("maximum context length") && m.len() < 600), "{e:?}");
    assert!(matches!(error_of(Answer::json(422, r#"{"detail":"bad"}"#)).await, ModelError::BadRequest(_)));
}

#[tokio::test]
async fn server_errors_are_unavailable_and_retryable() {
    for status in [500, 502, 503, 408] {
        let e = error_of(Answer::json(status, r#"{"error":{"message":"The server had an error","type":"server_error"}}"#)).await;
        assert!(matches!(e, ModelError::Unavailable(_)) && e.is_retryable(), "{status}: {e:?}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let model = OpenAiCompatible::new(&settings(format!("http://{addr}/v1"), None), http()).unwrap();
    let e = model.stream(&question()).await.err().unwrap();
    assert!(matches!(e, ModelError::Unavailable(ref m) if m.contains("could not connect")), "{e:?}");
}

#[tokio::test]
async fn a_server_that_does_not_answer_in_time_is_unavailable() {
    let mut answer = Answer::sse(vec![text("data: [DONE]\n\n")]);
    answer.delay = Duration::from_secs(3);
    let server = Server::start(vec![answer]).await;
    let model = model(&server).await.with_timeouts(Timeouts { first_byte: Duration::from_millis(200), idle: Duration::from_secs(5) });
    let e = model.stream(&question()).await.err().unwrap();
    assert!(matches!(e, ModelError::Unavailable(ref m) if m.contains("no answer within")), "{e:?}");
}

async fn events_until_error(server: &Server, timeouts: Timeouts) -> (Vec<ModelEvent>, ModelError) {
    let mut stream = model(server).await.with_timeouts(timeouts).stream(&question()).await.unwrap();
    let mut events = Vec::new();
    loop {
        match stream.next().await.expect("the stream must end with an error") {
            Ok(event) => events.push(event),
            Err(e) => {
                assert!(stream.next().await.is_none(), "nothing after an error");
                return (events, e);
            }
        }
    }
}

#[tokio::test]
async fn a_stream_that_goes_silent_breaks_after_the_idle_timeout() {
    let server = Server::start(vec![Answer::sse(vec![text(&chunk("Looking")), Piece::Pause(Duration::from_secs(5)), text("data: [DONE]\n\n")])]).await;
    let started = std::time::Instant::now();
    let (events, e) = events_until_error(&server, Timeouts { first_byte: Duration::from_secs(5), idle: Duration::from_millis(300) }).await;
    assert_eq!(events, [ModelEvent::Delta("Looking".into())]);
    assert!(matches!(e, ModelError::StreamBroken(ref m) if m.contains("nothing received")), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_stream_that_ends_before_done_is_broken_not_a_short_answer() {
    let server = Server::start(vec![Answer::sse(vec![text(&chunk("The cause was"))])]).await;
    let (events, e) = events_until_error(&server, Timeouts::default()).await;
    assert_eq!(events, [ModelEvent::Delta("The cause was".into())]);
    assert!(matches!(e, ModelError::StreamBroken(ref m) if m.contains("before [DONE]")), "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn a_connection_cut_mid_stream_is_a_broken_stream() {
    let server = Server::start(vec![Answer::sse(vec![text(&chunk("The cause")), text("data: {\"choi"), Piece::Fail])]).await;
    let (events, e) = events_until_error(&server, Timeouts::default()).await;
    assert_eq!(events, [ModelEvent::Delta("The cause".into())]);
    assert!(matches!(e, ModelError::StreamBroken(_)), "{e:?}");
}

#[tokio::test]
async fn an_error_object_inside_the_stream_ends_it_with_that_error() {
    let server = Server::start(vec![Answer::sse(vec![
        text(&chunk("Half")),
        text(&format!("data: {{\"error\":{{\"message\":\"overloaded, key {KEY}\",\"type\":\"server_error\"}}}}\n\n")),
        text(&chunk("never shown")),
        text("data: [DONE]\n\n"),
    ])])
    .await;
    let (events, e) = events_until_error(&server, Timeouts::default()).await;
    assert_eq!(events, [ModelEvent::Delta("Half".into())]);
    assert!(matches!(e, ModelError::StreamBroken(ref m) if m.contains("overloaded")), "{e:?}");
    assert_no_key(&e);
}

#[tokio::test]
async fn a_model_that_refuses_max_tokens_is_asked_again_with_max_completion_tokens_and_remembered() {
    let refusal = r#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#;
    let ok = || Answer::sse(vec![text(&chunk("fine")), text("data: [DONE]\n\n")]);
    let server = Server::start(vec![Answer::json(400, refusal), ok(), ok()]).await;
    let model = model(&server).await;
    assert_eq!(model.complete(&question()).await.unwrap().text, "fine");
    assert_eq!(model.complete(&question()).await.unwrap().text, "fine");
    let bodies: Vec<_> = server.seen().into_iter().map(|s| s.body).collect();
    assert_eq!(bodies.len(), 3, "one retry, then the new name straight away");
    assert_eq!(bodies[0]["max_tokens"], 300);
    for body in &bodies[1..] {
        assert_eq!(body["max_completion_tokens"], 300);
        assert!(body.get("max_tokens").is_none());
    }
}

#[tokio::test]
async fn build_makes_openai_compatible_and_bedrock_models() {
    let server = Server::start(vec![]).await;
    let built = build(&settings(server.base(), None), http()).unwrap();
    assert_eq!((built.describe().provider.as_str(), built.describe().model.as_str()), ("openai-compatible", "gpt-4o-mini"));
    let bedrock = ModelSettings {
        provider: ModelProvider::Bedrock { model_id: "anthropic.claude-3-haiku".into(), region: None, endpoint_url: None },
        max_output_tokens: 100,
    };
    // Nothing is called (credentials, region) until the first answer.
    assert_eq!(build(&bedrock, http()).unwrap().describe().provider, "bedrock");
    for bad in ["ftp://x/v1", "not a url"] {
        assert!(matches!(OpenAiCompatible::new(&settings(bad.into(), None), http()), Err(ModelError::BadRequest(_))), "{bad}");
    }
}
