//! Every metric Warroom emits, in one table: the recorders refuse names and label keys that
//! are not here, and docs/operability.md and the tests are checked against it.

/// What the metric is to the facade (and to CloudWatch: its unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A count of events (EMF unit `Count`, Prometheus counter).
    Counter,
    /// A duration in seconds (EMF unit `Seconds`, Prometheus histogram).
    Seconds,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: Kind,
    /// The only label keys it may carry (besides `tenant`, a property on EMF and dropped on
    /// Prometheus). All low-cardinality: never ids of tenants, incidents, users or chats.
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

impl MetricDef {
    /// The EMF `Unit`.
    pub fn unit(&self) -> &'static str {
        match self.kind {
            Kind::Counter => "Count",
            Kind::Seconds => "Seconds",
        }
    }
}

const fn counter(name: &'static str, labels: &'static [&'static str], help: &'static str) -> MetricDef {
    MetricDef { name, kind: Kind::Counter, labels, help }
}

const fn seconds(name: &'static str, labels: &'static [&'static str], help: &'static str) -> MetricDef {
    MetricDef { name, kind: Kind::Seconds, labels, help }
}

pub const CALLBACKS: &str = "warroom_callbacks_total";
pub const CALLBACK_SECONDS: &str = "warroom_callback_seconds";
pub const CALLBACKS_REFUSED: &str = "warroom_callbacks_refused_total";
pub const INTAKE_EVENTS: &str = "warroom_intake_events_total";
pub const JOBS: &str = "warroom_jobs_total";
pub const JOB_WAIT_SECONDS: &str = "warroom_job_wait_seconds";
pub const JOB_RUN_SECONDS: &str = "warroom_job_run_seconds";
pub const IM_CALLS: &str = "warroom_im_calls_total";
pub const IM_CALL_SECONDS: &str = "warroom_im_call_seconds";
pub const IM_RATE_LIMITED: &str = "warroom_im_rate_limited_total";
pub const IM_RATE_LIMIT_WAIT_SECONDS: &str = "warroom_im_rate_limit_wait_seconds";
pub const INTEGRATION_UNHEALTHY: &str = "warroom_integration_unhealthy_total";
pub const ROOMS_OPENED: &str = "warroom_rooms_opened_total";
pub const ROOM_READY_SECONDS: &str = "warroom_room_ready_seconds";
pub const MEMBERS_UNREACHABLE: &str = "warroom_members_unreachable_total";
pub const STATUS_SYNC: &str = "warroom_status_sync_total";
pub const MODEL_CALLS: &str = "warroom_model_calls_total";
pub const MODEL_TOKENS: &str = "warroom_model_tokens_total";
pub const MODEL_CALL_SECONDS: &str = "warroom_model_call_seconds";

/// The label that is never a dimension: an EMF property, dropped on Prometheus.
pub const TENANT: &str = "tenant";

pub const METRICS: &[MetricDef] = &[
    counter(CALLBACKS, &["platform", "route", "outcome"], "IM callbacks answered, by platform, route template and outcome (ok, refused, failed)."),
    seconds(CALLBACK_SECONDS, &["platform", "route"], "Time to answer an IM callback."),
    counter(CALLBACKS_REFUSED, &["platform", "reason"], "IM callbacks refused (4xx), by reason."),
    counter(INTAKE_EVENTS, &["source", "outcome"], "Incident events from on-call systems, by source and outcome."),
    counter(JOBS, &["kind", "outcome"], "Queued jobs handled, by kind and outcome (processed, deferred, retried, skipped, given_up)."),
    seconds(JOB_WAIT_SECONDS, &["kind"], "Time a job waited in the queue before its first delivery."),
    seconds(JOB_RUN_SECONDS, &["kind"], "Time a job took to handle."),
    counter(IM_CALLS, &["platform", "family", "outcome"], "IM API calls, by platform, call family and outcome."),
    seconds(IM_CALL_SECONDS, &["platform", "family"], "IM API call latency."),
    counter(IM_RATE_LIMITED, &["platform", "family"], "IM API calls answered with a rate limit (429 or the platform's code)."),
    seconds(IM_RATE_LIMIT_WAIT_SECONDS, &["platform", "family"], "The wait a rate-limited IM call was told to observe."),
    counter(
        INTEGRATION_UNHEALTHY,
        &["platform", "reason"],
        "IM calls refused for revoked credentials or missing permissions (reason: revoked, missing_permission).",
    ),
    counter(ROOMS_OPENED, &["platform"], "War rooms opened."),
    seconds(ROOM_READY_SECONDS, &["platform"], "Time from the incident's creation to its war room being ready (chat, members, card)."),
    counter(MEMBERS_UNREACHABLE, &["platform"], "Responders who could not be invited (no IM account linked or found)."),
    counter(STATUS_SYNC, &["source", "outcome"], "Status changes synced back to the incident's source, by outcome."),
    counter(MODEL_CALLS, &["provider", "outcome"], "Assistant model calls, by provider and outcome."),
    counter(MODEL_TOKENS, &["provider", "direction"], "Model tokens, by direction (in, out)."),
    seconds(MODEL_CALL_SECONDS, &["provider"], "Assistant model call latency."),
];

pub fn lookup(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.name == name)
}

/// A label value the recorders accept: short, lowercase, from a closed vocabulary's
/// alphabet (route templates keep their `/` and `{}`). An email (`@`), a token with
/// capitals, or free text never passes.
pub fn valid_value(v: &str) -> bool {
    !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'/' | b'{' | b'}'))
}

/// A tenant id as the store makes them; anything else is not attached.
pub fn valid_tenant(v: &str) -> bool {
    !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
