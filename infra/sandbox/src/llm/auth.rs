//! Who is calling: the key from `Authorization: Bearer <key>` (OpenAI and every compatible
//! server) or `api-key: <key>` (Azure OpenAI; openai-python's `AzureOpenAI._prepare_options`
//! sends `api-key`, or `Authorization: Bearer` with an Entra ID token — the sandbox accepts a
//! configured key in either header on the Azure path).

use axum::http::HeaderMap;

use super::record::{fingerprint, AuthRecord};

/// The presented key (if any) and how it came.
pub(crate) struct Presented<'a> {
    pub key: Option<&'a str>,
    pub scheme: &'static str,
}

pub(crate) fn presented(headers: &HeaderMap, azure: bool) -> Presented<'_> {
    if azure {
        if let Some(k) = headers.get("api-key").and_then(|v| v.to_str().ok()) {
            return Presented { key: Some(k.trim()), scheme: "api-key" };
        }
    }
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    match bearer {
        Some(k) if !k.is_empty() => Presented { key: Some(k), scheme: "bearer" },
        _ => Presented { key: None, scheme: "none" },
    }
}

/// Checks the presented key against the accepted ones; the record keeps only a fingerprint.
pub(crate) fn check(p: &Presented<'_>, accepted: &[String]) -> AuthRecord {
    let passed = p.key.is_some_and(|k| accepted.iter().any(|a| a == k));
    AuthRecord { passed, scheme: p.scheme.to_string(), key_fingerprint: p.key.map(fingerprint) }
}

/// OpenAI's 401 messages (the real one for a wrong key also quotes the key with its middle
/// masked; the sandbox does not echo any of it). UNCERTAIN: OpenAI may send `code: null` for a
/// *missing* key; the sandbox sends `invalid_api_key` for both, as the brief asks.
pub(crate) fn openai_message(p: &Presented<'_>) -> &'static str {
    if p.key.is_none() {
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
    } else {
        "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_prefers_the_api_key_header_and_openai_reads_only_bearer() {
        let mut h = HeaderMap::new();
        h.insert("api-key", "k1".parse().unwrap());
        assert_eq!(presented(&h, true).key, Some("k1"));
        assert_eq!(presented(&h, false).key, None, "OpenAI ignores api-key");
        h.insert("authorization", "Bearer k2".parse().unwrap());
        assert_eq!(presented(&h, false).key, Some("k2"));
        let rec = check(&presented(&h, false), &["k2".to_string()]);
        assert!(rec.passed && rec.scheme == "bearer" && rec.key_fingerprint.is_some_and(|f| !f.contains("k2")));
    }
}
