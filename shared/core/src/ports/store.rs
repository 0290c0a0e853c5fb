//! The `Store` port: everything the engine persists. Adapters: DynamoDB and an
//! embedded single-file store (crate `warroom-store`); one conformance suite checks both.

use crate::ids::{ChatId, ImUserId, IncidentId, IntegrationId, MemberId, TenantId};
use crate::incident::{Incident, SourceRef};
use crate::integration::{Integration, Platform, UserLink};
use crate::links::{LinkPage, LinkQuery};
use crate::ratelimit::{BucketSpec, Take};
use crate::tenant::{ApiKeyRecord, Member, Tenant};
use crate::time::Timestamp;
use crate::timeline::TimelineEntry;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{what} already exists")]
    AlreadyExists { what: String },
    /// Someone else updated the item first: re-read and retry the whole decision.
    #[error("version conflict: expected version {expected}, the stored item has moved on")]
    VersionConflict { expected: u64 },
    #[error("war room is already enabled on integration {integration_id}; disable it there first")]
    WarRoomTaken { integration_id: IntegrationId },
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The backend failed (throttled, timed out, unreachable).
    #[error("store unavailable: {message}")]
    Unavailable { message: String, retryable: bool },
    /// Stored data could not be read back: a bug or manual tampering; not retryable.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::VersionConflict { .. } => true,
            StoreError::Unavailable { retryable, .. } => *retryable,
            _ => false,
        }
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound { what: what.into() }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A message captured from a war-room chat, for platforms without a history API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: String,
    pub at: Timestamp,
    pub author: ImUserId,
    pub text: String,
}

/// Where a chat belongs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatRef {
    pub tenant_id: TenantId,
    pub integration_id: IntegrationId,
    pub chat_id: ChatId,
    pub incident_id: IncidentId,
}

/// The newest items of a list that only grows (an incident's timeline, its captured chat),
/// oldest first. Reading them costs `limit` items whatever the list's length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Newest<T> {
    pub items: Vec<T>,
    /// Older items exist and were not read (not counted: counting would read them all).
    pub older: bool,
}

/// A page of incidents, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    /// Opaque cursor for the next page.
    pub next: Option<String>,
}

#[async_trait]
pub trait Store: Send + Sync {
    // --- tenants and API keys -------------------------------------------------------
    /// Creates or replaces the tenant.
    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    async fn get_tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>>;
    /// Writes the tenant only while the stored one is still at `tenant.version`, and returns
    /// it as stored, at the next version. `VersionConflict` if another write came first,
    /// `NotFound` if there is no such tenant. (`put_tenant` creates and overwrites.)
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<Tenant>;
    /// Stores a key record (by its hash); `AlreadyExists` if that hash is known.
    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()>;
    async fn find_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>>;
    /// The tenant's keys (records only: hashes never leave the API).
    async fn list_api_keys(&self, tenant: &TenantId) -> StoreResult<Vec<ApiKeyRecord>>;
    /// Revokes a key of the tenant; a no-op if it is not one of theirs.
    async fn delete_api_key(&self, tenant: &TenantId, key_hash: &str) -> StoreResult<()>;

    // --- members ----------------------------------------------------------------------
    async fn put_member(&self, member: &Member) -> StoreResult<()>;
    async fn get_member(&self, tenant: &TenantId, id: &MemberId) -> StoreResult<Option<Member>>;
    /// All members of the tenant, ordered by id.
    async fn list_members(&self, tenant: &TenantId) -> StoreResult<Vec<Member>>;
    /// Deletes the member and their links on every integration.
    async fn delete_member(&self, tenant: &TenantId, id: &MemberId) -> StoreResult<()>;

    // --- integrations -------------------------------------------------------------------
    /// Creates an integration; `AlreadyExists` if its id, or its (platform, external id),
    /// is taken. `war_room_enabled` must be false: use `enable_war_room`.
    async fn create_integration(&self, integration: &Integration) -> StoreResult<()>;
    /// Replaces an existing integration, keeping its war-room flag as stored (the flag
    /// only changes through `enable_war_room` / `disable_war_room`), only while the stored
    /// one is still at `integration.version` (stored at the next version);
    /// `VersionConflict` if another update came first: read it again and re-apply.
    async fn update_integration(&self, integration: &Integration) -> StoreResult<()>;
    /// By id alone: per-integration callback URLs carry no tenant.
    async fn get_integration(&self, id: &IntegrationId) -> StoreResult<Option<Integration>>;
    async fn find_integration_by_external(&self, platform: Platform, external_id: &str) -> StoreResult<Option<Integration>>;
    async fn list_integrations(&self, tenant: &TenantId) -> StoreResult<Vec<Integration>>;
    /// Deletes the integration, its links and, if it held it, the war-room guard.
    async fn delete_integration(&self, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()>;
    /// Atomically makes this the tenant's one war-room integration. Idempotent for the
    /// holder; `WarRoomTaken` naming the holder if another integration has it.
    async fn enable_war_room(&self, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()>;
    /// Clears the flag and releases the guard; a no-op if this integration does not hold it.
    async fn disable_war_room(&self, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()>;
    /// The integration holding the tenant's war-room guard, if any.
    async fn war_room_integration(&self, tenant: &TenantId) -> StoreResult<Option<IntegrationId>>;

    // --- user links ---------------------------------------------------------------------
    /// Links a member to an IM user, replacing any previous link of either side on that
    /// integration, so both directions stay one-to-one.
    async fn put_link(&self, link: &UserLink) -> StoreResult<()>;
    async fn delete_link(&self, tenant: &TenantId, integration: &IntegrationId, member: &MemberId) -> StoreResult<()>;
    async fn link_by_member(&self, tenant: &TenantId, integration: &IntegrationId, member: &MemberId) -> StoreResult<Option<UserLink>>;
    async fn link_by_im_user(&self, tenant: &TenantId, integration: &IntegrationId, user: &ImUserId) -> StoreResult<Option<UserLink>>;
    async fn list_links(&self, tenant: &TenantId, integration: &IntegrationId, query: &LinkQuery) -> StoreResult<LinkPage>;

    // --- incidents --------------------------------------------------------------------
    /// Creates the incident at version 1 and its source index; `AlreadyExists` if the
    /// source reference is already known (use `find_incident_by_source` for its id).
    async fn create_incident(&self, incident: &Incident) -> StoreResult<Incident>;
    async fn get_incident(&self, tenant: &TenantId, id: &IncidentId) -> StoreResult<Option<Incident>>;
    async fn find_incident_by_source(&self, tenant: &TenantId, source: &SourceRef) -> StoreResult<Option<Incident>>;
    /// Writes the incident if the stored version is still `incident.version`; returns it
    /// with the bumped version. `VersionConflict` otherwise, `NotFound` if it is gone.
    async fn update_incident(&self, incident: &Incident) -> StoreResult<Incident>;
    /// Newest first. `cursor` is a `next` from an earlier page.
    async fn list_incidents(&self, tenant: &TenantId, cursor: Option<&str>, limit: usize) -> StoreResult<IncidentPage>;

    // --- timeline and chats -------------------------------------------------------------
    /// Appends; `AlreadyExists` if an entry with this id is already there (entries are
    /// never overwritten).
    async fn append_timeline(&self, entry: &TimelineEntry) -> StoreResult<()>;
    /// Oldest first.
    async fn list_timeline(&self, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<TimelineEntry>>;
    async fn put_chat_ref(&self, chat: &ChatRef) -> StoreResult<()>;
    async fn find_chat(&self, integration: &IntegrationId, chat: &ChatId) -> StoreResult<Option<ChatRef>>;
    /// Captures a chat message; the same message id twice is stored once.
    async fn append_chat_message(&self, tenant: &TenantId, incident: &IncidentId, message: &ChatMessage) -> StoreResult<()>;
    /// Oldest first.
    async fn list_chat_messages(&self, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<ChatMessage>>;
    /// The newest `limit` timeline entries (oldest first of them), read newest first from
    /// the end of the list: the cost does not grow with the timeline.
    async fn list_newest_timeline(&self, tenant: &TenantId, incident: &IncidentId, limit: usize) -> StoreResult<Newest<TimelineEntry>>;
    /// The newest `limit` captured messages, oldest first of them, one per message id (as
    /// `list_chat_messages` would end), read from the end of the transcript.
    async fn list_newest_chat_messages(&self, tenant: &TenantId, incident: &IncidentId, limit: usize) -> StoreResult<Newest<ChatMessage>>;
    /// One captured message by its id: a point read through its id marker (messages
    /// captured before the markers existed are not found this way).
    async fn get_chat_message(&self, tenant: &TenantId, incident: &IncidentId, message_id: &str) -> StoreResult<Option<ChatMessage>>;
    /// Stores a new post-mortem version; a version already stored is refused
    /// (`AlreadyExists`), never overwritten: two drafts racing for one number, one wins.
    async fn put_postmortem(&self, postmortem: &crate::postmortem::Postmortem) -> StoreResult<()>;
    /// Every version, oldest first (an incident has a handful).
    async fn list_postmortems(&self, tenant: &TenantId, incident: &IncidentId) -> StoreResult<Vec<crate::postmortem::Postmortem>>;

    // --- runbooks ---------------------------------------------------------------------
    /// Creates (`version` 0; `AlreadyExists` if the id is taken) or replaces a runbook while
    /// the stored one is still at `runbook.version` (`VersionConflict` otherwise, `NotFound`
    /// if it is gone); returns it as stored, at the next version.
    async fn put_runbook(&self, runbook: &crate::runbook::Runbook) -> StoreResult<crate::runbook::Runbook>;
    async fn get_runbook(&self, tenant: &TenantId, id: &crate::runbook::RunbookId) -> StoreResult<Option<crate::runbook::Runbook>>;
    /// Every runbook of the tenant, ordered by id (a tenant has at most `runbook::MAX_PER_TENANT`).
    async fn list_runbooks(&self, tenant: &TenantId) -> StoreResult<Vec<crate::runbook::Runbook>>;
    /// Deletes one of the tenant's runbooks; true if it was there.
    async fn delete_runbook(&self, tenant: &TenantId, id: &crate::runbook::RunbookId) -> StoreResult<bool>;

    // --- short-lived state ---------------------------------------------------------------
    /// Claims a key until `now + ttl`: true for exactly one claimer; an expired claim can be
    /// claimed again. (Expired items are filtered on read: not every backend enforces TTL.)
    async fn claim_dedupe(&self, key: &str, ttl: Duration, now: Timestamp) -> StoreResult<bool>;
    /// Gives a claim up (the work it guarded failed and will be redelivered).
    async fn release_dedupe(&self, key: &str) -> StoreResult<()>;
    /// Stores a value until `now + ttl` (OAuth states, cached access tokens).
    async fn put_ephemeral(&self, key: &str, value: &str, ttl: Duration, now: Timestamp) -> StoreResult<()>;
    async fn get_ephemeral(&self, key: &str, now: Timestamp) -> StoreResult<Option<String>>;
    /// Reads and deletes in one step: exactly one caller gets the value (single-use states).
    async fn take_ephemeral(&self, key: &str, now: Timestamp) -> StoreResult<Option<String>>;
    /// Adds `by` to a counter and returns its new total, atomically across all instances.
    /// A counter lives `ttl` from its first addition; after that it starts again from zero
    /// (a monthly API quota is a counter keyed by the month).
    async fn add_to_counter(&self, key: &str, by: u64, ttl: Duration, now: Timestamp) -> StoreResult<u64>;
    /// Takes `n` tokens from a shared bucket, atomically across all instances.
    async fn take_tokens(&self, bucket: &BucketSpec, n: u32, now: Timestamp) -> StoreResult<Take>;
    /// Books `n` tokens at the earliest time the bucket allows (see
    /// `ratelimit::reserve`), atomically across all instances; never refuses.
    async fn reserve_tokens(&self, bucket: &BucketSpec, n: u32, now: Timestamp) -> StoreResult<Timestamp>;

    // --- administration -----------------------------------------------------------------
    /// Every tenant, ordered by id. For admin tools (re-sealing credentials after a key
    /// rotation), never a request path: on DynamoDB it is a whole-table scan.
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
}
