//! The per-key request limit and OpenAI's rate-limit headers.
//!
//! OpenAI answers every call with `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`
//! and `x-ratelimit-reset-requests` (a duration such as `1s`, `6m0s`, `20ms`), and a refused one
//! with 429, `Retry-After` (seconds) and `{"error":{"type":"requests","code":"rate_limit_exceeded"}}`.
//! openai-python's retry logic reads `retry-after-ms` first, then `Retry-After`
//! (`_base_client.py`, `_calculate_retry_timeout`); Azure sends both. Only the request limit is
//! emulated; the `-tokens` family is not sent. UNCERTAIN: the exact duration format OpenAI uses
//! for sub-minute values beyond `Ns` / `Nms`.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use super::RateLimit;

/// Sliding-window admission log per key: admits at `t` iff fewer than `limit` admissions fall
/// in `(t - window, t]`. Refused requests cost nothing.
#[derive(Default)]
pub(crate) struct Limiter {
    log: HashMap<String, VecDeque<Duration>>,
}

/// The state of a key's window after a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub limit: u32,
    pub remaining: u32,
    /// Until the oldest admission leaves the window.
    pub reset: Duration,
}

impl Limiter {
    /// `Ok(window)` when admitted, `Err(window)` (remaining 0) when refused.
    pub fn admit(&mut self, key: &str, rl: RateLimit, now: Duration) -> Result<Window, Window> {
        let q = self.log.entry(key.to_string()).or_default();
        while q.front().is_some_and(|&t| t + rl.window <= now) {
            q.pop_front();
        }
        let reset_of = |q: &VecDeque<Duration>| q.front().map(|&t| (t + rl.window).saturating_sub(now)).unwrap_or(rl.window);
        if q.len() >= rl.requests as usize {
            return Err(Window { limit: rl.requests, remaining: 0, reset: reset_of(q) });
        }
        q.push_back(now);
        Ok(Window { limit: rl.requests, remaining: rl.requests - q.len() as u32, reset: reset_of(q) })
    }

    pub fn clear(&mut self) {
        self.log.clear();
    }
}

impl Window {
    /// The `x-ratelimit-*` headers for this window.
    pub fn headers(&self) -> Vec<(String, String)> {
        vec![
            ("x-ratelimit-limit-requests".into(), self.limit.to_string()),
            ("x-ratelimit-remaining-requests".into(), self.remaining.to_string()),
            ("x-ratelimit-reset-requests".into(), openai_duration(self.reset)),
        ]
    }

    /// `Retry-After` in whole seconds, rounded up, at least 1 (the header takes integers).
    pub fn retry_after_secs(&self) -> u64 {
        self.reset.as_millis().div_ceil(1000).max(1) as u64
    }
}

/// OpenAI's reset format: `20ms`, `1s`, `1.5s`, `6m0s`.
pub(crate) fn openai_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let s = d.as_secs_f64();
        if ms.is_multiple_of(1000) {
            format!("{}s", ms / 1000)
        } else {
            format!("{}s", format!("{s:.3}").trim_end_matches('0'))
        }
    } else {
        format!("{}m{}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_then_refuses_with_the_time_to_wait() {
        let mut l = Limiter::default();
        let rl = RateLimit { requests: 2, window: Duration::from_secs(10) };
        let t = Duration::from_secs(100);
        assert_eq!(l.admit("k", rl, t).unwrap().remaining, 1);
        assert_eq!(l.admit("k", rl, t + Duration::from_secs(1)).unwrap().remaining, 0);
        let refused = l.admit("k", rl, t + Duration::from_millis(2500)).unwrap_err();
        assert_eq!((refused.reset, refused.retry_after_secs()), (Duration::from_millis(7500), 8));
        assert!(l.admit("other", rl, t).is_ok(), "keys are independent");
        assert!(l.admit("k", rl, t + Duration::from_secs(10)).is_ok(), "the oldest left the window");
        assert_eq!(openai_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(openai_duration(Duration::from_secs(360)), "6m0s");
    }
}
