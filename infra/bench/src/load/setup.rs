//! War rooms for the load to talk into, made the way a deployment makes them: incidents
//! fired at `POST /hooks/generic` with the demo intake key, Ada, Bob and Cy as
//! responders. The demo has war rooms on Slack; after the Slack rooms are open, war rooms
//! are switched to Feishu through the management API (one integration per tenant has
//! them) and the Feishu rooms are fired, then likewise to the demo DingTalk app ("DingTalk
//! (sandbox)", connected at start but without war rooms) for the DingTalk rooms, and last to
//! the demo WeCom app ("WeCom (sandbox)", likewise) for the WeCom rooms. Open rooms stay
//! where they were opened.
//!
//! Each room's chat, its card's message id and the card's own button values are read
//! back from the sandbox view (`GET /sandbox/api/state`), as a person would see them; the
//! three responders are linked by the room's creation (looked up by email, on DingTalk by
//! the members' phones), so their clicks are a member's clicks. A DingTalk room's chat is
//! the scene group's openConversationId, its card id the card's `outTrackId`, its buttons'
//! values the button ids (`ack|inc_…`) the card callback carries back. A WeCom room's chat is
//! the app group's chatid, its card id the `task_id` of the template card each member got
//! 1:1 (the view shows the responders' copy in the group), its buttons' values the event
//! keys (`ack|inc_…`) a click carries back.

use super::stack::LocalStack;
use super::{Config, LoadError, Platform};
use reqwest::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use warroom_core::{Clock, SystemClock};
use warroom_local::sandboxes::PEOPLE;

/// Slack opens 20 channels at once and one every 3 s after (Tier 2), plus the invites.
const OPEN_LIMIT: Duration = Duration::from_secs(180);

/// A war room as the load addresses it.
#[derive(Clone, Debug)]
pub struct Room {
    pub incident_id: String,
    pub chat_id: String,
    /// Slack: the channel is private (`channel_type: group`).
    pub private: bool,
    /// Slack `ts` / Feishu `message_id` / DingTalk `outTrackId` / WeCom `task_id` of the
    /// status card.
    pub card_id: String,
    /// The card's Acknowledge and Resolve buttons, as the card carries them.
    pub ack: Button,
    pub resolve: Button,
    /// The people in the chat (linked members), who write and click.
    pub people: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Button {
    /// Slack only.
    pub action_id: String,
    pub label: String,
    /// Slack: the string value; Feishu: the value object; DingTalk: the button id string;
    /// WeCom: the event key string.
    pub value: Value,
}

/// The Slack and Feishu rooms with what the bench needs to sign their callbacks: the shape
/// [`super::callbacks::build`] takes, shared with the Lambda bench (`crate::lambda`).
#[derive(Clone, Debug)]
pub struct Rooms {
    pub slack: Vec<Room>,
    pub feishu: Vec<Room>,
    pub slack_bot: String,
    pub feishu_bot: String,
    pub feishu_integration: String,
}

/// Every room the load talks into. DingTalk's and WeCom's stand beside [`Rooms`] rather
/// than in it: their callbacks are sent by the sandboxes, so they need nothing signed, and
/// `Rooms` keeps the shape the Lambda bench builds by hand.
#[derive(Clone, Debug)]
pub struct WarRooms {
    pub rooms: Rooms,
    pub dingtalk: Vec<Room>,
    pub wecom: Vec<Room>,
}

impl WarRooms {
    pub fn of(&self, platform: Platform) -> &[Room] {
        match platform {
            Platform::Slack => &self.rooms.slack,
            Platform::Feishu => &self.rooms.feishu,
            Platform::DingTalk => &self.dingtalk,
            Platform::WeCom => &self.wecom,
        }
    }
}

fn fail(m: impl Into<String>) -> LoadError {
    LoadError::Setup(m.into())
}

async fn call(http: &Client, method: reqwest::Method, url: String, key: &str, body: Option<Value>) -> Result<(u16, Value), LoadError> {
    let mut request = http.request(method.clone(), &url).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let resp = request.send().await.map_err(|e| fail(format!("{method} {url}: {}", e.without_url())))?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

pub async fn prepare(http: &Client, stack: &LocalStack, config: &Config) -> Result<WarRooms, LoadError> {
    let (base, admin) = (stack.url(), stack.keys().admin_key.as_str());
    let (status, list) = call(http, reqwest::Method::GET, format!("{base}/api/v1/integrations"), admin, None).await?;
    let integration = |platform: &str| {
        list["integrations"].as_array().into_iter().flatten().find(|i| i["platform"] == platform).and_then(|i| i["id"].as_str()).map(str::to_string)
    };
    let (Some(slack), Some(feishu), Some(dingtalk), Some(wecom)) = (integration("slack"), integration("feishu"), integration("dingtalk"), integration("wecom"))
    else {
        return Err(fail(format!("the demo integrations are missing ({status}): {list}")));
    };

    let slack_incidents = fire_and_wait(http, stack, "slack", config.rooms).await?;
    move_war_rooms(http, stack, &slack, &feishu, "Feishu").await?;
    let feishu_incidents = fire_and_wait(http, stack, "feishu", config.rooms).await?;
    move_war_rooms(http, stack, &feishu, &dingtalk, "DingTalk").await?;
    let dingtalk_incidents = fire_and_wait(http, stack, "dingtalk", config.rooms).await?;
    move_war_rooms(http, stack, &dingtalk, &wecom, "WeCom").await?;
    let wecom_incidents = fire_and_wait(http, stack, "wecom", config.rooms).await?;

    let (status, state) = call(http, reqwest::Method::GET, format!("{base}/sandbox/api/state"), admin, None).await?;
    if status != 200 {
        return Err(fail(format!("the sandbox view answered {status}")));
    }
    let bot = |p: &str| state[p]["bot"].as_str().map(str::to_string).ok_or_else(|| fail(format!("the sandbox view names no {p} bot")));
    let rooms = Rooms {
        slack: rooms_of(&state["slack"], &slack_incidents)?,
        feishu: rooms_of(&state["feishu"], &feishu_incidents)?,
        slack_bot: bot("slack")?,
        feishu_bot: bot("feishu")?,
        feishu_integration: feishu,
    };
    // No DingTalk or WeCom bot id is needed: the sandboxes write the @-mention themselves.
    Ok(WarRooms { rooms, dingtalk: rooms_of(&state["dingtalk"], &dingtalk_incidents)?, wecom: rooms_of(&state["wecom"], &wecom_incidents)? })
}

/// Takes war rooms from one integration and gives them to another, as an admin does (one
/// integration per tenant has them).
async fn move_war_rooms(http: &Client, stack: &LocalStack, from: &str, to: &str, to_name: &str) -> Result<(), LoadError> {
    let (base, admin) = (stack.url(), stack.keys().admin_key.as_str());
    let (s1, _) = call(http, reqwest::Method::DELETE, format!("{base}/api/v1/integrations/{from}/war-room"), admin, None).await?;
    let (s2, answer) = call(http, reqwest::Method::POST, format!("{base}/api/v1/integrations/{to}/war-room"), admin, None).await?;
    if !(200..300).contains(&s1) || !(200..300).contains(&s2) {
        return Err(fail(format!("switching war rooms to {to_name}: {s1}, then {s2} {answer}")));
    }
    Ok(())
}

/// Fires `n` critical incidents (all three people responding) and waits for every room to
/// be open, with its card and all three invited. Returns the war-room views.
async fn fire_and_wait(http: &Client, stack: &LocalStack, platform: &str, n: usize) -> Result<Vec<Value>, LoadError> {
    let (base, keys) = (stack.url(), stack.keys());
    let responders: Vec<Value> = PEOPLE.iter().map(|p| json!({"name": p.name, "email": p.email})).collect();
    let mut fired = Vec::new();
    for i in 0..n {
        let event = json!({
            "id": format!("load-{platform}-{i}"),
            "title": format!("Checkout error rate above 5% in cell {platform}-{i}"),
            "description": "fired by the callback load bench",
            "severity": "critical", "status": "triggered", "war_room": true,
            "time": SystemClock.now().to_rfc3339(),
            "responders": responders,
            "labels": {"service": "checkout", "source": "bench"},
        });
        let (status, answer) = call(http, reqwest::Method::POST, format!("{base}/hooks/generic"), &keys.intake_key, Some(event)).await?;
        let id = answer.pointer("/results/0/incident_id").and_then(Value::as_str);
        match (status, id) {
            (202, Some(id)) => fired.push(id.to_string()),
            _ => return Err(fail(format!("POST /hooks/generic answered {status}: {answer}"))),
        }
    }
    let deadline = Instant::now() + OPEN_LIMIT;
    let mut rooms = Vec::new();
    for id in fired {
        loop {
            let (_, room) = call(http, reqwest::Method::GET, format!("{base}/api/v1/incidents/{id}/war-room"), &keys.admin_key, None).await?;
            let invited = room["invited"].as_array().map_or(0, Vec::len);
            if room["state"] == "open" && room["card"]["message_id"].is_string() && invited >= PEOPLE.len() {
                rooms.push(room);
                break;
            }
            if Instant::now() > deadline {
                return Err(fail(format!("the {platform} war room of {id} did not open with its card and {} people in {OPEN_LIMIT:?}: {room}", PEOPLE.len())));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(rooms)
}

/// Each war room's chat, card and buttons, from the sandbox view of one platform.
fn rooms_of(workspace: &Value, views: &[Value]) -> Result<Vec<Room>, LoadError> {
    let chats = workspace["chats"].as_array().ok_or_else(|| fail("the sandbox view has no chats"))?;
    views
        .iter()
        .map(|view| {
            let incident_id = view["incident_id"].as_str().unwrap_or_default().to_string();
            let chat_id = view["chat_id"].as_str().unwrap_or_default().to_string();
            let card_id = view["card"]["message_id"].as_str().unwrap_or_default().to_string();
            let chat = chats.iter().find(|c| c["id"] == chat_id.as_str()).ok_or_else(|| fail(format!("chat {chat_id} is not in the sandbox")))?;
            let card = chat["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["id"] == card_id.as_str())
                .and_then(|m| m.get("card"))
                .ok_or_else(|| fail(format!("the card {card_id} is not in chat {chat_id}")))?;
            let button = |action: &str| {
                card["buttons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|b| b["action"] == action)
                    .map(|b| Button {
                        action_id: b["action_id"].as_str().unwrap_or_default().to_string(),
                        label: b["label"].as_str().unwrap_or_default().to_string(),
                        value: b["value"].clone(),
                    })
                    .ok_or_else(|| fail(format!("the card {card_id} has no {action} button: {card}")))
            };
            let people: Vec<String> = view["invited"].as_array().into_iter().flatten().filter_map(|u| u.as_str().map(str::to_string)).collect();
            Ok(Room {
                incident_id,
                private: chat["private"].as_bool().unwrap_or(true),
                ack: button("ack")?,
                resolve: button("resolve")?,
                chat_id,
                card_id,
                people,
            })
        })
        .collect()
}
