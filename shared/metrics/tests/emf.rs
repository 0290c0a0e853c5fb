//! The EMF lines the recorder writes, checked against the EMF specification: an `_aws`
//! envelope with a millisecond `Timestamp` and `CloudWatchMetrics` directives whose every
//! metric has a top-level numeric value (or an array of at most 100), whose every dimension
//! is a top-level string, with at most 100 metrics per directive and 30 keys per dimension
//! set; and no personal data or secret in them.

use serde_json::Value;
use std::time::Duration;
use warroom_metrics::emf::{EmfRecorder, MAX_METRICS_PER_LINE, MAX_VALUES_PER_METRIC};
use warroom_metrics::names::METRICS;
use warroom_metrics::*;

fn record(f: impl FnOnce()) -> Vec<Value> {
    record_with(EmfRecorder::new("Warroom"), f)
}

fn record_with(recorder: EmfRecorder, f: impl FnOnce()) -> Vec<Value> {
    metrics::with_local_recorder(&recorder, f);
    let mut out = Vec::new();
    recorder.flush_to(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    for line in &lines {
        validate(line);
    }
    lines
}

/// The EMF specification's rules, as CloudWatch applies them.
fn validate(doc: &Value) {
    let root = doc.as_object().expect("an object");
    let aws = root["_aws"].as_object().expect("_aws");
    let ts = aws["Timestamp"].as_u64().expect("Timestamp is an integer");
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    assert!(ts > 1_600_000_000_000 && ts <= now_ms, "Timestamp {ts} is not epoch milliseconds");
    let directives = aws["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics");
    assert!(!directives.is_empty());
    for d in directives {
        assert!(d["Namespace"].as_str().is_some_and(|n| !n.is_empty() && n.len() <= 1024));
        for set in d["Dimensions"].as_array().expect("Dimensions") {
            let set = set.as_array().expect("a dimension set is an array");
            assert!(set.len() <= 30);
            for key in set {
                let key = key.as_str().unwrap();
                assert!(root.get(key).and_then(Value::as_str).is_some(), "dimension {key} has no string member: {doc}");
            }
        }
        let metrics = d["Metrics"].as_array().expect("Metrics");
        assert!(!metrics.is_empty() && metrics.len() <= 100, "{} metrics in a directive", metrics.len());
        let mut names: Vec<&str> = metrics.iter().map(|m| m["Name"].as_str().unwrap()).collect();
        for m in metrics {
            let name = m["Name"].as_str().unwrap();
            assert!(["Count", "Seconds"].contains(&m["Unit"].as_str().unwrap()), "{m}");
            match &root[name] {
                Value::Number(_) => {}
                Value::Array(values) => {
                    assert!(!values.is_empty() && values.len() <= 100, "{name}: {} values", values.len());
                    assert!(values.iter().all(Value::is_number));
                }
                other => panic!("{name} has no numeric member: {other}"),
            }
        }
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a metric named twice in one directive");
    }
}

fn members(lines: &[Value], name: &str) -> Vec<Value> {
    lines.iter().filter_map(|l| l.get(name).cloned()).collect()
}

#[test]
fn counters_add_up_per_label_set_and_histograms_keep_their_values() {
    let lines = record(|| {
        for _ in 0..3 {
            callback("slack", "/im/slack/events", CallbackOutcome::Ok, Duration::from_millis(20));
        }
        callback("feishu", "/im/{integration_id}/events", CallbackOutcome::Refused, Duration::from_millis(5));
        callback_refused("feishu", RefusalReason::Unauthenticated);
        job("reconcile", JobOutcome::Processed, None);
        job("reconcile", JobOutcome::Processed, None);
        im_rate_limited("slack", "message", Duration::from_secs(3));
    });
    let slack_ok = lines.iter().find(|l| l["platform"] == "slack" && l["outcome"] == "ok").expect("the slack line");
    assert_eq!(slack_ok["warroom_callbacks_total"], 3);
    assert_eq!(slack_ok["route"], "/im/slack/events");
    let latency = lines.iter().find(|l| l["platform"] == "slack" && l.get("warroom_callback_seconds").is_some()).unwrap();
    assert_eq!(latency["warroom_callback_seconds"].as_array().unwrap().len(), 3);
    assert_eq!(members(&lines, "warroom_jobs_total"), vec![Value::from(2)]);
    assert_eq!(members(&lines, "warroom_callbacks_refused_total"), vec![Value::from(1)]);
    assert_eq!(members(&lines, "warroom_im_rate_limited_total"), vec![Value::from(1)]);
    // The roll-up set the alarms read.
    let limited = lines.iter().find(|l| l.get("warroom_im_rate_limited_total").is_some()).unwrap();
    assert_eq!(limited["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["family", "platform"], []]));
}

#[test]
fn a_flush_takes_what_was_recorded_and_the_next_starts_from_zero() {
    let recorder = EmfRecorder::new("Warroom");
    metrics::with_local_recorder(&recorder, || job("sync_status", JobOutcome::Retried, None));
    assert_eq!(recorder.drain_lines(1_700_000_000_000).len(), 1);
    assert!(recorder.drain_lines(1_700_000_000_000).is_empty(), "nothing new, nothing written");
    metrics::with_local_recorder(&recorder, || job("sync_status", JobOutcome::Retried, None));
    let lines = recorder.drain_lines(1_700_000_000_000);
    assert!(lines[0].contains(r#""warroom_jobs_total":1"#), "{lines:?}");
}

#[test]
fn more_than_100_values_split_over_lines_and_every_line_stays_valid() {
    let lines = record(|| {
        for i in 0..250 {
            job_run("reconcile", Duration::from_millis(i));
        }
    });
    let chunks = members(&lines, "warroom_job_run_seconds");
    assert_eq!(chunks.len(), 3);
    let total: usize = chunks.iter().map(|c| c.as_array().unwrap().len()).sum();
    assert_eq!(total, 250);
    assert!(chunks.iter().all(|c| c.as_array().unwrap().len() <= MAX_VALUES_PER_METRIC));
    assert_eq!(MAX_METRICS_PER_LINE, 100);
}

#[test]
fn a_line_over_the_metric_cap_is_split_and_each_part_stands_alone() {
    // Three metrics share the label set {platform}; a cap of 2 forces a second line.
    let lines = record_with(EmfRecorder::new("Warroom").with_max_metrics_per_line(2), || {
        room_opened("slack", Duration::from_secs(4));
        member_unreachable("slack");
    });
    assert_eq!(lines.len(), 2, "{lines:?}");
    let counts: Vec<usize> = lines.iter().map(|l| l["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 3);
    assert!(counts.iter().all(|c| *c <= 2));
    assert!(lines.iter().all(|l| l["platform"] == "slack"));
}

#[test]
fn the_tenant_is_a_property_never_a_dimension() {
    let lines = record(|| {
        job("reconcile", JobOutcome::Deferred, Some("ten_01HXYZ"));
        job("reconcile", JobOutcome::Deferred, Some("ten_other"));
    });
    assert_eq!(lines.len(), 2, "one line per tenant");
    for line in &lines {
        assert!(line["tenant"].as_str().unwrap().starts_with("ten_"));
        let dims = line["_aws"]["CloudWatchMetrics"][0]["Dimensions"].to_string();
        assert!(!dims.contains("tenant"), "{dims}");
    }
}

#[test]
fn personal_data_and_secrets_never_reach_a_line() {
    let email = String::from("ada@example.com");
    let token = String::from("xoxb-1234-SECRETtoken");
    let lines = record(|| {
        // Straight through the facade, around the typed helpers: every one is refused.
        metrics::counter!("warroom_callbacks_total", "platform" => email.clone(), "route" => "/x", "outcome" => "ok").increment(1);
        metrics::counter!("warroom_callbacks_total", "platform" => token.clone(), "route" => "/x", "outcome" => "ok").increment(1);
        metrics::counter!("warroom_callbacks_total", "platform" => "slack", "user" => "ada").increment(1);
        metrics::counter!("warroom_jobs_total", "kind" => "reconcile", "outcome" => "processed", "tenant" => email.clone()).increment(1);
        metrics::counter!("warroom_secret_total", "platform" => "slack").increment(1);
        metrics::histogram!("warroom_jobs_total", "kind" => "reconcile").record(1.0);
        // A tenant id that is not one is left off, the count kept.
        job("reconcile", JobOutcome::Processed, Some("ada@example.com"));
        member_unreachable("slack");
    });
    let text: String = lines.iter().map(Value::to_string).collect();
    for bad in ["ada", "example.com", "SECRET", "xoxb", "warroom_secret_total", "user"] {
        assert!(!text.contains(bad), "{bad} leaked: {text}");
    }
    assert_eq!(members(&lines, "warroom_jobs_total"), vec![Value::from(1)]);
    assert_eq!(members(&lines, "warroom_members_unreachable_total"), vec![Value::from(1)]);
    assert_eq!(lines.len(), 2, "{text}");
}

#[test]
fn every_name_in_the_table_is_documented_and_well_formed() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operability.md")).expect("docs/operability.md");
    for def in METRICS {
        assert!(def.name.starts_with("warroom_") && def.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", def.name);
        assert!(docs.contains(def.name), "{} is not in docs/operability.md", def.name);
        for label in def.labels {
            assert_ne!(*label, "tenant");
            assert!(docs.contains(&format!("`{label}`")), "label {label} of {} is not documented", def.name);
        }
    }
}

#[test]
fn the_mode_follows_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
    assert_eq!(Mode::from_lookup(env(&[("AWS_LAMBDA_FUNCTION_NAME", "worker")])), Mode::Emf);
    assert_eq!(Mode::from_lookup(env(&[("AWS_LAMBDA_FUNCTION_NAME", "worker"), ("WARROOM_METRICS", "off")])), Mode::Off);
    assert_eq!(namespace_from(env(&[])), "Warroom");
    assert_eq!(namespace_from(env(&[("WARROOM_METRICS_NAMESPACE", "Staging/Warroom")])), "Staging/Warroom");
}
