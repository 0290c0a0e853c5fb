//! Self-managed Slack apps: connected by bot token, refused when wrong, never twice.

use super::*;

#[tokio::test]
async fn a_slack_app_connects_by_its_bot_token_recording_workspace_and_scopes_and_never_echoing_the_token() {
    let w = world().await;
    let token = w.slack.issue_bot_token(TEAM, &slack_scopes());
    let r = w.connect(&w.t.key, json!({"platform": "slack", "name": "Acme on-call", "bot_token": token, "signing_secret": SIGNING_SECRET})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["platform"], "slack");
    assert_eq!(r.body["name"], "Acme on-call");
    assert_eq!(r.body["external_id"], TEAM);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["war_room_enabled"], false);
    let mut expected: Vec<&str> = slack_scopes();
    expected.sort();
    assert_eq!(r.body["granted_scopes"], json!(expected));
    assert_eq!(r.body["missing_permissions"], json!([]));
    assert!(!r.text.contains(&token) && !r.text.contains(SIGNING_SECRET), "a secret was echoed: {}", r.text);
    assert!(r.body.get("credentials").is_none());

    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        r.body["setup"],
        json!({
            "event_request_url": format!("{PUBLIC_URL}/im/{id}/events"),
            "interactivity_url": format!("{PUBLIC_URL}/im/{id}/cards"),
            "manifest_url": format!("{PUBLIC_URL}/api/v1/integrations/slack/manifest?integration_id={id}"),
        })
    );

    let stored = w.stored(&r.body["id"]).await;
    assert_eq!(stored.tenant_id, w.t.id);
    assert_eq!(stored.external_id.as_deref(), Some(TEAM));
    let raw = serde_json::to_string(&stored).unwrap();
    assert!(!raw.contains(&token) && !raw.contains(SIGNING_SECRET), "plaintext credentials stored: {raw}");
    let opened = w.platforms.slack_credentials(&stored).unwrap();
    assert_eq!(opened.bot_token, token);
    assert_eq!(opened.team_id, TEAM);
    assert_eq!(opened.signing_secret.as_deref(), Some(SIGNING_SECRET));
    assert_eq!(opened.bot_user_id, w.slack.bot_user_id(TEAM));

    let listed = w.app.get("/api/v1/integrations", &w.t.key).await;
    assert_eq!(listed.body["integrations"].as_array().unwrap().len(), 1);
    assert!(!listed.text.contains(&token));
}

#[tokio::test]
async fn a_slack_app_without_a_name_is_named_after_its_workspace_and_records_the_scopes_it_lacks() {
    let w = world().await;
    let token = w.slack.issue_bot_token(TEAM, &["chat:write", "users:read"]);
    let r = w.connect_slack(&token).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["name"], format!("Slack {TEAM}"));
    assert_eq!(r.body["granted_scopes"], json!(["chat:write", "users:read"]));
    assert!(r.body["missing_permissions"].as_array().unwrap().iter().any(|s| s == "channels:manage"));
    assert_eq!(r.body["reauthorize_url"], format!("{PUBLIC_URL}/oauth/{}/authorize", r.body["id"].as_str().unwrap()));
}

#[tokio::test]
async fn a_bad_slack_token_is_refused_with_422_invalid_credentials_without_echoing_it() {
    let w = world().await;
    let bogus = "xoxb-00000000000-0000000000000-notarealtokenatall00000";
    let r = w.connect_slack(bogus).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.code(), "invalid_credentials");
    assert!(r.message().starts_with("bot_token:") && r.message().contains("invalid_auth"), "{}", r.message());
    assert!(!r.text.contains(bogus), "{}", r.text);

    let revoked = w.slack.issue_bot_token(TEAM, &slack_scopes());
    w.slack.revoke_token(&revoked);
    let r = w.connect_slack(&revoked).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials"), "{}", r.text);
    assert!(!r.text.contains(&revoked));

    let r = w.connect_slack("xoxp-a-user-token").await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{}", r.text);
    assert!(r.message().starts_with("bot_token:"), "{}", r.message());

    let r = w.connect(&w.t.key, json!({"platform": "slack", "bot_token": revoked})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().starts_with("signing_secret: required (the app's Signing Secret"), "{}", r.message());
    assert!(w.app.store.list_integrations(&w.t.id).await.unwrap().is_empty(), "nothing is stored");
}

#[tokio::test]
async fn requests_naming_no_known_platform_or_mixing_fields_are_refused_naming_the_field() {
    let w = world().await;
    for (body, starts) in [
        (json!({"bot_token": "xoxb-1", "signing_secret": "s"}), "platform: required"),
        (json!({"platform": "teams"}), "platform: unknown platform"),
        (json!({"platform": "wecom", "corp_id": "ww1"}), "agent_id: required"),
        (json!({"platform": "slack", "bot_token": "xoxb-1", "signing_secret": "s", "app_id": "cli_1"}), "app_id: not a field of a slack integration"),
        (json!({"platform": "feishu", "app_id": "cli_1", "app_secret": "s"}), "verification_token: required"),
        (
            json!({"platform": "feishu", "app_id": "cli_1", "app_secret": "s", "verification_token": "v", "domain": "larksuite"}),
            "domain: must be feishu or lark",
        ),
        (json!({"platform": "slack", "name": "x".repeat(201), "bot_token": "xoxb-1", "signing_secret": "s"}), "name: at most 200"),
    ] {
        let r = w.connect(&w.t.key, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(r.message().starts_with(starts), "{body}: {}", r.message());
    }
    let r = w.connect(&w.t.key, json!({"platform": "slack", "token": "xoxb-1"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("unknown field `token`"), "{}", r.message());
}

#[tokio::test]
async fn the_same_workspace_connected_twice_is_409_already_connected() {
    let w = world().await;
    let first = w.connect_slack(&w.slack.issue_bot_token(TEAM, &slack_scopes())).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let id = first.body["id"].as_str().unwrap();

    let again = w.connect_slack(&w.slack.issue_bot_token(TEAM, &slack_scopes())).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "already_connected"), "{}", again.text);
    assert!(again.message().contains(&format!("PUT /api/v1/integrations/{id}/credentials")), "{}", again.message());
    assert_eq!(again.body["error"]["integration_id"], id);

    let other = w.app.tenant("globex").await;
    let token = w.slack.issue_bot_token(TEAM, &slack_scopes());
    let r = w.connect(&other.key, json!({"platform": "slack", "bot_token": token, "signing_secret": SIGNING_SECRET})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "already_connected"), "{}", r.text);
    assert!(r.message().contains("another Warroom tenant"), "{}", r.message());
    assert!(!r.text.contains(id), "another tenant's integration id leaked: {}", r.text);
    assert_eq!(w.app.store.list_integrations(&w.t.id).await.unwrap().len(), 1);
    assert!(w.app.store.list_integrations(&other.id).await.unwrap().is_empty());
}
