//! Status sync back to the incident's source: the [`SourceSync`] adapter.
//!
//! [`SourceRouter`] reads the tenant's [`SyncSettings`] and dispatches on
//! `incident.source.source`:
//! - `generic`: a signed JSON callback to the tenant's URL ([`generic`]);
//! - `alertmanager`: a snooze becomes a silence of the alert group ([`alertmanager`]);
//! - `pagerduty`: acknowledge / resolve / snooze through REST API v2 ([`pagerduty`]);
//! - anything else: nothing to do, reported as synced.
//!
//! A source the tenant has not configured is not an error either: the push succeeds with
//! a detail saying so, and the timeline shows it.
//!
//! Settings come from a [`SettingsSource`]: [`TenantSettings`] reads the tenant record's
//! `settings.sources` JSON from the store (the deployment's wiring, parsed by
//! [`SyncSettings::from_sources`]); [`FixedSettings`] serves tests and single-tenant setups.
//!
//! # Secrets
//!
//! Credentials in the settings are sealed with [`SecretBox`] under the context
//! [`secret_context`] = `tenant:{tenant_id}:sync`. **The management API must seal with
//! exactly this context**, or opening fails (a permanent error asking to re-enter it).
//! Binding to the tenant means a sealed value copied into another tenant's settings
//! cannot be opened there. Secrets are opened per push, kept only for the call, and
//! never appear in errors, details or logs.
//!
//! Errors: transport failures, 408, 429 and 5xx are retryable; any other non-2xx, bad
//! settings and unopenable secrets are permanent (retrying cannot fix them).

pub mod alertmanager;
pub mod generic;
mod http;
pub mod outbound;
pub mod pagerduty;
mod settings;
mod store_settings;

pub use generic::{sign, verify, StatusCallback, SIGNATURE_HEADER, TIMESTAMP_HEADER};
pub use outbound::{OutboundPolicy, PolicyError, PolicyResolver};
pub use settings::{
    AlertmanagerSettings, FixedSettings, GenericSettings, PagerDutySettings, SettingsSource, SyncSettings, DEFAULT_CREATED_BY, PAGERDUTY_API_URL,
};
pub use store_settings::TenantSettings;

use async_trait::async_trait;
use std::sync::Arc;
use warroom_core::{Clock, Incident, SealedCredentials, SourceState, SourceSync, SyncError, Synced, SystemClock, Tenant, TenantId};
use warroom_secrets::{Secret, SecretBox};

/// The context every status-sync credential is sealed under (see the crate docs).
pub fn secret_context(tenant: &TenantId) -> String {
    format!("tenant:{tenant}:sync")
}

/// The [`SourceSync`] adapter: one per process, shared by every tenant.
pub struct SourceRouter {
    settings: Arc<dyn SettingsSource>,
    secrets: SecretBox,
    http: reqwest::Client,
    policy: OutboundPolicy,
    clock: Arc<dyn Clock>,
}

impl SourceRouter {
    /// With the default HTTP client (rustls, connect timeout 3 s, total 10 s, no redirects)
    /// and the strictest outbound policy: public addresses only.
    pub fn new(settings: Arc<dyn SettingsSource>, secrets: SecretBox) -> Result<Self, SyncError> {
        Self::with_policy(settings, secrets, OutboundPolicy::public_only())
    }

    /// With the deployment's outbound policy (`WARROOM_OUTBOUND_ALLOW`).
    pub fn with_policy(settings: Arc<dyn SettingsSource>, secrets: SecretBox, policy: OutboundPolicy) -> Result<Self, SyncError> {
        Self::with_resolver(settings, secrets, PolicyResolver::new(policy))
    }

    /// With a resolver of its own (tests: a name that resolves where the test says, to see
    /// the policy judge the address actually connected to).
    pub fn with_resolver(settings: Arc<dyn SettingsSource>, secrets: SecretBox, resolver: PolicyResolver) -> Result<Self, SyncError> {
        let policy = resolver.policy().clone();
        let http = http::client(resolver).map_err(|e| SyncError::permanent(format!("could not build the HTTP client: {e}")))?;
        Ok(Self { settings, secrets, http, policy, clock: Arc::new(SystemClock) })
    }

    /// Replaces the wall clock (tests: fixed `sent_at`, snooze durations).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn open(&self, tenant: &TenantId, sealed: &SealedCredentials, what: &str) -> Result<Secret, SyncError> {
        // The SecretError says only "wrong key or tampered"; never the value.
        self.secrets
            .open(sealed, &secret_context(tenant))
            .map_err(|e| SyncError::permanent(format!("the {what} in the status-sync settings could not be opened ({e}); re-enter it")))
    }
}

impl SourceRouter {
    /// An IP-literal target is judged here (names are judged by the resolver, on the
    /// address connected to).
    fn check_target(&self, source: &str, settings: &SyncSettings) -> Result<(), SyncError> {
        let url = match source {
            "generic" => settings.generic.as_ref().map(|g| g.callback_url.as_str()),
            "alertmanager" => settings.alertmanager.as_ref().map(|a| a.api_url.as_str()),
            _ => settings.pagerduty.as_ref().map(|p| p.api_url.as_str()),
        };
        let Some(url) = url else { return Ok(()) };
        match http::parse(url) {
            Ok(url) => self.policy.check_url(&url).map_err(|refused| SyncError::permanent(format!("{source} status sync: {refused}"))),
            // A malformed URL is reported by the adapter, with its own words.
            Err(_) => Ok(()),
        }
    }
}

fn not_configured(source: &str) -> Synced {
    Synced { detail: format!("{source} status sync is not configured for this tenant") }
}

#[async_trait]
impl SourceSync for SourceRouter {
    async fn push(&self, tenant: &Tenant, incident: &Incident, previous: Option<&SourceState>) -> Result<Synced, SyncError> {
        let source = incident.source.source.as_str();
        if !matches!(source, "generic" | "alertmanager" | "pagerduty") {
            return Ok(Synced { detail: format!("source {source} has no status sync") });
        }
        let settings = self.settings.sync_settings(&tenant.id).await?;
        self.check_target(source, &settings)?;
        let now = self.clock.now();
        let result = match source {
            "generic" => match &settings.generic {
                None => Ok(not_configured(source)),
                Some(g) => {
                    let secret = self.open(&tenant.id, &g.signing_secret, "generic signing secret")?;
                    generic::push(&self.http, &g.callback_url, &secret, incident, now).await
                }
            },
            "alertmanager" => match &settings.alertmanager {
                None => Ok(not_configured(source)),
                Some(am) => alertmanager::push(&self.http, &am.api_url, &am.created_by, incident, previous, now).await,
            },
            _ => match &settings.pagerduty {
                None => Ok(not_configured(source)),
                Some(pd) => {
                    let token = self.open(&tenant.id, &pd.api_token, "PagerDuty API token")?;
                    let client = pagerduty::Client { http: &self.http, api_url: &pd.api_url, token: &token, from_email: &pd.from_email };
                    pagerduty::push(&client, incident, previous, now).await
                }
            },
        };
        match &result {
            Ok(synced) => tracing::info!(tenant = %tenant.id, incident = %incident.id, source, detail = %synced.detail, "status synced"),
            Err(e) => tracing::warn!(tenant = %tenant.id, incident = %incident.id, source, retryable = e.retryable, error = %e, "status sync failed"),
        }
        result
    }
}
