//! Token buckets as GCRA (generic cell rate algorithm): one number per bucket, the
//! "theoretical arrival time" (TAT). Equivalent to a token bucket of `capacity` tokens
//! refilled one every `interval`, but each take is a single compare-and-set on one
//! value, which DynamoDB can do in one conditional update with no read first.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A bucket: `capacity` tokens, one refilled every `interval_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketSpec {
    /// Shared by every worker that uses it, e.g. `feishu.app.cli_123` or `slack.T1.chat.postMessage`.
    pub key: String,
    pub capacity: u32,
    pub interval_ms: i64,
}

impl BucketSpec {
    /// `count` calls per `per`, with a burst of `count`. The interval is rounded up so the
    /// bucket never allows more than the limit.
    pub fn per(key: impl Into<String>, count: u32, per: Duration) -> Self {
        let count = count.max(1);
        let per_ms = per.as_millis().max(1) as i64;
        let interval_ms = (per_ms + i64::from(count) - 1) / i64::from(count);
        Self { key: key.into(), capacity: count, interval_ms: interval_ms.max(1) }
    }

    /// At most `limit` takes in ANY sliding window of `per`, allowing a burst of `burst`.
    /// `per` gives `limit` at once and `limit` more just after; a platform that counts a
    /// sliding (or fixed but unaligned) window refuses that second half. A bucket of
    /// capacity `b` and interval `i` passes at most `b + ⌊(per − 1) / i⌋` takes in any window,
    /// so `i` is chosen to keep that at `limit`.
    pub fn within(key: impl Into<String>, limit: u32, per: Duration, burst: u32) -> Self {
        let limit = limit.max(1);
        let burst = burst.clamp(1, limit);
        let per_ms = per.as_millis().max(1) as i64;
        let interval_ms = (per_ms - 1) / (i64::from(limit - burst) + 1) + 1;
        Self { key: key.into(), capacity: burst, interval_ms }
    }

    /// The most takes this bucket can grant within any window of `per` (for checks).
    pub fn max_in_window(&self, per: Duration) -> i64 {
        i64::from(self.capacity) + (per.as_millis() as i64 - 1) / self.interval_ms
    }

    /// How far ahead of now the TAT may run: the whole bucket's worth.
    pub fn burst_ms(&self) -> i64 {
        i64::from(self.capacity) * self.interval_ms
    }

    /// The TAT increment of taking `n` tokens.
    pub fn cost_ms(&self, n: u32) -> i64 {
        i64::from(n) * self.interval_ms
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Take {
    /// The tokens are yours.
    Granted,
    /// Not enough tokens; try again after this long.
    Wait(Duration),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("asked for {asked} tokens but the bucket holds at most {capacity}")]
pub struct TooManyTokens {
    pub asked: u32,
    pub capacity: u32,
}

/// The decision for one take, given the stored TAT (`None` = bucket never used).
/// Returns the new TAT to store when granted.
pub fn decide(spec: &BucketSpec, tat: Option<i64>, now: Timestamp, n: u32) -> Result<(Take, Option<i64>), TooManyTokens> {
    if n > spec.capacity || n == 0 {
        return Err(TooManyTokens { asked: n, capacity: spec.capacity });
    }
    let now = now.millis();
    let base = tat.unwrap_or(now).max(now);
    let new_tat = base + spec.cost_ms(n);
    let ahead = new_tat - now;
    if ahead <= spec.burst_ms() {
        Ok((Take::Granted, Some(new_tat)))
    } else {
        Ok((Take::Wait(Duration::from_millis((ahead - spec.burst_ms()) as u64)), None))
    }
}

/// Books `n` tokens at the earliest time the bucket allows, whatever the wait: returns that
/// time (`now` when free) and the TAT to store. Callers that reserve wait until the slot
/// and then call without taking again, so many waiters line up instead of polling.
pub fn reserve(spec: &BucketSpec, tat: Option<i64>, now: Timestamp, n: u32) -> Result<(Timestamp, i64), TooManyTokens> {
    if n > spec.capacity || n == 0 {
        return Err(TooManyTokens { asked: n, capacity: spec.capacity });
    }
    let new_tat = tat.unwrap_or(now.millis()).max(now.millis()) + spec.cost_ms(n);
    Ok((Timestamp((new_tat - spec.burst_ms()).max(now.millis())), new_tat))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> BucketSpec {
        BucketSpec::per("b", 5, Duration::from_secs(1))
    }

    #[test]
    fn a_fresh_bucket_grants_its_whole_capacity_then_asks_to_wait_one_interval() {
        let s = spec();
        let now = Timestamp(10_000);
        let mut tat = None;
        for _ in 0..5 {
            let (take, new) = decide(&s, tat, now, 1).unwrap();
            assert_eq!(take, Take::Granted);
            tat = new;
        }
        let (take, new) = decide(&s, tat, now, 1).unwrap();
        assert_eq!(take, Take::Wait(Duration::from_millis(200)));
        assert_eq!(new, None);
    }

    #[test]
    fn tokens_refill_at_the_interval() {
        let s = spec();
        let (_, tat) = decide(&s, None, Timestamp(0), 5).unwrap();
        assert_eq!(decide(&s, tat, Timestamp(199), 1).unwrap().0, Take::Wait(Duration::from_millis(1)));
        assert_eq!(decide(&s, tat, Timestamp(200), 1).unwrap().0, Take::Granted);
        assert_eq!(decide(&s, tat, Timestamp(1000), 5).unwrap().0, Take::Granted);
    }

    #[test]
    fn an_idle_bucket_does_not_bank_more_than_its_capacity() {
        let s = spec();
        let (_, tat) = decide(&s, None, Timestamp(0), 1).unwrap();
        let much_later = Timestamp(3_600_000);
        let (_, tat) = decide(&s, tat, much_later, 5).unwrap();
        assert!(matches!(decide(&s, tat, much_later, 1).unwrap().0, Take::Wait(_)));
    }

    #[test]
    fn asking_for_more_than_the_capacity_or_nothing_is_an_error() {
        assert_eq!(decide(&spec(), None, Timestamp(0), 6), Err(TooManyTokens { asked: 6, capacity: 5 }));
        assert!(decide(&spec(), None, Timestamp(0), 0).is_err());
    }

    #[test]
    fn a_window_bucket_never_grants_more_than_its_limit_in_any_window() {
        for (limit, per, burst) in [(48, 1000, 3), (50, 1000, 1), (999, 60_000, 500), (4, 1000, 2), (20, 60_000, 20)] {
            let s = BucketSpec::within("b", limit, Duration::from_millis(per), burst);
            assert!(s.max_in_window(Duration::from_millis(per)) <= i64::from(limit), "{limit}/{per}ms burst {burst}: {s:?}");
            assert!(s.max_in_window(Duration::from_millis(per)) >= i64::from(limit) - 1, "and not much less: {s:?}");
        }
        // `per` is a token bucket: up to twice the limit in a window.
        assert_eq!(BucketSpec::per("b", 50, Duration::from_secs(1)).max_in_window(Duration::from_secs(1)), 99);
    }

    #[test]
    fn a_simulated_burst_through_a_window_bucket_stays_under_a_sliding_window() {
        // Take as fast as allowed for three seconds; count takes in every 1 s window.
        let s = BucketSpec::within("b", 48, Duration::from_secs(1), 3);
        let (mut tat, mut taken) = (None, Vec::new());
        for ms in 0..3000 {
            while let Ok((Take::Granted, new)) = decide(&s, tat, Timestamp(ms), 1) {
                tat = new;
                taken.push(ms);
            }
        }
        for start in 0..2000 {
            let in_window = taken.iter().filter(|t| **t >= start && **t < start + 1000).count();
            assert!(in_window <= 48, "{in_window} takes in [{start}, {}) ms", start + 1000);
        }
    }

    #[test]
    fn reservations_line_up_one_interval_apart_once_the_burst_is_used() {
        let s = BucketSpec { key: "b".into(), capacity: 2, interval_ms: 100 };
        let mut tat = None;
        let mut slots = Vec::new();
        for _ in 0..5 {
            let (slot, new) = reserve(&s, tat, Timestamp(1000), 1).unwrap();
            tat = Some(new);
            slots.push(slot.millis());
        }
        assert_eq!(slots, [1000, 1000, 1100, 1200, 1300]);
        // A taker that does not reserve sees the booked bucket as busy.
        assert!(matches!(decide(&s, tat, Timestamp(1000), 1).unwrap().0, Take::Wait(_)));
    }

    #[test]
    fn intervals_round_up_so_the_limit_is_never_exceeded() {
        let s = BucketSpec::per("b", 3, Duration::from_secs(1));
        assert_eq!(s.interval_ms, 334);
        assert!(s.burst_ms() >= 1000);
    }
}
