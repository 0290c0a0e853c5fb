//! The app's access token (ref §1): `POST {api}/v1.0/oauth2/accessToken` with
//! `{"appKey", "appSecret"}` → `{"accessToken", "expireIn"}` (SDK `oauth2_1_0`), the call
//! the Stream SDK makes. The same token serves the old API's `?access_token=`.
//!
//! Cached in the Store as the ephemeral value `dingtalk-token:{client_id}` until
//! `expireIn − 5 min` (the Stream SDK's margin, `stream.py get_access_token`), so every
//! instance shares one token and DingTalk's throttling of frequent token calls is never
//! hit; an in-process copy spares a Store read per call. Asking again inside the validity
//! window returns the same token (ref §1), so concurrent refreshes are harmless.
//!
//! The token is held in a [`Secret`] and never formatted into a log line or an error.

use super::client::{classify, Failure, Gen, Sent};
use super::DingTalkCredentials;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom_core::{Clock, ImError, ImResult, Store, Timestamp};
use warroom_secrets::Secret;

pub(crate) const TOKEN_PATH: &str = "/v1.0/oauth2/accessToken";
const MARGIN: Duration = Duration::from_secs(5 * 60);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenAnswer {
    access_token: Option<String>,
    expire_in: Option<u64>,
}

struct Cached {
    token: Secret,
    until: Timestamp,
}

pub(crate) struct Tokens {
    credentials: DingTalkCredentials,
    http: reqwest::Client,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    memo: Mutex<Option<Cached>>,
}

impl Tokens {
    pub(crate) fn new(credentials: DingTalkCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { credentials, http, store, clock, memo: Mutex::new(None) }
    }

    fn key(&self) -> String {
        format!("dingtalk-token:{}", self.credentials.client_id)
    }

    fn remember(&self, token: &str, until: Timestamp) {
        *self.memo.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached { token: Secret::new(token), until });
    }

    /// The shared token: this instance's copy, else the Store's, else a fresh one.
    pub(crate) async fn current(&self) -> ImResult<Secret> {
        let now = self.clock.now();
        if let Some(c) = self.memo.lock().unwrap_or_else(|p| p.into_inner()).as_ref().filter(|c| c.until > now) {
            return Ok(c.token.clone());
        }
        match self.store.get_ephemeral(&self.key(), now).await {
            Ok(Some(token)) => {
                // The Store does not say how long is left: keep our copy a minute at most so
                // a refresh by another instance is picked up soon.
                self.remember(&token, now.plus(Duration::from_secs(60)));
                return Ok(Secret::new(token));
            }
            Ok(None) => {}
            // A cache outage must not stop the war room: fetch a token directly.
            Err(e) => tracing::warn!(client_id = %self.credentials.client_id, error = %e, "token cache unreadable"),
        }
        self.refresh().await
    }

    /// A new token, stored for everyone.
    pub(crate) async fn refresh(&self) -> ImResult<Secret> {
        let (token, expire) = self.fetch().await?;
        let now = self.clock.now();
        let ttl = Duration::from_secs(expire).checked_sub(MARGIN).filter(|d| !d.is_zero()).unwrap_or(Duration::from_secs(expire / 2));
        if let Err(e) = self.store.put_ephemeral(&self.key(), token.expose(), ttl, now).await {
            tracing::warn!(client_id = %self.credentials.client_id, error = %e, "token cache not writable");
        }
        self.remember(token.expose(), now.plus(ttl));
        tracing::debug!(client_id = %self.credentials.client_id, ttl_secs = ttl.as_secs(), "fetched an access token");
        Ok(token)
    }

    async fn fetch(&self) -> ImResult<(Secret, u64)> {
        let url = format!("{}{TOKEN_PATH}", self.credentials.api());
        let body = serde_json::json!({"appKey": self.credentials.client_id, "appSecret": self.credentials.client_secret});
        let sent = Sent::read(self.http.post(url).json(&body).send().await).await?;
        let answer = match classify(&sent, Gen::New, "", self.clock.now()) {
            Ok(answer) => answer,
            Err(Failure::Im(e @ (ImError::RateLimited { .. } | ImError::Transient(_)))) => return Err(e),
            Err(Failure::Im(ImError::Rejected { code, .. })) => return Err(ImError::Unauthorized(format!("DingTalk refused the app credentials ({code})"))),
            Err(Failure::Im(other)) => return Err(ImError::Unauthorized(format!("DingTalk refused the app credentials: {other}"))),
            Err(Failure::TokenRejected(message)) => return Err(ImError::Unauthorized(message)),
        };
        let answer: TokenAnswer = serde_json::from_value(answer).map_err(|_| ImError::Transient("unreadable accessToken answer".into()))?;
        match (answer.access_token.filter(|t| !t.is_empty()), answer.expire_in) {
            (Some(token), Some(expire)) => Ok((Secret::new(token), expire)),
            _ => Err(ImError::Transient("the accessToken answer carried no token".into())),
        }
    }
}
