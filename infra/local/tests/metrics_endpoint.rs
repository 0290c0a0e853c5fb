//! `GET /metrics` and `GET /readyz` of a running `warroom-local` in demo mode: an incident
//! drives a war room open in the Slack sandbox and a card click comes back, then the
//! Prometheus text shows the intake event, the jobs, the IM calls and the callback, and
//! no tenant, user or chat id; the API shows the Slack integration's health as valid.

mod support;

use serde_json::json;
use support::*;

/// The value of the first sample line starting with `prefix` (`name{labels}`), if any.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_show_the_war_room_s_work_and_readyz_answers() {
    let data = temp_dir("metrics");
    let stack = Stack::start(&data, &[]);
    let k = keys(&data);
    let (admin, intake) = (k["admin_key"].as_str().unwrap(), k["intake_key"].as_str().unwrap());

    let ready = reqwest::get(format!("{}/readyz", stack.url)).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap(), json!({"ready": true}));

    let incident = fire(&stack, intake, "metrics-1").await;
    let room = wait_for_open_room(&stack, admin, &incident).await;
    // View War Room opens the sandbox page at the chat (its `chat-{id}` anchor).
    let chat = room["chat_id"].as_str().unwrap_or_else(|| panic!("a chat id in {room}"));
    assert_eq!(room["chat_url"], format!("{}/sandbox/#chat-{chat}", stack.url), "{room}");
    let (code, answer) =
        post(&format!("{}/sandbox/control/slack/click", stack.url), None, json!({"incident_id": incident, "user": "U_ADA", "action": "ack"})).await;
    assert_eq!(code, 200, "{answer}");
    // A click the bundle must refuse: a Slack interaction without a valid signature.
    let forged = reqwest::Client::new().post(format!("{}/im/slack/interactions", stack.url)).body("payload=%7B%7D").send().await.unwrap();
    assert!(forged.status().is_client_error(), "{}", forged.status());

    let resp = reqwest::get(format!("{}/metrics", stack.url)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    let must = [
        r#"warroom_intake_events_total{source="generic",outcome="created"}"#,
        r#"warroom_jobs_total{kind="reconcile",outcome="processed"}"#,
        r#"warroom_im_calls_total{platform="slack",family="create_chat",outcome="ok"}"#,
        r#"warroom_callbacks_total{platform="slack",route="/im/slack/interactions",outcome="ok"}"#,
        r#"warroom_callbacks_refused_total{platform="slack",reason=""#,
        r#"warroom_job_run_seconds_count{kind="reconcile"}"#,
        r#"warroom_job_wait_seconds_count{kind="reconcile"}"#,
        r#"warroom_callback_seconds_bucket{platform="slack",route="/im/slack/interactions",le="+Inf"}"#,
    ];
    for prefix in must {
        assert!(sample(&text, prefix).is_some_and(|v| v >= 1.0), "{prefix} missing or zero in:\n{text}");
    }
    // The API's per-integration health: the war room's calls went through, so the token works.
    let integrations = get(&format!("{}/api/v1/integrations", stack.url), admin).await;
    let slack = integrations["integrations"].as_array().unwrap().iter().find(|i| i["platform"] == "slack").expect("the demo's Slack app").clone();
    assert_eq!(slack["health"]["token"], "valid", "{slack}");
    assert!(slack["health"]["last_ok_at"].is_string(), "{slack}");

    let tenant = get(&format!("{}/api/v1/incidents/{incident}", stack.url), admin).await["tenant_id"].as_str().map(str::to_owned);
    for private in [Some(incident.clone()), tenant, Some("U_ADA".into()), Some("ada@example.com".into())].into_iter().flatten() {
        assert!(!text.contains(&private), "{private} in /metrics");
    }
    stack.stop();
    let _ = std::fs::remove_dir_all(&data);
}
