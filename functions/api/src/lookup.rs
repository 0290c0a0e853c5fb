//! Tenant-scoped lookups. Another tenant's object answers exactly like a missing one
//! (`404 not_found`, same message), so ids of other tenants leak nothing.

use crate::error::{ApiResult, Failure};
use crate::extract::Caller;
use warroom_core::{Incident, IncidentId, Integration, IntegrationId, Member, MemberId, Tenant};
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

/// The caller's tenant; a key whose tenant is gone is no longer a valid key.
pub async fn tenant(state: &AppState, caller: &Caller) -> ApiResult<Tenant> {
    state.store().get_tenant(&caller.tenant).await?.ok_or_else(|| ApiError::unauthorized("the key's tenant no longer exists").into())
}
