//! Per-tenant status-sync settings and where they come from.
//!
//! The management API stores these as JSON. Credentials are stored sealed (see
//! [`crate::secret_context`] for the context they must be sealed under), so `Debug` of
//! any of these types shows only `SealedCredentials(N bytes)`, never a token.

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
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

impl SyncSettings {
    /// Reads the tenant's `settings.sources` JSON. Other features keep values there too
    /// (the PagerDuty intake's `pagerduty.webhook_secret`), so a section counts as
    /// status-sync configuration only when it has its key field (`generic.callback_url`,
    /// `alertmanager.api_url`, `pagerduty.api_token`); a webhook secret alone does not
    /// turn PagerDuty sync on, nor make the settings invalid. A section that has its key
    /// field must parse, or the error names the section (values are not echoed).
    pub fn from_sources(sources: &Value) -> Result<Self, SyncError> {
        Ok(Self {
            generic: section(sources, "generic", "callback_url")?,
            alertmanager: section(sources, "alertmanager", "api_url")?,
            pagerduty: section(sources, "pagerduty", "api_token")?,
        })
    }
}

fn section<T: DeserializeOwned>(sources: &Value, name: &str, key: &str) -> Result<Option<T>, SyncError> {
    let Some(section) = sources.get(name).filter(|s| s.get(key).is_some_and(|k| !k.is_null())) else {
        return Ok(None);
    };
    // Only the field and line of a serde error: its message could quote a value.
    serde_json::from_value(section.clone()).map(Some).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "a field is missing or of the wrong type",
            _ => "not valid JSON",
        };
        SyncError::permanent(format!("the tenant's {name} status-sync settings are invalid: {what}"))
    })
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
    fn sources_sections_without_their_key_field_are_not_sync_settings() {
        let only_intake = serde_json::json!({"pagerduty": {"webhook_secret": "v1:xyz"}, "generic": null});
        assert_eq!(SyncSettings::from_sources(&only_intake).unwrap(), SyncSettings::default());
        let both = serde_json::json!({"pagerduty": {"webhook_secret": "v1:x", "api_token": "v1:t", "from_email": "a@b.c"}});
        assert_eq!(SyncSettings::from_sources(&both).unwrap().pagerduty.unwrap().api_token.0, "v1:t");
        let broken = serde_json::json!({"pagerduty": {"api_token": "v1:t-secretish"}});
        let err = SyncSettings::from_sources(&broken).unwrap_err();
        assert!(!err.retryable && err.message.contains("pagerduty") && !err.message.contains("secretish"), "{err:?}");
    }

    #[test]
    fn debug_shows_sealed_values_only() {
        let s = SyncSettings {
            generic: Some(GenericSettings { callback_url: "https://example.com/cb".into(), signing_secret: SealedCredentials("v1:c2VjcmV0".into()) }),
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
