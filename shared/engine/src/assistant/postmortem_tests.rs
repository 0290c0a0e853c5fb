use super::*;
use warroom_core::postmortem::{ActionItem, Decision, KeyEvent};
use warroom_core::{Actor, TimelineAction, Timestamp};

fn incident() -> Incident {
    let mut i = warroom_testkit::fixtures::incident(&"t1".into(), "e1", Timestamp(1_700_000_000_000));
    i.id = "inc_1".into();
    i.title = "Checkout 500s".into();
    i
}

fn msg(id: &str, author: &str, text: &str) -> ChatMessage {
    ChatMessage { id: id.into(), at: Timestamp(1_700_000_100_000), author: author.into(), text: text.into() }
}

fn draft() -> Draft {
    let chat = vec![msg("1", "U1", "I restarted the primary"), msg("2", "U2", "TODO: Bob adds a replica alarm")];
    let timeline = vec![TimelineEntry::new("t1".into(), "inc_1".into(), Timestamp(1_700_000_000_000), Actor::System, TimelineAction::WarRoomCreated, "room")];
    let names = HashMap::from([("U1".to_string(), "Alice Chen".to_string())]);
    build(&incident(), &timeline, &chat, &names, "captured")
}

#[test]
fn the_material_is_fenced_names_the_authors_it_knows_and_counts_what_it_holds() {
    let d = draft();
    assert!(d.system.contains("JSON") && d.system.contains("post-mortem"), "{}", d.system);
    assert!(d.user.starts_with(FENCE) && d.user.trim_end().ends_with(END_FENCE), "{}", d.user);
    assert!(d.user.contains("Alice Chen: I restarted the primary"), "{}", d.user);
    assert!(d.user.contains("U2: TODO: Bob adds a replica alarm"), "an unknown author keeps their IM id: {}", d.user);
    assert_eq!((d.material.chat_messages, d.material.timeline_entries, d.material.omitted_messages), (2, 1, 0));
}

#[test]
fn a_long_chat_keeps_its_newest_messages_and_says_how_many_were_left_out() {
    let chat: Vec<ChatMessage> = (0..20_000).map(|i| msg(&i.to_string(), "U1", &format!("message number {i} with some words in it"))).collect();
    let d = build(&incident(), &[], &chat, &HashMap::new(), "history");
    assert!(d.material.omitted_messages > 0 && d.material.chat_messages > 100, "{:?}", d.material);
    assert_eq!(d.material.omitted_messages + d.material.chat_messages, 20_000);
    assert!(d.user.contains("message number 19999 "), "the newest is kept");
    assert!(d.user.contains(&format!("{} earlier messages left out", d.material.omitted_messages)));
    assert!(super::super::context::estimate_tokens(&d.user) <= BUDGET);
}

#[test]
fn the_json_is_found_inside_prose_and_fences_and_a_bad_one_says_why() {
    let answer = "Here it is:\n```json\n{\"summary\": \"DB failover\", \"root_cause\": {\"text\": \"disk\", \"confirmed\": false}}\n```";
    let review = parse(answer, false).unwrap();
    assert_eq!(review.summary, "DB failover");
    assert!(!review.root_cause.confirmed);
    assert_eq!(parse("no json here", false), Err(DraftError::NoJson { cut: false }));
    assert!(parse("{\"summary\": \"x\"", true).unwrap_err().to_string().contains("WARROOM_MODEL_MAX_TOKENS"));
    assert!(matches!(parse("{\"summary\": 5}", false), Err(DraftError::Shape(_))));
    assert_eq!(parse("{\"impact\": \"none\"}", false), Err(DraftError::Empty));
    let nulls = r#"{"summary": "s", "impact": null, "timeline": [{"at": null, "event": "e", "who": null}], "went_well": null, "root_cause": null}"#;
    let review = parse(nulls, false).expect("null read as nothing");
    assert_eq!((review.impact.as_str(), review.timeline[0].at.as_str(), review.went_well.len()), ("", "", 0));
}

#[test]
fn people_named_nowhere_in_the_material_are_removed_and_the_removal_is_said() {
    let d = draft();
    let mut review = Review {
        summary: "s".into(),
        timeline: vec![KeyEvent { at: "10:00".into(), event: "restart".into(), who: Some("alice chen".into()) }],
        decisions: vec![Decision { decision: "fail over".into(), by: Some("Zed Invented".into()) }],
        action_items: vec![
            ActionItem { item: "replica alarm".into(), owner: Some("@Bob".into()) },
            ActionItem { item: "runbook".into(), owner: Some("Al".into()) },
        ],
        ..Default::default()
    };
    let corrections = ground(&mut review, &d);
    assert_eq!(review.timeline[0].who.as_deref(), Some("alice chen"), "a name in the chat, case aside");
    assert_eq!(review.action_items[0].owner.as_deref(), Some("@Bob"), "named in a message's text");
    assert_eq!(review.decisions[0].by, None);
    assert_eq!(review.action_items[1].owner, None, "\"Al\" is part of \"Alice\", not a name of its own");
    assert_eq!(corrections.len(), 2, "{corrections:?}");
    assert!(corrections[0].contains("\"Zed Invented\" removed as maker of \"fail over\""), "{corrections:?}");
}

#[test]
fn past_incidents_and_runbooks_go_in_as_context_and_their_names_do_not_ground_a_draft() {
    use crate::assistant::knowledge::{Knowledge, PastIncident};
    let inc = incident();
    let past = warroom_testkit::fixtures::incident(&"t1".into(), "old", Timestamp(1_600_000_000_000));
    let knowledge = Knowledge {
        runbooks: vec![],
        past: vec![PastIncident {
            id: past.id.clone(),
            title: "Checkout 500s".into(),
            status: warroom_core::Status::Resolved,
            opened: past.created_at,
            last_change: past.updated_at,
            closed_by: Some("Zed Outsider".into()),
            postmortem_summary: Some("a bad deploy".into()),
            likeness: warroom_core::similar::likeness(&inc, &past),
        }],
    };
    let chat = vec![msg("1", "U1", "I restarted the primary")];
    let inputs = Inputs { incident: &inc, timeline: &[], older_timeline: false, chat: &chat, older_messages: true, knowledge: &knowledge };
    let d = build_with(&inputs, &HashMap::new(), "captured");
    let inside = &d.user[..d.user.find(END_FENCE).unwrap()];
    assert!(inside.contains("not facts of this incident") && inside.contains(&format!("Past incident {}", past.id)), "{}", d.user);
    assert!(d.user.contains("(oldest first; earlier messages left out)"), "older messages exist unread: {}", d.user);
    let mut review =
        Review { summary: "s".into(), decisions: vec![Decision { decision: "roll back".into(), by: Some("Zed Outsider".into()) }], ..Default::default() };
    let corrections = ground(&mut review, &d);
    assert_eq!(review.decisions[0].by, None, "a name only a past incident carries is not one of this incident's: {corrections:?}");
}
