use super::*;
use crate::incident::*;
use crate::time::Timestamp;

fn inc(tenant: &str, title: &str, labels: &[(&str, &str)], at: i64) -> Incident {
    Incident {
        tenant_id: tenant.into(),
        id: crate::ids::IncidentId::generate(),
        source: SourceRef { source: "generic".into(), external_id: title.into() },
        title: title.into(),
        description: String::new(),
        severity: Severity::Critical,
        status: Status::Resolved,
        snoozed_until: None,
        responders: vec![],
        labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        url: None,
        created_at: Timestamp(at),
        updated_at: Timestamp(at),
        source_updated_at: Timestamp(at),
        war_room: WarRoom::default(),
        synced: None,
        version: 1,
    }
}

#[test]
fn terms_are_lower_case_words_without_stop_words_and_cjk_characters_count_alone() {
    let t = terms("Why is the Checkout-API returning 5xx? 数据库");
    assert_eq!(t.into_iter().collect::<Vec<_>>(), vec!["5xx", "api", "checkout", "returning", "库", "据", "数"]);
    assert!(terms("a I x").is_empty(), "single letters and stop words are dropped");
}

#[test]
fn the_same_service_and_a_similar_title_score_highest() {
    let now = inc("t", "Checkout 5xx errors high", &[("service", "checkout"), ("env", "prod"), ("instance", "10.0.0.1")], 100);
    let twin = inc("t", "Checkout 5xx errors high", &[("service", "checkout"), ("env", "prod"), ("instance", "10.0.0.2")], 50);
    let l = likeness(&now, &twin);
    assert!(l.same_service);
    assert_eq!(l.shared_labels, vec!["env=prod"], "the instance is volatile and the service counts apart");
    assert_eq!(l.title_overlap, 1.0);
    assert_eq!(l.score, 3.0 + 1.0 + 4.0);
    let unrelated = inc("t", "Disk full on db-1", &[("service", "db")], 60);
    assert_eq!(likeness(&now, &unrelated).score, 0.0);
}

#[test]
fn only_the_same_tenants_other_incidents_above_the_threshold_are_returned_best_first() {
    let now = inc("t", "Checkout 5xx errors", &[("service", "checkout")], 100);
    let same_title_other_service = inc("t", "Checkout 5xx errors", &[("service", "cart")], 10);
    let same_service = inc("t", "Checkout 5xx latency", &[("service", "checkout")], 20);
    let weak = inc("t", "Cart errors", &[("service", "cart")], 30);
    let other_tenant = inc("u", "Checkout 5xx errors", &[("service", "checkout")], 90);
    let past = vec![now.clone(), same_title_other_service.clone(), same_service.clone(), weak, other_tenant];
    let got: Vec<_> = most_similar(&now, &past, 5).into_iter().map(|(i, _)| i.id.clone()).collect();
    assert_eq!(got, vec![same_service.id.clone(), same_title_other_service.id.clone()], "3 + 4·2/4 = 5.0, then 4·4/4 = 4.0; 1.0 is too weak: {got:?}");
    assert_eq!(most_similar(&now, &past, 1).len(), 1);
}

#[test]
fn equal_scores_prefer_the_newer_incident() {
    let now = inc("t", "Checkout down", &[("service", "checkout")], 100);
    let old = inc("t", "Checkout down", &[("service", "checkout")], 10);
    let new = inc("t", "Checkout down", &[("service", "checkout")], 20);
    let past = vec![old, new.clone()];
    assert_eq!(most_similar(&now, &past, 1)[0].0.id, new.id);
}
