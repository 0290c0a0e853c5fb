//! The AI-card stream against the DingTalk sandbox, over HTTP: delivered processing, set to
//! inputting, streamed in full, finalized; where streaming is refused, the card is updated.

use super::*;
use crate::dingtalk::{test_credentials, DingTalkCredentials};
use std::sync::Arc;
use warroom_core::{CreateChat, ImPlatform, SystemClock};
use warroom_sandbox::dingtalk::{AppConfig, DingTalkSandbox, SandboxConfig};
use warroom_store::embedded::EmbeddedStore;

const APP: &str = "dingstreamapp";

async fn world(permissions: Option<&[&str]>) -> (DingTalkSandbox, DingTalkPlatform, ChatId) {
    let sandbox = DingTalkSandbox::new(SandboxConfig { enforce_rate_limits: true, ..SandboxConfig::default() });
    let base = sandbox.serve_local().await.unwrap();
    let mut config = AppConfig::new(APP, "app-secret");
    if let Some(p) = permissions {
        config.permissions = p.iter().map(|s| s.to_string()).collect();
    }
    sandbox.add_app(config);
    sandbox.add_user("owner1", "Owner", Some("13800000000"), None);
    let credentials =
        DingTalkCredentials { client_id: APP.into(), robot_code: format!("grb_{APP}"), template_id: format!("tpl_{APP}"), ..test_credentials(&base) };
    let platform = DingTalkPlatform::new(credentials, reqwest::Client::new(), Arc::new(EmbeddedStore::open_temporary().unwrap()), Arc::new(SystemClock));
    let request = CreateChat { name: "inc".into(), topic: String::new(), private: true, idempotency_key: "room-1".into() };
    let chat = platform.create_chat(&request).await.unwrap().chat_id;
    (sandbox, platform, chat)
}

#[tokio::test]
async fn an_answer_streams_into_an_ai_card_that_ends_finished_and_a_retried_stop_changes_nothing() {
    let (sandbox, platform, chat) = world(None).await;
    let question = MessageId::new("msg-q1");
    let stream = platform.start_stream(&chat, Some(&question), "").await.unwrap().expect("an AI card");
    let card = sandbox.card(&stream.0).expect("delivered");
    assert_eq!((card.group.as_deref(), card.card_data["flowStatus"].as_str()), (Some(chat.as_str()), "1"), "processing");
    assert_eq!(platform.start_stream(&chat, Some(&question), "").await.unwrap(), Some(stream.clone()), "a retried start names the same card");

    platform.append_stream(&chat, &stream, "The db", "The db").await.unwrap();
    platform.append_stream(&chat, &stream, "The db failed", " failed").await.unwrap();
    let card = sandbox.card(&stream.0).unwrap();
    assert_eq!((card.card_data["flowStatus"].as_str(), card.card_data[CONTENT_KEY].as_str()), ("2", "The db failed"));
    assert_eq!(
        card.streamed.iter().map(|u| (u.content.as_str(), u.is_full, u.finalize)).collect::<Vec<_>>(),
        vec![("The db", true, false), ("The db failed", true, false)]
    );

    platform.stop_stream(&chat, &stream, "The db failed over.\n\nSources: 2 chat messages").await.unwrap();
    platform.stop_stream(&chat, &stream, "The db failed over.\n\nSources: 2 chat messages").await.unwrap();
    let card = sandbox.card(&stream.0).unwrap();
    assert!(card.finalized);
    assert_eq!((card.card_data["flowStatus"].as_str(), card.streamed.len()), ("3", 3), "finished once");
    assert!(card.card_data[CONTENT_KEY].ends_with("Sources: 2 chat messages"));
}

#[tokio::test]
async fn without_the_streaming_permission_the_ai_card_is_updated_instead() {
    let granted: Vec<&str> = warroom_sandbox::dingtalk::WAR_ROOM_PERMISSIONS.iter().copied().filter(|p| *p != "Card.Streaming.Write").collect();
    let (sandbox, platform, chat) = world(Some(&granted)).await;
    let stream = platform.start_stream(&chat, Some(&MessageId::new("msg-q2")), "").await.unwrap().expect("the card itself needs no streaming grant");
    platform.append_stream(&chat, &stream, "Looking", "Looking").await.unwrap();
    platform.append_stream(&chat, &stream, "Looking at it", " at it").await.unwrap();
    platform.stop_stream(&chat, &stream, "Done.\n\nSources: none").await.unwrap();
    let card = sandbox.card(&stream.0).unwrap();
    assert!(card.streamed.is_empty() && !card.finalized);
    assert_eq!((card.card_data["flowStatus"].as_str(), card.card_data[CONTENT_KEY].as_str()), ("3", "Done.\n\nSources: none"));
    let refused = sandbox.calls().iter().filter(|c| c.path == "/v1.0/card/streaming").count();
    assert_eq!(refused, 1, "refused once, then not asked again");
}

#[test]
fn a_long_answer_is_cut_in_the_middle_and_keeps_its_sources() {
    let long = format!("{}\n\nSources: 3 chat messages. AI-generated: check before acting.", "word ".repeat(400));
    let fitted = fit_answer(&long);
    assert!(fitted.len() <= MAX_CONTENT, "{}", fitted.len());
    assert!(fitted.ends_with("Sources: 3 chat messages. AI-generated: check before acting.") && fitted.contains("…"));
    assert_eq!(fit_answer("short"), "short");
    assert_ne!(guid("t", "a", false), guid("t", "a", true), "the final call is its own request");
    assert_eq!(guid("t", "a", false).len(), 36);
}
