//! The embedded store: one redb file, laid out with the single-table keys of
//! [`crate::keys`] so it mirrors the DynamoDB table.
//!
//! Every multi-item operation runs in one redb write transaction. redb admits one writer
//! at a time, so each read-check-write (war-room guard, dedupe claim, token bucket,
//! version check) is atomic without conditional writes. Transactions run on tokio's
//! blocking pool because redb is synchronous.
//!
//! Files: `db` (opening, errors, transaction runner), `tx` (typed table access),
//! `records` (bookkeeping items), and one module per area of the `Store` port.

mod db;
mod dump;
mod ephemeral;
mod incidents;
mod integrations;
mod links;
mod newest;
mod records;
mod runbooks;
mod tenant_list;
mod tenants;
mod timeline;
mod tx;

#[cfg(test)]
mod file_tests;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use redb::Database;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use warroom_core::links::{LinkPage, LinkQuery};
use warroom_core::ratelimit::{BucketSpec, Take};
use warroom_core::runbook::{Runbook, RunbookId};
use warroom_core::{
    ApiKeyRecord, ChatId, ChatMessage, ChatRef, ImUserId, Incident, IncidentId, IncidentPage, Integration, IntegrationId, Member, MemberId, Newest, Platform,
    SourceRef, Store, StoreResult, Tenant, TenantId, TimelineEntry, Timestamp, UserLink,
};

/// The `Store` port on one local redb file. Cheap to clone; clones share the file.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    /// `None` for an in-memory store.
    path: Option<PathBuf>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").field("path", &self.path).finish()
    }
}

impl EmbeddedStore {
    /// Creates the file (and its directory) or opens an existing store. A file that is
    /// not a redb database gives `StoreError::Corrupt` naming the path; a file already
    /// open elsewhere gives `StoreError::Unavailable`.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<EmbeddedStore> {
        let path = path.as_ref();
        let db = db::open_file(path)?;
        Ok(Self { db: Arc::new(db), path: Some(path.to_path_buf()) })
    }

    /// A store in memory, gone when the last clone is dropped (tests).
    pub fn open_temporary() -> StoreResult<EmbeddedStore> {
        Ok(Self { db: Arc::new(db::open_in_memory()?), path: None })
    }

    /// The file behind the store; `None` if it lives in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Deletes dedupe claims, ephemeral values and buckets that expired by `now`.
    /// Reads already ignore them; this only reclaims space. Returns how many went.
    pub async fn purge_expired(&self, now: Timestamp) -> StoreResult<usize> {
        db::write(&self.db, move |tx| ephemeral::purge_expired(tx, now)).await
    }
}

// Each method clones its arguments into a 'static closure (the transaction runs on the
// blocking pool) and hands it to the module that owns that area.
#[async_trait]
impl Store for EmbeddedStore {
    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let tenant = tenant.clone();
        db::write(&self.db, move |tx| tenants::put_tenant(tx, &tenant)).await
    }
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<Tenant> {
        let tenant = tenant.clone();
        db::write(&self.db, move |tx| tenants::update_tenant(tx, &tenant)).await
    }
    async fn get_tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        let id = id.clone();
        db::read(&self.db, move |v| tenants::get_tenant(v, &id)).await
    }
    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        let key = key.clone();
        db::write(&self.db, move |tx| tenants::put_api_key(tx, &key)).await
    }
    async fn find_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let hash = key_hash.to_owned();
        db::read(&self.db, move |v| tenants::find_api_key(v, &hash)).await
    }
    async fn list_api_keys(&self, tenant: &TenantId) -> StoreResult<Vec<ApiKeyRecord>> {
        let tenant = tenant.clone();
        db::read(&self.db, move |v| tenants::list_api_keys(v, &tenant)).await
    }
    async fn delete_api_key(&self, tenant: &TenantId, key_hash: &str) -> StoreResult<()> {
        let (tenant, hash) = (tenant.clone(), key_hash.to_owned());
        db::write(&self.db, move |tx| tenants::delete_api_key(tx, &tenant, &hash)).await
    }

    async fn put_member(&self, member: &Member) -> StoreResult<()> {
        let member = member.clone();
        db::write(&self.db, move |tx| tenants::put_member(tx, &member)).await
    }
    async fn get_member(&self, tenant: &TenantId, id: &MemberId) -> StoreResult<Option<Member>> {
        let (tenant, id) = (tenant.clone(), id.clone());
        db::read(&self.db, move |v| tenants::get_member(v, &tenant, &id)).await
    }
    async fn list_members(&self, tenant: &TenantId) -> StoreResult<Vec<Member>> {
        let tenant = tenant.clone();
        db::read(&self.db, move |v| tenants::list_members(v, &tenant)).await
    }
    async fn delete_member(&self, tenant: &TenantId, id: &MemberId) -> StoreResult<()> {
        let (tenant, id) = (tenant.clone(), id.clone());
        db::write(&self.db, move |tx| tenants::delete_member(tx, &tenant, &id)).await
    }

    async fn create_integration(&self, integration: &Integration) -> StoreResult<()> {
        let integration = integration.clone();
        db::write(&self.db, move |tx| integrations::create_integration(tx, &integration)).await
    }
    async fn update_integration(&self, integration: &Integration) -> StoreResult<()> {
        let integration = integration.clone();
        db::write(&self.db, move |tx| integrations::update_integration(tx, &integration)).await
    }
    async fn get_integration(&self, id: &IntegrationId) -> StoreResult<Option<Integration>> {
        let id = id.clone();
        db::read(&self.db, move |v| integrations::get_integration(v, &id)).await
    }
    async fn find_integration_by_external(&self, platform: Platform, external_id: &str) -> StoreResult<Option<Integration>> {
        let external_id = external_id.to_owned();
        db::read(&self.db, move |v| integrations::find_integration_by_external(v, platform, &external_id)).await
    }
    async fn list_integrations(&self, tenant: &TenantId) -> StoreResult<Vec<Integration>> {
        let tenant = tenant.clone();
        db::read(&self.db, move |v| integrations::list_integrations(v, &tenant)).await
    }
    async fn delete_integration(&self, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
        let (tenant, id) = (tenant.clone(), id.clone());
        db::write(&self.db, move |tx| integrations::delete_integration(tx, &tenant, &id)).await
    }
    async fn enable_war_room(&self, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
        let (tenant, id) = (tenant.clone(), id.clone());
        db::write(&self.db, move |tx| integrations::enable_war_room(tx, &tenant, &id)).await
    }
    async fn disable_war_room(&self, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
        let (tenant, id) = (tenant.clone(), id.clone());
        db::write(&self.db, move |tx| integrations::disable_war_room(tx, &tenant, &id)).await
    }
    async fn war_room_integration(&self, tenant: &TenantId) -> StoreResult<Option<IntegrationId>> {
        let tenant = tenant.clone();
        db::read(&self.db, move |v| integrations::war_room_integration(v, &tenant)).await
    }

    async fn put_link(&self, link: &UserLink) -> StoreResult<()> {
        let link = link.clone();
        db::write(&self.db, move |tx| links::put_link(tx, &link)).await
    }
    async fn delete_link(&self, tenant: &TenantId, integration: &IntegrationId, member: &MemberId) -> StoreResult<()> {
        let (t, i, m) = (tenant.clone(), integration.clone(), member.clone());
        db::write(&self.db, move |tx| links::delete_link(tx, &t, &i, &m)).await
    }
    async fn link_by_member(&self, tenant: &TenantId, integration: &IntegrationId, member: &MemberId) -> StoreResult<Option<UserLink>> {
        let (t, i, m) = (tenant.clone(), integration.clone(), member.clone());
        db::read(&self.db, move |v| links::link_by_member(v, &t, &i, &m)).await
    }
    async fn link_by_im_user(&self, tenant: &TenantId, integration: &IntegrationId, user: &ImUserId) -> StoreResult<Option<UserLink>> {
        let (t, i, u) = (tenant.clone(), integration.clone(), user.clone());
        db::read(&self.db, move |v| links::link_by_im_user(v, &t, &i, &u)).await
    }
    async fn list_links(&self, tenant: &TenantId, integration: &IntegrationId, query: &LinkQuery) -> StoreResult<LinkPage> {
        let (t, i, q) = (tenant.clone(), integration.clone(), query.clone());
        db::read(&self.db, move |v| links::list_links(v, &t, &i, &q)).await
    }

    async fn create_incident(&self, incident: &Incident) -> StoreResult<Incident> {
        let incident = incident.clone();
        db::write(&self.db, move |tx| incidents::create_incident(tx, &incident)).await
    }
    async fn get_incident(&self, tenant: &TenantId, id: &IncidentId) -> StoreResult<Option<Incident>> {
        let (tenant, id) = (tenant.clone(), id.clone());
        db::read(&self.db, move |v| incidents::get_incident(v, &tenant, &id)).await
    }
    async fn find_incident_by_source(&self, tenant: &TenantId, source: &SourceRef) -> StoreResult<Option<Incident>> {
        let (tenant, source) = (tenant.clone(), source.clone());
        db::read(&self.db, move |v| incidents::find_incident_by_source(v, &tenant, &source)).await
    }
    async fn update_incident(&self, incident: &Incident) -> StoreResult<Incident> {
        let incident = incident.clone();
        db::write(&self.db, move |tx| incidents::update_incident(tx, &incident)).await
    }
    async fn list_incidents(&self, tenant: &TenantId, cursor: Option<&str>, limit: usize) -> StoreResult<IncidentPage> {
        let (tenant, cursor) = (tenant.clone(), cursor.map(str::to_owned));
        db::read(&self.db, move |v| incidents::list_incidents(v, &tenant, cursor.as_deref(), limit)).await
    }

    async fn append_timeline(&self, entry: &TimelineEntry) -> StoreResult<()> {
        let entry = entry.clone();
        db::write(&self.db, move |tx| timeline::append_timeline(tx, &entry)).await
    }
    async fn list_timeline(&self, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<TimelineEntry>> {
        let (tenant, incident) = (tenant.clone(), incident.clone());
        db::read(&self.db, move |v| timeline::list_timeline(v, &tenant, &incident)).await
    }
    async fn put_chat_ref(&self, chat: &ChatRef) -> StoreResult<()> {
        let chat = chat.clone();
        db::write(&self.db, move |tx| timeline::put_chat_ref(tx, &chat)).await
    }
    async fn find_chat(&self, integration: &IntegrationId, chat: &ChatId) -> StoreResult<Option<ChatRef>> {
        let (integration, chat) = (integration.clone(), chat.clone());
        db::read(&self.db, move |v| timeline::find_chat(v, &integration, &chat)).await
    }
    async fn append_chat_message(&self, tenant: &TenantId, incident: &IncidentId, message: &ChatMessage) -> StoreResult<()> {
        let (t, i, m) = (tenant.clone(), incident.clone(), message.clone());
        db::write(&self.db, move |tx| timeline::append_chat_message(tx, &t, &i, &m)).await
    }
    async fn list_chat_messages(&self, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<ChatMessage>> {
        let (tenant, incident) = (tenant.clone(), incident.clone());
        db::read(&self.db, move |v| timeline::list_chat_messages(v, &tenant, &incident)).await
    }
    async fn list_newest_timeline(&self, tenant: &TenantId, incident: &IncidentId, limit: usize) -> StoreResult<Newest<TimelineEntry>> {
        let (tenant, incident) = (tenant.clone(), incident.clone());
        db::read(&self.db, move |v| newest::list_newest_timeline(v, &tenant, &incident, limit)).await
    }
    async fn list_newest_chat_messages(&self, tenant: &TenantId, incident: &IncidentId, limit: usize) -> StoreResult<Newest<ChatMessage>> {
        let (tenant, incident) = (tenant.clone(), incident.clone());
        db::read(&self.db, move |v| newest::list_newest_chat_messages(v, &tenant, &incident, limit)).await
    }
    async fn get_chat_message(&self, tenant: &TenantId, incident: &IncidentId, message_id: &str) -> StoreResult<Option<ChatMessage>> {
        let (tenant, incident, id) = (tenant.clone(), incident.clone(), message_id.to_owned());
        db::read(&self.db, move |v| newest::get_chat_message(v, &tenant, &incident, &id)).await
    }
    async fn put_postmortem(&self, postmortem: &warroom_core::Postmortem) -> StoreResult<()> {
        let pm = postmortem.clone();
        db::write(&self.db, move |tx| timeline::put_postmortem(tx, &pm)).await
    }
    async fn list_postmortems(&self, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<warroom_core::Postmortem>> {
        let (tenant, incident) = (tenant.clone(), incident.clone());
        db::read(&self.db, move |v| timeline::list_postmortems(v, &tenant, &incident)).await
    }

    async fn put_runbook(&self, runbook: &Runbook) -> StoreResult<Runbook> {
        let runbook = runbook.clone();
        db::write(&self.db, move |tx| runbooks::put_runbook(tx, &runbook)).await
    }
    async fn get_runbook(&self, tenant: &TenantId, id: &RunbookId) -> StoreResult<Option<Runbook>> {
        let (tenant, id) = (tenant.clone(), id.clone());
        db::read(&self.db, move |v| runbooks::get_runbook(v, &tenant, &id)).await
    }
    async fn list_runbooks(&self, tenant: &TenantId) -> StoreResult<Vec<Runbook>> {
        let tenant = tenant.clone();
        db::read(&self.db, move |v| runbooks::list_runbooks(v, &tenant)).await
    }
    async fn delete_runbook(&self, tenant: &TenantId, id: &RunbookId) -> StoreResult<bool> {
        let (tenant, id) = (tenant.clone(), id.clone());
        db::write(&self.db, move |tx| runbooks::delete_runbook(tx, &tenant, &id)).await
    }

    async fn release_dedupe(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        db::write(&self.db, move |tx| tx.delete(&crate::keys::dedupe(&key)).map(|_| ())).await
    }
    async fn claim_dedupe(&self, key: &str, ttl: Duration, now: Timestamp) -> StoreResult<bool> {
        let key = key.to_owned();
        db::write_lazy(&self.db, move |tx| ephemeral::claim_dedupe(tx, &key, ttl, now)).await
    }
    async fn put_ephemeral(&self, key: &str, value: &str, ttl: Duration, now: Timestamp) -> StoreResult<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        db::write(&self.db, move |tx| ephemeral::put_ephemeral(tx, &key, &value, ttl, now)).await
    }
    async fn get_ephemeral(&self, key: &str, now: Timestamp) -> StoreResult<Option<String>> {
        let key = key.to_owned();
        db::read(&self.db, move |v| ephemeral::get_ephemeral(v, &key, now)).await
    }
    async fn take_ephemeral(&self, key: &str, now: Timestamp) -> StoreResult<Option<String>> {
        let key = key.to_owned();
        db::write(&self.db, move |tx| ephemeral::take_ephemeral(tx, &key, now)).await
    }
    async fn add_to_counter(&self, key: &str, by: u64, ttl: Duration, now: Timestamp) -> StoreResult<u64> {
        let key = key.to_owned();
        db::write(&self.db, move |tx| ephemeral::add_to_counter(tx, &key, by, ttl, now)).await
    }
    async fn take_tokens(&self, bucket: &BucketSpec, n: u32, now: Timestamp) -> StoreResult<Take> {
        let bucket = bucket.clone();
        db::write(&self.db, move |tx| ephemeral::take_tokens(tx, &bucket, n, now)).await
    }
    async fn reserve_tokens(&self, bucket: &BucketSpec, n: u32, now: Timestamp) -> StoreResult<Timestamp> {
        let bucket = bucket.clone();
        db::write(&self.db, move |tx| ephemeral::reserve_tokens(tx, &bucket, n, now)).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        db::read(&self.db, tenant_list::list_tenants).await
    }
}
