//! The incident timeline: every war-room operation, append-only, ordered.

use crate::ids::{IncidentId, MemberId, TenantId};
use crate::integration::Platform;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Who did it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// Warroom itself (the reconciler, a timer).
    System,
    /// A member of the tenant, e.g. through a card button once their IM account is linked.
    Member { id: MemberId, name: String },
    /// An IM user not (yet) linked to a member.
    ImUser { platform: Platform, id: String },
    /// The on-call system that sent the incident.
    Source { name: String },
    /// A management-API caller.
    ApiKey { label: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineAction {
    IncidentOpened,
    IncidentUpdated,
    StatusChanged,
    WarRoomRequested,
    WarRoomCreated,
    WarRoomCreateFailed,
    MemberInvited,
    InviteFailed,
    ResponderUnlinked,
    CardPosted,
    CardUpdated,
    CardFailed,
    SyncedToSource,
    SyncFailed,
    WarRoomDismissed,
    DisbandedExternally,
    TranscriptCaptured,
    PermissionMissing,
    GivenUp,
    /// The platform's metered budget (DingTalk's monthly API calls) is nearly spent.
    QuotaWarning,
    /// The assistant answered a question (model, tokens, times).
    AssistantAnswered,
    /// A post-mortem version was drafted (model, tokens, times, where to read it).
    PostmortemWritten,
    /// A post-mortem could not be drafted, and why.
    PostmortemFailed,
    /// The runbook matching the incident's labels was posted in its war room (once).
    RunbookPosted,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub tenant_id: TenantId,
    pub incident_id: IncidentId,
    /// Sort key: time first, then a per-process sequence, so entries written by one
    /// worker keep their order even within the same millisecond.
    pub id: String,
    pub at: Timestamp,
    pub actor: Actor,
    pub action: TimelineAction,
    pub detail: String,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl TimelineEntry {
    pub fn new(tenant_id: TenantId, incident_id: IncidentId, at: Timestamp, actor: Actor, action: TimelineAction, detail: impl Into<String>) -> Self {
        let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:015}.{:012}.{}", at.0.max(0), seq, &crate::ids::random_suffix()[..4]);
        Self { tenant_id, incident_id, id, at, actor, action, detail: detail.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_sort_in_append_order_within_one_millisecond_and_by_time_across() {
        let mk = |t| TimelineEntry::new("t".into(), "i".into(), Timestamp(t), Actor::System, TimelineAction::CardPosted, "");
        let a = mk(5);
        let b = mk(5);
        let c = mk(4);
        assert!(a.id < b.id);
        assert!(c.id < a.id);
    }
}
