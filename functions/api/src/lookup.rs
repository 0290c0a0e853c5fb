//! Tenant-scoped lookups. Another tenant's object answers exactly like a missing one
//! (`404 not_found`, same message), so ids of other tenants leak nothing.

use crate::error::{ApiResult, Failure};
use crate::extract::Caller;
use warroom_core::{Incident, IncidentId, Integration, IntegrationId, Member, MemberId, StoreError, Tenant};
use warroom_http::{ApiError, AppState};

pub async fn integration(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Integration> {
    let id = IntegrationId::from(id);
    state.store().get_integration(&id).await?.filter(|i| i.tenant_id == caller.tenant).ok_or_else(|| Failure::not_found(format!("integration {id}")))
}

pub async fn incident(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Incident> {
    let id = IncidentId::from(id);
    state.store().get_incident(&caller.tenant, &id).await?.ok_or_else(|| Failure::not_found(format!("incident {id}")))
}

pub async fn member(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Member> {
    let id = MemberId::from(id);
    state.store().get_member(&caller.tenant, &id).await?.ok_or_else(|| Failure::not_found(format!("member {id}")))
}

/// How often a change is re-applied to a freshly read integration after another update
/// came first (each lost race means another update went through).
const UPDATE_ATTEMPTS: usize = 8;

/// Read-modify-write of one of the caller's integrations that never undoes a concurrent
/// update (a scope refresh, a revocation heard from the platform, another rotation): the
/// store writes only over the version read, and on a race the change is applied again to
/// what is there now. `change` answers `None` when there is nothing to write.
pub async fn update_integration(
    state: &AppState,
    caller: &Caller,
    id: &str,
    change: impl Fn(Integration) -> ApiResult<Option<Integration>>,
) -> ApiResult<Integration> {
    for _ in 0..UPDATE_ATTEMPTS {
        let current = integration(state, caller, id).await?;
        let Some(updated) = change(current.clone())? else { return Ok(current) };
        match state.store().update_integration(&updated).await {
            Ok(()) => return integration(state, caller, id).await,
            Err(StoreError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Failure::conflict("version_conflict", format!("integration {id} kept changing while this update was applied; try again")))
}

/// The caller's tenant; a key whose tenant is gone is no longer a valid key.
pub async fn tenant(state: &AppState, caller: &Caller) -> ApiResult<Tenant> {
    state.store().get_tenant(&caller.tenant).await?.ok_or_else(|| ApiError::unauthorized("the key's tenant no longer exists").into())
}
