//! Issue 7, item 1: a bad-input corpus per callback surface (Slack events and interactions,
//! Feishu events and cards, with the real adapters against the sandboxes) and per intake
//! source (generic, Alertmanager, PagerDuty), at least 1,000 requests each, generated
//! from a fixed seed: forged signatures, replays, tampered, truncated, oversized, wrongly
//! encoded and wrongly typed bodies, missing headers, wrong keys, unknown integrations.
//! Each goes through the merged routers in-process; each must be refused (400/401/403/
//! 404/413/415/422) with a JSON error, never a 5xx; a replay of an applied event may be
//! answered 200/202 "already handled". The store (every item), the queue and the
//! platform's state must be the same before and after the whole corpus.
//!
//! One module per surface: [`intake`], [`slack`], [`feishu`]; [`callbacks`] seals and signs
//! bodies for the platforms; the generator and runner are in `common::corpus`.

mod callbacks;
#[path = "../common/mod.rs"]
mod common;
mod dingtalk;
mod feishu;
mod intake;
mod slack;
mod wecom;

use common::corpus;
use serde_json::Value;

/// Requests per kind (oversized ones are fewer: each is over a megabyte for intake).
pub(crate) const PER_KIND: usize = 110;
pub(crate) const OVERSIZED: usize = 40;
pub(crate) const INTAKE_LIMIT: usize = 1 << 20;
pub(crate) const EVENTS_LIMIT: usize = 256 * 1024;
pub(crate) const CARDS_LIMIT: usize = 64 * 1024;

pub(crate) fn kinds_plan() -> Vec<(&'static str, usize)> {
    [
        "forged_signature",
        "stale_timestamp",
        "replay",
        "tampered",
        "truncated",
        "wrong_encoding",
        "wrong_types",
        "missing_headers",
        "wrong_key",
        "unknown_integration",
    ]
    .into_iter()
    .map(|k| (k, PER_KIND))
    .chain([("oversized", OVERSIZED)])
    .collect()
}

pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn form(json: &Value) -> Vec<u8> {
    format!("payload={}", percent_encode(&json.to_string())).into_bytes()
}

pub(crate) fn fail_with(surface: &str, tally: Result<corpus::Tally, String>) -> corpus::Tally {
    match tally {
        Ok(t) => {
            eprintln!("{}", t.report(surface));
            assert!(t.total >= 1000, "{surface}: only {} requests", t.total);
            t
        }
        Err(first) => panic!("bad-input corpus, first offending request: {first}"),
    }
}

/// Lines that differ between two snapshots, for the failure message.
pub(crate) fn diff<T: std::fmt::Debug + PartialEq>(before: &[T], after: &[T]) -> String {
    let gone: Vec<_> = before.iter().filter(|x| !after.contains(x)).take(5).collect();
    let new: Vec<_> = after.iter().filter(|x| !before.contains(x)).take(5).collect();
    format!("removed/changed: {gone:#?}\nadded/changed: {new:#?}")
}
