//! The embedded adapter's own tests: races, TTL, paging, links (the file on disk is in
//! `file_tests`). The conformance suite (warroom-testkit) checks the whole port against
//! both adapters.

use super::EmbeddedStore;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::links::LinkQuery;
use warroom_core::ratelimit::{BucketSpec, Take};
use warroom_core::*;

pub(super) fn store() -> Arc<EmbeddedStore> {
    Arc::new(EmbeddedStore::open_temporary().expect("in-memory store"))
}

pub(super) fn tenant() -> TenantId {
    "acme".into()
}

pub(super) fn integration(id: &str, external: Option<&str>) -> Integration {
    Integration {
        tenant_id: tenant(),
        id: id.into(),
        platform: Platform::Slack,
        name: format!("slack {id}"),
        external_id: external.map(Into::into),
        credentials: SealedCredentials("sealed".into()),
        granted_scopes: vec![],
        war_room_enabled: false,
        status: IntegrationStatus::Active,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
        version: 0,
    }
}

pub(super) fn member(id: &str) -> Member {
    Member { tenant_id: tenant(), id: id.into(), name: id.to_uppercase(), email: None, phone: None, role: Default::default(), updated_at: Timestamp(0) }
}

pub(super) fn link(integration: &str, member: &str, user: &str) -> UserLink {
    UserLink {
        tenant_id: tenant(),
        integration_id: integration.into(),
        member_id: member.into(),
        im_user_id: user.into(),
        method: LinkMethod::Manual,
        linked_at: Timestamp(0),
    }
}

pub(super) fn incident(id: &str, created_ms: i64) -> Incident {
    Incident {
        tenant_id: tenant(),
        id: id.into(),
        source: SourceRef { source: "generic".into(), external_id: format!("ext-{id}") },
        title: format!("incident {id}"),
        description: String::new(),
        severity: Severity::Critical,
        status: Status::Triggered,
        snoozed_until: None,
        responders: vec![],
        labels: Default::default(),
        url: None,
        created_at: Timestamp(created_ms),
        updated_at: Timestamp(created_ms),
        source_updated_at: Timestamp(created_ms),
        war_room: WarRoom::default(),
        synced: None,
        version: 0,
    }
}

#[tokio::test]
async fn a_second_integration_cannot_take_the_war_room() {
    let s = store();
    let t = tenant();
    s.create_integration(&integration("a", None)).await.unwrap();
    s.create_integration(&integration("b", None)).await.unwrap();
    s.enable_war_room(&t, &"a".into()).await.unwrap();
    s.enable_war_room(&t, &"a".into()).await.expect("idempotent for the holder");

    let err = s.enable_war_room(&t, &"b".into()).await.unwrap_err();
    assert!(matches!(&err, StoreError::WarRoomTaken { integration_id } if integration_id.as_str() == "a"), "{err:?}");
    s.disable_war_room(&t, &"b".into()).await.expect("a no-op for a non-holder");
    assert_eq!(s.war_room_integration(&t).await.unwrap(), Some("a".into()));

    s.disable_war_room(&t, &"a".into()).await.unwrap();
    assert!(!s.get_integration(&"a".into()).await.unwrap().unwrap().war_room_enabled);
    s.enable_war_room(&t, &"b".into()).await.expect("free once released");
    assert!(s.get_integration(&"b".into()).await.unwrap().unwrap().war_room_enabled);
}

#[tokio::test]
async fn twenty_concurrent_enables_leave_exactly_one_holder() {
    let s = store();
    for n in 0..20 {
        s.create_integration(&integration(&format!("i{n:02}"), None)).await.unwrap();
    }
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let s = s.clone();
            tokio::spawn(async move { s.enable_war_room(&tenant(), &format!("i{n:02}").as_str().into()).await })
        })
        .collect();
    let mut winners = 0;
    let holder = loop {
        if let Some(h) = s.war_room_integration(&tenant()).await.unwrap() {
            break h;
        }
        tokio::task::yield_now().await;
    };
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => winners += 1,
            Err(StoreError::WarRoomTaken { integration_id }) => assert_eq!(integration_id, holder),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners, 1);
    let flagged: Vec<_> = s.list_integrations(&tenant()).await.unwrap().into_iter().filter(|i| i.war_room_enabled).collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].id, holder);
}

#[tokio::test]
async fn concurrent_dedupe_claims_have_one_winner_until_the_claim_expires() {
    let s = store();
    let now = Timestamp(1_000);
    let ttl = Duration::from_secs(60);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.claim_dedupe("evt-1", ttl, now).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert!(!s.claim_dedupe("evt-1", ttl, now.plus(Duration::from_secs(59))).await.unwrap());
    assert!(s.claim_dedupe("evt-1", ttl, now.plus(ttl)).await.unwrap(), "an expired claim can be claimed again");
}

#[tokio::test]
async fn concurrent_takes_never_grant_more_than_the_capacity() {
    let s = store();
    let spec = BucketSpec::per("slack.T1.chat.postMessage", 10, Duration::from_secs(1));
    let now = Timestamp(50_000);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (s, spec) = (s.clone(), spec.clone());
            tokio::spawn(async move { s.take_tokens(&spec, 1, now).await.unwrap() })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        granted += usize::from(t.await.unwrap() == Take::Granted);
    }
    assert_eq!(granted, 10);
    assert_eq!(s.take_tokens(&spec, 1, now.plus(Duration::from_millis(100))).await.unwrap(), Take::Granted, "refilled");
    let err = s.take_tokens(&spec, 11, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn a_taken_value_goes_to_exactly_one_caller_and_expired_values_read_as_absent() {
    let s = store();
    let now = Timestamp(0);
    s.put_ephemeral("state", "v", Duration::from_secs(10), now).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.take_ephemeral("state", now).await.unwrap() })
        })
        .collect();
    let mut got = Vec::new();
    for t in tasks {
        got.extend(t.await.unwrap());
    }
    assert_eq!(got, ["v"]);

    s.put_ephemeral("token", "t", Duration::from_secs(10), now).await.unwrap();
    assert_eq!(s.get_ephemeral("token", Timestamp(9_999)).await.unwrap().as_deref(), Some("t"));
    assert_eq!(s.get_ephemeral("token", Timestamp(10_000)).await.unwrap(), None);
    assert_eq!(s.take_ephemeral("token", Timestamp(10_000)).await.unwrap(), None);
    assert_eq!(s.purge_expired(Timestamp(10_000)).await.unwrap(), 0, "the expired take already deleted it");
    s.claim_dedupe("old", Duration::from_secs(1), now).await.unwrap();
    assert_eq!(s.purge_expired(Timestamp(10_000)).await.unwrap(), 1);
}

#[tokio::test]
async fn stale_incident_updates_conflict_and_fresh_ones_bump_the_version() {
    let s = store();
    let created = s.create_incident(&incident("i1", 5)).await.unwrap();
    assert_eq!(created.version, 1);
    let dup = incident("other-id", 6);
    let dup = Incident { source: created.source.clone(), ..dup };
    assert!(matches!(s.create_incident(&dup).await, Err(StoreError::AlreadyExists { .. })));
    assert_eq!(s.find_incident_by_source(&tenant(), &created.source).await.unwrap(), Some(created.clone()));

    let mut edit = created.clone();
    edit.status = Status::Acknowledged;
    let updated = s.update_incident(&edit).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(s.get_incident(&tenant(), &"i1".into()).await.unwrap(), Some(updated));
    let err = s.update_incident(&edit).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict { expected: 1 }), "{err:?}");
    assert!(err.is_retryable());
    assert!(matches!(s.update_incident(&incident("gone", 1)).await, Err(StoreError::NotFound { .. })));
}

#[tokio::test]
async fn incidents_page_newest_first_and_cursors_walk_every_one_once() {
    let s = store();
    for n in 0..7 {
        s.create_incident(&incident(&format!("i{n}"), 1_000 + n)).await.unwrap();
    }
    let other = Incident { tenant_id: "other".into(), ..incident("x", 9_999) };
    s.create_incident(&other).await.unwrap();

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = s.list_incidents(&tenant(), cursor.as_deref(), 3).await.unwrap();
        seen.extend(page.incidents.into_iter().map(|i| i.id.0));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["i6", "i5", "i4", "i3", "i2", "i1", "i0"]);
    let one = s.list_incidents(&tenant(), None, 0).await.unwrap();
    assert_eq!(one.incidents.len(), 1, "limit 0 is clamped to 1");
    let exact = s.list_incidents(&tenant(), None, 7).await.unwrap();
    assert_eq!((exact.incidents.len(), exact.next), (7, None), "no cursor when nothing is left");
    let bad = s.list_incidents(&tenant(), Some("not-a-cursor"), 3).await.unwrap_err();
    assert!(matches!(bad, StoreError::Invalid(_)), "{bad:?}");
}

#[tokio::test]
async fn relinking_either_side_keeps_links_one_to_one() {
    let s = store();
    let (t, i) = (tenant(), IntegrationId::from("int"));
    s.put_link(&link("int", "m1", "U1")).await.unwrap();
    s.put_link(&link("int", "m1", "U2")).await.unwrap();
    assert_eq!(s.link_by_im_user(&t, &i, &"U1".into()).await.unwrap(), None, "m1's old user is unlinked");
    s.put_link(&link("int", "m2", "U2")).await.unwrap();
    assert_eq!(s.link_by_member(&t, &i, &"m1".into()).await.unwrap(), None, "U2's old member is unlinked");
    assert_eq!(s.link_by_im_user(&t, &i, &"U2".into()).await.unwrap().unwrap().member_id, "m2".into());
}

#[tokio::test]
async fn deleting_a_member_or_an_integration_removes_their_links() {
    let s = store();
    let t = tenant();
    for id in ["a", "b"] {
        s.create_integration(&integration(id, Some(&format!("T{id}")))).await.unwrap();
    }
    for m in ["m1", "m2"] {
        s.put_member(&member(m)).await.unwrap();
    }
    s.put_link(&link("a", "m1", "U1")).await.unwrap();
    s.put_link(&link("b", "m1", "U9")).await.unwrap();
    s.put_link(&link("a", "m2", "U2")).await.unwrap();

    s.delete_member(&t, &"m1".into()).await.unwrap();
    assert_eq!(s.link_by_im_user(&t, &"a".into(), &"U1".into()).await.unwrap(), None);
    assert_eq!(s.link_by_im_user(&t, &"b".into(), &"U9".into()).await.unwrap(), None);
    let page = s.list_links(&t, &"a".into(), &LinkQuery::default()).await.unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].link.as_ref().map(|l| l.im_user_id.as_str()), Some("U2"));

    s.enable_war_room(&t, &"a".into()).await.unwrap();
    s.delete_integration(&t, &"a".into()).await.unwrap();
    assert_eq!(s.link_by_member(&t, &"a".into(), &"m2".into()).await.unwrap(), None);
    assert_eq!(s.get_integration(&"a".into()).await.unwrap(), None);
    assert_eq!(s.find_integration_by_external(Platform::Slack, "Ta").await.unwrap(), None);
    assert_eq!(s.war_room_integration(&t).await.unwrap(), None, "the guard goes with its holder");
    s.create_integration(&integration("a", Some("Ta"))).await.expect("id and external id are free again");
}

#[tokio::test]
async fn integration_updates_keep_the_war_room_flag_and_move_the_external_pointer() {
    let s = store();
    s.create_integration(&integration("a", Some("T1"))).await.unwrap();
    s.create_integration(&integration("b", Some("T2"))).await.unwrap();
    let taken = s.create_integration(&integration("c", Some("T1"))).await.unwrap_err();
    assert!(matches!(taken, StoreError::AlreadyExists { .. }), "{taken:?}");
    let mut flagged = integration("d", None);
    flagged.war_room_enabled = true;
    assert!(matches!(s.create_integration(&flagged).await, Err(StoreError::Invalid(_))));

    s.enable_war_room(&tenant(), &"a".into()).await.unwrap();
    let moved = Integration { external_id: Some("T3".into()), war_room_enabled: false, ..integration("a", None) };
    s.update_integration(&moved).await.unwrap();
    let stored = s.find_integration_by_external(Platform::Slack, "T3").await.unwrap().unwrap();
    assert!(stored.war_room_enabled, "the flag only changes through enable/disable");
    assert_eq!(s.find_integration_by_external(Platform::Slack, "T1").await.unwrap(), None);
    let clash = Integration { external_id: Some("T2".into()), version: stored.version, ..integration("a", None) };
    assert!(matches!(s.update_integration(&clash).await, Err(StoreError::AlreadyExists { .. })));
    assert!(matches!(s.update_integration(&integration("zz", None)).await, Err(StoreError::NotFound { .. })));
}

#[tokio::test]
async fn chat_messages_are_stored_once_per_id_and_timeline_entries_never_overwritten() {
    let s = store();
    let (t, inc) = (tenant(), IncidentId::from("i1"));
    let msg = |id: &str, at| ChatMessage { id: id.into(), at: Timestamp(at), author: "U1".into(), text: id.into() };
    s.append_chat_message(&t, &inc, &msg("m2", 20)).await.unwrap();
    s.append_chat_message(&t, &inc, &msg("m1", 10)).await.unwrap();
    s.append_chat_message(&t, &inc, &msg("m1", 10)).await.unwrap();
    s.append_chat_message(&t, &inc, &msg("m1", 11)).await.unwrap();
    let ids: Vec<_> = s.list_chat_messages(&t, &inc).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(ids, ["m1", "m2"]);

    let entry = TimelineEntry::new(t.clone(), inc.clone(), Timestamp(5), Actor::System, TimelineAction::CardPosted, "");
    s.append_timeline(&entry).await.unwrap();
    let again = TimelineEntry { detail: "changed".into(), ..entry.clone() };
    assert!(matches!(s.append_timeline(&again).await, Err(StoreError::AlreadyExists { .. })));
    assert_eq!(s.list_timeline(&t, &inc).await.unwrap(), [entry]);
}
