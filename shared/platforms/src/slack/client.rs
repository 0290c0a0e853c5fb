//! The Web API client: one call path for every method. POST to `{api_base}/{method}`
//! with `Authorization: Bearer <bot token>`, form-encoded arguments (JSON where the body
//! carries Block Kit arrays), then Slack's envelope `{"ok": …, "error": …}` is read into
//! a typed result or a [`SlackApiError`].
//!
//! Every method also accepts POST (the Node SDK posts them all), so the methods the
//! reference lists as GET (`users.lookupByEmail`, `conversations.history`,
//! `users.conversations`) are posted too: one code path, no token in a query string.

use super::error::{local, SlackApiError};
use super::types::*;
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::time::Duration;
use warroom_secrets::Secret;

/// A Lambda must not hang on Slack; a timed-out call is retried later by the queue. The
/// default of [`SlackClient::with_timeout`].
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Page size for cursor pagination (docs: max 999; 200 is what Slack recommends as a
/// reasonable page — UNCERTAIN, any value ≤ 999 works).
pub(crate) const PAGE_LIMIT: u32 = 200;

#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    api_base: String,
    token: Secret,
    timeout: Duration,
}

impl fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackClient").field("api_base", &self.api_base).field("token", &"[redacted]").finish()
    }
}

/// A successful call: the parsed body and the response headers (`x-oauth-scopes`).
pub(crate) struct Answer<T> {
    pub body: T,
    pub headers: HeaderMap,
}

impl SlackClient {
    pub fn new(http: reqwest::Client, api_base: impl Into<String>, token: Secret) -> Self {
        Self { http, api_base: api_base.into().trim_end_matches('/').to_string(), token, timeout: REQUEST_TIMEOUT }
    }

    /// How long one call may take before it counts as failed (and is retried later).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// Calls `method` with form-encoded `args`.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, args: &impl Serialize) -> Result<T, SlackApiError> {
        Ok(self.call_form(method, args).await?.body)
    }

    /// Calls `method` with a JSON body (for `blocks`).
    pub async fn call_json<T: DeserializeOwned>(&self, method: &str, body: &impl Serialize) -> Result<T, SlackApiError> {
        let bytes = serde_json::to_vec(body).map_err(|_| SlackApiError::local(method, local::ENCODE))?;
        let request = self
            .http
            .post(format!("{}/{method}", self.api_base))
            .bearer_auth(self.token.expose())
            // Slack asks for the charset on JSON posts (else a `missing_charset` warning).
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(bytes);
        Ok(execute(method, request, self.timeout).await?.body)
    }

    pub(crate) async fn call_form<T: DeserializeOwned>(&self, method: &str, args: &impl Serialize) -> Result<Answer<T>, SlackApiError> {
        let request = form_request(&self.http, &format!("{}/{method}", self.api_base), method, args)?.bearer_auth(self.token.expose());
        execute(method, request, self.timeout).await
    }

    // ---- the methods Warroom uses -----------------------------------------------------

    pub async fn create_conversation(&self, name: &str, is_private: bool) -> Result<Conversation, SlackApiError> {
        let out: ChannelEnvelope = self.call("conversations.create", &CreateConversation { name, is_private }).await?;
        Ok(out.channel)
    }

    pub async fn set_topic(&self, channel: &str, topic: &str) -> Result<(), SlackApiError> {
        self.call::<IgnoredAny>("conversations.setTopic", &SetTopic { channel, topic }).await.map(drop)
    }

    /// Invites `users`; on success, the per-user failures Slack still listed, if any, as
    /// (user, error code). On failure the error's `user_errors` holds them.
    pub async fn invite(&self, channel: &str, users: &[String]) -> Result<Vec<(String, String)>, SlackApiError> {
        let args = Invite { channel, users: users.join(","), force: true };
        let out: InviteOutcome = self.call("conversations.invite", &args).await?;
        Ok(out.errors.into_iter().map(|e| (e.user, e.error)).collect())
    }

    pub async fn archive(&self, channel: &str) -> Result<(), SlackApiError> {
        self.call::<IgnoredAny>("conversations.archive", &ChannelOnly { channel }).await.map(drop)
    }

    /// Returns the message's `ts` (its id).
    pub async fn post_message(&self, channel: &str, text: &str, blocks: Option<&Value>) -> Result<String, SlackApiError> {
        let out: Posted = self.call_json("chat.postMessage", &PostMessage { channel, text, blocks, unfurl_links: false }).await?;
        Ok(out.ts)
    }

    /// A plain-text message, in the thread of `thread_ts` when given.
    pub async fn post_reply(&self, channel: &str, thread_ts: Option<&str>, text: &str) -> Result<String, SlackApiError> {
        let out: Posted =
            self.call_json("chat.postMessage", &serde_json::json!({"channel": channel, "text": text, "thread_ts": thread_ts, "unfurl_links": false})).await?;
        Ok(out.ts)
    }

    pub async fn update_message(&self, channel: &str, ts: &str, text: &str, blocks: Option<&Value>) -> Result<(), SlackApiError> {
        self.call_json::<IgnoredAny>("chat.update", &UpdateMessage { channel, ts, text, blocks }).await.map(drop)
    }

    pub async fn lookup_by_email(&self, email: &str) -> Result<SlackUser, SlackApiError> {
        let out: UserEnvelope = self.call("users.lookupByEmail", &LookupByEmail { email }).await?;
        Ok(out.user)
    }

    /// One page of the bot's own non-archived channels (public and private), and the
    /// cursor of the next page.
    pub async fn bot_channels_page(&self, cursor: Option<&str>) -> Result<(Vec<Conversation>, Option<String>), SlackApiError> {
        let args = ListConversations { types: "public_channel,private_channel", exclude_archived: true, limit: PAGE_LIMIT, cursor };
        let page: ConversationPage = self.call("users.conversations", &args).await?;
        let next = ResponseMetadata::next(&page.response_metadata);
        Ok((page.channels, next))
    }

    /// One page of `conversations.history` (newest first, as Slack returns it).
    pub async fn history_page(&self, channel: &str, cursor: Option<&str>) -> Result<(Vec<HistoryMessage>, Option<String>), SlackApiError> {
        let page: HistoryPage = self.call("conversations.history", &History { channel, limit: PAGE_LIMIT, cursor }).await?;
        let next = if page.has_more { ResponseMetadata::next(&page.response_metadata) } else { None };
        Ok((page.messages, next))
    }

    /// `auth.test`, and the scopes the token holds from the `x-oauth-scopes` header.
    pub async fn auth_test(&self) -> Result<(AuthTest, Option<Vec<String>>), SlackApiError> {
        let answer: Answer<AuthTest> = self.call_form("auth.test", &NoArgs {}).await?;
        let scopes = answer.headers.get("x-oauth-scopes").and_then(|v| v.to_str().ok()).map(split_scopes);
        Ok((answer.body, scopes))
    }
}

/// `chat:write,files:read` → `["chat:write", "files:read"]` (the header and the OAuth
/// `scope` field are both comma-separated).
pub(crate) fn split_scopes(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// A form POST. Encoded by hand: reqwest's `form` feature is not enabled in this workspace.
pub(crate) fn form_request(http: &reqwest::Client, url: &str, method: &str, args: &impl Serialize) -> Result<reqwest::RequestBuilder, SlackApiError> {
    let body = serde_urlencoded::to_string(args).map_err(|_| SlackApiError::local(method, local::ENCODE))?;
    Ok(http.post(url).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body))
}

/// Sends one request and reads Slack's envelope. Errors carry no URL and no token.
pub(crate) async fn execute<T: DeserializeOwned>(method: &str, request: reqwest::RequestBuilder, timeout: Duration) -> Result<Answer<T>, SlackApiError> {
    let response = request.timeout(timeout).send().await.map_err(|e| transport_error(method, &e))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.map_err(|e| transport_error(method, &e))?;
    let body: Option<Value> = serde_json::from_slice(&bytes).ok();
    let ok = body.as_ref().and_then(|b| b.get("ok")).and_then(Value::as_bool) == Some(true);
    if (200..300).contains(&status) && ok {
        let body = body.unwrap_or_default();
        let body = serde_json::from_value(body).map_err(|_| SlackApiError { status: Some(status), ..SlackApiError::local(method, local::BAD_RESPONSE) })?;
        return Ok(Answer { body, headers });
    }
    Err(failure(method, status, &headers, body.as_ref()))
}

fn failure(method: &str, status: u16, headers: &HeaderMap, body: Option<&Value>) -> SlackApiError {
    let text = |k: &str| body.and_then(|b| b.get(k)).and_then(Value::as_str).map(String::from);
    let code =
        text("error").unwrap_or_else(|| if (200..300).contains(&status) { local::BAD_RESPONSE.to_string() } else { format!("{}{status}", local::HTTP_PREFIX) });
    let user_errors = body
        .and_then(|b| b.get("errors"))
        .and_then(Value::as_array)
        .map(|errors| errors.iter().filter_map(|e| Some((e.get("user")?.as_str()?.to_string(), e.get("error")?.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    SlackApiError { method: method.to_string(), code, status: Some(status), retry_after: retry_after(headers), needed: text("needed"), user_errors }
}

/// `Retry-After` in whole seconds (what Slack sends with a 429).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

fn transport_error(method: &str, e: &reqwest::Error) -> SlackApiError {
    let code = if e.is_timeout() {
        local::TIMEOUT
    } else if e.is_connect() {
        local::CONNECT
    } else {
        local::TRANSPORT
    };
    SlackApiError::local(method, code)
}
