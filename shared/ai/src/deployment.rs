//! The deployment's model: one for every tenant, configured in the environment (the SAM
//! parameters set it on Lambda; `warroom-local` points it at the LLM sandbox in demo mode).
//! Per-tenant settings (`PUT /api/v1/settings`) are not read yet: every tenant gets this one.
//!
//! - `WARROOM_MODEL_BASE_URL`: the API base, ending in `/v1` for OpenAI-compatible servers
//!   (Azure: the resource endpoint, with `WARROOM_MODEL_AZURE_API_VERSION`);
//! - `WARROOM_MODEL`: the model (Azure: the deployment);
//! - `WARROOM_MODEL_API_KEY`: optional (Ollama and vLLM often run without one);
//! - `WARROOM_MODEL_MAX_TOKENS`: the answer's cap, default [`DEFAULT_MAX_TOKENS`].

use std::sync::Arc;
use warroom_core::{ChatModel, ModelError, ModelFactory, ModelProvider, ModelSettings, Tenant};

/// Enough for a few paragraphs: answers in a war room should be short.
pub const DEFAULT_MAX_TOKENS: u32 = 800;

/// Reads the deployment's model from `get`: `Ok(None)` when no base URL is set, an error
/// naming the variable when one is set wrong.
pub fn settings_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<ModelSettings>, String> {
    let Some(base_url) = get("WARROOM_MODEL_BASE_URL") else { return Ok(None) };
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err("WARROOM_MODEL_BASE_URL: must start with https:// (or http:// for a local server)".into());
    }
    let model = get("WARROOM_MODEL").ok_or("WARROOM_MODEL: required with WARROOM_MODEL_BASE_URL")?;
    let max_output_tokens = match get("WARROOM_MODEL_MAX_TOKENS") {
        Some(v) => v.trim().parse::<u32>().ok().filter(|n| *n > 0).ok_or("WARROOM_MODEL_MAX_TOKENS: a positive number of tokens")?,
        None => DEFAULT_MAX_TOKENS,
    };
    let provider =
        ModelProvider::OpenAiCompatible { base_url, model, api_key: get("WARROOM_MODEL_API_KEY"), azure_api_version: get("WARROOM_MODEL_AZURE_API_VERSION") };
    Ok(Some(ModelSettings { provider, max_output_tokens }))
}

/// Every tenant's model: the deployment's (built once, shared).
pub struct DeploymentModels {
    model: Option<Arc<dyn ChatModel>>,
}

impl DeploymentModels {
    pub fn new(settings: Option<&ModelSettings>, http: reqwest::Client) -> Result<Self, ModelError> {
        Ok(Self { model: settings.map(|s| crate::build(s, http)).transpose()? })
    }
}

impl ModelFactory for DeploymentModels {
    fn for_tenant(&self, _tenant: &Tenant) -> Result<Option<Arc<dyn ChatModel>>, ModelError> {
        Ok(self.model.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn no_base_url_means_no_model_and_a_wrong_setting_is_named() {
        assert_eq!(settings_from_lookup(lookup(&[])), Ok(None));
        let e = settings_from_lookup(lookup(&[("WARROOM_MODEL_BASE_URL", "http://127.0.0.1:1/v1")])).unwrap_err();
        assert!(e.starts_with("WARROOM_MODEL:"), "{e}");
        let e = settings_from_lookup(lookup(&[("WARROOM_MODEL_BASE_URL", "ftp://x"), ("WARROOM_MODEL", "m")])).unwrap_err();
        assert!(e.starts_with("WARROOM_MODEL_BASE_URL:"), "{e}");
        let e =
            settings_from_lookup(lookup(&[("WARROOM_MODEL_BASE_URL", "https://x/v1"), ("WARROOM_MODEL", "m"), ("WARROOM_MODEL_MAX_TOKENS", "0")])).unwrap_err();
        assert!(e.starts_with("WARROOM_MODEL_MAX_TOKENS:"), "{e}");
    }

    #[test]
    fn a_complete_setting_gives_an_openai_compatible_model_with_the_default_cap() {
        let s = settings_from_lookup(lookup(&[
            ("WARROOM_MODEL_BASE_URL", "https://api.deepseek.com/v1"),
            ("WARROOM_MODEL", "deepseek-chat"),
            ("WARROOM_MODEL_API_KEY", "sk-1"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(s.max_output_tokens, DEFAULT_MAX_TOKENS);
        assert!(
            matches!(s.provider, ModelProvider::OpenAiCompatible { ref model, ref api_key, .. } if model == "deepseek-chat" && api_key.as_deref() == Some("sk-1"))
        );
        assert!(!format!("{s:?}").contains("sk-1"), "the key is redacted");
    }
}
