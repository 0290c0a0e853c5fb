//! Recognising the bot's card of an incident however Feishu lists it, and finding it again
//! after a post whose answer was lost, against the stateful Feishu sandbox.

use super::*;
use crate::feishu::card::card_json;
use warroom_core::incident::{Severity, Status};
use warroom_sandbox::feishu::{project_card, FeishuSandbox, SandboxConfig};
use warroom_sandbox::{HoldPoint, Release};
use warroom_store::embedded::EmbeddedStore;

const APP: &str = "cli_sandbox0000003";

fn card(incident: &str, actions: Vec<CardAction>, fields: Vec<(String, String)>) -> Card {
    Card {
        incident_id: incident.into(),
        title: "Checkout is down".into(),
        status: Status::Triggered,
        severity: Severity::Critical,
        snoozed_until: None,
        fields,
        actions,
        url: None,
    }
}

fn open(incident: &str) -> Card {
    card(incident, vec![CardAction::Acknowledge, CardAction::Resolve], vec![])
}

fn is_card(c: &Card, incident: &str) -> (bool, bool) {
    let sent = card_json(c);
    (is_card_of("interactive", &sent.to_string(), incident), is_card_of("interactive", &project_card(&sent).to_string(), incident))
}

#[test]
fn a_card_is_known_as_sent_and_as_feishu_renders_it_but_never_by_a_longer_id_or_a_quoted_one() {
    assert_eq!(is_card(&open("inc_1"), "inc_1"), (true, true), "by its button values, and by its note once they are gone");
    assert_eq!(is_card(&card("inc_1", vec![], vec![]), "inc_1"), (true, true), "a closed card has no buttons: its note");
    assert_eq!(is_card(&open("inc_10"), "inc_1"), (false, false), "inc_1 is a prefix of inc_10");
    let quoting = card("inc_1", vec![], vec![("Description".into(), "Incident inc_2".into())]);
    assert_eq!(is_card(&quoting, "inc_2"), (false, false), "alert text quoting another incident");
    assert!(!is_card_of("text", &json!({"text": "Incident inc_1"}).to_string(), "inc_1"));
    assert!(!is_card_of("interactive", "not json", "inc_1"));
}

async fn world() -> (FeishuSandbox, FeishuPlatform, ChatId) {
    let sandbox = FeishuSandbox::new(SandboxConfig { enforce_rate_limits: false, ..SandboxConfig::default() });
    let scopes: Vec<&str> = crate::feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
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

/// Posts `card` while the sandbox loses the answer: the card is in the chat, the caller
/// hears 503.
async fn post_losing_the_answer(sandbox: &FeishuSandbox, p: &FeishuPlatform, chat: &ChatId, card: &Card) -> ImResult<MessageId> {
    sandbox.holds().arm("POST /open-apis/im/v1/messages", HoldPoint::After).unwrap();
    let lose = async {
        while !sandbox.holds().status().is_some_and(|s| s.holding) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        sandbox.holds().release(Release::Abort).unwrap();
    };
    tokio::join!(p.post_card(chat, card), lose).0
}

#[tokio::test]
async fn a_card_whose_answer_was_lost_is_found_past_the_uuid_hour_and_not_confused_with_a_newer_card() {
    let (sandbox, p, chat) = world().await;
    let lost = post_losing_the_answer(&sandbox, &p, &chat, &open("inc_1")).await;
    assert!(matches!(lost, Err(ImError::Transient(_))), "{lost:?}");
    let held = sandbox.chat(chat.as_str()).unwrap().messages[0].message_id.clone();
    p.post_card(&chat, &open("inc_10")).await.unwrap();
    for n in 0..55 {
        p.send_text(&chat, &format!("update {n}: Incident inc_1")).await.unwrap();
    }
    sandbox.advance(Duration::from_secs(61 * 60));
    sandbox.clear_calls();
    // Past the hour a repeated post would be a second card: the retry looks first, two pages back.
    assert_eq!(p.find_card(&chat, &open("inc_1")).await.unwrap(), Some(MessageId::new(held)));
    let lists: Vec<_> = sandbox.calls().into_iter().filter(|c| c.method == "GET" && c.path == "/open-apis/im/v1/messages").collect();
    assert_eq!(lists.len(), 2);
    assert!(lists.iter().all(|c| c.query.contains("card_msg_content_type=user_card_content")), "cards asked for as sent: {lists:?}");
}
