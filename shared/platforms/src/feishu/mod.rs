//! Feishu / Lark: a custom ("self-built") app per integration. The API client with a
//! tenant token shared through the Store, callback verification and AES-256-CBC
//! decryption, the interactive card, and sign-in from the Feishu app.
//!
//! Every API fact comes from `shared/reference/platforms/feishu.md` unless a comment cites
//! another source; "UNCERTAIN" marks what could not be confirmed.

mod answer;
mod card;
mod client;
mod codec;
mod crypto;
mod login;
mod module;
mod platform;
mod stream;
mod text;
mod token;

pub use card::card_json;
pub use codec::FeishuCodec;
pub use crypto::{decrypt, encrypt, signature, verify_signature};
pub use login::{authorize_url, login_user, LoginUser};
pub use module::{FeishuModule, StoredFeishu};
pub use platform::FeishuPlatform;

use serde::{Deserialize, Serialize};
use std::fmt;

/// Feishu (mainland China) OpenAPI host.
pub const FEISHU_BASE: &str = "https://open.feishu.cn";
/// Lark (international) OpenAPI host.
pub const LARK_BASE: &str = "https://open.larksuite.com";

/// The permissions a war-room app needs, as the Feishu/Lark console names them, with what
/// each is for (seed 003, "AI SRE Required Permissions"; names copied verbatim).
pub const REQUIRED_SCOPES: &[(&str, &str)] = &[
    ("im:chat", "Create and manage War Room chats, get chat information, and add chat members"),
    ("im:message", "Read and send direct and group messages"),
    ("im:message:send_as_bot", "Send AI SRE replies and War Room messages as the bot"),
    ("im:message:update", "Update messages sent by the app for AI SRE streaming replies"),
    ("im:message.group_msg", "Read group chat history; required for AI SRE context and AI-generated post-mortem reports"),
    ("im:message.reactions:read", "Query message reactions for AI SRE processing status confirmation"),
    ("im:message.reactions:write_only", "Add or delete message reactions for AI SRE processing status confirmation"),
    ("im:resource", "Upload and download images, files, and other message resources"),
    ("cardkit:card:write", "Create and update CardKit cards for AI SRE streaming replies"),
    ("contact:user.id:readonly", "Get user IDs by phone number or email for automatic linking and member invitation"),
    ("contact:contact.base:readonly", "Get basic contact information for reading user and department metadata"),
    ("contact:user.base:readonly", "Get basic user information for displaying sender names"),
];

/// What an integration stores (sealed) for its Feishu/Lark app: the four values the
/// console shows (seed 003, "Copy Credential Information" and "Encryption Strategy").
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeishuCredentials {
    pub app_id: String,
    pub app_secret: String,
    /// Checked against `token` / `header.token` of every callback.
    pub verification_token: String,
    /// Empty when the app has no Encrypt Key: callbacks then arrive in clear and unsigned.
    pub encrypt_key: String,
    /// [`FEISHU_BASE`], [`LARK_BASE`], or the sandbox.
    pub base_url: String,
}

impl FeishuCredentials {
    /// The base URL without a trailing slash, so paths can be appended.
    pub(crate) fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }
}

/// Secrets never reach logs: only the app id and the base URL are shown.
impl fmt::Debug for FeishuCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |s: &str| if s.is_empty() { "[empty]" } else { "[redacted]" };
        f.debug_struct("FeishuCredentials")
            .field("app_id", &self.app_id)
            .field("app_secret", &redact(&self.app_secret))
            .field("verification_token", &redact(&self.verification_token))
            .field("encrypt_key", &redact(&self.encrypt_key))
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// A short stable digest for Feishu's `uuid` dedup parameters (at most 50 characters):
/// 32 hex characters of SHA-256 (128 bits), whatever the input length.
pub(crate) fn short_hash(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes()); // length-prefixed: ("ab","c") != ("a","bc")
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_shows_no_secret() {
        let c = FeishuCredentials {
            app_id: "cli_1".into(),
            app_secret: "s3cret".into(),
            verification_token: "vtok".into(),
            encrypt_key: String::new(),
            base_url: FEISHU_BASE.into(),
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("cli_1") && shown.contains("[empty]"));
        assert!(!shown.contains("s3cret") && !shown.contains("vtok"));
    }

    #[test]
    fn required_scopes_are_the_twelve_of_the_integration_guide() {
        assert_eq!(REQUIRED_SCOPES.len(), 12);
        assert!(REQUIRED_SCOPES.iter().any(|(s, _)| *s == "im:message.group_msg"));
    }

    #[test]
    fn short_hashes_fit_feishu_uuid_limits_and_separate_their_parts() {
        let h = short_hash(&["x".repeat(500).as_str()]);
        assert_eq!(h.len(), 32);
        assert_ne!(short_hash(&["ab", "c"]), short_hash(&["a", "bc"]));
    }
}
