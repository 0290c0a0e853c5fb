//! Figures of one DingTalk run, from the sandbox's call records (its own clock) and the
//! bench's counters, against the lower bound DingTalk's per-app per-API QPS allows.

use super::lateness::quantile;
use super::{DingScenario, EDITION};
use crate::buckets::Shape;
use crate::report::Outcome;
use crate::wrap::{secs, CounterSnapshot};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use warroom_sandbox::dingtalk::CallRecord;

/// One incident's scene group as the sandbox holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SandboxRoom {
    /// The group the store points at exists and is not disbanded.
    pub exists: bool,
    pub members_present: usize,
    pub members_wanted: usize,
    /// Cards delivered to the group.
    pub cards: usize,
}

impl SandboxRoom {
    pub fn complete(&self) -> bool {
        self.exists && self.members_present == self.members_wanted && self.cards == 1
    }
}

/// What `run` read back from the sandbox at the end.
#[derive(Clone, Debug, Default)]
pub struct SandboxFigures {
    /// Scene groups created, all of them.
    pub groups: usize,
    /// Per incident, in the order of `Outcome::rooms`.
    pub rooms: Vec<SandboxRoom>,
    /// Metered calls the sandbox counted against the monthly quota during the burst.
    pub metered_admitted: u64,
    /// The sandbox's own count of throttled answers.
    pub throttled: usize,
}

/// One DingTalk API (method and path).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiRow {
    pub api: String,
    /// Counted against the monthly quota (token and contacts APIs are not).
    pub metered: bool,
    /// Behind DingTalk's per-app per-API QPS (every API but the token).
    pub gated: bool,
    pub calls: usize,
    pub ok: usize,
    pub throttled: usize,
    /// Calls not throttled: what the work itself needed.
    pub needed: usize,
    /// needed ÷ QPS.
    pub bound_s: f64,
    /// The most admitted calls within any one second (the sandbox admits at most the QPS by
    /// its own clock; records are stamped just after, so two calls straddling a window's
    /// edge may show one more).
    pub peak_1s: usize,
}

#[derive(Clone, Debug)]
pub struct DingReport {
    pub incidents: usize,
    pub responders: usize,
    pub workers: usize,
    pub mode: &'static str,
    pub buckets: String,
    pub buckets_detail: String,
    pub max_receive_count: u32,
    pub jitter: bool,
    pub qps: u32,
    pub outcome: Outcome,
    pub counters: CounterSnapshot,
    pub sandbox: SandboxFigures,
    pub apis: Vec<ApiRow>,
    pub calls_total: usize,
    pub token_calls: usize,
    pub gated_calls: usize,
    pub needed_calls: usize,
    pub throttled: usize,
    /// Metered calls not throttled, from the call records.
    pub metered_needed: usize,
    pub rooms_in_sandbox_complete: usize,
    /// First gated call → last gated call, sandbox clock.
    pub im_span: Duration,
    pub fire_to_first_call: Duration,
    pub fire_to_last_call: Duration,
    /// max over APIs of needed ÷ QPS.
    pub bound: f64,
    pub bound_api: String,
    /// The least first → last span the sliding windows themselves allow:
    /// max over APIs of (⌈needed ÷ QPS⌉ − 1) s.
    pub bound_window: f64,
    /// Per second since the first gated call: (admitted, throttled).
    pub per_second: Vec<(usize, usize)>,
    /// How late deferred jobs were handed back to the engine past the time they were
    /// deferred to (sorted; see `super::lateness`).
    pub lateness: Vec<Duration>,
}

fn is_token(c: &CallRecord) -> bool {
    c.path == "/gettoken" || c.path == "/v1.0/oauth2/accessToken"
}

/// "Token, auth and contacts APIs are exempt" (notes Q9), as the sandbox meters.
fn is_metered(c: &CallRecord) -> bool {
    !is_token(c) && c.path != "/topapi/v2/user/getbymobile"
}

fn throttled(c: &CallRecord) -> bool {
    c.code == "90018" || c.code == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
}

fn peak_in_one_second(at: &[Duration]) -> usize {
    let (mut peak, mut lo) = (0, 0);
    for hi in 0..at.len() {
        while at[lo] + Duration::from_secs(1) <= at[hi] {
            lo += 1;
        }
        peak = peak.max(hi + 1 - lo);
    }
    peak
}

impl DingReport {
    pub fn new(
        s: &DingScenario,
        shipped: Option<Shape>,
        outcome: Outcome,
        counters: CounterSnapshot,
        calls: &[CallRecord],
        sandbox: SandboxFigures,
        lateness: &[Duration],
    ) -> Self {
        let qps = EDITION.qps_per_api();
        let mut by_api: BTreeMap<String, Vec<&CallRecord>> = BTreeMap::new();
        for c in calls {
            by_api.entry(format!("{} {}", c.method, c.path)).or_default().push(c);
        }
        let apis: Vec<ApiRow> = by_api
            .into_iter()
            .map(|(api, cs)| {
                let needed = cs.iter().filter(|c| !throttled(c)).count();
                let admitted: Vec<Duration> = cs.iter().filter(|c| !throttled(c)).map(|c| c.at).collect();
                let gated = !is_token(cs[0]);
                ApiRow {
                    api,
                    metered: is_metered(cs[0]),
                    gated,
                    calls: cs.len(),
                    ok: cs.iter().filter(|c| c.ok).count(),
                    throttled: cs.iter().filter(|c| throttled(c)).count(),
                    needed,
                    bound_s: if gated { needed as f64 / f64::from(qps) } else { 0.0 },
                    peak_1s: peak_in_one_second(&admitted),
                }
            })
            .collect();
        let gated: Vec<&CallRecord> = calls.iter().filter(|c| !is_token(c)).collect();
        if std::env::var_os("DT_DEBUG").is_some() {
            for (i, c) in calls.iter().enumerate().filter(|(_, c)| throttled(c)) {
                let before: Vec<String> = calls[..i]
                    .iter()
                    .filter(|p| p.path == c.path && !throttled(p) && p.at + Duration::from_secs(1) > c.at)
                    .map(|p| format!("{}", (c.at - p.at).as_millis()))
                    .collect();
                eprintln!("THROTTLED {} at {:?}: {} admitted in the second before, ms before: {}", c.path, c.at, before.len(), before.join(","));
            }
        }
        let first = gated.first().map(|c| c.at).unwrap_or_default();
        let last = gated.last().map(|c| c.at).unwrap_or_default();
        let (bound, bound_api) =
            apis.iter().filter(|r| r.gated).fold((0.0, "none".to_string()), |best, r| if r.bound_s > best.0 { (r.bound_s, r.api.clone()) } else { best });
        let bound_window = apis.iter().filter(|r| r.gated).map(|r| r.needed.div_ceil(qps as usize).saturating_sub(1) as f64).fold(0.0, f64::max);
        let mut per_second = vec![(0, 0); (last.saturating_sub(first).as_secs() + 1) as usize];
        for c in &gated {
            let slot = &mut per_second[c.at.saturating_sub(first).as_secs() as usize];
            if throttled(c) {
                slot.1 += 1;
            } else {
                slot.0 += 1;
            }
        }
        let buckets_detail = match (s.buckets.shape(), shipped) {
            (Some(shape), _) => format!("every family {}", super::buckets::describe(shape)),
            (None, Some(shape)) => format!("as shipped: every family {}", super::buckets::describe(shape)),
            (None, None) => "as shipped".into(),
        };
        DingReport {
            incidents: s.incidents,
            responders: s.responders,
            workers: s.workers,
            mode: s.mode.name(),
            buckets: s.buckets.name(),
            buckets_detail: format!("{buckets_detail}; one bucket per app and API family, slots reserved by the engine"),
            max_receive_count: s.max_receive_count,
            jitter: s.jitter,
            qps,
            counters,
            calls_total: calls.len(),
            token_calls: calls.iter().filter(|c| is_token(c)).count(),
            gated_calls: gated.len(),
            needed_calls: gated.iter().filter(|c| !throttled(c)).count(),
            throttled: calls.iter().filter(|c| throttled(c)).count(),
            metered_needed: calls.iter().filter(|c| is_metered(c) && !throttled(c)).count(),
            rooms_in_sandbox_complete: sandbox.rooms.iter().filter(|r| r.complete()).count(),
            fire_to_first_call: first.saturating_sub(outcome.fired_at_sandbox),
            fire_to_last_call: last.saturating_sub(outcome.fired_at_sandbox),
            im_span: last.saturating_sub(first),
            bound,
            bound_api,
            bound_window,
            per_second,
            lateness: lateness.to_vec(),
            apis,
            outcome,
            sandbox,
        }
    }

    pub fn all_complete(&self) -> bool {
        self.outcome.rooms_complete == self.incidents && self.outcome.ingest_errors.is_empty()
    }

    /// One scene group per incident, each with its responders and one card.
    pub fn every_room_once(&self) -> bool {
        self.sandbox.groups == self.incidents && self.rooms_in_sandbox_complete == self.incidents
    }

    /// IM span ÷ bound.
    pub fn ratio(&self) -> Option<f64> {
        (self.bound > 0.0).then(|| secs(self.im_span) / self.bound)
    }

    /// Fire → last DingTalk call ÷ bound.
    pub fn ratio_from_fire(&self) -> Option<f64> {
        (self.bound > 0.0).then(|| secs(self.fire_to_last_call) / self.bound)
    }

    pub fn ratio_window(&self) -> Option<f64> {
        (self.bound_window > 0.0).then(|| secs(self.im_span) / self.bound_window)
    }

    /// Every room complete (store and DingTalk), no throttled answer, within 1.15× the bound.
    pub fn meets_target(&self) -> bool {
        self.all_complete() && self.every_room_once() && self.throttled == 0 && self.ratio().is_some_and(|r| r <= 1.15)
    }

    fn per_incident(&self, n: usize) -> f64 {
        n as f64 / self.incidents.max(1) as f64
    }

    pub fn label(&self) -> String {
        format!(
            "DingTalk {} × {} {} · buckets {} · {} workers · maxReceiveCount {} · engine jitter {} · standard edition {} QPS per app per API",
            self.incidents,
            self.responders,
            self.mode,
            self.buckets,
            self.workers,
            self.max_receive_count,
            if self.jitter { "on" } else { "OFF (bench)" },
            self.qps
        )
    }

    pub fn table(&self) -> String {
        let o = &self.outcome;
        let c = &self.counters;
        let f = |d: Duration| format!("{:.3} s", secs(d));
        let opt = |r: Option<f64>| r.map(|r| format!("{r:.3}×")).unwrap_or_else(|| "n/a".into());
        let mut t = String::new();
        let mut line = |k: &str, v: String| t.push_str(&format!("  {k:<46} {v}\n"));
        line("buckets", self.buckets_detail.clone());
        line("rooms complete (store)", format!("{} / {}", o.rooms_complete, self.incidents));
        line("scene groups created / complete (sandbox)", format!("{} / {}", self.sandbox.groups, self.rooms_in_sandbox_complete));
        if o.stuck || o.timed_out {
            line("ENDED", if o.stuck { "stuck: queue empty, rooms unfinished".into() } else { "timed out".into() });
        }
        line("dead-lettered jobs", o.dead_letters.to_string());
        if !o.ingest_errors.is_empty() {
            line("ingest errors", format!("{} (first: {})", o.ingest_errors.len(), o.ingest_errors[0]));
        }
        let errors: BTreeMap<&str, usize> = o.rooms.iter().filter_map(|r| r.last_error.as_deref()).fold(BTreeMap::new(), |mut m, e| {
            *m.entry(e).or_default() += 1;
            m
        });
        for (e, n) in errors {
            line("room error", format!("{n} × {e}"));
        }
        line("fire → all ingested", f(o.ingested));
        line("fire → all rooms complete (store, 50 ms poll)", o.done_after.map(f).unwrap_or_else(|| "never".into()));
        line("fire → first DingTalk call (sandbox)", f(self.fire_to_first_call));
        line("fire → last DingTalk call (sandbox)", f(self.fire_to_last_call));
        line("TIME: first → last DingTalk call (sandbox)", f(self.im_span));
        line("BOUND: max over APIs of calls ÷ QPS", format!("{:.3} s ({})", self.bound, self.bound_api));
        line("RATIO time ÷ bound (target ≤ 1.15)", opt(self.ratio()));
        line("ratio fire → last call ÷ bound", opt(self.ratio_from_fire()));
        line("window bound: max (⌈calls/QPS⌉−1) s", format!("{:.3} s (ratio {})", self.bound_window, opt(self.ratio_window())));
        line("THROTTLED answers (target 0)", format!("{} (sandbox count: {})", self.throttled, self.sandbox.throttled));
        line("rate limits seen by the engine", c.platform_rate_limited.to_string());
        line("other platform errors", c.platform_errors.to_string());
        line("job passes / done / deferred / retried", format!("{} / {} / {} / {}", c.passes, c.done, c.deferrals, c.retries));
        line("deferred time, total", format!("{:.1} s", c.deferred_ms as f64 / 1000.0));
        let wall = o.done_after.unwrap_or(self.fire_to_last_call).as_secs_f64().max(1e-3);
        line("worker busy (handler time ÷ workers × wall)", format!("{:.0} %", c.busy_us as f64 / 1e6 / (self.workers as f64 * wall) * 100.0));
        line("highest receive count of a job", c.max_receive_count.to_string());
        line(
            "deferred jobs back late: p50 / p90 / p99 / max",
            format!(
                "{} (of {} redeliveries)",
                [0.5, 0.9, 0.99, 1.0].map(|q| format!("{:.0} ms", secs(quantile(&self.lateness, q)) * 1000.0)).join(" / "),
                self.lateness.len()
            ),
        );
        line("DingTalk calls, all (token)", format!("{} ({})", self.calls_total, self.token_calls));
        line(
            "calls per incident: all / needed / metered",
            format!(
                "{:.2} / {:.2} / {:.2} (sandbox metered {:.2})",
                self.per_incident(self.calls_total),
                self.per_incident(self.needed_calls),
                self.per_incident(self.metered_needed),
                self.sandbox.metered_admitted as f64 / self.incidents.max(1) as f64
            ),
        );
        let metered = self.per_incident(self.metered_needed);
        if metered > 0.0 {
            line("standard edition: incidents per 10,000 calls", format!("{:.0} a month (metered calls only)", EDITION.monthly_calls() as f64 / metered));
        }
        let mut out = format!("== {}\n{t}", self.label());
        out.push_str(&format!(
            "  {:<44} {:>6} {:>6} {:>6} {:>9} {:>8} {:>8} {:>7}\n",
            "API", "calls", "ok", "thrtl", "/incident", "metered", "bound s", "peak1s"
        ));
        for r in &self.apis {
            out.push_str(&format!(
                "  {:<44} {:>6} {:>6} {:>6} {:>9.2} {:>8} {:>8.3} {:>7}\n",
                r.api,
                r.calls,
                r.ok,
                r.throttled,
                self.per_incident(r.calls),
                if r.metered { "yes" } else { "no" },
                r.bound_s,
                r.peak_1s
            ));
        }
        let series: Vec<String> = self.per_second.iter().map(|(a, r)| if *r > 0 { format!("{a}+{r}✗") } else { a.to_string() }).collect();
        out.push_str(&format!("  per second, all APIs (admitted[+throttled✗]): {}\n", series.join(" ")));
        out.push_str(&format!("  target met: {}\n", if self.meets_target() { "YES" } else { "NO" }));
        out
    }

    pub fn json(&self) -> Value {
        let o = &self.outcome;
        let c = &self.counters;
        let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "platform": "dingtalk",
            "edition": "standard",
            "qps_per_api": self.qps,
            "incidents": self.incidents,
            "responders": self.responders,
            "workers": self.workers,
            "mode": self.mode,
            "buckets": self.buckets,
            "buckets_detail": self.buckets_detail,
            "max_receive_count": self.max_receive_count,
            "engine_jitter": self.jitter,
            "rooms_complete": o.rooms_complete,
            "groups_created": self.sandbox.groups,
            "groups_complete": self.rooms_in_sandbox_complete,
            "stuck": o.stuck,
            "timed_out": o.timed_out,
            "dead_letters": o.dead_letters,
            "ingest_errors": o.ingest_errors.len(),
            "fire_to_ingested_s": r3(secs(o.ingested)),
            "fire_to_done_s": o.done_after.map(|d| r3(secs(d))),
            "fire_to_first_call_s": r3(secs(self.fire_to_first_call)),
            "fire_to_last_call_s": r3(secs(self.fire_to_last_call)),
            "im_span_s": r3(secs(self.im_span)),
            "bound_s": r3(self.bound),
            "bound_api": self.bound_api,
            "ratio": self.ratio().map(r3),
            "ratio_from_fire": self.ratio_from_fire().map(r3),
            "window_bound_s": r3(self.bound_window),
            "ratio_window": self.ratio_window().map(r3),
            "throttled": self.throttled,
            "engine_saw_rate_limited": c.platform_rate_limited,
            "platform_errors": c.platform_errors,
            "passes": c.passes,
            "deferrals": c.deferrals,
            "retries": c.retries,
            "max_receive_count_seen": c.max_receive_count,
            "late_ms": {
                "redeliveries": self.lateness.len(),
                "p50": r3(secs(quantile(&self.lateness, 0.5)) * 1000.0),
                "p90": r3(secs(quantile(&self.lateness, 0.9)) * 1000.0),
                "p99": r3(secs(quantile(&self.lateness, 0.99)) * 1000.0),
                "max": r3(secs(quantile(&self.lateness, 1.0)) * 1000.0),
            },
            "calls_total": self.calls_total,
            "token_calls": self.token_calls,
            "needed_calls": self.needed_calls,
            "metered_calls": self.metered_needed,
            "sandbox_metered_calls": self.sandbox.metered_admitted,
            "calls_per_incident": r3(self.per_incident(self.calls_total)),
            "metered_per_incident": r3(self.per_incident(self.metered_needed)),
            "apis": self.apis.iter().map(|r| json!({
                "api": r.api, "calls": r.calls, "ok": r.ok, "throttled": r.throttled, "metered": r.metered,
                "per_incident": r3(self.per_incident(r.calls)), "bound_s": r3(r.bound_s), "peak_1s": r.peak_1s,
            })).collect::<Vec<_>>(),
            "per_second": self.per_second.iter().map(|(a, r)| json!([a, r])).collect::<Vec<_>>(),
            "target_met": self.meets_target(),
        })
    }
}
