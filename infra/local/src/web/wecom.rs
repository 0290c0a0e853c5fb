//! WeCom on the sandbox page: the demo corp's app groups, and the template card each member
//! got from the app 1:1 (app groups take no buttons, so that is where the buttons are),
//! shown in the group it belongs to. A click is sent by the WeCom sandbox to the bundle as
//! WeCom sends it (an encrypted, signed `template_card_event` with a fresh ResponseCode); an
//! @mention of the smart bot likewise (encrypted JSON).

use serde_json::{json, Value};
use warroom_http::ApiError;
use warroom_sandbox::wecom::{CardView as WeCard, ChatView, MessageView as WeMessage, Sender, WeComSandbox};

use super::api::{delivered, no_one, pick, Answer, Api, ClickRequest, SayRequest};
use super::view::{Button, CardView, Chat, Field, Link, Message, Workspace};
use crate::sandboxes::{WECOM_AGENT_ID, WECOM_CORP_ID, WECOM_OWNER};

pub fn workspace(sb: &WeComSandbox) -> Workspace {
    let cards = sb.view().cards;
    let chats = sb.chats().iter().map(|c| chat(c, &cards)).collect();
    Workspace { platform: "wecom", id: WECOM_CORP_ID.to_string(), bot: None, chats }
}

/// The incident ids a group's status messages name (`Incident inc_…`, see the adapter's
/// `card.rs`).
fn incidents_of(c: &ChatView) -> Vec<String> {
    let mut ids: Vec<String> = c
        .messages
        .iter()
        .flat_map(|m| m.text.lines().filter_map(|l| l.strip_prefix("Incident ")).map(|id| id.trim().to_string()).collect::<Vec<_>>())
        .collect();
    ids.dedup();
    ids
}

/// The newest card of each incident of the group, as the first member (not the owner) holds it.
fn cards_for<'a>(c: &ChatView, cards: &'a [WeCard]) -> Vec<&'a WeCard> {
    let viewer = c.members.iter().find(|m| *m != WECOM_OWNER).or(c.members.first());
    let mut out = Vec::new();
    for incident in incidents_of(c) {
        // A live card names the incident in its button keys; a closed one (a notice card, no
        // buttons) in its subtitle.
        let names = |k: &&WeCard| {
            let card = k.card.to_string();
            card.contains(&format!("|{incident}\"")) || card.contains(&format!("Incident {incident}\""))
        };
        let mine = cards.iter().filter(|k| Some(&k.userid) == viewer).filter(names);
        if let Some(newest) = mine.max_by_key(|k| k.at_ms) {
            out.push(newest);
        }
    }
    out
}

fn chat(c: &ChatView, cards: &[WeCard]) -> Chat {
    let mut items: Vec<(u64, Message)> = c.messages.iter().map(|m| (m.at_ms, message(m))).collect();
    items.extend(cards_for(c, cards).into_iter().map(|k| (k.at_ms, card_message(k))));
    items.sort_by_key(|(at, _)| *at);
    Chat {
        id: c.chatid.clone(),
        name: c.name.clone(),
        topic: String::new(),
        private: true,
        closed: c.name.starts_with("[Closed] ").then_some("closed"),
        members: c.members.clone(),
        bots: vec![],
        default_actor: c.members.iter().find(|m| *m != WECOM_OWNER).or(c.members.first()).cloned(),
        messages: items.into_iter().map(|(_, m)| m).collect(),
    }
}

fn message(m: &WeMessage) -> Message {
    let (author, from_bot) = match &m.sender {
        Sender::App(agent) => (format!("app {agent}"), true),
        Sender::Bot(bot) => (bot.clone(), true),
        Sender::User(user) => (user.clone(), false),
    };
    // The page shows text: markdown's bold and quote marks are dropped.
    let text = if m.msgtype == "markdown" {
        m.text.replace("**", "").lines().map(|l| l.trim_start_matches("> ")).collect::<Vec<_>>().join("\n")
    } else {
        m.text.clone()
    };
    Message { id: m.id.clone(), author, from_bot, text, edited: m.updates > 0, thread: None, card: None }
}

/// A template card → the page's card: its title, facts and buttons (keys `action|incident`).
fn card_message(k: &WeCard) -> Message {
    let card = &k.card;
    let text_of = |p: &str| card.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut view = CardView { title: text_of("/main_title/title"), ..Default::default() };
    for fact in card["horizontal_content_list"].as_array().into_iter().flatten() {
        let (label, value) = (fact["keyname"].as_str().unwrap_or_default(), fact["value"].as_str().unwrap_or_default());
        if label == "Status" {
            view.status = Some(value.split(" (").next().unwrap_or(value).to_lowercase());
        } else {
            view.fields.push(Field { label: label.to_string(), value: value.to_string() });
        }
    }
    view.severity = text_of("/main_title/desc").split(" · ").next().map(str::to_lowercase).filter(|s| !s.is_empty());
    for b in card["button_list"].as_array().into_iter().flatten().filter(|_| k.replace_name.is_none()) {
        let key = b["key"].as_str().unwrap_or_default();
        let (action, incident) = key.split_once('|').unwrap_or((key, ""));
        view.incident_id.get_or_insert_with(|| incident.to_string());
        let style = if b["style"] == 1 { "primary" } else { "default" }.to_string();
        view.buttons.push(Button {
            label: b["text"].as_str().unwrap_or_default().to_string(),
            action: action.to_string(),
            style,
            action_id: None,
            value: json!(key),
        });
    }
    if let Some(url) = card.pointer("/card_action/url").and_then(Value::as_str) {
        view.links.push(Link { label: "Open incident".into(), url: url.to_string() });
    }
    view.note = Some(format!("{} · sent 1:1 by the app to each member; shown as {} holds it", text_of("/sub_title_text"), k.userid));
    Message {
        id: k.task_id.clone(),
        author: format!("app {}", k.agent_id),
        from_bot: true,
        text: String::new(),
        edited: !k.updates.is_empty(),
        thread: None,
        card: Some(view),
    }
}

fn events_url(sb: &WeComSandbox) -> Result<String, ApiError> {
    sb.view()
        .apps
        .into_iter()
        .find(|a| a.agent_id == WECOM_AGENT_ID)
        .and_then(|a| a.callback_url)
        .ok_or_else(|| ApiError::conflict("not_connected", "the WeCom demo app is not connected (see warroom-local's start-up lines)"))
}

/// The clicker's own card of that task is clicked (each member has their own copy).
pub async fn click(api: &Api, req: &ClickRequest) -> Answer {
    let sb = &api.ctx.wecom;
    let c = sb.chat(&req.chat).ok_or_else(|| ApiError::not_found(format!("no WeCom group {} in the sandbox", req.chat)))?;
    let cards = sb.view().cards;
    let shown = cards_for(&c, &cards)
        .into_iter()
        .find(|k| k.task_id == req.message)
        .ok_or_else(|| ApiError::not_found(format!("no card {} in group {}", req.message, req.chat)))?;
    let button = pick(&card_message(shown).card.unwrap_or_default().buttons, req)?;
    let user = req.user.clone().or_else(|| chat(&c, &cards).default_actor).ok_or_else(no_one)?;
    let url = events_url(sb)?;
    let key = button.value.as_str().unwrap_or_default().to_string();
    let reply = sb.click_card(&url, WECOM_AGENT_ID, &user, &shown.task_id, &key).await.map_err(|e| ApiError::conflict("not_delivered", e.to_string()))?;
    delivered(&url, reply.passive.status, json!({"platform": "wecom", "user": user, "button": button, "answer": reply.passive.body}))
}

/// The smart bot is sent only @mentions in groups (notes Q1).
pub async fn say(api: &Api, req: &SayRequest) -> Answer {
    let sb = &api.ctx.wecom;
    let c = sb.chat(&req.chat).ok_or_else(|| ApiError::not_found(format!("no WeCom group {} in the sandbox", req.chat)))?;
    if !req.mention {
        return Err(ApiError::bad_request("WeCom's smart bot receives only messages that @mention it: tick @bot"));
    }
    let user = req.user.clone().or_else(|| chat(&c, &[]).default_actor).ok_or_else(no_one)?;
    let url = events_url(sb)?;
    let said = sb.mention_bot(&url, WECOM_AGENT_ID, &c.chatid, &user, &req.text).await.map_err(|e| ApiError::conflict("not_delivered", e.to_string()))?;
    delivered(&url, said.passive.status, json!({"platform": "wecom", "user": user, "answer": said.passive.body}))
}
