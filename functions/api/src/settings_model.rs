//! `model` in `/api/v1/settings`: the tenant's own model for the assistant and the
//! post-mortems, in place of the deployment's. A partial update like the rest: fields left
//! out are kept, `null` removes one (or, for `model` itself, the tenant's model). The key is
//! sealed under `tenant:{id}:model` and shown as `"set"`; sending `"set"` keeps it.
//!
//! The URL must be `http(s)://` with a host; whether the deployment may reach it is its
//! outbound policy's call, made where the model is called (a refused URL is said in the
//! room and the timeline then, like a status-sync target's).

use crate::error::{ApiResult, Failure};
use crate::settings::{SecretUse, SECRET_MAX, SECRET_MIN, SET};
use crate::validate;
use serde_json::{json, Map, Value};
use warroom_core::{SealedCredentials, TenantModel};

const PROVIDERS: [&str; 2] = ["openai-compatible", "azure-openai"];
/// The longest model or deployment name, and API version.
const NAME_MAX: usize = 200;
/// A cap no current model needs more than; anything above is a typo.
pub const MAX_OUTPUT_TOKENS: u64 = 32_000;

/// What `GET` shows: everything but the key, which is `"set"` when stored.
pub fn render(model: &Option<TenantModel>) -> Value {
    match model {
        None => Value::Null,
        Some(m) => json!({
            "provider": m.provider,
            "base_url": m.base_url,
            "model": m.model,
            "api_key": m.api_key.as_ref().map(|_| SET),
            "azure_api_version": m.azure_api_version,
            "max_output_tokens": m.max_output_tokens,
        }),
    }
}

fn bad(field: &str, why: impl std::fmt::Display) -> Failure {
    Failure::bad_request(format!("model.{field}: {why}"))
}

/// A name as `validate::token_pattern(true)` says, at most `NAME_MAX` characters as sent.
fn name(field: &str, value: &Value) -> ApiResult<String> {
    let text = value.as_str().ok_or_else(|| bad(field, "must be a string"))?;
    validate::token(text, NAME_MAX).map_err(|e| bad(field, e))?.ok_or_else(|| bad(field, "must not be blank"))
}

/// The stored model with `patch` applied; `seal` seals a key for the tenant's model.
pub fn merge(stored: Option<TenantModel>, patch: Value, seal: &dyn Fn(&str, SecretUse) -> String) -> ApiResult<Option<TenantModel>> {
    let patch: Map<String, Value> = match patch {
        Value::Null => return Ok(None),
        Value::Object(p) => p,
        _ => return Err(Failure::bad_request("model: must be an object or null")),
    };
    let mut next = stored.unwrap_or(TenantModel {
        provider: PROVIDERS[0].into(),
        base_url: String::new(),
        model: String::new(),
        api_key: None,
        azure_api_version: None,
        max_output_tokens: None,
    });
    for (field, value) in patch {
        match (field.as_str(), &value) {
            ("provider", v) => {
                let p = v.as_str().filter(|p| PROVIDERS.contains(p)).ok_or_else(|| bad("provider", "must be openai-compatible or azure-openai"))?;
                next.provider = p.into();
            }
            ("base_url", v) => next.base_url = validate::url(v.as_str().ok_or_else(|| bad("base_url", "must be a string"))?).map_err(|e| bad("base_url", e))?,
            ("model", v) => next.model = name("model", v)?,
            ("api_key", Value::Null) => next.api_key = None,
            ("api_key", Value::String(s)) if s == SET => {
                if next.api_key.is_none() {
                    return Err(Failure::new(
                        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                        "incomplete_settings",
                        "model.api_key: \"set\" keeps a stored key, and none is stored",
                    ));
                }
            }
            ("api_key", Value::String(s)) if (SECRET_MIN..=SECRET_MAX).contains(&s.chars().count()) => {
                let key = validate::token(s, SECRET_MAX).map_err(|e| bad("api_key", e))?.ok_or_else(|| bad("api_key", "must not be blank"))?;
                next.api_key = Some(SealedCredentials(seal(&key, SecretUse::Model)));
            }
            ("api_key", _) => return Err(bad("api_key", format!("must be {SECRET_MIN}-{SECRET_MAX} characters, \"set\" or null"))),
            ("azure_api_version", Value::Null) => next.azure_api_version = None,
            ("azure_api_version", v) => next.azure_api_version = Some(name("azure_api_version", v)?),
            ("max_output_tokens", Value::Null) => next.max_output_tokens = None,
            ("max_output_tokens", v) => {
                let n = v
                    .as_u64()
                    .filter(|n| (1..=MAX_OUTPUT_TOKENS).contains(n))
                    .ok_or_else(|| bad("max_output_tokens", format!("must be a whole number from 1 to {MAX_OUTPUT_TOKENS}, or null")))?;
                next.max_output_tokens = Some(n as u32);
            }
            (other, _) => {
                return Err(Failure::bad_request(format!(
                    "model.{other}: unknown field; expected provider, base_url, model, api_key, azure_api_version or max_output_tokens"
                )))
            }
        }
    }
    let incomplete = |what: &str| Failure::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "incomplete_settings", format!("model: {what}"));
    if next.base_url.is_empty() || next.model.is_empty() {
        return Err(incomplete("base_url and model are both required"));
    }
    if next.provider == "azure-openai" && next.azure_api_version.is_none() {
        return Err(incomplete("azure-openai needs azure_api_version (e.g. 2024-10-21)"));
    }
    Ok(Some(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(s: &str, usage: SecretUse) -> String {
        format!("sealed-{usage:?}({})", s.len())
    }

    #[test]
    fn a_model_is_set_partially_updated_shown_without_its_key_and_removed() {
        let set = merge(None, json!({"base_url": " https://api.deepseek.com/v1 ", "model": "deepseek-chat", "api_key": "sk-123456789"}), &seal).unwrap();
        let m = set.clone().unwrap();
        assert_eq!((m.provider.as_str(), m.base_url.as_str()), ("openai-compatible", "https://api.deepseek.com/v1"));
        assert_eq!(m.api_key.as_ref().unwrap().0, "sealed-Model(12)", "sealed for the model, not for status sync");
        let shown = render(&set);
        assert_eq!(shown["api_key"], "set");
        assert!(!shown.to_string().contains("sk-123"));
        let kept = merge(set.clone(), json!({"api_key": "set", "max_output_tokens": 1200}), &seal).unwrap().unwrap();
        assert_eq!((kept.api_key, kept.max_output_tokens), (m.api_key.clone(), Some(1200)));
        assert_eq!(merge(set, Value::Null, &seal).unwrap(), None);
    }

    #[test]
    fn wrong_or_incomplete_models_are_refused_naming_the_field() {
        for (patch, field) in [
            (json!({"base_url": "ftp://x", "model": "m"}), "model.base_url"),
            (json!({"base_url": "https://x/v1", "model": ""}), "model.model"),
            (json!({"base_url": "https://x/v1", "model": "m", "provider": "bedrock"}), "model.provider"),
            (json!({"base_url": "https://x/v1", "model": "m", "api_key": "short"}), "model.api_key"),
            (json!({"base_url": "https://x/v1", "model": "m", "max_output_tokens": 0}), "model.max_output_tokens"),
            (json!({"base_url": "https://x/v1", "model": "m", "temperature": 1}), "model.temperature"),
            (json!({"model": "m"}), "base_url and model"),
            (json!({"base_url": "https://x/v1", "model": "m", "api_key": "set"}), "model.api_key"),
            (json!({"base_url": "https://x", "model": "gpt", "provider": "azure-openai"}), "azure_api_version"),
        ] {
            let e = merge(None, patch.clone(), &seal).unwrap_err();
            assert!(e.error.message.contains(field), "{patch}: {}", e.error.message);
        }
    }
}
