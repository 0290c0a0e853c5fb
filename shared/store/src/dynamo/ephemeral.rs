//! Short-lived state: dedupe claims, ephemeral values and rate-limit buckets.
//!
//! DynamoDB's TTL deletes on `expires_at` (epoch seconds) only eventually, and some
//! emulators never, so expiry is decided on read and in conditions from a millisecond
//! twin, `expires_at_ms`; `expires_at` only lets the table clean up.

use super::codec::{attr_i64, decode, n, s, Expr, Item, KIND};
use super::ops::Written;
use super::DynamoStore;
use crate::keys::{self, Key, EXPIRES_AT};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use warroom_core::ratelimit::{decide, BucketSpec, Take};
use warroom_core::{StoreError, StoreResult, Timestamp};

const EXPIRES_AT_MS: &str = "expires_at_ms";
/// The bucket's GCRA "theoretical arrival time", epoch ms.
const TAT: &str = "tat";
/// Rounds of conditional updates before giving up on a very contended bucket.
const TOKEN_ROUNDS: u32 = 8;
/// Idle buckets are cleaned up this long after they are full again (covers clock skew
/// between writers, whose `now` sets `expires_at`).
const BUCKET_IDLE_SECS: i64 = 300;

/// An ephemeral value as stored.
#[derive(Serialize, Deserialize)]
struct Ephemeral {
    value: String,
    expires_at_ms: i64,
}

/// Epoch seconds for DynamoDB TTL, rounded up so TTL never deletes before expiry.
fn ttl_secs(expires_ms: i64) -> i64 {
    expires_ms.div_euclid(1000) + i64::from(expires_ms.rem_euclid(1000) != 0)
}

fn expires_ms(now: Timestamp, ttl: Duration) -> i64 {
    now.plus(ttl).millis()
}

/// The bookkeeping attributes every expiring item carries.
fn expiring_item(mut item: Item, key: &Key, kind: &str, expires_ms: i64) -> Item {
    item.insert(keys::PK.to_owned(), s(&key.pk));
    item.insert(keys::SK.to_owned(), s(&key.sk));
    item.insert(KIND.to_owned(), s(kind));
    item.insert(EXPIRES_AT.to_owned(), n(ttl_secs(expires_ms)));
    item.insert(EXPIRES_AT_MS.to_owned(), n(expires_ms));
    item
}

/// Wins if there is no claim or the one there has expired (TTL may not have removed it).
pub(super) async fn claim_dedupe(store: &DynamoStore, key: &str, ttl: Duration, now: Timestamp) -> StoreResult<bool> {
    let item = expiring_item(Item::new(), &keys::dedupe(key), "dedupe", expires_ms(now, ttl));
    let free = Expr::when("attribute_not_exists(#pk) OR #exp <= :now").name("#pk", keys::PK).name("#exp", EXPIRES_AT_MS).value(":now", n(now.millis()));
    Ok(matches!(store.put_item(item, Some(free)).await?, Written::Done(())))
}

pub(super) async fn put(store: &DynamoStore, key: &str, value: &str, ttl: Duration, now: Timestamp) -> StoreResult<()> {
    let expires = expires_ms(now, ttl);
    let body = Ephemeral { value: value.to_owned(), expires_at_ms: expires };
    let encoded = serde_dynamo::to_item(&body).map_err(|e| StoreError::Invalid(format!("ephemeral value: {e}")))?;
    store.put(expiring_item(encoded, &keys::ephemeral(key), "ephemeral", expires)).await
}

pub(super) async fn get(store: &DynamoStore, key: &str, now: Timestamp) -> StoreResult<Option<String>> {
    let item = store.get_item(&keys::ephemeral(key)).await?;
    live_value(item, now)
}

/// Deletes and returns in one call, so exactly one caller gets the item. An expired
/// value is deleted too (it was garbage) but not returned.
pub(super) async fn take(store: &DynamoStore, key: &str, now: Timestamp) -> StoreResult<Option<String>> {
    match store.delete_item(&keys::ephemeral(key), None).await? {
        Written::Done(old) => live_value(old, now),
        Written::ConditionFailed(_) => Ok(None),
    }
}

fn live_value(item: Option<Item>, now: Timestamp) -> StoreResult<Option<String>> {
    let Some(item) = item else { return Ok(None) };
    let stored: Ephemeral = decode(item, "ephemeral value")?;
    Ok((stored.expires_at_ms > now.millis()).then_some(stored.value))
}

/// The counter's total.
const TOTAL: &str = "total";

/// One conditional update and no read: add to a live counter, or start an expired (or
/// absent) one at `by` with a new expiry; the new total comes back either way. Two
/// writers racing on a restart: one restart wins, the other's condition then sees a live
/// counter and adds to it.
pub(super) async fn add_to_counter(store: &DynamoStore, key: &str, by: u64, ttl: Duration, now: Timestamp) -> StoreResult<u64> {
    let key = keys::counter(key);
    let now_ms = now.millis();
    if by == 0 {
        // A read: an update that changes nothing need not return the attribute (moto omits it).
        let Some(item) = store.get_item(&key).await? else { return Ok(0) };
        let live = attr_i64(&item, EXPIRES_AT_MS, "counter")?.is_some_and(|exp| exp > now_ms);
        return Ok(if live { u64::try_from(attr_i64(&item, TOTAL, "counter")?.unwrap_or(0)).unwrap_or(0) } else { 0 });
    }
    let expires = expires_ms(now, ttl);
    let by = i64::try_from(by).map_err(|_| StoreError::Invalid(format!("counter increment {by} too large")))?;
    let add = Expr::when("#exp > :now").set("ADD #total :by").name("#exp", EXPIRES_AT_MS).name("#total", TOTAL).value(":now", n(now_ms)).value(":by", n(by));
    let restart = Expr::when("attribute_not_exists(#exp) OR #exp <= :now")
        .set("SET #total = :by, #exp = :exp, #ttl = :ttl, #kind = :kind")
        .name("#exp", EXPIRES_AT_MS)
        .name("#total", TOTAL)
        .name("#ttl", EXPIRES_AT)
        .name("#kind", KIND)
        .value(":now", n(now_ms))
        .value(":by", n(by))
        .value(":exp", n(expires))
        .value(":ttl", n(ttl_secs(expires)))
        .value(":kind", s("counter"));
    for _ in 0..TOKEN_ROUNDS {
        for expr in [&add, &restart] {
            if let Written::Done(item) = store.update_item_returning(&key, expr.clone()).await? {
                let total = attr_i64(&item, TOTAL, "counter")?.unwrap_or(by);
                return Ok(u64::try_from(total).unwrap_or(0));
            }
        }
    }
    Err(StoreError::Unavailable { message: format!("counter {} kept moving; try again", key.pk), retryable: true })
}

/// GCRA on one number per bucket, with no read on the hot path: a conditional update
/// that advances a running TAT, else one that restarts an idle bucket; only if both
/// conditions fail is the TAT read, to say how long to wait.
/// Books tokens with one conditional update and no read: advance a TAT that is ahead of
/// now, or restart one that fell behind (or never existed). Either way the new TAT comes
/// back, and the slot follows from it.
pub(super) async fn reserve_tokens(store: &DynamoStore, bucket: &BucketSpec, n_tokens: u32, now: Timestamp) -> StoreResult<Timestamp> {
    warroom_core::ratelimit::reserve(bucket, None, now, n_tokens).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let key = keys::bucket(&bucket.key);
    let now_ms = now.millis();
    let cost = bucket.cost_ms(n_tokens);
    // Reservations can book the bucket far ahead; keep it an hour past that at least.
    let expires = n(ttl_secs(now_ms + bucket.burst_ms()) + BUCKET_IDLE_SECS + 3600);
    let names = |e: Expr| e.name("#tat", TAT).name("#exp", EXPIRES_AT).name("#kind", KIND).value(":exp", expires.clone()).value(":kind", s("bucket"));
    let advance = names(Expr::when("#tat >= :now").set("SET #tat = #tat + :cost, #exp = :exp, #kind = :kind").value(":now", n(now_ms)).value(":cost", n(cost)));
    let restart = names(
        Expr::when("attribute_not_exists(#tat) OR #tat < :now")
            .set("SET #tat = :fresh, #exp = :exp, #kind = :kind")
            .value(":now", n(now_ms))
            .value(":fresh", n(now_ms + cost)),
    );
    for _ in 0..TOKEN_ROUNDS {
        for expr in [&advance, &restart] {
            if let Written::Done(item) = store.update_item_returning(&key, expr.clone()).await? {
                let tat = attr_i64(&item, TAT, "rate-limit bucket")?.unwrap_or(now_ms + cost);
                return Ok(Timestamp((tat - bucket.burst_ms()).max(now_ms)));
            }
        }
    }
    Err(StoreError::Unavailable { message: format!("bucket {} kept moving; try again", bucket.key), retryable: true })
}

pub(super) async fn take_tokens(store: &DynamoStore, bucket: &BucketSpec, n_tokens: u32, now: Timestamp) -> StoreResult<Take> {
    // `decide` validates `n` the same way for every adapter; its answer is not used.
    decide(bucket, None, now, n_tokens).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let key = keys::bucket(&bucket.key);
    let now_ms = now.millis();
    let cost = bucket.cost_ms(n_tokens);
    // After a grant the TAT is at most `now + burst`; past that the bucket is full again.
    let expires = n(ttl_secs(now_ms + bucket.burst_ms()) + BUCKET_IDLE_SECS);
    let names = |e: Expr| e.name("#tat", TAT).name("#exp", EXPIRES_AT).name("#kind", KIND).value(":exp", expires.clone()).value(":kind", s("bucket"));
    let advance = names(
        Expr::when("#tat >= :now AND #tat <= :max")
            .set("SET #tat = #tat + :cost, #exp = :exp, #kind = :kind")
            .value(":now", n(now_ms))
            .value(":max", n(now_ms + bucket.burst_ms() - cost))
            .value(":cost", n(cost)),
    );
    let restart = names(
        Expr::when("attribute_not_exists(#tat) OR #tat < :now")
            .set("SET #tat = :fresh, #exp = :exp, #kind = :kind")
            .value(":now", n(now_ms))
            .value(":fresh", n(now_ms + cost)),
    );
    for _ in 0..TOKEN_ROUNDS {
        for expr in [&advance, &restart] {
            if let Written::Done(()) = store.update_item(&key, expr.clone()).await? {
                return Ok(Take::Granted);
            }
        }
        let item = store.get_item(&key).await?;
        let tat = match &item {
            Some(item) => attr_i64(item, TAT, "rate-limit bucket")?,
            None => None,
        };
        match decide(bucket, tat, now, n_tokens).map_err(|e| StoreError::Invalid(e.to_string()))? {
            (Take::Wait(wait), _) => return Ok(Take::Wait(wait)),
            // The bucket moved between our updates and the read: go again.
            (Take::Granted, _) => continue,
        }
    }
    Ok(Take::Wait(Duration::from_millis(bucket.interval_ms.max(1) as u64)))
}
