//! Figures of one WeCom run, from the sandbox's call records (its own clock), its world at the
//! end and the bench's counters, against the lower bound WeCom's limits allow ([`super::bound`]).

use super::bound::{self, Bound, Limits, Needs};
use super::{WeComScenario, OWNER};
use crate::dingtalk::lateness::quantile;
use crate::report::Outcome;
use crate::wrap::{secs, CounterSnapshot};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use warroom_core::{ApiFamily, ChatId, ImPlatform};
use warroom_sandbox::wecom::{codes, CallRecord};

/// One incident's app group as the sandbox holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SandboxRoom {
    /// The group the store points at exists.
    pub exists: bool,
    /// Owned by the configured owner.
    pub owner: bool,
    pub members_present: usize,
    pub members_wanted: usize,
    /// Status messages (markdown) the app posted in the group.
    pub group_messages: usize,
    /// Responders holding a template card.
    pub responders_with_card: usize,
}

impl SandboxRoom {
    pub fn complete(&self) -> bool {
        self.exists && self.owner && self.members_present == self.members_wanted && self.group_messages == 1 && self.responders_with_card == self.members_wanted
    }
}

/// What `run` read back from the sandbox at the end.
#[derive(Clone, Debug, Default)]
pub struct SandboxFigures {
    /// App groups created, all of them.
    pub groups: usize,
    /// Per incident, in the order of `Outcome::rooms`.
    pub rooms: Vec<SandboxRoom>,
    /// Template cards delivered, all members.
    pub cards: usize,
    pub owner_cards: usize,
    /// App messages accepted but silently not delivered (over 30 a minute to one member).
    pub dropped: usize,
    /// Per member: app messages sent to them (delivered or dropped).
    pub messages_to: HashMap<String, usize>,
    /// 45009 answers, the sandbox's count.
    pub throttled: usize,
}

/// One WeCom API (method and path).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiRow {
    pub api: String,
    /// Counted in the per-corp per-API limit (all but the token and `message/send`).
    pub counted: bool,
    pub calls: usize,
    pub ok: usize,
    /// Answered 45009.
    pub throttled: usize,
    /// The most admitted calls within any one minute.
    pub peak_60s: usize,
}

#[derive(Clone, Debug)]
pub struct WeComReport {
    pub incidents: usize,
    pub responders: usize,
    pub workers: usize,
    pub mode: &'static str,
    pub limits: Limits,
    /// The adapter's buckets, one line per family.
    pub buckets: Vec<String>,
    pub max_receive_count: u32,
    pub jitter: bool,
    pub outcome: Outcome,
    pub counters: CounterSnapshot,
    pub sandbox: SandboxFigures,
    pub apis: Vec<ApiRow>,
    pub calls_total: usize,
    pub token_calls: usize,
    /// Calls other than the token's, refused ones included.
    pub gated_calls: usize,
    pub throttled: usize,
    pub rooms_in_sandbox_complete: usize,
    /// First → last WeCom call but the token's, sandbox clock.
    pub im_span: Duration,
    pub fire_to_first_call: Duration,
    pub fire_to_last_call: Duration,
    /// From what the run asked of WeCom.
    pub bound: Bound,
    /// From what `incidents` rooms need ([`Needs::predict`]): equal unless something was
    /// called more often than a room needs.
    pub predicted: Bound,
    /// (slot width, per slot since the first call: (admitted, throttled)).
    pub series: (u64, Vec<(usize, usize)>),
    pub lateness: Vec<Duration>,
}

fn is_token(c: &CallRecord) -> bool {
    c.path == "/cgi-bin/gettoken"
}

fn throttled(c: &CallRecord) -> bool {
    c.errcode == codes::FREQ_LIMIT
}

fn api(c: &CallRecord) -> String {
    format!("{} {}", c.method, c.path)
}

fn peak_in(at: &[Duration], window: Duration) -> usize {
    let (mut peak, mut lo) = (0, 0);
    for hi in 0..at.len() {
        while at[lo] + window <= at[hi] {
            lo += 1;
        }
        peak = peak.max(hi + 1 - lo);
    }
    peak
}

/// The adapter's buckets for a new room, one line per family: `Members: Members 10:30ms
/// (≤2009/min) + chat_changes 20:3600ms (≤1019/h)`.
pub fn describe_buckets(client: &dyn ImPlatform) -> Vec<String> {
    let chat = ChatId::new("wrBENCHCHAT");
    [(ApiFamily::CreateChat, None), (ApiFamily::Members, Some(&chat)), (ApiFamily::Message, Some(&chat)), (ApiFamily::Lookup, None)]
        .into_iter()
        .map(|(family, chat)| {
            let specs = client.buckets(family, chat);
            let parts: Vec<String> = specs
                .iter()
                .map(|b| {
                    let name = b.key.splitn(3, '.').nth(2).unwrap_or(&b.key).replace("wrBENCHCHAT", "{chat}");
                    let (m, h) = (b.max_in_window(Duration::from_secs(60)), b.max_in_window(Duration::from_secs(3600)));
                    format!("{name} {}:{}ms (≤{m}/min, ≤{h}/h)", b.capacity, b.interval_ms)
                })
                .collect();
            format!("{family:?}: {}", if parts.is_empty() { "none".into() } else { parts.join(" + ") })
        })
        .collect()
}

impl WeComReport {
    pub fn new(
        s: &WeComScenario,
        buckets: Vec<String>,
        outcome: Outcome,
        counters: CounterSnapshot,
        calls: &[CallRecord],
        sandbox: SandboxFigures,
        lateness: &[Duration],
    ) -> Self {
        let mut by_api: BTreeMap<String, Vec<&CallRecord>> = BTreeMap::new();
        for c in calls {
            by_api.entry(api(c)).or_default().push(c);
        }
        let apis: Vec<ApiRow> = by_api
            .iter()
            .map(|(api, cs)| {
                let admitted: Vec<Duration> = cs.iter().filter(|c| !throttled(c)).map(|c| c.at).collect();
                ApiRow {
                    api: api.clone(),
                    counted: !is_token(cs[0]) && api != bound::MESSAGE,
                    calls: cs.len(),
                    ok: cs.iter().filter(|c| c.errcode == 0).count(),
                    throttled: cs.iter().filter(|c| throttled(c)).count(),
                    peak_60s: peak_in(&admitted, Duration::from_secs(60)),
                }
            })
            .collect();
        let ok_of = |name: &str| apis.iter().find(|r| r.api == name).map(|r| r.ok).unwrap_or(0);
        let needs = Needs {
            apis: apis.iter().filter(|r| r.counted).map(|r| (r.api.clone(), r.calls - r.throttled)).collect(),
            busiest_member: sandbox.messages_to.iter().max_by_key(|(u, n)| (**n, u.as_str() == OWNER)).map(|(u, n)| (u.clone(), *n)),
            creates: ok_of(bound::CREATE),
            changes: ok_of(bound::UPDATE),
        };
        let limits = Limits::from(&s.sandbox);
        let lookup = s.mode == crate::Mode::Lookup;
        // As the DingTalk report: the token's calls are not behind the limits.
        let gated: Vec<&CallRecord> = calls.iter().filter(|c| !is_token(c)).collect();
        let first = gated.first().map(|c| c.at).unwrap_or_default();
        let last = gated.last().map(|c| c.at).unwrap_or_default();
        let span = last.saturating_sub(first);
        let width = if span <= Duration::from_secs(60) { 1 } else { 10 };
        let mut series = vec![(0, 0); (span.as_secs() / width + 1) as usize];
        for c in &gated {
            let slot = &mut series[(c.at.saturating_sub(first).as_secs() / width) as usize];
            if throttled(c) {
                slot.1 += 1;
            } else {
                slot.0 += 1;
            }
        }
        WeComReport {
            incidents: s.incidents,
            responders: s.responders,
            workers: s.workers,
            mode: s.mode.name(),
            limits,
            buckets,
            max_receive_count: s.max_receive_count,
            jitter: s.jitter,
            counters,
            calls_total: calls.len(),
            token_calls: calls.iter().filter(|c| is_token(c)).count(),
            gated_calls: gated.len(),
            throttled: calls.iter().filter(|c| throttled(c)).count(),
            rooms_in_sandbox_complete: sandbox.rooms.iter().filter(|r| r.complete()).count(),
            im_span: span,
            fire_to_first_call: first.saturating_sub(outcome.fired_at_sandbox),
            fire_to_last_call: last.saturating_sub(outcome.fired_at_sandbox),
            bound: Bound::new(limits, &needs),
            predicted: Bound::new(limits, &Needs::predict(s.incidents, s.responders, lookup, OWNER)),
            series: (width, series),
            lateness: lateness.to_vec(),
            apis,
            outcome,
            sandbox,
        }
    }

    pub fn all_complete(&self) -> bool {
        self.outcome.rooms_complete == self.incidents && self.outcome.ingest_errors.is_empty()
    }

    /// One app group per incident, each with its owner and responders, one status message and
    /// a card for every responder.
    pub fn every_room_once(&self) -> bool {
        self.sandbox.groups == self.incidents && self.rooms_in_sandbox_complete == self.incidents
    }

    /// IM span ÷ bound.
    pub fn ratio(&self) -> Option<f64> {
        (self.bound.bound_s > 0.0).then(|| secs(self.im_span) / self.bound.bound_s)
    }

    pub fn ratio_window(&self) -> Option<f64> {
        (self.bound.window_s > 0.0).then(|| secs(self.im_span) / self.bound.window_s)
    }

    /// Every room complete, no 45009, no dropped message, within 1.15× the bound.
    pub fn meets_target(&self) -> bool {
        self.all_complete() && self.every_room_once() && self.throttled == 0 && self.sandbox.dropped == 0 && self.ratio().is_some_and(|r| r <= 1.15)
    }

    fn per_incident(&self, n: usize) -> f64 {
        n as f64 / self.incidents.max(1) as f64
    }

    pub fn label(&self) -> String {
        let l = &self.limits;
        format!(
            "WeCom {} × {} {} · {} workers · maxReceiveCount {} · engine jitter {} · limits {}/min per API, {}/min to a member, {}/day creates, {}/h changes",
            self.incidents,
            self.responders,
            self.mode,
            self.workers,
            self.max_receive_count,
            if self.jitter { "on" } else { "OFF (bench)" },
            l.api_per_minute,
            l.user_messages_per_minute,
            l.chat_creates_per_day,
            l.chat_changes_per_hour
        )
    }

    pub fn table(&self) -> String {
        let o = &self.outcome;
        let c = &self.counters;
        let f = |d: Duration| format!("{:.3} s", secs(d));
        let opt = |r: Option<f64>| r.map(|r| format!("{r:.3}×")).unwrap_or_else(|| "n/a".into());
        let mut t = String::new();
        let mut line = |k: &str, v: String| t.push_str(&format!("  {k:<46} {v}\n"));
        for b in &self.buckets {
            line("adapter buckets", b.clone());
        }
        line("rooms complete (store)", format!("{} / {}", o.rooms_complete, self.incidents));
        line("app groups created / complete (sandbox)", format!("{} / {}", self.sandbox.groups, self.rooms_in_sandbox_complete));
        if o.stuck || o.timed_out {
            line("ENDED", if o.stuck { "stuck: queue empty, rooms unfinished".into() } else { "timed out".into() });
        }
        line("dead-lettered jobs", o.dead_letters.to_string());
        if !o.ingest_errors.is_empty() {
            line("ingest errors", format!("{} (first: {})", o.ingest_errors.len(), o.ingest_errors[0]));
        }
        let mut errors: BTreeMap<&str, usize> = BTreeMap::new();
        for e in o.rooms.iter().filter_map(|r| r.last_error.as_deref()) {
            *errors.entry(e).or_default() += 1;
        }
        for (e, n) in errors {
            line("room error", format!("{n} × {e}"));
        }
        line("fire → all ingested", f(o.ingested));
        line("fire → all rooms complete (store, 50 ms poll)", o.done_after.map(f).unwrap_or_else(|| "never".into()));
        line("fire → first / last WeCom call (sandbox)", format!("{} / {}", f(self.fire_to_first_call), f(self.fire_to_last_call)));
        line("TIME: first → last WeCom call (sandbox)", f(self.im_span));
        line("BOUND: the largest limit term", format!("{:.3} s ({})", self.bound.bound_s, self.bound.binding));
        line("RATIO time ÷ bound (target ≤ 1.15)", opt(self.ratio()));
        line("window bound: max (⌈calls/limit⌉−1) windows", format!("{:.3} s (ratio {})", self.bound.window_s, opt(self.ratio_window())));
        line("bound predicted from one room's calls", format!("{:.3} s ({})", self.predicted.bound_s, self.predicted.binding));
        line("THROTTLED 45009 answers (target 0)", format!("{} (sandbox count: {})", self.throttled, self.sandbox.throttled));
        line("DROPPED app messages (target 0)", self.sandbox.dropped.to_string());
        line("cards delivered (to the owner)", format!("{} ({})", self.sandbox.cards, self.sandbox.owner_cards));
        line("rate limits seen by the engine", c.platform_rate_limited.to_string());
        line("other platform errors", c.platform_errors.to_string());
        line("job passes / done / deferred / retried", format!("{} / {} / {} / {}", c.passes, c.done, c.deferrals, c.retries));
        line("deferred time, total", format!("{:.1} s", c.deferred_ms as f64 / 1000.0));
        line("highest receive count of a job", c.max_receive_count.to_string());
        let q = [0.5, 0.9, 0.99, 1.0].map(|q| format!("{:.0} ms", secs(quantile(&self.lateness, q)) * 1000.0)).join(" / ");
        line("deferred jobs back late: p50 / p90 / p99 / max", format!("{q} (of {} redeliveries)", self.lateness.len()));
        line("WeCom calls, all (token)", format!("{} ({})", self.calls_total, self.token_calls));
        line("calls per incident, all but the token", format!("{:.2}", self.per_incident(self.gated_calls)));
        let mut out = format!("== {}\n{t}", self.label());
        out.push_str(&format!("  {:<40} {:>6} {:>6} {:>6} {:>9} {:>8} {:>8}\n", "API", "calls", "ok", "45009", "/incident", "counted", "peak60s"));
        for r in &self.apis {
            let counted = if r.counted { "yes" } else { "no" };
            let per = self.per_incident(r.calls);
            out.push_str(&format!("  {:<40} {:>6} {:>6} {:>6} {:>9.2} {:>8} {:>8}\n", r.api, r.calls, r.ok, r.throttled, per, counted, r.peak_60s));
        }
        out.push_str(&format!("  {:<58} {:>6} {:>11} {:>9} {:>9}\n", "limit term", "calls", "limit", "bound s", "window s"));
        for term in &self.bound.terms {
            out.push_str(&format!("  {:<58} {:>6} {:>11} {:>9.3} {:>9.3}\n", term.what, term.calls, term.limit_text(), term.bound_s, term.window_s));
        }
        let series: Vec<String> = self.series.1.iter().map(|(a, r)| if *r > 0 { format!("{a}+{r}✗") } else { a.to_string() }).collect();
        out.push_str(&format!("  calls per {} s, all APIs (admitted[+45009✗]): {}\n", self.series.0, series.join(" ")));
        out.push_str(&format!("  target met: {}\n", if self.meets_target() { "YES" } else { "NO" }));
        out
    }

    pub fn json(&self) -> Value {
        let o = &self.outcome;
        let c = &self.counters;
        let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
        let l = &self.limits;
        json!({
            "platform": "wecom",
            "limits": {"api_per_minute": l.api_per_minute, "user_messages_per_minute": l.user_messages_per_minute,
                "chat_creates_per_day": l.chat_creates_per_day, "chat_changes_per_hour": l.chat_changes_per_hour},
            "incidents": self.incidents,
            "responders": self.responders,
            "workers": self.workers,
            "mode": self.mode,
            "buckets": self.buckets,
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
            "bound_s": r3(self.bound.bound_s),
            "bound_term": self.bound.binding,
            "ratio": self.ratio().map(r3),
            "window_bound_s": r3(self.bound.window_s),
            "ratio_window": self.ratio_window().map(r3),
            "predicted_bound_s": r3(self.predicted.bound_s),
            "throttled": self.throttled,
            "dropped": self.sandbox.dropped,
            "cards": self.sandbox.cards,
            "owner_cards": self.sandbox.owner_cards,
            "engine_saw_rate_limited": c.platform_rate_limited,
            "platform_errors": c.platform_errors,
            "passes": c.passes,
            "deferrals": c.deferrals,
            "retries": c.retries,
            "max_receive_count_seen": c.max_receive_count,
            "late_ms_p99": r3(secs(quantile(&self.lateness, 0.99)) * 1000.0),
            "calls_total": self.calls_total,
            "token_calls": self.token_calls,
            "calls_per_incident": r3(self.per_incident(self.gated_calls)),
            "apis": self.apis.iter().map(|r| json!({
                "api": r.api, "calls": r.calls, "ok": r.ok, "throttled": r.throttled, "counted": r.counted,
                "per_incident": r3(self.per_incident(r.calls)), "peak_60s": r.peak_60s,
            })).collect::<Vec<_>>(),
            "terms": self.bound.terms.iter().map(|t| json!({"what": t.what, "calls": t.calls, "limit": t.limit_text(),
                "bound_s": r3(t.bound_s), "window_s": r3(t.window_s)})).collect::<Vec<_>>(),
            "target_met": self.meets_target(),
        })
    }
}
