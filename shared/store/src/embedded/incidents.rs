//! Incidents: the item, its source index and its GSI1 entry, always written together.

use super::records::SourceIndex;
use super::tx::{View, WriteTx};
use crate::keys::{self, Key};
use redb::ReadableTable;
use warroom_core::links::MAX_PAGE;
use warroom_core::{Incident, IncidentId, IncidentPage, SourceRef, StoreError, StoreResult, TenantId};

fn source_key(tenant: &TenantId, source: &SourceRef) -> Key {
    keys::incident_source(tenant, &source.source, &source.external_id)
}

fn gsi_key(i: &Incident) -> Key {
    keys::incident_gsi(&i.tenant_id, &i.id, i.created_at.millis())
}

fn source_what(source: &SourceRef) -> String {
    format!("incident for {} {}", source.source, source.external_id)
}

/// Stores the incident at version 1 with its source index and listing entry.
pub(super) fn create_incident(tx: &mut WriteTx, incident: &Incident) -> StoreResult<Incident> {
    let t = &incident.tenant_id;
    let source = source_key(t, &incident.source);
    if tx.get::<SourceIndex>(&source)?.is_some() {
        return Err(StoreError::AlreadyExists { what: source_what(&incident.source) });
    }
    let key = keys::incident(t, &incident.id);
    if tx.get::<Incident>(&key)?.is_some() {
        return Err(StoreError::AlreadyExists { what: format!("incident {}", incident.id) });
    }
    let mut created = incident.clone();
    created.version = 1;
    tx.put(&key, &created)?;
    tx.put(&source, &SourceIndex { incident_id: created.id.clone() })?;
    tx.put_gsi(&gsi_key(&created), &key)?;
    Ok(created)
}

pub(super) fn get_incident(v: &impl View, tenant: &TenantId, id: &IncidentId) -> StoreResult<Option<Incident>> {
    v.get(&keys::incident(tenant, id))
}

pub(super) fn find_incident_by_source(v: &impl View, tenant: &TenantId, source: &SourceRef) -> StoreResult<Option<Incident>> {
    let Some(index) = v.get::<SourceIndex>(&source_key(tenant, source))? else {
        return Ok(None);
    };
    // The index key joins source and external id with `#`, so two different refs could
    // share it; only the incident that really has this source answers.
    Ok(get_incident(v, tenant, &index.incident_id)?.filter(|i| i.source == *source))
}

/// Optimistic update: writes only if the stored version is `incident.version`, then
/// returns the incident at the next version. Keeps the source index and the listing
/// entry in step if the caller changed the source or the creation time.
pub(super) fn update_incident(tx: &mut WriteTx, incident: &Incident) -> StoreResult<Incident> {
    let key = keys::incident(&incident.tenant_id, &incident.id);
    let Some(stored) = tx.get::<Incident>(&key)? else {
        return Err(StoreError::not_found(format!("incident {}", incident.id)));
    };
    if stored.version != incident.version {
        return Err(StoreError::VersionConflict { expected: incident.version });
    }
    let mut next = incident.clone();
    next.version = stored.version.checked_add(1).ok_or_else(|| StoreError::Corrupt(format!("incident {} is at the largest version", incident.id)))?;

    if stored.source != next.source {
        let t = &next.tenant_id;
        let new_source = source_key(t, &next.source);
        if tx.get::<SourceIndex>(&new_source)?.is_some_and(|s| s.incident_id != next.id) {
            return Err(StoreError::AlreadyExists { what: source_what(&next.source) });
        }
        let old_source = source_key(t, &stored.source);
        if tx.get::<SourceIndex>(&old_source)?.is_some_and(|s| s.incident_id == next.id) {
            tx.delete(&old_source)?;
        }
        tx.put(&new_source, &SourceIndex { incident_id: next.id.clone() })?;
    }
    let (old_gsi, new_gsi) = (gsi_key(&stored), gsi_key(&next));
    if old_gsi != new_gsi {
        tx.delete_gsi(&old_gsi)?;
        tx.put_gsi(&new_gsi, &key)?;
    }
    tx.put(&key, &next)?;
    Ok(next)
}

/// Newest first through GSI1 (sort key `{created:015}#{id}`). The cursor is the last
/// sort key of the previous page; the next page starts strictly before it.
pub(super) fn list_incidents(v: &impl View, tenant: &TenantId, cursor: Option<&str>, limit: usize) -> StoreResult<IncidentPage> {
    let cursor = cursor.map(crate::cursor::decode).transpose()?;
    let cursor = cursor.as_deref();
    let limit = limit.clamp(1, MAX_PAGE);
    let pk = keys::incidents_gsi_pk(tenant);
    // The smallest partition key after `pk`: every (pk, _) sorts before (pk + "\0", "").
    let after_pk = format!("{pk}\0");
    let upper = match cursor {
        Some(c) => (pk.as_str(), c),
        None => (after_pk.as_str(), ""),
    };
    let mut incidents = Vec::with_capacity(limit);
    let mut last_sk: Option<String> = None;
    let mut more = false;
    for entry in v.gsi().range((pk.as_str(), "")..upper).map_err(super::db::db_err)?.rev() {
        let (gsi, target) = entry.map_err(super::db::db_err)?;
        if incidents.len() == limit {
            more = true; // one beyond the page: there is a next page
            break;
        }
        let (target_pk, target_sk) = target.value();
        let target = Key { pk: target_pk.to_owned(), sk: target_sk.to_owned() };
        match v.get::<Incident>(&target)? {
            Some(incident) => incidents.push(incident),
            // Written in one transaction with the item, so this means tampering; skip it
            // rather than fail the whole listing.
            None => tracing::warn!(pk = %target.pk, "incident index entry points at a missing item"),
        }
        last_sk = Some(gsi.value().1.to_owned());
    }
    let next = match last_sk.filter(|_| more) {
        Some(sk) => Some(crate::cursor::encode(&sk)?),
        None => None,
    };
    Ok(IncidentPage { incidents, next })
}
