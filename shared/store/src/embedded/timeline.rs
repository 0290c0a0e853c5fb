//! Timeline entries, chat pointers and captured chat messages.

use super::tx::{View, WriteTx};
use crate::keys;
use warroom_core::{ChatId, ChatMessage, ChatRef, IncidentId, IntegrationId, StoreError, StoreResult, TenantId, TimelineEntry};

/// Append-only: an entry id already present is refused, never overwritten.
pub(super) fn append_timeline(tx: &mut WriteTx, entry: &TimelineEntry) -> StoreResult<()> {
    let key = keys::timeline(&entry.tenant_id, &entry.incident_id, &entry.id);
    if tx.get::<TimelineEntry>(&key)?.is_some() {
        return Err(StoreError::AlreadyExists { what: format!("timeline entry {}", entry.id) });
    }
    tx.put(&key, entry)
}

/// Oldest first: entry ids start with the zero-padded time.
pub(super) fn list_timeline(v: &impl View, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<TimelineEntry>> {
    v.scan(&keys::incident_pk(tenant, incident), keys::TIMELINE_PREFIX)
}

/// The chat pointer holds the whole `ChatRef` (tenant and incident); replaces any earlier one.
pub(super) fn put_chat_ref(tx: &mut WriteTx, chat: &ChatRef) -> StoreResult<()> {
    tx.put(&keys::chat_pointer(&chat.integration_id, &chat.chat_id), chat)
}

pub(super) fn find_chat(v: &impl View, integration: &IntegrationId, chat: &ChatId) -> StoreResult<Option<ChatRef>> {
    v.get(&keys::chat_pointer(integration, chat))
}

/// Stores the message once per message id, even if a redelivery carries another time
/// (the time is part of the key, so look for the id among the incident's messages).
pub(super) fn append_chat_message(tx: &mut WriteTx, tenant: &TenantId, incident: &IncidentId, message: &ChatMessage) -> StoreResult<()> {
    let pk = keys::incident_pk(tenant, incident);
    let known = tx.scan_keys(&pk, keys::MESSAGE_PREFIX)?.iter().any(|sk| message_id_of(sk) == Some(message.id.as_str()));
    if known {
        return Ok(());
    }
    tx.put(&keys::chat_message(tenant, incident, message.at.millis(), &message.id), message)
}

/// The message id in a sort key `MSG#{at}#{id}`: the time is all digits, so the first
/// `#` after it ends it even if the id itself contains `#`.
fn message_id_of(sk: &str) -> Option<&str> {
    let rest = sk.strip_prefix(keys::MESSAGE_PREFIX)?;
    let (at, id) = rest.split_once('#')?;
    at.bytes().all(|b| b.is_ascii_digit()).then_some(id)
}

/// Oldest first (sort key `MSG#{at:015}#{id}`).
pub(super) fn list_chat_messages(v: &impl View, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<ChatMessage>> {
    v.scan(&keys::incident_pk(tenant, incident), keys::MESSAGE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::message_id_of;

    #[test]
    fn message_ids_are_read_back_from_sort_keys_even_with_hashes_inside() {
        assert_eq!(message_id_of("MSG#000000000000005#om_1"), Some("om_1"));
        assert_eq!(message_id_of("MSG#000000000000005#a#b"), Some("a#b"));
        assert_eq!(message_id_of("TL#000000000000005#x"), None);
    }
}
