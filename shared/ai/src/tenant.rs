//! Each tenant's model: its own (`PUT /api/v1/settings`, `model`) when it set one, the
//! deployment's otherwise. A tenant's URL is the tenant's word, not the operator's: it is
//! checked against the deployment's outbound policy (IP literals here; names where the
//! client connects, through its resolver), and its key is unsealed only for that tenant.

use crate::{build, DEFAULT_MAX_TOKENS};
use std::sync::Arc;
use warroom_core::{ChatModel, ModelError, ModelFactory, ModelProvider, ModelSettings, SealedCredentials, Tenant, TenantId};

/// Refuses a URL the deployment's outbound policy does not allow (with why).
pub type UrlCheck = Arc<dyn Fn(&reqwest::Url) -> Result<(), String> + Send + Sync>;
/// Unseals a tenant's model key (under `model_key_context(tenant)`).
pub type KeyOpener = Arc<dyn Fn(&TenantId, &SealedCredentials) -> Result<String, String> + Send + Sync>;

pub struct TenantModels {
    deployment: Option<Arc<dyn ChatModel>>,
    /// The deployment's client: for Bedrock, whose endpoint is AWS's, not the tenant's word.
    http: reqwest::Client,
    /// Whether the deployment enabled Bedrock for tenants (`WARROOM_BEDROCK_ENABLED=true`).
    bedrock: bool,
    /// For tenants' own URLs: resolves through the outbound policy, follows no redirect.
    tenant_http: reqwest::Client,
    check_url: UrlCheck,
    open_key: KeyOpener,
}

impl TenantModels {
    pub fn new(
        deployment: Option<&ModelSettings>,
        http: reqwest::Client,
        tenant_http: reqwest::Client,
        check_url: UrlCheck,
        open_key: KeyOpener,
    ) -> Result<Self, ModelError> {
        let bedrock = std::env::var("WARROOM_BEDROCK_ENABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
        Ok(Self { deployment: deployment.map(|s| build(s, http.clone())).transpose()?, http, bedrock, tenant_http, check_url, open_key })
    }

    /// Overrides `WARROOM_BEDROCK_ENABLED` (read by [`TenantModels::new`]).
    pub fn with_bedrock_enabled(mut self, enabled: bool) -> Self {
        self.bedrock = enabled;
        self
    }

    /// The settings a tenant's own model stands for, key unsealed, URL checked.
    pub fn settings_of(&self, tenant: &Tenant) -> Result<Option<ModelSettings>, ModelError> {
        let Some(own) = &tenant.settings.model else { return Ok(None) };
        let max_output_tokens = own.max_output_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
        if own.provider == "bedrock" {
            if !self.bedrock {
                return Err(ModelError::BadRequest(
                    "the tenant's model is on Bedrock, which this deployment has not enabled (deploy with EnableBedrock=true, or choose another model with PUT /api/v1/settings)".into(),
                ));
            }
            // The deployment's role and AWS's endpoint: nothing here is the tenant's URL or key.
            let provider = ModelProvider::Bedrock { model_id: own.model.clone(), region: own.region.clone(), endpoint_url: None };
            return Ok(Some(ModelSettings { provider, max_output_tokens }));
        }
        let url = reqwest::Url::parse(&own.base_url).map_err(|e| ModelError::BadRequest(format!("the tenant's model URL is not a URL: {e}")))?;
        (self.check_url)(&url).map_err(|why| ModelError::BadRequest(format!("the tenant's model URL is refused: {why}")))?;
        let api_key = match &own.api_key {
            Some(sealed) => Some((self.open_key)(&tenant.id, sealed).map_err(|_| {
                ModelError::Unauthorized(
                    "the tenant's model key cannot be unsealed (was the sealing key rotated?): set it again with PUT /api/v1/settings".into(),
                )
            })?),
            None => None,
        };
        let azure_api_version = match own.provider.as_str() {
            "openai-compatible" => None,
            "azure-openai" => Some(own.azure_api_version.clone().unwrap_or_default()),
            other => return Err(ModelError::BadRequest(format!("the tenant's model provider {other:?} is not one this deployment builds"))),
        };
        let provider = ModelProvider::OpenAiCompatible { base_url: own.base_url.clone(), model: own.model.clone(), api_key, azure_api_version };
        Ok(Some(ModelSettings { provider, max_output_tokens }))
    }
}

impl ModelFactory for TenantModels {
    fn for_tenant(&self, tenant: &Tenant) -> Result<Option<Arc<dyn ChatModel>>, ModelError> {
        match self.settings_of(tenant)? {
            // Built per use: an adapter is a few strings over a shared client, and a
            // settings change then applies at once on every instance.
            Some(settings @ ModelSettings { provider: ModelProvider::Bedrock { .. }, .. }) => build(&settings, self.http.clone()).map(Some),
            Some(settings) => build(&settings, self.tenant_http.clone()).map(Some),
            None => Ok(self.deployment.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warroom_core::TenantModel;

    fn models(deployment: Option<&ModelSettings>) -> TenantModels {
        let http = reqwest::Client::builder().build().unwrap();
        let check: UrlCheck = Arc::new(|u: &reqwest::Url| if u.host_str() == Some("169.254.169.254") { Err("link-local".into()) } else { Ok(()) });
        let open: KeyOpener =
            Arc::new(|t: &TenantId, s: &SealedCredentials| if s.0 == format!("sealed-for-{t}") { Ok("sk-tenant".into()) } else { Err("no".into()) });
        TenantModels::new(deployment, http.clone(), http, check, open).unwrap()
    }

    fn tenant(model: Option<TenantModel>) -> Tenant {
        let mut t = Tenant { id: "t1".into(), name: "T".into(), settings: Default::default(), created_at: warroom_core::Timestamp(0), version: 1 };
        t.settings.model = model;
        t
    }

    fn own(url: &str, key: Option<&str>) -> TenantModel {
        TenantModel {
            provider: "openai-compatible".into(),
            base_url: url.into(),
            model: "qwen-plus".into(),
            region: None,
            api_key: key.map(|k| SealedCredentials(k.into())),
            azure_api_version: None,
            max_output_tokens: Some(300),
        }
    }

    #[test]
    fn a_tenant_without_its_own_model_gets_the_deployments_or_none() {
        assert!(models(None).for_tenant(&tenant(None)).unwrap().is_none());
    }

    #[test]
    fn a_tenants_own_model_is_built_with_its_unsealed_key_and_its_cap() {
        let m = models(None);
        let s = m.settings_of(&tenant(Some(own("https://dashscope.example/v1", Some("sealed-for-t1"))))).unwrap().unwrap();
        assert_eq!(s.max_output_tokens, 300);
        assert!(
            matches!(s.provider, ModelProvider::OpenAiCompatible { ref api_key, ref model, .. } if api_key.as_deref() == Some("sk-tenant") && model == "qwen-plus")
        );
        assert_eq!(m.for_tenant(&tenant(Some(own("https://dashscope.example/v1", None)))).unwrap().unwrap().describe().model, "qwen-plus");
    }

    #[test]
    fn a_refused_url_or_a_key_sealed_for_another_tenant_is_an_error_that_says_so() {
        let m = models(None);
        let e = m.for_tenant(&tenant(Some(own("http://169.254.169.254/v1", None)))).err().unwrap();
        assert!(matches!(&e, ModelError::BadRequest(msg) if msg.contains("refused") && msg.contains("link-local")), "{e:?}");
        let e = m.for_tenant(&tenant(Some(own("https://x.example/v1", Some("sealed-for-t2"))))).err().unwrap();
        assert!(matches!(&e, ModelError::Unauthorized(msg) if msg.contains("PUT /api/v1/settings")), "{e:?}");
        assert!(!e.is_retryable());
    }

    #[test]
    fn a_tenants_bedrock_model_needs_the_deployment_to_enable_it_and_never_takes_the_tenants_url() {
        let mut bedrock = own("http://169.254.169.254/ignored", None);
        bedrock.provider = "bedrock".into();
        bedrock.model = "amazon.nova-lite-v1:0".into();
        bedrock.region = Some("eu-west-1".into());
        let e = models(None).with_bedrock_enabled(false).for_tenant(&tenant(Some(bedrock.clone()))).err().unwrap();
        assert!(matches!(&e, ModelError::BadRequest(m) if m.contains("EnableBedrock")), "{e:?}");
        let m = models(None).with_bedrock_enabled(true);
        let s = m.settings_of(&tenant(Some(bedrock.clone()))).unwrap().unwrap();
        assert_eq!(s.provider, ModelProvider::Bedrock { model_id: "amazon.nova-lite-v1:0".into(), region: Some("eu-west-1".into()), endpoint_url: None });
        assert_eq!(s.max_output_tokens, 300);
        assert_eq!(m.for_tenant(&tenant(Some(bedrock))).unwrap().unwrap().describe().provider, "bedrock");
    }
}
