//! The Slack sandbox over real HTTP: the router on 127.0.0.1:0 with axum::serve, called with
//! reqwest, answers as the reference says Slack does.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TEAM: &str = "T0SANDBOX1";

async fn start(enforce_rate_limits: bool) -> (SlackSandbox, String) {
    let sb = SlackSandbox::new(SandboxConfig {
        client_id: "111.222".into(),
        client_secret: "client-secret".into(),
        signing_secret: SECRET.into(),
        enforce_rate_limits,
    });
    sb.add_workspace(TEAM, "Sandbox Corp");
    sb.add_user(TEAM, "U0ALICE", "alice", "alice@example.com");
    sb.add_user(TEAM, "U0BOB", "bob", "Bob@Example.com");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    sb.set_base_url(&base);
    let app = sb.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (sb, base)
}

/// A JSON call with the token as a bearer header, as the docs require for JSON bodies.
async fn call(base: &str, token: &str, method: &str, args: Value) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/{method}"))
        .bearer_auth(token)
        .header("content-type", "application/json; charset=utf-8")
        .body(args.to_string())
        .send()
        .await
        .unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.json().await.unwrap())
}

async fn form(base: &str, method: &str, pairs: &[(&str, &str)], basic: Option<(&str, &str)>) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/api/{method}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(pairs).unwrap());
    if let Some((user, pass)) = basic {
        req = req.basic_auth(user, Some(pass));
    }
    req.send().await.unwrap().json().await.unwrap()
}

const ALL: &[&str] = &[
    "channels:manage",
    "groups:write",
    "channels:write.invites",
    "groups:write.invites",
    "channels:write.topic",
    "chat:write",
    "channels:history",
    "channels:read",
    "groups:read",
    "reactions:write",
    "users:read",
    "users:read.email",
];

#[tokio::test]
async fn the_oauth_dance_ends_with_a_bot_token_that_works_and_a_code_that_cannot_be_reused() {
    let (_sb, base) = start(false).await;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let authorize =
        format!("{base}/oauth/v2/authorize?client_id=111.222&scope=chat:write,channels:manage&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=xyz%20123");
    let resp = no_redirects.get(&authorize).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let query = location.strip_prefix("https://app.example/cb?").expect("redirects to redirect_uri");
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    let code = params.iter().find(|(k, _)| k == "code").map(|(_, v)| v.clone()).unwrap();
    assert!(params.contains(&("state".into(), "xyz 123".into())));

    let pairs = [("code", code.as_str()), ("redirect_uri", "https://app.example/cb")];
    let v = form(&base, "oauth.v2.access", &pairs, Some(("111.222", "client-secret"))).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["token_type"], "bot");
    assert_eq!(v["scope"], "chat:write,channels:manage");
    assert_eq!(v["team"], json!({"id": TEAM, "name": "Sandbox Corp"}));
    assert!(v["bot_user_id"].as_str().unwrap().starts_with('U') && v["app_id"].as_str().unwrap().starts_with('A'));
    assert!(v["authed_user"]["id"].is_string());
    let token = v["access_token"].as_str().unwrap();
    assert!(token.starts_with("xoxb-"));

    let (_, headers, me) = call(&base, token, "auth.test", json!({})).await;
    assert_eq!((me["ok"].clone(), me["team_id"].clone(), me["user_id"].clone()), (json!(true), json!(TEAM), v["bot_user_id"].clone()));
    assert_eq!(headers["x-oauth-scopes"], "chat:write,channels:manage");

    let again = form(&base, "oauth.v2.access", &pairs, Some(("111.222", "client-secret"))).await;
    assert_eq!(again, json!({"ok": false, "error": "invalid_code"}));
    let bad_secret = form(&base, "oauth.v2.access", &[("code", "x"), ("client_id", "111.222"), ("client_secret", "nope")], None).await;
    assert_eq!(bad_secret["error"], "bad_client_secret");
    let unknown_app = no_redirects.get(authorize.replace("111.222", "999.999")).send().await.unwrap();
    assert_eq!(unknown_app.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn creating_a_channel_twice_gives_name_taken_and_bad_names_get_their_own_errors() {
    let (sb, base) = start(false).await;
    let token = sb.issue_bot_token(TEAM, ALL);
    let (_, _, v) = call(&base, &token, "conversations.create", json!({"name": "inc-42-db-down"})).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!((v["channel"]["name"].clone(), v["channel"]["is_private"].clone()), (json!("inc-42-db-down"), json!(false)));
    let (_, _, again) = call(&base, &token, "conversations.create", json!({"name": "inc-42-db-down", "is_private": true})).await;
    assert_eq!(again, json!({"ok": false, "error": "name_taken"}));
    for (name, error) in
        [("", "invalid_name_required"), ("Inc-42", "invalid_name_specials"), ("inc 42", "invalid_name_specials"), ("---", "invalid_name_punctuation")]
    {
        let (_, _, v) = call(&base, &token, "conversations.create", json!({"name": name})).await;
        assert_eq!(v["error"], error, "{name:?}");
    }
    let (_, _, v) = call(&base, &token, "conversations.create", json!({"name": "a".repeat(81)})).await;
    assert_eq!(v["error"], "invalid_name_maxlength");
    assert_eq!(sb.channels(TEAM).len(), 1);
}

#[tokio::test]
async fn inviting_one_unknown_user_fails_with_the_per_user_errors_array_and_invites_nobody() {
    let (sb, base) = start(false).await;
    let token = sb.issue_bot_token(TEAM, ALL);
    let (_, _, v) = call(&base, &token, "conversations.create", json!({"name": "inc-7"})).await;
    let channel = v["channel"]["id"].as_str().unwrap().to_string();
    let (_, _, v) = call(&base, &token, "conversations.invite", json!({"channel": channel, "users": "U0ALICE,U0NOBODY"})).await;
    assert_eq!(v, json!({"ok": false, "error": "user_not_found", "errors": [{"user": "U0NOBODY", "ok": false, "error": "user_not_found"}]}));
    assert_eq!(sb.channel(&channel).unwrap().members.len(), 1, "only the bot");

    let (_, _, v) = call(&base, &token, "conversations.invite", json!({"channel": channel, "users": "U0ALICE,U0BOB"})).await;
    assert_eq!(v["ok"], true, "{v}");
    let (_, _, v) = call(&base, &token, "conversations.invite", json!({"channel": channel, "users": "U0ALICE"})).await;
    assert_eq!(v["error"], "already_in_channel");
    let bot = sb.bot_user_id(TEAM).unwrap();
    let (_, _, v) = call(&base, &token, "conversations.invite", json!({"channel": channel, "users": bot})).await;
    assert_eq!(v["errors"][0]["error"], "cant_invite_self");
    let (_, _, v) = call(&base, &token, "conversations.invite", json!({"channel": "C0MISSING", "users": "U0ALICE"})).await;
    assert_eq!(v["error"], "channel_not_found");
}

#[tokio::test]
async fn a_token_without_the_scope_gets_missing_scope_naming_the_needed_one() {
    let (sb, base) = start(false).await;
    let token = sb.issue_bot_token(TEAM, &["channels:read", "channels:history"]);
    let (status, headers, v) = call(&base, &token, "chat.postMessage", json!({"channel": "C0X", "text": "hi"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v, json!({"ok": false, "error": "missing_scope", "needed": "chat:write", "provided": "channels:read,channels:history"}));
    assert_eq!(headers["x-accepted-oauth-scopes"], "chat:write");
    assert_eq!(headers["x-oauth-scopes"], "channels:read,channels:history");
    // The needed scope follows the channel type: a public-only token on a private channel.
    let private = sb.create_channel(TEAM, "U0ALICE", "secret-room", true);
    sb.join_channel(&private, &sb.bot_user_id(TEAM).unwrap());
    let (_, _, v) = call(&base, &token, "conversations.history", json!({"channel": private})).await;
    assert_eq!((v["error"].clone(), v["needed"].clone()), (json!("missing_scope"), json!("groups:history")));
}

#[tokio::test]
async fn after_the_tiers_count_the_next_call_gets_429_with_retry_after() {
    let (sb, base) = start(true).await;
    let token = sb.issue_bot_token(TEAM, ALL);
    for i in 0..20 {
        let (status, _, v) = call(&base, &token, "conversations.create", json!({"name": format!("room-{i}")})).await;
        assert_eq!((status, v["ok"].clone()), (StatusCode::OK, json!(true)), "call {i}");
    }
    let (status, headers, v) = call(&base, &token, "conversations.create", json!({"name": "room-20"})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Tier 2 refills one call every 3 s; the wait left is 3 s less the time the 20 calls took
    // (rounded up), so a loaded machine may see 2 or even 1.
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3).contains(&wait), "Retry-After {wait}: Tier 2 refills one call every 3 s");
    assert_eq!(v, json!({"ok": false, "error": "ratelimited"}));
    // chat.postMessage: per channel, a burst of 2 then one per second.
    let channel = sb.channels(TEAM)[0].id.clone();
    for _ in 0..2 {
        let (status, _, _) = call(&base, &token, "chat.postMessage", json!({"channel": channel, "text": "x"})).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, _) = call(&base, &token, "chat.postMessage", json!({"channel": channel, "text": "x"})).await;
    assert_eq!((status, headers["retry-after"].to_str().unwrap()), (StatusCode::TOO_MANY_REQUESTS, "1"));
    assert_eq!(sb.rate_limited_count(), 2);
    let calls = sb.calls();
    assert_eq!(calls.len(), 24);
    assert_eq!(calls.iter().filter(|(_, ok)| !ok).count(), 2);
}

type Inbox = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A stand-in for the bundle: records every delivery, answers 200 (echoing a challenge).
async fn receiver() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let sink = inbox.clone();
    let app = axum::Router::new().route(
        "/slack/events",
        post(move |headers: HeaderMap, body: Bytes| async move {
            let challenge = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["challenge"].as_str().map(str::to_string));
            sink.lock().unwrap().push((headers, body));
            challenge.unwrap_or_default()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slack/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

/// The S1 algorithm, recomputed here: v0=hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)).
fn verifies(headers: &HeaderMap, body: &[u8]) -> bool {
    let ts = headers["x-slack-request-timestamp"].to_str().unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(body);
    let fresh = (ts.parse::<i64>().unwrap() - time::OffsetDateTime::now_utc().unix_timestamp()).abs() <= 300;
    fresh && headers["x-slack-signature"].to_str().unwrap() == format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn events_are_signed_so_that_the_s1_algorithm_verifies_them_and_retries_keep_the_event_id() {
    let (sb, _base) = start(false).await;
    let (url, inbox) = receiver().await;
    let resp = sb.send_event(&url, TEAM, json!({"type": "app_mention", "user": "U0ALICE", "text": "hi", "channel": "C1"})).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let event_id = sb.last_event_id().unwrap();
    sb.send_event_retry(&url, &event_id).await.unwrap();
    let got = inbox.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for (headers, body) in &got {
        assert!(verifies(headers, body));
        let mut tampered = body.to_vec();
        tampered.extend_from_slice(b"------");
        assert!(!verifies(headers, &tampered));
    }
    let envelope: Value = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!((envelope["type"].clone(), envelope["team_id"].clone(), envelope["event_id"].clone()), (json!("event_callback"), json!(TEAM), json!(event_id)));
    assert!(event_id.starts_with("Ev") && envelope["event_time"].is_u64() && envelope["api_app_id"] == json!(sb.app_id()));
    assert_eq!(envelope["event"]["type"], "app_mention");
    assert_eq!(got[1].1, got[0].1, "a retry re-sends the same envelope");
    assert_eq!(got[1].0["x-slack-retry-num"], "1");
    assert_eq!(got[1].0["x-slack-retry-reason"], "http_timeout");
    assert!(got[0].0.get("x-slack-retry-num").is_none());

    let (challenge, resp) = sb.url_verification(&url).await.unwrap();
    assert_eq!(resp.text().await.unwrap(), challenge);
}

#[tokio::test]
async fn an_archived_channel_refuses_posts_and_archiving_twice_says_already_archived() {
    let (sb, base) = start(false).await;
    let token = sb.issue_bot_token(TEAM, ALL);
    let (_, _, v) = call(&base, &token, "conversations.create", json!({"name": "inc-9"})).await;
    let channel = v["channel"]["id"].as_str().unwrap().to_string();
    let (_, _, v) = call(&base, &token, "conversations.archive", json!({"channel": channel})).await;
    assert_eq!(v, json!({"ok": true}));
    let (_, _, v) = call(&base, &token, "chat.postMessage", json!({"channel": channel, "text": "still here?"})).await;
    assert_eq!(v, json!({"ok": false, "error": "is_archived"}));
    let (_, _, v) = call(&base, &token, "conversations.archive", json!({"channel": channel})).await;
    assert_eq!(v["error"], "already_archived");
    assert!(sb.channel(&channel).unwrap().is_archived);
    let (_, _, v) = call(&base, &token, "conversations.create", json!({"name": "inc-9"})).await;
    assert_eq!(v["error"], "name_taken", "archived channels keep their names");
}

#[tokio::test]
async fn a_button_click_reaches_the_app_signed_and_its_response_url_rewrites_the_card() {
    let (sb, base) = start(false).await;
    let (url, inbox) = receiver().await;
    let token = sb.issue_bot_token(TEAM, ALL);
    let (_, _, v) = call(&base, &token, "conversations.create", json!({"name": "inc-1"})).await;
    let channel = v["channel"]["id"].as_str().unwrap().to_string();
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*DB down*"}},
        {"type": "actions", "block_id": "card", "elements": [{"type": "button", "action_id": "ack", "value": "inc-1", "text": {"type": "plain_text", "text": "Acknowledge"}}]}]);
    let (_, _, posted) = call(&base, &token, "chat.postMessage", json!({"channel": channel, "text": "DB down", "blocks": blocks})).await;
    let ts = posted["ts"].as_str().unwrap().to_string();
    assert_eq!(posted["message"]["blocks"], blocks);

    sb.click_button(&url, TEAM, "U0ALICE", &channel, &ts, "ack", "inc-1").await.unwrap();
    let (headers, body) = inbox.lock().unwrap()[0].clone();
    assert!(verifies(&headers, &body));
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap();
    let payload: Value = serde_json::from_str(&form[0].1).unwrap();
    assert_eq!(form[0].0, "payload");
    assert_eq!(payload["type"], "block_actions");
    assert_eq!(payload["user"]["id"], "U0ALICE");
    assert_eq!(payload["container"]["message_ts"], ts.as_str());
    assert_eq!(payload["actions"][0]["block_id"], "card");
    assert_eq!((payload["actions"][0]["action_id"].clone(), payload["actions"][0]["value"].clone()), (json!("ack"), json!("inc-1")));
    let response_url = payload["response_url"].as_str().unwrap();
    assert!(response_url.starts_with(&base));
    assert!(matches!(sb.click_button(&url, TEAM, "U0ALICE", &channel, &ts, "nope", "x").await, Err(warroom_sandbox::slack::CallbackError::NoSuchAction(_))));

    let reply = json!({"replace_original": true, "text": "Acknowledged by alice"});
    let resp = reqwest::Client::new().post(response_url).json(&reply).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(sb.ephemeral_replies(), vec![reply]);
    let card = sb.channel(&channel).unwrap().messages[0].clone();
    assert_eq!((card.text.as_str(), card.blocks.is_none()), ("Acknowledged by alice", true));
}

#[tokio::test]
async fn a_human_message_is_stored_and_delivered_and_history_pages_newest_first() {
    let (sb, base) = start(false).await;
    let (url, inbox) = receiver().await;
    let token = sb.issue_bot_token(TEAM, ALL);
    let (_, _, v) = call(&base, &token, "conversations.create", json!({"name": "inc-2"})).await;
    let channel = v["channel"]["id"].as_str().unwrap().to_string();
    for i in 0..3 {
        call(&base, &token, "chat.postMessage", json!({"channel": channel, "text": format!("bot {i}")})).await;
    }
    sb.post_human_message(&url, TEAM, &channel, "U0BOB", "on it").await.unwrap();
    let event: Value = serde_json::from_slice(&inbox.lock().unwrap()[0].1).unwrap();
    assert_eq!(
        (event["event"]["type"].clone(), event["event"]["user"].clone(), event["event"]["channel_type"].clone()),
        (json!("message"), json!("U0BOB"), json!("channel"))
    );

    let (_, _, page1) = call(&base, &token, "conversations.history", json!({"channel": channel, "limit": 3})).await;
    let texts: Vec<&str> = page1["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["on it", "bot 2", "bot 1"]);
    assert_eq!(page1["has_more"], true);
    let cursor = page1["response_metadata"]["next_cursor"].as_str().unwrap();
    let (_, _, page2) = call(&base, &token, "conversations.history", json!({"channel": channel, "limit": 3, "cursor": cursor})).await;
    assert_eq!(page2["messages"].as_array().unwrap().len(), 1);
    assert_eq!((page2["messages"][0]["text"].clone(), page2["has_more"].clone()), (json!("bot 0"), json!(false)));

    // Someone else's message cannot be edited by the bot.
    let human_ts = page1["messages"][0]["ts"].as_str().unwrap();
    let (_, _, v) = call(&base, &token, "chat.update", json!({"channel": channel, "ts": human_ts, "text": "x"})).await;
    assert_eq!(v["error"], "cant_update_message");
    sb.archive_from_inside(&url, &channel).await.unwrap();
    let event: Value = serde_json::from_slice(&inbox.lock().unwrap()[1].1).unwrap();
    assert_eq!(event["event"]["type"], "channel_archive");
}

#[tokio::test]
async fn tokens_are_checked_where_slack_checks_them() {
    let (sb, base) = start(false).await;
    let token = sb.issue_bot_token(TEAM, ALL);
    assert_eq!(call(&base, "", "auth.test", json!({})).await.2["error"], "not_authed");
    assert_eq!(call(&base, "xoxb-nope", "auth.test", json!({})).await.2["error"], "invalid_auth");
    assert_eq!(call(&base, &token, "chat.explode", json!({})).await.2["error"], "unknown_method");
    // A token inside a JSON body is not read; a form-body token is.
    let resp = reqwest::Client::new().post(format!("{base}/api/auth.test")).json(&json!({"token": token})).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "not_authed");
    assert_eq!(form(&base, "auth.test", &[("token", &token)], None).await["ok"], true);
    let (_, _, v) = call(&base, &token, "users.lookupByEmail", json!({"email": "bob@example.com"})).await;
    assert_eq!(v["user"]["id"], "U0BOB");
    assert_eq!(call(&base, &token, "users.lookupByEmail", json!({"email": "eve@example.com"})).await.2["error"], "users_not_found");
    sb.revoke_token(&token);
    assert_eq!(call(&base, &token, "auth.test", json!({})).await.2["error"], "token_revoked");
}
