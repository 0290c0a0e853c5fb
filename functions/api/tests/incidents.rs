//! Incidents, their timeline, and the manual war-room create / dismiss.

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use warroom_core::{JobKind, Platform, Store};

#[tokio::test]
async fn creating_a_war_room_marks_it_wanted_queues_a_reconcile_and_notes_the_key() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, _) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    app.store.enable_war_room(&t.id, &i.id).await.unwrap();
    let inc = app.incident(&t.id, "ext-1").await;
    let r = app.call(Method::POST, &format!("/api/v1/incidents/{}/war-room", inc.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["wanted"], true);
    assert_eq!(r.body["phase"], "requested");

    let jobs = app.queued_jobs().await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].kind, JobKind::Reconcile { incident_id: inc.id.clone() });
    assert_eq!(jobs[0].tenant_id, t.id);

    let timeline = app.get(&format!("/api/v1/incidents/{}/timeline", inc.id), &t.key).await;
    let entry = &timeline.body["entries"][0];
    assert_eq!(entry["action"], "war_room_requested");
    assert_eq!(entry["actor"], serde_json::json!({"kind": "api_key", "label": "tests"}));
}

#[tokio::test]
async fn a_war_room_opened_by_the_worker_shows_its_chat_url_and_can_be_dismissed() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, fake) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    app.store.enable_war_room(&t.id, &i.id).await.unwrap();
    let inc = app.incident(&t.id, "ext-1").await;
    app.call(Method::POST, &format!("/api/v1/incidents/{}/war-room", inc.id), Some(&t.key), None).await;
    app.run_worker().await;

    let r = app.get(&format!("/api/v1/incidents/{}/war-room", inc.id), &t.key).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["state"], "open", "{}", r.text);
    let chat = fake.chats()[0].clone();
    assert_eq!(r.body["chat_id"], chat.id.as_str());
    assert!(r.body["chat_url"].as_str().unwrap().contains(chat.id.as_str()));
    assert_eq!(r.body["card"]["up_to_date"], true, "{}", r.text);

    let detail = app.get(&format!("/api/v1/incidents/{}", inc.id), &t.key).await;
    assert_eq!(detail.body["war_room"]["chat_id"], chat.id.as_str());
    assert_eq!(detail.body["title"], "Incident ext-1");

    let again = app.call(Method::POST, &format!("/api/v1/incidents/{}/war-room", inc.id), Some(&t.key), None).await;
    assert_eq!(again.status, StatusCode::OK, "an open war room is answered as is");

    let r = app.call(Method::DELETE, &format!("/api/v1/incidents/{}/war-room", inc.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["phase"], "dismissing");
    app.run_worker().await;
    assert!(fake.chat(chat.id.as_str()).unwrap().disbanded);
    let r = app.get(&format!("/api/v1/incidents/{}/war-room", inc.id), &t.key).await;
    assert_eq!(r.body["state"], "dismissed", "{}", r.text);
}

#[tokio::test]
async fn dismissing_without_an_open_war_room_is_409_invalid_state() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let inc = app.incident(&t.id, "ext-1").await;
    let r = app.call(Method::DELETE, &format!("/api/v1/incidents/{}/war-room", inc.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "invalid_state");
}

#[tokio::test]
async fn a_war_room_without_a_war_room_integration_is_refused_up_front() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let inc = app.incident(&t.id, "ext-1").await;
    let r = app.call(Method::POST, &format!("/api/v1/incidents/{}/war-room", inc.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "war_room_not_enabled");
    assert!(app.queue.is_empty());
}

#[tokio::test]
async fn incidents_are_listed_newest_first_in_pages() {
    let app = App::new();
    let t = app.tenant("acme").await;
    for n in 0..3 {
        let mut inc = warroom_testkit::fixtures::incident(&t.id, &format!("ext-{n}"), warroom_core::Timestamp(warroom_testkit::fixtures::T0.0 + n * 1000));
        inc.title = format!("n{n}");
        app.store.create_incident(&inc).await.unwrap();
    }
    let first = app.get("/api/v1/incidents?limit=2", &t.key).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let titles = |b: &serde_json::Value| b["incidents"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(titles(&first.body), ["n2", "n1"]);
    let cursor = first.body["next"].as_str().unwrap();
    let second = app.get(&format!("/api/v1/incidents?limit=2&cursor={}", urlencode(cursor)), &t.key).await;
    assert_eq!(titles(&second.body), ["n0"]);
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
