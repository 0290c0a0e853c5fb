//! The Azure OpenAI shape: `POST {endpoint}/openai/deployments/{deployment}/chat/completions
//! ?api-version=…` with an `api-key` header.
//!
//! Facts relied on:
//! - the path and `api-version` query: openai-python `lib/azure.py` (`base_url =
//!   {azure_endpoint}/openai/deployments/{azure_deployment}`, `default_query = {"api-version"}`;
//!   without a fixed deployment the SDK puts the request's `model` in the path);
//! - `api-key` header (or `Authorization: Bearer` with an Entra ID token): same file;
//! - the body and answers are the OpenAI ones; `model` in the body is optional (the deployment
//!   decides) and the answer's `model` is the deployment's underlying model.
//!
//! UNCERTAIN (not confirmed from a primary source; general knowledge of the service):
//! - errors from Azure's gateway (before the model) use `{"error":{"code","message"}}` with a
//!   string code: 401 `"401"` "Access denied due to invalid subscription key or wrong API
//!   endpoint…", 404 `"DeploymentNotFound"`, 404 `"404"` "Resource not found" for a missing
//!   `api-version`, 429 `"429"` with `retry-after` and `retry-after-ms`; errors from the model
//!   itself (400, context length) keep OpenAI's shape;
//! - Azure adds `prompt_filter_results` / `content_filter_results` to answers: not emulated.

use serde_json::{json, Value};

use super::LlmConfig;

/// `Some(deployment)` when `path` ends with `/openai/deployments/{d}/chat/completions`.
pub(crate) fn deployment_of(path: &str) -> Option<String> {
    let rest = path.strip_suffix("/chat/completions")?;
    let (before, deployment) = rest.rsplit_once('/')?;
    (before.ends_with("/openai/deployments") && !deployment.is_empty()).then(|| deployment.to_string())
}

/// The model a deployment runs: a configured deployment, else a model of the same name.
pub(crate) fn model_of(config: &LlmConfig, deployment: &str) -> Option<String> {
    config.azure_deployments.iter().find(|(d, _)| d == deployment).map(|(_, m)| m.clone()).or_else(|| config.models.iter().find(|m| *m == deployment).cloned())
}

/// Azure's gateway error JSON.
pub(crate) fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

pub(crate) fn unauthorized() -> Value {
    error(
        "401",
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
    )
}

pub(crate) fn deployment_not_found() -> Value {
    error(
        "DeploymentNotFound",
        "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
    )
}

pub(crate) fn missing_api_version() -> Value {
    error("404", "Resource not found")
}

pub(crate) fn rate_limited(retry_after: u64) -> Value {
    error("429", &format!("Requests to the ChatCompletions_Create Operation have exceeded the call rate limit of your current pricing tier. Please retry after {retry_after} seconds."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployment_is_read_from_the_path_under_any_prefix() {
        assert_eq!(deployment_of("/openai/deployments/gpt4o/chat/completions").as_deref(), Some("gpt4o"));
        assert_eq!(deployment_of("/llm/openai/deployments/d1/chat/completions").as_deref(), Some("d1"));
        assert_eq!(deployment_of("/v1/chat/completions"), None);
        let c = LlmConfig::default();
        assert_eq!(model_of(&c, "sandbox-deployment").as_deref(), Some("gpt-4o-mini"));
        assert_eq!(model_of(&c, "gpt-4o").as_deref(), Some("gpt-4o"));
        assert_eq!(model_of(&c, "nope"), None);
    }
}
