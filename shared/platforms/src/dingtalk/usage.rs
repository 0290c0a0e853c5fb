//! The monthly API call quota (notes Q9, ref §5): metered calls are counted per app and
//! month in the store (one counter shared by every instance), shown on the integration,
//! and logged as a warning when 80%, 95% and 100% of the edition's quota are reached.
//!
//! The quota is the organisation's, not the app's: calls other apps of the organisation
//! make are not seen here, so the count is a lower bound. The month is China's (DingTalk
//! resets quotas on the 1st; which time zone is UNCERTAIN, UTC+8 assumed in [`month`]).

use super::{DingTalkCredentials, Edition};
use std::time::Duration;
use warroom_core::{Store, Timestamp};

/// Longer than any month, so a counter outlives its month and then starts afresh under the
/// next month's key.
const KEEP: Duration = Duration::from_secs(40 * 24 * 3600);
const UTC_PLUS_8_MS: i64 = 8 * 3600 * 1000;
/// Shares of the quota at which a warning is logged (and shown on the integration).
const WARN_AT: [u64; 3] = [80, 95, 100];

/// "Token, auth and contacts APIs are exempt" (notes Q9): the rest are metered.
pub(crate) fn metered(path: &str) -> bool {
    !(path.starts_with("/v1.0/oauth2/") || path == "/gettoken" || path.starts_with("/topapi/v2/user/") || path.starts_with("/v1.0/contact/"))
}

/// `2026-12` in UTC+8.
fn month(now: Timestamp) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now.millis() + UTC_PLUS_8_MS) * 1_000_000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", at.year(), u8::from(at.month()))
}

/// The store counter of an app's metered calls in the month of `now` (public for tests and
/// operators who want to read or correct it).
pub fn calls_counter_key(client_id: &str, now: Timestamp) -> String {
    format!("dingtalk-calls:{client_id}:{}", month(now))
}

fn key(client_id: &str, now: Timestamp) -> String {
    calls_counter_key(client_id, now)
}

/// Counts one metered call; a store failure is logged, never the call's failure.
pub(crate) async fn record(store: &dyn Store, credentials: &DingTalkCredentials, now: Timestamp) {
    match store.add_to_counter(&key(&credentials.client_id, now), 1, KEEP, now).await {
        Ok(total) => {
            let quota = credentials.edition.monthly_calls();
            if let Some(share) = WARN_AT.iter().find(|share| total == quota * **share / 100) {
                tracing::warn!(client_id = %credentials.client_id, total, quota, share, "DingTalk monthly API call quota: {share}% used");
            }
        }
        Err(e) => tracing::warn!(client_id = %credentials.client_id, error = %e, "could not count a DingTalk API call"),
    }
}

/// This month's count, the edition's quota, and a warning past 80%.
pub(crate) async fn usage(store: &dyn Store, credentials: &DingTalkCredentials, now: Timestamp) -> serde_json::Value {
    let calls = this_month(store, credentials, now).await;
    let quota = credentials.edition.monthly_calls();
    let warning = calls.and_then(|c| warning_for(c, credentials));
    serde_json::json!({ "month": month(now), "calls_this_month": calls, "monthly_quota": quota, "warning": warning })
}

/// The warning alone (for a new war room's timeline), `None` below 80% or when the count
/// cannot be read (the warning is advice, never a reason to fail a room).
pub(crate) async fn warning(store: &dyn Store, credentials: &DingTalkCredentials, now: Timestamp) -> Option<String> {
    this_month(store, credentials, now).await.and_then(|c| warning_for(c, credentials))
}

async fn this_month(store: &dyn Store, credentials: &DingTalkCredentials, now: Timestamp) -> Option<u64> {
    store.add_to_counter(&key(&credentials.client_id, now), 0, KEEP, now).await.ok()
}

fn warning_for(calls: u64, credentials: &DingTalkCredentials) -> Option<String> {
    let quota = credentials.edition.monthly_calls();
    (calls * 100 >= quota * WARN_AT[0]).then(|| {
        format!(
            "DingTalk: {calls} of the {} edition's {quota} metered API calls this month are used (by Warroom alone; other apps of the organisation count too): new war rooms stop when they run out, until the 1st",
            edition_name(credentials.edition)
        )
    })
}

fn edition_name(edition: Edition) -> &'static str {
    match edition {
        Edition::Standard => "standard",
        Edition::Professional => "professional",
        Edition::Exclusive => "exclusive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_contacts_are_not_metered_and_everything_else_is() {
        assert!(!metered("/v1.0/oauth2/accessToken") && !metered("/topapi/v2/user/getbymobile") && !metered("/gettoken"));
        assert!(metered("/v1.0/im/sceneGroup/create") && metered("/v1.0/robot/groupMessages/send") && metered("/topapi/im/chat/scenegroup/create"));
    }

    #[tokio::test]
    async fn calls_are_counted_per_app_and_month_and_a_warning_shows_from_eighty_percent() {
        let store = warroom_store::embedded::EmbeddedStore::open_temporary().unwrap();
        let credentials = crate::dingtalk::test_credentials("http://127.0.0.1:9");
        let now = Timestamp(1_796_054_400_000);
        record(&store, &credentials, now).await;
        assert_eq!(usage(&store, &credentials, now).await["calls_this_month"], 1);
        assert_eq!(usage(&store, &credentials, now).await["warning"], serde_json::Value::Null);
        assert_eq!(usage(&store, &credentials, Timestamp(now.0 - 1)).await["calls_this_month"], 0, "last month is another counter");
        store.add_to_counter(&key(&credentials.client_id, now), 7_999, KEEP, now).await.unwrap();
        let used = usage(&store, &credentials, now).await;
        assert_eq!((used["calls_this_month"].as_u64(), used["monthly_quota"].as_u64()), (Some(8_000), Some(10_000)));
        assert!(used["warning"].as_str().is_some_and(|w| w.contains("8000 of the standard edition's 10000")), "{used}");
    }

    #[test]
    fn the_month_turns_at_midnight_china_time() {
        // 2026-11-30T16:00:00Z is 2026-12-01T00:00 in UTC+8.
        let turn = Timestamp(1_796_054_400_000);
        assert_eq!(month(Timestamp(turn.0 - 1)), "2026-11");
        assert_eq!(month(turn), "2026-12");
    }
}
