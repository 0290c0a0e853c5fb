//! `model` in `/api/v1/settings`: the tenant's own model for the assistant and the
//! post-mortems, in place of the deployment's. A partial update like the rest: fields left
//! out are kept, `null` removes one (or, for `model` itself, the tenant's model). The key is
//! sealed under `tenant:{id}:model` and shown as `"set"`; sending `"set"` keeps it.
//!
//! The URL must be `http(s)://` with a host; whether the deployment may reach it is its
//! outbound policy's call, made where the model is called (a refused URL is said in the
//! room and the timeline then, like a status-sync target's).
//!
//! `bedrock` (a model id, an optional region; no URL, no key: the deployment's IAM role
//! calls it) is taken only when the deployment enabled Bedrock (`WARROOM_BEDROCK_ENABLED=true`,
//! the template's `EnableBedrock`), since without it the role may not invoke any model.

use crate::error::{ApiResult, Failure};
use crate::settings::{SecretUse, SECRET_MAX, SECRET_MIN, SET};
use crate::validate;
use serde_json::{json, Map, Value};
use warroom_core::{SealedCredentials, TenantModel};

const PROVIDERS: [&str; 3] = ["openai-compatible", "azure-openai", "bedrock"];
/// An AWS region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`); the document states it
/// (`docs/openapi.json`, `model.region`).
pub const REGION_PATTERN: &str = "^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$";

/// Whether the deployment lets tenants use Bedrock (the template sets it with `EnableBedrock`).
pub fn bedrock_enabled() -> bool {
    std::env::var("WARROOM_BEDROCK_ENABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn region(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.split('-').collect();
    let letters = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && letters(&parts[0])
        && parts[1..parts.len() - 1].iter().all(letters)
        && (1..=2).contains(&parts[parts.len() - 1].len())
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!("{value:?} is not an AWS region name (e.g. us-east-1)"))
    }
}
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
            "region": m.region,
            "api_key": m.api_key.as_ref().map(|_| SET),
            "azure_api_version": m.azure_api_version,
            "max_output_tokens": m.max_output_tokens,
        }),
    }
}

fn bad(field: &str, why: impl std::fmt::Display) -> Failure {
    Failure::bad_request(format!("model.{field}: {why}"))
}

/// A well-formed Bedrock setting this deployment cannot honour: a conflict with how it was
/// deployed, not a malformed request (409, so a client can tell the two apart).
fn bedrock_off(why: &str) -> Failure {
    Failure::conflict("bedrock_not_enabled", format!("model.provider: {why}"))
}

/// A name as `validate::token_pattern(true)` says, at most `NAME_MAX` characters as sent.
fn name(field: &str, value: &Value) -> ApiResult<String> {
    let text = value.as_str().ok_or_else(|| bad(field, "must be a string"))?;
    validate::token(text, NAME_MAX).map_err(|e| bad(field, e))?.ok_or_else(|| bad(field, "must not be blank"))
}

/// The stored model with `patch` applied; `seal` seals a key for the tenant's model.
pub fn merge(stored: Option<TenantModel>, patch: Value, seal: &dyn Fn(&str, SecretUse) -> String) -> ApiResult<Option<TenantModel>> {
    merge_with(stored, patch, seal, bedrock_enabled())
}

/// [`merge`], with whether the deployment enabled Bedrock said by the caller.
pub fn merge_with(stored: Option<TenantModel>, patch: Value, seal: &dyn Fn(&str, SecretUse) -> String, bedrock: bool) -> ApiResult<Option<TenantModel>> {
    let patch: Map<String, Value> = match patch {
        Value::Null => return Ok(None),
        Value::Object(p) => p,
        _ => return Err(Failure::bad_request("model: must be an object or null")),
    };
    let mut next = stored.unwrap_or(TenantModel {
        provider: PROVIDERS[0].into(),
        base_url: String::new(),
        model: String::new(),
        region: None,
        api_key: None,
        azure_api_version: None,
        max_output_tokens: None,
    });
    let patch_names_key_or_url = ["base_url", "api_key", "azure_api_version"].iter().any(|f| patch.get(*f).is_some_and(|v| !v.is_null()));
    for (field, value) in patch {
        match (field.as_str(), &value) {
            ("provider", v) => {
                let p = v.as_str().filter(|p| PROVIDERS.contains(p)).ok_or_else(|| bad("provider", "must be openai-compatible, azure-openai or bedrock"))?;
                if p == "bedrock" && !bedrock {
                    return Err(bedrock_off(
                        "bedrock is not enabled in this deployment: deploy with the EnableBedrock=true parameter (it sets WARROOM_BEDROCK_ENABLED=true and lets the functions' role invoke Bedrock models)",
                    ));
                }
                next.provider = p.into();
            }
            ("base_url", v) => next.base_url = validate::url(v.as_str().ok_or_else(|| bad("base_url", "must be a string"))?).map_err(|e| bad("base_url", e))?,
            ("model", v) => next.model = name("model", v)?,
            ("region", Value::Null) => next.region = None,
            ("region", v) => next.region = Some(region(v.as_str().ok_or_else(|| bad("region", "must be a string"))?).map_err(|e| bad("region", e))?),
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
                    "model.{other}: unknown field; expected provider, base_url, model, region, api_key, azure_api_version or max_output_tokens"
                )))
            }
        }
    }
    let incomplete = |what: &str| Failure::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "incomplete_settings", format!("model: {what}"));
    // Fields each well formed that do not go together (the schema cannot say so): 422.
    let inconsistent =
        |field: &str, why: &str| Failure::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "inconsistent_settings", format!("model.{field}: {why}"));
    if next.provider == "bedrock" {
        if !bedrock {
            // Stored while enabled, the deployment since turned it off: say so on any change.
            return Err(bedrock_off("bedrock is not enabled in this deployment: deploy with the EnableBedrock=true parameter"));
        }
        if next.model.is_empty() {
            return Err(incomplete("bedrock needs model (a model or inference-profile id, e.g. anthropic.claude-3-haiku-20240307-v1:0)"));
        }
        // The deployment's IAM role calls Bedrock: a URL or key from another provider means nothing.
        if patch_names_key_or_url {
            return Err(inconsistent("provider", "bedrock takes no base_url, api_key or azure_api_version: it calls with the deployment's IAM role"));
        }
        next.base_url.clear();
        next.api_key = None;
        next.azure_api_version = None;
        return Ok(Some(next));
    }
    if next.region.is_some() {
        return Err(inconsistent("region", "only for provider bedrock"));
    }
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

    /// A deployment without Bedrock, whatever the test process's environment says.
    fn merge(stored: Option<TenantModel>, patch: Value, seal: &dyn Fn(&str, SecretUse) -> String) -> ApiResult<Option<TenantModel>> {
        merge_with(stored, patch, seal, false)
    }

    #[test]
    fn bedrock_is_refused_with_how_to_enable_it_unless_the_deployment_enabled_it() {
        let e = merge(None, json!({"provider": "bedrock", "model": "anthropic.claude-3-haiku-20240307-v1:0"}), &seal).unwrap_err();
        assert_eq!((e.error.status, e.error.code), (axum::http::StatusCode::CONFLICT, "bedrock_not_enabled"));
        assert!(e.error.message.contains("EnableBedrock=true"), "{}", e.error.message);
        let m = merge_with(None, json!({"provider": "bedrock", "model": "anthropic.claude-3-haiku-20240307-v1:0", "region": "eu-central-1"}), &seal, true)
            .unwrap()
            .unwrap();
        assert_eq!((m.provider.as_str(), m.model.as_str(), m.region.as_deref()), ("bedrock", "anthropic.claude-3-haiku-20240307-v1:0", Some("eu-central-1")));
        assert_eq!((m.base_url.as_str(), m.api_key.is_none()), ("", true));
        let shown = render(&Some(m.clone()));
        assert_eq!((shown["region"].as_str(), shown["api_key"].is_null()), (Some("eu-central-1"), true));
        // Stored while enabled, changed after the deployment turned it off: refused, said why.
        assert!(merge(Some(m), json!({"max_output_tokens": 100}), &seal).unwrap_err().error.message.contains("not enabled"));
    }

    #[test]
    fn the_documents_region_pattern_and_provider_list_are_the_servers() {
        let doc: Value = serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap();
        let model = &doc["components"]["schemas"]["SettingsUpdate"]["properties"]["model"]["properties"];
        assert_eq!(model["region"]["pattern"], REGION_PATTERN);
        assert_eq!(model["provider"]["enum"], json!(PROVIDERS));
        let shown = &doc["components"]["schemas"]["Settings"]["properties"]["model"];
        assert_eq!(shown["properties"]["provider"]["enum"], json!(PROVIDERS));
        let rendered = render(&merge_with(None, json!({"provider": "bedrock", "model": "m"}), &seal, true).unwrap());
        let mut keys: Vec<&String> = rendered.as_object().unwrap().keys().collect();
        let mut required: Vec<String> = serde_json::from_value(shown["required"].clone()).unwrap();
        keys.sort();
        required.sort();
        assert_eq!(keys, required.iter().collect::<Vec<_>>(), "GET shows every field the document requires");
    }

    #[test]
    fn switching_to_bedrock_drops_the_url_and_key_and_refuses_new_ones() {
        let openai = merge(None, json!({"base_url": "https://api.deepseek.com/v1", "model": "deepseek-chat", "api_key": "sk-123456789"}), &seal).unwrap();
        let switched = merge_with(openai.clone(), json!({"provider": "bedrock", "model": "amazon.nova-lite-v1:0"}), &seal, true).unwrap().unwrap();
        assert_eq!((switched.base_url.as_str(), switched.api_key.is_none(), switched.region.is_none()), ("", true, true));
        let e = merge_with(openai, json!({"provider": "bedrock", "model": "m", "api_key": "sk-987654321"}), &seal, true).unwrap_err();
        assert!(e.error.message.contains("IAM role"), "{}", e.error.message);
        for bad_region in ["us_east_1", "US-EAST-1", "useast1", "us-east-", " us-east-1", "u-east-1", "us-east-123"] {
            let e = merge_with(None, json!({"provider": "bedrock", "model": "m", "region": bad_region}), &seal, true).unwrap_err();
            assert!(e.error.message.contains("model.region"), "{bad_region}: {}", e.error.message);
        }
        for good in ["us-east-1", "us-gov-west-1", "ap-southeast-3", "eu-central-2"] {
            assert!(merge_with(None, json!({"provider": "bedrock", "model": "m", "region": good}), &seal, true).is_ok(), "{good}");
        }
        let e = merge(None, json!({"base_url": "https://x/v1", "model": "m", "region": "us-east-1"}), &seal).unwrap_err();
        assert!(e.error.message.contains("only for provider bedrock"), "{}", e.error.message);
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
