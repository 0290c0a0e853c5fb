//! Members: bulk upsert with validation, listing, deleting.

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use serde_json::json;
use warroom_core::Store;

#[tokio::test]
async fn a_bulk_upsert_stores_members_generating_missing_ids_and_returns_them() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let body = json!([
        {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+86 138-0000-0000"},
        {"id": "hr-2", "name": "Bob"},
    ]);
    let r = app.call(Method::PUT, "/api/v1/members", Some(&t.key), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let members = r.body["members"].as_array().unwrap();
    assert!(members[0]["id"].as_str().unwrap().starts_with("mem_"));
    assert_eq!(members[0]["phone"], "+8613800000000");
    assert_eq!(members[1]["id"], "hr-2");
    assert_eq!(members[1]["email"], serde_json::Value::Null);

    let r = app.call(Method::PUT, "/api/v1/members", Some(&t.key), Some(json!([{"id": "hr-2", "name": "Robert", "email": "bob@example.com"}]))).await;
    assert_eq!(r.status, StatusCode::OK);
    let list = app.get("/api/v1/members", &t.key).await;
    let all = list.body["members"].as_array().unwrap();
    assert_eq!(all.len(), 2);
    let bob = all.iter().find(|m| m["id"] == "hr-2").unwrap();
    assert_eq!((bob["name"].as_str(), bob["email"].as_str()), (Some("Robert"), Some("bob@example.com")));
}

#[tokio::test]
async fn an_invalid_member_is_refused_naming_its_index_and_field_and_nothing_is_stored() {
    let app = App::new();
    let t = app.tenant("acme").await;
    for (bad, field) in [
        (json!({"name": "Cy", "email": "not-an-email"}), "[1].email"),
        (json!({"name": "  "}), "[1].name"),
        (json!({"name": "Cy", "phone": "call me"}), "[1].phone"),
        (json!({"name": "Cy", "id": "a/b"}), "[1].id"),
        (json!({"name": "Cy\u{7}"}), "[1].name"),
        (json!({"name": "Cy", "id": "auto"}), "[1].id"),
        (json!({"name": "Cy", "mail": "x"}), "[1]: unknown field `mail`"),
        (json!({"email": "cy@example.com"}), "[1]: missing field `name`"),
    ] {
        let body = json!([{"id": "ok-1", "name": "Ada"}, bad]);
        let r = app.call(Method::PUT, "/api/v1/members", Some(&t.key), Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}");
        assert!(r.message().starts_with(field), "{field}: {}", r.message());
    }
    assert!(app.store.list_members(&t.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_id_given_twice_in_one_request_ends_as_its_later_entry_and_blank_contacts_are_none() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let body = json!([{"id": "m1", "name": "Ada", "email": "ada@example.com"}, {"id": "m1", "name": "Ada L.", "email": "", "phone": " "}]);
    let r = app.call(Method::PUT, "/api/v1/members", Some(&t.key), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let stored = app.store.list_members(&t.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].name.as_str(), stored[0].email.as_deref(), stored[0].phone.as_deref()), ("Ada L.", None, None));
}

#[tokio::test]
async fn more_than_a_thousand_members_at_once_are_refused() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let many: Vec<_> = (0..1001).map(|n| json!({"name": format!("m{n}")})).collect();
    let r = app.call(Method::PUT, "/api/v1/members", Some(&t.key), Some(json!(many))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("at most 1000"), "{}", r.message());
}

#[tokio::test]
async fn deleting_a_member_removes_them_and_a_second_delete_is_404() {
    let app = App::new();
    let t = app.tenant("acme").await;
    app.member(&t.id, "m_ada", "Ada").await;
    let r = app.call(Method::DELETE, "/api/v1/members/m_ada", Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.call(Method::DELETE, "/api/v1/members/m_ada", Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "not_found");
}

#[tokio::test]
async fn a_members_role_is_member_by_default_admin_when_asked_and_kept_when_left_out() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app
        .call(Method::PUT, "/api/v1/members", Some(&t.key), Some(json!([{"id": "ada", "name": "Ada", "role": "admin"}, {"id": "bob", "name": "Bob"}])))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["members"][0]["role"].as_str(), r.body["members"][1]["role"].as_str()), (Some("admin"), Some("member")));

    // A re-import without roles demotes nobody; an explicit role changes it.
    let r = app
        .call(Method::PUT, "/api/v1/members", Some(&t.key), Some(json!([{"id": "ada", "name": "Ada L."}, {"id": "bob", "name": "Bob", "role": "admin"}])))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let stored = app.store.list_members(&t.id).await.unwrap();
    let role = |id: &str| stored.iter().find(|m| m.id.as_str() == id).unwrap().role;
    assert_eq!((role("ada"), role("bob")), (warroom_core::MemberRole::Admin, warroom_core::MemberRole::Admin));
    let list = app.get("/api/v1/members", &t.key).await;
    assert!(list.body["members"].as_array().unwrap().iter().all(|m| m["role"] == "admin"), "{}", list.text);

    for bad in [json!("owner"), json!("Admin"), json!(1), json!(" admin")] {
        let r = app
            .call(Method::PUT, "/api/v1/members", Some(&t.key), Some(json!([{"id": "ada", "name": "Ada", "role": "member"}, {"name": "Cy", "role": bad}])))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert!(r.message().starts_with("[1]"), "{bad}: {}", r.message());
    }
    assert_eq!(
        app.store.list_members(&t.id).await.unwrap().iter().find(|m| m.id.as_str() == "ada").unwrap().role,
        warroom_core::MemberRole::Admin,
        "nothing was stored"
    );
}
