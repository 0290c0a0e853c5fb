//! The status card as a Feishu interactive card, JSON 1.0 ("message card") structure:
//! `config` / `header` / `elements` with `div`, `hr`, `note` and an `action` block of
//! buttons. Chosen over JSON 2.0 because 2.0 dropped the `action` container and its
//! buttons carry `behaviors` instead of `value`; 1.0 remains supported ("在保持旧版消息卡片
//! 原有能力的基础上", https://open.feishu.cn/document/uAjLw4CM/ukzMukzMukzM/feishu-cards/feishu-card-release-notes.md).
//!
//! Sources for the shape:
//! - header `title` (plain_text) and `template`: https://open.larksuite.com/document/common-capabilities/message-card/message-cards-content/card-header.md
//! - button in an `action` block: `tag: button`, `text`, `type` (primary / default / danger),
//!   `value` (returned in the callback's `action.value`):
//!   https://open.larkoffice.com/document/common-capabilities/message-card/add-card-interaction/interactive-components/button.md
//! - `config.update_multi: true` is required before and after a PATCH (reference §3).

use serde_json::{json, Value};
use warroom_core::card::{Card, CardAction};
use warroom_core::incident::{Severity, Status};

/// The header colour: green once it is over, grey while snoozed, yellow when someone is
/// on it, otherwise by severity.
fn template(card: &Card) -> &'static str {
    match card.status {
        Status::Resolved | Status::Closed => "green",
        _ if card.snoozed_until.is_some() => "grey",
        Status::Acknowledged => "yellow",
        Status::Triggered => match card.severity {
            Severity::Critical => "red",
            Severity::Warning => "orange",
            Severity::Info => "blue",
        },
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::Warning => "Warning",
        Severity::Info => "Info",
    }
}

/// `lark_md` renders `<at id=all></at>` and other tags: text from an alert must not be
/// able to @everyone, so angle brackets are neutralised (entity escapes).
fn md_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn md_div(content: String) -> Value {
    json!({"tag": "div", "text": {"tag": "lark_md", "content": content}})
}

fn button(incident_id: &str, action: CardAction) -> Value {
    let kind = match action {
        CardAction::Acknowledge => "primary",
        CardAction::Resolve => "danger",
        CardAction::Snooze { .. } => "default",
    };
    json!({
        "tag": "button",
        "text": {"tag": "plain_text", "content": action.label()},
        "type": kind,
        // An object, echoed back as `event.action.value` in card.action.trigger.
        "value": {"incident_id": incident_id, "action": action.to_value()},
    })
}

/// The card's note, "Incident {id}": a text of its own, so it stays one whole string however
/// Feishu lists the card (field texts are `**label**\nvalue`; only a title of exactly these
/// words would look the same).
pub(crate) fn incident_marker(incident_id: &str) -> String {
    format!("Incident {incident_id}")
}

/// Renders the card. The result is what goes, serialized to a string, into the message
/// `content` (send and PATCH) and, as an object, into a click answer's `card.data`.
pub fn card_json(card: &Card) -> Value {
    let mut status_line = format!("**Status:** {} · **Severity:** {}", card.status, severity_word(card.severity));
    if let Some(until) = card.snoozed_until {
        status_line.push_str(&format!(" · **Snoozed until:** {until}"));
    }
    let mut elements = vec![md_div(status_line)];
    for (label, value) in &card.fields {
        elements.push(md_div(format!("**{}**\n{}", md_escape(label), md_escape(value))));
    }
    if !card.actions.is_empty() {
        let buttons: Vec<Value> = card.actions.iter().map(|a| button(&card.incident_id, *a)).collect();
        elements.push(json!({"tag": "action", "actions": buttons}));
    }
    if let Some(url) = &card.url {
        // A link button: `url` instead of `value`, so clicking opens it and calls nothing.
        elements.push(json!({"tag": "action", "actions": [{
            "tag": "button", "text": {"tag": "plain_text", "content": "Open incident"}, "type": "default", "url": url,
        }]}));
    }
    elements.push(json!({"tag": "hr"}));
    // The note is how `find_card` knows the card again when buttons are gone (see `find`).
    elements.push(json!({"tag": "note", "elements": [{"tag": "plain_text", "content": incident_marker(&card.incident_id)}]}));
    json!({
        "config": {"update_multi": true, "wide_screen_mode": true},
        "header": {"title": {"tag": "plain_text", "content": card.title}, "template": template(card)},
        "elements": elements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use warroom_core::time::Timestamp;

    fn card(status: Status, actions: Vec<CardAction>) -> Card {
        Card {
            incident_id: "inc_1".into(),
            title: "DB down <at id=all></at>".into(),
            status,
            severity: Severity::Critical,
            snoozed_until: None,
            fields: vec![("Description".into(), "disk full <at id=all></at>".into())],
            actions,
            url: Some("https://oncall.example/inc_1".into()),
        }
    }

    #[test]
    fn the_card_is_shared_so_it_can_be_patched_and_has_a_coloured_header() {
        let v = card_json(&card(Status::Triggered, vec![CardAction::Acknowledge]));
        assert_eq!(v["config"]["update_multi"], true);
        assert_eq!(v["header"]["title"], json!({"tag": "plain_text", "content": "DB down <at id=all></at>"}));
        assert_eq!(v["header"]["template"], "red");
        assert_eq!(card_json(&card(Status::Resolved, vec![]))["header"]["template"], "green");
        assert_eq!(card_json(&card(Status::Acknowledged, vec![]))["header"]["template"], "yellow");
        let mut snoozed = card(Status::Triggered, vec![]);
        snoozed.snoozed_until = Some(Timestamp(1_763_715_600_000));
        let v = card_json(&snoozed);
        assert_eq!(v["header"]["template"], "grey");
        assert!(v["elements"][0]["text"]["content"].as_str().unwrap().contains("Snoozed until"));
    }

    #[test]
    fn buttons_carry_the_incident_and_the_action_as_an_object() {
        let actions = vec![CardAction::Acknowledge, CardAction::Resolve, CardAction::Snooze { minutes: 30 }];
        let v = card_json(&card(Status::Triggered, actions));
        let blocks: Vec<&Value> = v["elements"].as_array().unwrap().iter().filter(|e| e["tag"] == "action").collect();
        let buttons = blocks[0]["actions"].as_array().unwrap();
        assert_eq!(buttons.len(), 3);
        assert_eq!(buttons[0]["tag"], "button");
        assert_eq!(buttons[0]["type"], "primary");
        assert_eq!(buttons[0]["text"], json!({"tag": "plain_text", "content": "Acknowledge"}));
        assert_eq!(buttons[0]["value"], json!({"incident_id": "inc_1", "action": "ack"}));
        assert_eq!(buttons[2]["value"]["action"], "snooze:30");
        // The link button opens the incident and calls back nothing.
        assert_eq!(blocks[1]["actions"][0]["url"], "https://oncall.example/inc_1");
        assert!(blocks[1]["actions"][0].get("value").is_none());
    }

    #[test]
    fn alert_text_cannot_mention_everyone() {
        let v = card_json(&card(Status::Triggered, vec![]));
        let field = v["elements"][1]["text"]["content"].as_str().unwrap();
        assert_eq!(field, "**Description**\ndisk full &lt;at id=all&gt;&lt;/at&gt;");
    }

    #[test]
    fn a_card_without_actions_has_no_empty_action_block() {
        let mut c = card(Status::Closed, vec![]);
        c.url = None;
        let v = card_json(&c);
        assert!(v["elements"].as_array().unwrap().iter().all(|e| e["tag"] != "action"));
    }
}
