//! Holding one API call in flight, for crash tests: "hold the next `chat.postMessage`,
//! after it took effect" lets a test kill the caller at that exact step, while the call is
//! answered to nobody. Each sandbox has one [`Holds`]; a call is named as its sandbox
//! names it (Slack: the method, `chat.postMessage`; Feishu: `POST /open-apis/im/v1/messages`,
//! where a pattern may use `*` for one path segment: `POST /open-apis/im/v1/chats/*/members`).
//!
//! - [`HoldPoint::Before`]: the call waits before it is applied. Released with
//!   [`Release::Abort`], it is never applied (answered 503): "the call never happened".
//! - [`HoldPoint::After`]: the call is applied, then its answer waits: "the effect happened,
//!   the answer was lost" once the caller is killed.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// Where the held call waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldPoint {
    /// Before the sandbox applies the call.
    Before,
    /// After it applied the call, before it answers.
    After,
}

/// How a held call goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Release {
    /// As if it had never been held.
    Proceed,
    /// Answered 503 at once; a call held `Before` is never applied.
    Abort,
}

/// The armed hold as the control endpoints show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HoldStatus {
    pub call: String,
    pub point: HoldPoint,
    /// A call is waiting in it now.
    pub holding: bool,
    /// The call that matched (Feishu: with its real path).
    pub held_call: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HoldError {
    /// Arming while a call is held would lose it: release it first. Not retryable as is.
    #[error("a call ({0}) is held: release it first")]
    Busy(String),
    #[error("no call is held")]
    NothingHeld,
}

struct Armed {
    status: HoldStatus,
    release: Option<oneshot::Sender<Release>>,
}

/// At most one armed hold. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct Holds {
    armed: Arc<Mutex<Option<Armed>>>,
}

/// Segment by segment, `*` matching any one segment.
fn matches(pattern: &str, call: &str) -> bool {
    let (p, c): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), call.split('/').collect());
    p.len() == c.len() && p.iter().zip(&c).all(|(p, c)| *p == "*" || p == c)
}

impl Holds {
    fn lock(&self) -> MutexGuard<'_, Option<Armed>> {
        self.armed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Holds the next call matching `call` at `point` (replacing an armed hold that holds nothing).
    pub fn arm(&self, call: &str, point: HoldPoint) -> Result<(), HoldError> {
        let mut armed = self.lock();
        if let Some(a) = armed.as_ref().filter(|a| a.status.holding) {
            return Err(HoldError::Busy(a.status.held_call.clone().unwrap_or_default()));
        }
        let status = HoldStatus { call: call.to_string(), point, holding: false, held_call: None };
        *armed = Some(Armed { status, release: None });
        Ok(())
    }

    pub fn status(&self) -> Option<HoldStatus> {
        self.lock().as_ref().map(|a| a.status.clone())
    }

    /// Lets the held call go on and disarms. `NothingHeld` if no call is waiting (the hold,
    /// if armed, stays armed).
    pub fn release(&self, how: Release) -> Result<HoldStatus, HoldError> {
        let mut armed = self.lock();
        if !armed.as_ref().is_some_and(|a| a.status.holding) {
            return Err(HoldError::NothingHeld);
        }
        let mut a = armed.take().expect("checked above");
        if let Some(tx) = a.release.take() {
            // The call may be gone already (its caller hung up): nothing to tell.
            let _ = tx.send(how);
        }
        Ok(a.status)
    }

    /// Disarms a hold that holds nothing yet.
    pub fn disarm(&self) {
        let mut armed = self.lock();
        if armed.as_ref().is_some_and(|a| !a.status.holding) {
            *armed = None;
        }
    }

    /// Called by a sandbox at `point` of a call: waits if the armed hold matches it (the
    /// first matching call takes the hold), else goes on at once.
    pub(crate) async fn pass(&self, call: &str, point: HoldPoint) -> Release {
        let rx = {
            let mut armed = self.lock();
            let Some(a) = armed.as_mut() else { return Release::Proceed };
            if a.status.holding || a.status.point != point || !matches(&a.status.call, call) {
                return Release::Proceed;
            }
            let (tx, rx) = oneshot::channel();
            a.status.holding = true;
            a.status.held_call = Some(call.to_string());
            a.release = Some(tx);
            rx
        };
        tracing::info!(call, ?point, "sandbox: call held");
        // Dropped without a word (the sandbox shutting down): go on.
        rx.await.unwrap_or(Release::Proceed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_segment_by_segment_with_a_wildcard() {
        assert!(matches("chat.postMessage", "chat.postMessage"));
        assert!(!matches("chat.postMessage", "chat.update"));
        assert!(matches("POST /open-apis/im/v1/chats/*/members", "POST /open-apis/im/v1/chats/oc_1/members"));
        assert!(!matches("POST /open-apis/im/v1/chats", "POST /open-apis/im/v1/chats/oc_1/members"));
        assert!(!matches("POST /open-apis/im/v1/chats/*/members", "GET /open-apis/im/v1/chats/oc_1/members"));
    }

    #[tokio::test]
    async fn the_first_matching_call_is_held_until_released_and_others_pass() {
        let holds = Holds::default();
        holds.arm("chat.postMessage", HoldPoint::After).unwrap();
        assert_eq!(holds.pass("chat.postMessage", HoldPoint::Before).await, Release::Proceed, "other point");
        assert_eq!(holds.pass("chat.update", HoldPoint::After).await, Release::Proceed, "other call");
        assert_eq!(holds.release(Release::Proceed), Err(HoldError::NothingHeld));

        let held = tokio::spawn({
            let holds = holds.clone();
            async move { holds.pass("chat.postMessage", HoldPoint::After).await }
        });
        while !holds.status().unwrap().holding {
            tokio::task::yield_now().await;
        }
        assert_eq!(holds.pass("chat.postMessage", HoldPoint::After).await, Release::Proceed, "only one is held");
        assert!(matches!(holds.arm("chat.update", HoldPoint::Before), Err(HoldError::Busy(_))));
        let released = holds.release(Release::Abort).unwrap();
        assert_eq!(released.held_call.as_deref(), Some("chat.postMessage"));
        assert_eq!(held.await.unwrap(), Release::Abort);
        assert_eq!(holds.status(), None, "disarmed");
    }
}
