//! A Feishu post whose answer was lost, retried after the message `uuid`'s hour: the card
//! and the notices are found in the chat (`find_card`, `find_notice`) instead of posted
//! again, across pages of later messages; against the stateful Feishu sandbox.

use std::sync::Arc;
use std::time::Duration;
use warroom_core::incident::{Severity, Status};
use warroom_core::*;
use warroom_platforms::feishu::{FeishuCredentials, FeishuPlatform, REQUIRED_SCOPES};
use warroom_sandbox::feishu::{FeishuSandbox, SandboxConfig};
use warroom_store::embedded::EmbeddedStore;

const APP: &str = "cli_sandbox0000002";

async fn world() -> (FeishuSandbox, FeishuPlatform, ChatId) {
    let sandbox = FeishuSandbox::new(SandboxConfig { enforce_rate_limits: false, ..SandboxConfig::default() });
    let scopes: Vec<&str> = REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    sandbox.add_app(APP, "app-secret", "verification-token", "encrypt-key", &scopes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let router = sandbox.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let credentials = FeishuCredentials {
        app_id: APP.into(),
        app_secret: "app-secret".into(),
        verification_token: "verification-token".into(),
        encrypt_key: "encrypt-key".into(),
        base_url,
    };
    let p = FeishuPlatform::new(credentials, reqwest::Client::new(), Arc::new(EmbeddedStore::open_temporary().unwrap()), Arc::new(SystemClock));
    let request = CreateChat { name: "inc checkout".into(), topic: "Checkout is down".into(), private: true, idempotency_key: "wr-inc_1".into() };
    let chat = p.create_chat(&request).await.unwrap().chat_id;
    (sandbox, p, chat)
}

fn card(incident: &str, status: Status) -> Card {
    Card {
        incident_id: incident.into(),
        title: "Checkout is down".into(),
        status,
        severity: Severity::Critical,
        snoozed_until: None,
        fields: vec![],
        actions: vec![CardAction::Acknowledge],
        url: None,
    }
}

#[tokio::test]
async fn a_card_posted_before_a_lost_answer_is_found_after_the_uuid_hour_across_pages() {
    let (sandbox, p, chat) = world().await;
    assert_eq!(p.find_card(&chat, &card("inc_1", Status::Triggered)).await.unwrap(), None, "an empty chat has no card");
    let posted = p.post_card(&chat, &card("inc_1", Status::Triggered)).await.unwrap();
    p.post_card(&chat, &card("inc_2", Status::Triggered)).await.unwrap();
    for n in 0..60 {
        p.send_text(&chat, &format!("update {n}: Incident inc_1 is being looked at")).await.unwrap();
    }
    sandbox.advance(Duration::from_secs(61 * 60));
    // Past the hour, posting again would make a second card; the card is found instead, even
    // two pages back, whatever state it shows; a text naming the incident is no card.
    assert_eq!(p.find_card(&chat, &card("inc_1", Status::Acknowledged)).await.unwrap(), Some(posted.clone()));
    assert_ne!(p.find_card(&chat, &card("inc_2", Status::Triggered)).await.unwrap(), Some(posted));
    assert_eq!(p.find_card(&chat, &card("inc_3", Status::Triggered)).await.unwrap(), None);
    let again = p.post_card(&chat, &card("inc_1", Status::Triggered)).await.unwrap();
    let cards = sandbox.chat(chat.as_str()).unwrap().messages.iter().filter(|m| m.msg_type == "interactive").count();
    assert_eq!(cards, 3, "the control: past the hour the uuid no longer dedupes ({again})");
}

#[tokio::test]
async fn a_notice_is_sent_once_per_key_and_found_again_by_its_text() {
    let (sandbox, p, chat) = world().await;
    let text = "Dee could not be invited: no linked feishu account.";
    let first = p.send_notice(&chat, text, "unl-1").await.unwrap();
    assert_eq!(p.send_notice(&chat, text, "unl-1").await.unwrap(), first, "a retry within the hour is the same message");
    let texts = |s: &FeishuSandbox| s.chat(chat.as_str()).unwrap().messages.iter().filter(|m| m.msg_type == "text").count();
    assert_eq!(texts(&sandbox), 1);
    for n in 0..55 {
        p.send_text(&chat, &format!("chatter {n}")).await.unwrap();
    }
    sandbox.advance(Duration::from_secs(61 * 60));
    assert_eq!(p.find_notice(&chat, text, "unl-1").await.unwrap(), Some(first));
    assert_eq!(p.find_notice(&chat, "Eve could not be invited: no linked feishu account.", "unl-2").await.unwrap(), None);
}
