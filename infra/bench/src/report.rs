//! Figures of one run, from the sandbox's call records (its own clock) and the bench's
//! counters, against the lower bound the Feishu limits allow.

use crate::wrap::{secs, CounterSnapshot};
use crate::{RoomState, Scenario};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use warroom_sandbox::feishu::ratelimit::{APP_QPS, CHAT_QPS, MESSAGE_QPM};
use warroom_sandbox::feishu::{CallRecord, ChatView};

/// How the run ended, as `run` saw it.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Fire → every `ingest` returned.
    pub ingested: Duration,
    /// Fire → the store showed every room complete (50 ms polling).
    pub done_after: Option<Duration>,
    /// The queue emptied with rooms unfinished (dead letters or jobs given up).
    pub stuck: bool,
    pub timed_out: bool,
    pub rooms_complete: usize,
    pub ingest_errors: Vec<String>,
    pub dead_letters: usize,
    /// Sandbox time when the incidents were fired.
    pub fired_at_sandbox: Duration,
    pub rooms: Vec<RoomState>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointRow {
    pub endpoint: String,
    pub calls: usize,
    pub ok: usize,
    /// Refused by a rate limit (99991400 at the gateway, 230020 in IM).
    pub limited: usize,
}

/// The gateway's code for the app-level limits.
const GATEWAY_LIMITED: i64 = 99991400;
/// The IM business limit (5/s per chat, 5/s per message).
const IM_LIMITED: i64 = 230020;

#[derive(Clone, Debug)]
pub struct Report {
    pub incidents: usize,
    pub responders: usize,
    pub workers: usize,
    pub mode: &'static str,
    pub buckets: String,
    pub buckets_detail: String,
    pub max_receive_count: u32,
    pub outcome: Outcome,
    pub counters: CounterSnapshot,
    pub endpoints: Vec<EndpointRow>,
    pub calls_total: usize,
    /// `tenant_access_token` calls (outside the app limit).
    pub token_calls: usize,
    /// Calls through the gateway (every OpenAPI call but the token), refused ones included.
    pub gated_calls: usize,
    /// Gated calls no rate limit refused: the work's own calls, N of the bound.
    pub needed_calls: usize,
    pub limited_gateway: usize,
    pub limited_im: usize,
    /// Successful message sends and card patches (M).
    pub messages: usize,
    /// The most messages sent into one chat (m).
    pub max_messages_per_chat: usize,
    pub group_chats: usize,
    /// Group chats with every responder and a card, as the sandbox holds them.
    pub chats_complete: usize,
    /// First gated call → last gated call, sandbox clock.
    pub im_span: Duration,
    pub fire_to_first_call: Duration,
    pub fire_to_last_call: Duration,
    /// The brief's bound: max(N ÷ 50/s, m ÷ 5/s, M ÷ 1000/min).
    pub bound_rate: f64,
    pub bound_rate_term: &'static str,
    /// The least first→last span the sliding windows themselves allow:
    /// max((⌈N/50⌉−1) s, (⌈m/5⌉−1) s, (⌈M/1000⌉−1) min).
    pub bound_window: f64,
    /// The most calls the gateway admitted within any one second. The sandbox admits at
    /// most 50 by its own clock; the records are stamped a few microseconds after that
    /// check, so a window may show 51 when two calls straddle its edge.
    pub peak_admitted_1s: usize,
    /// Calls attempted / admitted in the first second after the first gated call.
    pub first_second_attempted: usize,
    pub first_second_admitted: usize,
    /// Per second since the first gated call: (admitted, refused).
    pub per_second: Vec<(usize, usize)>,
}

fn endpoint(c: &CallRecord) -> String {
    let path: Vec<&str> =
        c.path.trim_start_matches("/open-apis/").split('/').map(|seg| if seg.starts_with("oc_") || seg.starts_with("om_") { ":id" } else { seg }).collect();
    format!("{} {}", c.method, path.join("/"))
}

fn is_token_call(c: &CallRecord) -> bool {
    c.path.starts_with("/open-apis/auth/") || c.path.starts_with("/open-apis/authen/")
}

fn limited(c: &CallRecord) -> bool {
    c.code == GATEWAY_LIMITED || c.code == IM_LIMITED
}

fn is_message_write(c: &CallRecord) -> bool {
    (c.method == "POST" && c.path == "/open-apis/im/v1/messages") || (c.method == "PATCH" && c.path.starts_with("/open-apis/im/v1/messages/"))
}

fn ceil_div(a: usize, b: usize) -> usize {
    a.div_ceil(b.max(1))
}

impl Report {
    pub fn new(s: &Scenario, outcome: Outcome, counters: CounterSnapshot, calls: &[CallRecord], chats: &[ChatView]) -> Self {
        let mut rows: BTreeMap<String, EndpointRow> = BTreeMap::new();
        for c in calls {
            let name = endpoint(c);
            let row = rows.entry(name.clone()).or_insert(EndpointRow { endpoint: name, calls: 0, ok: 0, limited: 0 });
            row.calls += 1;
            row.ok += usize::from(c.ok);
            row.limited += usize::from(limited(c));
        }
        let gated: Vec<&CallRecord> = calls.iter().filter(|c| !is_token_call(c)).collect();
        let needed = gated.iter().filter(|c| !limited(c)).count();
        let messages = gated.iter().filter(|c| is_message_write(c) && c.ok).count();
        let groups: Vec<&ChatView> = chats.iter().filter(|c| c.chat_type != "p2p").collect();
        let max_per_chat = groups.iter().map(|c| c.messages.len()).max().unwrap_or(0);
        let chats_complete = groups.iter().filter(|c| c.members.len() >= s.responders && !c.messages.is_empty()).count();

        let first = gated.first().map(|c| c.at).unwrap_or_default();
        let last = gated.last().map(|c| c.at).unwrap_or_default();

        let app = needed as f64 / f64::from(APP_QPS);
        let chat = max_per_chat as f64 / f64::from(CHAT_QPS);
        let msgs = messages as f64 / (f64::from(MESSAGE_QPM) / 60.0);
        let (bound_rate, bound_rate_term) = [(app, "calls ÷ 50/s"), (chat, "messages per chat ÷ 5/s"), (msgs, "messages ÷ 1000/min")]
            .into_iter()
            .fold((0.0, "none"), |best, t| if t.0 > best.0 { t } else { best });
        let window = |n: usize, limit: u32, secs: f64| ceil_div(n, limit as usize).saturating_sub(1) as f64 * secs;
        let bound_window = window(needed, APP_QPS, 1.0).max(window(max_per_chat, CHAT_QPS, 1.0)).max(window(messages, MESSAGE_QPM, 60.0));

        // Sliding one-second windows over the admitted gated calls (the gateway's view).
        let admitted: Vec<Duration> = gated.iter().filter(|c| c.code != GATEWAY_LIMITED).map(|c| c.at).collect();
        let mut peak = 0;
        let mut lo = 0;
        for hi in 0..admitted.len() {
            while admitted[lo] + Duration::from_secs(1) <= admitted[hi] {
                lo += 1;
            }
            peak = peak.max(hi + 1 - lo);
        }
        let in_first_second = |c: &&&CallRecord| c.at < first + Duration::from_secs(1);
        let first_second_attempted = gated.iter().filter(in_first_second).count();
        let first_second_admitted = gated.iter().filter(in_first_second).filter(|c| c.code != GATEWAY_LIMITED).count();
        let mut per_second = vec![(0, 0); (last.saturating_sub(first).as_secs() + 1) as usize];
        for c in &gated {
            let slot = &mut per_second[c.at.saturating_sub(first).as_secs() as usize];
            if limited(c) {
                slot.1 += 1;
            } else {
                slot.0 += 1;
            }
        }

        Report {
            incidents: s.incidents,
            responders: s.responders,
            workers: s.workers,
            mode: s.mode.name(),
            buckets: s.buckets.name(),
            buckets_detail: s.buckets.describe(),
            max_receive_count: s.max_receive_count,
            fire_to_first_call: first.saturating_sub(outcome.fired_at_sandbox),
            fire_to_last_call: last.saturating_sub(outcome.fired_at_sandbox),
            outcome,
            counters,
            endpoints: rows.into_values().collect(),
            calls_total: calls.len(),
            token_calls: calls.iter().filter(|c| is_token_call(c)).count(),
            gated_calls: gated.len(),
            needed_calls: needed,
            limited_gateway: gated.iter().filter(|c| c.code == GATEWAY_LIMITED).count(),
            limited_im: gated.iter().filter(|c| c.code == IM_LIMITED).count(),
            messages,
            max_messages_per_chat: max_per_chat,
            group_chats: groups.len(),
            chats_complete,
            im_span: last.saturating_sub(first),
            bound_rate,
            bound_rate_term,
            bound_window,
            peak_admitted_1s: peak,
            first_second_attempted,
            first_second_admitted,
            per_second,
        }
    }

    pub fn rate_limited(&self) -> usize {
        self.limited_gateway + self.limited_im
    }

    pub fn all_complete(&self) -> bool {
        self.outcome.rooms_complete == self.incidents && self.outcome.ingest_errors.is_empty()
    }

    /// IM span ÷ the brief's bound.
    pub fn ratio(&self) -> Option<f64> {
        (self.bound_rate > 0.0).then(|| secs(self.im_span) / self.bound_rate)
    }

    pub fn ratio_window(&self) -> Option<f64> {
        (self.bound_window > 0.0).then(|| secs(self.im_span) / self.bound_window)
    }

    /// Issue 5's target: every room complete, no limited answer, within 1.15× the bound.
    pub fn meets_target(&self) -> bool {
        self.all_complete() && self.rate_limited() == 0 && self.ratio().is_some_and(|r| r <= 1.15)
    }

    pub fn label(&self) -> String {
        format!(
            "{} × {} {} · buckets {} · {} workers · maxReceiveCount {}",
            self.incidents, self.responders, self.mode, self.buckets, self.workers, self.max_receive_count
        )
    }

    /// A readable table.
    pub fn table(&self) -> String {
        let o = &self.outcome;
        let c = &self.counters;
        let f = |d: Duration| format!("{:.3} s", secs(d));
        let opt = |r: Option<f64>| r.map(|r| format!("{r:.3}×")).unwrap_or_else(|| "n/a".into());
        let mut t = String::new();
        let mut line = |k: &str, v: String| t.push_str(&format!("  {k:<44} {v}\n"));
        line("buckets", self.buckets_detail.clone());
        line("rooms complete (store)", format!("{} / {}", o.rooms_complete, self.incidents));
        line("group chats complete (sandbox)", format!("{} / {}", self.chats_complete, self.group_chats));
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
        line("fire → first IM call (sandbox)", f(self.fire_to_first_call));
        line("fire → last IM call (sandbox)", f(self.fire_to_last_call));
        line("IM span: first → last call (sandbox)", f(self.im_span));
        line("needed calls N (not refused)", self.needed_calls.to_string());
        line("messages M / most in one chat m", format!("{} / {}", self.messages, self.max_messages_per_chat));
        line("bound: max(N÷50/s, m÷5/s, M÷1000/min)", format!("{:.3} s ({})", self.bound_rate, self.bound_rate_term));
        line("ratio IM span ÷ bound (target ≤ 1.15)", opt(self.ratio()));
        line("window bound: (⌈N/50⌉−1) s …", format!("{:.3} s (ratio {})", self.bound_window, opt(self.ratio_window())));
        line(
            "RATE-LIMITED answers (target 0)",
            format!("{} (gateway 99991400: {}, IM 230020: {})", self.rate_limited(), self.limited_gateway, self.limited_im),
        );
        line("rate limits seen by the engine", c.platform_rate_limited.to_string());
        line("other platform errors", c.platform_errors.to_string());
        line("first second: attempted / admitted", format!("{} / {}", self.first_second_attempted, self.first_second_admitted));
        line("peak admitted in any 1 s window", self.peak_admitted_1s.to_string());
        line("job passes / done / deferred / retried", format!("{} / {} / {} / {}", c.passes, c.done, c.deferrals, c.retries));
        line("deferred time, total", format!("{:.1} s", c.deferred_ms as f64 / 1000.0));
        if c.reservations > 0 {
            line("reserved slots (simulated reserve mode)", c.reservations.to_string());
        }
        let wall = o.done_after.unwrap_or(self.fire_to_last_call).as_secs_f64().max(1e-3);
        line("worker busy (handler time ÷ workers × wall)", format!("{:.0} %", c.busy_us as f64 / 1e6 / (self.workers as f64 * wall) * 100.0));
        line("handler time per pass", format!("{:.2} ms", c.busy_us as f64 / 1000.0 / c.passes.max(1) as f64));
        line("highest receive count of a job", c.max_receive_count.to_string());
        line("sandbox calls, all endpoints", format!("{} (token: {})", self.calls_total, self.token_calls));
        let mut out = format!("== {}\n{t}", self.label());
        out.push_str(&format!("  {:<44} {:>6} {:>6} {:>8}\n", "endpoint", "calls", "ok", "limited"));
        for r in &self.endpoints {
            out.push_str(&format!("  {:<44} {:>6} {:>6} {:>8}\n", r.endpoint, r.calls, r.ok, r.limited));
        }
        let series: Vec<String> = self.per_second.iter().map(|(a, r)| if *r > 0 { format!("{a}+{r}✗") } else { a.to_string() }).collect();
        out.push_str(&format!("  per second (admitted[+refused✗]): {}\n", series.join(" ")));
        out.push_str(&format!("  target met: {}\n", if self.meets_target() { "YES" } else { "NO" }));
        out
    }

    pub fn json(&self) -> Value {
        let o = &self.outcome;
        let c = &self.counters;
        let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "incidents": self.incidents,
            "responders": self.responders,
            "workers": self.workers,
            "mode": self.mode,
            "buckets": self.buckets,
            "buckets_detail": self.buckets_detail,
            "max_receive_count": self.max_receive_count,
            "rooms_complete": o.rooms_complete,
            "chats_complete": self.chats_complete,
            "stuck": o.stuck,
            "timed_out": o.timed_out,
            "dead_letters": o.dead_letters,
            "ingest_errors": o.ingest_errors.len(),
            "fire_to_ingested_s": r3(secs(o.ingested)),
            "fire_to_done_s": o.done_after.map(|d| r3(secs(d))),
            "fire_to_first_call_s": r3(secs(self.fire_to_first_call)),
            "fire_to_last_call_s": r3(secs(self.fire_to_last_call)),
            "im_span_s": r3(secs(self.im_span)),
            "needed_calls": self.needed_calls,
            "messages": self.messages,
            "max_messages_per_chat": self.max_messages_per_chat,
            "bound_s": r3(self.bound_rate),
            "bound_term": self.bound_rate_term,
            "ratio": self.ratio().map(r3),
            "window_bound_s": r3(self.bound_window),
            "ratio_window": self.ratio_window().map(r3),
            "rate_limited": self.rate_limited(),
            "rate_limited_gateway": self.limited_gateway,
            "rate_limited_im": self.limited_im,
            "engine_saw_rate_limited": c.platform_rate_limited,
            "platform_errors": c.platform_errors,
            "first_second_attempted": self.first_second_attempted,
            "first_second_admitted": self.first_second_admitted,
            "peak_admitted_1s": self.peak_admitted_1s,
            "passes": c.passes,
            "done": c.done,
            "deferrals": c.deferrals,
            "deferred_s": r3(c.deferred_ms as f64 / 1000.0),
            "retries": c.retries,
            "max_receive_count_seen": c.max_receive_count,
            "reservations": c.reservations,
            "handler_busy_s": r3(c.busy_us as f64 / 1e6),
            "handler_ms_per_pass": r3(c.busy_us as f64 / 1000.0 / c.passes.max(1) as f64),
            "calls_total": self.calls_total,
            "token_calls": self.token_calls,
            "endpoints": self.endpoints.iter().map(|r| json!({"endpoint": r.endpoint, "calls": r.calls, "ok": r.ok, "limited": r.limited})).collect::<Vec<_>>(),
            "per_second": self.per_second.iter().map(|(a, r)| json!([a, r])).collect::<Vec<_>>(),
            "target_met": self.meets_target(),
        })
    }
}
