//! The console's pages do what the API does: war rooms, integrations (against the Feishu
//! sandbox), members, linked users, settings, keys, dead letters; every action says what
//! happened, or the API's own error message.

#[path = "console/browser.rs"]
mod browser;
mod common;

use axum::http::StatusCode;
use browser::Browser;
use common::{App, PUBLIC_URL};
use serde_json::json;
use warroom_core::{Platform, Store, WarRoomState};
use warroom_platforms::feishu;

#[tokio::test]
async fn creating_and_dismissing_a_war_room_by_the_console_has_the_apis_effect() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, fake) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    app.store.enable_war_room(&t.id, &i.id).await.unwrap();
    app.member(&t.id, "m_ada", "Ada").await;
    app.store.put_link(&warroom_testkit::fixtures::link(&t.id, &i.id, "m_ada", "U_ADA")).await.unwrap();
    fake.add_user("U_ADA", "Ada", Some("ada@example.com"), None);
    let inc = app.incident(&t.id, "ext-1").await;
    let b = Browser::signed_in(&app, &t.key).await;
    let path = format!("/console/incidents/{}", inc.id);
    let page = b.get(&path).await;
    assert!(page.html.contains("Create War Room") && !page.html.contains("Dismiss War Room"), "{}", page.html);

    let page = b.submit(&path, &format!("{path}/war-room"), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("War room requested"), "{}", page.html);
    assert!(app.store.get_incident(&t.id, &inc.id).await.unwrap().unwrap().war_room.wanted);
    assert!(!app.queue.is_empty(), "a reconcile is queued, as by the API");
    let timeline = app.store.list_timeline(&t.id, &inc.id).await.unwrap();
    assert_eq!(timeline[0].action, warroom_core::TimelineAction::WarRoomRequested);
    assert_eq!(timeline[0].actor, warroom_core::Actor::ApiKey { label: "tests".into() }, "the same actor as through the API");

    app.run_worker().await;
    let chat = fake.chats()[0].clone();
    let page = b.get(&path).await;
    let stored = app.store.get_incident(&t.id, &inc.id).await.unwrap().unwrap();
    let chat_url = stored.war_room.chat_url.clone().unwrap();
    assert!(page.html.contains(&format!(r#"href="{chat_url}""#)) && page.html.contains("View War Room"), "{}", page.html);
    assert!(page.html.contains("Dismiss War Room") && !page.html.contains("Create War Room"));
    assert!(page.html.contains("War room created"), "the timeline shows the step: {}", page.html);
    assert!(page.html.contains("Invited: Ada (U_ADA)"), "invited members by name: {}", page.html);
    let live = b.get(&format!("{path}/live")).await;
    assert!(
        live.html.contains(&format!(r#"href="{chat_url}""#)) && live.html.contains("Dismiss War Room"),
        "the war-room buttons come with the live section, so View War Room appears without a reload: {}",
        live.html
    );

    let page = b.submit(&path, &format!("{path}/dismiss"), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Dismissing the war room"));
    app.run_worker().await;
    assert!(fake.chat(chat.id.as_str()).unwrap().disbanded);
    let stored = app.store.get_incident(&t.id, &inc.id).await.unwrap().unwrap();
    assert_eq!(stored.war_room.state, WarRoomState::Dismissed);
    let live = b.get(&format!("{path}/live")).await;
    assert!(live.html.contains("War room dismissed") && live.html.contains("API key tests"), "{}", live.html);
}

#[tokio::test]
async fn the_apis_refusals_reach_the_page_with_their_message() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let inc = app.incident(&t.id, "ext-1").await;
    let b = Browser::signed_in(&app, &t.key).await;
    let path = format!("/console/incidents/{}", inc.id);
    let page = b.submit(&path, &format!("{path}/war-room"), &[]).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.html.contains("no IM integration has war room enabled") && page.html.contains("war_room_not_enabled"), "{}", page.html);
    let page = b.submit(&path, &format!("{path}/dismiss"), &[]).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.html.contains("invalid_state"), "{}", page.html);
    assert!(app.queue.is_empty());
}

#[tokio::test]
async fn enabling_war_rooms_lists_each_missing_permission_with_a_reauthorize_link_then_moves_them() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (partial, fake) = app.integration(&t.id, Platform::Slack, &["chat:write"]).await;
    let b = Browser::signed_in(&app, &t.key).await;
    let path = format!("/console/integrations/{}", partial.id);
    let page = b.submit(&path, &format!("{path}/war-room/enable"), &[]).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.html);
    assert!(page.html.contains("lacks permissions war rooms need: channels:manage, users:read.email"), "the API's message: {}", page.html);
    for scope in ["channels:manage", "users:read.email"] {
        assert!(page.html.contains(&format!("<code>{scope}</code> — ")), "{scope} with its purpose: {}", page.html);
    }
    assert!(page.html.contains(&format!(r#"href="{PUBLIC_URL}/oauth/{}/authorize">Re-authorize"#, partial.id)), "{}", page.html);
    assert_eq!(app.store.war_room_integration(&t.id).await.unwrap(), None);

    // Granted since in the platform's console: accepted.
    fake.set_granted_scopes(App::all_scopes().iter().map(|s| s.to_string()).collect());
    let page = b.submit(&path, &format!("{path}/war-room/enable"), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("War rooms are enabled"));
    assert_eq!(app.store.war_room_integration(&t.id).await.unwrap(), Some(partial.id.clone()));

    // Another integration: refused naming the holder, then moved on request.
    let (other, _) = app.integration(&t.id, Platform::Feishu, &App::all_scopes()).await;
    let other_path = format!("/console/integrations/{}", other.id);
    let page = b.submit(&other_path, &format!("{other_path}/war-room/enable"), &[]).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.html.contains("already enabled on integration") && page.html.contains("Move war rooms to this integration"), "{}", page.html);
    let page = b.submit(&other_path, &format!("{other_path}/war-room/move"), &[("from", partial.id.as_str())]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(app.store.war_room_integration(&t.id).await.unwrap(), Some(other.id.clone()));

    let page = b.submit(&other_path, &format!("{other_path}/war-room/disable"), &[]).await;
    assert!(page.html.contains("War rooms are disabled"));
    assert_eq!(app.store.war_room_integration(&t.id).await.unwrap(), None);
    let page = b.submit(&other_path, &format!("{other_path}/delete"), &[]).await;
    assert!(page.html.contains("The integration was deleted"));
    assert!(app.store.get_integration(&other.id).await.unwrap().is_none());
}

#[tokio::test]
async fn a_feishu_app_is_added_by_its_form_and_its_urls_are_shown_to_copy() {
    let (app, sandbox) = App::with_feishu_sandbox().await;
    sandbox.add_app("cli_console", "app-secret-0123456789", "verify-token", "encrypt-key", &["im:message"]);
    let t = app.tenant("acme").await;
    let b = Browser::signed_in(&app, &t.key).await;
    let form = b.get("/console/integrations/new?platform=feishu").await;
    for field in ["app_id", "app_secret", "verification_token", "encrypt_key", "domain"] {
        assert!(form.html.contains(&format!(r#"name="{field}""#)), "{field} missing: {}", form.html);
    }
    let fields =
        [("platform", "feishu"), ("name", "Acme Feishu"), ("app_id", "cli_console"), ("verification_token", "verify-token"), ("encrypt_key", "encrypt-key")];
    let mut wrong = fields.to_vec();
    wrong.push(("app_secret", "not-the-secret"));
    let page = b.submit("/console/integrations/new?platform=feishu", "/console/integrations", &wrong).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.html);
    assert!(page.html.contains("invalid_credentials") && !page.html.contains("not-the-secret"), "{}", page.html);
    assert!(page.html.contains(r#"value="cli_console""#), "non-secret values are kept");

    let mut right = fields.to_vec();
    right.push(("app_secret", "app-secret-0123456789"));
    let page = b.submit("/console/integrations/new?platform=feishu", "/console/integrations", &right).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let stored = app.store.list_integrations(&t.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    let id = stored[0].id.as_str();
    for url in [
        format!("{PUBLIC_URL}/im/{id}/web"),
        format!("{PUBLIC_URL}/oauth/{id}/callback"),
        format!("{PUBLIC_URL}/im/{id}/cards"),
        format!("{PUBLIC_URL}/im/{id}/events"),
    ] {
        assert!(page.html.contains(&format!(r#"value="{url}""#)), "{url} not shown: {}", page.html);
    }
    assert!(page.html.contains("data-copy=\"setup-web_configuration_url\""));
    for secret in ["app-secret-0123456789", "verify-token", "encrypt-key"] {
        assert!(!page.html.contains(secret), "{secret} echoed");
    }

    // War rooms: refused while the app lacks permissions, accepted once granted.
    let path = format!("/console/integrations/{id}");
    let page = b.submit(&path, &format!("{path}/war-room/enable"), &[]).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.html);
    assert!(page.html.contains("Re-authorize") && page.html.contains("missing_permissions"));
    let all: Vec<&str> = feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    sandbox.set_scopes("cli_console", &all);
    let page = b.submit(&path, &format!("{path}/war-room/enable"), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(app.store.war_room_integration(&t.id).await.unwrap().is_some());

    // The same app again: refused, with the way to the connected one (not only the API's route).
    let page = b.submit("/console/integrations/new?platform=feishu", "/console/integrations", &right).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.html);
    assert!(page.html.contains("already_connected") && page.html.contains(&format!(r#"href="/console/integrations/{id}""#)), "{}", page.html);
}

#[tokio::test]
async fn members_are_added_edited_imported_and_deleted() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let b = Browser::signed_in(&app, &t.key).await;
    let page = b.submit("/console/members", "/console/members", &[("name", "Ada"), ("email", "ada@example.com"), ("phone", "")]).await;
    assert!(page.html.contains("Added Ada."), "{}", page.html);
    let ada = app.store.list_members(&t.id).await.unwrap().remove(0);
    let page = b.submit("/console/members", "/console/members", &[("id", ada.id.as_str()), ("name", "Ada L."), ("email", "ada@example.com")]).await;
    assert!(page.html.contains("Saved Ada L."), "{}", page.html);
    assert_eq!(app.store.get_member(&t.id, &ada.id).await.unwrap().unwrap().name, "Ada L.");

    let page = b.submit("/console/members", "/console/members", &[("name", "Bob"), ("email", "not-an-email")]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("[0].email"), "the API names the field: {}", page.html);

    let csv = "id,name,email,phone\nhr-1,Bob,bob@example.com,\nhr-2,\"Cy, Jr.\",,+86 138 0000 0001";
    let page = b.submit("/console/members", "/console/members/import", &[("members", csv)]).await;
    assert!(page.html.contains("Imported 2 members."), "{}", page.html);
    let json = json!([{ "id": "hr-3", "name": "Dee" }]).to_string();
    let page = b.submit("/console/members", "/console/members/import", &[("members", &json)]).await;
    assert!(page.html.contains("Imported 1 members."), "{}", page.html);
    assert_eq!(app.store.list_members(&t.id).await.unwrap().len(), 4);
    assert_eq!(app.store.get_member(&t.id, &"hr-2".into()).await.unwrap().unwrap().name, "Cy, Jr.");

    let page = b.submit("/console/members", "/console/members/hr-3/delete", &[]).await;
    assert!(page.html.contains("was deleted"));
    assert!(app.store.get_member(&t.id, &"hr-3".into()).await.unwrap().is_none());
}

#[tokio::test]
async fn linked_users_are_filtered_searched_one_click_linked_and_linked_by_hand() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, fake) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    for (id, name) in [("m_ada", "Ada"), ("m_bob", "Bob"), ("m_dee", "Dee")] {
        let mut m = app.member(&t.id, id, name).await;
        m.phone = None;
        app.store.put_member(&m).await.unwrap();
    }
    app.store.put_link(&warroom_testkit::fixtures::link(&t.id, &i.id, "m_ada", "U_ADA")).await.unwrap();
    fake.add_user("U_BOB", "Bob", Some("bob@example.com"), None);
    let b = Browser::signed_in(&app, &t.key).await;
    let base = format!("/console/integrations/{}/links", i.id);
    let unlinked = b.get(&format!("{base}?filter=unlinked")).await;
    assert!(!unlinked.html.contains("U_ADA") && unlinked.html.contains("Bob") && unlinked.html.contains("Dee"), "{}", unlinked.html);
    let search = b.get(&format!("{base}?search=bob%40example")).await;
    assert!(search.html.contains("Bob") && !search.html.contains(">Dee<"), "{}", search.html);

    let page = b.submit(&base, &format!("{base}/auto"), &[("filter", "all")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("2 linked, 1 not linked"), "{}", page.html);
    assert!(page.html.contains("<strong>Dee</strong>: not linked"), "a per-member result: {}", page.html);
    assert!(app.store.link_by_member(&t.id, &i.id, &"m_bob".into()).await.unwrap().is_some());

    let page = b.submit(&base, &format!("{base}/m_dee"), &[("im_user_id", "U_ADA")]).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "an IM user linked to someone else: {}", page.html);
    assert!(page.html.contains("already linked to member m_ada"));
    let page = b.submit(&base, &format!("{base}/m_dee"), &[("im_user_id", "U_DEE")]).await;
    assert!(page.html.contains("Dee is linked to U_DEE"), "{}", page.html);
    let page = b.submit(&base, &format!("{base}/m_ada/unlink"), &[]).await;
    assert!(page.html.contains("m_ada is unlinked"));
    assert!(app.store.link_by_member(&t.id, &i.id, &"m_ada".into()).await.unwrap().is_none());
}

#[tokio::test]
async fn a_new_api_key_is_shown_once_and_revoking_the_sessions_own_key_signs_it_out() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let b = Browser::signed_in(&app, &t.key).await;
    let page = b.submit("/console/keys", "/console/keys", &[("label", "terraform"), ("scope", "admin")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let marker = r#"id="new-key-value" type="text" readonly value=""#;
    let start = page.html.find(marker).expect("the key is shown") + marker.len();
    let key = &page.html[start..start + 35];
    assert!(key.starts_with("wr_"), "{key}");
    assert!(!b.get("/console/keys").await.html.contains(key), "shown only once");

    let mine = app.store.find_api_key(&warroom_http::auth::hash_key(&t.key)).await.unwrap().unwrap();
    let id = &mine.key_hash[..16];
    let page = b.submit("/console/keys", &format!("/console/keys/{id}/revoke"), &[]).await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/console/?expired=1"), "{}", page.html);
    assert_eq!(b.get("/console/keys").await.status, StatusCode::SEE_OTHER);
    let newer = Browser::signed_in(&app, key).await;
    assert_eq!(newer.get("/console/keys").await.status, StatusCode::OK);
}

#[tokio::test]
async fn settings_show_secrets_only_as_set_and_save_only_what_changed() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app
        .call(
            axum::http::Method::PUT,
            "/api/v1/settings",
            Some(&t.key),
            Some(json!({"sources": {"pagerduty": {"api_token": "pd-token-secret-1", "from_email": "ops@example.com"}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let b = Browser::signed_in(&app, &t.key).await;
    let page = b.get("/console/settings").await;
    assert!(page.html.contains("set (leave blank to keep)") && !page.html.contains("pd-token-secret-1") && !page.html.contains("v1:"), "{}", page.html);

    let fields =
        [("auto_create_min_severity", "critical"), ("private_chats", "on"), ("auto_dismiss_after_minutes", "60"), ("pagerduty.from_email", "ops@example.com")];
    let page = b.submit("/console/settings", "/console/settings", &fields).await;
    assert!(page.html.contains("Settings saved."), "{}", page.html);
    let settings = app.store.get_tenant(&t.id).await.unwrap().unwrap().settings;
    assert_eq!(settings.auto_dismiss_after_minutes, Some(60));
    assert_eq!(settings.auto_create_min_severity, Some(warroom_core::Severity::Critical));
    let pd = &settings.sources.unwrap()["pagerduty"];
    assert!(pd["api_token"].as_str().unwrap().starts_with("v1:"), "the secret is kept: {pd}");

    let page = b.submit("/console/settings", "/console/settings", &[("auto_dismiss_after_minutes", "99999")]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("auto_dismiss_after_minutes: must be a whole number"), "{}", page.html);
}

#[tokio::test]
async fn dead_letters_are_listed_and_redriven() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let b = Browser::signed_in(&app, &t.key).await;
    let page = b.get("/console/dead-letters").await;
    assert!(page.html.contains("No dead letters"), "{}", page.html);
    let page = b.submit("/console/dead-letters", "/console/dead-letters/redrive", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("0 dead letters were moved back"), "{}", page.html);
}

#[tokio::test]
async fn a_slack_apps_manifest_is_served_to_the_session_as_the_api_answers_it() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let other = app.tenant("other").await;
    let (mine, _) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    let (theirs, _) = app.integration(&other.id, Platform::Slack, &App::all_scopes()).await;
    let b = Browser::signed_in(&app, &t.key).await;
    let page = b.get(&format!("/console/integrations/{}/manifest", mine.id)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.header("content-type").starts_with("text/plain"));
    let api = app.get(&format!("/api/v1/integrations/slack/manifest?integration_id={}", mine.id), &t.key).await;
    assert_eq!(page.html, api.text, "the API's answer, as is");
    assert!(page.html.contains(&format!("{PUBLIC_URL}/im/{}/events", mine.id)));
    let page = b.get(&format!("/console/integrations/{}/manifest", theirs.id)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}
