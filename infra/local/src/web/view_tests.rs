use super::*;
use serde_json::json;
use warroom_core::card::{Card, CardAction};
use warroom_core::{Severity, Status};

fn card(status: Status) -> Card {
    Card {
        incident_id: "inc_1".into(),
        title: "DB <primary> & replica down".into(),
        status,
        severity: Severity::Critical,
        snoozed_until: None,
        fields: vec![("Description".into(), "p99 > 2s".into()), ("Responders".into(), "Ada, Bob".into())],
        actions: vec![CardAction::Acknowledge, CardAction::Resolve, CardAction::Snooze { minutes: 30 }],
        url: Some("https://oncall.example/inc/1?a=1|2".into()),
    }
}

fn fields(c: &CardView) -> Vec<(&str, &str)> {
    c.fields.iter().map(|f| (f.label.as_str(), f.value.as_str())).collect()
}

#[test]
fn a_block_kit_card_reads_back_as_rendered() {
    let c = slack_card(&warroom_platforms::slack::render_card(&card(Status::Triggered)));
    assert_eq!(c.title, "DB <primary> & replica down");
    assert_eq!(c.incident_id.as_deref(), Some("inc_1"));
    assert_eq!((c.status.as_deref(), c.severity.as_deref()), (Some("triggered"), Some("critical")));
    assert_eq!(fields(&c), [("Description", "p99 > 2s"), ("Responders", "Ada, Bob")]);
    let actions: Vec<&str> = c.buttons.iter().map(|b| b.action.as_str()).collect();
    assert_eq!(actions, ["ack", "resolve", "snooze:30"]);
    assert_eq!(c.buttons[0].action_id.as_deref(), Some("warroom.ack"));
    assert_eq!(c.buttons[0].value, json!("inc_1|ack"));
    assert_eq!((c.buttons[0].style.as_str(), c.buttons[0].label.as_str()), ("primary", "Acknowledge"));
    assert_eq!(c.links, [Link { label: "Open incident".into(), url: "https://oncall.example/inc/1?a=1|2".into() }]);
    assert_eq!(c.note.as_deref(), Some("Incident inc_1 · Open incident"));
    let acked = slack_card(&warroom_platforms::slack::render_card(&card(Status::Acknowledged)));
    assert_eq!(acked.status.as_deref(), Some("acknowledged"));
    let mut closed = card(Status::Closed);
    closed.actions.clear();
    let closed = slack_card(&warroom_platforms::slack::render_card(&closed));
    assert_eq!((closed.incident_id.as_deref(), closed.buttons.len()), (Some("inc_1"), 0));
}

#[test]
fn a_feishu_card_reads_back_as_rendered() {
    let c = feishu_card(&warroom_platforms::feishu::card_json(&card(Status::Triggered)));
    assert_eq!(c.title, "DB <primary> & replica down");
    assert_eq!((c.status.as_deref(), c.severity.as_deref(), c.color.as_deref()), (Some("triggered"), Some("critical"), Some("red")));
    assert_eq!(fields(&c), [("Description", "p99 > 2s"), ("Responders", "Ada, Bob")]);
    assert_eq!(c.buttons.len(), 3);
    assert_eq!(c.buttons[0].action, "ack");
    assert_eq!(c.buttons[0].value, json!({"incident_id": "inc_1", "action": "ack"}));
    assert_eq!(c.buttons[2].style, "default");
    assert_eq!(c.links[0].label, "Open incident");
    assert_eq!(c.note.as_deref(), Some("Incident inc_1"));
    assert_eq!(c.incident_id.as_deref(), Some("inc_1"));
}

#[test]
fn links_other_than_http_are_not_listed() {
    let (text, links) = slack_links("see <javascript:alert(1)|this> and <https://x.example/?a&amp;b|that>");
    assert_eq!(text, "see this and that");
    assert_eq!(links, [Link { label: "that".into(), url: "https://x.example/?a&b".into() }]);
}

#[test]
fn a_streamed_cardkit_answer_shows_as_the_bots_text_and_a_status_card_does_not() {
    let streamed = serde_json::json!({"schema": "2.0", "config": {"streaming_mode": false}, "body": {"elements": [{"tag": "markdown", "element_id": "answer", "content": "The pool is exhausted.\n\nSources: 3 chat messages"}]}});
    assert!(is_answer_card(&streamed));
    assert_eq!(answer_text(&streamed), "The pool is exhausted.\n\nSources: 3 chat messages");
    let status = serde_json::json!({"schema": "2.0", "header": {"title": {"content": "INC"}}, "body": {"elements": [{"tag": "markdown", "content": "x"}]}});
    assert!(!is_answer_card(&status), "a card with a header is a status card");
}
