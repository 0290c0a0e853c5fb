use super::*;

fn rb(title: &str, body: &str, selectors: &[&str]) -> Runbook {
    Runbook {
        tenant_id: "t".into(),
        id: RunbookId::generate(),
        title: title.into(),
        body: body.into(),
        selectors: selectors.iter().map(|s| Selector::parse(s).unwrap()).collect(),
        summary: None,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
        version: 0,
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn a_runbook_matches_only_when_every_selector_equals_a_label() {
    let r = rb("Checkout", "", &["service=checkout", "env=prod"]);
    assert!(r.matches_labels(&labels(&[("service", "checkout"), ("env", "prod"), ("team", "pay")])));
    assert!(!r.matches_labels(&labels(&[("service", "checkout")])), "one selector unmatched");
    assert!(!r.matches_labels(&labels(&[("service", "checkout"), ("env", "staging")])));
    assert!(!r.matches_labels(&labels(&[("service", "Checkout"), ("env", "prod")])), "values compare exactly");
}

#[test]
fn a_runbook_without_selectors_matches_no_incident() {
    assert!(!rb("Any", "", &[]).matches_labels(&labels(&[("service", "checkout")])));
}

#[test]
fn selectors_parse_as_the_schema_pattern_says() {
    assert_eq!(Selector::parse("app.kubernetes.io/name=web-1").unwrap().key, "app.kubernetes.io/name");
    assert_eq!(Selector::parse("k=a=b").unwrap().value, "a=b", "the first = splits");
    for bad in ["service", "=x", "service=", "ser vice=x", "k=a\nb", &format!("{}=x", "k".repeat(129)), &format!("k={}", "v".repeat(257))] {
        assert!(Selector::parse(bad).is_err(), "{bad:?}");
    }
    assert!(Selector::parse(&format!("k={}", "數".repeat(256))).is_ok());
    assert!(Selector::parse(&format!("k={}", "😀".repeat(256))).is_ok(), "counted in characters, like the pattern");
    assert!(Selector::parse("k=a\u{85}b").is_err(), "C1 controls too");
}

#[test]
fn the_summary_is_the_given_one_or_the_first_paragraph_after_headings() {
    let mut r = rb("Checkout", "# Checkout 5xx\n\nFirst check the   payment gateway\nstatus page.\n\nThen roll back.", &[]);
    assert_eq!(r.effective_summary(), "First check the payment gateway status page.");
    r.summary = Some("  Roll back first. ".into());
    assert_eq!(r.effective_summary(), "Roll back first.");
    r.summary = None;
    r.body = "x".repeat(2000);
    assert_eq!(r.effective_summary().chars().count(), MAX_SUMMARY_CHARS);
}

#[test]
fn a_question_scores_three_per_title_word_and_one_per_body_word() {
    let r = rb("Checkout latency", "Check the payment gateway.\n\nRestart the checkout pods if latency stays high.", &[]);
    let m = r.question_score("Why is checkout latency so high?");
    assert_eq!(m.score, 3 * 2 + 3, "checkout and latency in the title and the body, high in the body: {m:?}");
    assert_eq!(m.words, vec!["checkout", "high", "latency"]);
    assert_eq!(r.question_score("what is the weather").score, 0, "stop words never count");
}

#[test]
fn the_excerpt_is_the_paragraph_sharing_most_words_with_the_question() {
    let r = rb("Checkout", "Intro about checkout.\n\nIf the payment gateway times out, fail over the gateway to region B.\n\nOther.", &[]);
    assert_eq!(r.excerpt("payment gateway timeout?", 300).unwrap(), "If the payment gateway times out, fail over the gateway to region B.");
    assert_eq!(r.excerpt("disk full", 300), None);
    assert_eq!(r.excerpt("payment", 10).unwrap().chars().count(), 10);
}

#[test]
fn the_most_specific_matching_runbook_wins_then_the_newest() {
    let general = rb("General", "", &["service=checkout"]);
    let mut specific = rb("Specific", "", &["service=checkout", "env=prod"]);
    let mut newer = rb("Newer", "", &["service=checkout"]);
    newer.updated_at = Timestamp(5);
    let all = vec![general.clone(), specific.clone(), newer.clone()];
    let l = labels(&[("service", "checkout"), ("env", "prod")]);
    assert_eq!(best_for_labels(&all, &l).unwrap().title, "Specific");
    specific.selectors.push(Selector::parse("region=eu").unwrap());
    let all = vec![general, specific, newer];
    assert_eq!(best_for_labels(&all, &l).unwrap().title, "Newer", "the specific one no longer matches");
    assert!(best_for_labels(&all, &labels(&[("service", "search")])).is_none());
}

#[test]
fn a_stored_runbook_keeps_its_selectors_as_strings() {
    let r = rb("Checkout", "body", &["service=checkout"]);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["selectors"], serde_json::json!(["service=checkout"]));
    assert_eq!(serde_json::from_value::<Runbook>(json).unwrap(), r);
}
