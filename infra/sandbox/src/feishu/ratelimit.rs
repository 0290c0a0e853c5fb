//! Exact sliding-window rate limiting (a log of admitted requests per key).
//!
//! A rule "N per W" admits a request at time `t` iff fewer than N requests were admitted in the
//! half-open window `(t - W, t]`. So no window of length W ever holds more than N admitted
//! requests, and a client pacing at exactly N/W is never refused. Refused requests are not
//! logged (they do not consume capacity). All rules of a request are checked before any is
//! charged, so a request refused by one rule costs nothing in the others.
//!
//! Limits emulated (see the report / module docs in `mod.rs` for sources and choices):
//! - every OpenAPI call with a tenant token: [`APP_QPS`] per app per second (seed 003 "All APIs:
//!   Max 50 calls/second per app"; each API page's tier "1000 次/分钟、50 次/秒");
//! - `POST /im/v1/messages` and `PATCH /im/v1/messages/:id` together: [`MESSAGE_QPM`] per app
//!   per minute (seed 003 "Send message API: Max 1000 calls/minute per app"; both API pages list
//!   "1000 次/分钟");
//!   → over either: HTTP 429, code 99991400, `x-ogw-ratelimit-*` headers.
//! - `POST /im/v1/messages` to one chat: [`CHAT_QPS`] per second, shared by all bots in the
//!   chat (send-message page: "向同一群组发送消息的限频为群内机器人共享 5 QPS");
//! - `PATCH /im/v1/messages/:id` on one message: [`MESSAGE_PATCH_QPS`] per second (patch page:
//!   "单条消息更新频控为 5 QPS");
//!   → over either: HTTP 400, code 230020 (those pages' error tables).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// Per-app OpenAPI calls per second (all APIs together).
pub const APP_QPS: u32 = 50;
/// Per-app message sends + card patches per minute.
pub const MESSAGE_QPM: u32 = 1000;
/// Sends per second into one chat (all bots together).
pub const CHAT_QPS: u32 = 5;
/// Patches per second of one message.
pub const MESSAGE_PATCH_QPS: u32 = 5;

pub(crate) const SECOND: Duration = Duration::from_secs(1);
pub(crate) const MINUTE: Duration = Duration::from_secs(60);

/// One limit to check: at most `limit` admissions per `window` under `key`.
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    pub key: String,
    pub limit: u32,
    pub window: Duration,
}

impl Rule {
    pub fn new(key: String, limit: u32, window: Duration) -> Rule {
        Rule { key, limit, window }
    }
}

/// Why a request was refused.
#[derive(Clone, Debug)]
pub(crate) struct Denied {
    pub limit: u32,
    /// Time until the oldest admission in the full window leaves it.
    pub reset: Duration,
}

impl Denied {
    /// `x-ogw-ratelimit-reset`: whole seconds, rounded up, at least 1.
    pub fn reset_secs(&self) -> u64 {
        let secs = self.reset.as_secs() + u64::from(self.reset.subsec_nanos() > 0);
        secs.max(1)
    }
}

#[derive(Default)]
pub(crate) struct Limiter {
    log: HashMap<String, VecDeque<Duration>>,
}

impl Limiter {
    /// Admits (and charges every rule) or refuses (charging nothing).
    pub fn admit(&mut self, now: Duration, rules: &[Rule]) -> Result<(), Denied> {
        for rule in rules {
            let q = self.log.entry(rule.key.clone()).or_default();
            while q.front().is_some_and(|&t| t + rule.window <= now) {
                q.pop_front();
            }
            if q.len() >= rule.limit as usize {
                let oldest = q.front().copied().unwrap_or(now);
                let reset = (oldest + rule.window).saturating_sub(now);
                return Err(Denied { limit: rule.limit, reset });
            }
        }
        for rule in rules {
            self.log.entry(rule.key.clone()).or_default().push_back(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_never_admits_more_than_its_limit_and_frees_on_time() {
        let mut l = Limiter::default();
        let rule = [Rule::new("k".into(), 2, SECOND)];
        let t0 = Duration::from_millis(100);
        assert!(l.admit(t0, &rule).is_ok());
        assert!(l.admit(t0 + Duration::from_millis(500), &rule).is_ok());
        let denied = l.admit(t0 + Duration::from_millis(999), &rule).unwrap_err();
        assert_eq!(denied.reset, Duration::from_millis(1));
        assert_eq!(denied.reset_secs(), 1);
        assert!(l.admit(t0 + SECOND, &rule).is_ok());
    }

    #[test]
    fn a_refusal_by_one_rule_charges_no_other_rule() {
        let mut l = Limiter::default();
        let tight = Rule::new("tight".into(), 1, SECOND);
        let loose = Rule::new("loose".into(), 2, SECOND);
        let now = Duration::from_secs(5);
        assert!(l.admit(now, &[tight.clone(), loose.clone()]).is_ok());
        assert!(l.admit(now, &[tight, loose.clone()]).is_err());
        assert!(l.admit(now, &[loose]).is_ok());
    }
}
