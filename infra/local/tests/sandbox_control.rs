//! The sandbox control endpoints of a running `warroom-local`: a person clicks a card button
//! in the Feishu sandbox (war room moved to Feishu through the API) or the Slack sandbox,
//! and the bundle gets the platform's real callback; an admin grants the second Feishu app
//! the scopes war rooms need.

mod support;

use serde_json::{json, Value};
use support::*;
use warroom_local::sandboxes::{FEISHU_SECOND_APP_ID, FEISHU_SECOND_APP_SECRET, FEISHU_SECOND_APP_WITHHELD, FEISHU_SECOND_VERIFICATION_TOKEN};

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

#[tokio::test(flavor = "multi_thread")]
async fn the_second_feishu_app_connects_is_refused_war_rooms_until_its_scopes_are_granted_then_opens_them() {
    let data = temp_dir("feishu-scopes");
    let stack = Stack::start(&data, &[]);
    let admin = keys(&data)["admin_key"].as_str().unwrap().to_string();
    let api = |path: &str| format!("{}/api/v1{path}", stack.url);
    let body = json!({"platform": "feishu", "name": "Second Feishu app", "app_id": FEISHU_SECOND_APP_ID,
        "app_secret": FEISHU_SECOND_APP_SECRET, "verification_token": FEISHU_SECOND_VERIFICATION_TOKEN});
    let (code, connected) = post(&api("/integrations"), Some(&admin), body).await;
    assert_eq!(code, 201, "not connected by the demo, so it connects: {connected}");
    let id = connected["id"].as_str().unwrap().to_string();

    let (code, refused) = post(&api(&format!("/integrations/{id}/war-room")), Some(&admin), json!({})).await;
    assert_eq!((code, refused["error"]["code"].as_str()), (409, Some("missing_permissions")), "{refused}");
    let mut missing: Vec<&str> = refused["error"]["missing_permissions"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    missing.sort_unstable();
    let mut withheld = FEISHU_SECOND_APP_WITHHELD.to_vec();
    withheld.sort_unstable();
    assert_eq!(missing, withheld, "{refused}");

    let scopes_url = format!("{}/sandbox/control/feishu/scopes", stack.url);
    let all: Vec<&str> = warroom_platforms::feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    let (code, answer) = post(&scopes_url, None, json!({"app": "cli_nope", "scopes": all})).await;
    assert_eq!(code, 404, "{answer}");
    let bad = reqwest::Client::new().post(&scopes_url).body("{\"app\": ").send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let (code, answer) = post(&scopes_url, None, json!({"app": FEISHU_SECOND_APP_ID, "scopes": all})).await;
    assert_eq!(code, 200, "served in-process beside /sandbox/control/feishu/click: {answer}");

    // Slack has war rooms at start: turned off there, they open on the second app.
    let slack = get(&api("/integrations"), &admin).await["integrations"].as_array().unwrap().iter().find(|i| i["platform"] == "slack").unwrap()["id"].clone();
    let off = reqwest::Client::new().delete(api(&format!("/integrations/{}/war-room", slack.as_str().unwrap()))).bearer_auth(&admin).send().await.unwrap();
    assert!(off.status().is_success(), "{}", off.text().await.unwrap());
    let (code, enabled) = post(&api(&format!("/integrations/{id}/war-room")), Some(&admin), json!({})).await;
    assert_eq!((code, enabled["war_room_enabled"].as_bool()), (200, Some(true)), "{enabled}");
    let incident = fire(&stack, keys(&data)["intake_key"].as_str().unwrap(), "second-app-1").await;
    let room = wait_for_open_room(&stack, &admin, &incident).await;
    assert_eq!(room["integration_id"].as_str(), Some(id.as_str()), "{room}");
    stack.stop();
    let _ = std::fs::remove_dir_all(&data);
}
