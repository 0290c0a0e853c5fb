//! The tenant_access_token of a custom app (reference §1):
//! `POST {base}/open-apis/auth/v3/tenant_access_token/internal` with `app_id` / `app_secret`,
//! answered with top-level `tenant_access_token` and `expire` (seconds, at most 2 h).
//!
//! Cached in the Store as the ephemeral value `feishu-token:{app_id}` until
//! `expire − 10 min` (the Python SDK's margin, `lark_oapi/core/token/manager.py`), so every
//! call of every Lambda instance shares one token; an in-process copy spares a Store read
//! per call. Feishu hands out a new token once the old one has < 30 min left and both stay
//! valid, so concurrent refreshes by several instances are harmless.
//!
//! The token is held in a [`Secret`] and never formatted into a log line or an error.

use super::client::{classify, Failure, Sent};
use super::FeishuCredentials;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom_core::{Clock, ImError, ImResult, Store, Timestamp};
use warroom_secrets::Secret;

pub(crate) const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
/// The SDK's safety margin before expiry.
const MARGIN: Duration = Duration::from_secs(10 * 60);

/// Answers that mean "this access token is not (or no longer) good": refresh once and
/// retry. 99991663 / 99991664 / 99991671 are the codes the Go SDK refreshes on
/// (`oapi-sdk-go` `core/constants.go`, `core/httptransport.go`); 99991661 (missing),
/// 99991668 (invalid) per the official CLI's table of generic codes
/// (`larksuite/cli` `internal/output/lark_errors.go`, from
/// https://open.feishu.cn/document/server-docs/api-call-guide/generic-error-code).
pub(crate) const INVALID_TOKEN_CODES: &[i64] = &[99991661, 99991663, 99991664, 99991668, 99991671];

#[derive(Deserialize)]
struct TokenAnswer {
    tenant_access_token: Option<String>,
    expire: Option<u64>,
}

struct Cached {
    token: Secret,
    until: Timestamp,
}

pub(crate) struct Tokens {
    credentials: FeishuCredentials,
    http: reqwest::Client,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    memo: Mutex<Option<Cached>>,
}

impl Tokens {
    pub(crate) fn new(credentials: FeishuCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { credentials, http, store, clock, memo: Mutex::new(None) }
    }

    fn key(&self) -> String {
        format!("feishu-token:{}", self.credentials.app_id)
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
                // The Store does not say how long is left; keep our copy for a minute at
                // most so a refresh by another instance is picked up soon enough.
                self.remember(&token, now.plus(Duration::from_secs(60)));
                return Ok(Secret::new(token));
            }
            Ok(None) => {}
            // A cache outage must not stop the war room: fetch a token directly.
            Err(e) => tracing::warn!(app_id = %self.credentials.app_id, error = %e, "token cache unreadable"),
        }
        self.refresh().await
    }

    /// A new token from Feishu, stored for everyone (after an invalid-token answer, or
    /// when none is cached).
    pub(crate) async fn refresh(&self) -> ImResult<Secret> {
        let (token, expire) = self.fetch().await?;
        let now = self.clock.now();
        // `expire` is at most 2 h; a (theoretical) very short one still gets cached briefly.
        let ttl = Duration::from_secs(expire).checked_sub(MARGIN).filter(|d| !d.is_zero()).unwrap_or(Duration::from_secs(expire / 2));
        if let Err(e) = self.store.put_ephemeral(&self.key(), token.expose(), ttl, now).await {
            tracing::warn!(app_id = %self.credentials.app_id, error = %e, "token cache not writable");
        }
        self.remember(token.expose(), now.plus(ttl));
        tracing::debug!(app_id = %self.credentials.app_id, ttl_secs = ttl.as_secs(), "fetched a tenant_access_token");
        Ok(token)
    }

    async fn fetch(&self) -> ImResult<(Secret, u64)> {
        let url = format!("{}{TOKEN_PATH}", self.credentials.base());
        let body = serde_json::json!({"app_id": self.credentials.app_id, "app_secret": self.credentials.app_secret});
        let sent = Sent::read(self.http.post(url).json(&body).send().await).await?;
        // Fields are top-level here, not under `data`: classify the envelope, then re-read.
        if let Err(failure) = classify(&sent) {
            return Err(match failure {
                Failure::Im(e @ (ImError::RateLimited { .. } | ImError::Transient(_))) => e,
                Failure::Im(ImError::Rejected { code, message }) => ImError::Unauthorized(format!("Feishu refused the app credentials ({code}: {message})")),
                Failure::Im(other) => ImError::Unauthorized(format!("Feishu refused the app credentials: {other}")),
                Failure::TokenRejected(message) => ImError::Unauthorized(message),
            });
        }
        let answer: TokenAnswer = serde_json::from_slice(&sent.body).map_err(|_| ImError::Transient("unreadable tenant_access_token answer".into()))?;
        match (answer.tenant_access_token.filter(|t| !t.is_empty()), answer.expire) {
            (Some(token), Some(expire)) => Ok((Secret::new(token), expire)),
            _ => Err(ImError::Transient("the tenant_access_token answer carried no token".into())),
        }
    }
}
