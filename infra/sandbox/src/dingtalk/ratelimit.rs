//! DingTalk's limits (reference §5 and notes Q9, the official throttling page):
//!
//! - per app per API: 20 QPS on the standard (free) edition, 40 professional, 60 exclusive
//!   → old API `errcode 90018`, v1.0 HTTP 403 `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi`
//!   ([`Edition::qps`]; a sliding one-second window, [`Limiter`]);
//! - per org per month: 10,000 metered calls on the standard edition (500,000 / 5,500,000 on
//!   the paid ones, reference §5 table), token / auth / contacts APIs exempt, reset on the 1st
//!   → `errcode 90020` / `Forbidden.AccessDenied.ApiCountLimitForOrg` ([`Edition::monthly_quota`]).
//!
//! Not emulated: the global per-API limit (90002 / `QpsLimitForApi`, all orgs together) and the
//! per-IP 10,000 calls / 20 s ban: one sandbox is one org behind one IP.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub(crate) const SECOND: Duration = Duration::from_secs(1);

/// The org's DingTalk edition, which sets its QPS and monthly quota.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edition {
    /// 标准版 (free).
    #[default]
    Standard,
    /// 专业版.
    Professional,
    /// 专属版.
    Exclusive,
}

impl Edition {
    /// Calls per second per app per API.
    pub fn qps(self) -> u32 {
        match self {
            Edition::Standard => 20,
            Edition::Professional => 40,
            Edition::Exclusive => 60,
        }
    }

    /// Metered calls per org per calendar month.
    pub fn monthly_quota(self) -> u64 {
        match self {
            Edition::Standard => 10_000,
            Edition::Professional => 500_000,
            Edition::Exclusive => 5_500_000,
        }
    }
}

/// Sliding-window admission log: a key admits at `t` iff fewer than `limit` admissions fall in
/// `(t - window, t]`. Refused requests cost nothing.
#[derive(Default)]
pub(crate) struct Limiter {
    log: HashMap<String, VecDeque<Duration>>,
}

impl Limiter {
    /// `Err(time until a slot frees)` when full.
    pub fn admit(&mut self, key: &str, limit: u32, window: Duration, now: Duration) -> Result<(), Duration> {
        let q = self.log.entry(key.to_string()).or_default();
        while q.front().is_some_and(|&t| t + window <= now) {
            q.pop_front();
        }
        if q.len() >= limit as usize {
            let oldest = q.front().copied().unwrap_or(now);
            return Err((oldest + window).saturating_sub(now));
        }
        q.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_refuses_the_next_and_frees_on_time() {
        let mut l = Limiter::default();
        let t0 = Duration::from_secs(3);
        for _ in 0..Edition::Standard.qps() {
            assert!(l.admit("k", Edition::Standard.qps(), SECOND, t0).is_ok());
        }
        assert_eq!(l.admit("k", 20, SECOND, t0 + Duration::from_millis(400)), Err(Duration::from_millis(600)));
        assert!(l.admit("other", 20, SECOND, t0).is_ok(), "keys are independent");
        assert!(l.admit("k", 20, SECOND, t0 + SECOND).is_ok());
    }
}
