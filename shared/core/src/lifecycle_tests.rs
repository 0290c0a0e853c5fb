use super::*;
use crate::incident::*;
use Status::*;

const NOW: Timestamp = Timestamp(1_000_000);
const LATER: Timestamp = Timestamp(2_000_000);
const EARLIER: Timestamp = Timestamp(500_000);

fn incident(status: Status) -> Incident {
    Incident {
        tenant_id: "t".into(),
        id: "inc_1".into(),
        source: SourceRef { source: "generic".into(), external_id: "e1".into() },
        title: "db down".into(),
        description: String::new(),
        severity: Severity::Critical,
        status,
        snoozed_until: None,
        responders: vec![],
        labels: Default::default(),
        url: None,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
        source_updated_at: Timestamp(0),
        war_room: WarRoom::default(),
        synced: None,
        version: 1,
    }
}

/// Every status × every action, with the one expected answer each.
#[test]
fn every_transition_is_either_allowed_or_refused_as_specified() {
    let snooze = Action::Snooze { until: LATER };
    let table: Vec<(Status, Action, Result<Status, TransitionError>)> = vec![
        (Triggered, Action::Acknowledge, Ok(Acknowledged)),
        (Triggered, snooze, Ok(Triggered)),
        (Triggered, Action::Resolve, Ok(Resolved)),
        (Triggered, Action::Close, Ok(Closed)),
        (Triggered, Action::Reopen, Err(TransitionError::NotResolved(Triggered))),
        (Acknowledged, Action::Acknowledge, Err(TransitionError::AlreadyInState(Acknowledged))),
        (Acknowledged, snooze, Ok(Acknowledged)),
        (Acknowledged, Action::Resolve, Ok(Resolved)),
        (Acknowledged, Action::Close, Ok(Closed)),
        (Acknowledged, Action::Reopen, Err(TransitionError::NotResolved(Acknowledged))),
        (Resolved, Action::Acknowledge, Err(TransitionError::NotOpen(Resolved))),
        (Resolved, snooze, Err(TransitionError::NotOpen(Resolved))),
        (Resolved, Action::Resolve, Err(TransitionError::AlreadyInState(Resolved))),
        (Resolved, Action::Close, Ok(Closed)),
        (Resolved, Action::Reopen, Ok(Triggered)),
        (Closed, Action::Acknowledge, Err(TransitionError::Closed)),
        (Closed, snooze, Err(TransitionError::Closed)),
        (Closed, Action::Resolve, Err(TransitionError::Closed)),
        (Closed, Action::Close, Err(TransitionError::Closed)),
        (Closed, Action::Reopen, Err(TransitionError::Closed)),
    ];
    assert_eq!(table.len(), 4 * 5, "the table covers every pair");
    for (from, action, expected) in table {
        let mut inc = incident(from);
        let before = inc.clone();
        let got = inc.apply(action, NOW).map(|c| c.to);
        assert_eq!(got, expected, "{from:?} --{action:?}-->");
        match expected {
            Err(_) => assert_eq!(inc, before, "a refused {action:?} from {from:?} changed the incident"),
            Ok(to) => {
                assert_eq!(inc.status, to);
                assert_eq!(inc.updated_at, NOW);
            }
        }
    }
}

#[test]
fn a_snooze_that_ends_in_the_past_or_now_is_refused() {
    for until in [EARLIER, NOW] {
        let mut inc = incident(Triggered);
        assert_eq!(inc.apply(Action::Snooze { until }, NOW), Err(TransitionError::SnoozeNotInFuture));
        assert_eq!(inc.snoozed_until, None);
    }
}

#[test]
fn snoozing_keeps_the_status_and_records_the_end() {
    let mut inc = incident(Acknowledged);
    let change = inc.apply(Action::Snooze { until: LATER }, NOW).unwrap();
    assert_eq!(change, Change { from: Acknowledged, to: Acknowledged, snoozed_until: Some(LATER) });
    assert!(inc.is_snoozed(NOW));
    assert!(!inc.is_snoozed(LATER), "the snooze ends at its end time");
}

#[test]
fn acknowledging_a_snoozed_incident_keeps_the_snooze() {
    let mut inc = incident(Triggered);
    inc.apply(Action::Snooze { until: LATER }, NOW).unwrap();
    inc.apply(Action::Acknowledge, NOW).unwrap();
    assert_eq!(inc.snoozed_until, Some(LATER));
}

#[test]
fn resolving_closing_or_reopening_ends_a_snooze() {
    for action in [Action::Resolve, Action::Close] {
        let mut inc = incident(Triggered);
        inc.apply(Action::Snooze { until: LATER }, NOW).unwrap();
        inc.apply(action, NOW).unwrap();
        assert_eq!(inc.snoozed_until, None, "{action:?}");
    }
    let mut inc = incident(Resolved);
    inc.snoozed_until = Some(LATER);
    inc.apply(Action::Reopen, NOW).unwrap();
    assert_eq!(inc.snoozed_until, None);
}

#[test]
fn refusals_explain_themselves() {
    assert_eq!(TransitionError::NotOpen(Resolved).to_string(), "the incident is resolved; only open incidents can be acknowledged or snoozed");
    assert_eq!(TransitionError::Closed.to_string(), "the incident is closed; nothing can change it any more");
}

#[test]
fn lenient_severity_parsing_understands_common_spellings() {
    assert_eq!(Severity::parse_lenient(" P1 "), Some(Severity::Critical));
    assert_eq!(Severity::parse_lenient("warn"), Some(Severity::Warning));
    assert_eq!(Severity::parse_lenient("info"), Some(Severity::Info));
    assert_eq!(Severity::parse_lenient("purple"), None);
    assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Info);
}
