//! Timeline entries, chat pointers and captured chat messages.

use super::tx::{View, WriteTx};
use crate::keys;
use crate::messages::{first_of_each_id, MessageMarker};
use serde::de::IgnoredAny;
use warroom_core::{ChatId, ChatMessage, ChatRef, IncidentId, IntegrationId, Postmortem, StoreError, StoreResult, TenantId, TimelineEntry};

/// Append-only: an entry id already present is refused, never overwritten.
pub(super) fn append_timeline(tx: &mut WriteTx, entry: &TimelineEntry) -> StoreResult<()> {
    let key = keys::timeline(&entry.tenant_id, &entry.incident_id, &entry.id);
    if tx.get_stored::<IgnoredAny>(&key)?.is_some() {
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

/// Stores the message once per message id, even if a redelivery carries another time:
/// the id's marker is checked and written in this transaction (a point read, whatever
/// the room's history; see `crate::messages`).
pub(super) fn append_chat_message(tx: &mut WriteTx, tenant: &TenantId, incident: &IncidentId, message: &ChatMessage) -> StoreResult<()> {
    let marker = keys::chat_message_id(tenant, incident, &message.id);
    if tx.get_stored::<IgnoredAny>(&marker)?.is_some() {
        return Ok(());
    }
    let key = keys::chat_message(tenant, incident, message.at.millis(), &message.id);
    // Captured before markers existed, at the same time: keep the first, mark it now.
    if tx.get_stored::<IgnoredAny>(&key)?.is_none() {
        tx.put(&key, message)?;
    }
    tx.put(&marker, &MessageMarker { message_sk: key.sk })
}

/// A new version only, like a timeline entry.
pub(super) fn put_postmortem(tx: &mut WriteTx, pm: &Postmortem) -> StoreResult<()> {
    let key = keys::postmortem(&pm.tenant_id, &pm.incident_id, pm.version);
    if tx.get_stored::<IgnoredAny>(&key)?.is_some() {
        return Err(StoreError::AlreadyExists { what: format!("post-mortem version {} of {}", pm.version, pm.incident_id) });
    }
    tx.put(&key, pm)
}

pub(super) fn list_postmortems(v: &impl View, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<Postmortem>> {
    v.scan(&keys::incident_pk(tenant, incident), keys::POSTMORTEM_PREFIX)
}

/// Oldest first (sort key `MSG#{at:015}#{id}`), one item per message id.
pub(super) fn list_chat_messages(v: &impl View, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<ChatMessage>> {
    Ok(first_of_each_id(v.scan(&keys::incident_pk(tenant, incident), keys::MESSAGE_PREFIX)?))
}

#[cfg(test)]
mod tests {
    use super::super::{db, EmbeddedStore};
    use crate::keys;
    use warroom_core::{ChatMessage, Store, TenantId, Timestamp};

    fn msg(id: &str, at: i64) -> ChatMessage {
        ChatMessage { id: id.into(), at: Timestamp(at), author: "U1".into(), text: format!("{id} at {at}") }
    }

    /// A store written before the id markers: messages under `MSG#{at}#{id}` only.
    async fn with_legacy_message(m: ChatMessage) -> (EmbeddedStore, TenantId) {
        let store = EmbeddedStore::open_temporary().unwrap();
        let t = TenantId::from("acme");
        let key = keys::chat_message(&t, &"inc".into(), m.at.millis(), &m.id);
        db::write(&store.db, move |tx| tx.put(&key, &m)).await.unwrap();
        (store, t)
    }

    #[tokio::test]
    async fn a_message_captured_before_the_markers_is_listed_and_its_redeliveries_are_not_stored_twice() {
        let (store, t) = with_legacy_message(msg("old", 10)).await;
        store.append_chat_message(&t, &"inc".into(), &msg("old", 10)).await.unwrap();
        store.append_chat_message(&t, &"inc".into(), &msg("old", 99)).await.unwrap();
        store.append_chat_message(&t, &"inc".into(), &msg("new", 20)).await.unwrap();
        assert_eq!(store.list_chat_messages(&t, &"inc".into()).await.unwrap(), vec![msg("old", 10), msg("new", 20)]);
        let items = store.dump().await.unwrap();
        assert_eq!(items.iter().filter(|(_, sk, _)| sk.starts_with(keys::MESSAGE_PREFIX)).count(), 2, "{items:?}");
    }

    #[tokio::test]
    async fn a_message_captured_before_the_markers_and_redelivered_at_another_time_is_still_listed_once() {
        let (store, t) = with_legacy_message(msg("old", 10)).await;
        store.append_chat_message(&t, &"inc".into(), &msg("old", 5)).await.unwrap();
        assert_eq!(store.list_chat_messages(&t, &"inc".into()).await.unwrap(), vec![msg("old", 5)], "the oldest copy stands for the id");
    }
}
