//! What admin tools read: every tenant at once.

use crate::fixtures::*;
use std::sync::Arc;
use warroom_core::*;

type S = Arc<dyn Store>;

pub async fn every_tenant_is_listed_once_in_id_order_and_nothing_else_is(store: S) {
    assert_eq!(store.list_tenants().await.unwrap(), Vec::<Tenant>::new());
    let mut ids: Vec<TenantId> = (0..3).map(|_| tenant_id()).collect();
    for (n, id) in ids.iter().enumerate() {
        store.put_tenant(&tenant(id)).await.unwrap();
        // Other items in and around the tenant's partition must not show up as tenants.
        store.put_member(&member(id, "m1", "Ada Lovelace")).await.unwrap();
        store.create_integration(&integration(id, Platform::Slack)).await.unwrap();
        let key_hash = format!("{:02x}", 0xe0 + n).repeat(32);
        let key = ApiKeyRecord { tenant_id: id.clone(), key_hash, label: "ci".into(), prefix: "wr_12".into(), scope: KeyScope::Admin, created_at: T0 };
        store.put_api_key(&key).await.unwrap();
    }
    // An update is still one tenant.
    let updated = store.update_tenant(&tenant(&ids[1])).await.unwrap();
    ids.sort();
    let listed = store.list_tenants().await.unwrap();
    assert_eq!(listed.iter().map(|t| t.id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(listed.iter().find(|t| t.id == updated.id), Some(&updated));
}
