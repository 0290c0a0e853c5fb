//! An app access token shared by every instance of every function: this process's copy,
//! else the Store's ephemeral value, else a fresh one from the platform — stored for
//! everyone until its expiry minus the platform's safety margin. Feishu, DingTalk and WeCom
//! each hand out tokens this way (their own `token.rs` says how one is fetched; this is
//! what they share).
//!
//! The platforms answer a second request inside the validity window with a still-valid
//! token, so concurrent refreshes by several instances are harmless. The token is held in
//! a [`Secret`] and never formatted into a log line or an error.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom_core::{Clock, ImResult, Store, Timestamp};
use warroom_secrets::Secret;

/// The Store does not say how long a cached token has left: a copy read from it is kept
/// this long at most, so a refresh by another instance is picked up soon.
const STORE_COPY_FOR: Duration = Duration::from_secs(60);

struct Cached {
    token: Secret,
    until: Timestamp,
}

pub(crate) struct TokenCache {
    /// The Store's key, e.g. `feishu-token:{app_id}`: names the app, never the secret.
    key: String,
    margin: Duration,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    memo: Mutex<Option<Cached>>,
}

impl TokenCache {
    pub(crate) fn new(key: String, margin: Duration, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { key, margin, store, clock, memo: Mutex::new(None) }
    }

    fn remember(&self, token: &str, until: Timestamp) {
        *self.memo.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached { token: Secret::new(token), until });
    }

    /// The shared token; `fetch` (a new token and its lifetime in seconds) only when
    /// neither this process nor the Store has one.
    pub(crate) async fn current<F, Fut>(&self, fetch: F) -> ImResult<Secret>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ImResult<(Secret, u64)>>,
    {
        let now = self.clock.now();
        if let Some(c) = self.memo.lock().unwrap_or_else(|p| p.into_inner()).as_ref().filter(|c| c.until > now) {
            return Ok(c.token.clone());
        }
        match self.store.get_ephemeral(&self.key, now).await {
            Ok(Some(token)) => {
                self.remember(&token, now.plus(STORE_COPY_FOR));
                return Ok(Secret::new(token));
            }
            Ok(None) => {}
            // A cache outage must not stop the war room: fetch a token directly.
            Err(e) => tracing::warn!(cache = %self.key, error = %e, "token cache unreadable"),
        }
        self.refresh(fetch).await
    }

    /// A new token from `fetch`, stored for everyone (after the platform said the old one
    /// is no good, or when none is cached).
    pub(crate) async fn refresh<F, Fut>(&self, fetch: F) -> ImResult<Secret>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ImResult<(Secret, u64)>>,
    {
        let (token, lifetime) = fetch().await?;
        let now = self.clock.now();
        // A (theoretical) lifetime shorter than the margin is still cached, for half of it.
        let ttl = Duration::from_secs(lifetime).checked_sub(self.margin).filter(|d| !d.is_zero()).unwrap_or(Duration::from_secs(lifetime / 2));
        if let Err(e) = self.store.put_ephemeral(&self.key, token.expose(), ttl, now).await {
            tracing::warn!(cache = %self.key, error = %e, "token cache not writable");
        }
        self.remember(token.expose(), now.plus(ttl));
        tracing::debug!(cache = %self.key, ttl_secs = ttl.as_secs(), "fetched an access token");
        Ok(token)
    }
}
