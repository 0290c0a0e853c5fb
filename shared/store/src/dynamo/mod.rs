//! The DynamoDB adapter of the `Store` port: one table laid out as [`crate::keys`] says.
//!
//! Every multi-item invariant (an integration and its pointers, the war-room guard and
//! the flag, an incident and its source index, both directions of a link) is written in
//! one `TransactWriteItems`; single-item races use condition expressions, so nothing
//! here needs a lock. Reads are strongly consistent except through the GSI.
//!
//! Modules, by responsibility: `errors` (SDK failures → `StoreError`), `codec` (items
//! and expressions), `ops` (the SDK calls), `table` (creating the table), then one
//! module per group of entities.
//!
//! Emulators (moto) differ from DynamoDB in two ways that matter here: TTL is never
//! enforced (expiry is decided on read, see `ephemeral`), and concurrent requests are
//! not isolated (a cancelled transaction restores a whole-table snapshot, undoing
//! writes committed meanwhile), so concurrency tests need moto to run DynamoDB
//! requests one at a time.

mod codec;
mod ephemeral;
mod errors;
mod incidents;
mod integrations;
mod links;
mod newest;
mod ops;
mod runbooks;
mod table;
mod tenancy;
mod tenant_scan;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use std::time::Duration;
use warroom_core::links::{LinkPage, LinkQuery};
use warroom_core::ratelimit::{BucketSpec, Take};
use warroom_core::runbook::{Runbook, RunbookId};
use warroom_core::{
    ApiKeyRecord, ChatId, ChatMessage, ChatRef, ImUserId, Incident, IncidentId, IncidentPage, Integration, IntegrationId, Member, MemberId, Newest, Platform,
    SourceRef, Store, StoreError, StoreResult, Tenant, TenantId, TimelineEntry, Timestamp, UserLink,
};

/// The `Store` on one DynamoDB table. Cheap to clone: the SDK client is shared.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Creates the table as template.yaml defines it (PK/SK strings, GSI1 on
    /// GSI1PK/GSI1SK with ALL projection, on-demand billing) and enables TTL on
    /// `expires_at`. Waits until ACTIVE. Used by tests and local setups; an existing
    /// table of that name is accepted as is.
    pub async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), StoreError> {
        table::create(client, table).await
    }

    /// The table this store writes to.
    pub fn table(&self) -> &str {
        &self.table
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        tenancy::put_tenant(self, tenant).await
    }
    async fn get_tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        tenancy::get_tenant(self, id).await
    }
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<Tenant> {
        tenancy::update_tenant(self, tenant).await
    }
    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        tenancy::put_api_key(self, key).await
    }
    async fn find_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        tenancy::find_api_key(self, key_hash).await
    }
    async fn list_api_keys(&self, tenant: &TenantId) -> StoreResult<Vec<ApiKeyRecord>> {
        tenancy::list_api_keys(self, tenant).await
    }
    async fn delete_api_key(&self, tenant: &TenantId, key_hash: &str) -> StoreResult<()> {
        tenancy::delete_api_key(self, tenant, key_hash).await
    }

    async fn put_member(&self, member: &Member) -> StoreResult<()> {
        tenancy::put_member(self, member).await
    }
    async fn get_member(&self, tenant: &TenantId, id: &MemberId) -> StoreResult<Option<Member>> {
        tenancy::get_member(self, tenant, id).await
    }
    async fn list_members(&self, tenant: &TenantId) -> StoreResult<Vec<Member>> {
        tenancy::list_members(self, tenant).await
    }
    async fn delete_member(&self, tenant: &TenantId, id: &MemberId) -> StoreResult<()> {
        tenancy::delete_member(self, tenant, id).await
    }

    async fn create_integration(&self, integration: &Integration) -> StoreResult<()> {
        integrations::create(self, integration).await
    }
    async fn update_integration(&self, integration: &Integration) -> StoreResult<()> {
        integrations::update(self, integration).await
    }
    async fn get_integration(&self, id: &IntegrationId) -> StoreResult<Option<Integration>> {
        integrations::get(self, id).await
    }
    async fn find_integration_by_external(&self, platform: Platform, external_id: &str) -> StoreResult<Option<Integration>> {
        integrations::find_by_external(self, platform, external_id).await
    }
    async fn list_integrations(&self, tenant: &TenantId) -> StoreResult<Vec<Integration>> {
        integrations::list(self, tenant).await
    }
    async fn delete_integration(&self, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
        integrations::delete(self, tenant, id).await
    }
    async fn enable_war_room(&self, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
        integrations::enable_war_room(self, tenant, id).await
    }
    async fn disable_war_room(&self, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
        integrations::disable_war_room(self, tenant, id).await
    }
    async fn war_room_integration(&self, tenant: &TenantId) -> StoreResult<Option<IntegrationId>> {
        integrations::war_room_holder(self, tenant).await
    }

    async fn put_link(&self, link: &UserLink) -> StoreResult<()> {
        links::put(self, link).await
    }
    async fn delete_link(&self, tenant: &TenantId, integration: &IntegrationId, member: &MemberId) -> StoreResult<()> {
        links::delete(self, tenant, integration, member).await
    }
    async fn link_by_member(&self, tenant: &TenantId, integration: &IntegrationId, member: &MemberId) -> StoreResult<Option<UserLink>> {
        links::by_member(self, tenant, integration, member).await
    }
    async fn link_by_im_user(&self, tenant: &TenantId, integration: &IntegrationId, user: &ImUserId) -> StoreResult<Option<UserLink>> {
        links::by_im_user(self, tenant, integration, user).await
    }
    async fn list_links(&self, tenant: &TenantId, integration: &IntegrationId, query: &LinkQuery) -> StoreResult<LinkPage> {
        links::list(self, tenant, integration, query).await
    }

    async fn create_incident(&self, incident: &Incident) -> StoreResult<Incident> {
        incidents::create(self, incident).await
    }
    async fn get_incident(&self, tenant: &TenantId, id: &IncidentId) -> StoreResult<Option<Incident>> {
        incidents::get(self, tenant, id).await
    }
    async fn find_incident_by_source(&self, tenant: &TenantId, source: &SourceRef) -> StoreResult<Option<Incident>> {
        incidents::find_by_source(self, tenant, source).await
    }
    async fn update_incident(&self, incident: &Incident) -> StoreResult<Incident> {
        incidents::update(self, incident).await
    }
    async fn list_incidents(&self, tenant: &TenantId, cursor: Option<&str>, limit: usize) -> StoreResult<IncidentPage> {
        incidents::list(self, tenant, cursor, limit).await
    }

    async fn append_timeline(&self, entry: &TimelineEntry) -> StoreResult<()> {
        incidents::append_timeline(self, entry).await
    }
    async fn list_timeline(&self, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<TimelineEntry>> {
        incidents::list_timeline(self, tenant, incident).await
    }
    async fn put_chat_ref(&self, chat: &ChatRef) -> StoreResult<()> {
        incidents::put_chat_ref(self, chat).await
    }
    async fn find_chat(&self, integration: &IntegrationId, chat: &ChatId) -> StoreResult<Option<ChatRef>> {
        incidents::find_chat(self, integration, chat).await
    }
    async fn append_chat_message(&self, tenant: &TenantId, incident: &IncidentId, message: &ChatMessage) -> StoreResult<()> {
        incidents::append_chat_message(self, tenant, incident, message).await
    }
    async fn list_chat_messages(&self, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<ChatMessage>> {
        incidents::list_chat_messages(self, tenant, incident).await
    }
    async fn list_newest_timeline(&self, tenant: &TenantId, incident: &IncidentId, limit: usize) -> StoreResult<Newest<TimelineEntry>> {
        newest::list_newest_timeline(self, tenant, incident, limit).await
    }
    async fn list_newest_chat_messages(&self, tenant: &TenantId, incident: &IncidentId, limit: usize) -> StoreResult<Newest<ChatMessage>> {
        newest::list_newest_chat_messages(self, tenant, incident, limit).await
    }
    async fn get_chat_message(&self, tenant: &TenantId, incident: &IncidentId, message_id: &str) -> StoreResult<Option<ChatMessage>> {
        newest::get_chat_message(self, tenant, incident, message_id).await
    }
    async fn put_postmortem(&self, postmortem: &warroom_core::Postmortem) -> StoreResult<()> {
        incidents::put_postmortem(self, postmortem).await
    }
    async fn list_postmortems(&self, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<warroom_core::Postmortem>> {
        incidents::list_postmortems(self, tenant, incident).await
    }

    async fn put_runbook(&self, runbook: &Runbook) -> StoreResult<Runbook> {
        runbooks::put(self, runbook).await
    }
    async fn get_runbook(&self, tenant: &TenantId, id: &RunbookId) -> StoreResult<Option<Runbook>> {
        runbooks::get(self, tenant, id).await
    }
    async fn list_runbooks(&self, tenant: &TenantId) -> StoreResult<Vec<Runbook>> {
        runbooks::list(self, tenant).await
    }
    async fn delete_runbook(&self, tenant: &TenantId, id: &RunbookId) -> StoreResult<bool> {
        runbooks::delete(self, tenant, id).await
    }

    async fn release_dedupe(&self, key: &str) -> StoreResult<()> {
        self.delete_all(vec![crate::keys::dedupe(key)]).await
    }
    async fn claim_dedupe(&self, key: &str, ttl: Duration, now: Timestamp) -> StoreResult<bool> {
        ephemeral::claim_dedupe(self, key, ttl, now).await
    }
    async fn put_ephemeral(&self, key: &str, value: &str, ttl: Duration, now: Timestamp) -> StoreResult<()> {
        ephemeral::put(self, key, value, ttl, now).await
    }
    async fn get_ephemeral(&self, key: &str, now: Timestamp) -> StoreResult<Option<String>> {
        ephemeral::get(self, key, now).await
    }
    async fn take_ephemeral(&self, key: &str, now: Timestamp) -> StoreResult<Option<String>> {
        ephemeral::take(self, key, now).await
    }
    async fn add_to_counter(&self, key: &str, by: u64, ttl: Duration, now: Timestamp) -> StoreResult<u64> {
        ephemeral::add_to_counter(self, key, by, ttl, now).await
    }
    async fn take_tokens(&self, bucket: &BucketSpec, n: u32, now: Timestamp) -> StoreResult<Take> {
        ephemeral::take_tokens(self, bucket, n, now).await
    }
    async fn reserve_tokens(&self, bucket: &BucketSpec, n: u32, now: Timestamp) -> StoreResult<Timestamp> {
        ephemeral::reserve_tokens(self, bucket, n, now).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        tenant_scan::list_tenants(self).await
    }
}
