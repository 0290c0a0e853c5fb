//! Tenants, keys, members, integrations, the war-room guard, links.

use crate::fixtures::*;
use std::sync::Arc;
use warroom_core::links::{LinkFilter, LinkQuery};
use warroom_core::*;

type S = Arc<dyn Store>;

pub async fn a_tenant_round_trips_and_a_missing_one_is_none(store: S) {
    let id = tenant_id();
    assert_eq!(store.get_tenant(&id).await.unwrap(), None);
    let mut t = tenant(&id);
    store.put_tenant(&t).await.unwrap();
    assert_eq!(store.get_tenant(&id).await.unwrap(), Some(t.clone()));
    t.settings.auto_create_min_severity = Some(Severity::Warning);
    store.put_tenant(&t).await.unwrap();
    assert_eq!(store.get_tenant(&id).await.unwrap(), Some(t));
}

pub async fn tenant_updates_are_guarded_by_version_and_one_of_ten_concurrent_saves_wins(store: S) {
    let id = tenant_id();
    let missing = store.update_tenant(&tenant(&id)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }), "{missing:?}");
    // Stored without a version (as before versions existed): it reads as 0.
    store.put_tenant(&tenant(&id)).await.unwrap();
    let read = store.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(read.version, 0);
    let mut edit = read.clone();
    edit.settings.private_chats = false;
    let saved = store.update_tenant(&edit).await.unwrap();
    assert_eq!(saved.version, 1);
    assert_eq!(store.get_tenant(&id).await.unwrap(), Some(saved.clone()));
    // A save from the old read is refused and changes nothing.
    let mut stale = read;
    stale.settings.auto_dismiss_after_minutes = Some(5);
    let refused = store.update_tenant(&stale).await.unwrap_err();
    assert!(matches!(refused, StoreError::VersionConflict { expected: 0 }), "{refused:?}");
    assert_eq!(store.get_tenant(&id).await.unwrap(), Some(saved.clone()));
    // Ten admins saving from the same read: exactly one gets through.
    let saves = (0..10u32).map(|i| {
        let store = store.clone();
        let mut mine = saved.clone();
        mine.settings.auto_dismiss_after_minutes = Some(i);
        tokio::spawn(async move { store.update_tenant(&mine).await })
    });
    let results: Vec<_> = futures::future::join_all(saves).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| matches!(e, StoreError::VersionConflict { .. })), "{results:?}");
    let winner = results.into_iter().find_map(Result::ok).unwrap();
    assert_eq!(store.get_tenant(&id).await.unwrap(), Some(winner.clone()));
    assert_eq!(winner.version, 2);
}

pub async fn api_keys_are_found_by_hash_and_a_hash_is_stored_once(store: S) {
    let t = tenant_id();
    let key =
        ApiKeyRecord { tenant_id: t.clone(), key_hash: "ab".repeat(32), label: "ci".into(), prefix: "wr_12".into(), scope: KeyScope::Intake, created_at: T0 };
    store.put_api_key(&key).await.unwrap();
    assert_eq!(store.find_api_key(&key.key_hash).await.unwrap(), Some(key.clone()));
    assert_eq!(store.find_api_key(&"cd".repeat(32)).await.unwrap(), None);
    let other = ApiKeyRecord { tenant_id: tenant_id(), ..key.clone() };
    assert!(matches!(store.put_api_key(&other).await, Err(StoreError::AlreadyExists { .. })));
    assert_eq!(store.find_api_key(&key.key_hash).await.unwrap().unwrap().tenant_id, t, "the first owner keeps the key");
}

pub async fn keys_are_listed_per_tenant_and_a_revoked_key_is_gone(store: S) {
    let (t, other) = (tenant_id(), tenant_id());
    let mk = |tenant: &TenantId, n: u8| ApiKeyRecord {
        tenant_id: tenant.clone(),
        key_hash: format!("{n:02x}").repeat(32),
        label: format!("k{n}"),
        prefix: "wr_ab".into(),
        scope: KeyScope::Admin,
        created_at: T0,
    };
    for key in [mk(&t, 1), mk(&t, 2), mk(&other, 3)] {
        store.put_api_key(&key).await.unwrap();
    }
    let labels: Vec<_> = store.list_api_keys(&t).await.unwrap().into_iter().map(|k| k.label).collect();
    assert_eq!(labels, ["k1", "k2"]);
    store.delete_api_key(&other, &mk(&t, 1).key_hash).await.unwrap();
    assert!(store.find_api_key(&mk(&t, 1).key_hash).await.unwrap().is_some(), "another tenant cannot revoke it");
    store.delete_api_key(&t, &mk(&t, 1).key_hash).await.unwrap();
    assert_eq!(store.find_api_key(&mk(&t, 1).key_hash).await.unwrap(), None);
    assert_eq!(store.list_api_keys(&t).await.unwrap().len(), 1);
}

pub async fn members_list_in_id_order_and_deleting_one_removes_its_links(store: S) {
    let t = tenant_id();
    for (id, name) in [("m2", "Bob"), ("m1", "Alice"), ("m3", "Carol")] {
        store.put_member(&member(&t, id, name)).await.unwrap();
    }
    store.put_member(&member(&tenant_id(), "m0", "Other tenant")).await.unwrap();
    let ids: Vec<_> = store.list_members(&t).await.unwrap().into_iter().map(|m| m.id.0).collect();
    assert_eq!(ids, ["m1", "m2", "m3"]);
    let i = integration(&t, Platform::Slack);
    store.create_integration(&i).await.unwrap();
    store.put_link(&link(&t, &i.id, "m1", "U1")).await.unwrap();
    store.delete_member(&t, &"m1".into()).await.unwrap();
    assert_eq!(store.get_member(&t, &"m1".into()).await.unwrap(), None);
    assert_eq!(store.link_by_member(&t, &i.id, &"m1".into()).await.unwrap(), None);
    assert_eq!(store.link_by_im_user(&t, &i.id, &"U1".into()).await.unwrap(), None);
}

pub async fn integrations_are_found_by_id_external_id_and_tenant(store: S) {
    let t = tenant_id();
    let slack = integration(&t, Platform::Slack);
    let feishu = integration(&t, Platform::Feishu);
    store.create_integration(&slack).await.unwrap();
    store.create_integration(&feishu).await.unwrap();
    store.create_integration(&integration(&tenant_id(), Platform::Slack)).await.unwrap();
    assert_eq!(store.get_integration(&slack.id).await.unwrap(), Some(slack.clone()));
    let ext = slack.external_id.clone().unwrap();
    assert_eq!(store.find_integration_by_external(Platform::Slack, &ext).await.unwrap(), Some(slack.clone()));
    assert_eq!(store.find_integration_by_external(Platform::Feishu, &ext).await.unwrap(), None, "the platform is part of the key");
    let mut listed: Vec<_> = store.list_integrations(&t).await.unwrap().into_iter().map(|i| i.id).collect();
    listed.sort();
    let mut expected = vec![slack.id, feishu.id];
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(store.get_integration(&IntegrationId::generate()).await.unwrap(), None);
}

pub async fn an_integration_id_or_external_id_cannot_be_taken_twice(store: S) {
    let t = tenant_id();
    let first = integration(&t, Platform::Slack);
    store.create_integration(&first).await.unwrap();
    let same_id = Integration { external_id: Some("other".into()), ..first.clone() };
    assert!(matches!(store.create_integration(&same_id).await, Err(StoreError::AlreadyExists { .. })));
    let same_team = Integration { id: IntegrationId::generate(), tenant_id: tenant_id(), ..first.clone() };
    assert!(matches!(store.create_integration(&same_team).await, Err(StoreError::AlreadyExists { .. })));
    assert_eq!(store.get_integration(&same_team.id).await.unwrap(), None, "a refused create leaves nothing behind");
}

pub async fn updating_an_integration_keeps_its_war_room_flag(store: S) {
    let t = tenant_id();
    let i = integration(&t, Platform::Feishu);
    store.create_integration(&i).await.unwrap();
    store.enable_war_room(&t, &i.id).await.unwrap();
    let stale = Integration { granted_scopes: vec!["im:chat".into(), "im:message".into()], war_room_enabled: false, ..i.clone() };
    store.update_integration(&stale).await.unwrap();
    let got = store.get_integration(&i.id).await.unwrap().unwrap();
    assert_eq!(got.granted_scopes, stale.granted_scopes);
    assert!(got.war_room_enabled, "an update must not clear the flag behind the guard's back");
    let missing = integration(&t, Platform::Slack);
    assert!(matches!(store.update_integration(&missing).await, Err(StoreError::NotFound { .. })));
}

pub async fn integration_updates_are_guarded_by_version_and_one_of_ten_concurrent_wins(store: S) {
    let t = tenant_id();
    let i = integration(&t, Platform::Feishu);
    store.create_integration(&i).await.unwrap();
    let read = store.get_integration(&i.id).await.unwrap().unwrap();
    assert_eq!(read.version, 0);
    let rotated = Integration { credentials: SealedCredentials("bmV3".into()), ..read.clone() };
    store.update_integration(&rotated).await.unwrap();
    let now = store.get_integration(&i.id).await.unwrap().unwrap();
    assert_eq!((now.version, &now.credentials), (1, &rotated.credentials));
    // A revocation built from the read before the rotation must not bring the old
    // credentials back.
    let stale = Integration { status: IntegrationStatus::Revoked, ..read };
    let refused = store.update_integration(&stale).await.unwrap_err();
    assert!(matches!(refused, StoreError::VersionConflict { expected: 0 }), "{refused:?}");
    assert_eq!(store.get_integration(&i.id).await.unwrap().unwrap(), now);
    let updates = (0..10).map(|n| {
        let store = store.clone();
        let mine = Integration { name: format!("rename {n}"), ..now.clone() };
        tokio::spawn(async move { store.update_integration(&mine).await })
    });
    let results: Vec<_> = futures::future::join_all(updates).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| matches!(e, StoreError::VersionConflict { .. })), "{results:?}");
    assert_eq!(store.get_integration(&i.id).await.unwrap().unwrap().version, 2);
}

pub async fn a_second_integration_cannot_take_the_war_room_and_is_told_which_has_it(store: S) {
    let t = tenant_id();
    let a = integration(&t, Platform::Slack);
    let b = integration(&t, Platform::Feishu);
    store.create_integration(&a).await.unwrap();
    store.create_integration(&b).await.unwrap();
    assert_eq!(store.war_room_integration(&t).await.unwrap(), None);
    store.enable_war_room(&t, &a.id).await.unwrap();
    store.enable_war_room(&t, &a.id).await.expect("enabling the holder again is a no-op");
    match store.enable_war_room(&t, &b.id).await {
        Err(StoreError::WarRoomTaken { integration_id }) => assert_eq!(integration_id, a.id),
        other => panic!("expected WarRoomTaken, got {other:?}"),
    }
    assert!(!store.get_integration(&b.id).await.unwrap().unwrap().war_room_enabled);
    store.disable_war_room(&t, &b.id).await.expect("disabling a non-holder is a no-op");
    assert_eq!(store.war_room_integration(&t).await.unwrap(), Some(a.id.clone()));
    store.disable_war_room(&t, &a.id).await.unwrap();
    assert!(!store.get_integration(&a.id).await.unwrap().unwrap().war_room_enabled);
    store.enable_war_room(&t, &b.id).await.unwrap();
    assert_eq!(store.war_room_integration(&t).await.unwrap(), Some(b.id.clone()));
    assert!(store.get_integration(&b.id).await.unwrap().unwrap().war_room_enabled);
    let unknown = IntegrationId::generate();
    assert!(store.enable_war_room(&tenant_id(), &unknown).await.is_err(), "an unknown integration cannot be enabled");
}

pub async fn twenty_concurrent_enables_leave_exactly_one_war_room_integration(store: S) {
    let t = tenant_id();
    let mut ids = Vec::new();
    for n in 0..20 {
        let i = integration(&t, if n % 2 == 0 { Platform::Slack } else { Platform::Feishu });
        store.create_integration(&i).await.unwrap();
        ids.push(i.id);
    }
    let tasks = ids.iter().cloned().map(|id| {
        let (store, t) = (store.clone(), t.clone());
        tokio::spawn(async move { (id.clone(), store.enable_war_room(&t, &id).await) })
    });
    let results: Vec<_> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let winners: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).map(|(id, _)| id.clone()).collect();
    assert_eq!(winners.len(), 1, "winners: {winners:?}, results: {results:?}");
    for (_, r) in &results {
        if let Err(e) = r {
            assert!(matches!(e, StoreError::WarRoomTaken { integration_id } if integration_id == &winners[0]), "{e:?}");
        }
    }
    let flagged: Vec<_> = store.list_integrations(&t).await.unwrap().into_iter().filter(|i| i.war_room_enabled).map(|i| i.id).collect();
    assert_eq!(flagged, winners);
    assert_eq!(store.war_room_integration(&t).await.unwrap(), Some(winners[0].clone()));
}

pub async fn links_stay_one_to_one_in_both_directions(store: S) {
    let t = tenant_id();
    let i = integration(&t, Platform::Slack);
    store.create_integration(&i).await.unwrap();
    store.put_link(&link(&t, &i.id, "m1", "U1")).await.unwrap();
    assert_eq!(store.link_by_member(&t, &i.id, &"m1".into()).await.unwrap().unwrap().im_user_id.0, "U1");
    assert_eq!(store.link_by_im_user(&t, &i.id, &"U1".into()).await.unwrap().unwrap().member_id.0, "m1");
    // The member moves to another account: the old account no longer points at them.
    store.put_link(&link(&t, &i.id, "m1", "U2")).await.unwrap();
    assert_eq!(store.link_by_im_user(&t, &i.id, &"U1".into()).await.unwrap(), None);
    // Another member claims U2: m1 loses it.
    store.put_link(&link(&t, &i.id, "m2", "U2")).await.unwrap();
    assert_eq!(store.link_by_member(&t, &i.id, &"m1".into()).await.unwrap(), None);
    assert_eq!(store.link_by_im_user(&t, &i.id, &"U2".into()).await.unwrap().unwrap().member_id.0, "m2");
    store.delete_link(&t, &i.id, &"m2".into()).await.unwrap();
    assert_eq!(store.link_by_im_user(&t, &i.id, &"U2".into()).await.unwrap(), None);
    assert_eq!(store.link_by_member(&t, &i.id, &"m2".into()).await.unwrap(), None);
}

pub async fn link_lists_filter_search_and_page(store: S) {
    let t = tenant_id();
    let i = integration(&t, Platform::Feishu);
    store.create_integration(&i).await.unwrap();
    for n in 0..25 {
        store.put_member(&member(&t, &format!("m{n:02}"), &format!("Person {n:02}"))).await.unwrap();
        if n % 5 == 0 {
            store.put_link(&link(&t, &i.id, &format!("m{n:02}"), &format!("ou_{n}"))).await.unwrap();
        }
    }
    let q = |filter, search: Option<&str>| LinkQuery { filter, search: search.map(Into::into), after: None, limit: 10 };
    assert_eq!(store.list_links(&t, &i.id, &q(LinkFilter::Linked, None)).await.unwrap().rows.len(), 5);
    let unlinked = store.list_links(&t, &i.id, &q(LinkFilter::Unlinked, None)).await.unwrap();
    assert_eq!(unlinked.rows.len(), 10);
    assert!(unlinked.rows.iter().all(|r| r.link.is_none()));
    let found = store.list_links(&t, &i.id, &q(LinkFilter::All, Some("person 1"))).await.unwrap();
    assert_eq!(found.rows.len(), 10, "Person 10..19");
    let mut seen = Vec::new();
    let mut query = q(LinkFilter::All, None);
    loop {
        let page = store.list_links(&t, &i.id, &query).await.unwrap();
        seen.extend(page.rows.into_iter().map(|r| r.member.id.0));
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25, "every member exactly once across pages: {seen:?}");
}

pub async fn deleting_an_integration_releases_its_war_room_and_links(store: S) {
    let t = tenant_id();
    let i = integration(&t, Platform::Slack);
    store.create_integration(&i).await.unwrap();
    store.enable_war_room(&t, &i.id).await.unwrap();
    store.put_link(&link(&t, &i.id, "m1", "U1")).await.unwrap();
    store.delete_integration(&t, &i.id).await.unwrap();
    assert_eq!(store.get_integration(&i.id).await.unwrap(), None);
    assert_eq!(store.find_integration_by_external(Platform::Slack, i.external_id.as_deref().unwrap()).await.unwrap(), None);
    assert_eq!(store.war_room_integration(&t).await.unwrap(), None);
    assert_eq!(store.link_by_im_user(&t, &i.id, &"U1".into()).await.unwrap(), None);
    let next = integration(&t, Platform::Feishu);
    store.create_integration(&next).await.unwrap();
    store.enable_war_room(&t, &next.id).await.expect("the guard was released");
}
