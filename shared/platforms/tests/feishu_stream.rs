//! The Feishu adapter's streamed answers (a CardKit card in streaming mode) against the Feishu
//! sandbox, which keeps the card entity, checks `sequence`, streaming mode and the per-card
//! limit, and shows the card's text in its chat view.

use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::*;
use warroom_platforms::feishu::{FeishuCredentials, FeishuPlatform, REQUIRED_SCOPES};
use warroom_sandbox::feishu::{FeishuSandbox, SandboxConfig, CARD_OPS_PER_SECOND};
use warroom_store::embedded::EmbeddedStore;

const APP: &str = "cli_stream00000001";

struct World {
    sandbox: FeishuSandbox,
    credentials: FeishuCredentials,
    clock: Arc<ManualClock>,
    chat: ChatId,
    question: MessageId,
}

async fn world() -> World {
    let sandbox = FeishuSandbox::new(SandboxConfig::default());
    let scopes: Vec<&str> = REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    sandbox.add_app(APP, "app-secret", "vtoken", "", &scopes);
    sandbox.add_user("ou_ann", "Ann", Some("ann@example.com"), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let router = sandbox.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let credentials =
        FeishuCredentials { app_id: APP.into(), app_secret: "app-secret".into(), verification_token: "vtoken".into(), encrypt_key: String::new(), base_url };
    let clock = Arc::new(ManualClock::at(Timestamp(1_764_000_000_000)));
    let p = FeishuPlatform::new(credentials.clone(), reqwest::Client::new(), Arc::new(EmbeddedStore::open_temporary().unwrap()), clock.clone());
    let request = CreateChat { name: "inc_7 DB down".into(), topic: "DB down".into(), private: true, idempotency_key: "warroom-inc_7".into() };
    let chat = p.create_chat(&request).await.unwrap().chat_id;
    p.add_members(&chat, &[ImUserId::new("ou_ann")]).await.unwrap();
    let question = MessageId::new(sandbox.user_says(chat.as_str(), "ou_ann", "@bot what changed?"));
    World { sandbox, credentials, clock, chat, question }
}

impl World {
    fn platform(&self) -> FeishuPlatform {
        self.platform_at(self.clock.clone())
    }
    fn platform_at(&self, clock: Arc<ManualClock>) -> FeishuPlatform {
        FeishuPlatform::new(self.credentials.clone(), reqwest::Client::new(), Arc::new(EmbeddedStore::open_temporary().unwrap()), clock)
    }
    /// The bot's messages: (text of the card's markdown element, replied-to message, streaming).
    fn answers(&self) -> Vec<(String, Option<String>, Option<bool>)> {
        let view = self.sandbox.chat(self.chat.as_str()).unwrap();
        view.messages
            .iter()
            .filter(|m| m.sender_type == "app")
            .map(|m| {
                let text = m.content.pointer("/body/elements/0/content").and_then(Value::as_str).unwrap_or_default().to_string();
                (text, m.parent_id.clone(), m.card_streaming)
            })
            .collect()
    }
}

#[tokio::test]
async fn three_appends_then_stop_leave_one_card_replying_to_the_question_with_exactly_the_final_text() {
    let w = world().await;
    let p = w.platform();
    let s = p.start_stream(&w.chat, Some(&w.question), "Looking…").await.unwrap().expect("CardKit streaming");
    let q = Some(w.question.as_str().to_string());
    assert_eq!(w.answers(), [("Looking…".to_string(), q.clone(), Some(true))], "the card shows at once, streaming");
    let mut so_far = String::new();
    // The clock does not move between calls: the sequences must still increase.
    for delta in ["The deploy at 10:02", " shrank the pool", " to 5."] {
        so_far.push_str(delta);
        p.append_stream(&w.chat, &s, &so_far, delta).await.unwrap();
        assert_eq!(w.answers()[0].0, so_far, "the full text so far is on the card");
    }
    let final_text = format!("{so_far}\n\nSources: Ann 10:05");
    p.stop_stream(&w.chat, &s, &final_text).await.unwrap();
    assert_eq!(w.answers(), [(final_text.clone(), q, Some(false))], "one card, the final text once, streaming off");
    let updates = w.sandbox.card_updates();
    let contents: Vec<&str> = updates.iter().map(|u| u.content.as_str()).collect();
    assert_eq!(contents, ["The deploy at 10:02", "The deploy at 10:02 shrank the pool", so_far.as_str(), final_text.as_str()]);
    assert!(updates.windows(2).all(|w| w[0].sequence < w[1].sequence), "{updates:?}");
    assert!(w.sandbox.calls().iter().all(|c| c.ok), "no call refused: {:?}", w.sandbox.calls().iter().filter(|c| !c.ok).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_retried_job_in_a_new_process_keeps_sequences_increasing_and_a_repeated_stop_is_harmless() {
    let w = world().await;
    let s = w.platform().start_stream(&w.chat, Some(&w.question), "").await.unwrap().unwrap();
    w.platform().append_stream(&w.chat, &s, "Part one", "Part one").await.unwrap();
    w.clock.advance(Duration::from_secs(30));
    // A fresh instance (new Lambda) knows only the StreamRef: time since the start orders it.
    let retried = w.platform();
    retried.append_stream(&w.chat, &s, "Part one, part two", ", part two").await.unwrap();
    retried.stop_stream(&w.chat, &s, "Part one, part two.").await.unwrap();
    // The answer of that stop was lost: the retry finds streaming off and replaces the card.
    w.clock.advance(Duration::from_secs(1));
    w.platform().stop_stream(&w.chat, &s, "Part one, part two.").await.unwrap();
    assert_eq!(w.answers().len(), 1);
    assert_eq!((w.answers()[0].0.as_str(), w.answers()[0].2), ("Part one, part two.", Some(false)));
}

#[tokio::test]
async fn the_sandbox_refuses_a_sequence_that_does_not_increase() {
    let w = world().await;
    let s = w.platform().start_stream(&w.chat, Some(&w.question), "").await.unwrap().unwrap();
    w.clock.advance(Duration::from_secs(5));
    w.platform().append_stream(&w.chat, &s, "later", "later").await.unwrap();
    // A process whose clock runs 5 s behind sends sequence 1 after 5001: refused with 300317.
    let behind = Arc::new(ManualClock::at(Timestamp(w.clock.now().0 - 5_000)));
    let err = w.platform_at(behind).append_stream(&w.chat, &s, "later, then", ", then").await.unwrap_err();
    assert!(matches!(&err, ImError::Rejected { code, .. } if code == "300317"), "{err:?}");
    assert_eq!(w.answers()[0].0, "later", "the refused update changed nothing");
}

#[tokio::test]
async fn appends_after_stop_are_refused_with_a_typed_non_retryable_error() {
    let w = world().await;
    let p = w.platform();
    let s = p.start_stream(&w.chat, Some(&w.question), "Done").await.unwrap().unwrap();
    p.stop_stream(&w.chat, &s, "Done.").await.unwrap();
    let err = p.append_stream(&w.chat, &s, "Done. More", " More").await.unwrap_err();
    assert!(matches!(&err, ImError::Rejected { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(w.answers()[0].0, "Done.");
}

#[tokio::test]
async fn without_cardkit_permission_start_stream_says_none_and_sends_nothing() {
    let w = world().await;
    let scopes: Vec<&str> = REQUIRED_SCOPES.iter().map(|(s, _)| *s).filter(|s| *s != "cardkit:card:write").collect();
    w.sandbox.set_scopes(APP, &scopes);
    assert_eq!(w.platform().start_stream(&w.chat, Some(&w.question), "x").await.unwrap(), None);
    assert!(w.answers().is_empty());
}

#[tokio::test]
async fn without_a_question_the_card_goes_to_the_chat() {
    let w = world().await;
    let p = w.platform();
    let s = p.start_stream(&w.chat, None, "Hi").await.unwrap().unwrap();
    p.stop_stream(&w.chat, &s, "Hi there.").await.unwrap();
    assert_eq!(w.answers(), [("Hi there.".to_string(), None, Some(false))]);
}

#[tokio::test]
async fn more_than_ten_operations_a_second_on_one_card_come_back_rate_limited_with_the_wait() {
    let w = world().await;
    // Sandbox time stands still: every update falls in the same second.
    w.sandbox.freeze_clock();
    let p = w.platform();
    let s = p.start_stream(&w.chat, Some(&w.question), "").await.unwrap().unwrap();
    let mut so_far = String::new();
    for i in 0..CARD_OPS_PER_SECOND {
        so_far.push_str(&format!("{i} "));
        p.append_stream(&w.chat, &s, &so_far, "x").await.unwrap();
    }
    let err = p.append_stream(&w.chat, &s, &format!("{so_far}!"), "!").await.unwrap_err();
    assert_eq!(err, ImError::RateLimited { retry_after: Duration::from_secs(1) });
    assert!(err.is_retryable());
}

#[test]
fn the_stream_bucket_keeps_one_chat_under_ten_operations_a_second() {
    let p = FeishuPlatform::new(
        FeishuCredentials {
            app_id: APP.into(),
            app_secret: "s".into(),
            verification_token: "v".into(),
            encrypt_key: String::new(),
            base_url: "http://x".into(),
        },
        reqwest::Client::new(),
        Arc::new(EmbeddedStore::open_temporary().unwrap()),
        Arc::new(SystemClock),
    );
    let chat = ChatId::new("oc_1");
    let buckets = p.buckets(ApiFamily::Stream, Some(&chat));
    let per_chat = buckets.iter().find(|b| b.key.contains("stream.oc_1")).expect("a per-chat bucket");
    assert!(per_chat.max_in_window(Duration::from_secs(1)) <= i64::from(CARD_OPS_PER_SECOND), "{per_chat:?}");
    assert!(p.buckets(ApiFamily::Stream, None).iter().all(|b| !b.key.contains("stream.")));
}

/// The card answers (no CardKit): (lark_md text, replied-to message).
fn card_answers(w: &World) -> Vec<(String, Option<String>)> {
    let view = w.sandbox.chat(w.chat.as_str()).unwrap();
    view.messages
        .iter()
        .filter(|m| m.sender_type == "app")
        .map(|m| (m.content.pointer("/elements/0/text/content").and_then(Value::as_str).unwrap_or_default().to_string(), m.parent_id.clone()))
        .collect()
}

#[tokio::test]
async fn an_answer_without_streaming_replies_to_its_question_and_its_edits_stay_there() {
    let w = world().await;
    let p = w.platform();
    let id = p.post_answer(&w.chat, Some(&w.question), "Thinking…").await.unwrap();
    p.edit_answer(&w.chat, &id, "The pool shrank at 10:02.").await.unwrap();
    assert_eq!(card_answers(&w), [("The pool shrank at 10:02.".to_string(), Some(w.question.as_str().to_string()))]);
}

#[tokio::test]
async fn an_answer_to_a_question_that_cannot_be_replied_to_goes_to_the_chat() {
    let w = world().await;
    let id = w.platform().post_answer(&w.chat, Some(&MessageId::new("om_recalled_long_ago")), "Here is what I know.").await.unwrap();
    assert!(!id.as_str().is_empty());
    assert_eq!(card_answers(&w), [("Here is what I know.".to_string(), None)]);
}
