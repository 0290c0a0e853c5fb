//! One tenant per key: another tenant's objects answer exactly like missing ones.

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use serde_json::json;
use warroom_core::{Platform, Store};

#[tokio::test]
async fn tenant_b_gets_404_on_every_route_naming_tenant_a_objects() {
    let app = App::new();
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let (i, _) = app.integration(&a.id, Platform::Slack, &App::all_scopes()).await;
    app.store.enable_war_room(&a.id, &i.id).await.unwrap();
    let inc = app.incident(&a.id, "ext-1").await;
    app.member(&a.id, "m_ada", "Ada").await;
    // B has its own war-room integration, so nothing else refuses B first.
    let (bi, _) = app.integration(&b.id, Platform::Slack, &App::all_scopes()).await;
    app.store.enable_war_room(&b.id, &bi.id).await.unwrap();

    let (iid, incid) = (i.id.as_str(), inc.id.as_str());
    let routes = [
        (Method::GET, format!("/api/v1/integrations/{iid}"), None),
        (Method::DELETE, format!("/api/v1/integrations/{iid}"), None),
        (Method::POST, format!("/api/v1/integrations/{iid}/war-room"), None),
        (Method::DELETE, format!("/api/v1/integrations/{iid}/war-room"), None),
        (Method::GET, format!("/api/v1/integrations/{iid}/chats"), None),
        (Method::GET, format!("/api/v1/integrations/{iid}/links"), None),
        (Method::POST, format!("/api/v1/integrations/{iid}/links/auto"), None),
        (Method::GET, format!("/api/v1/integrations/{iid}/links/runs/run_x"), None),
        (Method::PUT, format!("/api/v1/integrations/{iid}/links/m_ada"), Some(json!({"im_user_id": "U1"}))),
        (Method::DELETE, format!("/api/v1/integrations/{iid}/links/m_ada"), None),
        // A's member through B's own integration.
        (Method::PUT, format!("/api/v1/integrations/{}/links/m_ada", bi.id), Some(json!({"im_user_id": "U1"}))),
        (Method::DELETE, format!("/api/v1/integrations/{}/links/m_ada", bi.id), None),
        (Method::DELETE, "/api/v1/members/m_ada".to_string(), None),
        (Method::GET, format!("/api/v1/incidents/{incid}"), None),
        (Method::GET, format!("/api/v1/incidents/{incid}/timeline"), None),
        (Method::GET, format!("/api/v1/incidents/{incid}/war-room"), None),
        (Method::POST, format!("/api/v1/incidents/{incid}/war-room"), None),
        (Method::DELETE, format!("/api/v1/incidents/{incid}/war-room"), None),
    ];
    for (method, path, body) in routes {
        let theirs = app.call(method.clone(), &path, Some(&b.key), body.clone()).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{method} {path}: {}", theirs.text);
        assert_eq!(theirs.code(), "not_found", "{method} {path}");
        // Exactly what a missing object answers (the same message, bar the id).
        let missing = path.replace(iid, "int_missing").replace(incid, "inc_missing").replace("m_ada", "m_missing");
        let none = app.call(method.clone(), &missing, Some(&b.key), body).await;
        assert_eq!(none.status, theirs.status, "{method} {missing}");
        let normalise = |m: &str| {
            m.replace(iid, "X").replace("int_missing", "X").replace(incid, "X").replace("inc_missing", "X").replace("m_ada", "X").replace("m_missing", "X")
        };
        assert_eq!(normalise(none.message()), normalise(theirs.message()), "{method} {path}");
    }
    // Nothing of A's was touched.
    assert!(app.store.get_integration(&i.id).await.unwrap().unwrap().war_room_enabled);
    assert!(app.store.get_member(&a.id, &"m_ada".into()).await.unwrap().is_some());
    assert!(!app.store.get_incident(&a.id, &inc.id).await.unwrap().unwrap().war_room.wanted);
}

#[tokio::test]
async fn lists_show_only_the_callers_tenant() {
    let app = App::new();
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    app.integration(&a.id, Platform::Slack, &[]).await;
    app.incident(&a.id, "ext-1").await;
    app.member(&a.id, "m_ada", "Ada").await;
    assert_eq!(app.get("/api/v1/integrations", &b.key).await.body["integrations"], json!([]));
    assert_eq!(app.get("/api/v1/incidents", &b.key).await.body["incidents"], json!([]));
    assert_eq!(app.get("/api/v1/members", &b.key).await.body["members"], json!([]));
}
