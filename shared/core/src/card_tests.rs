use super::*;
use crate::incident::*;

fn incident(status: Status) -> Incident {
    Incident {
        tenant_id: "t".into(),
        id: "inc_1".into(),
        source: SourceRef { source: "generic".into(), external_id: "e".into() },
        title: "API latency".into(),
        description: "p99 over 2s".into(),
        severity: Severity::Critical,
        status,
        snoozed_until: None,
        responders: vec![Responder { name: Some("Ada".into()), email: None, phone: None, member_id: None }],
        labels: [("service".to_string(), "api".to_string())].into(),
        url: None,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
        source_updated_at: Timestamp(0),
        war_room: Default::default(),
        synced: None,
        version: 1,
    }
}

#[test]
fn buttons_follow_the_status() {
    let triggered = Card::for_incident(&incident(Status::Triggered), Timestamp(0));
    assert_eq!(triggered.actions[0], CardAction::Acknowledge);
    assert!(triggered.actions.contains(&CardAction::Resolve));
    let acked = Card::for_incident(&incident(Status::Acknowledged), Timestamp(0));
    assert!(!acked.actions.contains(&CardAction::Acknowledge));
    assert!(Card::for_incident(&incident(Status::Resolved), Timestamp(0)).actions.is_empty());
}

#[test]
fn button_values_round_trip_and_only_offered_snoozes_parse() {
    for a in [CardAction::Acknowledge, CardAction::Resolve, CardAction::Snooze { minutes: 30 }, CardAction::Snooze { minutes: 120 }] {
        assert_eq!(CardAction::parse(&a.to_value()), Some(a));
    }
    assert_eq!(CardAction::parse("snooze:7"), None);
    assert_eq!(CardAction::parse("snooze:-30"), None);
    assert_eq!(CardAction::parse("delete"), None);
    assert_eq!(CardAction::Snooze { minutes: 120 }.label(), "Snooze 2h");
}

#[test]
fn the_fingerprint_changes_with_what_the_card_shows() {
    let a = Card::for_incident(&incident(Status::Triggered), Timestamp(0));
    let b = Card::for_incident(&incident(Status::Acknowledged), Timestamp(0));
    assert_ne!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.fingerprint(), Card::for_incident(&incident(Status::Triggered), Timestamp(0)).fingerprint());
    assert!(a.summary().starts_with("[CRITICAL] API latency — triggered"));
}
