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
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom_core::{Clock, ImError, ImResult, Store, Timestamp};
use warroom_secrets::Secret;

pub(crate) const TOKEN_PATH: &str = "/cgi-bin/gettoken";
const MARGIN: Duration = Duration::from_secs(5 * 60);

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
}

struct Cached {
    token: Secret,
    until: Timestamp,
}

pub(crate) struct Tokens {
    credentials: WeComCredentials,
    http: reqwest::Client,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    memo: Mutex<Option<Cached>>,
}

impl Tokens {
    pub(crate) fn new(credentials: WeComCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { credentials, http, store, clock, memo: Mutex::new(None) }
    }

    pub(crate) fn key(&self) -> String {
        format!("wecom-token:{}:{}", self.credentials.corp_id, self.credentials.agent_id)
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
            Err(e) => tracing::warn!(corp_id = %self.credentials.corp_id, error = %e, "token cache unreadable"),
        }
        self.refresh().await
    }

    /// A new token, stored for everyone.
    pub(crate) async fn refresh(&self) -> ImResult<Secret> {
        let (token, expires) = self.fetch().await?;
        let now = self.clock.now();
        let ttl = Duration::from_secs(expires).checked_sub(MARGIN).filter(|d| !d.is_zero()).unwrap_or(Duration::from_secs(expires / 2));
        if let Err(e) = self.store.put_ephemeral(&self.key(), token.expose(), ttl, now).await {
            tracing::warn!(corp_id = %self.credentials.corp_id, error = %e, "token cache not writable");
        }
        self.remember(token.expose(), now.plus(ttl));
        tracing::debug!(corp_id = %self.credentials.corp_id, agent_id = self.credentials.agent_id, ttl_secs = ttl.as_secs(), "fetched an access token");
        Ok(token)
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
