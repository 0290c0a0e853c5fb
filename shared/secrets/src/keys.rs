//! The key text a deployment supplies (`WARROOM_SECRET_KEY`, the Secrets Manager secret,
//! the local key file), and what it means.
//!
//! One key is either
//! - base64 of exactly 32 bytes (`openssl rand -base64 32`): the key itself; or
//! - at least [`MIN_GENERATED_LEN`] characters of `A-Z a-z 0-9` (what Secrets Manager's
//!   `GenerateSecretString` makes with `ExcludePunctuation`, and the template asks for 64):
//!   the key is SHA-256 of a fixed label and the text. Secrets Manager cannot generate
//!   base64 of random bytes, only random characters, hence this second form.
//!
//! The two never overlap: base64 of 32 bytes always ends in `=`, which the second form
//! excludes. The 64-character floor (≈ 381 bits) also keeps a truncated or unpadded base64
//! key (43 characters) from being taken for a generated one and silently meaning another key.
//!
//! The whole text is one key, or a JSON object `{"current": KEY, "previous": KEY}` during a
//! rotation (`previous` may be absent, `null` or empty). Unknown fields are refused: a typo
//! such as `"prev"` would otherwise drop the old key without a word and leave every value
//! sealed under it unreadable.
//!
//! No error here ever quotes the text: it is the key.

use crate::SecretError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Shortest accepted generated (alphanumeric) key.
pub const MIN_GENERATED_LEN: usize = 64;

/// Separates this use of SHA-256 from any other hash of the same text.
const DERIVE_LABEL: &[u8] = b"warroom sealing key v1\0";

/// The keys a deployment's key text names.
pub(crate) struct KeyText {
    pub current: [u8; 32],
    pub previous: Option<[u8; 32]>,
}

pub(crate) fn parse(text: &str) -> Result<KeyText, SecretError> {
    let text = text.trim();
    if !text.starts_with('{') {
        return Ok(KeyText { current: one_key(text, "the key")?, previous: None });
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| SecretError::BadKey("the key text starts with '{' but is not valid JSON".into()))?;
    let object = value.as_object().ok_or_else(|| SecretError::BadKey("the key text must be a JSON object".into()))?;
    if let Some(unknown) = object.keys().find(|k| !matches!(k.as_str(), "current" | "previous")) {
        // A field name is not the secret; its value would be.
        return Err(SecretError::BadKey(format!("unknown field {unknown:?} in the key JSON: only \"current\" and \"previous\" are allowed")));
    }
    let current = match object.get("current").and_then(|v| v.as_str()) {
        Some(k) if !k.trim().is_empty() => one_key(k, "\"current\"")?,
        _ => return Err(SecretError::BadKey("the key JSON needs a \"current\" key (a string)".into())),
    };
    let previous = match object.get("previous") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(k)) if k.trim().is_empty() => None,
        Some(serde_json::Value::String(k)) => Some(one_key(k, "\"previous\"")?),
        Some(_) => return Err(SecretError::BadKey("\"previous\" must be a string, null or absent".into())),
    };
    if previous == Some(current) {
        // Harmless for reading, but a rotation that forgot to change "current".
        return Err(SecretError::BadKey("\"current\" and \"previous\" are the same key: put the new key in \"current\"".into()));
    }
    Ok(KeyText { current, previous })
}

fn one_key(text: &str, what: &str) -> Result<[u8; 32], SecretError> {
    let text = text.trim();
    // A generated key of a length divisible by 4 is valid base64 too (of 48 bytes for 64
    // characters), so "decodes to 32 bytes" is the test, not "decodes".
    let decoded = B64.decode(text).ok();
    if let Some(Ok(key)) = decoded.clone().map(<[u8; 32]>::try_from) {
        return Ok(key);
    }
    if text.len() >= MIN_GENERATED_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        let digest = Sha256::new().chain_update(DERIVE_LABEL).chain_update(text.as_bytes()).finalize();
        return Ok(digest.into());
    }
    if decoded.is_some() {
        return Err(SecretError::BadKey(format!("{what} is base64 but not of exactly 32 bytes")));
    }
    Err(SecretError::BadKey(format!(
        "{what} must be base64 of exactly 32 bytes (`openssl rand -base64 32`) or at least {MIN_GENERATED_LEN} characters of A-Z, a-z, 0-9"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENERATED: &str = "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1eF3hJ5kL7nP9rS1tU3wX5zA7cD9fG1hJ3k";

    #[test]
    fn base64_of_32_bytes_is_the_key_itself() {
        let key = parse(&B64.encode([9u8; 32])).unwrap();
        assert_eq!(key.current, [9u8; 32]);
        assert_eq!(key.previous, None);
    }

    #[test]
    fn a_generated_alphanumeric_key_derives_a_stable_key_of_its_own() {
        assert_eq!(GENERATED.len(), 64);
        let a = parse(GENERATED).unwrap().current;
        assert_eq!(a, parse(&format!(" {GENERATED}\n")).unwrap().current, "surrounding whitespace is not part of the key");
        let other = GENERATED.replace('a', "b");
        assert_ne!(a, parse(&other).unwrap().current);
    }

    #[test]
    fn short_unpadded_or_punctuated_keys_are_refused_without_quoting_them() {
        let unpadded = B64.encode([1u8; 32]).trim_end_matches('=').to_owned();
        for bad in [unpadded.as_str(), "c2hvcnQ=", "not base64!", &GENERATED[..63], &format!("{GENERATED}!")] {
            let err = parse(bad).err().unwrap_or_else(|| panic!("{bad:?} was accepted"));
            assert!(!err.to_string().contains(bad), "the error quotes the key: {err}");
        }
    }

    #[test]
    fn the_json_form_names_the_current_and_the_previous_key() {
        let text = format!(r#"{{"current": "{}", "previous": "{GENERATED}"}}"#, B64.encode([2u8; 32]));
        let key = parse(&text).unwrap();
        assert_eq!(key.current, [2u8; 32]);
        assert_eq!(key.previous, Some(parse(GENERATED).unwrap().current));
        for no_previous in [format!(r#"{{"current":"{GENERATED}"}}"#), format!(r#"{{"current":"{GENERATED}","previous":null}}"#)] {
            assert_eq!(parse(&no_previous).unwrap().previous, None);
        }
        assert_eq!(parse(&format!(r#"{{"current":"{GENERATED}","previous":""}}"#)).unwrap().previous, None);
    }

    #[test]
    fn json_with_a_typo_no_current_or_the_same_key_twice_is_refused() {
        let secretish = B64.encode([3u8; 32]);
        let cases = [
            format!(r#"{{"current":"{GENERATED}","prev":"{secretish}"}}"#),
            format!(r#"{{"previous":"{secretish}"}}"#),
            format!(r#"{{"current":"{secretish}","previous":"{secretish}"}}"#),
            format!(r#"{{"current":"{secretish}""#),
            format!(r#"["{secretish}"]"#),
        ];
        for text in cases {
            let err = parse(&text).err().unwrap_or_else(|| panic!("{text} was accepted"));
            assert!(!err.to_string().contains(&secretish), "the error quotes a key: {err}");
        }
    }
}
