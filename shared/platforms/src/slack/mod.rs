//! Slack: Web API client, the `ImPlatform` adapter, Block Kit status card, request
//! signing (v0), the `CallbackCodec` for Events API and interactivity payloads, OAuth v2
//! install and an app manifest.
//!
//! Facts come from `../shared/reference/platforms/slack.md` unless a comment cites
//! another source; "UNCERTAIN" marks what no primary source confirmed.

mod blocks;
mod client;
mod codec;
mod error;
mod events;
mod manifest;
mod module;
mod oauth;
mod platform;
mod stream;
mod types;
mod util;
mod verify;

#[cfg(test)]
mod test_stub;

pub use blocks::{render_card, ACTION_ID_PREFIX};
pub use client::SlackClient;
pub use codec::SlackCodec;
pub use error::{map_error_code, SlackApiError};
pub use manifest::{manifest, BOT_EVENTS};
pub use module::SlackModule;
pub use oauth::{authorize_url, exchange_code, OAuthGrant};
pub use platform::SlackPlatform;
pub use types::{AuthTest, Conversation, HistoryMessage, SlackUser, Topic};
pub use util::sanitize_channel_name;
pub use verify::{sign, verify, MAX_AGE_SECS, SIGNATURE_HEADER, TIMESTAMP_HEADER};

use serde::{Deserialize, Serialize};
use std::fmt;

/// The Web API base; the sandbox and tests pass their own.
pub const API_BASE: &str = "https://slack.com/api";
/// Where `/oauth/v2/authorize` lives.
pub const OAUTH_BASE: &str = "https://slack.com";

/// The bot scopes war rooms need, in the product's order (seeds/000: "AI SRE Required
/// Permissions"), with what each is for.
pub const REQUIRED_SCOPES: &[(&str, &str)] = &[
    ("chat:write", "Send alert notifications, War Room messages, AI SRE replies, and streaming message updates"),
    ("app_mentions:read", "Receive AI SRE messages that mention the bot in channels"),
    ("im:history", "Receive and read direct messages with the bot"),
    ("channels:history", "Read public channel history for AI SRE context and AI-generated post-mortem reports"),
    ("groups:history", "Read private channel history; required when War Rooms are created as private channels"),
    ("channels:manage", "Create and manage public channels"),
    ("groups:write", "Create and manage private channels"),
    ("groups:write.invites", "Invite members to private War Room channels"),
    ("channels:read", "Read public channel metadata"),
    ("groups:read", "Read private channel metadata and War Room details"),
    ("users:read", "Read basic Slack user information"),
    ("users:read.email", "Match and automatically link Slack users by email"),
    ("reactions:write", "Add or remove confirmation reactions while AI SRE processes messages"),
    ("files:read", "Download images or files sent to AI SRE in conversations"),
];

/// What an installation stores (sealed at rest by the secrets layer). `Debug` redacts
/// the token and the signing secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackCredentials {
    /// `xoxb-…`
    pub bot_token: String,
    pub team_id: String,
    #[serde(default)]
    pub bot_user_id: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    /// Only for a self-managed app (its own Request URL and signing secret); the
    /// deployment's app verifies with the deployment-wide secret.
    #[serde(default)]
    pub signing_secret: Option<String>,
}

impl fmt::Debug for SlackCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackCredentials")
            .field("bot_token", &"[redacted]")
            .field("team_id", &self.team_id)
            .field("bot_user_id", &self.bot_user_id)
            .field("app_id", &self.app_id)
            .field("signing_secret", &self.signing_secret.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_never_shows_the_token_or_the_secret() {
        let c = SlackCredentials {
            bot_token: "xoxb-very-secret".into(),
            team_id: "T1".into(),
            bot_user_id: Some("U0BOT".into()),
            app_id: None,
            signing_secret: Some("shh-signing".into()),
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("xoxb-very-secret") && !shown.contains("shh-signing"), "{shown}");
        assert!(shown.contains("T1") && shown.contains("U0BOT"));
    }

    #[test]
    fn credentials_round_trip_as_json_and_old_json_without_optional_fields_still_reads() {
        let json = r#"{"bot_token":"xoxb-1","team_id":"T1"}"#;
        let c: SlackCredentials = serde_json::from_str(json).unwrap();
        assert_eq!(c.bot_user_id, None);
        let back: SlackCredentials = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn required_scopes_follow_the_seed_list_in_order() {
        let names: Vec<&str> = REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            names,
            [
                "chat:write",
                "app_mentions:read",
                "im:history",
                "channels:history",
                "groups:history",
                "channels:manage",
                "groups:write",
                "groups:write.invites",
                "channels:read",
                "groups:read",
                "users:read",
                "users:read.email",
                "reactions:write",
                "files:read",
            ]
        );
    }
}
