//! What the local stack puts in the store.
//!
//! On the first start of a data directory: the tenant "Demo" with an admin and an intake
//! key (shown once, and kept in `demo-keys.json`). On the first start in demo mode: the
//! members Ada, Bob and Cy and the demo war-room rules (auto-open for critical incidents,
//! private chats, dismiss by hand). On every start in demo mode (in-process sandboxes are
//! new each time): the Slack integration with the sandbox's bot token and the Feishu
//! integration with the app's bot open_id, created or updated (an update keeps the
//! war-room flag and the member links); war room is enabled on Slack when it is first created.

use crate::data::{DataDir, DemoKeys};
use crate::error::{LocalError, LocalResult};
use crate::sandboxes::{self, DemoIdentity, PEOPLE};
use warroom_core::*;
use warroom_http::{auth, AppState};
use warroom_platforms::{feishu::FeishuCredentials, slack::SlackCredentials, StoredFeishu};

pub const TENANT_NAME: &str = "Demo";

/// The demo tenant as this start found or made it.
pub struct Seeded {
    pub keys: DemoKeys,
    /// The keys were made by this start (print them).
    pub new_keys: bool,
}

/// Demo mode's integrations.
pub struct DemoIntegrations {
    pub slack: IntegrationId,
    pub feishu: IntegrationId,
    /// The Slack integration was created by this start (so war room was enabled on it).
    pub created: bool,
}

fn store_error(what: &str) -> impl Fn(StoreError) -> LocalError + '_ {
    move |e| LocalError::new(format!("could not {what}: {e}"))
}

/// The tenant and its keys: read from `demo-keys.json`, or made when the file is missing
/// or names a tenant the store does not have (a new or replaced store).
pub async fn tenant(store: &dyn Store, data: &DataDir) -> LocalResult<Seeded> {
    if let Some(keys) = data.demo_keys()? {
        if store.get_tenant(&keys.tenant_id).await.map_err(store_error("read the demo tenant"))?.is_some() {
            return Ok(Seeded { keys, new_keys: false });
        }
    }
    let now = SystemClock.now();
    let tenant = Tenant { id: TenantId::generate(), name: TENANT_NAME.into(), settings: TenantSettings::default(), created_at: now, version: 0 };
    store.put_tenant(&tenant).await.map_err(store_error("store the demo tenant"))?;
    let (admin_key, admin) = auth::new_key(&tenant.id, "demo admin", KeyScope::Admin, now);
    let (intake_key, intake) = auth::new_key(&tenant.id, "demo intake", KeyScope::Intake, now);
    store.put_api_key(&admin).await.map_err(store_error("store the admin key"))?;
    store.put_api_key(&intake).await.map_err(store_error("store the intake key"))?;
    let keys = DemoKeys { tenant_id: tenant.id, tenant_name: tenant.name, admin_key, intake_key };
    data.write_demo_keys(&keys)?;
    Ok(Seeded { keys, new_keys: true })
}

/// Members and war-room rules, once: only while the tenant has no members.
pub async fn members(store: &dyn Store, tenant_id: &TenantId) -> LocalResult<()> {
    if !store.list_members(tenant_id).await.map_err(store_error("list the members"))?.is_empty() {
        return Ok(());
    }
    let now = SystemClock.now();
    for p in &PEOPLE {
        let member = Member {
            tenant_id: tenant_id.clone(),
            id: MemberId::new(format!("mem_{}", p.name.to_lowercase())),
            name: p.name.into(),
            email: Some(p.email.into()),
            phone: p.phone.map(Into::into),
            role: Default::default(),
            updated_at: now,
        };
        store.put_member(&member).await.map_err(store_error("store a member"))?;
    }
    let mut tenant =
        store.get_tenant(tenant_id).await.map_err(store_error("read the demo tenant"))?.ok_or_else(|| LocalError::new("the demo tenant vanished"))?;
    tenant.settings.auto_create_min_severity = Some(Severity::Critical);
    tenant.settings.private_chats = true;
    tenant.settings.auto_dismiss_after_minutes = None;
    store.put_tenant(&tenant).await.map_err(store_error("store the demo settings"))
}

/// Creates the integration, or updates the one already stored for this workspace / app.
/// Returns its id and whether it was created.
async fn upsert(
    state: &AppState,
    tenant_id: &TenantId,
    platform: Platform,
    external_id: &str,
    name: &str,
    scopes: Vec<String>,
    seal: impl Fn(&IntegrationId) -> SealedCredentials,
) -> LocalResult<(IntegrationId, bool)> {
    let store = state.store();
    let now = SystemClock.now();
    let existing = store.find_integration_by_external(platform, external_id).await.map_err(store_error("find an integration"))?;
    match existing {
        Some(mut integration) if &integration.tenant_id == tenant_id => {
            integration.credentials = seal(&integration.id);
            integration.granted_scopes = scopes;
            integration.status = IntegrationStatus::Active;
            integration.updated_at = now;
            store.update_integration(&integration).await.map_err(store_error("update an integration"))?;
            Ok((integration.id, false))
        }
        Some(other) => {
            // Left by a demo tenant whose keys file was deleted: the sandbox is ours, take it back.
            store.delete_integration(&other.tenant_id, &other.id).await.map_err(store_error("remove a stale integration"))?;
            Box::pin(upsert(state, tenant_id, platform, external_id, name, scopes, seal)).await
        }
        None => {
            let id = IntegrationId::generate();
            let integration = Integration {
                tenant_id: tenant_id.clone(),
                credentials: seal(&id),
                id: id.clone(),
                platform,
                name: name.into(),
                external_id: Some(external_id.into()),
                granted_scopes: scopes,
                war_room_enabled: false,
                status: IntegrationStatus::Active,
                created_at: now,
                updated_at: now,
                version: 0,
            };
            store.create_integration(&integration).await.map_err(store_error("create an integration"))?;
            Ok((id, true))
        }
    }
}

/// `sandbox_base`: where the sandboxes are served (the Feishu credentials keep their base URL).
pub async fn integrations(state: &AppState, tenant_id: &TenantId, identity: &DemoIdentity, sandbox_base: &str) -> LocalResult<DemoIntegrations> {
    let platforms = state.platforms.clone().ok_or_else(|| LocalError::new("the platform adapters are missing"))?;
    let slack_scopes = identity.slack_scopes.clone();
    let slack_credentials = SlackCredentials {
        bot_token: identity.slack_bot_token.clone(),
        team_id: sandboxes::SLACK_TEAM_ID.into(),
        bot_user_id: identity.slack_bot_user_id.clone(),
        app_id: Some(identity.slack_app_id.clone()),
        signing_secret: None,
    };
    let (slack, created) =
        upsert(state, tenant_id, Platform::Slack, sandboxes::SLACK_TEAM_ID, "Slack (sandbox)", slack_scopes, |id| platforms.seal(id, &slack_credentials))
            .await?;
    if created {
        state.store().enable_war_room(tenant_id, &slack).await.map_err(store_error("enable war rooms on Slack"))?;
    }

    let feishu_credentials = StoredFeishu {
        credentials: FeishuCredentials {
            app_id: sandboxes::FEISHU_APP_ID.into(),
            app_secret: sandboxes::FEISHU_APP_SECRET.into(),
            verification_token: sandboxes::FEISHU_VERIFICATION_TOKEN.into(),
            encrypt_key: sandboxes::FEISHU_ENCRYPT_KEY.into(),
            base_url: sandboxes::feishu_base(sandbox_base),
        },
        bot_open_id: identity.feishu_bot_open_id.clone(),
    };
    let feishu_scopes = warroom_platforms::feishu::REQUIRED_SCOPES.iter().map(|(s, _)| s.to_string()).collect();
    let (feishu, _) =
        upsert(state, tenant_id, Platform::Feishu, sandboxes::FEISHU_APP_ID, "Feishu (sandbox)", feishu_scopes, |id| platforms.seal(id, &feishu_credentials))
            .await?;
    Ok(DemoIntegrations { slack, feishu, created })
}

/// Every chat id the tenant's incidents have held (to keep new sandbox ids clear of them).
pub async fn stored_chat_ids(store: &dyn Store, tenant_id: &TenantId) -> LocalResult<Vec<String>> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_incidents(tenant_id, cursor.as_deref(), 100).await.map_err(store_error("list the incidents"))?;
        ids.extend(page.incidents.iter().filter_map(|i| i.war_room.chat_id.as_ref().map(|c| c.to_string())));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(ids),
        }
    }
}
