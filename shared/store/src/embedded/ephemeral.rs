//! Short-lived state: dedupe claims, ephemeral values and rate-limit buckets. Each item
//! carries `expires_at_ms`; expired items read as absent and may be overwritten.

use super::records::{Bucket, Claim, Counter, Ephemeral};
use super::tx::{View, WriteTx};
use crate::keys;
use std::time::Duration;
use warroom_core::ratelimit::{decide, BucketSpec, Take};
use warroom_core::{StoreError, StoreResult, Timestamp};

/// Partition-key prefixes of every item kind that expires.
const EXPIRING_KINDS: [&str; 4] = ["DEDUPE#", "EPH#", "BUCKET#", "COUNTER#"];

/// True for exactly one claimer until the claim expires. The check and the write share
/// one write transaction, so concurrent claimers are serialised.
pub(super) fn claim_dedupe(tx: &mut WriteTx, key: &str, ttl: Duration, now: Timestamp) -> StoreResult<bool> {
    let k = keys::dedupe(key);
    if tx.get_live::<Claim>(&k, now)?.is_some() {
        return Ok(false);
    }
    tx.put_expiring(&k, &Claim { claimed_at: now }, now.plus(ttl).millis())?;
    Ok(true)
}

pub(super) fn put_ephemeral(tx: &mut WriteTx, key: &str, value: &str, ttl: Duration, now: Timestamp) -> StoreResult<()> {
    tx.put_expiring(&keys::ephemeral(key), &Ephemeral { value: value.to_owned() }, now.plus(ttl).millis())
}

pub(super) fn get_ephemeral(v: &impl View, key: &str, now: Timestamp) -> StoreResult<Option<String>> {
    Ok(v.get_live::<Ephemeral>(&keys::ephemeral(key), now)?.map(|e| e.value))
}

/// Reads and deletes in one transaction: exactly one caller gets the value. An expired
/// value is deleted too, but returns nothing.
pub(super) fn take_ephemeral(tx: &mut WriteTx, key: &str, now: Timestamp) -> StoreResult<Option<String>> {
    let k = keys::ephemeral(key);
    let Some(stored) = tx.get_stored::<Ephemeral>(&k)? else {
        return Ok(None);
    };
    tx.delete(&k)?;
    Ok(stored.is_live(now).then_some(stored.item.value))
}

/// Read and write in one write transaction: concurrent additions are serialised. An
/// expired counter reads as absent and starts again, with a new expiry.
pub(super) fn add_to_counter(tx: &mut WriteTx, key: &str, by: u64, ttl: Duration, now: Timestamp) -> StoreResult<u64> {
    let k = keys::counter(key);
    match tx.get_stored::<Counter>(&k)?.filter(|c| c.is_live(now)) {
        Some(stored) => {
            let total = stored.item.total.saturating_add(by);
            let expires = stored.expires_at_ms.unwrap_or_else(|| now.plus(ttl).millis());
            tx.put_expiring(&k, &Counter { total }, expires)?;
            Ok(total)
        }
        None => {
            tx.put_expiring(&k, &Counter { total: by }, now.plus(ttl).millis())?;
            Ok(by)
        }
    }
}

/// GCRA via the shared `decide`. The bucket expires at its TAT: from then on it is full,
/// exactly as if it had never been used, so an expired bucket needs no special case.
pub(super) fn take_tokens(tx: &mut WriteTx, spec: &BucketSpec, n: u32, now: Timestamp) -> StoreResult<Take> {
    let k = keys::bucket(&spec.key);
    let tat = tx.get::<Bucket>(&k)?.map(|b| b.tat);
    let (take, new_tat) = decide(spec, tat, now, n).map_err(|e| StoreError::Invalid(e.to_string()))?;
    if let Some(tat) = new_tat {
        tx.put_expiring(&k, &Bucket { tat }, tat)?;
    }
    Ok(take)
}

pub(super) fn reserve_tokens(tx: &mut WriteTx, spec: &BucketSpec, n: u32, now: Timestamp) -> StoreResult<Timestamp> {
    let k = keys::bucket(&spec.key);
    let tat = tx.get::<Bucket>(&k)?.map(|b| b.tat);
    let (slot, new_tat) = warroom_core::ratelimit::reserve(spec, tat, now, n).map_err(|e| StoreError::Invalid(e.to_string()))?;
    tx.put_expiring(&k, &Bucket { tat: new_tat }, new_tat)?;
    Ok(slot)
}

/// Deletes every expired claim, value and bucket; returns how many went.
pub(super) fn purge_expired(tx: &mut WriteTx, now: Timestamp) -> StoreResult<usize> {
    let mut purged = 0;
    for kind in EXPIRING_KINDS {
        for (key, expires_at_ms) in tx.scan_partitions(kind)? {
            if expires_at_ms.is_some_and(|at| at <= now.millis()) {
                tx.delete(&key)?;
                purged += 1;
            }
        }
    }
    Ok(purged)
}
