//! An incident event as every intake source is normalised to: what the source says the
//! incident is now, and when it said so.

use crate::incident::{Responder, Severity, SourceRef, Status};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentEvent {
    pub source: SourceRef,
    pub status: Status,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    /// `None`: the source said nothing about responders (keep the ones known);
    /// `Some(vec![])`: it says there are none.
    pub responders: Option<Vec<Responder>>,
    pub labels: BTreeMap<String, String>,
    pub url: Option<String>,
    /// The source's time of this state; older than what was applied means stale.
    pub at: Timestamp,
    /// The source asks for a war room explicitly (besides the tenant's auto rule).
    pub war_room: bool,
}
