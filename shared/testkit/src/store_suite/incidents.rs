//! Incidents, timeline, chats, captured messages.

use crate::fixtures::*;
use std::sync::Arc;
use warroom_core::*;

type S = Arc<dyn Store>;

pub async fn an_incident_is_created_at_version_one_and_found_by_its_source(store: S) {
    let t = tenant_id();
    let inc = incident(&t, "alert-1", T0);
    let created = store.create_incident(&inc).await.unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(store.get_incident(&t, &inc.id).await.unwrap(), Some(created.clone()));
    assert_eq!(store.find_incident_by_source(&t, &inc.source).await.unwrap(), Some(created));
    let other = SourceRef { source: "alertmanager".into(), external_id: "alert-1".into() };
    assert_eq!(store.find_incident_by_source(&t, &other).await.unwrap(), None);
    assert_eq!(store.find_incident_by_source(&tenant_id(), &inc.source).await.unwrap(), None, "sources are per tenant");
}

pub async fn a_second_incident_for_the_same_source_is_refused(store: S) {
    let t = tenant_id();
    let first = incident(&t, "dup", T0);
    store.create_incident(&first).await.unwrap();
    let second = incident(&t, "dup", T0);
    assert!(matches!(store.create_incident(&second).await, Err(StoreError::AlreadyExists { .. })));
    assert_eq!(store.get_incident(&t, &second.id).await.unwrap(), None, "nothing half-written");
    assert_eq!(store.find_incident_by_source(&t, &first.source).await.unwrap().unwrap().id, first.id);
}

pub async fn updates_are_guarded_by_version(store: S) {
    let t = tenant_id();
    let mut inc = store.create_incident(&incident(&t, "v", T0)).await.unwrap();
    inc.apply(Action::Acknowledge, T0).unwrap();
    let v2 = store.update_incident(&inc).await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(store.get_incident(&t, &inc.id).await.unwrap().unwrap().status, Status::Acknowledged);
    // `inc` still says version 1: someone else already moved on.
    let mut stale = inc.clone();
    stale.title = "overwritten".into();
    assert!(matches!(store.update_incident(&stale).await, Err(StoreError::VersionConflict { expected: 1 })));
    assert_eq!(store.get_incident(&t, &inc.id).await.unwrap().unwrap().title, inc.title);
    let ghost = incident(&t, "ghost", T0);
    assert!(matches!(store.update_incident(&Incident { version: 1, ..ghost }).await, Err(StoreError::NotFound { .. })));
}

pub async fn ten_concurrent_updates_from_one_version_let_exactly_one_through(store: S) {
    let t = tenant_id();
    let inc = store.create_incident(&incident(&t, "race", T0)).await.unwrap();
    let tasks = (0..10).map(|n| {
        let store = store.clone();
        let mut mine = inc.clone();
        mine.title = format!("writer {n}");
        tokio::spawn(async move { store.update_incident(&mine).await })
    });
    let results: Vec<_> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), 1, "{results:?}");
    assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(StoreError::VersionConflict { .. }))));
    let stored = store.get_incident(&t, &inc.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.title, ok[0].title);
}

pub async fn incidents_list_newest_first_across_pages(store: S) {
    let t = tenant_id();
    let mut ids = Vec::new();
    for n in 0..7 {
        let inc = incident(&t, &format!("e{n}"), Timestamp(T0.0 + n * 1000));
        store.create_incident(&inc).await.unwrap();
        ids.push(inc.id);
    }
    store.create_incident(&incident(&tenant_id(), "elsewhere", T0)).await.unwrap();
    ids.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let page = store.list_incidents(&t, cursor.as_deref(), 3).await.unwrap();
        assert!(page.incidents.len() <= 3);
        seen.extend(page.incidents.into_iter().map(|i| i.id));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids);
}

/// The cursor's documented shape (`{created:015}.{id}`): any such text is a position in
/// the list, whether or not an incident is there; any other text is refused as invalid.
pub async fn any_cursor_of_the_documented_shape_is_a_position_in_the_list(store: S) {
    let t = tenant_id();
    let (older, newer) = (incident(&t, "old", Timestamp(10_000)), incident(&t, "new", Timestamp(30_000)));
    store.create_incident(&older).await.unwrap();
    store.create_incident(&newer).await.unwrap();
    let page = store.list_incidents(&t, None, 1).await.unwrap();
    let next = page.next.expect("a second page");
    assert!(
        next.split_once('.')
            .is_some_and(|(time, id)| time.len() == 15 && time.bytes().all(|b| b.is_ascii_digit()) && id == older.id.as_str() || id == newer.id.as_str()),
        "{next}"
    );
    // Between the two, at no incident: only the older one is after it.
    let between = store.list_incidents(&t, Some("000000000020000.inc_nowhere"), 10).await.unwrap();
    assert_eq!(between.incidents.iter().map(|i| &i.id).collect::<Vec<_>>(), [&older.id]);
    assert_eq!(between.next, None);
    // Before everything: nothing after it.
    assert!(store.list_incidents(&t, Some("000000000000001.a"), 10).await.unwrap().incidents.is_empty());
    for bad in ["", "next", "000000000020000#inc_x", "20000.inc_x"] {
        assert!(matches!(store.list_incidents(&t, Some(bad), 10).await, Err(StoreError::Invalid(_))), "{bad:?}");
    }
}

pub async fn the_timeline_is_ordered_and_never_overwritten(store: S) {
    let t = tenant_id();
    let inc = store.create_incident(&incident(&t, "tl", T0)).await.unwrap();
    let later = entry(&inc, Timestamp(T0.0 + 5), TimelineAction::CardPosted, "card");
    let first = entry(&inc, T0, TimelineAction::WarRoomCreated, "chat C1");
    let same_ms = entry(&inc, Timestamp(T0.0 + 5), TimelineAction::MemberInvited, "U1");
    for e in [&later, &first, &same_ms] {
        store.append_timeline(e).await.unwrap();
    }
    let forged = TimelineEntry { detail: "rewritten".into(), ..first.clone() };
    assert!(matches!(store.append_timeline(&forged).await, Err(StoreError::AlreadyExists { .. })));
    let got = store.list_timeline(&t, &inc.id).await.unwrap();
    assert_eq!(got, vec![first, later, same_ms]);
}

pub async fn chats_lead_back_to_their_incident(store: S) {
    let t = tenant_id();
    let chat = ChatRef { tenant_id: t.clone(), integration_id: "int_1".into(), chat_id: "C1".into(), incident_id: "inc_1".into() };
    assert_eq!(store.find_chat(&chat.integration_id, &chat.chat_id).await.unwrap(), None);
    store.put_chat_ref(&chat).await.unwrap();
    assert_eq!(store.find_chat(&chat.integration_id, &chat.chat_id).await.unwrap(), Some(chat.clone()));
    assert_eq!(store.find_chat(&"int_2".into(), &chat.chat_id).await.unwrap(), None);
}

pub async fn captured_messages_are_ordered_and_stored_once(store: S) {
    let t = tenant_id();
    let inc: IncidentId = "inc_m".into();
    let msg = |id: &str, at: i64| ChatMessage { id: id.into(), at: Timestamp(at), author: "U1".into(), text: format!("text {id}") };
    store.append_chat_message(&t, &inc, &msg("b", 20)).await.unwrap();
    store.append_chat_message(&t, &inc, &msg("a", 10)).await.unwrap();
    store.append_chat_message(&t, &inc, &msg("a", 10)).await.expect("a redelivered message is not an error");
    let got = store.list_chat_messages(&t, &inc).await.unwrap();
    assert_eq!(got, vec![msg("a", 10), msg("b", 20)]);
}

/// A duplicate is the platform's message id within the incident: a redelivery under
/// another time is the same message (the first capture stands), and the same id in
/// another incident is another message.
pub async fn a_message_id_redelivered_at_another_time_is_stored_once_per_incident(store: S) {
    let t = tenant_id();
    let (inc, other): (IncidentId, IncidentId) = ("inc_a".into(), "inc_b".into());
    let msg = |id: &str, at: i64| ChatMessage { id: id.into(), at: Timestamp(at), author: "U1".into(), text: format!("{id} at {at}") };
    store.append_chat_message(&t, &inc, &msg("m2", 30)).await.unwrap();
    store.append_chat_message(&t, &inc, &msg("m1", 20)).await.unwrap();
    store.append_chat_message(&t, &inc, &msg("m1", 50)).await.expect("a redelivery under another time is not an error");
    store.append_chat_message(&t, &inc, &msg("m1", 5)).await.unwrap();
    store.append_chat_message(&t, &inc, &msg("m0", 30)).await.unwrap();
    store.append_chat_message(&t, &other, &msg("m1", 40)).await.unwrap();
    let got = store.list_chat_messages(&t, &inc).await.unwrap();
    assert_eq!(got, vec![msg("m1", 20), msg("m0", 30), msg("m2", 30)], "by time, then id; the first capture of m1 kept");
    assert_eq!(store.list_chat_messages(&t, &other).await.unwrap(), vec![msg("m1", 40)]);
}

/// Post-mortem versions are kept in order; a version number is written once (two drafts
/// racing for it: one is refused), and another incident's versions are its own.
pub async fn post_mortem_versions_are_kept_in_order_and_never_overwritten(store: S) {
    let t = tenant_id();
    let (inc, other): (IncidentId, IncidentId) = ("inc_pm".into(), "inc_pm2".into());
    let pm = |incident: &IncidentId, version: u32, summary: &str| Postmortem {
        tenant_id: t.clone(),
        incident_id: incident.clone(),
        version,
        created_at: Timestamp(T0.0 + i64::from(version)),
        requested_by: Actor::System,
        model: ModelInfo { provider: "openai-compatible".into(), model: "m".into() },
        prompt_version: "p".into(),
        usage: Some(TokenUsage { input: 10, output: 5 }),
        latency_ms: 7,
        material: Default::default(),
        review: warroom_core::postmortem::Review { summary: summary.into(), ..Default::default() },
        corrections: vec!["owner dropped".into()],
    };
    assert!(store.list_postmortems(&t, &inc).await.unwrap().is_empty());
    for v in [2, 1, 10] {
        store.put_postmortem(&pm(&inc, v, &format!("v{v}"))).await.unwrap();
    }
    let again = store.put_postmortem(&pm(&inc, 2, "second draft for 2")).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists { .. })), "{again:?}");
    store.put_postmortem(&pm(&other, 1, "other")).await.unwrap();
    let got = store.list_postmortems(&t, &inc).await.unwrap();
    assert_eq!(got.iter().map(|p| p.version).collect::<Vec<_>>(), vec![1, 2, 10], "numeric order");
    assert_eq!(got[1], pm(&inc, 2, "v2"), "round-trips whole; the first write of 2 stands");
    assert_eq!(store.list_postmortems(&t, &other).await.unwrap().len(), 1);
    assert!(store.list_postmortems(&"other-tenant".into(), &inc).await.unwrap().is_empty());
}
