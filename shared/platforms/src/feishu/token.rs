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
use crate::token_cache::TokenCache;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::{Clock, ImError, ImResult, Store};
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

pub(crate) struct Tokens {
    credentials: FeishuCredentials,
    http: reqwest::Client,
    cache: TokenCache,
}

impl Tokens {
    pub(crate) fn new(credentials: FeishuCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let cache = TokenCache::new(format!("feishu-token:{}", credentials.app_id), MARGIN, store, clock);
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
