use super::*;
use crate::factory::metered::metered_with_health;
use warroom_core::{ChatId, IntegrationStatus, ManualClock, Platform, TenantId};
use warroom_store::embedded::EmbeddedStore;
use warroom_testkit::fake_platform::{FakeOp, FakePlatform};

fn integration() -> Integration {
    warroom_testkit::fixtures::integration(&TenantId::new("t1"), Platform::Feishu)
}

struct World {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    log: Arc<HealthLog>,
    fake: FakePlatform,
}

/// A chat the fake knows (its calls on unknown chats answer `ChatGone`).
async fn open_chat(client: &Arc<dyn warroom_core::ImPlatform>) -> ChatId {
    let request = warroom_core::CreateChat { name: "inc".into(), topic: String::new(), private: true, idempotency_key: "k".into() };
    client.create_chat(&request).await.unwrap().chat_id
}

fn world() -> World {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_temporary().unwrap());
    let clock = Arc::new(ManualClock::at(Timestamp::from_secs(1_800_000_000)));
    let log = Arc::new(HealthLog::new(store.clone(), clock.clone()));
    World { store, clock, log, fake: FakePlatform::new(Platform::Feishu) }
}

#[tokio::test]
async fn a_success_and_a_refusal_are_recorded_and_the_refusal_after_the_success_reads_as_revoked() {
    let w = world();
    let i = integration();
    let client = metered_with_health(Arc::new(w.fake.clone()), w.log.clone(), i.id.clone());
    let chat = open_chat(&client).await;
    client.send_text(&chat, "hello").await.unwrap();
    let health = read(w.store.as_ref(), &i.id, w.clock.now()).await.unwrap();
    assert_eq!(health.last_ok_at, Some(w.clock.now()));
    assert_eq!(health.last_error, None);
    assert_eq!(health.token(&i, false), TokenState::Valid);
    assert_eq!(health.token(&i, true), TokenState::MissingPermissions);

    w.clock.advance(Duration::from_secs(5));
    w.fake.fail_next(FakeOp::SendText, ImError::Unauthorized("token revoked".into()));
    assert!(client.send_text(&chat, "again").await.is_err());
    let health = read(w.store.as_ref(), &i.id, w.clock.now()).await.unwrap();
    let error = health.last_error.clone().expect("the refusal");
    assert_eq!((error.code.as_str(), error.at), ("unauthorized", w.clock.now()));
    assert!(error.message.contains("token revoked"), "{error:?}");
    assert_eq!(health.token(&i, false), TokenState::Revoked);

    let mut rotated = i.clone();
    rotated.updated_at = w.clock.now().plus(Duration::from_secs(1));
    assert_eq!(health.token(&rotated, false), TokenState::Valid, "credentials replaced after the refusal");
}

#[tokio::test]
async fn successes_are_written_at_most_once_a_minute_and_a_missing_chat_is_not_an_integration_failure() {
    let w = world();
    let i = integration();
    let client = metered_with_health(Arc::new(w.fake.clone()), w.log.clone(), i.id.clone());
    let chat = open_chat(&client).await;
    client.send_text(&chat, "one").await.unwrap();
    let first = w.clock.now();
    w.clock.advance(Duration::from_secs(30));
    client.send_text(&chat, "two").await.unwrap();
    assert_eq!(read(w.store.as_ref(), &i.id, w.clock.now()).await.unwrap().last_ok_at, Some(first), "written again within the minute");
    w.clock.advance(Duration::from_secs(31));
    client.send_text(&chat, "three").await.unwrap();
    assert_eq!(read(w.store.as_ref(), &i.id, w.clock.now()).await.unwrap().last_ok_at, Some(w.clock.now()));

    w.fake.fail_next(FakeOp::SendText, ImError::ChatGone);
    assert!(client.send_text(&chat, "gone").await.is_err());
    assert_eq!(read(w.store.as_ref(), &i.id, w.clock.now()).await.unwrap().last_error, None);
}

#[tokio::test]
async fn an_integration_never_called_is_unknown_and_a_revoked_one_is_revoked_whatever_its_calls_said() {
    let w = world();
    let mut i = integration();
    let health = read(w.store.as_ref(), &i.id, w.clock.now()).await.unwrap();
    assert_eq!(health, IntegrationHealth::default());
    assert_eq!(health.token(&i, false), TokenState::Unknown);
    i.status = IntegrationStatus::Revoked;
    let ok = IntegrationHealth { last_ok_at: Some(w.clock.now()), last_error: None };
    assert_eq!(ok.token(&i, false), TokenState::Revoked);
}

#[tokio::test]
async fn one_integrations_health_is_not_anothers() {
    let w = world();
    let (a, b) = (integration(), integration());
    let client = metered_with_health(Arc::new(w.fake.clone()), w.log.clone(), a.id.clone());
    w.fake.fail_next(FakeOp::SendText, ImError::Transient("503".into()));
    let chat = open_chat(&client).await;
    assert!(client.send_text(&chat, "x").await.is_err());
    assert_eq!(read(w.store.as_ref(), &a.id, w.clock.now()).await.unwrap().last_error.map(|e| e.code), Some("unavailable".into()));
    assert_eq!(read(w.store.as_ref(), &b.id, w.clock.now()).await.unwrap(), IntegrationHealth::default());
}

// The factory's chat links (factory.rs), tested beside the rest of what the factory adds
// to every client.
#[test]
fn a_war_rooms_chat_link_is_the_platforms_own_unless_chats_are_shown_on_a_sandbox_page() {
    use crate::{Platforms, PlatformsConfig};
    use warroom_core::PlatformFactory;
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_temporary().unwrap());
    let make = |config: PlatformsConfig| {
        Platforms::new(config, warroom_secrets::SecretBox::from_key(&[7u8; 32]), store.clone(), Arc::new(ManualClock::at(Timestamp(0)))).unwrap()
    };
    let slack_link = Some("https://slack.com/app_redirect?channel=C1&team=T1".to_string());
    let production = make(PlatformsConfig::production("https://warroom.example.com"));
    assert_eq!(production.chat_link(&ChatId::new("C1"), slack_link.clone()), slack_link);
    assert_eq!(production.chat_link(&ChatId::new("oc_1"), None), None);
    let local = make(PlatformsConfig { chat_links: Some("http://127.0.0.1:3000/sandbox/".into()), ..PlatformsConfig::production("http://127.0.0.1:3000") });
    assert_eq!(local.chat_link(&ChatId::new("C1"), slack_link).as_deref(), Some("http://127.0.0.1:3000/sandbox/#chat-C1"));
}
