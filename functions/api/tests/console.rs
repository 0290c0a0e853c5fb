//! The web console's safety: sign-in and sessions, CSRF, tenancy, escaping and headers.
//! What its pages do is in `console_pages.rs`.

#[path = "console/browser.rs"]
mod browser;
mod common;

use axum::http::StatusCode;
use browser::Browser;
use common::App;
use std::time::Duration;
use warroom_core::{ChatMessage, KeyScope, Platform, Store, TimelineAction, TimelineEntry};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

#[tokio::test]
async fn signing_in_with_an_admin_key_sets_a_strict_session_cookie_and_never_echoes_the_key() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let mut b = Browser::new(&app);
    let page = b.sign_in(&t.key).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    assert_eq!(page.location(), "/console/incidents");
    let cookie = page.set_cookie().expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Secure", "Max-Age=43200"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} missing: {cookie}");
    }
    let secret_part = &t.key[3..];
    assert!(!cookie.contains(secret_part), "the key is in the cookie: {cookie}");
    assert!(!page.html.contains(secret_part));

    let home = b.get("/console/incidents").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.html);
    assert!(home.html.contains("Sign out"));
    assert!(!home.html.contains(secret_part), "the key is on a page");
    assert!(!format!("{:?}", home.headers).contains(secret_part));
}

#[tokio::test]
async fn a_wrong_or_intake_key_is_refused_with_the_apis_message_and_no_cookie() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let mut b = Browser::new(&app);
    let page = b.sign_in("wr_notakeyatallnotakeyatallnotakey1").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.html.contains("unknown API key"), "{}", page.html);
    assert!(page.set_cookie().is_none());

    let intake = app.key(&t.id, KeyScope::Intake).await;
    let page = b.sign_in(&intake).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.html.contains("may only post incident events"), "{}", page.html);
    assert!(page.set_cookie().is_none());
    assert!(!page.html.contains(&intake[3..]), "the key is echoed back");
}

#[tokio::test]
async fn a_page_without_a_valid_session_redirects_to_sign_in() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let b = Browser::new(&app);
    for path in ["/console/incidents", "/console/integrations", "/console/members", "/console/settings", "/console/keys"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), "/console/", "{path}");
    }
    let sign_in = b.get("/console/").await;
    assert_eq!(sign_in.status, StatusCode::OK);
    assert!(sign_in.html.contains(r#"name="key""#));

    // A forged cookie (another signature) is no session either, and is cleared.
    let mut forged = Browser::signed_in(&app, &t.key).await;
    let cookie = forged.cookie.clone().unwrap();
    let last = if cookie.ends_with('0') { '1' } else { '0' };
    forged.cookie = Some(format!("{}{last}", &cookie[..cookie.len() - 1]));
    let page = forged.get("/console/incidents").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.set_cookie().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn a_revoked_key_or_an_expired_session_signs_out() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let b = Browser::signed_in(&app, &t.key).await;
    app.clock.advance(Duration::from_secs(11 * 3600));
    assert_eq!(b.get("/console/incidents").await.status, StatusCode::OK);
    app.clock.advance(Duration::from_secs(3600));
    let page = b.get("/console/incidents").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "12 hours later the session is over");
    assert_eq!(page.location(), "/console/?expired=1");

    let b = Browser::signed_in(&app, &t.key).await;
    assert_eq!(b.get("/console/members").await.status, StatusCode::OK);
    let record = app.store.find_api_key(&warroom_http::auth::hash_key(&t.key)).await.unwrap().unwrap();
    app.store.delete_api_key(&t.id, &record.key_hash).await.unwrap();
    let page = b.get("/console/members").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "the key was revoked");
}

#[tokio::test]
async fn signing_out_clears_the_cookie() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let b = Browser::signed_in(&app, &t.key).await;
    let page = b.submit("/console/incidents", "/console/sign-out", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.set_cookie().unwrap().starts_with("warroom_console=;"));
    assert!(page.set_cookie().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn a_form_without_or_with_a_wrong_csrf_token_changes_nothing() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, _) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    app.store.enable_war_room(&t.id, &i.id).await.unwrap();
    let inc = app.incident(&t.id, "ext-1").await;
    let b = Browser::signed_in(&app, &t.key).await;
    // A token of another session of the same tenant is not this session's.
    let other = Browser::signed_in(&app, &t.key).await;
    let foreign = other.get("/console/incidents").await.csrf();
    let action = format!("/console/incidents/{}/war-room", inc.id);
    for fields in [vec![], vec![("csrf", "")], vec![("csrf", "00ff")], vec![("csrf", foreign.as_str())]] {
        let page = b.post(&action, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{fields:?}: {}", page.html);
        assert!(page.html.contains("nothing was changed"));
    }
    let page = b.post("/console/members", &[("name", "Mallory")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = b.post(&format!("/console/integrations/{}/delete", i.id), &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let stored = app.store.get_incident(&t.id, &inc.id).await.unwrap().unwrap();
    assert!(!stored.war_room.wanted, "no war room was requested");
    assert!(app.queue.is_empty());
    assert!(app.store.list_members(&t.id).await.unwrap().is_empty());
    assert!(app.store.get_integration(&i.id).await.unwrap().is_some());
    assert!(app.store.list_timeline(&t.id, &inc.id).await.unwrap().is_empty());

    // The same form with its own token goes through.
    let page = b.submit(&format!("/console/incidents/{}", inc.id), &action, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(app.store.get_incident(&t.id, &inc.id).await.unwrap().unwrap().war_room.wanted);
}

#[tokio::test]
async fn one_tenants_session_cannot_see_or_act_on_another_tenants_incident_or_integration() {
    let app = App::new();
    let a = app.tenant("a").await;
    let other = app.tenant("b").await;
    let (theirs, _) = app.integration(&other.id, Platform::Slack, &App::all_scopes()).await;
    let inc = app.incident(&other.id, "secret-incident").await;
    let b = Browser::signed_in(&app, &a.key).await;

    for path in [
        format!("/console/incidents/{}", inc.id),
        format!("/console/incidents/{}/live", inc.id),
        format!("/console/integrations/{}", theirs.id),
        format!("/console/integrations/{}/links", theirs.id),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.html);
        assert!(page.html.contains("not found"), "{path}");
        assert!(!page.html.contains("Incident secret-incident") && !page.html.contains(&theirs.name), "{path} leaks");
    }
    let list = b.get("/console/incidents").await;
    assert!(!list.html.contains("secret-incident"));
    let list = b.get("/console/integrations").await;
    assert!(!list.html.contains(theirs.id.as_str()));

    let from = "/console/incidents";
    for action in [
        format!("/console/incidents/{}/war-room", inc.id),
        format!("/console/incidents/{}/dismiss", inc.id),
        format!("/console/integrations/{}/war-room/enable", theirs.id),
        format!("/console/integrations/{}/delete", theirs.id),
    ] {
        let page = b.submit(from, &action, &[]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{action}: {}", page.html);
    }
    let stored = app.store.get_incident(&other.id, &inc.id).await.unwrap().unwrap();
    assert!(!stored.war_room.wanted);
    assert!(app.store.get_integration(&theirs.id).await.unwrap().is_some(), "not deleted");
    assert_eq!(app.store.war_room_integration(&other.id).await.unwrap(), None);
    assert_eq!(app.store.war_room_integration(&a.id).await.unwrap(), None);
    assert!(app.queue.is_empty());
}

#[tokio::test]
async fn hostile_html_in_a_title_a_label_and_a_chat_message_is_shown_as_text() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let mut inc = warroom_testkit::fixtures::incident(&t.id, "x", warroom_testkit::fixtures::T0);
    inc.title = "<script>alert('title')</script>".into();
    inc.labels = [("<b>key</b>".to_string(), "<img src=x onerror=alert('label')>".to_string())].into();
    inc.url = Some("javascript:alert('url')".into());
    let inc = app.store.create_incident(&inc).await.unwrap();
    let message = ChatMessage { id: "m1".into(), at: warroom_testkit::fixtures::T0, author: "U1".into(), text: "</li><script>alert('chat')</script>".into() };
    app.store.append_chat_message(&t.id, &inc.id, &message).await.unwrap();
    let entry = TimelineEntry::new(
        t.id.clone(),
        inc.id.clone(),
        warroom_testkit::fixtures::T0,
        warroom_core::Actor::System,
        TimelineAction::IncidentOpened,
        "<svg onload=alert('detail')>",
    );
    app.store.append_timeline(&entry).await.unwrap();
    app.member(&t.id, "m_x", "<script>alert('member')</script>").await;
    let b = Browser::signed_in(&app, &t.key).await;

    let page = b.get(&format!("/console/incidents/{}", inc.id)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    for shown in [
        "&lt;script&gt;alert('title')&lt;/script&gt;",
        "&lt;img src=x onerror=alert('label')&gt;",
        "&lt;b&gt;key&lt;/b&gt;",
        "&lt;/li&gt;&lt;script&gt;alert('chat')&lt;/script&gt;",
        "&lt;svg onload=alert('detail')&gt;",
    ] {
        assert!(page.html.contains(shown), "{shown} not shown as text: {}", page.html);
    }
    for raw in ["<script>alert", "<img src=x", "<b>key", "<svg", "href=\"javascript:"] {
        assert!(!page.html.contains(raw), "{raw} reached the page as HTML");
    }
    let live = b.get(&format!("/console/incidents/{}/live", inc.id)).await;
    assert!(live.html.contains("&lt;/li&gt;&lt;script&gt;alert('chat')") && !live.html.contains("<script>alert"));
    let list = b.get("/console/incidents").await;
    assert!(list.html.contains("&lt;script&gt;alert('title')") && !list.html.contains("<script>alert"));
    let members = b.get("/console/members").await;
    assert!(members.html.contains("&lt;script&gt;alert('member')") && !members.html.contains("<script>alert"));
}

#[tokio::test]
async fn every_console_answer_carries_the_csp_and_pages_are_never_cached() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, _) = app.integration(&t.id, Platform::Feishu, &["chat:write"]).await;
    let inc = app.incident(&t.id, "ext-1").await;
    let anonymous = Browser::new(&app);
    let b = Browser::signed_in(&app, &t.key).await;
    let mut pages = vec![anonymous.get("/console/").await, anonymous.get("/console/incidents").await, b.get("/console/nowhere").await];
    for path in [
        "/console/incidents".to_owned(),
        format!("/console/incidents/{}", inc.id),
        format!("/console/incidents/{}/live", inc.id),
        "/console/integrations".to_owned(),
        "/console/integrations/new?platform=feishu".to_owned(),
        format!("/console/integrations/{}", i.id),
        format!("/console/integrations/{}/links", i.id),
        "/console/members".to_owned(),
        "/console/settings".to_owned(),
        "/console/keys".to_owned(),
        "/console/dead-letters".to_owned(),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        assert!(!page.html.contains("<style") && !page.html.contains(" style=") && !page.html.contains("<script>"), "{path}: inline script or style");
        pages.push(page);
    }
    pages.push(b.submit("/console/incidents", "/console/members", &[("name", "Ada")]).await);
    for page in &pages {
        assert_eq!(page.header("content-security-policy"), CSP, "{}", page.html);
        assert_eq!(page.header("x-content-type-options"), "nosniff");
        assert_eq!(page.header("referrer-policy"), "no-referrer");
        assert_eq!(page.header("cache-control"), "no-store");
    }
    for path in ["/console/static/console.js", "/console/static/console.css"] {
        let file = anonymous.get(path).await;
        assert_eq!(file.status, StatusCode::OK, "{path}");
        assert_eq!(file.header("content-security-policy"), CSP);
        assert_eq!(file.header("x-content-type-options"), "nosniff");
    }
}

#[tokio::test]
async fn the_console_session_does_not_open_the_api_to_a_browser() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let b = Browser::signed_in(&app, &t.key).await;
    // The session cookie is no API credential: the API still wants its bearer key.
    let api = b.send(axum::http::Method::GET, "/api/v1/incidents", None).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED, "{}", api.html);
    let api = b.send(axum::http::Method::POST, "/api/v1/keys", Some("label=x&scope=admin".into())).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED, "{}", api.html);
    assert_eq!(app.store.list_api_keys(&t.id).await.unwrap().len(), 1);
}
