//! Per-tenant status-sync settings and where they come from.
//!
//! The management API stores these as JSON. Credentials are stored sealed (see
//! [`crate::secret_context`] for the context they must be sealed under), so `Debug` of
//! any of these types shows only `SealedCredentials(N bytes)`, never a token.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use warroom_core::{SealedCredentials, SyncError, TenantId};

/// PagerDuty's REST API base; overridable so tests can point at a local receiver.
pub const PAGERDUTY_API_URL: &str = "https://api.pagerduty.com";
/// `createdBy` of the silences Warroom posts when the tenant names no one else.
pub const DEFAULT_CREATED_BY: &str = "warroom";

/// Per-tenant status-sync settings, stored by the management API (JSON) — secrets sealed.
/// A source whose settings are `None` is not synced (the push reports so and succeeds).
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq)]
pub struct SyncSettings {
    #[serde(default)]
    pub generic: Option<GenericSettings>,
    #[serde(default)]
    pub alertmanager: Option<AlertmanagerSettings>,
    #[serde(default)]
    pub pagerduty: Option<PagerDutySettings>,
}

/// The tenant's own receiver for incidents that came in through the generic webhook.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct GenericSettings {
    /// Where the signed status callback is POSTed (http or https).
    pub callback_url: String,
    /// HMAC-SHA256 key of `X-Warroom-Signature`, sealed under `tenant:{id}:sync`.
    pub signing_secret: SealedCredentials,
}

/// The Alertmanager a snooze becomes a silence in. Alertmanager's API has no
/// authentication of its own; put it behind a proxy that accepts Warroom's address.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AlertmanagerSettings {
    /// Base URL, e.g. `http://alertmanager:9093` (a path prefix is kept).
    pub api_url: String,
    #[serde(default = "default_created_by")]
    pub created_by: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PagerDutySettings {
    /// A REST API key (account or user), sealed under `tenant:{id}:sync`.
    pub api_token: SealedCredentials,
    /// `From` header: the email of a valid PagerDuty user; status changes are made as them.
    pub from_email: String,
    #[serde(default = "default_pagerduty_url")]
    pub api_url: String,
}

fn default_created_by() -> String {
    DEFAULT_CREATED_BY.to_owned()
}

fn default_pagerduty_url() -> String {
    PAGERDUTY_API_URL.to_owned()
}

/// Where the settings live: the composition root decides (store, config file, fixed value).
#[async_trait]
pub trait SettingsSource: Send + Sync {
    async fn sync_settings(&self, tenant: &TenantId) -> Result<SyncSettings, SyncError>;
}

/// The same settings for every tenant: for tests and single-tenant deployments.
#[derive(Clone, Debug, Default)]
pub struct FixedSettings(pub SyncSettings);

#[async_trait]
impl SettingsSource for FixedSettings {
    async fn sync_settings(&self, _tenant: &TenantId) -> Result<SyncSettings, SyncError> {
        Ok(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_what_the_api_may_omit() {
        let json = r#"{"alertmanager":{"api_url":"http://am:9093"},
                       "pagerduty":{"api_token":"v1:abc","from_email":"ops@example.com"}}"#;
        let s: SyncSettings = serde_json::from_str(json).unwrap();
        assert_eq!(s.alertmanager.unwrap().created_by, "warroom");
        assert_eq!(s.pagerduty.unwrap().api_url, "https://api.pagerduty.com");
        assert_eq!(s.generic, None);
    }

    #[test]
    fn debug_shows_sealed_values_only() {
        let s = SyncSettings {
            generic: Some(GenericSettings {
                callback_url: "https://example.com/cb".into(),
                signing_secret: SealedCredentials("v1:c2VjcmV0".into()),
            }),
            pagerduty: Some(PagerDutySettings {
                api_token: SealedCredentials("v1:dG9rZW4=".into()),
                from_email: "ops@example.com".into(),
                api_url: PAGERDUTY_API_URL.into(),
            }),
            alertmanager: None,
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("c2VjcmV0") && !shown.contains("dG9rZW4="), "{shown}");
        assert!(shown.contains("SealedCredentials(11 bytes)"), "{shown}");
    }
}
