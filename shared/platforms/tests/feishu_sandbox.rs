//! `FeishuPlatform` and `FeishuCodec` end to end against the stateful Feishu sandbox
//! (`warroom_sandbox::feishu`): token, lookups, an idempotent chat, invites with an unknown
//! user, a card posted and patched, history, disband; then the sandbox's encrypted, signed
//! callbacks (handshake, @bot message, button click, disband from inside) through the codec.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::json;
use std::sync::{Arc, Mutex};
use warroom_core::incident::{Severity, Status};
use warroom_core::*;
use warroom_platforms::feishu::{card_json, FeishuCodec, FeishuCredentials, FeishuPlatform, REQUIRED_SCOPES};
use warroom_sandbox::feishu::{FeishuSandbox, SandboxConfig};
use warroom_store::embedded::EmbeddedStore;

const APP: &str = "cli_sandbox0000001";
const TOKEN: &str = "verification-token";
const KEY: &str = "encrypt-key";

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

async fn world() -> (FeishuSandbox, FeishuCredentials) {
    let sandbox = FeishuSandbox::new(SandboxConfig::default());
    let scopes: Vec<&str> = REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    sandbox.add_app(APP, "app-secret", TOKEN, KEY, &scopes);
    sandbox.add_user("ou_ann", "Ann", Some("ann@example.com"), Some("+8613800000001"));
    sandbox.add_user("ou_bob", "Bob", Some("bob@example.com"), None);
    let base_url = serve(sandbox.router()).await;
    let credentials =
        FeishuCredentials { app_id: APP.into(), app_secret: "app-secret".into(), verification_token: TOKEN.into(), encrypt_key: KEY.into(), base_url };
    (sandbox, credentials)
}

fn platform(credentials: &FeishuCredentials) -> FeishuPlatform {
    FeishuPlatform::new(credentials.clone(), reqwest::Client::new(), Arc::new(EmbeddedStore::open_temporary().unwrap()), Arc::new(SystemClock))
}

fn card(status: Status, actions: Vec<CardAction>) -> Card {
    Card {
        incident_id: "inc_1".into(),
        title: "Checkout is down".into(),
        status,
        severity: Severity::Critical,
        snoozed_until: None,
        fields: vec![("Description".into(), "5xx > 20%".into())],
        actions,
        url: None,
    }
}

#[tokio::test]
async fn a_war_room_lives_and_dies_against_the_feishu_sandbox() {
    let (sandbox, credentials) = world().await;
    let p = platform(&credentials);

    assert!(p.granted_scopes().await.unwrap().contains(&"im:chat".to_string()));
    assert_eq!(p.lookup_by_email("ann@example.com").await.unwrap(), Some(ImUserId::new("ou_ann")));
    assert_eq!(p.lookup_by_phone("+8613800000001").await.unwrap(), Some(ImUserId::new("ou_ann")));
    assert_eq!(p.lookup_by_email("nobody@example.com").await.unwrap(), None);
    assert_eq!(p.bot_open_id().await.unwrap(), sandbox.bot_open_id(APP).unwrap());

    let request =
        CreateChat { name: "inc_1 Checkout is down".into(), topic: "Checkout is down".into(), private: true, idempotency_key: "warroom-inc_1".into() };
    let chat = p.create_chat(&request).await.unwrap().chat_id;
    assert_eq!(p.create_chat(&request).await.unwrap().chat_id, chat, "a retried create answers the same chat");
    assert_eq!(sandbox.chats().len(), 1);

    let invite = p.add_members(&chat, &[ImUserId::new("ou_ann"), ImUserId::new("ou_bob"), ImUserId::new("ou_ghost")]).await.unwrap();
    assert_eq!(invite.invited, vec![ImUserId::new("ou_ann"), ImUserId::new("ou_bob")]);
    assert_eq!(invite.failed, vec![(ImUserId::new("ou_ghost"), ImError::UserNotFound)]);
    let members = sandbox.chat(chat.as_str()).unwrap().members;
    assert!(members.contains(&"ou_ann".to_string()) && members.contains(&"ou_bob".to_string()));

    let message = p.post_card(&chat, &card(Status::Triggered, vec![CardAction::Acknowledge, CardAction::Resolve])).await.unwrap();
    let acked = card(Status::Acknowledged, vec![CardAction::Resolve]);
    p.update_card(&chat, &message, &acked).await.unwrap();
    let stored = sandbox.chat(chat.as_str()).unwrap().messages.into_iter().find(|m| m.message_id == message.as_str()).unwrap();
    assert_eq!((stored.msg_type.as_str(), stored.updated_count), ("interactive", 1));
    assert_eq!(stored.content, card_json(&acked));

    p.send_text(&chat, "Acknowledged by Ann").await.unwrap();
    let history = p.chat_history(&chat).await.unwrap();
    assert_eq!(history.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), vec!["Acknowledged by Ann"], "cards carry no text");
    assert!(p.list_bot_chats().await.unwrap().iter().any(|c| c.chat_id == chat));

    p.dismiss_chat(&chat).await.unwrap();
    assert!(sandbox.chat(chat.as_str()).unwrap().disbanded);
    assert_eq!(p.send_text(&chat, "anyone?").await.unwrap_err(), ImError::ChatGone);
    assert_eq!(p.dismiss_chat(&chat).await.unwrap_err(), ImError::ChatGone);

    let token_fetches = sandbox.calls().iter().filter(|c| c.path.ends_with("/tenant_access_token/internal")).count();
    assert_eq!(token_fetches, 1, "one tenant_access_token for the whole story");
}

/// What the "bundle" decoded, in order.
#[derive(Clone, Default)]
struct Bundle {
    codec: Arc<Mutex<Option<Arc<FeishuCodec>>>>,
    events: Arc<Mutex<Vec<Result<EventDelivery, CallbackError>>>>,
    clicks: Arc<Mutex<Vec<Result<Click, CallbackError>>>>,
}

fn raw<'a>(headers: &'a (dyn Fn(&str) -> Option<String> + Sync), body: &'a [u8]) -> RawRequest<'a> {
    RawRequest { method: "POST", query: "", header: headers, body, now: SystemClock.now() }
}

async fn events(State(b): State<Bundle>, headers: HeaderMap, body: Bytes) -> axum::response::Response {
    let codec = b.codec.lock().unwrap().clone().unwrap();
    let lookup = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let decoded = codec.decode_event(&raw(&lookup, &body));
    b.events.lock().unwrap().push(decoded.clone());
    let answer = match decoded {
        Ok(EventDelivery { event: ImEvent::Handshake(answer), .. }) => answer,
        Ok(_) => codec.event_ack(),
        Err(e) => return (axum::http::StatusCode::from_u16(e.status()).unwrap(), e.code()).into_response(),
    };
    ([("content-type", answer.content_type)], answer.body).into_response()
}

async fn cards(State(b): State<Bundle>, headers: HeaderMap, body: Bytes) -> axum::response::Response {
    let codec = b.codec.lock().unwrap().clone().unwrap();
    let lookup = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let decoded = codec.decode_click(&raw(&lookup, &body));
    b.clicks.lock().unwrap().push(decoded.clone());
    let answer = codec.click_reply("Acknowledged", Some(&card(Status::Acknowledged, vec![CardAction::Resolve])));
    ([("content-type", answer.content_type)], answer.body).into_response()
}

#[tokio::test]
async fn the_sandbox_callbacks_verify_and_decode_through_the_codec() {
    let (sandbox, credentials) = world().await;
    let p = platform(&credentials);
    let bundle = Bundle::default();
    *bundle.codec.lock().unwrap() = Some(Arc::new(FeishuCodec::new(credentials.clone()).with_bot_open_id(p.bot_open_id().await.unwrap())));
    let router = axum::Router::new().route("/events", axum::routing::post(events)).route("/cards", axum::routing::post(cards)).with_state(bundle.clone());
    let url = serve(router).await;

    let (response, challenge) = sandbox.url_verification(&format!("{url}/events"), APP).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({"challenge": challenge}));

    let chat = p.create_chat(&CreateChat { name: "inc_1".into(), topic: "t".into(), private: true, idempotency_key: "k1".into() }).await.unwrap().chat_id;
    p.add_members(&chat, &[ImUserId::new("ou_ann")]).await.unwrap();
    let response = sandbox.send_message_event(&format!("{url}/events"), APP, chat.as_str(), "ou_ann", "ack", true).await.unwrap();
    assert_eq!(response.status(), 200);
    let last = bundle.events.lock().unwrap().last().cloned().unwrap().unwrap();
    assert_eq!(last.delivery_id.as_deref(), Some(sandbox.last_delivery().unwrap().event_id.as_str()));
    let ImEvent::Message { chat: at, message, mentions_bot } = last.event else { panic!("{:?}", last.event) };
    assert_eq!((at, message.text.as_str(), message.author.as_str(), mentions_bot), (chat.clone(), "ack", "ou_ann", true));

    let card_id = p.post_card(&chat, &card(Status::Triggered, vec![CardAction::Acknowledge])).await.unwrap();
    let value = json!({"incident_id": "inc_1", "action": "ack"});
    let reply = sandbox.click_card(&format!("{url}/cards"), APP, "ou_ann", card_id.as_str(), value).await.unwrap();
    let click = bundle.clicks.lock().unwrap().last().cloned().unwrap().unwrap();
    assert_eq!((click.user.as_str(), click.incident_id.as_str(), click.action), ("ou_ann", "inc_1", CardAction::Acknowledge));
    assert_eq!(click.chat_id, Some(chat.clone()));
    assert!(reply.applied, "the card in the answer replaced the message: {reply:?}");
    let stored = sandbox.chat(chat.as_str()).unwrap().messages.into_iter().find(|m| m.message_id == card_id.as_str()).unwrap();
    assert_eq!(stored.content, card_json(&card(Status::Acknowledged, vec![CardAction::Resolve])));

    sandbox.disband_from_inside(&format!("{url}/events"), APP, chat.as_str(), "ou_ann").await.unwrap();
    let last = bundle.events.lock().unwrap().last().cloned().unwrap().unwrap();
    assert_eq!(last.event, ImEvent::ChatGone { chat });
    assert!(bundle.events.lock().unwrap().iter().all(Result::is_ok), "every sandbox callback verified");
}
