//! The deployment's Slack app (install link, manifest, setup URLs) and a deployment without adapters.

use super::*;

#[tokio::test]
async fn the_install_url_carries_a_state_the_oauth_callback_accepts_once() {
    let w = world().await;
    let r = w.app.call(Method::POST, "/api/v1/integrations/slack/install", Some(&w.t.key), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let url = r.body["install_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/oauth/v2/authorize?", w.slack.base_url())), "{url}");
    assert_eq!(query_param(url, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(query_param(url, "redirect_uri"), Some(format!("{PUBLIC_URL}/oauth/slack/callback")));
    assert_eq!(query_param(url, "scope"), Some(slack_scopes().join(",")));
    let state = query_param(url, "state").unwrap();
    let pending = oauth_state::finish(&w.app.state, &state).await.unwrap();
    assert_eq!(pending, Some(Pending::SlackInstall { tenant_id: w.t.id.clone(), integration_id: None }));
    assert_eq!(oauth_state::finish(&w.app.state, &state).await.unwrap(), None, "a state is single-use");

    // Re-authorizing one of the tenant's Slack integrations.
    let connected = w.connect_slack(&w.slack.issue_bot_token(TEAM, &["chat:write"])).await;
    let id = connected.body["id"].as_str().unwrap();
    let r = w.app.call(Method::POST, "/api/v1/integrations/slack/install", Some(&w.t.key), Some(json!({"integration_id": id}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let state = query_param(r.body["install_url"].as_str().unwrap(), "state").unwrap();
    let pending = oauth_state::finish(&w.app.state, &state).await.unwrap();
    assert_eq!(pending, Some(Pending::SlackInstall { tenant_id: w.t.id.clone(), integration_id: Some(IntegrationId::new(id)) }));

    // Not one of the tenant's Slack integrations.
    let feishu = w.connect(&w.t.key, feishu_body(FEISHU_SECRET)).await;
    let r = w.app.call(Method::POST, "/api/v1/integrations/slack/install", Some(&w.t.key), Some(json!({"integration_id": feishu.body["id"]}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "wrong_platform"), "{}", r.text);
    assert!(r.message().starts_with("integration_id:"), "{}", r.message());
    let other = w.app.tenant("globex").await;
    let r = w.app.call(Method::POST, "/api/v1/integrations/slack/install", Some(&other.key), Some(json!({"integration_id": id}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", r.text);
}

#[tokio::test]
async fn without_a_deployment_slack_app_the_install_link_is_409_no_slack_app() {
    let w = world_with(false).await;
    let r = w.app.call(Method::POST, "/api/v1/integrations/slack/install", Some(&w.t.key), Some(json!({}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "no_slack_app"), "{}", r.text);
}

#[tokio::test]
async fn the_manifest_is_yaml_with_the_integrations_event_url() {
    let w = world().await;
    let connected = w.connect_slack(&w.slack.issue_bot_token(TEAM, &slack_scopes())).await;
    let id = connected.body["id"].as_str().unwrap();
    let r = w.app.get(&format!("/api/v1/integrations/slack/manifest?integration_id={id}"), &w.t.key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/yaml"));
    assert!(r.text.contains("display_information:") && r.text.contains("Warroom"), "{}", r.text);
    assert!(r.text.contains(&format!("{PUBLIC_URL}/im/{id}/events")), "{}", r.text);
    assert!(r.text.contains(&format!("{PUBLIC_URL}/im/{id}/cards")), "{}", r.text);
    assert!(r.text.contains("channels:manage"));

    let r = w.app.get("/api/v1/integrations/slack/manifest", &w.t.key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains(&format!("{PUBLIC_URL}/im/slack/events")), "the deployment's app: {}", r.text);

    let r = w.app.get("/api/v1/integrations/slack/manifest?integration_id=int_nope", &w.t.key).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = w.app.call(Method::GET, "/api/v1/integrations/slack/manifest", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_setup_of_a_slack_integration_through_the_deployment_app_points_at_the_deployment_urls() {
    let w = world().await;
    let mut integration = warroom_testkit::fixtures::integration(&w.t.id, Platform::Slack);
    let credentials = slack::SlackCredentials { bot_token: "xoxb-1".into(), team_id: TEAM.into(), bot_user_id: None, app_id: None, signing_secret: None };
    integration.credentials = w.platforms.seal(&integration.id, &credentials);
    assert_eq!(
        api::views::integration_detail(&w.app.state, &integration)["setup"],
        json!({"event_request_url": format!("{PUBLIC_URL}/im/slack/events"), "interactivity_url": format!("{PUBLIC_URL}/im/slack/interactions")})
    );
    // Credentials that do not open: no setup rather than a wrong one.
    integration.credentials = SealedCredentials("garbage".into());
    let detail = api::views::integration_detail(&w.app.state, &integration);
    assert!(detail.get("setup").is_none(), "{detail}");
    assert_eq!(detail["platform"], "slack", "the rest of the detail is still there");
}

#[tokio::test]
async fn without_platform_adapters_connecting_answers_503_platforms_unavailable() {
    let app = App::new();
    let t = app.tenant("acme").await;
    for (method, path, body) in [
        (Method::POST, "/api/v1/integrations".to_string(), Some(json!({"platform": "slack", "bot_token": "xoxb-1", "signing_secret": "s"}))),
        (Method::POST, "/api/v1/integrations/slack/install".to_string(), None),
    ] {
        let r = app.call(method, &path, Some(&t.key), body).await;
        assert_eq!((r.status, r.code()), (StatusCode::SERVICE_UNAVAILABLE, "platforms_unavailable"), "{path}: {}", r.text);
    }
    let (i, _) = app.integration(&t.id, Platform::Slack, &[]).await;
    let r = app.call(Method::PUT, &format!("/api/v1/integrations/{}/credentials", i.id), Some(&t.key), Some(json!({"bot_token": "xoxb-1"}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::SERVICE_UNAVAILABLE, "platforms_unavailable"), "{}", r.text);
}
