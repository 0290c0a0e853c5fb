//! The console's status page: each integration's health as the API reports it (token, last
//! call that worked, last failure in the platform's words) and the dead letters waiting.

#[path = "console/browser.rs"]
mod browser;
mod common;

use axum::http::StatusCode;
use browser::Browser;
use common::App;
use std::time::Duration;
use warroom_core::{ImError, Platform};
use warroom_platforms::health::HealthLog;

#[tokio::test]
async fn the_status_page_shows_each_integrations_health_and_the_dead_letters() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (works, _) = app.integration(&t.id, Platform::Feishu, &App::all_scopes()).await;
    let (refused, _) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    let (idle, _) = app.integration(&t.id, Platform::Feishu, &["im:chat"]).await;
    let log = HealthLog::new(app.store.clone(), app.clock.clone());
    log.record(&works.id, Ok(())).await;
    log.record(&refused.id, Ok(())).await;
    app.clock.advance(Duration::from_secs(90));
    log.record(&refused.id, Err(&ImError::Unauthorized("invalid_auth <script>x</script>".into()))).await;

    let b = Browser::signed_in(&app, &t.key).await;
    let page = b.get("/console/status").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let row = |id: &str| {
        let start = page.html.find(&format!("/console/integrations/{id}")).unwrap_or_else(|| panic!("a row for {id}: {}", page.html));
        page.html[start..].split("</tr>").next().unwrap().to_string()
    };
    assert!(row(works.id.as_str()).contains("works"), "{}", row(works.id.as_str()));
    let refused_row = row(refused.id.as_str());
    assert!(refused_row.contains("revoked: re-authorize it") && refused_row.contains("<code>unauthorized</code>"), "{refused_row}");
    assert!(refused_row.contains("&lt;script&gt;") && !refused_row.contains("<script>"), "the platform's words shown as text: {refused_row}");
    let idle_row = row(idle.id.as_str());
    assert!(idle_row.contains("lacks permissions:") && idle_row.contains("none yet"), "{idle_row}");
    assert!(page.html.contains("None: every job of this tenant ran or is waiting its turn."), "{}", page.html);
    assert!(page.html.contains(r#"href="/console/status" aria-current="page""#), "the nav marks the page");
}

#[tokio::test]
async fn another_tenants_integrations_are_not_on_the_status_page() {
    let app = App::new();
    let (a, b) = (app.tenant("acme").await, app.tenant("other").await);
    let (theirs, _) = app.integration(&b.id, Platform::Slack, &App::all_scopes()).await;
    let page = Browser::signed_in(&app, &a.key).await.get("/console/status").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.html.contains(theirs.id.as_str()) && page.html.contains("No integration yet."), "{}", page.html);
}
