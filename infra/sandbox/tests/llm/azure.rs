//! The Azure OpenAI shape, and driving the sandbox through its control routes.

use serde_json::{json, Value};

use crate::support::{body, read_sse, start, streaming, KEY};

const PATH: &str = "/openai/deployments/sandbox-deployment/chat/completions?api-version=2024-10-21";

#[tokio::test]
async fn the_azure_path_answers_with_the_deployments_model_and_reads_the_api_key_header() {
    let fx = start().await;
    let mut b = body("Title: payments down", "impact?");
    b.as_object_mut().unwrap().remove("model");
    let resp = fx.http.post(format!("{}{PATH}", fx.base)).header("api-key", KEY).json(&b).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["model"], "gpt-4o-mini", "the deployment's model");
    assert!(v["choices"][0]["message"]["content"].as_str().unwrap().contains("incident=\"Title: payments down\""));
    let r = fx.sb.last_request().unwrap();
    assert_eq!(
        (r.api.as_str(), r.deployment.as_deref(), r.api_version.as_deref(), r.auth.scheme.as_str()),
        ("azure", Some("sandbox-deployment"), Some("2024-10-21"), "api-key")
    );
    assert!(r.headers.iter().all(|(k, _)| k != "api-key") && !fx.sb.contains_anywhere(KEY));
    // Streams work there too.
    let resp = fx.http.post(format!("{}{PATH}", fx.base)).header("api-key", KEY).json(&streaming(b, true)).send().await.unwrap();
    assert!(read_sse(resp, std::time::Duration::from_secs(5)).await.done);
}

#[tokio::test]
async fn azure_refuses_in_its_own_shape() {
    let fx = start().await;
    let send = |path: String, key: &'static str| {
        let req = fx.http.post(format!("{}{path}", fx.base)).header("api-key", key).json(&body("s", "q"));
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = send(PATH.to_string(), "wrong").await;
    assert_eq!((s, v["error"]["code"].clone()), (401, json!("401")));
    let (s, v) = send(PATH.replace("sandbox-deployment", "nope"), KEY).await;
    assert_eq!((s, v["error"]["code"].clone()), (404, json!("DeploymentNotFound")));
    let (s, _) = send(PATH.split('?').next().unwrap().to_string(), KEY).await;
    assert_eq!(s, 404, "no api-version");
}

#[tokio::test]
async fn the_control_routes_arm_answers_faults_and_settings_and_show_the_view() {
    let fx = start().await;
    let control = |path: &str, b: Value| fx.http.post(format!("{}/control/{path}", fx.base)).json(&b).send();
    assert_eq!(control("next_answer", json!({"text": "canned"})).await.unwrap().status(), 200);
    control("fail_next", json!({"status": 500})).await.unwrap();
    control("settings", json!({"rate_limit": {"requests": 2, "window_ms": 60000}, "chunk_chars": 3})).await.unwrap();
    assert_eq!(fx.chat(&body("s", "q")).await.0, 500, "the fault comes first");
    let (status, v) = fx.chat(&body("s", "q")).await;
    assert_eq!((status, v["choices"][0]["message"]["content"].clone()), (200, json!("canned")));
    // The faulted request counted too (it passed the limit before failing): the third is over.
    assert_eq!(fx.chat(&body("s", "q")).await.0, 429);
    control("settings", json!({"rate_limit": null})).await.unwrap();
    assert_eq!(fx.chat(&body("s", "q")).await.0, 200);
    let view: Value = fx.http.get(format!("{}/control/view", fx.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!((view["chunk_chars"].clone(), view["rate_limit"].clone(), view["requests"].as_array().unwrap().len()), (json!(3), Value::Null, 4));
    let found: Value = fx.http.get(format!("{}/control/contains?needle={KEY}", fx.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(found, json!({"found": false}));
    control("reset", json!({})).await.unwrap();
    assert!(fx.sb.requests().is_empty());
}
