//! Runbooks: per tenant, created once, replaced under a version check, deleted.

use crate::fixtures::*;
use std::sync::Arc;
use warroom_core::runbook::{Runbook, RunbookId, Selector};
use warroom_core::*;

type S = Arc<dyn Store>;

fn runbook(tenant: &TenantId, id: &str, title: &str) -> Runbook {
    Runbook {
        tenant_id: tenant.clone(),
        id: RunbookId::from(id),
        title: title.into(),
        body: "# Checkout\n\nRoll back the last deploy.".into(),
        selectors: vec![Selector::parse("service=checkout").unwrap()],
        summary: None,
        created_at: T0,
        updated_at: T0,
        version: 0,
    }
}

pub async fn a_runbook_is_created_once_and_listed_in_id_order_per_tenant(store: S) {
    let (t, u) = (tenant_id(), tenant_id());
    let b = store.put_runbook(&runbook(&t, "rb_b", "B")).await.unwrap();
    assert_eq!(b.version, 1);
    store.put_runbook(&runbook(&t, "rb_a", "A")).await.unwrap();
    store.put_runbook(&runbook(&u, "rb_a", "other tenant's A")).await.unwrap();
    assert!(matches!(store.put_runbook(&runbook(&t, "rb_b", "B again")).await, Err(StoreError::AlreadyExists { .. })));
    let listed: Vec<String> = store.list_runbooks(&t).await.unwrap().into_iter().map(|r| r.title).collect();
    assert_eq!(listed, vec!["A", "B"]);
    assert_eq!(store.get_runbook(&t, &"rb_b".into()).await.unwrap(), Some(b));
    assert_eq!(store.get_runbook(&u, &"rb_b".into()).await.unwrap(), None, "another tenant's id is not found");
    assert_eq!(store.get_runbook(&u, &"rb_a".into()).await.unwrap().unwrap().title, "other tenant's A");
}

pub async fn runbook_updates_are_guarded_by_version_and_deletes_are_per_tenant(store: S) {
    let (t, u) = (tenant_id(), tenant_id());
    let v1 = store.put_runbook(&runbook(&t, "rb_1", "First")).await.unwrap();
    let v2 = store.put_runbook(&Runbook { title: "Second".into(), ..v1.clone() }).await.unwrap();
    assert_eq!(v2.version, 2);
    let stale = store.put_runbook(&Runbook { title: "Stale".into(), ..v1.clone() }).await;
    assert!(matches!(stale, Err(StoreError::VersionConflict { expected: 1 })), "{stale:?}");
    assert_eq!(store.get_runbook(&t, &v1.id).await.unwrap().unwrap().title, "Second");
    let gone = store.put_runbook(&Runbook { id: "rb_none".into(), ..v2.clone() }).await;
    assert!(matches!(gone, Err(StoreError::NotFound { .. })), "{gone:?}");
    assert!(!store.delete_runbook(&u, &v1.id).await.unwrap(), "another tenant deletes nothing");
    assert!(store.get_runbook(&t, &v1.id).await.unwrap().is_some());
    assert!(store.delete_runbook(&t, &v1.id).await.unwrap());
    assert!(!store.delete_runbook(&t, &v1.id).await.unwrap());
    assert!(store.list_runbooks(&t).await.unwrap().is_empty());
}
