//! Rate limits per the reference §5: tiers are "per API method per workspace/team per app"
//! (Tier 2 = 20/min, Tier 3 = 50/min, Tier 4 = 100/min); chat.postMessage "generally allows
//! posting one message per second per channel", "short bursts >1 allowed". Source:
//! <https://docs.slack.dev/apis/web-api/rate-limits>. Modelled as token buckets, so a full
//! tier's count passes at once and the next call waits for a refill.

use std::collections::HashMap;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tier {
    T2,
    T3,
    T4,
    /// "Special" / scraped `t5` (auth.test, oauth.v2.access): the docs give no number, so the
    /// sandbox does not limit them (UNCERTAIN).
    Special,
    /// chat.postMessage: 1 per second per channel, bursts of 2 (the burst size is ours; the
    /// docs only say "short bursts >1 allowed").
    PerChannel,
}

impl Tier {
    /// (bucket capacity, refill per second), or None when unlimited.
    fn shape(self) -> Option<(f64, f64)> {
        match self {
            Tier::T2 => Some((20.0, 20.0 / 60.0)),
            Tier::T3 => Some((50.0, 50.0 / 60.0)),
            Tier::T4 => Some((100.0, 100.0 / 60.0)),
            Tier::PerChannel => Some((2.0, 1.0)),
            Tier::Special => None,
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Default)]
pub(crate) struct RateLimiter {
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    /// Takes one call from the bucket `key` (team + method [+ channel]); Err(retry_after_secs)
    /// when empty, rounded up, at least 1.
    pub fn take(&mut self, key: String, tier: Tier, now: Instant) -> Result<(), u64> {
        let Some((capacity, rate)) = tier.shape() else { return Ok(()) };
        let b = self.buckets.entry(key).or_insert(Bucket { tokens: capacity, last: now });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - b.tokens) / rate).ceil() as u64).max(1))
        }
    }

    pub fn clear(&mut self) {
        self.buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_tier_2_bucket_passes_twenty_then_asks_to_wait_three_seconds() {
        let mut l = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..20 {
            assert!(l.take("k".into(), Tier::T2, t0).is_ok());
        }
        assert_eq!(l.take("k".into(), Tier::T2, t0), Err(3));
        assert!(l.take("k".into(), Tier::T2, t0 + Duration::from_secs(3)).is_ok());
    }

    #[test]
    fn post_message_allows_a_burst_of_two_then_one_per_second() {
        let mut l = RateLimiter::default();
        let t0 = Instant::now();
        assert!(l.take("c".into(), Tier::PerChannel, t0).is_ok());
        assert!(l.take("c".into(), Tier::PerChannel, t0).is_ok());
        assert_eq!(l.take("c".into(), Tier::PerChannel, t0), Err(1));
        assert!(l.take("other".into(), Tier::PerChannel, t0).is_ok());
        assert!(l.take("c".into(), Tier::PerChannel, t0 + Duration::from_secs(1)).is_ok());
    }
}
