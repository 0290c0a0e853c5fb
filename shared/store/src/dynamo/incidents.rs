//! Incidents (with their source index and the GSI listing), the timeline, chat pointers
//! and captured chat messages. An incident's item, timeline and messages share one
//! partition.

use super::codec::{decode, entity_item, n, s, Expr, Item};
use super::ops::{Query, Tx, Written};
use super::DynamoStore;
use crate::keys::{self, Key, GSI1, GSI1PK, GSI1SK, PK, SK};
use crate::messages::{first_of_each_id, MessageMarker};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use warroom_core::links::MAX_PAGE;
use warroom_core::{
    ChatId, ChatMessage, ChatRef, Incident, IncidentId, IncidentPage, IntegrationId, Postmortem, SourceRef, StoreError, StoreResult, TenantId, TimelineEntry,
};

const VERSION: &str = "version";

/// The source index: which incident a (source, external id) belongs to.
#[derive(Serialize, Deserialize)]
struct SourceIndex {
    tenant_id: TenantId,
    incident_id: IncidentId,
}

/// The incident's item with its GSI1 attributes, which list a tenant's incidents by
/// creation time. A `Put` replaces the whole item, so every write goes through here.
fn incident_item(incident: &Incident) -> StoreResult<Item> {
    let key = keys::incident(&incident.tenant_id, &incident.id);
    let mut item = entity_item(incident, &key, "incident")?;
    let gsi = keys::incident_gsi(&incident.tenant_id, &incident.id, incident.created_at.millis());
    item.insert(GSI1PK.to_owned(), s(gsi.pk));
    item.insert(GSI1SK.to_owned(), s(gsi.sk));
    Ok(item)
}

pub(super) async fn create(store: &DynamoStore, incident: &Incident) -> StoreResult<Incident> {
    let created = Incident { version: 1, ..incident.clone() };
    let index = SourceIndex { tenant_id: created.tenant_id.clone(), incident_id: created.id.clone() };
    let index_key = keys::incident_source(&created.tenant_id, &created.source.source, &created.source.external_id);
    let actions = vec![
        store.tx_put(incident_item(&created)?, Some(Expr::absent()))?,
        store.tx_put(entity_item(&index, &index_key, "incident_source")?, Some(Expr::absent()))?,
    ];
    match store.transact(actions).await? {
        Tx::Committed => Ok(created),
        Tx::ConditionFailed(codes) if Tx::failed_at(&codes, 1) => {
            Err(StoreError::AlreadyExists { what: format!("incident for {}/{}", created.source.source, created.source.external_id) })
        }
        Tx::ConditionFailed(_) => Err(StoreError::AlreadyExists { what: format!("incident {}", created.id) }),
    }
}

pub(super) async fn get(store: &DynamoStore, tenant: &TenantId, id: &IncidentId) -> StoreResult<Option<Incident>> {
    store.get(&keys::incident(tenant, id), "incident").await
}

pub(super) async fn find_by_source(store: &DynamoStore, tenant: &TenantId, source: &SourceRef) -> StoreResult<Option<Incident>> {
    let key = keys::incident_source(tenant, &source.source, &source.external_id);
    let Some(index) = store.get::<SourceIndex>(&key, "incident source index").await? else {
        return Ok(None);
    };
    get(store, tenant, &index.incident_id).await
}

/// Optimistic concurrency: written only while the stored version is the caller's.
pub(super) async fn update(store: &DynamoStore, incident: &Incident) -> StoreResult<Incident> {
    let expected = incident.version;
    let next = Incident { version: expected.saturating_add(1), ..incident.clone() };
    let same_version = Expr::when("#v = :expected").name("#v", VERSION).value(":expected", n(expected as i64));
    match store.put_item(incident_item(&next)?, Some(same_version)).await? {
        Written::Done(()) => Ok(next),
        Written::ConditionFailed(Some(_)) => Err(StoreError::VersionConflict { expected }),
        // DynamoDB returns the old item only when there is one, but not every emulator
        // does: read to tell "moved on" from "gone".
        Written::ConditionFailed(None) => match get(store, &incident.tenant_id, &incident.id).await? {
            Some(_) => Err(StoreError::VersionConflict { expected }),
            None => Err(StoreError::not_found(format!("incident {}", incident.id))),
        },
    }
}

/// Newest first through GSI1. Asks for one item more than the page so `next` is `None`
/// exactly on the last page.
pub(super) async fn list(store: &DynamoStore, tenant: &TenantId, cursor: Option<&str>, limit: usize) -> StoreResult<IncidentPage> {
    let limit = limit.clamp(1, MAX_PAGE);
    let mut q = Query {
        index: Some(GSI1),
        pk_attr: GSI1PK,
        pk: keys::incidents_gsi_pk(tenant),
        sk_prefix: None,
        forward: false,
        limit: None,
        start: cursor.map(|c| start_key(tenant, c)).transpose()?,
    };
    let mut items = Vec::new();
    loop {
        q.limit = Some((limit + 1 - items.len()) as i32);
        let (page, next) = store.query_page(&q).await?;
        items.extend(page);
        match next {
            Some(start) if items.len() <= limit => q.start = Some(start),
            _ => break,
        }
    }
    let next = if items.len() > limit {
        items.truncate(limit);
        let last = items.last().and_then(|item| item.get(GSI1SK)).and_then(|v| v.as_s().ok());
        Some(crate::cursor::encode(last.ok_or_else(|| StoreError::Corrupt("incident without GSI1SK".into()))?)?)
    } else {
        None
    };
    let incidents = items.into_iter().map(|item| decode(item, "incident")).collect::<StoreResult<_>>()?;
    Ok(IncidentPage { incidents, next })
}

/// Rebuilds the GSI's `ExclusiveStartKey` from a cursor (see `crate::cursor`): the last
/// GSI1SK (`{created:015}#{id}`), from which the table key is derivable too. DynamoDB takes
/// a start key whose item does not exist as a position in the index.
fn start_key(tenant: &TenantId, cursor: &str) -> StoreResult<Item> {
    let gsi1sk = crate::cursor::decode(cursor)?;
    let (_, id) = gsi1sk.split_once('#').ok_or_else(|| StoreError::Invalid("malformed incident list cursor".into()))?;
    let Key { pk, sk } = keys::incident(tenant, &IncidentId::new(id));
    Ok(HashMap::from([
        (PK.to_owned(), s(pk)),
        (SK.to_owned(), s(sk)),
        (GSI1PK.to_owned(), s(keys::incidents_gsi_pk(tenant))),
        (GSI1SK.to_owned(), s(gsi1sk.clone())),
    ]))
}

pub(super) async fn append_timeline(store: &DynamoStore, entry: &TimelineEntry) -> StoreResult<()> {
    let key = keys::timeline(&entry.tenant_id, &entry.incident_id, &entry.id);
    match store.put_item(entity_item(entry, &key, "timeline")?, Some(Expr::absent())).await? {
        Written::Done(()) => Ok(()),
        Written::ConditionFailed(_) => Err(StoreError::AlreadyExists { what: format!("timeline entry {}", entry.id) }),
    }
}

pub(super) async fn list_timeline(store: &DynamoStore, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<TimelineEntry>> {
    store.query_all_as(keys::incident_pk(tenant, incident), keys::TIMELINE_PREFIX, "timeline entry").await
}

pub(super) async fn put_chat_ref(store: &DynamoStore, chat: &ChatRef) -> StoreResult<()> {
    store.put(entity_item(chat, &keys::chat_pointer(&chat.integration_id, &chat.chat_id), "chat_pointer")?).await
}

pub(super) async fn find_chat(store: &DynamoStore, integration: &IntegrationId, chat: &ChatId) -> StoreResult<Option<ChatRef>> {
    store.get(&keys::chat_pointer(integration, chat), "chat pointer").await
}

/// Stored once per message id, whatever time a redelivery carries: the message and its
/// id marker go in one transaction, the marker only if absent (see `crate::messages`).
/// The message's own condition keeps a pre-marker item captured at the same time.
pub(super) async fn append_chat_message(store: &DynamoStore, tenant: &TenantId, incident: &IncidentId, message: &ChatMessage) -> StoreResult<()> {
    let key = keys::chat_message(tenant, incident, message.at.millis(), &message.id);
    let marker = MessageMarker { message_sk: key.sk.clone() };
    let actions = vec![
        store.tx_put(entity_item(&marker, &keys::chat_message_id(tenant, incident, &message.id), "chat_message_id")?, Some(Expr::absent()))?,
        store.tx_put(entity_item(message, &key, "chat_message")?, Some(Expr::absent()))?,
    ];
    match store.transact(actions).await? {
        // Either condition failing means this id is already captured: a redelivery is fine.
        Tx::Committed | Tx::ConditionFailed(_) => Ok(()),
    }
}

/// A new version only: the condition refuses one already stored.
pub(super) async fn put_postmortem(store: &DynamoStore, pm: &Postmortem) -> StoreResult<()> {
    let key = keys::postmortem(&pm.tenant_id, &pm.incident_id, pm.version);
    match store.put_item(entity_item(pm, &key, "postmortem")?, Some(Expr::absent())).await? {
        Written::Done(()) => Ok(()),
        Written::ConditionFailed(_) => Err(StoreError::AlreadyExists { what: format!("post-mortem version {} of {}", pm.version, pm.incident_id) }),
    }
}

pub(super) async fn list_postmortems(store: &DynamoStore, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<Postmortem>> {
    store.query_all_as(keys::incident_pk(tenant, incident), keys::POSTMORTEM_PREFIX, "post-mortem").await
}

/// Oldest first (time, then id), one item per message id.
pub(super) async fn list_chat_messages(store: &DynamoStore, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<ChatMessage>> {
    Ok(first_of_each_id(store.query_all_as(keys::incident_pk(tenant, incident), keys::MESSAGE_PREFIX, "chat message").await?))
}

#[cfg(test)]
mod cursor_tests {
    use super::*;

    #[test]
    fn cursors_rebuild_the_start_key() {
        let t = TenantId::from("acme");
        let sk = keys::incident_gsi(&t, &"inc_1".into(), 42).sk;
        let key = start_key(&t, &crate::cursor::encode(&sk).unwrap()).unwrap();
        assert_eq!(key[GSI1SK].as_s().unwrap(), &sk);
        assert_eq!(key[PK].as_s().unwrap(), &keys::incident_pk(&t, &"inc_1".into()));
    }

    #[test]
    fn malformed_cursors_are_invalid() {
        let t = TenantId::from("acme");
        for bad in ["zz", "abc", "000000000000042#inc_1", "12.inc_1"] {
            assert!(matches!(start_key(&t, bad), Err(StoreError::Invalid(_))), "{bad}");
        }
    }
}
