//! The sandbox control endpoints of a running `warroom-local`: a person clicks a card button
//! in the Feishu sandbox (war room moved to Feishu through the API) or the Slack sandbox,
//! and the bundle gets the platform's real callback.

mod support;

use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_feishu_war_room_is_acknowledged_through_the_feishu_sandbox_and_wrong_clicks_are_explained() {
    let data = temp_dir("feishu-control");
    let stack = Stack::start(&data, &[]);
    let k = keys(&data);
    let (admin, intake) = (k["admin_key"].as_str().unwrap(), k["intake_key"].as_str().unwrap());
    // The view is at `/sandbox`; the `/sandbox/` the banner prints leads there.
    let page = reqwest::get(format!("{}/sandbox/", stack.url)).await.unwrap();
    assert_eq!((page.status().as_u16(), page.url().path()), (200, "/sandbox"));
    let integrations = get(&format!("{}/api/v1/integrations", stack.url), admin).await;
    let id_of = |platform: &str| {
        let all = integrations["integrations"].as_array().unwrap();
        all.iter().find(|i| i["platform"] == platform).unwrap()["id"].as_str().unwrap().to_string()
    };
    let (slack, feishu) = (id_of("slack"), id_of("feishu"));
    let off = reqwest::Client::new().delete(format!("{}/api/v1/integrations/{slack}/war-room", stack.url)).bearer_auth(admin).send().await.unwrap();
    assert!(off.status().is_success(), "{}", off.text().await.unwrap());
    let (code, body) = post(&format!("{}/api/v1/integrations/{feishu}/war-room", stack.url), Some(admin), json!({})).await;
    assert!(code < 300, "the sandbox app has every Feishu permission: {code} {body}");

    let incident = fire(&stack, intake, "feishu-1").await;
    let room = wait_for_open_room(&stack, admin, &incident).await;
    assert!(room["chat_id"].as_str().unwrap().starts_with("oc_"), "{room}");
    let click = |platform: &str, user: &str, action: &str| {
        let url = format!("{}/sandbox/control/{platform}/click", stack.url);
        let body = json!({"incident_id": incident, "user": user, "action": action});
        async move { post(&url, None, body).await }
    };
    let (code, answer) = click("feishu", "ou_ada", "ack").await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["bundle_answer"]["toast"]["content"], "Acknowledged by Ada");
    assert_eq!(answer["card_updated"], true);
    wait_for(&stack, admin, &format!("/api/v1/incidents/{incident}"), "status", "acknowledged").await;

    let (code, answer) = click("feishu", "ou_ada", "ack").await;
    assert_eq!(code, 409, "no Acknowledge button any more: {answer}");
    let (code, _) = click("slack", "U_ADA", "resolve").await;
    assert_eq!(code, 409, "the room is on Feishu");
    let (code, _) =
        post(&format!("{}/sandbox/control/feishu/click", stack.url), None, json!({"incident_id": "inc_nope", "user": "ou_ada", "action": "ack"})).await;
    assert_eq!(code, 404);
    stack.stop();
    let _ = std::fs::remove_dir_all(&data);
}
