//! Tenants, their API keys and their members.

use crate::ids::{MemberId, TenantId};
use crate::incident::Severity;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    #[serde(default)]
    pub settings: TenantSettings,
    pub created_at: Timestamp,
    /// Bumped by every `Store::update_tenant`, so two admins saving settings at once cannot
    /// silently undo each other (the API's `ETag` / `If-Match`). Records stored before it
    /// existed read as 0.
    #[serde(default)]
    pub version: u64,
}

/// Per-tenant war-room rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantSettings {
    /// Open a war room automatically for incidents at or above this severity; `None` = manual only.
    pub auto_create_min_severity: Option<Severity>,
    /// Create private chats (the default: incident talk is often sensitive).
    pub private_chats: bool,
    /// Dismiss the chat this many minutes after the incident closes; `None` = only by hand.
    pub auto_dismiss_after_minutes: Option<u32>,
    /// Per-source settings (status sync targets, webhook secrets), owned and interpreted
    /// by `warroom-sources`; secrets inside are sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<serde_json::Value>,
    /// Draft the AI post-mortem when an incident resolves (from the transcript taken before
    /// its room is dismissed).
    #[serde(default)]
    pub postmortem_on_resolve: bool,
    /// The tenant's own model; `None`: the deployment's (if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<TenantModel>,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self { auto_create_min_severity: None, private_chats: true, auto_dismiss_after_minutes: None, sources: None, postmortem_on_resolve: false, model: None }
    }
}

/// What a key may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyScope {
    /// The management API (and intake).
    #[default]
    Admin,
    /// Only `POST /hooks/{source}`: the key pasted into a monitoring tool's config.
    Intake,
}

/// An API key as stored: only its SHA-256 hash, never the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub tenant_id: TenantId,
    /// Lowercase hex SHA-256 of the key.
    pub key_hash: String,
    /// A human label ("terraform", "grafana") and the key's first characters, to tell keys apart.
    pub label: String,
    pub prefix: String,
    #[serde(default)]
    pub scope: KeyScope,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub tenant_id: TenantId,
    pub id: MemberId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// What the member may do besides responding; records stored before roles existed read
    /// as [`MemberRole::Member`].
    #[serde(default)]
    pub role: MemberRole,
    pub updated_at: Timestamp,
}

/// A member's role. Admins may sign in to the console through the team's IM (an API key is
/// the other way in); members only respond to incidents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    #[default]
    Member,
    Admin,
}

impl MemberRole {
    pub const ALL: [MemberRole; 2] = [MemberRole::Member, MemberRole::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Member => "member",
            MemberRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl Member {
    /// Case-insensitive match on name or email, as the link list's search box does.
    pub fn matches(&self, needle: &str) -> bool {
        let needle = needle.trim().to_lowercase();
        needle.is_empty() || self.name.to_lowercase().contains(&needle) || self.email.as_deref().is_some_and(|e| e.to_lowercase().contains(&needle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, email: Option<&str>) -> Member {
        Member {
            tenant_id: "t".into(),
            id: MemberId::generate(),
            name: name.into(),
            email: email.map(Into::into),
            phone: None,
            role: MemberRole::Member,
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn a_member_stored_before_roles_reads_as_a_plain_member() {
        let old = r#"{"tenant_id":"t","id":"m1","name":"Ada","email":null,"phone":null,"updated_at":0}"#;
        let m: Member = serde_json::from_str(old).unwrap();
        assert_eq!(m.role, MemberRole::Member);
        let admin = Member { role: MemberRole::Admin, ..m };
        let json = serde_json::to_value(&admin).unwrap();
        assert_eq!(json["role"], "admin");
        assert_eq!(MemberRole::parse("admin"), Some(MemberRole::Admin));
        assert_eq!(MemberRole::parse("owner"), None);
    }

    #[test]
    fn search_matches_name_or_email_ignoring_case() {
        let m = member("Ada Lovelace", Some("ada@Example.com"));
        assert!(m.matches("lovelace"));
        assert!(m.matches("EXAMPLE.COM"));
        assert!(m.matches(""));
        assert!(!m.matches("grace"));
        assert!(!member("Grace", None).matches("example"));
    }
}

/// A tenant's own model for the assistant and post-mortems (`PUT /api/v1/settings`,
/// `model`), in place of the deployment's. Its URL is checked against the deployment's
/// outbound policy before every use (a tenant must not make the worker call into the
/// deployment's own network).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantModel {
    /// `openai-compatible` (OpenAI, DeepSeek, Qwen, Ollama, vLLM, …), `azure-openai` or
    /// `bedrock` (with the deployment's IAM role: no key, no URL).
    pub provider: String,
    /// The API base, ending in `/v1` for OpenAI-compatible servers (Azure: the resource);
    /// empty for Bedrock.
    pub base_url: String,
    /// The model (Azure: the deployment; Bedrock: the model or inference-profile id).
    pub model: String,
    /// Bedrock's region; `None`: the deployment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Sealed under [`model_key_context`]; `None`: the server takes no key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<crate::integration::SealedCredentials>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_api_version: Option<String>,
    /// The cap per answer; `None`: the deployment's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
}

impl std::fmt::Debug for TenantModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantModel")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("region", &self.region)
            .field("api_key", &self.api_key.as_ref().map(|_| "sealed"))
            .field("max_output_tokens", &self.max_output_tokens)
            .finish()
    }
}

/// What a tenant's model key is sealed under: it opens for that tenant's model only.
pub fn model_key_context(tenant: &TenantId) -> String {
    format!("tenant:{tenant}:model")
}
