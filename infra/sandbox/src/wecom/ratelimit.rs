//! WeCom's limits (`wecom.md` §3, §5; official "访问频率限制", doc 90454):
//!
//! - per corp, per API: **10,000 calls/min** (current page) → `45009 api freq out of limit`
//!   ([`API_PER_MINUTE`]). UNCERTAIN: an older copy of the page says 2,000/min; the sandbox
//!   uses the current figure and lets tests configure any other.
//! - app messages (`message/send`), per app to the same member: **30/min**, "excess silently
//!   dropped" ([`USER_MESSAGES_PER_MINUTE`]); not counted in the basic frequency. The 1000/hour
//!   and daily person-time caps are not emulated.
//! - app chats: ≤ 1000 created per corp per day, ≤ 1000 changes per corp per hour
//!   ([`CHAT_CREATES_PER_DAY`], [`CHAT_CHANGES_PER_HOUR`]).
//!
//! Not emulated: the per-IP limits (one sandbox is behind one address), the hourly per-API
//! 150,000, the 20% wrong-lookup one-day block (§4), concurrency (45033), the appchat/send
//! person-time caps and the per-member 200/min group cap.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

pub const API_PER_MINUTE: u32 = 10_000;
pub const USER_MESSAGES_PER_MINUTE: u32 = 30;
pub const CHAT_CREATES_PER_DAY: u32 = 1000;
pub const CHAT_CHANGES_PER_HOUR: u32 = 1000;
pub(crate) const MINUTE: Duration = Duration::from_secs(60);

/// Sliding-window admission log: a key admits at `t` iff fewer than `limit` admissions fall in
/// `(t - window, t]`. Refused attempts cost nothing.
#[derive(Default)]
pub(crate) struct Limiter {
    log: HashMap<String, VecDeque<Duration>>,
}

impl Limiter {
    pub fn admit(&mut self, key: &str, limit: u32, window: Duration, now: Duration) -> bool {
        let q = self.log.entry(key.to_string()).or_default();
        while q.front().is_some_and(|&t| t + window <= now) {
            q.pop_front();
        }
        if q.len() >= limit as usize {
            return false;
        }
        q.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_refuses_the_next_and_frees_a_minute_later() {
        let mut l = Limiter::default();
        let t0 = Duration::from_secs(5);
        for _ in 0..3 {
            assert!(l.admit("k", 3, MINUTE, t0));
        }
        assert!(!l.admit("k", 3, MINUTE, t0 + Duration::from_secs(59)));
        assert!(l.admit("other", 3, MINUTE, t0), "keys are independent");
        assert!(l.admit("k", 3, MINUTE, t0 + MINUTE));
    }
}
