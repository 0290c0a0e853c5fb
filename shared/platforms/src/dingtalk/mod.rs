//! DingTalk (钉钉): an internal ("企业内部") app per integration. War rooms are scene groups
//! (场景群) made from a group template whose group robot joins every room; the status card
//! is a card-platform card delivered to the group and updated by `outTrackId`.
//!
//! Three inbound channels, all plain HTTP request / response (Stream Mode needs a
//! long-lived WebSocket, which a Lambda is not):
//! - event subscription (事件订阅, HTTP push): SHA-1 signed, AES-256-CBC encrypted;
//! - the robot's message callback (@mentions and 1:1 messages): HMAC-SHA256 headers;
//! - the card callback (button clicks): `x-ddpaas-signature` HMAC-SHA256 headers.
//!
//! Every fact comes from `shared/reference/platforms/dingtalk.md` ("ref") or
//! `dingtalk-wecom-notes.md` ("notes") unless a comment cites another source; "UNCERTAIN"
//! marks what could not be confirmed, each kept in one constant or function.

mod card;
mod client;
mod codec;
mod crypto;
mod module;
mod notice;
mod platform;
mod probe;
mod sign;
mod stream;
mod text;
mod token;
mod usage;

pub use card::{card_param_map, DEFAULT_CARD_TEMPLATE_ID};
pub use codec::DingTalkCodec;
pub use crypto::{CryptoError, EventCrypto};
pub use module::DingTalkModule;
pub use platform::DingTalkPlatform;
pub use sign::{card_signature, robot_signature, verify_card_signature, verify_robot_signature};
pub use usage::calls_counter_key;

use serde::{Deserialize, Serialize};
use std::fmt;

/// The old API host: `errcode` envelopes, token in the query (ref, "Two API generations").
pub const OAPI_BASE: &str = "https://oapi.dingtalk.com";
/// The v1.0 API host: HTTP status + `{code, message, requestid}`, token in a header.
pub const API_BASE: &str = "https://api.dingtalk.com";

/// The permission points (权限点) war rooms need, with what each is for. Sources: ref §6 and
/// notes Q5 (Flashduty's war-room list: qyapi_chat_manage, qyapi_robot_sendmsg,
/// qyapi_chat_read, qyapi_chat_base_read, qyapi_get_member_by_mobile; Card.Instance.Write
/// for card-platform cards). Card.Streaming.Write: "权限要求 Card.Streaming.Write" of the AI-card
/// streaming API (official page api-streamingupdate, see `stream`); whether full updates of
/// the AI-card template need it too is not known (notes Q8), and Flashduty asks for both.
pub const REQUIRED_SCOPES: &[(&str, &str)] = &[
    ("qyapi_chat_manage", "Create War Room scene groups, add members, disband or freeze them"),
    ("qyapi_chat_read", "Read War Room group information"),
    ("qyapi_chat_base_read", "Read basic group information"),
    ("qyapi_robot_sendmsg", "Send War Room messages as the group robot"),
    ("qyapi_get_member_by_mobile", "Find responders' DingTalk user ids by phone number"),
    ("Card.Instance.Write", "Post and update the interactive status card, and register its callback URL"),
    ("Card.Streaming.Write", "Stream the assistant's answers into AI cards as they are written (without it, the card is updated instead)"),
];

/// The organisation's DingTalk edition, which sets the API budget. Standard (the free
/// edition): 20 QPS per app per API and 10,000 metered calls a month for the whole
/// organisation (official throttling page, notes Q9 — certain). Professional 40 QPS /
/// 500,000 a month and exclusive 60 QPS / 5,500,000 a month come from Flashduty's FAQ and
/// an aliyun Q&A (ref §5) — UNCERTAIN. Quotas reset on the 1st of the month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edition {
    /// 标准版 (free).
    #[default]
    Standard,
    /// 专业版.
    Professional,
    /// 专属版.
    Exclusive,
}

impl Edition {
    /// Calls per second per app per API.
    pub fn qps_per_api(self) -> u32 {
        match self {
            Edition::Standard => 20,
            Edition::Professional => 40,
            Edition::Exclusive => 60,
        }
    }

    /// Metered calls per month for the organisation (token, auth and contact APIs exempt).
    pub fn monthly_calls(self) -> u64 {
        match self {
            Edition::Standard => 10_000,
            Edition::Professional => 500_000,
            Edition::Exclusive => 5_500_000,
        }
    }
}

fn default_oapi() -> String {
    OAPI_BASE.into()
}
fn default_api() -> String {
    API_BASE.into()
}

/// What an integration stores (sealed) for its DingTalk app: the values the developer
/// console shows (notes Q5 / "Credentials from the user").
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DingTalkCredentials {
    /// Client ID = AppKey.
    pub client_id: String,
    /// Client Secret = AppSecret.
    pub client_secret: String,
    /// The organisation's CorpId. Accepted as the owner key of event-subscription payloads
    /// besides the AppKey (see [`DingTalkCredentials::owner_keys`]).
    #[serde(default)]
    pub corp_id: String,
    /// The scene-group robot's code (模板详情 → 机器人 ID). It differs from the AppKey: "场景群
    /// 机器人发送群聊使用群机器人robotCode" (notes Q8). Empty: the AppKey (an app robot).
    #[serde(default)]
    pub robot_code: String,
    /// The scene-group template (群模板) id; mandatory to create scene groups (ref §3).
    pub template_id: String,
    /// The staff userid that owns every war-room group: scene-group creation requires an
    /// `owner_user_id` (ref §3) and the robot cannot own one.
    #[serde(default)]
    pub owner_user_id: String,
    /// The card-platform template of the status card. Empty: [`DEFAULT_CARD_TEMPLATE_ID`].
    #[serde(default)]
    pub card_template_id: String,
    /// The `callbackRouteKey` the card callback URL is registered under. Empty: derived
    /// from the AppKey ([`DingTalkCredentials::card_route_key`]).
    #[serde(default)]
    pub card_route_key: String,
    /// The `apiSecret` registered with the card callback URL, which signs every click
    /// (notes Q6). Empty: the AppSecret (as `hp-coder/dingtalk-module` registers it).
    #[serde(default)]
    pub card_api_secret: String,
    /// Event subscription 签名 Token.
    #[serde(default)]
    pub event_token: String,
    /// Event subscription 加密 aes_key (EncodingAESKey, 43 characters).
    #[serde(default)]
    pub event_aes_key: String,
    #[serde(default)]
    pub edition: Edition,
    /// [`OAPI_BASE`], or the sandbox.
    #[serde(default = "default_oapi")]
    pub oapi_base: String,
    /// [`API_BASE`], or the sandbox.
    #[serde(default = "default_api")]
    pub api_base: String,
}

impl DingTalkCredentials {
    /// Points both API generations at one host (the sandbox): their paths do not overlap
    /// (`/gettoken`, `/topapi/…` vs `/v1.0/…`).
    pub fn with_base(mut self, base: impl Into<String>) -> Self {
        let base = base.into();
        self.oapi_base = base.clone();
        self.api_base = base;
        self
    }

    pub(crate) fn oapi(&self) -> &str {
        self.oapi_base.trim_end_matches('/')
    }

    pub(crate) fn api(&self) -> &str {
        self.api_base.trim_end_matches('/')
    }

    pub(crate) fn robot(&self) -> &str {
        if self.robot_code.is_empty() {
            &self.client_id
        } else {
            &self.robot_code
        }
    }

    pub(crate) fn card_template(&self) -> &str {
        if self.card_template_id.is_empty() {
            DEFAULT_CARD_TEMPLATE_ID
        } else {
            &self.card_template_id
        }
    }

    /// The route key our card callback URL is registered under.
    pub fn card_route_key(&self) -> String {
        if self.card_route_key.is_empty() {
            format!("warroom_{}", self.client_id)
        } else {
            self.card_route_key.clone()
        }
    }

    pub(crate) fn card_secret(&self) -> &str {
        if self.card_api_secret.is_empty() {
            &self.client_secret
        } else {
            &self.card_api_secret
        }
    }

    /// The owner keys an event-subscription payload may end with. The Crypto repo README says
    /// corpId for enterprise callbacks and suiteKey for ISV apps; console-configured
    /// subscriptions of internal apps use the AppKey per DingTalk doc copies (ref §2a) —
    /// UNCERTAIN, so both the AppKey and the CorpId are accepted, the AppKey first.
    pub(crate) fn owner_keys(&self) -> Vec<&str> {
        [self.client_id.as_str(), self.corp_id.as_str()].into_iter().filter(|k| !k.is_empty()).collect()
    }

    /// The secrets a robot message callback may be signed with. The app robot signs with
    /// the AppSecret (official page, notes Q7); whether a scene-group robot signs with it or
    /// with the token set on the robot (Flashduty sets the event 签名 Token there) is not
    /// documented — UNCERTAIN, so both are accepted.
    pub(crate) fn robot_sign_keys(&self) -> Vec<&str> {
        [self.client_secret.as_str(), self.event_token.as_str()].into_iter().filter(|k| !k.is_empty()).collect()
    }
}

/// Secrets never reach logs: ids and base URLs are shown, secrets only as set / empty.
impl fmt::Debug for DingTalkCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |s: &str| if s.is_empty() { "[empty]" } else { "[redacted]" };
        f.debug_struct("DingTalkCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &redact(&self.client_secret))
            .field("corp_id", &self.corp_id)
            .field("robot_code", &self.robot_code)
            .field("template_id", &self.template_id)
            .field("owner_user_id", &self.owner_user_id)
            .field("card_template_id", &self.card_template_id)
            .field("card_route_key", &self.card_route_key)
            .field("card_api_secret", &redact(&self.card_api_secret))
            .field("event_token", &redact(&self.event_token))
            .field("event_aes_key", &redact(&self.event_aes_key))
            .field("edition", &self.edition)
            .field("oapi_base", &self.oapi_base)
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// A short stable digest (32 hex characters of SHA-256) for DingTalk's `uuid` and
/// `outTrackId`, whatever the input length; parts are length-prefixed so ("ab","c") and
/// ("a","bc") differ.
pub(crate) fn short_hash(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())[..32].to_string()
}

#[cfg(test)]
pub(crate) fn test_credentials(base: &str) -> DingTalkCredentials {
    DingTalkCredentials {
        client_id: "dingappkey".into(),
        client_secret: "app-secret".into(),
        corp_id: "dingcorp".into(),
        robot_code: "dinggrouprobot".into(),
        template_id: "tpl-1".into(),
        owner_user_id: "owner1".into(),
        card_template_id: String::new(),
        card_route_key: String::new(),
        card_api_secret: "card-secret".into(),
        event_token: "evtoken".into(),
        event_aes_key: "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus".into(),
        edition: Edition::Standard,
        oapi_base: OAPI_BASE.into(),
        api_base: API_BASE.into(),
    }
    .with_base(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_shows_no_secret() {
        let c = test_credentials(API_BASE);
        let shown = format!("{c:?}");
        assert!(shown.contains("dingappkey") && shown.contains("dinggrouprobot"));
        for secret in ["app-secret", "card-secret", "evtoken", "o1w0aum42"] {
            assert!(!shown.contains(secret), "{secret} leaked");
        }
    }

    #[test]
    fn stored_credentials_default_to_the_public_hosts_and_the_standard_edition() {
        let c: DingTalkCredentials = serde_json::from_str(r#"{"client_id":"k","client_secret":"s","template_id":"t"}"#).unwrap();
        assert_eq!((c.oapi(), c.api(), c.edition), (OAPI_BASE, API_BASE, Edition::Standard));
        assert_eq!((c.robot(), c.card_template(), c.card_secret()), ("k", DEFAULT_CARD_TEMPLATE_ID, "s"));
        assert_eq!(c.card_route_key(), "warroom_k");
        assert_eq!(c.owner_keys(), vec!["k"]);
        let sandbox = c.with_base("http://127.0.0.1:9/");
        assert_eq!((sandbox.oapi(), sandbox.api()), ("http://127.0.0.1:9", "http://127.0.0.1:9"));
    }

    #[test]
    fn editions_carry_their_api_budget() {
        assert_eq!([Edition::Standard, Edition::Professional, Edition::Exclusive].map(Edition::qps_per_api), [20, 40, 60]);
        assert_eq!(Edition::Standard.monthly_calls(), 10_000);
        assert_eq!(serde_json::to_string(&Edition::Professional).unwrap(), r#""professional""#);
    }

    #[test]
    fn required_scopes_include_the_war_room_permission_points() {
        for scope in ["qyapi_chat_manage", "qyapi_chat_read", "qyapi_robot_sendmsg", "qyapi_get_member_by_mobile", "Card.Instance.Write"] {
            assert!(REQUIRED_SCOPES.iter().any(|(s, _)| *s == scope), "{scope}");
        }
    }

    #[test]
    fn short_hashes_are_32_hex_and_separate_their_parts() {
        assert_eq!(short_hash(&["x".repeat(500).as_str()]).len(), 32);
        assert_ne!(short_hash(&["ab", "c"]), short_hash(&["a", "bc"]));
    }
}
