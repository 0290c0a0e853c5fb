//! The Slack adapter end to end against the stateful Slack sandbox (`warroom-sandbox`),
//! which was written from the reference independently of the adapter: a private war room
//! created (and found again after a "crash"), responders invited with one unknown user,
//! the card posted, clicked and updated, people's messages read back, the room archived.

use axum::body::Bytes;
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom_core::card::{Card, CardAction};
use warroom_core::{CallbackCodec, Clock, CreateChat, ImError, ImEvent, ImPlatform, ImUserId, RawRequest, Severity, Status, SystemClock};
use warroom_platforms::slack::{SlackCodec, SlackCredentials, SlackPlatform, REQUIRED_SCOPES};
use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};
use warroom_secrets::Secret;

const SIGNING_SECRET: &str = "sandbox-signing-secret";
const TEAM: &str = "T0SANDBOX";

struct World {
    sandbox: SlackSandbox,
    api_base: String,
    bot: String,
}

async fn world(enforce_rate_limits: bool) -> World {
    let sandbox = SlackSandbox::new(SandboxConfig {
        client_id: "111.222".into(),
        client_secret: "client-secret".into(),
        signing_secret: SIGNING_SECRET.into(),
        enforce_rate_limits,
    });
    let base = sandbox.serve_local().await.unwrap();
    sandbox.add_workspace(TEAM, "Acme");
    sandbox.add_user(TEAM, "U0ADA", "ada", "ada@acme.example.com");
    sandbox.add_user(TEAM, "U0LIN", "linus", "linus@acme.example.com");
    let bot = sandbox.bot_user_id(TEAM).unwrap();
    World { sandbox, api_base: format!("{base}/api/"), bot }
}

impl World {
    fn platform(&self, scopes: &[&str]) -> SlackPlatform {
        let credentials = SlackCredentials {
            bot_token: self.sandbox.issue_bot_token(TEAM, scopes),
            team_id: TEAM.into(),
            bot_user_id: Some(self.bot.clone()),
            app_id: Some(self.sandbox.app_id()),
            signing_secret: None,
        };
        SlackPlatform::new(credentials, self.api_base.clone(), reqwest::Client::new())
    }
}

fn all_scopes() -> Vec<&'static str> {
    REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect()
}

/// A callback as received: lower-case header names, raw body.
type Received = (HashMap<String, String>, Vec<u8>);

/// The app's Request URL: keeps every callback as received, answers 200.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Received>>>);

impl Receiver {
    async fn serve(&self) -> String {
        let seen = self.0.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let headers = headers.iter().filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string()))).collect();
                seen.lock().unwrap().push((headers, body.to_vec()));
                ""
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/im/slack/events", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    /// Runs `f` on the last callback received, as the router would present it.
    fn last<T>(&self, f: impl FnOnce(&RawRequest<'_>) -> T) -> T {
        let (headers, body) = self.0.lock().unwrap().last().cloned().expect("a callback arrived");
        let header = move |name: &str| headers.get(name).cloned();
        f(&RawRequest { method: "POST", query: "", header: &header, body: &body, now: SystemClock.now() })
    }
}

fn card(status: Status, actions: Vec<CardAction>) -> Card {
    Card {
        incident_id: "inc_sandbox1".into(),
        title: "Checkout API 5xx above 5%".into(),
        status,
        severity: Severity::Critical,
        snoozed_until: None,
        fields: vec![("Responders".into(), "Ada, Linus".into())],
        actions,
        url: Some("https://oncall.example/incidents/1".into()),
    }
}

#[tokio::test]
async fn a_war_room_lives_and_closes_in_the_sandbox() {
    let w = world(false).await;
    let p = w.platform(&all_scopes());
    let codec = SlackCodec::new(Secret::new(SIGNING_SECRET), reqwest::Client::new());
    let receiver = Receiver::default();
    let app_url = receiver.serve().await;

    // Scopes as the token reports them.
    let mut granted = p.granted_scopes().await.unwrap();
    granted.sort();
    let mut wanted: Vec<String> = all_scopes().into_iter().map(String::from).collect();
    wanted.sort();
    assert_eq!(granted, wanted);

    // A private channel, named validly, with its topic.
    let request = CreateChat {
        name: "INC-1 Checkout API 5xx".into(),
        topic: "[CRITICAL] Checkout API 5xx".into(),
        private: true,
        idempotency_key: "inc_sandbox1".into(),
    };
    let created = p.create_chat(&request).await.unwrap();
    let chat = created.chat_id.clone();
    let view = w.sandbox.channel(chat.as_str()).unwrap();
    assert_eq!((view.name.as_str(), view.is_private, view.topic.as_str()), ("inc-1-checkout-api-5xx", true, "[CRITICAL] Checkout API 5xx"));
    // The retry after a crash between create and record finds the same channel.
    assert_eq!(p.create_chat(&request).await.unwrap().chat_id, chat);
    assert_eq!(w.sandbox.channels(TEAM).iter().filter(|c| c.name.starts_with("inc-1-")).count(), 1);

    // Responders by email, one unknown; the invite reports each user.
    let ada = p.lookup_by_email("ada@acme.example.com").await.unwrap().unwrap();
    assert_eq!(p.lookup_by_email("nobody@acme.example.com").await.unwrap(), None);
    let users = [ada.clone(), ImUserId::new("U0NOBODY"), ImUserId::new("U0LIN")];
    let invited = p.add_members(&chat, &users).await.unwrap();
    assert_eq!(invited.failed, vec![(ImUserId::new("U0NOBODY"), ImError::UserNotFound)]);
    let mut ins: Vec<&str> = invited.invited.iter().map(|u| u.as_str()).collect();
    ins.sort();
    assert_eq!(ins, ["U0ADA", "U0LIN"]);
    let members = w.sandbox.channel(chat.as_str()).unwrap().members;
    assert!(members.contains(&"U0ADA".to_string()) && members.contains(&"U0LIN".to_string()));
    // Inviting again is harmless.
    assert_eq!(p.add_members(&chat, std::slice::from_ref(&ada)).await.unwrap().invited, vec![ada.clone()]);
    assert!(p.list_bot_chats().await.unwrap().iter().any(|c| c.chat_id == chat));

    // The card, then a click on its Acknowledge button through the app's Request URL.
    let message = p.post_card(&chat, &card(Status::Triggered, vec![CardAction::Acknowledge, CardAction::Resolve])).await.unwrap();
    w.sandbox.click_button(&app_url, TEAM, "U0ADA", chat.as_str(), message.as_str(), "warroom.ack", "inc_sandbox1|ack").await.unwrap();
    let click = receiver.last(|r| codec.decode_click(r)).unwrap();
    assert_eq!((click.user.as_str(), click.incident_id.as_str(), click.action), ("U0ADA", "inc_sandbox1", CardAction::Acknowledge));
    assert_eq!(click.chat_id.as_ref(), Some(&chat));
    assert_eq!(click.installation.as_deref(), Some(TEAM));
    codec.after_click(&click, "You acknowledged the incident").await;
    let replies = w.sandbox.ephemeral_replies();
    assert_eq!(replies.last().unwrap()["text"], "You acknowledged the incident");
    assert_eq!(replies.last().unwrap()["response_type"], "ephemeral");

    p.update_card(&chat, &message, &card(Status::Acknowledged, vec![CardAction::Resolve])).await.unwrap();
    let stored = w.sandbox.channel(chat.as_str()).unwrap().messages.into_iter().find(|m| m.ts == message.as_str()).unwrap();
    assert!(stored.edited);
    assert_eq!(stored.blocks.unwrap()[1]["fields"][0]["text"], "*Status*\nAcknowledged");

    // A person writes; the event decodes, and history returns people's words only.
    w.sandbox.post_human_message(&app_url, TEAM, chat.as_str(), "U0LIN", "rolled back the deploy").await.unwrap();
    let delivery = receiver.last(|r| codec.decode_event(r)).unwrap();
    assert!(matches!(&delivery.event, ImEvent::Message { mentions_bot: false, message, .. } if message.text == "rolled back the deploy"));
    p.send_text(&chat, "Reminder: post updates here").await.unwrap();
    let history = p.chat_history(&chat).await.unwrap();
    assert_eq!(history.iter().map(|m| (m.author.as_str(), m.text.as_str())).collect::<Vec<_>>(), [("U0LIN", "rolled back the deploy")]);

    // Closing: archived, archiving again is fine, and the room is gone for posts.
    p.dismiss_chat(&chat).await.unwrap();
    assert!(w.sandbox.channel(chat.as_str()).unwrap().is_archived);
    p.dismiss_chat(&chat).await.unwrap();
    assert_eq!(p.send_text(&chat, "too late").await.unwrap_err(), ImError::ChatGone);
    assert_eq!(p.update_card(&chat, &message, &card(Status::Resolved, vec![])).await.unwrap_err(), ImError::ChatGone);
}

#[tokio::test]
async fn the_handshake_and_an_archive_from_inside_decode_through_the_codec() {
    let w = world(false).await;
    let p = w.platform(&all_scopes());
    let codec = SlackCodec::new(Secret::new(SIGNING_SECRET), reqwest::Client::new());
    let receiver = Receiver::default();
    let app_url = receiver.serve().await;

    let (challenge, _) = w.sandbox.url_verification(&app_url).await.unwrap();
    let delivery = receiver.last(|r| codec.decode_event(r)).unwrap();
    let ImEvent::Handshake(answer) = delivery.event else { panic!("{:?}", delivery.event) };
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&answer.body).unwrap()["challenge"], challenge.as_str());

    let request = CreateChat { name: "inc-2".into(), topic: "t".into(), private: false, idempotency_key: "k".into() };
    let chat = p.create_chat(&request).await.unwrap().chat_id;
    w.sandbox.archive_from_inside(&app_url, chat.as_str()).await.unwrap();
    let delivery = receiver.last(|r| codec.decode_event(r)).unwrap();
    assert_eq!(delivery.event, ImEvent::ChatGone { chat: chat.clone() });
    assert_eq!(delivery.installation.as_deref(), Some(TEAM));
    assert!(delivery.delivery_id.unwrap().starts_with("Ev"));

    // A forged signature is refused.
    let wrong = SlackCodec::new(Secret::new("not-the-secret"), reqwest::Client::new());
    assert!(receiver.last(|r| wrong.decode_event(r)).is_err());
}

#[tokio::test]
async fn missing_scopes_and_rate_limits_come_back_as_the_engine_needs_them() {
    let w = world(true).await;
    let chat_only = w.platform(&["chat:write", "channels:manage"]);
    let private = CreateChat { name: "inc-3".into(), topic: "".into(), private: true, idempotency_key: "k".into() };
    assert_eq!(chat_only.create_chat(&private).await.unwrap_err(), ImError::MissingPermission { scope: "groups:write".into() });

    let p = w.platform(&all_scopes());
    let chat = p.create_chat(&CreateChat { name: "inc-4".into(), ..private }).await.unwrap().chat_id;
    let mut limited = None;
    for i in 0..10 {
        if let Err(e) = p.send_text(&chat, &format!("update {i}")).await {
            limited = Some(e);
            break;
        }
    }
    let Some(ImError::RateLimited { retry_after }) = limited else { panic!("expected a 429, got {limited:?}") };
    assert!(retry_after >= Duration::from_secs(1));
    assert!(w.sandbox.rate_limited_count() >= 1);
}

#[tokio::test]
async fn an_oauth_install_yields_credentials_that_work() {
    let w = world(false).await;
    let oauth_base = w.api_base.trim_end_matches("/api/").to_string();
    let scopes = all_scopes();
    let redirect = "https://warroom.example/oauth/slack/callback";
    let url = warroom_platforms::slack::authorize_url(&oauth_base, "111.222", &scopes, redirect, "state-123");
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = no_redirects.get(&url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let query = location.split_once('?').unwrap().1;
    let params: HashMap<String, String> = serde_urlencoded::from_str(query).unwrap();
    assert_eq!(params["state"], "state-123");

    let http = reqwest::Client::new();
    let grant = warroom_platforms::slack::exchange_code(&http, &w.api_base, "111.222", &Secret::new("client-secret"), &params["code"], redirect).await.unwrap();
    assert_eq!(grant.credentials.team_id, TEAM);
    assert_eq!(grant.credentials.bot_user_id.as_deref(), Some(w.bot.as_str()));
    assert_eq!(grant.scopes.len(), scopes.len());
    let p = SlackPlatform::new(grant.credentials, w.api_base.clone(), http.clone());
    assert_eq!(p.granted_scopes().await.unwrap().len(), scopes.len());

    // A code works once.
    let again = warroom_platforms::slack::exchange_code(&http, &w.api_base, "111.222", &Secret::new("client-secret"), &params["code"], redirect).await;
    assert!(matches!(again, Err(ImError::Rejected { .. })), "{again:?}");
}
