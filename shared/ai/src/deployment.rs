//! The deployment's model: one for every tenant, configured in the environment (the SAM
//! parameters set it on Lambda; `warroom-local` points it at the LLM sandbox in demo mode).
//!
//! - `WARROOM_MODEL_BASE_URL`: the API base, ending in `/v1` for OpenAI-compatible servers
//!   (Azure: the resource endpoint, with `WARROOM_MODEL_AZURE_API_VERSION`);
//! - `WARROOM_MODEL`: the model (Azure: the deployment);
//! - `WARROOM_MODEL_API_KEY`: optional (Ollama and vLLM often run without one);
//! - `WARROOM_MODEL_MAX_TOKENS`: the answer's cap, default [`DEFAULT_MAX_TOKENS`].
//!
//! With `WARROOM_MODEL_PROVIDER=bedrock` (default `openai-compatible`), Amazon Bedrock with the
//! function's IAM role instead: `WARROOM_MODEL` is the model or inference-profile id,
//! `WARROOM_BEDROCK_REGION` the region (default: the function's own, `AWS_REGION`), and
//! `WARROOM_BEDROCK_ENDPOINT_URL` points the SDK elsewhere (tests and the sandbox only).

use std::sync::Arc;
use warroom_core::{ChatModel, ModelError, ModelFactory, ModelProvider, ModelSettings, Tenant};

/// Enough for a few paragraphs: answers in a war room should be short.
pub const DEFAULT_MAX_TOKENS: u32 = 800;

/// Reads the deployment's model from `get`: `Ok(None)` when no base URL is set, an error
/// naming the variable when one is set wrong.
pub fn settings_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<ModelSettings>, String> {
    let max_output_tokens = || match get("WARROOM_MODEL_MAX_TOKENS") {
        Some(v) => v.trim().parse::<u32>().ok().filter(|n| *n > 0).ok_or("WARROOM_MODEL_MAX_TOKENS: a positive number of tokens"),
        None => Ok(DEFAULT_MAX_TOKENS),
    };
    match get("WARROOM_MODEL_PROVIDER").as_deref().map(str::trim) {
        None | Some("openai-compatible") => {}
        Some("bedrock") => {
            let model_id = get("WARROOM_MODEL")
                .filter(|m| !m.trim().is_empty())
                .ok_or("WARROOM_MODEL: required with WARROOM_MODEL_PROVIDER=bedrock (the model or inference-profile id)")?;
            let endpoint_url = get("WARROOM_BEDROCK_ENDPOINT_URL");
            if endpoint_url.as_deref().is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://"))) {
                return Err("WARROOM_BEDROCK_ENDPOINT_URL: must start with https:// (or http:// for the sandbox)".into());
            }
            let provider = ModelProvider::Bedrock { model_id: model_id.trim().to_owned(), region: get("WARROOM_BEDROCK_REGION"), endpoint_url };
            return Ok(Some(ModelSettings { provider, max_output_tokens: max_output_tokens()? }));
        }
        Some(other) => return Err(format!("WARROOM_MODEL_PROVIDER: {other:?} is not openai-compatible or bedrock")),
    }
    let Some(base_url) = get("WARROOM_MODEL_BASE_URL") else { return Ok(None) };
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err("WARROOM_MODEL_BASE_URL: must start with https:// (or http:// for a local server)".into());
    }
    let model = get("WARROOM_MODEL").ok_or("WARROOM_MODEL: required with WARROOM_MODEL_BASE_URL")?;
    let max_output_tokens = max_output_tokens()?;
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

    #[test]
    fn bedrock_is_chosen_by_the_provider_variable_with_its_model_id_region_and_endpoint() {
        let s = settings_from_lookup(lookup(&[
            ("WARROOM_MODEL_PROVIDER", "bedrock"),
            ("WARROOM_MODEL", "anthropic.claude-3-haiku-20240307-v1:0"),
            ("WARROOM_BEDROCK_REGION", "eu-west-1"),
            ("WARROOM_BEDROCK_ENDPOINT_URL", "http://127.0.0.1:9/"),
            ("WARROOM_MODEL_MAX_TOKENS", "400"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(s.max_output_tokens, 400);
        assert_eq!(
            s.provider,
            ModelProvider::Bedrock {
                model_id: "anthropic.claude-3-haiku-20240307-v1:0".into(),
                region: Some("eu-west-1".into()),
                endpoint_url: Some("http://127.0.0.1:9/".into())
            }
        );
        let plain = settings_from_lookup(lookup(&[("WARROOM_MODEL_PROVIDER", "bedrock"), ("WARROOM_MODEL", "amazon.nova-lite-v1:0")])).unwrap().unwrap();
        assert!(matches!(plain.provider, ModelProvider::Bedrock { region: None, endpoint_url: None, .. }));
        let e = settings_from_lookup(lookup(&[("WARROOM_MODEL_PROVIDER", "bedrock")])).unwrap_err();
        assert!(e.starts_with("WARROOM_MODEL:"), "{e}");
        let e = settings_from_lookup(lookup(&[("WARROOM_MODEL_PROVIDER", "bedrock"), ("WARROOM_MODEL", "m"), ("WARROOM_BEDROCK_ENDPOINT_URL", "localhost:1")]))
            .unwrap_err();
        assert!(e.starts_with("WARROOM_BEDROCK_ENDPOINT_URL:"), "{e}");
        let e = settings_from_lookup(lookup(&[("WARROOM_MODEL_PROVIDER", "vertex"), ("WARROOM_MODEL", "m")])).unwrap_err();
        assert!(e.starts_with("WARROOM_MODEL_PROVIDER:"), "{e}");
    }
}
