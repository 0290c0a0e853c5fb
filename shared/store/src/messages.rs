//! Captured chat messages: what both adapters agree a duplicate is, and how messages
//! stored before the uniqueness marker existed are read.
//!
//! A message is identified by the platform's message id within its incident; a
//! redelivery of the same id with another time is the same message and the first capture
//! is kept. The message item stays keyed `MSG#{at:015}#{id}` (so a partition query lists
//! the transcript in time order, then id, and pages like any query); beside it a marker
//! `MSGID#{id}` is written in the same transaction, and a capture checks only that marker:
//! a point read, never the history.
//!
//! Messages captured before the marker existed have none. A redelivery of such a message
//! with the same time finds its item (the same key) and is not stored again; with another
//! time it would be stored a second time, so lists keep only the first (oldest) item of
//! each id. No migration is needed: the old items list and dedupe as before.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use warroom_core::ChatMessage;

/// The uniqueness marker's content: which message item holds the id (for diagnostics;
/// the marker's existence is what matters).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct MessageMarker {
    pub message_sk: String,
}

/// Keeps the first item of each message id, in the order given (time, then id).
pub(crate) fn first_of_each_id(messages: Vec<ChatMessage>) -> Vec<ChatMessage> {
    let mut seen = HashSet::with_capacity(messages.len());
    messages.into_iter().filter(|m| seen.insert(m.id.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use warroom_core::Timestamp;

    #[test]
    fn a_legacy_duplicate_stored_under_another_time_is_listed_once_at_its_first_time() {
        let msg = |id: &str, at| ChatMessage { id: id.into(), at: Timestamp(at), author: "U1".into(), text: id.into() };
        let listed = first_of_each_id(vec![msg("a", 1), msg("b", 2), msg("a", 3)]);
        assert_eq!(listed, vec![msg("a", 1), msg("b", 2)]);
    }
}
