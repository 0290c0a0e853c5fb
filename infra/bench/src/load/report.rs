//! A run's figures: requests, achieved rate, errors by kind, latency percentiles (from
//! the due time; exact, from every sample sorted), the stack's memory and CPU, the drain
//! and the end checks. Printed as a table, or as one JSON object.
//!
//! The DingTalk and WeCom kinds are not signed by the bench but relayed by the stack's
//! sandboxes (see `callbacks`): their latency includes the sandbox's work, and the report
//! says so next to them. The DingTalk and WeCom API calls the bundle made, and how many their
//! limits refused, are reported from the sandboxes' call logs; WeCom app messages dropped
//! for the per-member limit (silently, as WeCom does) are a failure.

use super::driver::{Load, Sample};
use super::proc::Figures;
use super::settle::{DingTalkCalls, Settled, WeComCalls};
use super::setup::WarRooms;
use super::stack::{LogCounts, Stopped};
use super::{Config, Kind, Platform};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of the given latencies.
    pub fn of(mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        let n = latencies.len();
        if n == 0 {
            return Self::default();
        }
        // Per mille, in integers: 0.9 * 1000 is not exactly 900 in floating point.
        let at = |per_mille: usize| {
            let rank = (per_mille * n).div_ceil(1000);
            latencies[rank.clamp(1, n) - 1].as_secs_f64() * 1000.0
        };
        Self { count: n, p50: at(500), p90: at(900), p99: at(990), p999: at(999), max: latencies[n - 1].as_secs_f64() * 1000.0 }
    }

    fn json(&self) -> Value {
        json!({"count": self.count, "p50_ms": self.p50, "p90_ms": self.p90, "p99_ms": self.p99, "p99_9_ms": self.p999, "max_ms": self.max})
    }
}

#[derive(Clone, Debug)]
pub struct LoadReport {
    pub rate: f64,
    pub duration: Duration,
    pub mix: String,
    pub stack_workers: usize,
    /// By [`Platform::index`].
    pub rooms: [usize; 4],
    pub setup_time: Duration,
    pub due: u64,
    pub sent: usize,
    pub not_sent: u64,
    /// Callbacks handed over per second of the dispatch window.
    pub achieved_rate: f64,
    /// Callbacks answered well per second, from the start to the last answer.
    pub completed_rate: f64,
    pub max_lag_ms: f64,
    pub latency: Percentiles,
    pub by_kind: Vec<(Kind, Percentiles, usize)>,
    pub errors: BTreeMap<String, usize>,
    pub error_samples: Vec<String>,
    pub clicks: BTreeMap<&'static str, usize>,
    pub usage: Figures,
    pub generator_cpu_secs: f64,
    pub settled: Settled,
    pub stopped: Stopped,
    pub log: LogCounts,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl LoadReport {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: &Config,
        setup_time: Duration,
        rooms: &WarRooms,
        load: Load,
        settled: Settled,
        stopped: Stopped,
        usage: Figures,
        log: LogCounts,
    ) -> Self {
        let samples: &[Sample] = &load.samples;
        let mut errors: BTreeMap<String, usize> = BTreeMap::new();
        let mut error_samples = Vec::new();
        let mut clicks: BTreeMap<&'static str, usize> = BTreeMap::new();
        for s in samples {
            match &s.result {
                Ok(Some(outcome)) => *clicks.entry(outcome.name()).or_default() += 1,
                Ok(None) => {}
                Err((kind, detail)) => {
                    *errors.entry(kind.clone()).or_default() += 1;
                    if error_samples.len() < 5 {
                        error_samples.push(format!("{} {kind}: {detail}", s.kind.name()));
                    }
                }
            }
        }
        if load.not_sent > 0 {
            errors.insert("not_sent_in_flight_cap".into(), load.not_sent as usize);
        }
        let by_kind = Kind::ALL
            .into_iter()
            .filter_map(|k| {
                let of: Vec<&Sample> = samples.iter().filter(|s| s.kind == k).collect();
                let failed = of.iter().filter(|s| s.result.is_err()).count();
                (!of.is_empty()).then(|| (k, Percentiles::of(of.iter().map(|s| s.latency).collect()), failed))
            })
            .collect();
        // n callbacks at the rate take n / rate: the last is due at (n - 1) / rate.
        let window = load.dispatch_time.as_secs_f64() + 1.0 / config.rate;
        let answered = samples.iter().filter(|s| s.result.is_ok()).count();
        Self {
            rate: config.rate,
            duration: config.duration,
            mix: config.mix.describe(),
            stack_workers: config.stack_workers,
            rooms: Platform::ALL.map(|p| rooms.of(p).len()),
            setup_time,
            due: config.total_requests(),
            sent: samples.len(),
            not_sent: load.not_sent,
            achieved_rate: samples.len() as f64 / window,
            completed_rate: answered as f64 / load.elapsed.as_secs_f64().max(1e-9),
            max_lag_ms: samples.iter().map(|s| ms(s.lag)).fold(0.0, f64::max),
            latency: Percentiles::of(samples.iter().map(|s| s.latency).collect()),
            by_kind,
            errors,
            error_samples,
            clicks,
            usage,
            generator_cpu_secs: load.generator_cpu_secs,
            settled,
            stopped,
            log,
        }
    }

    /// Every way the run can fail "zero errors": a callback not answered 2xx (or a click
    /// refused), a room not as its clicks asked, a mention unanswered, a dead letter, an
    /// error in the stack's log, an unclean stop or a non-empty queue at the stop.
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self.errors.iter().map(|(k, n)| format!("{n} × {k}")).collect();
        if !self.settled.drained {
            out.push(format!("not drained after {:.1} s: {}", self.settled.drain_time.as_secs_f64(), self.settled.rooms_wrong.join("; ")));
        }
        match self.settled.dead_letters {
            Some(0) => {}
            Some(n) => out.push(format!("{n} dead letter(s)")),
            None => out.push("dead letters unreadable".into()),
        }
        let dropped: usize = [self.settled.wecom_setup, self.settled.wecom_load].iter().flatten().map(|c| c.dropped).sum();
        if dropped > 0 {
            out.push(format!("{dropped} WeCom app message(s) dropped for the per-member limit (30 a minute)"));
        }
        out.extend(self.settled.problems.iter().cloned());
        if self.log.errors + self.log.panics > 0 {
            out.push(format!("{} error line(s) in the stack's log: {}", self.log.errors + self.log.panics, self.log.error_lines.join(" | ")));
        }
        if !self.stopped.clean || !self.stopped.queue_empty {
            out.push(format!("the stop was not clean with an empty queue: {}", self.stopped.said));
        }
        out
    }

    pub fn clean(&self) -> bool {
        self.failures().is_empty()
    }

    pub fn table(&self) -> String {
        let mut t = String::new();
        let mb = |kb: u64| kb as f64 / 1024.0;
        let _ = writeln!(
            t,
            "callback load: {:.0}/s for {:.0} s against warroom-local ({} worker loops), {} Slack + {} Feishu + {} DingTalk + {} WeCom war rooms",
            self.rate,
            self.duration.as_secs_f64(),
            self.stack_workers,
            self.rooms[0],
            self.rooms[1],
            self.rooms[2],
            self.rooms[3]
        );
        let _ = writeln!(t, "  mix                 {}", self.mix);
        let _ = writeln!(t, "  setup               {:.1} s (incidents fired, rooms open, cards read)", self.setup_time.as_secs_f64());
        let _ = writeln!(t, "  requests            {} due, {} sent, {} not sent (in-flight cap)", self.due, self.sent, self.not_sent);
        let _ = writeln!(
            t,
            "  achieved rate       {:.1}/s sent, {:.1}/s answered well (generator late by at most {:.1} ms)",
            self.achieved_rate, self.completed_rate, self.max_lag_ms
        );
        let l = &self.latency;
        let _ = writeln!(t, "  latency (ms)        p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}", l.p50, l.p90, l.p99, l.p999, l.max);
        let _ = writeln!(t, "  {:<18}  {:>7} {:>6} {:>8} {:>8} {:>8} {:>8}", "by kind", "sent", "errors", "p50", "p99", "p99.9", "max");
        for (kind, p, failed) in &self.by_kind {
            let _ = writeln!(t, "  {:<18}  {:>7} {:>6} {:>8.2} {:>8.2} {:>8.2} {:>8.2}", kind.name(), p.count, failed, p.p50, p.p99, p.p999, p.max);
        }
        if self.by_kind.iter().any(|(k, _, _)| k.platform() == Platform::DingTalk) {
            let _ = writeln!(t, "  {:<18}  relayed by the DingTalk sandbox (the bench cannot sign them): its work is in their latency", "");
        }
        if self.by_kind.iter().any(|(k, _, _)| k.platform() == Platform::WeCom) {
            let _ = writeln!(t, "  {:<18}  relayed by the WeCom sandbox (a click's ResponseCode must be its own): its work is in their latency", "");
        }
        let clicks: Vec<String> = self.clicks.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(t, "  click answers       {}", if clicks.is_empty() { "none".into() } else { clicks.join(", ") });
        let errors: Vec<String> = self.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(t, "  errors              {}", if errors.is_empty() { "none".into() } else { errors.join(", ") });
        for e in &self.error_samples {
            let _ = writeln!(t, "    e.g. {e}");
        }
        let u = &self.usage;
        let _ = writeln!(
            t,
            "  stack RSS (MiB)     idle {:.1}, peak sampled {:.1}, VmHWM {:.1} ({} samples)",
            mb(u.idle_rss_kb),
            mb(u.peak_rss_kb),
            mb(u.hwm_kb),
            u.samples
        );
        let _ = writeln!(
            t,
            "  stack CPU           {:.1} s during the load ({:.2} cores), {:.1} s draining; generator {:.1} s",
            u.load_cpu_secs, u.load_cores, u.drain_cpu_secs, self.generator_cpu_secs
        );
        let s = &self.settled;
        let drained = if s.drained { "yes" } else { "NO" };
        let mentions: Vec<String> = Platform::ALL.map(|p| format!("{} {}/{}", p.name(), s.mentions[p.index()].1, s.mentions[p.index()].0)).to_vec();
        let _ = writeln!(t, "  drained             {drained} in {:.1} s; mentions answered {}", s.drain_time.as_secs_f64(), mentions.join(", "));
        let dead = s.dead_letters.map_or("unreadable".to_string(), |n| n.to_string());
        let _ = writeln!(t, "  dead letters        {dead}");
        let _ = writeln!(t, "  dingtalk API        load+drain {}; setup {}", calls_line(s.dingtalk_load), calls_line(s.dingtalk_setup));
        let _ = writeln!(t, "  wecom API           load+drain {}; setup {}", wecom_line(s.wecom_load), wecom_line(s.wecom_setup));
        let _ = writeln!(t, "  stack log           {} error(s), {} warning(s), {} panic(s)", self.log.errors, self.log.warnings, self.log.panics);
        for line in self.log.error_lines.iter().chain(&self.log.warning_lines) {
            let _ = writeln!(t, "    {line}");
        }
        let _ = writeln!(
            t,
            "  stop                {}",
            if self.stopped.clean && self.stopped.queue_empty { "clean, queue empty".to_string() } else { self.stopped.said.clone() }
        );
        let failures = self.failures();
        let _ = write!(t, "  verdict             {}", if failures.is_empty() { "zero errors".to_string() } else { format!("FAILED: {}", failures.join("; ")) });
        t
    }

    pub fn json(&self) -> Value {
        let u = &self.usage;
        json!({
            "bench": "callback_load",
            "rate": self.rate, "duration_s": self.duration.as_secs_f64(), "mix": self.mix, "stack_workers": self.stack_workers,
            "rooms": {"slack": self.rooms[0], "feishu": self.rooms[1], "dingtalk": self.rooms[2], "wecom": self.rooms[3]}, "setup_s": self.setup_time.as_secs_f64(),
            "due": self.due, "sent": self.sent, "not_sent": self.not_sent, "achieved_rate": self.achieved_rate, "completed_rate": self.completed_rate, "max_lag_ms": self.max_lag_ms,
            "latency": self.latency.json(),
            "by_kind": self.by_kind.iter().map(|(k, p, failed)| json!({"kind": k.name(), "errors": failed, "latency": p.json()})).collect::<Vec<_>>(),
            "clicks": self.clicks, "errors": self.errors, "error_samples": self.error_samples,
            "stack": {"idle_rss_kb": u.idle_rss_kb, "peak_rss_kb": u.peak_rss_kb, "vm_hwm_kb": u.hwm_kb, "load_cpu_s": u.load_cpu_secs,
                      "load_cores": u.load_cores, "drain_cpu_s": u.drain_cpu_secs},
            "generator_cpu_s": self.generator_cpu_secs,
            "drained": self.settled.drained, "drain_s": self.settled.drain_time.as_secs_f64(),
            "mentions": Platform::ALL.map(|p| (p.name().to_string(), json!({"sent": self.settled.mentions[p.index()].0, "answered": self.settled.mentions[p.index()].1})))
                .into_iter().collect::<serde_json::Map<String, Value>>(),
            "dead_letters": self.settled.dead_letters,
            "dingtalk_api": {"load": self.settled.dingtalk_load.map(calls_json), "setup": self.settled.dingtalk_setup.map(calls_json),
                             "relayed_by_sandbox": true},
            "wecom_api": {"load": self.settled.wecom_load.map(wecom_json), "setup": self.settled.wecom_setup.map(wecom_json),
                          "relayed_by_sandbox": true},
            "log": {"errors": self.log.errors, "warnings": self.log.warnings, "panics": self.log.panics},
            "stop": {"clean": self.stopped.clean, "queue_empty": self.stopped.queue_empty},
            "failures": self.failures(),
        })
    }
}

fn calls_line(calls: Option<DingTalkCalls>) -> String {
    calls.map_or("unreadable".into(), |c| format!("{} calls, {} throttled (QPS), {} over the monthly quota", c.calls, c.throttled, c.over_quota))
}

fn calls_json(c: DingTalkCalls) -> Value {
    json!({"calls": c.calls, "throttled": c.throttled, "over_quota": c.over_quota})
}

fn wecom_line(calls: Option<WeComCalls>) -> String {
    calls.map_or("unreadable".into(), |c| {
        format!("{} calls, {} throttled (45009), {} message(s) dropped (30 a minute per member)", c.calls, c.throttled, c.dropped)
    })
}

fn wecom_json(c: WeComCalls) -> Value {
    json!({"calls": c.calls, "throttled_45009": c.throttled, "dropped": c.dropped})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_over_every_sample() {
        let p = Percentiles::of((1..=1000).rev().map(Duration::from_millis).collect());
        assert_eq!((p.count, p.p50, p.p90, p.p99, p.p999, p.max), (1000, 500.0, 900.0, 990.0, 999.0, 1000.0));
        assert_eq!(Percentiles::of(vec![Duration::from_millis(7)]).p999, 7.0);
        assert_eq!(Percentiles::of(Vec::new()).count, 0);
    }
}
