//! The status card on WeCom, in its two halves (notes "Design implications"):
//! - in the group: a `markdown` message (`appchat/send`), since app groups take no
//!   template card (notes Q2). Group messages cannot be edited: each change is a new one;
//! - to each responder: a `button_interaction` template card (`message/send`, doc 90236 via
//!   notes Q1/Q2) whose button keys are `<action>|<incident id>` ([`super::button_key`]).
//!
//! Field limits of template cards are not in the reference: the ones below are the doc
//! 90236 figures as remembered — UNCERTAIN, each kept in one constant. Text past a limit is
//! cut with "…" (WeCom truncates or refuses; cutting ourselves keeps the card valid).

use super::inbound::button_key;
use serde_json::{json, Value};
use warroom_core::card::{Card, CardAction};
use warroom_core::incident::Severity;

/// `main_title.title` (UNCERTAIN).
const TITLE_CHARS: usize = 36;
/// `main_title.desc` and `horizontal_content_list[].value` (UNCERTAIN).
const LINE_CHARS: usize = 26;
/// `horizontal_content_list[].keyname`: the doc recommends at most 5 (Chinese) characters,
/// a recommendation, not a limit (UNCERTAIN); English labels need more.
const KEY_CHARS: usize = 12;
/// `horizontal_content_list` items (UNCERTAIN).
const MAX_FACTS: usize = 6;
/// `button_list` (notes Q1, doc 101032: ≤ 6).
const MAX_BUTTONS: usize = 6;
/// `sub_title_text` (UNCERTAIN).
const SUBTITLE_CHARS: usize = 112;
/// Markdown for app messages (the sandbox assumes the same; UNCERTAIN).
pub(crate) const MARKDOWN_BYTES: usize = 4096;

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::Warning => "Warning",
        Severity::Info => "Info",
    }
}

fn status_word(card: &Card) -> String {
    match card.snoozed_until {
        Some(until) if card.status.is_open() => format!("{} (snoozed until {until})", card.status),
        _ => card.status.to_string(),
    }
}

/// Button styles 1–4 (notes Q1, doc 101032); which colour each is, UNCERTAIN: 1 is the
/// primary one in WeCom's examples.
fn style(action: CardAction) -> u8 {
    match action {
        CardAction::Acknowledge | CardAction::Resolve => 1,
        _ => 2,
    }
}

/// The responders' template card. `task_id` is unique per card sent (notes Q1: ≤128 bytes of
/// `[0-9A-Za-z_-@]`) and is not taken by updates.
pub(crate) fn template_card(card: &Card, task_id: Option<&str>) -> Value {
    let mut facts = vec![json!({"keyname": "Status", "value": cut(&status_word(card), LINE_CHARS)})];
    for (label, value) in card.fields.iter().take(MAX_FACTS - 1) {
        facts.push(json!({"keyname": cut(label, KEY_CHARS), "value": cut(value, LINE_CHARS)}));
    }
    let buttons: Vec<Value> =
        card.actions.iter().take(MAX_BUTTONS).map(|a| json!({"text": a.label(), "style": style(*a), "key": button_key(*a, &card.incident_id)})).collect();
    let mut body = json!({
        "card_type": "button_interaction",
        "source": {"desc": "Warroom"},
        "main_title": {"title": cut(&card.title, TITLE_CHARS), "desc": format!("{} · {}", severity_word(card.severity), card.status)},
        "sub_title_text": cut(&format!("Incident {}", card.incident_id), SUBTITLE_CHARS),
        "horizontal_content_list": facts,
        "button_list": buttons,
    });
    if let Some(url) = &card.url {
        body["card_action"] = json!({"type": 1, "url": url});
    }
    if let Some(task) = task_id {
        body["task_id"] = json!(task);
    }
    // A card without buttons (a closed incident) is a plain notice card.
    if card.actions.is_empty() {
        body["card_type"] = json!("text_notice");
        body.as_object_mut().map(|o| o.remove("button_list"));
        if body.get("card_action").is_none() {
            // text_notice requires a card_action (doc 90236, UNCERTAIN): the incident id as text.
            body["card_action"] = json!({"type": 0});
        }
    }
    body
}

/// WeCom markdown supports a small subset (bold, links, quotes, colours); `<`/`>` would be
/// read as markup.
fn md(s: &str) -> String {
    s.replace('<', "＜").replace('>', "＞")
}

/// What the group was last told, as (label, value) pairs: status and severity first, then
/// the card's facts. Kept per chat to say what changed (a group message cannot be edited).
pub(crate) fn facts(card: &Card) -> Vec<(String, String)> {
    let mut out = vec![("Status".to_owned(), status_word(card)), ("Severity".to_owned(), severity_word(card.severity).to_owned())];
    out.extend(card.fields.iter().cloned());
    out
}

/// "Status: triggered → acknowledged" for each fact that changed, appeared or went.
pub(crate) fn changes(before: &[(String, String)], after: &[(String, String)]) -> Vec<String> {
    let value = |list: &[(String, String)], label: &str| list.iter().find(|(l, _)| l == label).map(|(_, v)| v.clone());
    let mut labels: Vec<&String> = after.iter().map(|(l, _)| l).collect();
    labels.extend(before.iter().map(|(l, _)| l).filter(|l| !after.iter().any(|(a, _)| a == *l)));
    labels
        .into_iter()
        .filter_map(|label| match (value(before, label), value(after, label)) {
            (Some(b), Some(a)) if a != b => Some(format!("{}: {} → {}", md(label), cut(&md(&b), LINE_CHARS * 2), cut(&md(&a), LINE_CHARS * 2))),
            (None, Some(a)) => Some(format!("{}: {}", md(label), cut(&md(&a), LINE_CHARS * 2))),
            (Some(_), None) => Some(format!("{}: (removed)", md(label))),
            _ => None,
        })
        .collect()
}

/// The group's status message; `changed` (from [`changes`]) leads it when the group was told
/// before.
pub(crate) fn group_markdown(card: &Card, changed: &[String]) -> String {
    let mut lines = Vec::new();
    if !changed.is_empty() {
        lines.push(format!("**Changed**: {}", changed.join("; ")));
    }
    lines.push(format!("**{}**", md(&card.title)));
    lines.push(format!("> Status: **{}** · Severity: {}", md(&status_word(card)), severity_word(card.severity)));
    for (label, value) in &card.fields {
        lines.push(format!("> {}: {}", md(label), md(value)));
    }
    if !card.actions.is_empty() {
        let names: Vec<String> = card.actions.iter().map(|a| a.label()).collect();
        lines.push(format!("Buttons ({}) are on the card each responder got from the app.", names.join(", ")));
    }
    if let Some(url) = &card.url {
        lines.push(format!("[Open the incident]({url})"));
    }
    lines.push(format!("Incident {}", card.incident_id));
    let text = lines.join("\n");
    if text.len() <= MARKDOWN_BYTES {
        return text;
    }
    let mut end = MARKDOWN_BYTES - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use warroom_core::incident::Status;

    fn card(status: Status) -> Card {
        Card {
            incident_id: "inc_1".into(),
            title: "Checkout <errors> and a title long enough to be cut somewhere".into(),
            status,
            severity: Severity::Critical,
            snoozed_until: None,
            fields: vec![("Responders".into(), "Ada, Bob".into())],
            actions: if status.is_open() { vec![CardAction::Acknowledge, CardAction::Resolve] } else { vec![] },
            url: Some("https://warroom.example/incidents/inc_1".into()),
        }
    }

    #[test]
    fn the_responders_card_carries_one_button_per_action_keyed_by_action_and_incident() {
        let c = template_card(&card(Status::Triggered), Some("wr_task_1"));
        assert_eq!(c["card_type"], "button_interaction");
        assert_eq!(c["task_id"], "wr_task_1");
        let keys: Vec<&str> = c["button_list"].as_array().unwrap().iter().map(|b| b["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["ack|inc_1", "resolve|inc_1"]);
        assert!(c["main_title"]["title"].as_str().unwrap().chars().count() <= TITLE_CHARS);
        assert_eq!(c["horizontal_content_list"][1]["keyname"], "Responders");
        let mut long = card(Status::Triggered);
        long.fields = vec![("A label far too long for WeCom".into(), "x".into())];
        let c = template_card(&long, None);
        assert_eq!(c["horizontal_content_list"][1]["keyname"], "A label far…", "key names are cut to the limit, the mark included");
        assert!(template_card(&card(Status::Triggered), None).get("task_id").is_none(), "updates carry no task_id");
    }

    #[test]
    fn a_closed_incident_gets_a_notice_card_without_buttons() {
        let c = template_card(&card(Status::Resolved), None);
        assert_eq!(c["card_type"], "text_notice");
        assert!(c.get("button_list").is_none());
    }

    #[test]
    fn the_group_message_is_markdown_without_markup_from_the_alert_and_within_the_limit() {
        let text = group_markdown(&card(Status::Acknowledged), &[]);
        assert!(text.contains("Status: **acknowledged**") && text.contains("＜errors＞") && !text.contains("<errors>"), "{text}");
        let mut long = card(Status::Triggered);
        long.fields = vec![("Description".into(), "x".repeat(10_000))];
        assert!(group_markdown(&long, &[]).len() <= MARKDOWN_BYTES);
    }

    #[test]
    fn a_change_is_said_in_one_line_and_an_unchanged_card_has_nothing_to_say() {
        let before = facts(&card(Status::Triggered));
        let mut after_card = card(Status::Acknowledged);
        after_card.fields.push(("Runbook".into(), "https://runbooks/checkout".into()));
        let changed = changes(&before, &facts(&after_card));
        assert_eq!(changed, ["Status: triggered → acknowledged", "Runbook: https://runbooks/checkout"]);
        assert!(changes(&before, &before).is_empty());
        assert!(group_markdown(&after_card, &changed).starts_with("**Changed**: Status: triggered → acknowledged"));
    }
}
