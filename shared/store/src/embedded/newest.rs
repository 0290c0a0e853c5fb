//! The newest of an incident's timeline and transcript, read backwards from their end,
//! and one captured message by id: what the assistant's jobs read, at a cost that does not
//! grow with the room's history.

use super::tx::View;
use crate::keys;
use crate::messages::{first_of_each_id, MessageMarker};
use warroom_core::{ChatMessage, IncidentId, Newest, StoreResult, TenantId, TimelineEntry};

pub(super) fn list_newest_timeline(v: &impl View, tenant: &TenantId, incident: &IncidentId, limit: usize) -> StoreResult<Newest<TimelineEntry>> {
    let (items, older) = v.scan_last(&keys::incident_pk(tenant, incident), keys::TIMELINE_PREFIX, limit)?;
    Ok(Newest { items, older })
}

/// A legacy duplicate (see `crate::messages`) inside the window is listed once.
pub(super) fn list_newest_chat_messages(v: &impl View, tenant: &TenantId, incident: &IncidentId, limit: usize) -> StoreResult<Newest<ChatMessage>> {
    let (items, older) = v.scan_last(&keys::incident_pk(tenant, incident), keys::MESSAGE_PREFIX, limit)?;
    Ok(Newest { items: first_of_each_id(items), older })
}

pub(super) fn get_chat_message(v: &impl View, tenant: &TenantId, incident: &IncidentId, message_id: &str) -> StoreResult<Option<ChatMessage>> {
    let Some(marker) = v.get::<MessageMarker>(&keys::chat_message_id(tenant, incident, message_id))? else { return Ok(None) };
    v.get(&keys::Key { pk: keys::incident_pk(tenant, incident), sk: marker.message_sk })
}
