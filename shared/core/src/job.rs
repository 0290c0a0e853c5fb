//! Jobs say what to look at, not what to do: the worker reads current state and acts.

use crate::ids::{ChatId, IncidentId, IntegrationId, MemberId, MessageId, TenantId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobKind {
    /// Compare the incident's desired war room with the actual one and take the next steps.
    Reconcile { incident_id: IncidentId },
    /// Push the incident's current status back to its source.
    SyncStatus { incident_id: IncidentId },
    /// One-click linking of members to IM users by email / phone.
    LinkUsers { integration_id: IntegrationId, member_ids: Vec<MemberId> },
    /// Answer an @mention in a war room.
    AnswerMention { incident_id: IncidentId, chat_id: ChatId, message_id: MessageId },
    /// Draft the next version of the incident's post-mortem (see `Postmortem`).
    PostMortem {
        incident_id: IncidentId,
        /// Who asked (the API's caller, a person in the room, Warroom on resolve).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requested_by: Option<crate::timeline::Actor>,
        /// The room it was asked in: told when it is ready, or why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chat_id: Option<ChatId>,
        /// The request's id: one request writes one version, however often its job runs.
        #[serde(default)]
        request: String,
    },
    /// Wakes the incident up at `due` (auto-dismiss, end of a snooze). Runs in a group of
    /// its own, so waiting for it never holds up the incident's other jobs.
    Timer { incident_id: IncidentId, due: crate::time::Timestamp },
    /// A text a person waits for (a command's answer) that could not go out at once: sent
    /// when the chat's rate limit allows, once per `key` (see `ImPlatform::send_notice`).
    Notice { incident_id: IncidentId, chat_id: ChatId, text: String, key: String },
}

impl JobKind {
    /// The kind as a metric label.
    pub fn label(&self) -> &'static str {
        match self {
            JobKind::Reconcile { .. } => "reconcile",
            JobKind::SyncStatus { .. } => "sync_status",
            JobKind::LinkUsers { .. } => "link_users",
            JobKind::AnswerMention { .. } => "answer_mention",
            JobKind::PostMortem { .. } => "post_mortem",
            JobKind::Timer { .. } => "timer",
            JobKind::Notice { .. } => "notice",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub tenant_id: TenantId,
    #[serde(flatten)]
    pub kind: JobKind,
    /// What makes this job distinct from an identical-looking one: the queue drops a
    /// second job with the same group and key (SQS FIFO: within 5 minutes). It must
    /// change when there is new work, e.g. carry the incident version that caused it.
    pub dedup_key: String,
}

impl Job {
    pub fn new(tenant_id: TenantId, kind: JobKind, dedup_key: impl Into<String>) -> Self {
        Self { tenant_id, kind, dedup_key: dedup_key.into() }
    }

    /// A reconcile caused by the incident reaching `version`.
    pub fn reconcile(tenant_id: TenantId, incident_id: IncidentId, version: u64) -> Self {
        Self::new(tenant_id, JobKind::Reconcile { incident_id }, format!("reconcile-v{version}"))
    }

    /// Jobs of one group run one at a time, in order: the incident, or the integration for
    /// jobs that concern no incident.
    pub fn group(&self) -> String {
        let scope = match &self.kind {
            JobKind::Reconcile { incident_id }
            | JobKind::SyncStatus { incident_id }
            | JobKind::AnswerMention { incident_id, .. }
            | JobKind::PostMortem { incident_id, .. }
            | JobKind::Notice { incident_id, .. } => format!("inc.{incident_id}"),
            JobKind::LinkUsers { integration_id, .. } => format!("int.{integration_id}"),
            JobKind::Timer { incident_id, .. } => format!("timer.{incident_id}"),
        };
        format!("{}.{}", self.tenant_id, scope)
    }

    /// The FIFO deduplication id: kind, group and key (at most 128 characters for SQS,
    /// so long inputs are hashed down by the adapter).
    pub fn dedup_id(&self) -> String {
        let kind = match &self.kind {
            JobKind::Reconcile { .. } => "reconcile",
            JobKind::SyncStatus { .. } => "sync",
            JobKind::LinkUsers { .. } => "link",
            JobKind::AnswerMention { .. } => "mention",
            JobKind::PostMortem { .. } => "postmortem",
            JobKind::Timer { .. } => "timer",
            JobKind::Notice { .. } => "notice",
        };
        format!("{}.{}.{}", self.group(), kind, self.dedup_key)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a job always serializes")
    }

    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_jobs_share_the_incident_group_and_differ_by_key() {
        let a = Job::reconcile("t1".into(), "inc_a".into(), 1);
        let b = Job::reconcile("t1".into(), "inc_a".into(), 2);
        let sync = Job::new("t1".into(), JobKind::SyncStatus { incident_id: "inc_a".into() }, "v2");
        assert_eq!(a.group(), "t1.inc.inc_a");
        assert_eq!(a.group(), sync.group());
        assert_ne!(a.dedup_id(), b.dedup_id());
        assert_ne!(sync.dedup_id(), b.dedup_id());
    }

    #[test]
    fn a_job_survives_its_wire_format() {
        let job = Job::new("t1".into(), JobKind::LinkUsers { integration_id: "int_1".into(), member_ids: vec!["mem_1".into()] }, "click-7");
        let json = job.to_json();
        assert!(json.contains(r#""kind":"link_users""#), "{json}");
        assert_eq!(Job::from_json(&json).unwrap(), job);
        assert!(Job::from_json(r#"{"kind":"nuke"}"#).is_err());
    }
}
