//! Feishu / Lark custom apps: the secret checked, scopes, bot and setup URLs recorded.

use super::*;

#[tokio::test]
async fn a_feishu_app_with_a_wrong_secret_is_refused_naming_the_problem() {
    let w = world().await;
    let r = w.connect(&w.t.key, feishu_body("not-the-secret")).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials"), "{}", r.text);
    assert!(r.message().contains("app_secret") && r.message().contains("app secret invalid"), "{}", r.message());
    assert!(!r.text.contains("not-the-secret"));

    let mut unknown = feishu_body(FEISHU_SECRET);
    unknown["app_id"] = json!("cli_nobody");
    let r = w.connect(&w.t.key, unknown).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials"), "{}", r.text);
    assert!(w.app.store.list_integrations(&w.t.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_feishu_app_connects_recording_its_scopes_and_bot_and_shows_the_four_setup_urls() {
    let w = world().await;
    let mut body = feishu_body(FEISHU_SECRET);
    body["domain"] = json!("lark");
    let r = w.connect(&w.t.key, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["platform"], "feishu");
    assert_eq!(r.body["name"], format!("Lark {FEISHU_APP}"));
    assert_eq!(r.body["external_id"], FEISHU_APP);
    let mut expected: Vec<&str> = feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    expected.sort();
    assert_eq!(r.body["granted_scopes"], json!(expected));
    assert_eq!(r.body["missing_permissions"], json!([]));
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        r.body["setup"],
        json!({
            "web_configuration_url": format!("{PUBLIC_URL}/im/{id}/web"),
            "redirect_url": format!("{PUBLIC_URL}/oauth/{id}/callback"),
            "card_request_url": format!("{PUBLIC_URL}/im/{id}/cards"),
            "event_request_url": format!("{PUBLIC_URL}/im/{id}/events"),
        })
    );
    for secret in [FEISHU_SECRET, "verification-token", "encrypt-key"] {
        assert!(!r.text.contains(secret), "{secret} echoed: {}", r.text);
    }

    let stored = w.stored(&r.body["id"]).await;
    let raw = serde_json::to_string(&stored).unwrap();
    assert!(!raw.contains(FEISHU_SECRET), "plaintext secret stored: {raw}");
    let opened: StoredFeishu = w.platforms.open(&stored).unwrap();
    assert_eq!(opened.credentials.base_url, feishu::LARK_BASE, "the real domain is stored; the sandbox override applies when opening");
    assert_eq!(opened.credentials.app_secret, FEISHU_SECRET);
    assert_eq!(opened.credentials.encrypt_key, "encrypt-key");
    assert_eq!(opened.bot_open_id, w.feishu.bot_open_id(FEISHU_APP));
}
