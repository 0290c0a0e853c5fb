//! DingTalk on the sandbox page: the demo app's scene groups read back into the page's neutral
//! shape, and what a person does there (click a card button, @-mention the robot) sent by the
//! DingTalk sandbox to the bundle exactly as DingTalk would (HMAC-signed card callback to the
//! registered route, signed robot message).
//!
//! The status card is a card-platform card whose `cardParamMap` carries the neutral keys the
//! adapter writes (`title`, `status`, `severity`, `markdown`, `incident_id`) and the shared
//! template's `sys_full_json_obj` with its `msgButtons` (see `warroom_platforms::dingtalk`'s
//! `card.rs`). Notices (`kind = notice`) and the assistant's streamed AI cards (`kind =
//! answer`) are shown as the robot's text.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use warroom_http::ApiError;
use warroom_sandbox::dingtalk::{CardView as DingCard, DingTalkSandbox, GroupView, MessageView as DingMessage};

use super::api::{delivered, no_one, pick, Answer, ClickRequest, SayRequest};
use super::view::{Button, CardView, Chat, Link, Message, Workspace};

pub fn workspace(sb: &DingTalkSandbox, client_id: &str) -> Workspace {
    let chats = sb.groups().iter().filter(|g| g.app == client_id).map(chat).collect();
    Workspace { platform: "dingtalk", id: client_id.to_string(), bot: None, chats }
}

fn chat(g: &GroupView) -> Chat {
    // Messages and cards, in the order they arrived.
    let mut items: Vec<(u64, Message)> = g.messages.iter().map(|m| (m.at_ms, message(m))).collect();
    items.extend(g.cards.iter().map(|c| (c.created_at_ms, card_message(c, &g.robot_code))));
    items.sort_by_key(|(at, _)| *at);
    Chat {
        id: g.open_conversation_id.clone(),
        name: g.title.clone(),
        topic: String::new(),
        private: true,
        closed: g.disbanded.then_some("disbanded"),
        members: g.members.clone(),
        bots: vec![g.robot_code.clone()],
        default_actor: g.members.iter().find(|m| **m != g.owner).or(g.members.first()).cloned(),
        messages: items.into_iter().map(|(_, m)| m).collect(),
    }
}

fn message(m: &DingMessage) -> Message {
    Message { id: m.id.clone(), author: m.sender.clone(), from_bot: m.from_robot, text: m.text.clone(), edited: false, thread: None, card: None }
}

fn card_message(c: &DingCard, robot: &str) -> Message {
    let data = &c.card_data;
    // Notices and the assistant's AI cards (their answer streamed into `msgContent`) read
    // as the robot's text; the rest are status cards.
    let kind = data.get("kind").map(String::as_str);
    let notice = matches!(kind, Some("notice" | "answer"));
    let text = match kind {
        Some("notice") => data.get("markdown").cloned().unwrap_or_default().replace("**", ""),
        Some("answer") => data.get("msgContent").cloned().unwrap_or_default(),
        _ => String::new(),
    };
    Message {
        id: c.out_track_id.clone(),
        author: robot.to_string(),
        from_bot: true,
        text,
        edited: c.updated_count > 0,
        thread: None,
        card: (!notice).then(|| card(data)),
    }
}

/// `cardParamMap` → card: the status line and `**Label**  \nvalue` paragraphs of `markdown`
/// become the facts, `msgButtons` the buttons (an `id` calls back, a `url` opens).
pub fn card(data: &BTreeMap<String, String>) -> CardView {
    let get = |k: &str| data.get(k).cloned().unwrap_or_default();
    let mut card = CardView {
        title: data.get("title").or(data.get("msgTitle")).cloned().unwrap_or_default(),
        status: data.get("status").map(|s| s.to_lowercase()),
        severity: data.get("severity").map(|s| s.to_lowercase()),
        incident_id: data.get("incident_id").cloned().filter(|s| !s.is_empty()),
        ..Default::default()
    };
    for paragraph in get("markdown").split("\n\n") {
        if paragraph.starts_with("**Status:**") {
            continue;
        }
        if let Some((label, value)) = paragraph.strip_prefix("**").and_then(|p| p.split_once("**  \n")) {
            card.fields.push(super::view::Field { label: unescape(label), value: unescape(value) });
        } else if paragraph.starts_with("Incident ") {
            card.note = Some(paragraph.to_string());
        } else if !paragraph.trim().is_empty() {
            card.fields.push(super::view::Field { label: String::new(), value: unescape(paragraph.trim_start_matches("**").replace(":**", ":").as_str()) });
        }
    }
    let layout: Value = serde_json::from_str(&get("sys_full_json_obj")).unwrap_or(Value::Null);
    for b in layout["msgButtons"].as_array().into_iter().flatten() {
        let label = b["text"].as_str().unwrap_or_default().to_string();
        if let Some(url) = b["url"].as_str() {
            card.links.push(Link { label, url: url.to_string() });
        } else if let Some(id) = b["id"].as_str() {
            let action = id.split_once('|').map_or(id, |(a, _)| a).to_string();
            let style = if action == "resolve" { "primary" } else { "default" }.to_string();
            card.buttons.push(Button { label, action, style, action_id: None, value: Value::String(id.to_string()) });
        }
    }
    card
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn group(sb: &DingTalkSandbox, id: &str) -> Result<GroupView, ApiError> {
    sb.group(id).ok_or_else(|| ApiError::not_found(format!("no DingTalk group {id} in the sandbox")))
}

fn delivery_url(sb: &DingTalkSandbox) -> String {
    sb.last_delivery().map(|d| d.url).unwrap_or_default()
}

fn refused(e: impl std::fmt::Display) -> ApiError {
    ApiError::conflict("not_delivered", e.to_string())
}

/// The button's own id goes back in `cardPrivateData.actionIds`, as DingTalk sends it.
pub async fn click(sb: &DingTalkSandbox, req: &ClickRequest) -> Answer {
    let g = group(sb, &req.chat)?;
    let c =
        g.cards.iter().find(|c| c.out_track_id == req.message).ok_or_else(|| ApiError::not_found(format!("no card {} in group {}", req.message, req.chat)))?;
    let button = pick(&card(&c.card_data).buttons, req)?;
    let user = req.user.clone().or_else(|| chat(&g).default_actor).ok_or_else(no_one)?;
    let id = button.value.as_str().unwrap_or_default().to_string();
    let reply = sb.click_card(&c.out_track_id, &user, &id, json!({})).await.map_err(refused)?;
    let answer = reply.json.clone().unwrap_or(Value::String(reply.body.clone()));
    let toast = answer.pointer("/userPrivateData/cardParamMap/notice").cloned().unwrap_or(Value::Null);
    let out = json!({"platform": "dingtalk", "user": user, "button": button, "answer": answer, "toast": toast, "card_replaced": reply.applied});
    delivered(&delivery_url(sb), reply.status, out)
}

/// A scene group's robot receives only messages that @-mention it (dingtalk.md §2b).
pub async fn say(sb: &DingTalkSandbox, req: &SayRequest) -> Answer {
    let g = group(sb, &req.chat)?;
    if !req.mention {
        return Err(ApiError::bad_request("a DingTalk group robot receives only messages that @mention it: tick @bot"));
    }
    let user = req.user.clone().or_else(|| chat(&g).default_actor).ok_or_else(no_one)?;
    let resp = sb.mention_robot(&g.open_conversation_id, &user, &req.text).await.map_err(refused)?;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let answer = serde_json::from_str(&text).unwrap_or(Value::String(text));
    delivered(&delivery_url(sb), status, json!({"platform": "dingtalk", "user": user, "answer": answer}))
}
