//! Bearer API keys: `wr_` + 32 random base-32 characters, stored only as their SHA-256.

use crate::ApiError;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use warroom_core::{ApiKeyRecord, KeyScope, Store, TenantId, Timestamp};

/// The stored form of a key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new key and its record; the key itself is shown once and never stored.
pub fn new_key(tenant: &TenantId, label: &str, scope: KeyScope, now: Timestamp) -> (String, ApiKeyRecord) {
    let key = format!("wr_{}{}", warroom_core::ids::random_suffix(), warroom_core::ids::random_suffix());
    let record =
        ApiKeyRecord { tenant_id: tenant.clone(), key_hash: hash_key(&key), label: label.to_string(), prefix: key[..7].to_string(), scope, created_at: now };
    (key, record)
}

/// The key record behind `Authorization: Bearer …`, if it allows `needed`.
pub async fn authenticate(store: &dyn Store, headers: &HeaderMap, needed: KeyScope) -> Result<ApiKeyRecord, ApiError> {
    let header = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let key = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).map(str::trim).unwrap_or("");
    if key.is_empty() {
        return Err(ApiError::unauthorized("missing API key: send Authorization: Bearer <key>"));
    }
    let record = store.find_api_key(&hash_key(key)).await?.ok_or_else(|| ApiError::unauthorized("unknown API key"))?;
    if needed == KeyScope::Admin && record.scope != KeyScope::Admin {
        return Err(ApiError::new(axum::http::StatusCode::FORBIDDEN, "forbidden", "this key may only post incident events to /hooks"));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_and_stored_only_as_a_hash() {
        let (key, record) = new_key(&"t".into(), "ci", KeyScope::Intake, Timestamp(0));
        assert!(key.starts_with("wr_") && key.len() == 35);
        assert_eq!(record.key_hash, hash_key(&key));
        assert_eq!(record.key_hash.len(), 64);
        assert!(!record.key_hash.contains(&key[3..]));
        assert_eq!(record.prefix, key[..7]);
    }
}
