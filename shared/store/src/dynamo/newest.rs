//! The newest of an incident's timeline and transcript (a Query read backwards,
//! `ScanIndexForward=false`, with a `Limit`), and one captured message through its id
//! marker: what the assistant's jobs read, at a cost that does not grow with the history.

use super::codec::{decode, Item};
use super::ops::Query;
use super::DynamoStore;
use crate::keys::{self, PK};
use crate::messages::{first_of_each_id, MessageMarker};
use serde::de::DeserializeOwned;
use warroom_core::{ChatMessage, IncidentId, Newest, StoreResult, TenantId, TimelineEntry};

/// The last `limit` items under `prefix`, newest last. Asks for one more than `limit` to
/// learn whether older ones exist; follows a page only when DynamoDB cut one short (1 MB).
async fn last<T: DeserializeOwned>(store: &DynamoStore, pk: String, prefix: &str, limit: usize, what: &str) -> StoreResult<Newest<T>> {
    let want = limit.saturating_add(1);
    let mut q = Query { index: None, pk_attr: PK, pk, sk_prefix: Some(prefix), forward: false, limit: None, start: None };
    let mut items: Vec<Item> = Vec::new();
    loop {
        q.limit = Some(i32::try_from(want - items.len()).unwrap_or(i32::MAX));
        let (page, next) = store.query_page(&q).await?;
        items.extend(page);
        match next {
            Some(start) if items.len() < want => q.start = Some(start),
            _ => break,
        }
    }
    let older = items.len() > limit;
    items.truncate(limit);
    items.reverse();
    let items = items.into_iter().map(|item| decode(item, what)).collect::<StoreResult<Vec<T>>>()?;
    Ok(Newest { items, older })
}

pub(super) async fn list_newest_timeline(store: &DynamoStore, tenant: &TenantId, incident: &IncidentId, limit: usize) -> StoreResult<Newest<TimelineEntry>> {
    last(store, keys::incident_pk(tenant, incident), keys::TIMELINE_PREFIX, limit, "timeline entry").await
}

/// A legacy duplicate (see `crate::messages`) inside the window is listed once.
pub(super) async fn list_newest_chat_messages(store: &DynamoStore, tenant: &TenantId, incident: &IncidentId, limit: usize) -> StoreResult<Newest<ChatMessage>> {
    let newest: Newest<ChatMessage> = last(store, keys::incident_pk(tenant, incident), keys::MESSAGE_PREFIX, limit, "chat message").await?;
    Ok(Newest { items: first_of_each_id(newest.items), older: newest.older })
}

pub(super) async fn get_chat_message(store: &DynamoStore, tenant: &TenantId, incident: &IncidentId, message_id: &str) -> StoreResult<Option<ChatMessage>> {
    let marker = keys::chat_message_id(tenant, incident, message_id);
    let Some(marker) = store.get::<MessageMarker>(&marker, "chat message id marker").await? else { return Ok(None) };
    store.get(&keys::Key { pk: keys::incident_pk(tenant, incident), sk: marker.message_sk }, "chat message").await
}
