//! Refusals in OpenAI's shape, the rate limit, armed faults, and mounting under a prefix.

use std::time::Duration;

use serde_json::{json, Value};
use warroom_sandbox::llm::RateLimit;

use crate::support::{body, start, KEY};

async fn status_and_json(resp: reqwest::Response) -> (u16, Value) {
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_refused_with_401_invalid_api_key() {
    let fx = start().await;
    for key in [None, Some("sk-wrong")] {
        let (status, v) = status_and_json(fx.post("/v1/chat/completions", key, &body("s", "q")).await).await;
        assert_eq!(status, 401, "key {key:?}");
        assert_eq!(v["error"]["code"], "invalid_api_key");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.contains("sk-wrong")), "the key is not echoed");
    }
    let r = fx.sb.last_request().unwrap();
    assert!(!r.auth.passed && r.status == 401 && r.error.as_deref() == Some("invalid_api_key"));
}

#[tokio::test]
async fn an_unknown_model_is_404_model_not_found() {
    let fx = start().await;
    let mut b = body("s", "q");
    b["model"] = json!("gpt-9-ultra");
    let (status, v) = fx.chat(&b).await;
    assert_eq!((status, v["error"]["code"].clone()), (404, json!("model_not_found")));
    assert!(v["error"]["message"].as_str().unwrap().contains("gpt-9-ultra"));
}

#[tokio::test]
async fn malformed_bodies_are_400_naming_the_parameter() {
    let fx = start().await;
    let resp = fx
        .http
        .post(format!("{}/v1/chat/completions", fx.base))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, v) = status_and_json(resp).await;
    assert_eq!((status, v["error"]["type"].clone()), (400, json!("invalid_request_error")));
    for (bad, param) in [
        (json!({"model": "gpt-4o-mini"}), "messages"),
        (json!({"model": "gpt-4o-mini", "messages": [{"role": "robot", "content": "x"}]}), "messages[0].role"),
        (json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "temperature": 3}), "temperature"),
        (json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}}), "stream_options"),
    ] {
        let (status, v) = fx.chat(&bad).await;
        assert_eq!((status, v["error"]["param"].clone()), (400, json!(param)), "{bad}");
    }
}

#[tokio::test]
async fn over_the_rate_limit_a_key_gets_429_with_retry_after_and_ratelimit_headers() {
    let fx = start().await;
    fx.sb.add_api_key("sk-second");
    fx.sb.set_rate_limit(Some(RateLimit { requests: 2, window: Duration::from_secs(30) }));
    let first = fx.post("/v1/chat/completions", Some(KEY), &body("s", "q")).await;
    assert_eq!(first.headers()["x-ratelimit-remaining-requests"], "1");
    fx.post("/v1/chat/completions", Some(KEY), &body("s", "q")).await;
    let refused = fx.post("/v1/chat/completions", Some(KEY), &body("s", "q")).await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((29..=30).contains(&retry), "{retry}");
    assert_eq!(refused.headers()["x-ratelimit-limit-requests"], "2");
    assert_eq!(refused.headers()["x-ratelimit-remaining-requests"], "0");
    let (_, v) = status_and_json(refused).await;
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert_eq!(fx.post("/v1/chat/completions", Some("sk-second"), &body("s", "q")).await.status(), 200, "limits are per key");
}

#[tokio::test]
async fn fail_next_answers_once_with_the_given_failure_then_recovers() {
    let fx = start().await;
    fx.sb.fail_next(500, None);
    fx.sb.fail_next(503, Some(r#"{"error":{"message":"overloaded","type":"server_error","code":null}}"#));
    let (s1, v1) = fx.chat(&body("s", "q")).await;
    let (s2, v2) = fx.chat(&body("s", "q")).await;
    let (s3, _) = fx.chat(&body("s", "q")).await;
    assert_eq!((s1, v1["error"]["type"].clone()), (500, json!("server_error")));
    assert_eq!((s2, v2["error"]["message"].clone()), (503, json!("overloaded")));
    assert_eq!(s3, 200);
    // A refused request does not consume an armed fault.
    fx.sb.fail_next(500, None);
    assert_eq!(fx.post("/v1/chat/completions", Some("sk-wrong"), &body("s", "q")).await.status(), 401);
    assert_eq!(fx.chat(&body("s", "q")).await.0, 500);
}

#[tokio::test]
async fn the_router_answers_under_any_mount_prefix_and_404s_unknown_paths() {
    let fx = start().await;
    let app = axum::Router::new().nest("/llm", fx.sb.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let resp = fx.http.post(format!("{base}/llm/compatible-mode/v1/chat/completions")).bearer_auth(KEY).json(&body("s", "q")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let view = fx.http.get(format!("{base}/llm/control/view")).send().await.unwrap();
    assert_eq!(view.status(), 200, "the control routes travel with the router");
    let (status, v) = status_and_json(fx.post("/v1/chat/complete", Some(KEY), &body("s", "q")).await).await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["message"], "Invalid URL (POST /v1/chat/complete)");
    let models: Value = fx.http.get(format!("{}/v1/models", fx.base)).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
    assert!(models["data"].as_array().unwrap().iter().any(|m| m["id"] == "gpt-4o-mini"));
}
