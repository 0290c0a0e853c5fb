//! The status card in Block Kit.
//!
//! Shapes and limits (docs.slack.dev/reference/block-kit): header text is `plain_text`,
//! at most 150 characters; a section has `text` (≤ 3000) or up to 10 `fields` (≤ 2000
//! each); an `actions` block holds up to 25 elements; a button has `text` (`plain_text`,
//! ≤ 75), `action_id` (≤ 255, unique within its block), `value` (≤ 2000) and `style`
//! `primary` | `danger`; `block_id` (≤ 255) is left out so Slack generates one, except on
//! the context block, which names the incident and the card's state
//! (`warroom.card.{incident}.{fingerprint}`): new with every state, as the docs ask ("If a
//! message is updated, use a new block_id"), and how a retried post finds the card an
//! earlier post left when its answer was lost (`conversations.history` returns the blocks).
//! Sources: docs.slack.dev/reference/block-kit/blocks/header-block, …/actions-block;
//! slack-messaging crate `blocks/elements/button.rs` (limits table of the button element).

use serde_json::{json, Value};
use warroom_core::card::{Card, CardAction};
use warroom_core::{Severity, Status};

use super::util::truncate_chars;

/// Every button of Warroom's cards has an `action_id` starting with this, so clicks on
/// other apps' or other blocks' elements are told apart.
pub const ACTION_ID_PREFIX: &str = "warroom.";
/// The context block of a card has a `block_id` starting with this and the incident id.
const CARD_BLOCK_PREFIX: &str = "warroom.card.";
const BLOCK_ID_MAX: usize = 255;

const HEADER_MAX: usize = 150;
const FIELD_MAX: usize = 2000;
const SECTION_TEXT_MAX: usize = 3000;
const BUTTON_TEXT_MAX: usize = 75;
const ACTION_ID_MAX: usize = 255;
const BUTTON_VALUE_MAX: usize = 2000;

/// The card as a Block Kit `blocks` array.
pub fn render_card(card: &Card) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate_chars(&card.title, HEADER_MAX), "emoji": true},
    })];

    let mut facts = vec![field("Status", status_word(card.status)), field("Severity", severity_word(card.severity))];
    if let Some(until) = card.snoozed_until {
        facts.push(field("Snoozed until", &until.to_rfc3339()));
    }
    blocks.push(json!({"type": "section", "fields": facts}));

    // Description, responders, labels: free text of any length, so one section each
    // rather than 2000-character fields.
    for (label, value) in &card.fields {
        let text = format!("*{}*\n{}", escape(label), escape(value));
        blocks.push(json!({"type": "section", "text": mrkdwn(&truncate_chars(&text, SECTION_TEXT_MAX))}));
    }

    let buttons: Vec<Value> = card.actions.iter().map(|a| button(&card.incident_id, *a)).filter(|b| !b.is_null()).collect();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }

    let mut context = format!("Incident `{}`", escape(&card.incident_id));
    if let Some(url) = &card.url {
        context.push_str(&format!(" · <{}|Open incident>", escape_link(url)));
    }
    let mut context = json!({"type": "context", "elements": [mrkdwn(&context)]});
    let block_id = format!("{}{}", card_block_prefix(&card.incident_id), card.fingerprint());
    if block_id.len() <= BLOCK_ID_MAX {
        context["block_id"] = json!(block_id);
    }
    blocks.push(context);
    Value::Array(blocks)
}

fn card_block_prefix(incident_id: &str) -> String {
    format!("{CARD_BLOCK_PREFIX}{incident_id}.")
}

/// Whether `blocks` (a message's, as `conversations.history` returns them) are the card
/// of `incident_id`, in any state.
pub(crate) fn is_card_of(blocks: &[Value], incident_id: &str) -> bool {
    let prefix = card_block_prefix(incident_id);
    blocks.iter().any(|b| b.get("block_id").and_then(Value::as_str).is_some_and(|id| id.starts_with(&prefix)))
}

/// The one block of a notice (see `ImPlatform::send_notice`) has a `block_id` of this and
/// the notice's key, by which a retry finds a notice whose post answer was lost.
const NOTICE_BLOCK_PREFIX: &str = "warroom.notice.";

/// A notice as Block Kit: one mrkdwn section (as a plain `text` message renders) whose
/// `block_id` carries the key. The message's `text` stays the notice, for notifications.
pub(crate) fn render_notice(text: &str, key: &str) -> Value {
    json!([{"type": "section", "block_id": format!("{NOTICE_BLOCK_PREFIX}{key}"), "text": mrkdwn(&truncate_chars(text, SECTION_TEXT_MAX))}])
}

/// Whether `blocks` (a message's, as `conversations.history` returns them) are the notice
/// with this key.
pub(crate) fn is_notice(blocks: &[Value], key: &str) -> bool {
    let id = format!("{NOTICE_BLOCK_PREFIX}{key}");
    blocks.iter().any(|b| b.get("block_id").and_then(Value::as_str) == Some(id.as_str()))
}

/// `action_id` = `warroom.ack`, `warroom.snooze:30`; `value` = `{incident_id}|{action}`.
/// Both well within their limits for Warroom's ids; a button that would not fit is left
/// out rather than sent for Slack to refuse the whole message.
fn button(incident_id: &str, action: CardAction) -> Value {
    let action_id = format!("{ACTION_ID_PREFIX}{}", action.to_value());
    let value = format!("{incident_id}|{}", action.to_value());
    if action_id.len() > ACTION_ID_MAX || value.chars().count() > BUTTON_VALUE_MAX {
        return Value::Null;
    }
    let mut b = json!({
        "type": "button",
        "text": {"type": "plain_text", "text": truncate_chars(&action.label(), BUTTON_TEXT_MAX), "emoji": true},
        "action_id": action_id,
        "value": value,
    });
    match action {
        CardAction::Acknowledge => b["style"] = json!("primary"),
        CardAction::Resolve => b["style"] = json!("danger"),
        CardAction::Snooze { .. } => {}
    }
    b
}

fn field(label: &str, value: &str) -> Value {
    mrkdwn(&truncate_chars(&format!("*{label}*\n{}", escape(value)), FIELD_MAX))
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

/// mrkdwn control characters: Slack asks for `&`, `<`, `>` to be escaped as HTML
/// entities in message text (docs.slack.dev "Formatting text for app surfaces",
/// "Escaping text").
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A URL inside `<url|label>`: besides the entities, a `|` would end the URL early.
fn escape_link(url: &str) -> String {
    escape(url).replace('|', "%7C")
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Triggered => "Triggered",
        Status::Acknowledged => "Acknowledged",
        Status::Resolved => "Resolved",
        Status::Closed => "Closed",
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::Warning => "Warning",
        Severity::Info => "Info",
    }
}

#[cfg(test)]
#[path = "blocks_tests.rs"]
mod tests;
