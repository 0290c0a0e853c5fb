//! The incident as Warroom tracks it, with its war room.

use crate::ids::{ChatId, ImUserId, IncidentId, IntegrationId, MemberId, MessageId, TenantId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Ordered from least to most urgent, so `severity >= threshold` reads naturally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// Lenient parsing of what monitoring tools send (`P1`, `critical`, `warn`, ...).
    pub fn parse_lenient(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "critical" | "crit" | "p1" | "sev1" | "high" | "error" | "fatal" | "page" => Some(Self::Critical),
            "warning" | "warn" | "p2" | "p3" | "sev2" | "sev3" | "medium" => Some(Self::Warning),
            "info" | "informational" | "p4" | "p5" | "low" | "ok" | "none" => Some(Self::Info),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Triggered,
    Acknowledged,
    Resolved,
    Closed,
}

impl Status {
    pub fn is_open(self) -> bool {
        matches!(self, Status::Triggered | Status::Acknowledged)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Triggered => "triggered",
            Status::Acknowledged => "acknowledged",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the incident came from, so status changes can be synced back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    /// `generic`, `alertmanager`, `pagerduty`, ...
    pub source: String,
    /// The source's own id (Alertmanager group key, PagerDuty incident id, ...).
    pub external_id: String,
}

/// A person the source says should respond. Resolved to a member and an IM user later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Responder {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Filled once matched to a member of the tenant.
    pub member_id: Option<MemberId>,
}

/// The status (and snooze) as pushed to the incident's source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    pub status: Status,
    pub snoozed_until: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarRoomState {
    /// No chat exists (and none may be wanted).
    #[default]
    None,
    /// A chat exists and is live.
    Open,
    /// Warroom dismissed the chat (archived / disbanded / left).
    Dismissed,
    /// Someone disbanded or archived the chat from inside the IM; never recreated.
    DisbandedExternally,
}

/// Desired and actual state of an incident's war room; the reconciler closes the gap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarRoom {
    /// Desired: a chat should exist while the incident is open.
    pub wanted: bool,
    pub state: WarRoomState,
    pub integration_id: Option<IntegrationId>,
    /// Sent with the create call so a retried create never makes two chats.
    pub create_key: Option<String>,
    pub chat_id: Option<ChatId>,
    pub chat_url: Option<String>,
    pub card_message_id: Option<MessageId>,
    /// Fingerprint of the card as last posted (`Card::fingerprint`); re-rendered on change.
    pub card_fingerprint: Option<String>,
    /// Set just before a card is posted, cleared once its id is recorded. Found set, an
    /// earlier post may have gone through with its answer lost (or the worker died before
    /// recording it): the card is looked for (or the idempotent post repeated) and brought up
    /// to date, rather than posted a second time.
    #[serde(default)]
    pub card_posting: bool,
    pub invited: BTreeSet<ImUserId>,
    /// When the chat should be dismissed (now for a manual dismiss; N minutes after the
    /// incident closes for the tenant's auto-dismiss rule).
    pub dismiss_at: Option<Timestamp>,
    /// Who asked for the dismiss, for the timeline.
    pub dismissed_by: Option<crate::timeline::Actor>,
    /// Responders already reported as unreachable (by a stable key), so the timeline and
    /// the chat hear about each one once.
    #[serde(default)]
    pub unlinked_reported: BTreeSet<String>,
    /// Users whose invite failed for good (`cant_invite`, ...): not retried on every pass.
    #[serde(default)]
    pub invite_failed: BTreeMap<ImUserId, String>,
    /// The last blocking problem reported (no integration, missing permission, ...), so a
    /// repeated pass does not repeat it in the timeline.
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub tenant_id: TenantId,
    pub id: IncidentId,
    pub source: SourceRef,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub status: Status,
    pub snoozed_until: Option<Timestamp>,
    pub responders: Vec<Responder>,
    pub labels: BTreeMap<String, String>,
    pub url: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The source's time of the newest event applied; older events are ignored.
    pub source_updated_at: Timestamp,
    #[serde(default)]
    pub war_room: WarRoom,
    /// What the source was last told (status sync back); `None` = nothing pushed yet.
    #[serde(default)]
    pub synced: Option<SourceState>,
    /// Optimistic-concurrency version; the store bumps it on every update.
    pub version: u64,
}

impl Incident {
    pub fn is_snoozed(&self, now: Timestamp) -> bool {
        self.snoozed_until.is_some_and(|t| t > now)
    }
}
