//! Rate limits through the shared token buckets: before each IM call the engine takes a
//! token from every bucket the platform names. A wait becomes `ImError::RateLimited`,
//! which the job handler turns into a deferral: the worker never sleeps.

use crate::Engine;
use std::time::Duration;
use warroom_core::ratelimit::Take;
use warroom_core::{ApiFamily, ChatId, ImError, ImPlatform};

impl Engine {
    pub(crate) async fn throttle(&self, platform: &dyn ImPlatform, family: ApiFamily, chat: Option<&ChatId>) -> Result<(), ImError> {
        let now = self.clock.now();
        for bucket in platform.buckets(family, chat) {
            match self.store.take_tokens(&bucket, 1, now).await {
                Ok(Take::Granted) => {}
                Ok(Take::Wait(d)) => return Err(ImError::RateLimited { retry_after: d.max(Duration::from_millis(50)) }),
                // A bucket that cannot be read must not stop an incident: the platform's own
                // 429 still protects us, and it is honoured the same way.
                Err(e) => tracing::warn!(bucket = %bucket.key, error = %e, "rate-limit bucket unavailable; calling anyway"),
            }
        }
        Ok(())
    }
}
