//! Demo mode's platforms connected the way a user connects them: through the platform's
//! registered module (`warroom_platforms::registry`), which proves the credentials against
//! the sandbox over HTTP and registers what the platform needs (DingTalk: the card callback).
//! So it runs once the bundle is serving (the in-process sandboxes answer on its listener).
//!
//! Every start connects again: in-process sandboxes are new each time and have forgotten the
//! registration. The integration keeps its id, war-room flag and member links.

use crate::error::{LocalError, LocalResult};
use crate::sandboxes::{self, Sandboxes};
use warroom_core::*;
use warroom_http::AppState;
use warroom_platforms::FieldValues;

/// Connects `platform`'s demo app `external_id` (the id its module reports, e.g. the app
/// id) with `values` (the module's credential fields); returns the integration's id.
pub async fn connect(
    state: &AppState,
    tenant: &TenantId,
    platform: Platform,
    external_id: &str,
    values: &FieldValues,
    name: &str,
) -> LocalResult<IntegrationId> {
    let platforms = state.platforms.clone().ok_or_else(|| LocalError::new("the platform adapters are missing"))?;
    let module = warroom_platforms::registry::modules()
        .into_iter()
        .find(|m| m.platform() == platform)
        .ok_or_else(|| LocalError::new(format!("this build has no {platform} module")))?;
    let store = state.store();
    let fail = |what: &'static str| move |e: StoreError| LocalError::new(format!("could not {what}: {e}"));
    let mut existing = store.find_integration_by_external(platform, external_id).await.map_err(fail("find an integration"))?;
    if let Some(other) = existing.take_if(|i| &i.tenant_id != tenant) {
        // Left by a demo tenant whose keys file was deleted: the sandbox is ours, take it back.
        store.delete_integration(&other.tenant_id, &other.id).await.map_err(fail("remove a stale integration"))?;
    }
    let id = existing.as_ref().map(|i| i.id.clone()).unwrap_or_else(IntegrationId::generate);
    let connected = module.connect(&platforms, &id, values).await.map_err(|e| LocalError::new(format!("could not connect the {platform} sandbox app: {e}")))?;
    let now = SystemClock.now();
    let credentials = platforms.seal(&id, &connected.stored);
    match existing {
        Some(mut integration) => {
            integration.credentials = credentials;
            integration.granted_scopes = connected.scopes;
            integration.status = IntegrationStatus::Active;
            integration.updated_at = now;
            store.update_integration(&integration).await.map_err(fail("update an integration"))?;
        }
        None => {
            let integration = Integration {
                tenant_id: tenant.clone(),
                id: id.clone(),
                platform,
                name: name.into(),
                external_id: Some(connected.external_id),
                granted_scopes: connected.scopes,
                credentials,
                war_room_enabled: false,
                status: IntegrationStatus::Active,
                created_at: now,
                updated_at: now,
                version: 0,
            };
            store.create_integration(&integration).await.map_err(fail("create an integration"))?;
        }
    }
    Ok(id)
}

/// The demo DingTalk app, connected, with its event subscription and robot pointed at the
/// bundle (what an admin pastes into the developer console).
pub async fn dingtalk(state: &AppState, tenant: &TenantId, sandboxes: &Sandboxes, bundle_url: &str) -> LocalResult<IntegrationId> {
    let app = sandboxes::DINGTALK_CLIENT_ID;
    let values: FieldValues = [
        ("client_id", app.to_string()),
        ("client_secret", sandboxes::DINGTALK_CLIENT_SECRET.into()),
        ("template_id", format!("tpl_{app}")),
        ("robot_code", format!("grb_{app}")),
        ("owner_user_id", sandboxes::PEOPLE[0].dingtalk_user.into()),
        ("event_token", sandboxes::DINGTALK_EVENT_TOKEN.into()),
        ("event_aes_key", sandboxes::DINGTALK_EVENT_AES_KEY.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let id = connect(state, tenant, Platform::Dingtalk, app, &values, "DingTalk (sandbox)").await?;
    let events = format!("{}/im/{id}/events", bundle_url.trim_end_matches('/'));
    sandboxes.dingtalk.set_callback_urls(app, Some(&events), Some(&events));
    Ok(id)
}

/// The demo WeCom app (with its smart bot), connected, its "Receive API" URL and the smart
/// bot's callback URL pointed at the bundle (what an admin saves in the admin console).
pub async fn wecom(state: &AppState, tenant: &TenantId, sandboxes: &Sandboxes, bundle_url: &str) -> LocalResult<IntegrationId> {
    let values: FieldValues = [
        ("corp_id", sandboxes::WECOM_CORP_ID.to_string()),
        ("agent_id", sandboxes::WECOM_AGENT_ID.to_string()),
        ("secret", sandboxes::WECOM_SECRET.into()),
        ("callback_token", sandboxes::WECOM_CALLBACK_TOKEN.into()),
        ("callback_aes_key", sandboxes::WECOM_CALLBACK_AES_KEY.into()),
        ("bot_token", sandboxes::WECOM_BOT_TOKEN.into()),
        ("bot_aes_key", sandboxes::WECOM_BOT_AES_KEY.into()),
        ("owner_userid", sandboxes::WECOM_OWNER.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let external = format!("{}:{}", sandboxes::WECOM_CORP_ID, sandboxes::WECOM_AGENT_ID);
    let id = connect(state, tenant, Platform::Wecom, &external, &values, "WeCom (sandbox)").await?;
    let events = format!("{}/im/{id}/events", bundle_url.trim_end_matches('/'));
    sandboxes.wecom.set_callback_urls(sandboxes::WECOM_AGENT_ID, Some(&events), Some(&events));
    Ok(id)
}
