//! Linked users: the filtered list, one-click linking (now, or queued on a rate limit),
//! manual links.

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use serde_json::json;
use std::time::Duration;
use warroom_core::{ImError, JobKind, Platform, Store};
use warroom_testkit::fake_platform::FakeOp;

/// Ada is linked; Bob and Cy can be found by email; Dee is nowhere on the platform.
async fn setup(app: &App) -> (common::TenantCtx, warroom_core::Integration, warroom_testkit::fake_platform::FakePlatform) {
    let t = app.tenant("acme").await;
    let (i, fake) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    for (id, name) in [("m_ada", "Ada"), ("m_bob", "Bob"), ("m_cy", "Cy"), ("m_dee", "Dee")] {
        let mut m = app.member(&t.id, id, name).await;
        m.phone = None;
        app.store.put_member(&m).await.unwrap();
    }
    app.store.put_link(&warroom_testkit::fixtures::link(&t.id, &i.id, "m_ada", "U_ADA")).await.unwrap();
    fake.add_user("U_ADA", "Ada", Some("ada@example.com"), None);
    fake.add_user("U_BOB", "Bob", Some("bob@example.com"), None);
    fake.add_user("U_CY", "Cy", Some("cy@example.com"), None);
    (t, i, fake)
}

fn ids(body: &serde_json::Value) -> Vec<String> {
    body["rows"].as_array().unwrap().iter().map(|r| r["member"]["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_link_list_filters_linked_and_unlinked_searches_and_pages() {
    let app = App::new();
    let (t, i, _) = setup(&app).await;
    let base = format!("/api/v1/integrations/{}/links", i.id);
    let r = app.get(&base, &t.key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r.body), ["m_ada", "m_bob", "m_cy", "m_dee"]);
    assert_eq!(r.body["rows"][0]["link"]["im_user_id"], "U_ADA");
    assert_eq!(r.body["rows"][1]["link"], serde_json::Value::Null);
    assert_eq!(ids(&app.get(&format!("{base}?filter=linked"), &t.key).await.body), ["m_ada"]);
    assert_eq!(ids(&app.get(&format!("{base}?filter=unlinked"), &t.key).await.body), ["m_bob", "m_cy", "m_dee"]);
    assert_eq!(ids(&app.get(&format!("{base}?search=BOB%40example"), &t.key).await.body), ["m_bob"]);

    let first = app.get(&format!("{base}?filter=unlinked&limit=2"), &t.key).await;
    assert_eq!(ids(&first.body), ["m_bob", "m_cy"]);
    assert_eq!(first.body["next"], "m_cy");
    let second = app.get(&format!("{base}?filter=unlinked&limit=2&after=m_cy"), &t.key).await;
    assert_eq!(ids(&second.body), ["m_dee"]);
    assert_eq!(second.body["next"], serde_json::Value::Null);

    let bad = app.get(&format!("{base}?filter=some"), &t.key).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.message().starts_with("filter:"), "{}", bad.message());
    let bad = app.get(&format!("{base}?limit=500"), &t.key).await;
    assert!(bad.message().starts_with("limit:"), "{}", bad.message());
}

#[tokio::test]
async fn one_click_link_reports_how_many_were_linked_and_why_the_others_failed() {
    let app = App::new();
    let (t, i, _) = setup(&app).await;
    let r = app.call(Method::POST, &format!("/api/v1/integrations/{}/links/auto", i.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["linked"], 3);
    assert_eq!(r.body["failed"], 1);
    let dee = r.body["results"].as_array().unwrap().iter().find(|x| x["member_id"] == "m_dee").unwrap();
    assert_eq!(dee["linked"], false);
    assert!(dee["detail"].as_str().unwrap().contains("no slack user"), "{dee}");
    let linked = app.get(&format!("/api/v1/integrations/{}/links?filter=linked", i.id), &t.key).await;
    assert_eq!(ids(&linked.body), ["m_ada", "m_bob", "m_cy"]);
}

#[tokio::test]
async fn one_click_link_of_chosen_members_links_only_them_and_refuses_unknown_ids() {
    let app = App::new();
    let (t, i, _) = setup(&app).await;
    let path = format!("/api/v1/integrations/{}/links/auto", i.id);
    let r = app.call(Method::POST, &path, Some(&t.key), Some(json!({"member_ids": ["m_bob"]}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["linked"].as_u64(), r.body["failed"].as_u64()), (Some(1), Some(0)));
    let r = app.call(Method::POST, &path, Some(&t.key), Some(json!({"member_ids": ["m_bob", "m_ghost"]}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_members"), "{}", r.text);
    assert_eq!(r.body["error"]["unknown_member_ids"], json!(["m_ghost"]));
    assert!(r.message().starts_with("member_ids:") && r.message().contains("m_ghost"), "{}", r.message());
}

#[tokio::test]
async fn a_rate_limited_one_click_link_is_queued_and_its_report_readable_once_the_worker_ran() {
    let app = App::new();
    let (t, i, fake) = setup(&app).await;
    fake.fail_next(FakeOp::LookupEmail, ImError::RateLimited { retry_after: Duration::from_secs(1) });
    let r = app.call(Method::POST, &format!("/api/v1/integrations/{}/links/auto", i.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let run_id = r.body["run_id"].as_str().unwrap().to_owned();
    let status_url = r.body["status_url"].as_str().unwrap().to_owned();
    assert_eq!(status_url, format!("/api/v1/integrations/{}/links/runs/{run_id}", i.id));

    let pending = app.get(&status_url, &t.key).await;
    assert_eq!(pending.status, StatusCode::NOT_FOUND);
    assert_eq!(pending.code(), "not_found");

    app.run_worker().await;
    let done = app.get(&status_url, &t.key).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["run_id"], run_id.as_str());
    assert_eq!((done.body["linked"].as_u64(), done.body["failed"].as_u64()), (Some(3), Some(1)));
}

#[tokio::test]
async fn a_rate_limited_one_click_link_queues_a_link_users_job_keyed_by_its_run() {
    let app = App::new();
    let (t, i, fake) = setup(&app).await;
    fake.fail_next(FakeOp::LookupEmail, ImError::RateLimited { retry_after: Duration::from_secs(1) });
    let r = app.call(Method::POST, &format!("/api/v1/integrations/{}/links/auto", i.id), Some(&t.key), Some(json!({}))).await;
    let jobs = app.queued_jobs().await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].tenant_id, t.id);
    assert_eq!(jobs[0].kind, JobKind::LinkUsers { integration_id: i.id.clone(), member_ids: vec![] });
    assert_eq!(jobs[0].dedup_key, r.body["run_id"].as_str().unwrap());
}

#[tokio::test]
async fn one_click_link_without_a_usable_platform_is_a_502_and_queues_nothing() {
    let app = App::new();
    let (t, i, fake) = setup(&app).await;
    fake.fail_always(FakeOp::LookupEmail, ImError::Unauthorized("token revoked".into()));
    let r = app.call(Method::POST, &format!("/api/v1/integrations/{}/links/auto", i.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.text);
    assert_eq!(r.code(), "platform_error");
    assert!(app.queue.is_empty());
}

#[tokio::test]
async fn a_manual_link_replaces_the_members_link_and_unlinking_removes_it() {
    let app = App::new();
    let (t, i, _) = setup(&app).await;
    let path = format!("/api/v1/integrations/{}/links/m_dee", i.id);
    let r = app.call(Method::PUT, &path, Some(&t.key), Some(json!({"im_user_id": "U_DEE"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["link"]["im_user_id"], "U_DEE");
    assert_eq!(r.body["link"]["method"], "manual");

    let taken = app.call(Method::PUT, &path, Some(&t.key), Some(json!({"im_user_id": "U_ADA"}))).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.code(), "already_linked");
    assert_eq!(taken.body["error"]["member_id"], "m_ada");

    let blank = app.call(Method::PUT, &path, Some(&t.key), Some(json!({"im_user_id": "  "}))).await;
    assert!(blank.message().starts_with("im_user_id:"), "{}", blank.message());

    let r = app.call(Method::DELETE, &path, Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let linked = app.get(&format!("/api/v1/integrations/{}/links?filter=linked", i.id), &t.key).await;
    assert_eq!(ids(&linked.body), ["m_ada"]);

    let ghost = app.call(Method::PUT, &format!("/api/v1/integrations/{}/links/m_ghost", i.id), Some(&t.key), Some(json!({"im_user_id": "U_X"}))).await;
    assert_eq!(ghost.status, StatusCode::NOT_FOUND);
}
