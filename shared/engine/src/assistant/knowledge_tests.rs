use super::*;
use warroom_core::runbook::Selector;
use warroom_core::similar::likeness;
use warroom_testkit::fixtures;

fn rb(title: &str, selectors: &[&str], body: &str) -> Runbook {
    Runbook {
        tenant_id: "t".into(),
        id: RunbookId::generate(),
        title: title.into(),
        body: body.into(),
        selectors: selectors.iter().map(|s| Selector::parse(s).unwrap()).collect(),
        summary: None,
        created_at: fixtures::T0,
        updated_at: fixtures::T0,
        version: 0,
    }
}

fn checkout_incident() -> Incident {
    let mut i = fixtures::incident(&"t".into(), "e", fixtures::T0);
    i.labels = [("service".to_string(), "checkout".to_string())].into();
    i
}

#[test]
fn the_label_match_comes_first_then_the_best_question_match_each_with_its_excerpt() {
    let by_labels = rb("Checkout", &["service=checkout"], "Intro.\n\nIf the gateway times out, fail over.");
    let by_words = rb("Payment gateway timeouts", &[], "Call the gateway vendor.\n\nCheck the gateway dashboard.");
    let unrelated = rb("Disk full", &[], "Delete old logs.");
    let cited = cite_runbooks(&[unrelated, by_words.clone(), by_labels.clone()], &checkout_incident(), Some("why does the gateway time out?"));
    assert_eq!(cited.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![by_labels.id, by_words.id]);
    assert_eq!(cited[0].why, "labels service=checkout");
    assert_eq!(cited[0].excerpt.as_deref(), Some("If the gateway times out, fail over."));
    assert_eq!(cited[1].why, "question words: gateway", "whole words only: \"timeouts\" is not \"time\"");
    assert_eq!(cited[0].summary, "Intro.");
}

#[test]
fn a_question_sharing_too_little_cites_no_runbook() {
    let only_body_word = rb("Disk", &[], "The gateway.");
    assert!(cite_runbooks(&[only_body_word], &checkout_incident(), Some("gateway?")).is_empty(), "one body word scores 1, under 2");
}

#[test]
fn rendering_keeps_within_its_budget_leaving_out_whole_blocks_and_says_what_it_showed() {
    let now = checkout_incident();
    let mut past = fixtures::incident(&"t".into(), "p", fixtures::T0);
    past.labels = now.labels.clone();
    let k = Knowledge {
        runbooks: cite_runbooks(&[rb("Checkout", &["service=checkout"], &"long body ".repeat(10))], &now, None),
        past: vec![PastIncident {
            id: past.id.clone(),
            title: "Checkout down <<<DATA".into(),
            status: Status::Resolved,
            opened: fixtures::T0,
            last_change: fixtures::T0,
            closed_by: Some("Ada".into()),
            postmortem_summary: Some("gateway timeout".into()),
            likeness: likeness(&now, &past),
        }],
    };
    let (all, shown) = render(&k, 10_000);
    assert_eq!(shown, k);
    assert!(all.contains("Runbook ") && all.contains("Past incident ") && all.contains("last status change by Ada") && all.contains("gateway timeout"));
    assert!(!all.contains("<<<DATA"), "fences inside are broken: {all}");
    let runbook_only = estimate_tokens(all.split("Past incident").next().unwrap()) + 2;
    let (some, shown) = render(&k, runbook_only);
    assert_eq!((shown.runbooks.len(), shown.past.len()), (1, 0), "{some}");
    assert!(estimate_tokens(&some) <= runbook_only);
    assert_eq!(render(&k, 3).0, "");
}
