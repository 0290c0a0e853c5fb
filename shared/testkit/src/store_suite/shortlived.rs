//! Dedupe claims, ephemeral values, token buckets.

use crate::fixtures::*;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::ratelimit::{BucketSpec, Take};
use warroom_core::*;

type S = Arc<dyn Store>;

fn key(name: &str) -> String {
    format!("{name}-{}", ids::random_suffix())
}

pub async fn fifty_concurrent_dedupe_claims_have_exactly_one_winner(store: S) {
    let k = key("evt");
    let tasks = (0..50).map(|_| {
        let (store, k) = (store.clone(), k.clone());
        tokio::spawn(async move { store.claim_dedupe(&k, Duration::from_secs(300), T0).await.unwrap() })
    });
    let wins = futures::future::join_all(tasks).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(wins, 1);
}

pub async fn an_expired_dedupe_claim_can_be_claimed_again(store: S) {
    let k = key("evt");
    assert!(store.claim_dedupe(&k, Duration::from_secs(60), T0).await.unwrap());
    assert!(!store.claim_dedupe(&k, Duration::from_secs(60), T0.plus(Duration::from_secs(59))).await.unwrap());
    assert!(store.claim_dedupe(&k, Duration::from_secs(60), T0.plus(Duration::from_secs(61))).await.unwrap());
}

pub async fn a_released_dedupe_claim_can_be_claimed_again(store: S) {
    let k = key("evt");
    assert!(store.claim_dedupe(&k, Duration::from_secs(600), T0).await.unwrap());
    store.release_dedupe(&k).await.unwrap();
    assert!(store.claim_dedupe(&k, Duration::from_secs(600), T0).await.unwrap());
    assert!(!store.claim_dedupe(&k, Duration::from_secs(600), T0).await.unwrap());
    store.release_dedupe(&key("never-claimed")).await.expect("releasing nothing is fine");
}

pub async fn ephemeral_values_expire_and_can_be_taken_only_once(store: S) {
    let k = key("oauth-state");
    store.put_ephemeral(&k, "tenant=t1", Duration::from_secs(600), T0).await.unwrap();
    assert_eq!(store.get_ephemeral(&k, T0).await.unwrap().as_deref(), Some("tenant=t1"));
    assert_eq!(store.get_ephemeral(&k, T0.plus(Duration::from_secs(601))).await.unwrap(), None, "expired");
    assert_eq!(store.take_ephemeral(&k, T0.plus(Duration::from_secs(601))).await.unwrap(), None, "expired cannot be taken");
    let k2 = key("oauth-state");
    store.put_ephemeral(&k2, "v", Duration::from_secs(600), T0).await.unwrap();
    assert_eq!(store.take_ephemeral(&k2, T0).await.unwrap().as_deref(), Some("v"));
    assert_eq!(store.take_ephemeral(&k2, T0).await.unwrap(), None);
    assert_eq!(store.get_ephemeral(&k2, T0).await.unwrap(), None);
}

pub async fn twenty_concurrent_takes_of_one_state_give_it_to_exactly_one(store: S) {
    let k = key("state");
    store.put_ephemeral(&k, "once", Duration::from_secs(600), T0).await.unwrap();
    let tasks = (0..20).map(|_| {
        let (store, k) = (store.clone(), k.clone());
        tokio::spawn(async move { store.take_ephemeral(&k, T0).await.unwrap() })
    });
    let got: Vec<_> = futures::future::join_all(tasks).await.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(got, vec!["once".to_string()]);
}

pub async fn a_hundred_concurrent_token_takers_never_exceed_the_capacity(store: S) {
    // All takers see the same instant, so exactly `capacity` tokens exist to be had.
    let spec = BucketSpec::per(key("feishu.app"), 10, Duration::from_secs(60));
    let tasks = (0..100).map(|_| {
        let (store, spec) = (store.clone(), spec.clone());
        tokio::spawn(async move { store.take_tokens(&spec, 1, T0).await.unwrap() })
    });
    let results: Vec<Take> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let granted = results.iter().filter(|t| **t == Take::Granted).count();
    assert_eq!(granted, 10, "{results:?}");
    for t in results.iter().filter(|t| **t != Take::Granted) {
        assert!(matches!(t, Take::Wait(d) if *d > Duration::ZERO && *d <= Duration::from_secs(60)), "{t:?}");
    }
}

pub async fn a_bucket_refills_at_its_rate_and_says_how_long_to_wait(store: S) {
    let spec = BucketSpec::per(key("slack.chat"), 5, Duration::from_secs(1));
    for _ in 0..5 {
        assert_eq!(store.take_tokens(&spec, 1, T0).await.unwrap(), Take::Granted);
    }
    assert_eq!(store.take_tokens(&spec, 1, T0).await.unwrap(), Take::Wait(Duration::from_millis(200)));
    assert_eq!(store.take_tokens(&spec, 1, Timestamp(T0.0 + 100)).await.unwrap(), Take::Wait(Duration::from_millis(100)));
    assert_eq!(store.take_tokens(&spec, 1, Timestamp(T0.0 + 200)).await.unwrap(), Take::Granted);
    assert_eq!(store.take_tokens(&spec, 5, Timestamp(T0.0 + 10_000)).await.unwrap(), Take::Granted, "a rested bucket is full");
}

pub async fn twenty_concurrent_reservations_line_up_one_interval_apart(store: S) {
    let spec = BucketSpec { key: key("feishu.app"), capacity: 2, interval_ms: 100 };
    let tasks = (0..20).map(|_| {
        let (store, spec) = (store.clone(), spec.clone());
        tokio::spawn(async move { store.reserve_tokens(&spec, 1, T0).await.unwrap() })
    });
    let mut slots: Vec<i64> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap().millis() - T0.millis()).collect();
    slots.sort();
    let expected: Vec<i64> = [0, 0].into_iter().chain((1..19).map(|k| k * 100)).collect();
    assert_eq!(slots, expected, "each reservation got its own slot");
    assert!(matches!(store.take_tokens(&spec, 1, T0).await.unwrap(), Take::Wait(_)), "the booked bucket is busy for takers");
}

pub async fn asking_a_bucket_for_more_than_it_holds_is_invalid(store: S) {
    let spec = BucketSpec::per(key("tiny"), 2, Duration::from_secs(1));
    assert!(matches!(store.take_tokens(&spec, 3, T0).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.take_tokens(&spec, 2, T0).await.unwrap(), Take::Granted, "the refusal took nothing");
}

/// Fifty concurrent additions: every total from 1 to 50 handed out once, none lost.
pub async fn fifty_concurrent_counter_additions_each_see_their_own_total(store: S) {
    let k = key("calls");
    let tasks = (0..50).map(|_| {
        let (store, k) = (store.clone(), k.clone());
        tokio::spawn(async move { store.add_to_counter(&k, 1, Duration::from_secs(3600), T0).await.unwrap() })
    });
    let mut totals: Vec<u64> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    totals.sort_unstable();
    assert_eq!(totals, (1..=50).collect::<Vec<u64>>());
    assert_eq!(store.add_to_counter(&k, 0, Duration::from_secs(3600), T0).await.unwrap(), 50, "adding nothing reads the total");
}

/// A counter lives its ttl from its first addition (later additions do not extend it),
/// then starts again; other keys are other counters.
pub async fn a_counter_starts_again_once_its_time_is_up(store: S) {
    let (k, other) = (key("calls-2026-12"), key("calls-2027-01"));
    let ttl = Duration::from_secs(60);
    assert_eq!(store.add_to_counter(&k, 3, ttl, T0).await.unwrap(), 3);
    assert_eq!(store.add_to_counter(&k, 2, ttl, T0.plus(Duration::from_secs(59))).await.unwrap(), 5);
    assert_eq!(store.add_to_counter(&other, 7, ttl, T0).await.unwrap(), 7);
    assert_eq!(store.add_to_counter(&k, 4, ttl, T0.plus(Duration::from_secs(61))).await.unwrap(), 4, "expired: counted afresh");
}
