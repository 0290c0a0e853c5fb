//! The app's access token (wecom.md §1): `GET /cgi-bin/gettoken?corpid=ID&corpsecret=SECRET`
//! → `{"errcode":0, "access_token", "expires_in": 7200}`. Each app's token is its own and
//! must be cached: frequent gettoken calls are blocked.
//!
//! Cached in the Store as the ephemeral value `wecom-token:{corp_id}:{agent_id}` until
//! `expires_in − 5 min` (DingTalk's margin), so every instance shares one token; an
//! in-process copy spares a Store read per call. WeCom may invalidate a token early: the
//! client then refreshes once (`TOKEN_EXPIRED`).
//!
//! The token lives in a [`Secret`]; the gettoken URL carries the app secret, so it is never
//! logged and reqwest errors lose their URL (`Sent::read`).

use super::client::{interpret, Failure, Sent};
use super::WeComCredentials;
use crate::token_cache::TokenCache;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::{Clock, ImError, ImResult, Store};
use warroom_secrets::Secret;

pub(crate) const TOKEN_PATH: &str = "/cgi-bin/gettoken";
const MARGIN: Duration = Duration::from_secs(5 * 60);

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
}

pub(crate) struct Tokens {
    credentials: WeComCredentials,
    http: reqwest::Client,
    cache: TokenCache,
}

impl Tokens {
    pub(crate) fn new(credentials: WeComCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let cache = TokenCache::new(format!("wecom-token:{}:{}", credentials.corp_id, credentials.agent_id), MARGIN, store, clock);
        Self { credentials, http, cache }
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
        let query = serde_urlencoded::to_string([("corpid", self.credentials.corp_id.as_str()), ("corpsecret", self.credentials.secret.as_str())])
            .map_err(|_| ImError::Unauthorized("the corp id or secret cannot be sent".into()))?;
        let url = format!("{}{TOKEN_PATH}?{query}", self.credentials.api());
        let sent = Sent::read(self.http.get(url).send().await).await?;
        let answer = match interpret(&sent, None) {
            Ok(answer) => answer,
            Err(Failure::Im(e @ (ImError::RateLimited { .. } | ImError::Transient(_) | ImError::Unauthorized(_) | ImError::MissingPermission { .. }))) => {
                return Err(e)
            }
            Err(Failure::Im(ImError::Rejected { code, .. })) => return Err(ImError::Unauthorized(format!("WeCom refused the app credentials ({code})"))),
            Err(Failure::Im(other)) => return Err(ImError::Unauthorized(format!("WeCom refused the app credentials: {other}"))),
            Err(Failure::TokenRejected(message)) => return Err(ImError::Unauthorized(message)),
        };
        let answer: TokenAnswer = serde_json::from_value(answer).map_err(|_| ImError::Transient("unreadable gettoken answer".into()))?;
        match (answer.access_token.filter(|t| !t.is_empty()), answer.expires_in) {
            (Some(token), Some(expires)) => Ok((Secret::new(token), expires)),
            _ => Err(ImError::Transient("the gettoken answer carried no token".into())),
        }
    }
}
