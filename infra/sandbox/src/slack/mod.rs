//! Slack sandbox: a stateful, in-process emulator of the Slack Web API written from the
//! reference (`shared/reference/platforms/slack.md`) and the docs it cites, never from our own
//! adapter, so it catches the adapter's mistakes. Serve [`SlackSandbox::router`] anywhere (tests
//! bind it on 127.0.0.1:0); point the adapter's API base at `{base}/api/` and its OAuth
//! authorize URL at `{base}/oauth/v2/authorize`.
//!
//! Emulated methods (tier, bot scopes, errors): see `api::METHODS` and the handlers in
//! `conversations.rs` / `chat.rs` / `stream.rs` (streamed messages, conversations.replies);
//! callbacks to the app (events, clicks, handshake) in `callbacks.rs`.

mod api;
mod callbacks;
mod chat;
mod conversations;
mod oauth;
mod ratelimit;
mod state;
mod stream;

use std::sync::{Arc, Mutex};

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

pub use callbacks::CallbackError;
use state::State;
pub use stream::StreamAppend;

use crate::hold::Holds;

/// The app as registered with the sandbox.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub client_id: String,
    pub client_secret: String,
    pub signing_secret: String,
    /// Answer 429 + `Retry-After` when a tier's budget is spent (see `ratelimit.rs`).
    pub enforce_rate_limits: bool,
}

/// A channel as the web view and tests see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelView {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub topic: String,
    pub is_private: bool,
    pub is_archived: bool,
    pub creator: String,
    pub members: Vec<String>,
    /// Oldest first, thread replies included (they carry `thread_ts`).
    pub messages: Vec<MessageView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageView {
    pub ts: String,
    /// The author: a person's ID, or the bot's user ID for the app's messages.
    pub user: Option<String>,
    /// Set for the app's messages.
    pub bot_id: Option<String>,
    pub text: String,
    pub blocks: Option<Value>,
    pub edited: bool,
    pub thread_ts: Option<String>,
    /// Started with chat.startStream and not stopped yet.
    pub streaming: bool,
    pub reactions: Vec<ReactionView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReactionView {
    pub name: String,
    pub users: Vec<String>,
}

/// A chat.postEphemeral message (seen only by `user`; never in history).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EphemeralView {
    pub channel: String,
    pub user: String,
    pub ts: String,
    pub text: String,
    pub blocks: Option<Value>,
}

/// Request signing v0 (reference §2): `"v0=" + hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))`.
pub fn signature_v0(signing_secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(signing_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// The sandbox. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct SlackSandbox {
    inner: Arc<Mutex<State>>,
    http: reqwest::Client,
    holds: Holds,
}

impl SlackSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        SlackSandbox { inner: Arc::new(Mutex::new(State::new(config))), http: reqwest::Client::new(), holds: Holds::default() }
    }

    /// Holding one `/api/` call in flight (named by its method, e.g. `chat.postMessage`), for crash tests.
    pub fn holds(&self) -> &Holds {
        &self.holds
    }

    /// New ids (channels, users, bots) are numbered above `floor`: a sandbox started afresh
    /// can keep clear of the ids an earlier one handed out (they are `C0` + 9 hex digits of
    /// one counter).
    pub fn set_id_floor(&self, floor: u64) {
        self.with_state(|st| st.raise_counter(floor));
    }

    /// Runs `f` under the lock (never across an `.await`).
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// `GET|POST /api/{method}`, `GET /oauth/v2/authorize`, `POST /response/{id}`.
    pub fn router(&self) -> axum::Router {
        api::router(self.clone())
    }

    /// Where the router is reachable (used in `response_url`s); default `http://127.0.0.1`.
    pub fn set_base_url(&self, base_url: &str) {
        self.with_state(|st| st.base_url = base_url.trim_end_matches('/').to_string());
    }

    pub fn base_url(&self) -> String {
        self.with_state(|st| st.base_url.clone())
    }

    /// Binds 127.0.0.1:0, serves the router in a background task, sets and returns the base URL.
    pub async fn serve_local(&self) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        self.set_base_url(&base);
        let app = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(base)
    }

    pub fn app_id(&self) -> String {
        self.with_state(|st| st.app_id.clone())
    }

    /// The (deprecated) verification token put in every payload's `token` field.
    pub fn verification_token(&self) -> String {
        self.with_state(|st| st.verification_token.clone())
    }

    /// Adds a workspace with its bot user (named "bot") and its primary owner ("owner",
    /// `owner@{domain}.example.com`), who installs apps and archives channels "from inside".
    pub fn add_workspace(&self, team_id: &str, name: &str) {
        self.with_state(|st| st.add_workspace(team_id, name));
    }

    /// Adds (or replaces) a person. Panics if the workspace is unknown.
    pub fn add_user(&self, team_id: &str, user_id: &str, name: &str, email: &str) {
        self.with_state(|st| {
            assert!(st.workspace(team_id).is_some(), "add_user: unknown workspace {team_id}");
            let email = (!email.is_empty()).then(|| email.to_string());
            let u = state::User { id: user_id.into(), team_id: team_id.into(), name: name.into(), email, bot_id: None };
            st.users.insert(user_id.into(), u);
        });
    }

    /// The app's bot user in that workspace.
    pub fn bot_user_id(&self, team_id: &str) -> Option<String> {
        self.with_state(|st| st.workspace(team_id).map(|w| w.bot_user_id.clone()))
    }

    pub fn owner_id(&self, team_id: &str) -> Option<String> {
        self.with_state(|st| st.workspace(team_id).map(|w| w.owner_id.clone()))
    }

    /// A bot token (`xoxb-…`) for the workspace with exactly these scopes, as if installed.
    /// Panics if the workspace is unknown.
    pub fn issue_bot_token(&self, team_id: &str, scopes: &[&str]) -> String {
        self.with_state(|st| {
            assert!(st.workspace(team_id).is_some(), "issue_bot_token: unknown workspace {team_id}");
            st.issue_token(team_id, scopes.iter().map(|s| s.to_string()).collect())
        })
    }

    /// Later calls with this token get `token_revoked`.
    pub fn revoke_token(&self, token: &str) {
        self.with_state(|st| {
            if let Some(t) = st.tokens.get_mut(token) {
                t.revoked = true;
            }
        });
    }

    /// A person creates a channel (the bot is not in it). Returns its ID. Panics if the
    /// workspace is unknown.
    pub fn create_channel(&self, team_id: &str, creator: &str, name: &str, is_private: bool) -> String {
        self.with_state(|st| {
            assert!(st.workspace(team_id).is_some(), "create_channel: unknown workspace {team_id}");
            st.new_channel(team_id, creator, name, is_private)
        })
    }

    /// A person (or the bot) joins a channel.
    pub fn join_channel(&self, channel_id: &str, user_id: &str) {
        self.with_state(|st| {
            if let Some(c) = st.channels.get_mut(channel_id) {
                if !c.members.iter().any(|m| m == user_id) {
                    c.members.push(user_id.into());
                }
            }
        });
    }

    /// The workspace's channels, oldest first.
    pub fn channels(&self, team_id: &str) -> Vec<ChannelView> {
        self.with_state(|st| st.channels.values().filter(|c| c.team_id == team_id).map(|c| st.channel_view(c)).collect())
    }

    pub fn channel(&self, channel_id: &str) -> Option<ChannelView> {
        self.with_state(|st| st.channels.get(channel_id).map(|c| st.channel_view(c)))
    }

    /// Every JSON body POSTed to a `response_url`, in order.
    pub fn ephemeral_replies(&self) -> Vec<Value> {
        self.with_state(|st| st.response_posts.clone())
    }

    /// Every chat.postEphemeral message, in order.
    pub fn ephemeral_messages(&self) -> Vec<EphemeralView> {
        self.with_state(|st| st.ephemerals.clone())
    }

    /// How many 429s were answered.
    pub fn rate_limited_count(&self) -> u64 {
        self.with_state(|st| st.rate_limited)
    }

    /// Every `/api/` call answered, in order: (method, ok). A 429 counts as not ok.
    pub fn calls(&self) -> Vec<(String, bool)> {
        self.with_state(|st| st.calls.clone())
    }

    /// Forgets the call log, the 429 count and the rate-limit buckets.
    pub fn reset_counters(&self) {
        self.with_state(|st| {
            st.calls.clear();
            st.rate_limited = 0;
            st.limiter.clear();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::signature_v0;

    /// Vector S1 (official docs example, python-slack-sdk tests), reference "TEST VECTORS".
    #[test]
    fn signing_reproduces_the_official_s1_vector() {
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let sig = signature_v0("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body.as_bytes());
        assert_eq!(sig, "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503");
    }

    /// Vector S2 (slack-morphism-rust `test_precoded_data`).
    #[test]
    fn signing_reproduces_the_s2_vector() {
        let sig = signature_v0("fa2c05deeef5a4077494e89f54394de0", "1531420618", b"test-body");
        assert_eq!(sig, "v0=baa91ef62d346e56607bbdd278a8acd570b91226854f15a382f43d33be42f666");
    }
}
