//! WeCom (企业微信): a self-built app (自建应用) per integration, optionally with a smart bot
//! (智能机器人) in API mode. This module is the low-level half of the adapter: credentials,
//! the WXBizMsgCrypt scheme, callback decoding, the API client. The `ImPlatform` impl, the
//! card rendering and the registration stand on it.
//!
//! The war-room model (notes "Design implications", Q1–Q3):
//! - **Custom app**: the war room is an app group chat (`appchat/create`, ≥2 members, the
//!   app visible to the root department), renamed rather than dismissed (no disband API,
//!   notes Q3), with no history API. `appchat/send` carries no template card (notes Q2), so
//!   buttons reach each responder as a 1:1 `template_card` (`message/send`), whose click
//!   arrives at the app callback (`template_card_event`, a fresh single-use `ResponseCode`
//!   per click) and is answered with `update_template_card`.
//! - **Smart bot** (optional, API mode with URL callback): a human adds it to each war-room
//!   group (no API can). It is sent only @mentions in groups; it replies through the
//!   message's `response_url` (once, 1 h) or a passive reply, and can update its group card
//!   on a click. Stream-refresh polls carry the AI answers later.
//!
//! Two inbound channels, each with its own route under the integration (see
//! [`callback_urls`]) and its own Token / EncodingAESKey:
//! - the app's "API接收" callback: XML, ReceiveId = CorpID (wecom.md §2);
//! - the smart bot's callback: JSON `{"encrypt"}`, ReceiveId = "" (notes Q1).
//!
//! Every fact comes from `shared/reference/platforms/wecom.md` ("§N") or
//! `dingtalk-wecom-notes.md` ("notes Qn") unless a comment cites another source;
//! "UNCERTAIN" marks what could not be confirmed, each kept in one constant or function.

mod api;
mod card;
mod client;
mod codec;
mod crypto;
mod inbound;
mod module;
mod platform;
mod reply;
mod stream;
mod token;

pub use codec::{message_ref, parse_message_ref, WeComCodec};
pub use crypto::{CryptoError, MsgCrypt};
pub use inbound::{button_key, parse_button_key, BotMessage, CardEvent, Channel, Inbound, ReplyHandle, StreamPoll};
pub use module::WeComModule;
pub use platform::WeComPlatform;
pub use reply::{app_reply_xml, bot_reply_json, update_button_plaintext};
pub use stream::{STREAM_WINDOW, THINKING, UNKNOWN_STREAM};

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// The API host (§ header).
pub const API_BASE: &str = "https://qyapi.weixin.qq.com";

/// The route suffix of the app's callback under `/im/{integration_id}/`: the `events`
/// route DingTalk, Feishu and Slack use, which takes GET (URL verification) and POST.
pub const APP_ROUTE: &str = "events";
/// The route suffix of the smart bot's callback. It needs a GET + POST route that passes
/// the query string; the codec also tells the channels apart by which Token signed the
/// request, so both channels work on the `events` route too until that route exists.
pub const BOT_ROUTE: &str = "bot";

/// The URLs to paste into the console: the app's "API接收" URL and the smart bot's
/// callback URL.
#[allow(dead_code)] // for module.rs `setup`
pub fn callback_urls(base: &str, integration_id: &str) -> (String, String) {
    let base = base.trim_end_matches('/');
    (format!("{base}/im/{integration_id}/{APP_ROUTE}"), format!("{base}/im/{integration_id}/{BOT_ROUTE}"))
}

/// WeCom has no OAuth scopes for self-built apps (§6): what war rooms need are console
/// settings. This is the checklist, each item with what it is for.
pub const REQUIRED_SETUP: &[(&str, &str)] = &[
    (
        "app_visibility_root_department",
        "App visibility (可见范围) = the root department: appchat/create, update and send refuse other apps with 60011 (§3)",
    ),
    ("contact_read", "The app can see every responder (visibility covers them): user/getuserid and get_userid_by_email need it (§4)"),
    (
        "trusted_ip",
        "企业可信IP lists the deployment's fixed egress IP: calls from any other IP fail with 60020, which names the IP to add (§6)",
    ),
    (
        "api_receive_callback",
        "API接收 set to the app callback URL with its Token and EncodingAESKey: responders' template-card button clicks arrive there (§2, notes Q2)",
    ),
    (
        "smart_bot_url_callback",
        "Optional: a smart bot in API mode with URL callback, its Token and EncodingAESKey, added by hand to each war-room group: @mentions and in-group cards (notes Q1)",
    ),
];

fn default_api() -> String {
    API_BASE.into()
}

/// AgentId as a number: the APIs take `agentid` as a JSON integer (`message/send`,
/// `update_template_card`, §3 / notes Q2), the callback XML carries it as text, and the
/// console shows digits. Stored as `i64`; a string of digits is accepted so a pasted value
/// deserializes too.
fn agent_id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Number(n) => Ok(n),
        Raw::Text(s) => s.trim().parse().map_err(|_| serde::de::Error::custom("agent_id: expected the app's AgentId digits")),
    }
}

/// What an integration stores (sealed) for its WeCom app (notes "Credentials from the user").
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeComCredentials {
    /// 企业ID (CorpID): `corpid` of gettoken and the app callback's ReceiveId.
    pub corp_id: String,
    /// The app's AgentId.
    #[serde(deserialize_with = "agent_id")]
    pub agent_id: i64,
    /// The app's Secret (each app has its own token, §1).
    pub secret: String,
    /// API接收 Token.
    pub callback_token: String,
    /// API接收 EncodingAESKey (43 characters).
    pub callback_aes_key: String,
    /// The smart bot's callback Token (API mode, URL callback). Empty: no smart bot.
    #[serde(default)]
    pub bot_token: String,
    /// The smart bot's EncodingAESKey.
    #[serde(default)]
    pub bot_aes_key: String,
    /// The userid that owns every war-room group: appchat needs ≥2 members (§3), so a war
    /// room always has this person besides the first responder.
    pub owner_userid: String,
    /// [`API_BASE`], or the sandbox (`PlatformsConfig.base_overrides`, applied by the module
    /// with [`WeComCredentials::with_base`] as DingTalk does).
    #[serde(default = "default_api")]
    pub api_base: String,
}

impl WeComCredentials {
    pub fn with_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into();
        self
    }

    pub(crate) fn api(&self) -> &str {
        self.api_base.trim_end_matches('/')
    }

    /// Whether a smart bot is configured.
    pub fn has_bot(&self) -> bool {
        !self.bot_token.is_empty() && !self.bot_aes_key.is_empty()
    }
}

/// Secrets never reach logs: ids and the base URL are shown, secrets only as set / empty.
impl fmt::Debug for WeComCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |s: &str| if s.is_empty() { "[empty]" } else { "[redacted]" };
        f.debug_struct("WeComCredentials")
            .field("corp_id", &self.corp_id)
            .field("agent_id", &self.agent_id)
            .field("secret", &redact(&self.secret))
            .field("callback_token", &redact(&self.callback_token))
            .field("callback_aes_key", &redact(&self.callback_aes_key))
            .field("bot_token", &redact(&self.bot_token))
            .field("bot_aes_key", &redact(&self.bot_aes_key))
            .field("owner_userid", &self.owner_userid)
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// What the smart bot's streams are kept under: the integration where known (so a refresh
/// signed by one integration's bot never reads another's), else the app.
pub(crate) fn stream_scope(credentials: &WeComCredentials, integration: Option<&warroom_core::IntegrationId>) -> String {
    match integration {
        Some(id) => id.to_string(),
        None => format!("{}:{}", credentials.corp_id, credentials.agent_id),
    }
}

/// A short stable digest (32 hex characters of SHA-256) of length-prefixed parts, for
/// delivery ids built from several fields.
pub(crate) fn short_hash(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())[..32].to_string()
}

/// The W1–W3 parameters of wecom.md "TEST VECTORS" (official sample code at 71441bf^).
#[cfg(test)]
pub(crate) fn test_credentials(base: &str) -> WeComCredentials {
    WeComCredentials {
        corp_id: "ww1436e0e65a779aee".into(),
        agent_id: 1000002,
        secret: "app-secret".into(),
        callback_token: "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo".into(),
        callback_aes_key: "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt".into(),
        // W4's keys (the official docs example) serve as the bot's.
        bot_token: "QDG6eK".into(),
        bot_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C".into(),
        owner_userid: "owner1".into(),
        api_base: API_BASE.into(),
    }
    .with_base(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_shows_no_secret() {
        let shown = format!("{:?}", test_credentials(API_BASE));
        assert!(shown.contains("ww1436e0e65a779aee") && shown.contains("1000002") && shown.contains("owner1"));
        for secret in ["app-secret", "hJqcu3uJ9Tn2", "6qkdMrq68n", "QDG6eK", "jWmYm7qr5n"] {
            assert!(!shown.contains(secret), "{secret} leaked");
        }
    }

    #[test]
    fn stored_credentials_take_the_agent_id_as_number_or_digits_and_default_the_host() {
        let base = r#""corp_id":"ww1","secret":"s","callback_token":"t","callback_aes_key":"k","owner_userid":"o""#;
        let n: WeComCredentials = serde_json::from_str(&format!(r#"{{{base},"agent_id":1000002}}"#)).unwrap();
        let s: WeComCredentials = serde_json::from_str(&format!(r#"{{{base},"agent_id":" 1000002"}}"#)).unwrap();
        assert_eq!((n.agent_id, s.agent_id, n.api()), (1000002, 1000002, API_BASE));
        assert!(!n.has_bot());
        assert!(serde_json::from_str::<WeComCredentials>(&format!(r#"{{{base},"agent_id":"abc"}}"#)).is_err());
        assert_eq!(serde_json::to_value(&n).unwrap()["agent_id"], 1000002, "stored as a number");
        assert_eq!(n.with_base("http://127.0.0.1:9/").api(), "http://127.0.0.1:9");
    }

    #[test]
    fn the_setup_checklist_names_what_war_rooms_need() {
        for item in ["app_visibility_root_department", "contact_read", "trusted_ip", "api_receive_callback", "smart_bot_url_callback"] {
            assert!(REQUIRED_SETUP.iter().any(|(s, _)| *s == item), "{item}");
        }
    }

    #[test]
    fn each_channel_has_its_own_route_under_the_integration() {
        let (app, bot) = callback_urls("https://w.example/", "int_1");
        assert_eq!((app.as_str(), bot.as_str()), ("https://w.example/im/int_1/events", "https://w.example/im/int_1/bot"));
    }

    #[test]
    fn short_hashes_are_32_hex_and_separate_their_parts() {
        assert_eq!(short_hash(&["x"]).len(), 32);
        assert_ne!(short_hash(&["ab", "c"]), short_hash(&["a", "bc"]));
    }
}
