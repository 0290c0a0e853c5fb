//! The incident list's filters (`status`, `severity`, `source`, `phase`) and the paging
//! over them.
//!
//! Filtered in the API, paging over the store until the page is full: both stores keep the
//! incident index by creation time only, so a store-side filter (a DynamoDB
//! `FilterExpression`) would read and pay for the same items, and the `Store` trait (shared
//! by both adapters) stays as it is. A scan is bounded ([`MAX_SCANNED`] incidents per
//! request): a sparse filter may answer a short page whose `next` continues the scan, so a
//! client always follows `next` until it is `null`. A cursor is the position of the last
//! incident returned, in the store's documented cursor shape, so paging stays exact.

use crate::error::Failure;
use crate::extract::QueryMap;
use crate::views::war_room_phase;
use warroom_core::{Incident, IncidentPage, Severity, Status, StoreResult, TenantId};
use warroom_http::AppState;

/// The sources incidents come from (what intake parses).
pub const SOURCES: &[&str] = warroom_intake::SOURCES;
pub const STATUSES: [&str; 4] = ["triggered", "acknowledged", "resolved", "closed"];
pub const SEVERITIES: [&str; 3] = ["info", "warning", "critical"];
/// What `phase` says of a war room (see `views::war_room_phase`).
pub const PHASES: [&str; 6] = ["none", "requested", "open", "dismissing", "dismissed", "disbanded_externally"];
/// The store page read while filtering.
const SCAN_PAGE: usize = 100;
/// The most incidents one request reads while filtering.
pub const MAX_SCANNED: usize = 2000;

/// What the list is narrowed to; every field must match.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub status: Option<Status>,
    pub severity: Option<Severity>,
    pub source: Option<String>,
    pub phase: Option<&'static str>,
}

fn one_of(query: &QueryMap, name: &str, allowed: &[&'static str]) -> Result<Option<&'static str>, Failure> {
    let Some(raw) = query.exact(name) else { return Ok(None) };
    match allowed.iter().find(|a| **a == raw) {
        Some(a) => Ok(Some(a)),
        None => Err(Failure::bad_request(format!("{name}: {raw:?} is not one of {}", allowed.join(", ")))),
    }
}

impl Filter {
    /// The filters of a query string; an unknown value is a 400 naming it.
    pub fn parse(query: &QueryMap) -> Result<Self, Failure> {
        let status = one_of(query, "status", &STATUSES)?.and_then(|s| serde_json::from_value(s.into()).ok());
        let severity = one_of(query, "severity", &SEVERITIES)?.and_then(|s| serde_json::from_value(s.into()).ok());
        let source = one_of(query, "source", SOURCES)?.map(str::to_owned);
        let phase = one_of(query, "phase", &PHASES)?;
        Ok(Self { status, severity, source, phase })
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn matches(&self, i: &Incident) -> bool {
        self.status.is_none_or(|s| i.status == s)
            && self.severity.is_none_or(|s| i.severity == s)
            && self.source.as_deref().is_none_or(|s| i.source.source == s)
            && self.phase.is_none_or(|p| war_room_phase(i) == p)
    }
}

/// The cursor of the page that ends at `i` (the store's `{created:015}.{id}`).
fn cursor_of(i: &Incident) -> String {
    format!("{:015}.{}", i.created_at.0.max(0), i.id)
}

/// Up to `limit` incidents matching `filter`, newest first, from `cursor` on.
pub async fn page(state: &AppState, tenant: &TenantId, filter: &Filter, cursor: Option<&str>, limit: usize) -> StoreResult<IncidentPage> {
    if filter.is_empty() {
        return state.store().list_incidents(tenant, cursor, limit).await;
    }
    let mut found = Vec::with_capacity(limit);
    let mut cursor = cursor.map(str::to_owned);
    let mut scanned = 0;
    loop {
        let page = state.store().list_incidents(tenant, cursor.as_deref(), SCAN_PAGE).await?;
        let read = page.incidents.len();
        for (n, incident) in page.incidents.into_iter().enumerate() {
            scanned += 1;
            if !filter.matches(&incident) {
                continue;
            }
            found.push(incident);
            if found.len() == limit {
                let more = n + 1 < read || page.next.is_some();
                let next = more.then(|| cursor_of(found.last().expect("just pushed")));
                return Ok(IncidentPage { incidents: found, next });
            }
        }
        match page.next {
            // A short page: the next one continues the scan where this one stopped.
            Some(next) if scanned >= MAX_SCANNED => return Ok(IncidentPage { incidents: found, next: Some(next) }),
            Some(next) => cursor = Some(next),
            None => return Ok(IncidentPage { incidents: found, next: None }),
        }
    }
}
