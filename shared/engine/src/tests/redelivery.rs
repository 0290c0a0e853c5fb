//! Two runs of one job (SQS redelivers it past its visibility timeout while the first still
//! works): the IM calls are idempotent, and the timeline must be too — each invite, each
//! "could not be invited" noted once, by the run whose versioned write recorded it.

use super::*;
use crate::members::Reachable;
use TimelineAction as A;

#[tokio::test]
async fn a_racing_run_that_invites_from_a_stale_snapshot_notes_no_invite_a_second_time() {
    let w = World::new().await;
    w.engine.ingest(&w.tenant, w.event("e1", Status::Triggered, 0, &["Ada", "Bob"])).await.unwrap();
    w.drain().await;
    let now = w.incident("e1").await;
    assert_eq!(now.war_room.invited.len(), 2, "{:?}", now.war_room);
    assert_eq!(count(&w.actions(&now).await, A::MemberInvited), 2);

    // The other run read the incident before the invites were recorded.
    let mut stale = now.clone();
    stale.war_room.invited.clear();
    stale.version -= 1;
    let platform = w.engine.platforms.for_integration(&w.integration).unwrap();
    let chat = now.war_room.chat_id.clone().expect("the room's chat");
    let reachable: Vec<Reachable> =
        [("U_ADA", "Ada"), ("U_BOB", "Bob")].into_iter().map(|(user, display)| Reachable { user: ImUserId::new(user), display: display.into() }).collect();
    let after = w.engine.invite(platform.as_ref(), &chat, &reachable, stale).await.unwrap();

    assert_eq!(after.war_room.invited, now.war_room.invited);
    assert_eq!(count(&w.actions(&now).await, A::MemberInvited), 2, "each invite noted once");
}
