//! The page's JSON API. Clicks and messages go through the sandboxes' own callback senders,
//! so the bundle receives exactly what the platform would send (Slack: form-encoded
//! `block_actions`, signed v0; Feishu: `card.action.trigger`, AES-encrypted and signed).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use warroom_core::time::Timestamp;
use warroom_http::ApiError;
use warroom_sandbox::slack::CallbackError;

use super::view::{self, Button};
use super::WebContext;

#[derive(Clone)]
pub struct Api {
    pub(super) ctx: WebContext,
    pub(super) http: reqwest::Client,
    fired: Arc<AtomicU64>,
}

impl Api {
    pub fn new(ctx: WebContext) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().unwrap_or_default();
        Api { ctx, http, fired: Arc::new(AtomicU64::new(0)) }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.ctx.bundle_url.trim_end_matches('/'))
    }
}

pub(super) type Answer = Result<Json<Value>, ApiError>;

/// `GET /api/state`: every sandbox, as the page draws them (`workspaces` in column order; each
/// also by its platform's name).
pub async fn state(State(api): State<Api>) -> Json<Value> {
    let c = &api.ctx;
    let workspaces = [
        view::slack_workspace(&c.slack, &c.slack_team_id),
        view::feishu_workspace(&c.feishu, &c.feishu_app_id),
        super::dingtalk::workspace(&c.dingtalk, crate::sandboxes::DINGTALK_CLIENT_ID),
        super::wecom::workspace(&c.wecom),
    ];
    let mut state = json!({ "bundle_url": c.bundle_url, "workspaces": workspaces });
    for ws in &workspaces {
        state[ws.platform] = json!(ws);
    }
    Json(state)
}

#[derive(Deserialize)]
pub struct ClickRequest {
    pub(super) platform: String,
    pub(super) chat: String,
    /// Slack `ts` / Feishu `message_id` / DingTalk `outTrackId`.
    pub(super) message: String,
    /// Which button: by Slack `action_id`, by Warroom action (`ack`), or by value.
    pub(super) action_id: Option<String>,
    pub(super) action: Option<String>,
    pub(super) value: Option<Value>,
    /// Who clicks (Slack user id / Feishu open_id / DingTalk userid); default: the chat's first person.
    pub(super) user: Option<String>,
}

/// `POST /api/click`: the button is looked up in the message as the sandbox holds it now, and
/// its own value is sent, as the platform would.
pub async fn click(State(api): State<Api>, body: Bytes) -> Answer {
    let req: ClickRequest = parse(&body)?;
    let c = &api.ctx;
    match req.platform.as_str() {
        "slack" => {
            let channel = c
                .slack
                .channel(&req.chat)
                .filter(|ch| ch.team_id == c.slack_team_id)
                .ok_or_else(|| ApiError::not_found(format!("no Slack channel {} in the sandbox workspace", req.chat)))?;
            let message = channel
                .messages
                .iter()
                .find(|m| m.ts == req.message)
                .ok_or_else(|| ApiError::not_found(format!("no message {} in channel {}", req.message, req.chat)))?;
            let card = message.blocks.as_ref().map(view::slack_card).unwrap_or_default();
            let button = pick(&card.buttons, &req)?;
            let bot = c.slack.bot_user_id(&c.slack_team_id);
            let user = req.user.clone().or_else(|| view::slack_chat(&channel, bot.as_deref()).default_actor).ok_or_else(no_one)?;
            let url = api.url("/im/slack/interactions");
            let value = button.value.as_str().unwrap_or_default();
            let action_id = button.action_id.clone().unwrap_or_default();
            let resp = c.slack.click_button(&url, &c.slack_team_id, &user, &channel.id, &message.ts, &action_id, value).await.map_err(slack_error)?;
            let (status, answer) = read(resp).await;
            delivered(&url, status, json!({"platform": "slack", "user": user, "button": button, "answer": answer}))
        }
        "feishu" => {
            let chat = c.feishu.chat(&req.chat).ok_or_else(|| ApiError::not_found(format!("no Feishu chat {} in the sandbox", req.chat)))?;
            let message = chat
                .messages
                .iter()
                .find(|m| m.message_id == req.message)
                .ok_or_else(|| ApiError::not_found(format!("no message {} in chat {}", req.message, req.chat)))?;
            let card = if message.msg_type == "interactive" { view::feishu_card(&message.content) } else { Default::default() };
            let button = pick(&card.buttons, &req)?;
            let user = req.user.clone().or_else(|| chat.members.first().cloned()).ok_or_else(no_one)?;
            if c.feishu.bot_open_id(&c.feishu_app_id).is_none() {
                return Err(ApiError::conflict("no_app", format!("the Feishu sandbox has no app {}", c.feishu_app_id)));
            }
            let url = api.url(&format!("/im/{}/cards", c.feishu_integration_id));
            let reply =
                c.feishu.click_card(&url, &c.feishu_app_id, &user, &message.message_id, button.value.clone()).await.map_err(|e| delivery_failed(&url, e))?;
            let answer = reply.json.clone().unwrap_or(Value::String(reply.body.clone()));
            let toast = answer.pointer("/toast/content").cloned().unwrap_or(Value::Null);
            let out = json!({"platform": "feishu", "user": user, "button": button, "answer": answer, "toast": toast, "card_replaced": reply.applied});
            delivered(&url, reply.status, out)
        }
        "dingtalk" => super::dingtalk::click(&c.dingtalk, &req).await,
        "wecom" => super::wecom::click(&api, &req).await,
        other => Err(unknown_platform(other)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FireRequest {
    title: Option<String>,
    severity: Option<String>,
    responders: Option<Value>,
}

/// `POST /api/fire` (body optional): a new generic incident, critical, with Ada and Bob as
/// responders and a war room asked for, posted with the demo intake key.
pub async fn fire(State(api): State<Api>, body: Bytes) -> Answer {
    let req: FireRequest = if body.iter().all(u8::is_ascii_whitespace) { FireRequest::default() } else { parse(&body)? };
    let n = api.fired.fetch_add(1, Ordering::Relaxed) + 1;
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
    let id = format!("sandbox-{ms}-{n}");
    let responders = req.responders.unwrap_or_else(|| json!([{"name": "Ada", "email": "ada@example.com"}, {"name": "Bob", "email": "bob@example.com"}]));
    let event = json!({
        "id": id,
        "title": req.title.unwrap_or_else(|| format!("Checkout API error rate above 5% (sample {n})")),
        "description": "5xx rate 7.2% over 10 minutes in eu-west-1 (fired from the sandbox view)",
        "severity": req.severity.unwrap_or_else(|| "critical".into()),
        "status": "triggered",
        "responders": responders,
        "labels": {"service": "checkout", "source": "sandbox"},
        "time": Timestamp(ms).to_rfc3339(),
        "war_room": true,
    });
    let url = api.url("/hooks/generic");
    let resp = api
        .http
        .post(&url)
        .header("authorization", format!("Bearer {}", api.ctx.intake_key))
        .header("content-type", "application/json")
        .body(event.to_string())
        .send()
        .await
        .map_err(|e| delivery_failed(&url, e))?;
    let (status, answer) = read(resp).await;
    let incident = answer.pointer("/results/0/incident_id").cloned().unwrap_or(Value::Null);
    delivered(&url, status, json!({"source_id": id, "incident_id": incident, "answer": answer}))
}

#[derive(Deserialize)]
pub struct SayRequest {
    pub(super) platform: String,
    pub(super) chat: String,
    pub(super) text: String,
    pub(super) user: Option<String>,
    /// @-mention the bot (Feishu: `mentions`; Slack: `<@bot>` and an `app_mention` event too).
    #[serde(default)]
    pub(super) mention: bool,
}

/// `POST /api/say`: a person writes in a chat; the message event goes to the bundle.
pub async fn say(State(api): State<Api>, body: Bytes) -> Answer {
    let req: SayRequest = parse(&body)?;
    if req.text.trim().is_empty() {
        return Err(ApiError::bad_request("text is empty"));
    }
    let c = &api.ctx;
    match req.platform.as_str() {
        "slack" => {
            let channel = c
                .slack
                .channel(&req.chat)
                .filter(|ch| ch.team_id == c.slack_team_id)
                .ok_or_else(|| ApiError::not_found(format!("no Slack channel {} in the sandbox workspace", req.chat)))?;
            let bot = c.slack.bot_user_id(&c.slack_team_id);
            let user = req.user.clone().or_else(|| view::slack_chat(&channel, bot.as_deref()).default_actor).ok_or_else(no_one)?;
            let text = match (&bot, req.mention) {
                (Some(bot), true) => format!("<@{bot}> {}", req.text),
                _ => req.text.clone(),
            };
            let url = api.url("/im/slack/events");
            let resp = c.slack.post_human_message(&url, &c.slack_team_id, &channel.id, &user, &text).await.map_err(slack_error)?;
            let (mut status, mut answer) = read(resp).await;
            if req.mention && (200..300).contains(&status) {
                // Slack sends both: message.channels and app_mention, for the same message.
                let ts = c
                    .slack
                    .channel(&channel.id)
                    .and_then(|ch| ch.messages.iter().rev().find(|m| m.user.as_deref() == Some(&user) && m.text == text).map(|m| m.ts.clone()));
                let event =
                    json!({"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": channel.id, "event_ts": ts, "team": c.slack_team_id});
                let resp = c.slack.send_event(&url, &c.slack_team_id, event).await.map_err(slack_error)?;
                (status, answer) = read(resp).await;
            }
            delivered(&url, status, json!({"platform": "slack", "user": user, "answer": answer}))
        }
        "feishu" => {
            let chat = c.feishu.chat(&req.chat).ok_or_else(|| ApiError::not_found(format!("no Feishu chat {} in the sandbox", req.chat)))?;
            let user = req.user.clone().or_else(|| chat.members.first().cloned()).ok_or_else(no_one)?;
            if c.feishu.bot_open_id(&c.feishu_app_id).is_none() {
                return Err(ApiError::conflict("no_app", format!("the Feishu sandbox has no app {}", c.feishu_app_id)));
            }
            let url = api.url(&format!("/im/{}/events", c.feishu_integration_id));
            let resp = c
                .feishu
                .send_message_event(&url, &c.feishu_app_id, &chat.chat_id, &user, &req.text, req.mention)
                .await
                .map_err(|e| delivery_failed(&url, e))?;
            let (status, answer) = read(resp).await;
            delivered(&url, status, json!({"platform": "feishu", "user": user, "answer": answer}))
        }
        "dingtalk" => super::dingtalk::say(&c.dingtalk, &req).await,
        "wecom" => super::wecom::say(&api, &req).await,
        other => Err(unknown_platform(other)),
    }
}

pub(super) fn pick(buttons: &[Button], req: &ClickRequest) -> Result<Button, ApiError> {
    let found = if let Some(id) = &req.action_id {
        buttons.iter().find(|b| b.action_id.as_ref() == Some(id))
    } else if let Some(action) = &req.action {
        buttons.iter().find(|b| &b.action == action)
    } else if let Some(value) = &req.value {
        buttons.iter().find(|b| &b.value == value)
    } else {
        return Err(ApiError::bad_request("say which button: action_id, action or value"));
    };
    found.cloned().ok_or_else(|| {
        let offered: Vec<&str> = buttons.iter().map(|b| b.action.as_str()).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_button",
            format!("the message has no such button (it offers: {})", if offered.is_empty() { "none".into() } else { offered.join(", ") }),
        )
    })
}

pub(super) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the body is not the expected JSON: {e}")))
}

pub(super) async fn read(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The sandbox delivered it; a bundle that refused it is a 502 naming what it answered.
pub(super) fn delivered(url: &str, status: u16, mut out: Value) -> Answer {
    if !(200..300).contains(&status) {
        let said = match out.get("answer") {
            Some(Value::String(s)) => s.chars().take(300).collect(),
            Some(v) => v.pointer("/error/message").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| v.to_string().chars().take(300).collect()),
            None => String::new(),
        };
        return Err(ApiError::new(StatusCode::BAD_GATEWAY, "bundle_refused", format!("{url} answered {status}: {said}")));
    }
    out["delivered_to"] = json!(url);
    out["status"] = json!(status);
    Ok(Json(out))
}

pub(super) fn delivery_failed(url: &str, e: reqwest::Error) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, "delivery_failed", format!("could not reach {url}: {e}"))
}

fn slack_error(e: CallbackError) -> ApiError {
    match e {
        CallbackError::Http(e) => ApiError::new(StatusCode::BAD_GATEWAY, "delivery_failed", format!("could not reach the bundle: {e}")),
        CallbackError::Archived(_) => ApiError::conflict("archived", e.to_string()),
        other => ApiError::not_found(other.to_string()),
    }
}

pub(super) fn no_one() -> ApiError {
    ApiError::conflict("no_one_to_act", "the chat has no person in it; say who with \"user\"")
}

fn unknown_platform(p: &str) -> ApiError {
    ApiError::bad_request(format!("unknown platform {p:?}; use slack, feishu, dingtalk or wecom"))
}
