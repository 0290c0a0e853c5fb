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
use crate::token_cache::TokenCache;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::{Clock, ImError, ImResult, Store};
use warroom_secrets::Secret;

pub(crate) const TOKEN_PATH: &str = "/v1.0/oauth2/accessToken";
const MARGIN: Duration = Duration::from_secs(5 * 60);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenAnswer {
    access_token: Option<String>,
    expire_in: Option<u64>,
}

pub(crate) struct Tokens {
    credentials: DingTalkCredentials,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cache: TokenCache,
}

impl Tokens {
    pub(crate) fn new(credentials: DingTalkCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let cache = TokenCache::new(format!("dingtalk-token:{}", credentials.client_id), MARGIN, store, clock.clone());
        Self { credentials, http, clock, cache }
    }

    /// The shared token (token_cache.rs): this instance's copy, else the Store's, else a
    /// fresh one.
    pub(crate) async fn current(&self) -> ImResult<Secret> {
        self.cache.current(|| self.fetch()).await
    }

    /// A new token, stored for everyone.
    pub(crate) async fn refresh(&self) -> ImResult<Secret> {
        self.cache.refresh(|| self.fetch()).await
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
