//! What the page shows, as JSON: both sandboxes' chats and messages, with the bot's cards
//! read back into one neutral shape (title, status, severity, fields, buttons, links) from
//! Block Kit (Slack) or a JSON 1.0 message card (Feishu). The page renders that shape with
//! `textContent` only; every string here is plain text (mrkdwn / lark_md entities decoded).

use serde::Serialize;
use serde_json::Value;
use warroom_sandbox::feishu::{ChatView, FeishuSandbox, MessageView as FeishuMessage};
use warroom_sandbox::slack::{ChannelView, MessageView as SlackMessage, SlackSandbox};

#[derive(Debug, Serialize)]
pub struct Workspace {
    pub platform: &'static str,
    /// Slack team id / Feishu app id.
    pub id: String,
    /// The bot's user id in this workspace (Slack) or the app's bot `open_id` (Feishu).
    pub bot: Option<String>,
    pub chats: Vec<Chat>,
}

#[derive(Debug, Serialize)]
pub struct Chat {
    pub id: String,
    pub name: String,
    pub topic: String,
    pub private: bool,
    /// `archived` (Slack) or `disbanded` (Feishu); absent while the chat is open.
    pub closed: Option<&'static str>,
    /// People (Slack: user ids, the bot included; Feishu: open_ids).
    pub members: Vec<String>,
    /// Feishu bots in the chat (app ids); Slack lists its bot among `members`.
    pub bots: Vec<String>,
    /// Who clicks and writes when the page does not say: the first member who is not a bot.
    pub default_actor: Option<String>,
    pub messages: Vec<Message>,
}

#[derive(Debug, Serialize)]
pub struct Message {
    /// Slack `ts` / Feishu `message_id`.
    pub id: String,
    pub author: String,
    pub from_bot: bool,
    pub text: String,
    pub edited: bool,
    pub thread: Option<String>,
    pub card: Option<CardView>,
}

#[derive(Debug, Default, PartialEq, Serialize)]
pub struct CardView {
    /// Read from the buttons' values, or the footnote (`Incident inc_…`).
    pub incident_id: Option<String>,
    pub title: String,
    /// Lower case (`triggered`, `acknowledged`, …), whichever way the platform card spells it.
    pub status: Option<String>,
    pub severity: Option<String>,
    /// Feishu header colour (`red`, `yellow`, `green`, …).
    pub color: Option<String>,
    pub fields: Vec<Field>,
    pub buttons: Vec<Button>,
    pub links: Vec<Link>,
    pub note: Option<String>,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct Field {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    pub label: String,
    /// Warroom's action (`ack`, `resolve`, `snooze:30`), read from the action id or value.
    pub action: String,
    /// `primary`, `danger` or `default`.
    pub style: String,
    /// Slack only.
    pub action_id: Option<String>,
    /// Slack: the string value; Feishu: the value object. Sent back as is on a click.
    pub value: Value,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

pub fn slack_workspace(sb: &SlackSandbox, team_id: &str) -> Workspace {
    let bot = sb.bot_user_id(team_id);
    let chats = sb.channels(team_id).iter().map(|c| slack_chat(c, bot.as_deref())).collect();
    Workspace { platform: "slack", id: team_id.to_string(), bot, chats }
}

pub fn feishu_workspace(sb: &FeishuSandbox, app_id: &str) -> Workspace {
    let chats = sb.chats().iter().map(feishu_chat).collect();
    Workspace { platform: "feishu", id: app_id.to_string(), bot: sb.bot_open_id(app_id), chats }
}

pub fn slack_chat(c: &ChannelView, bot_user: Option<&str>) -> Chat {
    let default_actor = c.members.iter().find(|m| Some(m.as_str()) != bot_user).cloned();
    Chat {
        id: c.id.clone(),
        name: c.name.clone(),
        topic: c.topic.clone(),
        private: c.is_private,
        closed: c.is_archived.then_some("archived"),
        members: c.members.clone(),
        bots: Vec::new(),
        default_actor,
        messages: c.messages.iter().map(slack_message).collect(),
    }
}

fn slack_message(m: &SlackMessage) -> Message {
    // A card has a header or buttons; a notice's lone section (its key's block id) is text.
    let is_card = |b: &&Value| b.as_array().is_some_and(|a| a.iter().any(|b| matches!(b["type"].as_str(), Some("header" | "actions"))));
    let card = m.blocks.as_ref().filter(is_card).map(slack_card);
    Message {
        id: m.ts.clone(),
        author: m.user.clone().or_else(|| m.bot_id.clone()).unwrap_or_default(),
        from_bot: m.bot_id.is_some(),
        text: unescape(&m.text),
        edited: m.edited,
        thread: m.thread_ts.clone().filter(|t| *t != m.ts),
        card,
    }
}

pub fn feishu_chat(c: &ChatView) -> Chat {
    Chat {
        id: c.chat_id.clone(),
        name: c.name.clone(),
        topic: c.description.clone(),
        private: c.chat_type == "private",
        closed: c.disbanded.then_some("disbanded"),
        members: c.members.clone(),
        bots: c.bots.clone(),
        default_actor: c.members.first().cloned(),
        messages: c.messages.iter().map(feishu_message).collect(),
    }
}

fn feishu_message(m: &FeishuMessage) -> Message {
    let (text, card) = match m.msg_type.as_str() {
        "interactive" if is_answer_card(&m.content) => (answer_text(&m.content), None),
        "interactive" => (String::new(), Some(feishu_card(&m.content))),
        "text" => (m.content.get("text").and_then(Value::as_str).unwrap_or_default().to_string(), None),
        other => (format!("[{other}] {}", m.content), None),
    };
    Message { id: m.message_id.clone(), author: m.sender.clone(), from_bot: m.sender_type == "app", text, edited: m.updated_count > 0, thread: None, card }
}

/// The assistant's answer: a card with no header and only markdown blocks, shown as text —
/// a JSON 1.0 card of `lark_md` divs (an edited answer) or a JSON 2.0 CardKit card of
/// `markdown` elements (a streamed one).
fn is_answer_card(content: &Value) -> bool {
    let v1 = content["elements"]
        .as_array()
        .is_some_and(|e| !e.is_empty() && e.iter().all(|el| el["tag"] == "div" && el.pointer("/text/tag") == Some(&Value::from("lark_md"))));
    let v2 = content.pointer("/body/elements").and_then(Value::as_array).is_some_and(|e| !e.is_empty() && e.iter().all(|el| el["tag"] == "markdown"));
    content.get("header").is_none() && (v1 || v2)
}

fn answer_text(content: &Value) -> String {
    let v1 = content["elements"].as_array().into_iter().flatten().map(|el| unescape(&str_at(el, "/text/content")));
    let v2 = content.pointer("/body/elements").and_then(Value::as_array).into_iter().flatten().map(|el| str_at(el, "/content"));
    v1.chain(v2).collect::<Vec<String>>().join("\n")
}

/// Block Kit → card: header → title; section fields / texts `*Label*\nvalue` → facts
/// (Status and Severity taken out); actions → buttons (or links for `url` buttons);
/// context → note, its `<url|label>` links listed.
pub fn slack_card(blocks: &Value) -> CardView {
    let mut card = CardView::default();
    for block in blocks.as_array().into_iter().flatten() {
        match block["type"].as_str().unwrap_or("") {
            "header" => card.title = str_at(block, "/text/text"),
            "section" => {
                for f in block["fields"].as_array().into_iter().flatten() {
                    card.add_fact(&str_at(f, "/text"), "*");
                }
                if block["text"].is_object() {
                    card.add_fact(&str_at(block, "/text/text"), "*");
                }
            }
            "actions" => {
                for el in block["elements"].as_array().into_iter().flatten().filter(|e| e["type"] == "button") {
                    let label = str_at(el, "/text/text");
                    if let Some(url) = el["url"].as_str() {
                        card.links.push(Link { label, url: url.to_string() });
                        continue;
                    }
                    let action_id = el["action_id"].as_str().unwrap_or_default().to_string();
                    let value = el["value"].as_str().unwrap_or_default().to_string();
                    let action = match action_id.strip_prefix("warroom.") {
                        Some(a) => a.to_string(),
                        None => value.rsplit_once('|').map(|(_, a)| a.to_string()).unwrap_or_else(|| action_id.clone()),
                    };
                    let style = el["style"].as_str().unwrap_or("default").to_string();
                    card.buttons.push(Button { label, action, style, action_id: Some(action_id), value: Value::String(value) });
                }
            }
            "context" => {
                let texts: Vec<String> = block["elements"].as_array().into_iter().flatten().map(|e| str_at(e, "/text")).collect();
                let (note, links) = slack_links(&texts.join(" "));
                card.links.extend(links);
                card.note = Some(note.replace('`', "")).filter(|n| !n.trim().is_empty());
            }
            _ => {}
        }
    }
    let from_value = card.buttons.iter().find_map(|b| b.value.as_str().and_then(|v| v.rsplit_once('|')).map(|(id, _)| id.to_string()));
    card.incident_id = from_value.or_else(|| card.note_incident());
    card
}

/// Feishu JSON 1.0 card (2.0's `body.elements` read too) → card.
pub fn feishu_card(content: &Value) -> CardView {
    let mut card = CardView { title: str_at(content, "/header/title/content"), ..Default::default() };
    card.color = content.pointer("/header/template").and_then(Value::as_str).map(str::to_string);
    let elements = content["elements"].as_array().or_else(|| content.pointer("/body/elements").and_then(Value::as_array));
    for el in elements.into_iter().flatten() {
        match el["tag"].as_str().unwrap_or("") {
            "div" | "markdown" => {
                let text = el.pointer("/text/content").or_else(|| el.get("content")).and_then(Value::as_str).unwrap_or_default();
                if text.starts_with("**") && text.contains(":** ") {
                    // The status line: `**Status:** triggered · **Severity:** Critical`.
                    for part in text.split(" · ") {
                        let part = part.trim().trim_start_matches("**");
                        if let Some((label, value)) = part.split_once(":** ") {
                            card.add_pair(label, value);
                        }
                    }
                } else {
                    card.add_fact(text, "**");
                }
            }
            "action" => {
                for b in el["actions"].as_array().into_iter().flatten().filter(|b| b["tag"] == "button") {
                    let label = str_at(b, "/text/content");
                    if let Some(url) = b["url"].as_str() {
                        card.links.push(Link { label, url: url.to_string() });
                        continue;
                    }
                    let value = b.get("value").cloned().unwrap_or(Value::Null);
                    let action = value["action"].as_str().unwrap_or_default().to_string();
                    let style = b["type"].as_str().unwrap_or("default").to_string();
                    card.buttons.push(Button { label, action, style, action_id: None, value });
                }
            }
            "note" => {
                let texts: Vec<String> = el["elements"].as_array().into_iter().flatten().map(|e| str_at(e, "/content")).collect();
                card.note = Some(unescape(&texts.join(" "))).filter(|n| !n.trim().is_empty());
            }
            _ => {}
        }
    }
    let from_value = card.buttons.iter().find_map(|b| b.value["incident_id"].as_str().map(str::to_string));
    card.incident_id = from_value.or_else(|| card.note_incident());
    card
}

impl CardView {
    fn note_incident(&self) -> Option<String> {
        let rest = self.note.as_deref()?.strip_prefix("Incident ")?;
        rest.split_whitespace().next().map(str::to_string)
    }

    /// `{b}Label{b}\nvalue` (mrkdwn `*`, lark_md `**`), or a plain paragraph.
    fn add_fact(&mut self, text: &str, b: &str) {
        let labelled = text.strip_prefix(b).and_then(|rest| rest.split_once(&format!("{b}\n")));
        match labelled {
            Some((label, value)) => self.add_pair(label, value),
            None if !text.trim().is_empty() => self.fields.push(Field { label: String::new(), value: unescape(text) }),
            None => {}
        }
    }

    fn add_pair(&mut self, label: &str, value: &str) {
        let (label, value) = (unescape(label.trim()), unescape(value.trim()));
        match label.to_ascii_lowercase().as_str() {
            "status" => self.status = Some(value.to_lowercase()),
            "severity" => self.severity = Some(value.to_lowercase()),
            _ => self.fields.push(Field { label, value }),
        }
    }
}

/// `<url|label>` → `label` in the text, and the link listed (http(s) only).
fn slack_links(text: &str) -> (String, Vec<Link>) {
    let (mut out, mut links, mut rest) = (String::new(), Vec::new(), text);
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else { break };
        out.push_str(&rest[..start]);
        let inner = &rest[start + 1..start + len];
        let (url, label) = inner.split_once('|').unwrap_or((inner, inner));
        let url = unescape(url).replace("%7C", "|");
        if url.starts_with("http://") || url.starts_with("https://") {
            links.push(Link { label: unescape(label), url });
        }
        out.push_str(label);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    (unescape(&out), links)
}

/// The three entities Slack mrkdwn and our lark_md use.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn str_at(v: &Value, pointer: &str) -> String {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string()
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
