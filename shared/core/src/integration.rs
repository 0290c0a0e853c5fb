//! IM integrations and the links between members and IM users.

use crate::ids::{ImUserId, IntegrationId, MemberId, TenantId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Slack,
    Feishu,
    Dingtalk,
    Wecom,
}

impl Platform {
    pub const ALL: [Platform; 4] = [Platform::Slack, Platform::Feishu, Platform::Dingtalk, Platform::Wecom];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Feishu => "feishu",
            Platform::Dingtalk => "dingtalk",
            Platform::Wecom => "wecom",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Credentials as they are stored: already encrypted by the secrets layer.
/// The plaintext never reaches the domain, so it cannot leak through `Debug`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SealedCredentials(pub String);

impl fmt::Debug for SealedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedCredentials({} bytes)", self.0.len())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationStatus {
    Active,
    /// The app was uninstalled or its tokens revoked; it needs re-authorizing.
    Revoked,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub tenant_id: TenantId,
    pub id: IntegrationId,
    pub platform: Platform,
    pub name: String,
    /// The platform's id for the installation (Slack team id, Feishu app id), used to find
    /// the integration from a callback that names only that.
    pub external_id: Option<String>,
    pub credentials: SealedCredentials,
    /// Permissions the platform says were granted (Slack scopes, Feishu scopes, ...).
    pub granted_scopes: Vec<String>,
    /// Set only together with the tenant's war-room guard (see `Store::enable_war_room`).
    pub war_room_enabled: bool,
    pub status: IntegrationStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Bumped by every `Store::update_integration`, which writes only over the version it
    /// was given: a credentials rotation and a concurrent scope refresh (or a revocation
    /// heard from the platform) cannot undo each other. Records stored before it existed
    /// read as 0.
    #[serde(default)]
    pub version: u64,
}

impl Integration {
    /// The required permissions this integration lacks, in the order given.
    pub fn missing_scopes<'a>(&self, required: &[&'a str]) -> Vec<&'a str> {
        required.iter().copied().filter(|r| !self.granted_scopes.iter().any(|g| g == r)).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkMethod {
    Email,
    Phone,
    SignIn,
    Manual,
}

/// A member's account on one integration's IM platform. Stored in both directions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLink {
    pub tenant_id: TenantId,
    pub integration_id: IntegrationId,
    pub member_id: MemberId,
    pub im_user_id: ImUserId,
    pub method: LinkMethod,
    pub linked_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(p.as_str()), Some(p));
        }
        assert_eq!(Platform::parse("teams"), None);
    }

    #[test]
    fn sealed_credentials_debug_shows_only_the_length() {
        let s = SealedCredentials("c2VjcmV0LWNpcGhlcnRleHQ=".into());
        assert_eq!(format!("{s:?}"), "SealedCredentials(24 bytes)");
    }

    #[test]
    fn missing_scopes_lists_what_was_not_granted() {
        let i = Integration {
            tenant_id: "t".into(),
            id: "i".into(),
            platform: Platform::Slack,
            name: "x".into(),
            external_id: None,
            credentials: SealedCredentials::default(),
            granted_scopes: vec!["chat:write".into(), "users:read".into()],
            war_room_enabled: false,
            status: IntegrationStatus::Active,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            version: 0,
        };
        assert_eq!(i.missing_scopes(&["chat:write", "groups:write", "users:read.email"]), vec!["groups:write", "users:read.email"]);
    }
}
