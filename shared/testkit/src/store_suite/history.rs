//! The newest of a timeline and a transcript, and one captured message by id: what the
//! assistant reads instead of the whole history.

use crate::fixtures::*;
use std::sync::Arc;
use warroom_core::*;

type S = Arc<dyn Store>;

fn msg(id: &str, at: i64) -> ChatMessage {
    ChatMessage { id: id.into(), at: Timestamp(at), author: "U1".into(), text: format!("{id} at {at}") }
}

pub async fn the_newest_timeline_entries_are_the_end_of_the_full_list_in_order(store: S) {
    let t = tenant_id();
    let inc = store.create_incident(&incident(&t, "newest-tl", T0)).await.unwrap();
    let other = store.create_incident(&incident(&t, "newest-tl-2", T0)).await.unwrap();
    for i in 0..25 {
        store.append_timeline(&entry(&inc, Timestamp(T0.0 + i), TimelineAction::MemberInvited, &format!("U{i}"))).await.unwrap();
    }
    store.append_timeline(&entry(&other, Timestamp(T0.0 + 99), TimelineAction::CardPosted, "other")).await.unwrap();
    let all = store.list_timeline(&t, &inc.id).await.unwrap();
    let newest = store.list_newest_timeline(&t, &inc.id, 10).await.unwrap();
    assert_eq!(newest.items, all[15..].to_vec(), "the last ten, oldest first");
    assert!(newest.older);
    let whole = store.list_newest_timeline(&t, &inc.id, 25).await.unwrap();
    assert_eq!((whole.items, whole.older), (all.clone(), false), "exactly all: nothing older");
    let more = store.list_newest_timeline(&t, &inc.id, 100).await.unwrap();
    assert_eq!((more.items.len(), more.older), (25, false));
    assert!(store.list_newest_timeline(&tenant_id(), &inc.id, 10).await.unwrap().items.is_empty(), "another tenant sees nothing");
    let none = store.list_newest_timeline(&t, &"inc_none".into(), 10).await.unwrap();
    assert_eq!((none.items.len(), none.older), (0, false));
}

pub async fn the_newest_messages_are_the_end_of_the_transcript_and_nothing_else_of_the_partition(store: S) {
    let t = tenant_id();
    let inc = store.create_incident(&incident(&t, "newest-msg", T0)).await.unwrap();
    for i in 0..30 {
        store.append_chat_message(&t, &inc.id, &msg(&format!("m{i:02}"), 100 + i)).await.unwrap();
    }
    // Items beside the messages in the same partition (timeline, markers) are never listed.
    store.append_timeline(&entry(&inc, Timestamp(T0.0 + 5), TimelineAction::CardPosted, "card")).await.unwrap();
    store.append_chat_message(&t, &inc.id, &msg("m29", 999)).await.expect("a redelivery");
    let all = store.list_chat_messages(&t, &inc.id).await.unwrap();
    assert_eq!(all.len(), 30);
    let newest = store.list_newest_chat_messages(&t, &inc.id, 7).await.unwrap();
    assert_eq!(newest.items, all[23..].to_vec());
    assert!(newest.older);
    let whole = store.list_newest_chat_messages(&t, &inc.id, 30).await.unwrap();
    assert_eq!((whole.items, whole.older), (all, false));
    assert!(store.list_newest_chat_messages(&tenant_id(), &inc.id, 7).await.unwrap().items.is_empty(), "another tenant sees nothing");
}

pub async fn a_captured_message_is_found_by_its_id_in_its_own_incident_only(store: S) {
    let t = tenant_id();
    let (inc, other): (IncidentId, IncidentId) = ("inc_g1".into(), "inc_g2".into());
    store.append_chat_message(&t, &inc, &msg("q1", 10)).await.unwrap();
    store.append_chat_message(&t, &inc, &msg("q1", 70)).await.unwrap();
    assert_eq!(store.get_chat_message(&t, &inc, "q1").await.unwrap(), Some(msg("q1", 10)), "the first capture stands");
    assert_eq!(store.get_chat_message(&t, &inc, "q2").await.unwrap(), None);
    assert_eq!(store.get_chat_message(&t, &other, "q1").await.unwrap(), None);
    assert_eq!(store.get_chat_message(&tenant_id(), &inc, "q1").await.unwrap(), None);
}
