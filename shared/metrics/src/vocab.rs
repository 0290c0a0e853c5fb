//! The typed helpers: the only way Warroom code should emit a metric. Free-form labels are
//! `&'static str` (platform names, route templates, source names, call families: compiled
//! into the binary, never read from a request) or enums; a runtime `String` such as an
//! email, a chat id or a token cannot be passed:
//!
//! ```compile_fail
//! let email = String::from("ada@example.com");
//! warroom_metrics::member_unreachable(&email); // expected `&'static str`
//! ```
//!
//! The only runtime value is the tenant id of `job`, which becomes an EMF property (never a
//! dimension) and is dropped on Prometheus.

use crate::names::*;
use std::time::Duration;

macro_rules! label_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

label_enum!(
    /// How a callback was answered: 2xx/3xx, 4xx, 5xx.
    CallbackOutcome { Ok => "ok", Refused => "refused", Failed => "failed" }
);
label_enum!(
    /// Why a callback was refused (from its 4xx status).
    RefusalReason {
        Malformed => "malformed",
        Unauthenticated => "unauthenticated",
        UnknownIntegration => "unknown_integration",
        TooLarge => "too_large",
        Method => "method",
        Other => "other",
    }
);
label_enum!(
    /// What became of one intake event (or of a refused or failed request, counted once).
    IntakeOutcome { Created => "created", Updated => "updated", Ignored => "ignored", Refused => "refused", Failed => "failed" }
);
label_enum!(
    /// What became of one job delivery.
    JobOutcome { Processed => "processed", Deferred => "deferred", Retried => "retried", Skipped => "skipped", GivenUp => "given_up" }
);
label_enum!(
    /// What an IM API call came to.
    ImOutcome {
        Ok => "ok",
        RateLimited => "rate_limited",
        Unauthorized => "unauthorized",
        MissingPermission => "missing_permission",
        NotFound => "not_found",
        Transient => "transient",
        Rejected => "rejected",
    }
);
label_enum!(
    /// Why an integration is unhealthy.
    UnhealthyReason { Revoked => "revoked", MissingPermission => "missing_permission" }
);
label_enum!(
    /// What a status sync back to the source came to.
    SyncOutcome { Ok => "ok", Deferred => "deferred", Failed => "failed", Skipped => "skipped" }
);
label_enum!(
    /// What a model call came to.
    ModelOutcome { Ok => "ok", RateLimited => "rate_limited", Failed => "failed" }
);

impl RefusalReason {
    /// The reason a 4xx status stands for.
    pub fn from_status(status: u16) -> Self {
        match status {
            400 | 415 | 422 => RefusalReason::Malformed,
            401 | 403 => RefusalReason::Unauthenticated,
            404 => RefusalReason::UnknownIntegration,
            405 => RefusalReason::Method,
            413 => RefusalReason::TooLarge,
            _ => RefusalReason::Other,
        }
    }
}

impl CallbackOutcome {
    pub fn from_status(status: u16) -> Self {
        match status {
            500.. => CallbackOutcome::Failed,
            400..=499 => CallbackOutcome::Refused,
            _ => CallbackOutcome::Ok,
        }
    }
}

/// One IM callback answered (`route`: the route template, e.g. `/im/{integration_id}/events`).
pub fn callback(platform: &'static str, route: &'static str, outcome: CallbackOutcome, latency: Duration) {
    metrics::counter!(CALLBACKS, "platform" => platform, "route" => route, "outcome" => outcome.as_str()).increment(1);
    metrics::histogram!(CALLBACK_SECONDS, "platform" => platform, "route" => route).record(latency.as_secs_f64());
}

pub fn callback_refused(platform: &'static str, reason: RefusalReason) {
    metrics::counter!(CALLBACKS_REFUSED, "platform" => platform, "reason" => reason.as_str()).increment(1);
}

pub fn intake(source: &'static str, outcome: IntakeOutcome) {
    metrics::counter!(INTAKE_EVENTS, "source" => source, "outcome" => outcome.as_str()).increment(1);
}

/// One job delivery handled. `tenant`: attached as an EMF property (not a dimension).
pub fn job(kind: &'static str, outcome: JobOutcome, tenant: Option<&str>) {
    match tenant.filter(|t| valid_tenant(t)) {
        Some(t) => metrics::counter!(JOBS, "kind" => kind, "outcome" => outcome.as_str(), TENANT => t.to_owned()).increment(1),
        None => metrics::counter!(JOBS, "kind" => kind, "outcome" => outcome.as_str()).increment(1),
    }
}

/// Time in the queue before the first delivery.
pub fn job_wait(kind: &'static str, wait: Duration) {
    metrics::histogram!(JOB_WAIT_SECONDS, "kind" => kind).record(wait.as_secs_f64());
}

pub fn job_run(kind: &'static str, run: Duration) {
    metrics::histogram!(JOB_RUN_SECONDS, "kind" => kind).record(run.as_secs_f64());
}

/// One IM API call. A rate limit also counts in `im_rate_limited` (call it with the wait).
pub fn im_call(platform: &'static str, family: &'static str, outcome: ImOutcome, latency: Duration) {
    metrics::counter!(IM_CALLS, "platform" => platform, "family" => family, "outcome" => outcome.as_str()).increment(1);
    metrics::histogram!(IM_CALL_SECONDS, "platform" => platform, "family" => family).record(latency.as_secs_f64());
}

pub fn im_rate_limited(platform: &'static str, family: &'static str, wait: Duration) {
    metrics::counter!(IM_RATE_LIMITED, "platform" => platform, "family" => family).increment(1);
    metrics::histogram!(IM_RATE_LIMIT_WAIT_SECONDS, "platform" => platform, "family" => family).record(wait.as_secs_f64());
}

/// An integration found revoked or lacking a permission (the `IntegrationUnhealthy` alarm).
pub fn integration_unhealthy(platform: &'static str, reason: UnhealthyReason) {
    metrics::counter!(INTEGRATION_UNHEALTHY, "platform" => platform, "reason" => reason.as_str()).increment(1);
}

/// A war room became ready; `time_to_ready`: from the incident's creation.
pub fn room_opened(platform: &'static str, time_to_ready: Duration) {
    metrics::counter!(ROOMS_OPENED, "platform" => platform).increment(1);
    metrics::histogram!(ROOM_READY_SECONDS, "platform" => platform).record(time_to_ready.as_secs_f64());
}

pub fn member_unreachable(platform: &'static str) {
    metrics::counter!(MEMBERS_UNREACHABLE, "platform" => platform).increment(1);
}

pub fn status_sync(source: &'static str, outcome: SyncOutcome) {
    metrics::counter!(STATUS_SYNC, "source" => source, "outcome" => outcome.as_str()).increment(1);
}

pub fn model_call(provider: &'static str, outcome: ModelOutcome, tokens_in: u64, tokens_out: u64, latency: Duration) {
    metrics::counter!(MODEL_CALLS, "provider" => provider, "outcome" => outcome.as_str()).increment(1);
    metrics::counter!(MODEL_TOKENS, "provider" => provider, "direction" => "in").increment(tokens_in);
    metrics::counter!(MODEL_TOKENS, "provider" => provider, "direction" => "out").increment(tokens_out);
    metrics::histogram!(MODEL_CALL_SECONDS, "provider" => provider).record(latency.as_secs_f64());
}
