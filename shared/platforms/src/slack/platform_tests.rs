//! The client and platform against a local stub that answers like Slack does.

use super::*;
use crate::slack::test_stub::{Recorded, Reply, Stub};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use warroom_core::{Severity, Status};

const TOKEN: &str = "xoxb-test-token";

fn platform(stub: &Stub) -> SlackPlatform {
    let credentials = SlackCredentials { bot_token: TOKEN.into(), team_id: "T1".into(), bot_user_id: Some("U0BOT".into()), app_id: None, signing_secret: None };
    SlackPlatform::new(credentials, format!("{}/api", stub.base), reqwest::Client::new())
}

fn channel(id: &str, name: &str) -> serde_json::Value {
    json!({"id": id, "name": name, "is_channel": true, "is_private": true, "is_archived": false, "topic": {"value": "", "creator": "", "last_set": 0}})
}

fn user(list: &[&str]) -> Vec<ImUserId> {
    list.iter().map(|u| ImUserId::new(*u)).collect()
}

#[tokio::test]
async fn http_429_honours_retry_after_and_defaults_to_one_second() {
    let stub = Stub::start(|c| match c.method.as_str() {
        "chat.postMessage" => Reply::with(429, vec![("retry-after", "30".into())], r#"{"ok":false,"error":"ratelimited"}"#),
        _ => Reply::with(429, vec![], ""),
    })
    .await;
    let p = platform(&stub);
    let err = p.send_text(&ChatId::new("C1"), "hi").await.unwrap_err();
    assert_eq!(err, ImError::RateLimited { retry_after: Duration::from_secs(30) });
    let err = p.dismiss_chat(&ChatId::new("C1")).await.unwrap_err();
    assert_eq!(err, ImError::RateLimited { retry_after: Duration::from_secs(1) });
    // The raw error keeps what Slack said.
    let raw = p.client().archive("C1").await.unwrap_err();
    assert_eq!((raw.status, raw.retry_after, raw.code.as_str()), (Some(429), None, "http_429"));
}

#[tokio::test]
async fn missing_scope_names_the_needed_scope_and_auth_and_server_failures_map_too() {
    let stub = Stub::start(|c| match c.method.as_str() {
        "conversations.create" => Reply::ok(json!({"ok": false, "error": "missing_scope", "needed": "groups:write", "provided": "chat:write"})),
        "users.lookupByEmail" => Reply::ok(json!({"ok": false, "error": "invalid_auth"})),
        _ => Reply::with(503, vec![], "upstream down"),
    })
    .await;
    let p = platform(&stub);
    let create = CreateChat { name: "inc-1".into(), topic: "t".into(), private: true, idempotency_key: "k".into() };
    assert_eq!(p.create_chat(&create).await.unwrap_err(), ImError::MissingPermission { scope: "groups:write".into() });
    assert!(matches!(p.lookup_by_email("a@b.c").await.unwrap_err(), ImError::Unauthorized(_)));
    assert!(matches!(p.send_text(&ChatId::new("C1"), "x").await.unwrap_err(), ImError::Transient(_)));
    let unreachable = SlackPlatform::new(
        SlackCredentials { bot_token: TOKEN.into(), team_id: "T1".into(), bot_user_id: None, app_id: None, signing_secret: None },
        "http://127.0.0.1:9/api".into(),
        reqwest::Client::new(),
    );
    assert!(matches!(unreachable.send_text(&ChatId::new("C1"), "x").await.unwrap_err(), ImError::Transient(_)));
}

#[tokio::test]
async fn create_posts_a_sanitized_private_channel_with_the_bearer_token_then_sets_the_topic() {
    let stub = Stub::start(|c| match c.method.as_str() {
        "conversations.create" => Reply::ok(json!({"ok": true, "channel": channel("C0EAQDV4Z", &c.form()["name"])})),
        _ => Reply::ok(json!({"ok": true})),
    })
    .await;
    let p = platform(&stub);
    let create = CreateChat { name: "INC-7 Payments Down!".into(), topic: "[CRITICAL] Payments down".into(), private: true, idempotency_key: "k".into() };
    let created = p.create_chat(&create).await.unwrap();
    assert_eq!(created.chat_id.as_str(), "C0EAQDV4Z");
    assert_eq!(created.url.as_deref(), Some("https://slack.com/app_redirect?channel=C0EAQDV4Z&team=T1"));
    let calls = stub.calls();
    assert_eq!(calls.iter().map(|c| c.method.as_str()).collect::<Vec<_>>(), ["conversations.create", "conversations.setTopic"]);
    assert_eq!(calls[0].path, "/api/conversations.create");
    assert_eq!(calls[0].authorization.as_deref(), Some("Bearer xoxb-test-token"));
    assert_eq!(calls[0].content_type.as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(calls[0].form()["name"], "inc-7-payments-down");
    assert_eq!(calls[0].form()["is_private"], "true");
    assert_eq!(calls[1].form()["topic"], "[CRITICAL] Payments down");
}

#[tokio::test]
async fn name_taken_returns_the_bots_own_channel_of_that_name_found_on_a_later_page() {
    let stub = Stub::start(|c| match c.method.as_str() {
        "conversations.create" => Reply::ok(json!({"ok": false, "error": "name_taken"})),
        "users.conversations" if !c.form().contains_key("cursor") => {
            Reply::ok(json!({"ok": true, "channels": [channel("C1", "general")], "response_metadata": {"next_cursor": "page2"}}))
        }
        "users.conversations" => Reply::ok(json!({"ok": true, "channels": [channel("C77", "inc-7")], "response_metadata": {"next_cursor": ""}})),
        _ => Reply::ok(json!({"ok": true})),
    })
    .await;
    let p = platform(&stub);
    let create = CreateChat { name: "inc-7".into(), topic: "topic".into(), private: true, idempotency_key: "k".into() };
    assert_eq!(p.create_chat(&create).await.unwrap().chat_id.as_str(), "C77");
    assert_eq!(stub.calls_to("conversations.create").len(), 1, "found: no second create");
    let list = &stub.calls_to("users.conversations")[0].form();
    assert_eq!((list["types"].as_str(), list["exclude_archived"].as_str()), ("public_channel,private_channel", "true"));
}

#[tokio::test]
async fn name_taken_by_someone_elses_channel_retries_once_with_a_suffix() {
    let stub = Stub::start(|c| match c.method.as_str() {
        "conversations.create" if c.form()["name"] == "inc-7" => Reply::ok(json!({"ok": false, "error": "name_taken"})),
        "conversations.create" => Reply::ok(json!({"ok": true, "channel": channel("C78", "inc-7-2")})),
        "users.conversations" => Reply::ok(json!({"ok": true, "channels": []})),
        _ => Reply::ok(json!({"ok": true})),
    })
    .await;
    let p = platform(&stub);
    let create = CreateChat { name: "inc-7".into(), topic: "".into(), private: false, idempotency_key: "k".into() };
    assert_eq!(p.create_chat(&create).await.unwrap().chat_id.as_str(), "C78");
    let names: Vec<String> = stub.calls_to("conversations.create").iter().map(|c| c.form()["name"].clone()).collect();
    assert_eq!(names, ["inc-7", "inc-7-2"]);
    assert!(stub.calls_to("conversations.setTopic").is_empty(), "no topic, no call");
}

#[tokio::test]
async fn invite_maps_per_user_errors_and_re_asks_for_the_unlisted_users() {
    let stub = Stub::start(|c: &Recorded| {
        let users = c.form()["users"].clone();
        match users.as_str() {
            "U1,U2,U3,U4" => Reply::ok(json!({"ok": false, "error": "user_not_found", "errors": [
                {"user": "U2", "ok": false, "error": "user_not_found"},
                {"user": "U3", "ok": false, "error": "already_in_channel"},
                {"user": "U4", "ok": false, "error": "cant_invite"},
            ]})),
            "U1" => Reply::ok(json!({"ok": false, "error": "already_in_channel"})),
            // `force`: the valid ones invited, the answer ok with the failures listed.
            "U5,U6" => Reply::ok(json!({"ok": true, "channel": channel("C1", "x"), "errors": [{"user": "U6", "ok": false, "error": "user_not_found"}]})),
            other => panic!("unexpected invite of {other}"),
        }
    })
    .await;
    let result = platform(&stub).add_members(&ChatId::new("C1"), &user(&["U1", "U2", "U3", "U4", "U1"])).await.unwrap();
    assert_eq!(result.invited, user(&["U3", "U1"]));
    assert_eq!(result.failed[0], (ImUserId::new("U2"), ImError::UserNotFound));
    assert!(matches!(&result.failed[1], (u, ImError::Rejected { code, .. }) if u.as_str() == "U4" && code == "cant_invite"));
    assert_eq!(stub.calls_to("conversations.invite")[0].form()["force"], "true");

    let forced = platform(&stub).add_members(&ChatId::new("C1"), &user(&["U5", "U6"])).await.unwrap();
    assert_eq!(forced.invited, user(&["U5"]));
    assert_eq!(forced.failed, vec![(ImUserId::new("U6"), ImError::UserNotFound)]);
    assert_eq!(stub.calls_to("conversations.invite").len(), 3, "an ok answer is not asked again");
}

#[tokio::test]
async fn a_single_user_error_is_that_users_and_a_gone_channel_fails_the_call() {
    let stub = Stub::start(|c| match (c.form()["channel"].as_str(), c.form()["users"].as_str()) {
        ("CGONE", _) => Reply::ok(json!({"ok": false, "error": "is_archived"})),
        (_, "UX") => Reply::ok(json!({"ok": false, "error": "user_not_found"})),
        (_, "UA,UB") => Reply::ok(json!({"ok": false, "error": "cant_invite"})),
        (_, "UA") => Reply::ok(json!({"ok": true, "channel": channel("C1", "x")})),
        (_, _) => Reply::ok(json!({"ok": false, "error": "user_is_restricted"})),
    })
    .await;
    let p = platform(&stub);
    let one = p.add_members(&ChatId::new("C1"), &user(&["UX"])).await.unwrap();
    assert_eq!(one.failed, vec![(ImUserId::new("UX"), ImError::UserNotFound)]);
    assert_eq!(p.add_members(&ChatId::new("CGONE"), &user(&["UX"])).await.unwrap_err(), ImError::ChatGone);
    // Several users, an error naming none of them: each is asked for alone.
    let split = p.add_members(&ChatId::new("C1"), &user(&["UA", "UB"])).await.unwrap();
    assert_eq!(split.invited, user(&["UA"]));
    assert!(matches!(&split.failed[..], [(u, ImError::Rejected { code, .. })] if u.as_str() == "UB" && code == "user_is_restricted"));
    assert_eq!(p.add_members(&ChatId::new("C1"), &[]).await.unwrap(), InviteResult::default());
}

#[tokio::test]
async fn granted_scopes_come_from_the_x_oauth_scopes_header_of_auth_test() {
    let stub = Stub::start(|_| {
        Reply::with(200, vec![("x-oauth-scopes", "chat:write, channels:manage,groups:write".into())], r#"{"ok":true,"team_id":"T1","user_id":"U0BOT"}"#)
    })
    .await;
    assert_eq!(platform(&stub).granted_scopes().await.unwrap(), ["chat:write", "channels:manage", "groups:write"]);
    assert_eq!(stub.calls()[0].method, "auth.test");
}

fn card() -> Card {
    Card {
        incident_id: "inc_1".into(),
        title: "API down".into(),
        status: Status::Triggered,
        severity: Severity::Critical,
        snoozed_until: None,
        fields: vec![],
        actions: vec![warroom_core::CardAction::Acknowledge],
        url: None,
    }
}

#[tokio::test]
async fn cards_are_posted_and_updated_as_json_blocks_with_a_text_fallback() {
    let stub = Stub::start(|c| match c.method.as_str() {
        "chat.postMessage" => Reply::ok(json!({"ok": true, "channel": "C1", "ts": "1503435956.000247", "message": {}})),
        _ => Reply::ok(json!({"ok": true, "channel": "C1", "ts": "1503435956.000247", "text": "x"})),
    })
    .await;
    let p = platform(&stub);
    let id = p.post_card(&ChatId::new("C1"), &card()).await.unwrap();
    assert_eq!(id.as_str(), "1503435956.000247");
    let mut acked = card();
    acked.status = Status::Acknowledged;
    p.update_card(&ChatId::new("C1"), &id, &acked).await.unwrap();
    let (post, update) = (&stub.calls_to("chat.postMessage")[0], &stub.calls_to("chat.update")[0]);
    assert_eq!(post.content_type.as_deref(), Some("application/json; charset=utf-8"));
    assert_eq!(post.json()["channel"], "C1");
    assert_eq!(post.json()["text"], card().summary());
    assert_eq!(post.json()["blocks"], render_card(&card()));
    assert_eq!(update.json()["ts"], "1503435956.000247");
    assert_eq!(update.json()["blocks"][1]["fields"][0]["text"], "*Status*\nAcknowledged");
}

#[tokio::test]
async fn archiving_twice_is_fine_and_unknown_emails_are_none() {
    let stub = Stub::start(|c| match c.method.as_str() {
        "conversations.archive" => Reply::ok(json!({"ok": false, "error": "already_archived"})),
        _ if c.form()["email"] == "gone@x.io" => Reply::ok(json!({"ok": true, "user": {"id": "U9", "deleted": true}})),
        _ if c.form()["email"] == "ada@x.io" => Reply::ok(json!({"ok": true, "user": {"id": "U1", "team_id": "T1", "deleted": false}})),
        _ => Reply::ok(json!({"ok": false, "error": "users_not_found"})),
    })
    .await;
    let p = platform(&stub);
    p.dismiss_chat(&ChatId::new("C1")).await.unwrap();
    assert_eq!(p.lookup_by_email("ada@x.io").await.unwrap(), Some(ImUserId::new("U1")));
    assert_eq!(p.lookup_by_email("nobody@x.io").await.unwrap(), None);
    assert_eq!(p.lookup_by_email("gone@x.io").await.unwrap(), None);
    assert_eq!(p.lookup_by_phone("+100").await.unwrap(), None);
}

#[tokio::test]
async fn history_pages_are_joined_oldest_first_keeping_only_peoples_messages() {
    let pages = Arc::new(AtomicUsize::new(0));
    let counter = pages.clone();
    let stub = Stub::start(move |c| {
        counter.fetch_add(1, Ordering::SeqCst);
        if !c.form().contains_key("cursor") {
            Reply::ok(json!({"ok": true, "has_more": true, "response_metadata": {"next_cursor": "older"}, "messages": [
                {"type": "message", "user": "U2", "text": "fixed it", "ts": "1700000300.000200"},
                {"type": "message", "bot_id": "B1", "text": "card", "ts": "1700000200.000100"},
                {"type": "message", "subtype": "channel_join", "user": "U3", "text": "<@U3> has joined", "ts": "1700000150.000000"},
            ]}))
        } else {
            Reply::ok(json!({"ok": true, "has_more": false, "messages": [
                {"type": "message", "subtype": "thread_broadcast", "user": "U1", "text": "looking", "ts": "1700000100.000000"},
            ]}))
        }
    })
    .await;
    let history = platform(&stub).chat_history(&ChatId::new("C1")).await.unwrap();
    let texts: Vec<&str> = history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["looking", "fixed it"]);
    assert_eq!(history[1].author.as_str(), "U2");
    assert_eq!(history[1].at, warroom_core::Timestamp(1_700_000_300_000));
    assert_eq!(pages.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bot_chats_list_every_page() {
    let stub = Stub::start(|c| {
        if !c.form().contains_key("cursor") {
            Reply::ok(json!({"ok": true, "channels": [channel("C1", "a")], "response_metadata": {"next_cursor": "n"}}))
        } else {
            Reply::ok(json!({"ok": true, "channels": [channel("C2", "b")]}))
        }
    })
    .await;
    let chats = platform(&stub).list_bot_chats().await.unwrap();
    assert_eq!(chats.iter().map(|c| c.chat_id.as_str()).collect::<Vec<_>>(), ["C1", "C2"]);
}

#[test]
fn buckets_are_per_workspace_and_method_plus_one_message_per_second_per_channel() {
    let p = SlackPlatform::new(
        SlackCredentials { bot_token: TOKEN.into(), team_id: "T9".into(), bot_user_id: None, app_id: None, signing_secret: None },
        "http://unused".into(),
        reqwest::Client::new(),
    );
    let create = p.buckets(ApiFamily::CreateChat, None);
    assert_eq!(create[0], BucketSpec::per("slack.T9.conversations.create", 20, Duration::from_secs(60)));
    assert_eq!(p.buckets(ApiFamily::Members, None)[0], BucketSpec::per("slack.T9.conversations.invite", 50, Duration::from_secs(60)));
    let message = p.buckets(ApiFamily::Message, Some(&ChatId::new("C5")));
    assert_eq!(message.len(), 2);
    assert_eq!(message[1], BucketSpec { key: "slack.T9.chat.C5".into(), capacity: 1, interval_ms: 1000 });
    assert_eq!(p.buckets(ApiFamily::Message, None).len(), 1);
    assert_eq!(p.buckets(ApiFamily::DismissChat, None)[0].key, "slack.T9.conversations.archive");
    assert!(!format!("{p:?}").contains(TOKEN), "Debug must not show the token");
    let caps = p.capabilities();
    assert!(caps.interactive_cards && caps.update_card && caps.dismiss && caps.history && caps.lookup_by_email);
    assert!(!caps.idempotent_create && !caps.lookup_by_phone);
}

fn status_card(incident: &str, status: Status) -> Card {
    Card {
        incident_id: incident.into(),
        title: "DB down".into(),
        status,
        severity: Severity::Critical,
        snoozed_until: None,
        fields: vec![],
        actions: vec![],
        url: None,
    }
}

#[tokio::test]
async fn a_card_posted_before_its_answer_was_lost_is_found_in_the_history_by_its_block_id() {
    let posted = render_card(&status_card("inc_7", Status::Triggered));
    let history = json!({"ok": true, "has_more": false, "messages": [
        {"type": "message", "ts": "3.0", "user": "U1", "text": "rolling back"},
        {"type": "message", "ts": "2.0", "bot_id": "B1", "text": "other card", "blocks": render_card(&status_card("inc_70", Status::Triggered))},
        {"type": "message", "ts": "1.0", "bot_id": "B1", "text": "DB down", "blocks": posted},
    ]});
    let stub = Stub::start(move |_| Reply::ok(history.clone())).await;
    let p = platform(&stub);
    let chat = ChatId::new("C1");
    // Found whatever state it shows now: the engine edits it to the current one.
    let found = p.find_card(&chat, &status_card("inc_7", Status::Acknowledged)).await.unwrap();
    assert_eq!(found, Some(MessageId::new("1.0")));
    assert_eq!(p.find_card(&chat, &status_card("inc_8", Status::Triggered)).await.unwrap(), None);
    let calls = stub.calls();
    assert_eq!(calls[0].method, "conversations.history");
    assert_eq!(calls[0].form()["channel"], "C1");
}

#[tokio::test]
async fn a_notice_carries_its_key_in_a_block_id_and_is_found_again_by_it() {
    // What send_notice posts is what conversations.history gives back: the stub echoes it.
    let posted = std::sync::Arc::new(std::sync::Mutex::new(serde_json::Value::Null));
    let seen = posted.clone();
    let stub = Stub::start(move |call| match call.method.as_str() {
        "chat.postMessage" => {
            *seen.lock().unwrap() = call.json()["blocks"].clone();
            Reply::ok(json!({"ok": true, "channel": "C1", "ts": "5.0"}))
        }
        _ => Reply::ok(json!({"ok": true, "has_more": false, "messages": [
            {"type": "message", "ts": "6.0", "user": "U1", "text": "Dee could not be invited"},
            {"type": "message", "ts": "5.0", "bot_id": "B1", "text": "Dee could not be invited", "blocks": seen.lock().unwrap().clone()},
        ]})),
    })
    .await;
    let p = platform(&stub);
    let chat = ChatId::new("C1");
    assert_eq!(p.send_notice(&chat, "Dee could not be invited", "unl-abc").await.unwrap(), MessageId::new("5.0"));
    let sent = stub.calls_to("chat.postMessage")[0].json();
    assert_eq!(sent["text"], "Dee could not be invited", "notifications still show the text");
    assert_eq!(sent["blocks"][0]["text"]["text"], "Dee could not be invited");
    assert_eq!(posted.lock().unwrap()[0]["block_id"], "warroom.notice.unl-abc");
    // A human's message with the same words is not it; another key is not it either.
    assert_eq!(p.find_notice(&chat, "Dee could not be invited", "unl-abc").await.unwrap(), Some(MessageId::new("5.0")));
    assert_eq!(p.find_notice(&chat, "Dee could not be invited", "unl-xyz").await.unwrap(), None);
}

#[tokio::test]
async fn a_call_that_hangs_past_the_timeout_is_a_transient_failure() {
    // A peer that takes the connection and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let credentials = SlackCredentials { bot_token: TOKEN.into(), team_id: "T1".into(), bot_user_id: None, app_id: None, signing_secret: None };
    let p = SlackPlatform::new(credentials, base, reqwest::Client::new()).with_timeout(Duration::from_millis(50));
    let started = std::time::Instant::now();
    let err = p.send_text(&ChatId::new("C1"), "hi").await.unwrap_err();
    assert!(matches!(&err, ImError::Transient(m) if m.contains("timeout")), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "the configured bound, not the 10 s default");
}

#[tokio::test]
async fn an_invite_that_fails_in_transit_is_retried_later_not_counted_against_the_user() {
    let stub = Stub::start(|c| match c.form()["users"].as_str() {
        "UA" => Reply::with(502, vec![], "bad gateway"),
        "UB" => Reply::with(429, vec![("retry-after", "3".into())], ""),
        _ => Reply::ok(json!({"ok": false, "error": "cant_invite"})),
    })
    .await;
    let p = platform(&stub);
    let chat = ChatId::new("C1");
    assert!(matches!(p.add_members(&chat, &user(&["UA"])).await, Err(ImError::Transient(_))));
    assert_eq!(p.add_members(&chat, &user(&["UB"])).await, Err(ImError::RateLimited { retry_after: Duration::from_secs(3) }));
    // Split into single invites: the first one's outage stops the call, nobody is failed for good.
    assert!(matches!(p.add_members(&chat, &user(&["UA", "UB"])).await, Err(ImError::Transient(_))));
}
