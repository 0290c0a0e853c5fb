//! The Prometheus exposition warroom-local serves: the vocabulary's counters and histograms
//! after calls, no tenant label, nothing outside the vocabulary.
#![cfg(feature = "prometheus")]

use std::time::Duration;
use warroom_metrics::prom::VettedPrometheus;
use warroom_metrics::*;

#[test]
fn the_render_has_the_counters_after_calls() {
    let recorder = VettedPrometheus::new();
    let handle = recorder.handle();
    recorder.describe_all();
    metrics::with_local_recorder(&recorder, || {
        callback("slack", "/im/slack/interactions", CallbackOutcome::Ok, Duration::from_millis(12));
        callback("slack", "/im/slack/interactions", CallbackOutcome::Ok, Duration::from_millis(30));
        job("reconcile", JobOutcome::Processed, Some("ten_abc"));
        im_rate_limited("feishu", "message", Duration::from_secs(2));
        metrics::counter!("warroom_callbacks_total", "platform" => "ada@example.com", "route" => "/x", "outcome" => "ok").increment(1);
    });
    let text = handle.render();
    assert!(text.contains(r#"warroom_callbacks_total{platform="slack",route="/im/slack/interactions",outcome="ok"} 2"#), "{text}");
    assert!(text.contains(r#"warroom_jobs_total{kind="reconcile",outcome="processed"} 1"#), "{text}");
    assert!(text.contains(r#"warroom_im_rate_limit_wait_seconds_bucket{platform="feishu",family="message",le="2.5"} 1"#), "{text}");
    assert!(text.contains("# HELP warroom_jobs_total"), "{text}");
    assert!(!text.contains("ten_abc") && !text.contains("example.com"), "{text}");
}
