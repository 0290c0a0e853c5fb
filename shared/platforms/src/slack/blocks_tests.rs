use super::*;
use warroom_core::Timestamp;

fn card() -> Card {
    Card {
        incident_id: "inc_1".into(),
        title: "DB <primary> & replica down".into(),
        status: Status::Triggered,
        severity: Severity::Critical,
        snoozed_until: None,
        fields: vec![("Description".into(), "p99 > 2s".into()), ("Responders".into(), "Ada, Linus".into())],
        actions: vec![CardAction::Acknowledge, CardAction::Resolve, CardAction::Snooze { minutes: 30 }],
        url: Some("https://oncall.example/inc/1?a=1|2".into()),
    }
}

#[test]
fn the_card_renders_header_facts_fields_buttons_and_context_in_that_order() {
    let blocks = render_card(&card());
    let types: Vec<&str> = blocks.as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["header", "section", "section", "section", "actions", "context"]);
    assert_eq!(blocks[0]["text"], json!({"type": "plain_text", "text": "DB <primary> & replica down", "emoji": true}));
    assert_eq!(blocks[1]["fields"][0], json!({"type": "mrkdwn", "text": "*Status*\nTriggered"}));
    assert_eq!(blocks[1]["fields"][1], json!({"type": "mrkdwn", "text": "*Severity*\nCritical"}));
    assert_eq!(blocks[2]["text"]["text"], "*Description*\np99 &gt; 2s");
    // Slack generates the block ids, except the context block's, which names the card.
    assert!(blocks.as_array().unwrap()[..5].iter().all(|b| b.get("block_id").is_none()));
}

#[test]
fn the_context_block_id_names_the_incident_and_changes_with_every_state_of_the_card() {
    let triggered = render_card(&card());
    let acked = render_card(&Card { status: Status::Acknowledged, ..card() });
    let id = |blocks: &Value| blocks[blocks.as_array().unwrap().len() - 1]["block_id"].as_str().unwrap().to_owned();
    assert!(id(&triggered).starts_with("warroom.card.inc_1."), "{}", id(&triggered));
    assert_ne!(id(&triggered), id(&acked), "a new block_id for every update, as Slack asks");
    assert!(is_card_of(acked.as_array().unwrap(), "inc_1"));
    assert!(!is_card_of(acked.as_array().unwrap(), "inc_12"), "the id ends with a dot: no prefix confusion");
    assert!(!is_card_of(&[json!({"type": "section", "block_id": "x"})], "inc_1"));
}

#[test]
fn buttons_carry_the_warroom_action_id_and_the_incident_in_their_value() {
    let blocks = render_card(&card());
    let buttons = blocks[4]["elements"].as_array().unwrap();
    assert_eq!(
        buttons[0],
        json!({
            "type": "button",
            "text": {"type": "plain_text", "text": "Acknowledge", "emoji": true},
            "action_id": "warroom.ack",
            "value": "inc_1|ack",
            "style": "primary",
        })
    );
    assert_eq!(buttons[1]["action_id"], "warroom.resolve");
    assert_eq!(buttons[1]["style"], "danger");
    assert_eq!(buttons[2]["action_id"], "warroom.snooze:30");
    assert_eq!(buttons[2]["value"], "inc_1|snooze:30");
    assert!(buttons[2].get("style").is_none());
    assert_eq!(buttons[2]["text"]["text"], "Snooze 30m");
}

#[test]
fn the_context_links_the_incident_with_the_url_escaped() {
    let blocks = render_card(&card());
    assert_eq!(blocks[5]["elements"][0]["text"], "Incident `inc_1` · <https://oncall.example/inc/1?a=1%7C2|Open incident>");
}

#[test]
fn a_closed_card_has_no_actions_block_and_a_snoozed_one_says_until_when() {
    let mut c = card();
    c.actions.clear();
    c.url = None;
    c.status = Status::Acknowledged;
    c.snoozed_until = Some(Timestamp(1_763_715_600_000));
    let blocks = render_card(&c);
    assert!(blocks.as_array().unwrap().iter().all(|b| b["type"] != "actions"));
    assert_eq!(blocks[1]["fields"][2]["text"], "*Snoozed until*\n2025-11-21T09:00:00Z");
    assert_eq!(blocks.as_array().unwrap().last().unwrap()["elements"][0]["text"], "Incident `inc_1`");
}

#[test]
fn long_texts_are_cut_to_block_kit_limits() {
    let mut c = card();
    c.title = "t".repeat(500);
    c.fields = vec![("Description".into(), "d".repeat(5000))];
    let blocks = render_card(&c);
    assert_eq!(blocks[0]["text"]["text"].as_str().unwrap().chars().count(), 150);
    assert_eq!(blocks[2]["text"]["text"].as_str().unwrap().chars().count(), 3000);
}
