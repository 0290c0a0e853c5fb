//! Replacing an integration's credentials.

use super::*;

#[tokio::test]
async fn rotating_credentials_keeps_the_war_room_flag_and_replaces_the_token() {
    let w = world().await;
    let old = w.slack.issue_bot_token(TEAM, &slack_scopes());
    let connected = w.connect_slack(&old).await;
    let id = connected.body["id"].as_str().unwrap().to_owned();
    let r = w.app.call(Method::POST, &format!("/api/v1/integrations/{id}/war-room"), Some(&w.t.key), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["war_room_enabled"], true);

    let new = w.slack.issue_bot_token(TEAM, &slack_scopes());
    let path = format!("/api/v1/integrations/{id}/credentials");
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(json!({"bot_token": new, "signing_secret": "a-new-signing-secret"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["war_room_enabled"], true, "the war-room flag stays");
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["name"], format!("Slack {TEAM}"), "the name stays when none is given");
    assert!(!r.text.contains(&new));
    let stored = w.stored(&json!(id)).await;
    let opened = w.platforms.slack_credentials(&stored).unwrap();
    assert_eq!(opened.bot_token, new);
    assert_eq!(opened.signing_secret.as_deref(), Some("a-new-signing-secret"));
    assert_eq!(w.app.store.war_room_integration(&w.t.id).await.unwrap(), Some(IntegrationId::new(id.as_str())));

    // Another workspace's token, another platform's app, a bad token: refused, nothing changes.
    let elsewhere = w.slack.issue_bot_token("T0OTHER", &slack_scopes());
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(json!({"bot_token": elsewhere, "signing_secret": SIGNING_SECRET}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "different_installation"), "{}", r.text);
    assert!(r.message().contains("T0OTHER"), "{}", r.message());
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(feishu_body(FEISHU_SECRET))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "different_installation"), "{}", r.text);
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(json!({"bot_token": "xoxb-0-0-bogus", "signing_secret": SIGNING_SECRET}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials"), "{}", r.text);
    let after = w.platforms.slack_credentials(&w.stored(&json!(id)).await).unwrap();
    assert_eq!(after.bot_token, new);

    let other = w.app.tenant("globex").await;
    let r = w.app.call(Method::PUT, &path, Some(&other.key), Some(json!({"bot_token": new, "signing_secret": SIGNING_SECRET}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn rotating_a_feishu_secret_checks_the_new_one_even_with_a_token_cached() {
    let w = world().await;
    let connected = w.connect(&w.t.key, feishu_body(FEISHU_SECRET)).await;
    assert_eq!(connected.status, StatusCode::CREATED, "{}", connected.text);
    let path = format!("/api/v1/integrations/{}/credentials", connected.body["id"].as_str().unwrap());
    // A token for the app is cached now; a wrong secret must still be refused.
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(feishu_body("wrong-secret"))).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials"), "{}", r.text);
    let mut renamed = feishu_body(FEISHU_SECRET);
    renamed["name"] = json!("Ops bot");
    let r = w.app.call(Method::PUT, &path, Some(&w.t.key), Some(renamed)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Ops bot");
    assert_eq!(r.body["setup"]["card_request_url"], format!("{PUBLIC_URL}/im/{}/cards", connected.body["id"].as_str().unwrap()));
}
