//! Rate limits through the shared token buckets: before each IM call the engine takes a
//! token from every bucket the platform names. When one must wait, a job books the next
//! free slot (a reservation) and is deferred until exactly then; when it comes back it uses
//! its booked token instead of taking again. Waiters line up instead of polling, so
//! nothing sleeps in a worker and no slot is wasted. Outside a job (a callback's reply)
//! there is nothing to come back, so a wait is just reported.

use crate::Engine;
use std::time::Duration;
use warroom_core::ratelimit::{BucketSpec, Take};
use warroom_core::{ApiFamily, ChatId, ImError, ImPlatform, Timestamp};

tokio::task_local! {
    /// Who holds reservations in this task: the job's group (one job of a group runs at a
    /// time, so its reservations are its own).
    pub(crate) static HOLDER: String;
    /// Set when this task's job is deferred for a slot it booked: it comes back at that
    /// slot exactly, so the handler adds no contention jitter (a random delay could land it
    /// in a later second beside the calls booked there; measured with `dingtalk_burst`).
    pub(crate) static OWN_SLOT: std::cell::Cell<bool>;
}

/// How long a reservation is kept past its slot (a job that comes back late still uses it).
const KEEP_PAST_SLOT: Duration = Duration::from_secs(300);

impl Engine {
    pub(crate) async fn throttle(&self, platform: &dyn ImPlatform, family: ApiFamily, chat: Option<&ChatId>) -> Result<(), ImError> {
        let now = self.clock.now();
        let holder = HOLDER.try_with(Clone::clone).ok();
        let mut wait = Duration::ZERO;
        for bucket in platform.buckets(family, chat) {
            let booked = match &holder {
                Some(h) => self.booked(&bucket, h, now).await,
                None => None,
            };
            match booked {
                Some(slot) if slot <= now => continue,
                Some(slot) => wait = wait.max(now.until(slot)),
                None => wait = wait.max(self.take_or_book(&bucket, holder.as_deref(), now).await),
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            // With a holder every wait is for a booked slot (`booked` or `take_or_book`).
            let _ = OWN_SLOT.try_with(|own| own.set(holder.is_some()));
            Err(ImError::RateLimited { retry_after: wait.max(Duration::from_millis(1)) })
        }
    }

    /// For best-effort calls: takes tokens only if every bucket has one now, and never
    /// books a slot (nobody would come back to use it).
    pub(crate) async fn try_take(&self, platform: &dyn ImPlatform, family: ApiFamily, chat: Option<&ChatId>) -> bool {
        let now = self.clock.now();
        for bucket in platform.buckets(family, chat) {
            if let Ok(Take::Wait(_)) = self.store.take_tokens(&bucket, 1, now).await {
                return false;
            }
        }
        true
    }

    fn reservation_key(bucket: &BucketSpec, holder: &str) -> String {
        format!("resv:{}:{holder}", bucket.key)
    }

    /// This holder's reservation on the bucket, used up if its time has come.
    async fn booked(&self, bucket: &BucketSpec, holder: &str, now: Timestamp) -> Option<Timestamp> {
        let key = Self::reservation_key(bucket, holder);
        let slot = Timestamp(self.store.get_ephemeral(&key, now).await.ok().flatten()?.parse().ok()?);
        if slot <= now {
            // Used: the next call of this holder takes (or books) afresh.
            let _ = self.store.take_ephemeral(&key, now).await;
        }
        Some(slot)
    }

    /// Takes a token now, or books the next slot; returns how long to wait (zero: go).
    async fn take_or_book(&self, bucket: &BucketSpec, holder: Option<&str>, now: Timestamp) -> Duration {
        let wait = match self.store.take_tokens(bucket, 1, now).await {
            Ok(Take::Granted) => return Duration::ZERO,
            Ok(Take::Wait(d)) => d,
            // A bucket that cannot be read must not stop an incident: the platform's own
            // 429 still protects us, and it is honoured the same way.
            Err(e) => {
                tracing::warn!(bucket = %bucket.key, error = %e, "rate-limit bucket unavailable; calling anyway");
                return Duration::ZERO;
            }
        };
        let Some(holder) = holder else { return wait };
        match self.store.reserve_tokens(bucket, 1, now).await {
            Ok(slot) => {
                let ttl = now.until(slot) + KEEP_PAST_SLOT;
                if let Err(e) = self.store.put_ephemeral(&Self::reservation_key(bucket, holder), &slot.millis().to_string(), ttl, now).await {
                    tracing::warn!(bucket = %bucket.key, error = %e, "reservation not recorded; the job will take afresh");
                }
                now.until(slot)
            }
            Err(e) => {
                tracing::warn!(bucket = %bucket.key, error = %e, "could not reserve; waiting for the next token");
                wait
            }
        }
    }
}
