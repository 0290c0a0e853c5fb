//! Post-redirect-get: a form that succeeded answers `303 See Other` to the page it changed,
//! with what it did carried in a sealed, short-lived cookie bound to the session and shown
//! once; a refused form re-renders with the API's error. A reload never re-posts.

#[path = "console/browser.rs"]
mod browser;
mod common;

use axum::http::{Method, StatusCode};
use browser::{encode, Browser};
use common::App;
use warroom_core::Store;

#[tokio::test]
async fn a_successful_form_redirects_to_the_page_it_changed_and_says_so_once() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let b = Browser::signed_in(&app, &t.key).await;
    let token = b.get("/console/members").await.csrf();
    let raw = b.send(Method::POST, "/console/members", Some(encode(&[("csrf", &token), ("name", "Ada"), ("role", "admin")]))).await;
    assert_eq!((raw.status, raw.location()), (StatusCode::SEE_OTHER, "/console/members"), "{}", raw.html);
    let flash = raw.set_cookies().into_iter().find(|c| c.starts_with("warroom_flash=")).expect("the message travels in a cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Secure"] {
        assert!(flash.split("; ").any(|a| a == attribute), "{attribute} missing: {flash}");
    }
    assert!(!flash.contains("Ada"), "sealed, not readable: {flash}");

    let page = b.get("/console/members").await;
    assert!(page.html.contains("Added Ada."), "{}", page.html);
    assert!(page.set_cookies().iter().any(|c| c.starts_with("warroom_flash=;") && c.contains("Max-Age=0")), "shown once, then cleared");
    let reload = b.get("/console/members").await;
    assert!(!reload.html.contains("Added Ada."), "a reload shows the page, not the message again");
    assert_eq!(app.store.list_members(&t.id).await.unwrap().len(), 1, "and posts nothing");
}

#[tokio::test]
async fn a_flash_is_bound_to_its_session_and_expires() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let a = Browser::signed_in(&app, &t.key).await;
    let token = a.get("/console/members").await.csrf();
    let raw = a.send(Method::POST, "/console/members", Some(encode(&[("csrf", &token), ("name", "Ada")]))).await;
    let flash = raw.set_cookies().into_iter().find(|c| c.starts_with("warroom_flash=")).unwrap();
    let pair = flash.split(';').next().unwrap();
    let (name, value) = pair.split_once('=').unwrap();

    // Another session of the same tenant with this cookie: not shown.
    let other = Browser::signed_in(&app, &t.key).await;
    other.jar.lock().unwrap().push((name.into(), value.into()));
    assert!(!other.get("/console/members").await.html.contains("Added Ada."));

    // Its own session, three minutes later: expired.
    a.jar.lock().unwrap().clear();
    a.jar.lock().unwrap().push((name.into(), value.into()));
    app.clock.advance(std::time::Duration::from_secs(180));
    assert!(!a.get("/console/members").await.html.contains("Added Ada."));
}

#[tokio::test]
async fn a_refused_form_renders_the_apis_error_without_redirecting() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let b = Browser::signed_in(&app, &t.key).await;
    let page = b.submit("/console/members", "/console/members", &[("name", "Ada"), ("email", "not-an-email")]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.html);
    assert!(page.redirected_to.is_none() && page.html.contains("is not an email address"), "{}", page.html);
}

#[tokio::test]
async fn a_new_api_key_survives_the_redirect_sealed_and_is_shown_once() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let b = Browser::signed_in(&app, &t.key).await;
    let token = b.get("/console/keys").await.csrf();
    let raw = b.send(Method::POST, "/console/keys", Some(encode(&[("csrf", &token), ("label", "ci"), ("scope", "intake")]))).await;
    assert_eq!((raw.status, raw.location()), (StatusCode::SEE_OTHER, "/console/keys"));
    let flash = raw.set_cookies().into_iter().find(|c| c.starts_with("warroom_flash=")).unwrap();
    assert!(!flash.contains("wr_"), "the key is sealed in the cookie: {flash}");
    let page = b.get("/console/keys").await;
    assert!(page.html.contains(r#"id="new-key-value" type="text" readonly value="wr_"#), "{}", page.html);
    assert!(!b.get("/console/keys").await.html.contains("new-key-value"));
}

#[tokio::test]
async fn the_incident_list_filters_by_its_form_and_keeps_the_filters_across_pages() {
    let app = App::new();
    let t = app.tenant("acme").await;
    for n in 0..60 {
        let mut i = warroom_testkit::fixtures::incident(&t.id, &format!("ext-{n}"), warroom_core::Timestamp(warroom_testkit::fixtures::T0.0 + n * 1000));
        if n % 2 == 0 {
            i.status = warroom_core::Status::Resolved;
        }
        app.store.create_incident(&i).await.unwrap();
    }
    let b = Browser::signed_in(&app, &t.key).await;
    let page = b.get("/console/incidents").await;
    for name in ["status", "severity", "source", "phase"] {
        assert!(page.html.contains(&format!(r#"<label for="filter-{name}""#)) && page.html.contains(&format!(r#"name="{name}""#)), "{name}: {}", page.html);
    }
    let page = b.get("/console/incidents?status=resolved").await;
    assert_eq!(page.html.matches("<td data-label=\"Status\">resolved</td>").count(), 25, "a full page of them");
    assert!(!page.html.contains("<td data-label=\"Status\">triggered</td>"));
    assert!(page.html.contains(r#"<option value="resolved" selected>"#), "the form shows the filter chosen");
    let page = b.get("/console/incidents?status=triggered&phase=none").await;
    assert!(page.html.contains("status=triggered&amp;phase=none"), "the next page keeps the filters: {}", page.html);
    let page = b.get("/console/incidents?status=nonsense").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("status: &quot;nonsense&quot; is not one of"), "the API's message: {}", page.html);
}
