use super::*;
use warroom_core::ManualClock;

const NO_WAIT: Duration = Duration::ZERO;

fn queue() -> (MemoryQueue, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at(Timestamp::from_secs(1_000_000)));
    let config = MemoryQueueConfig { visibility_timeout: Duration::from_secs(30), max_receive_count: 3 };
    (MemoryQueue::new(config, clock.clone()), clock)
}

fn job(incident: &str, version: u64) -> Job {
    Job::reconcile("t1".into(), incident.into(), version)
}

fn bodies(ds: &[Delivery]) -> Vec<Job> {
    ds.iter().map(|d| d.job().unwrap()).collect()
}

#[tokio::test]
async fn a_group_with_a_message_in_flight_delivers_nothing_else_until_it_is_acked() {
    let (q, _clock) = queue();
    q.send(&job("a", 1)).await.unwrap();
    let first = q.receive(1, NO_WAIT).await.unwrap();
    assert_eq!(bodies(&first), vec![job("a", 1)]);
    q.send(&job("a", 2)).await.unwrap();
    assert!(q.receive(10, NO_WAIT).await.unwrap().is_empty(), "group a is blocked");

    q.ack(&first[0].receipt).await.unwrap();
    let second = q.receive(10, NO_WAIT).await.unwrap();
    assert_eq!(bodies(&second), vec![job("a", 2)]);
    assert_eq!(second[0].group, "t1.inc.a");
    assert_eq!(second[0].receive_count, 1);
}

#[tokio::test]
async fn one_receive_returns_a_groups_messages_in_order_and_other_groups_keep_flowing() {
    let (q, _clock) = queue();
    q.send(&job("a", 1)).await.unwrap();
    q.send(&job("b", 1)).await.unwrap();
    q.send(&job("a", 2)).await.unwrap();
    let got = q.receive(10, NO_WAIT).await.unwrap();
    assert_eq!(bodies(&got), vec![job("a", 1), job("b", 1), job("a", 2)]);
    assert_eq!(q.in_flight(), 3);

    // A new message of a blocked group waits; a new group does not.
    q.send(&job("a", 3)).await.unwrap();
    q.send(&job("c", 1)).await.unwrap();
    assert_eq!(bodies(&q.receive(10, NO_WAIT).await.unwrap()), vec![job("c", 1)]);
}

#[tokio::test]
async fn receive_honours_max_and_rejects_counts_outside_one_to_ten() {
    let (q, _clock) = queue();
    for v in 1..=3 {
        q.send(&job("a", v)).await.unwrap();
    }
    assert_eq!(bodies(&q.receive(2, NO_WAIT).await.unwrap()), vec![job("a", 1), job("a", 2)]);
    for bad in [0, 11] {
        assert!(matches!(q.receive(bad, NO_WAIT).await, Err(QueueError::Invalid(_))), "max {bad}");
    }
}

#[tokio::test]
async fn the_same_dedup_id_is_dropped_within_five_minutes_and_accepted_after() {
    let (q, clock) = queue();
    q.send(&job("a", 1)).await.unwrap();
    q.send(&job("a", 1)).await.unwrap();
    assert_eq!(q.len(), 1);

    // Still deduplicated after the first was acked, within the window.
    let got = q.receive(10, NO_WAIT).await.unwrap();
    q.ack(&got[0].receipt).await.unwrap();
    clock.advance(Duration::from_secs(299));
    q.send(&job("a", 1)).await.unwrap();
    assert!(q.is_empty());

    // A different key is new work at any time; the same key is accepted after the window.
    q.send(&job("a", 2)).await.unwrap();
    clock.advance(Duration::from_secs(1));
    q.send(&job("a", 1)).await.unwrap();
    assert_eq!(q.len(), 2);
}

#[tokio::test]
async fn an_unacked_message_comes_back_after_the_visibility_timeout_with_a_new_receipt() {
    let (q, clock) = queue();
    q.send(&job("a", 1)).await.unwrap();
    let first = q.receive(1, NO_WAIT).await.unwrap();
    clock.advance(Duration::from_secs(29));
    assert!(q.receive(1, NO_WAIT).await.unwrap().is_empty());
    clock.advance(Duration::from_secs(1));
    let again = q.receive(1, NO_WAIT).await.unwrap();
    assert_eq!(again[0].message_id, first[0].message_id);
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(again[0].receipt, first[0].receipt);
}

#[tokio::test]
async fn a_stale_receipt_is_refused_after_redelivery_ack_or_expiry() {
    let (q, clock) = queue();
    q.send(&job("a", 1)).await.unwrap();
    let first = q.receive(1, NO_WAIT).await.unwrap();
    clock.advance(Duration::from_secs(30));
    // Expired but not yet re-delivered.
    assert!(matches!(q.ack(&first[0].receipt).await, Err(QueueError::StaleReceipt)));
    let again = q.receive(1, NO_WAIT).await.unwrap();
    assert!(matches!(q.ack(&first[0].receipt).await, Err(QueueError::StaleReceipt)));
    assert!(matches!(q.defer(&first[0].receipt, NO_WAIT).await, Err(QueueError::StaleReceipt)));
    q.ack(&again[0].receipt).await.unwrap();
    assert!(matches!(q.ack(&again[0].receipt).await, Err(QueueError::StaleReceipt)));
    assert!(matches!(q.ack("never-issued").await, Err(QueueError::StaleReceipt)));
}

#[tokio::test]
async fn defer_keeps_the_message_and_its_group_invisible_for_the_delay() {
    let (q, clock) = queue();
    q.send(&job("a", 1)).await.unwrap();
    q.send(&job("a", 2)).await.unwrap();
    let got = q.receive(1, NO_WAIT).await.unwrap();
    q.defer(&got[0].receipt, Duration::from_secs(120)).await.unwrap();

    clock.advance(Duration::from_secs(119));
    assert!(q.receive(10, NO_WAIT).await.unwrap().is_empty(), "deferral outlives the visibility timeout");
    // The receipt stays valid while the message is deferred.
    q.defer(&got[0].receipt, Duration::from_secs(5)).await.unwrap();
    clock.advance(Duration::from_secs(5));
    let again = q.receive(10, NO_WAIT).await.unwrap();
    assert_eq!(bodies(&again), vec![job("a", 1), job("a", 2)]);
    assert_eq!(again[0].receive_count, 2);
}

#[tokio::test]
async fn defer_zero_makes_the_message_visible_at_once_and_defer_is_capped() {
    let (q, clock) = queue();
    q.send(&job("a", 1)).await.unwrap();
    let got = q.receive(1, NO_WAIT).await.unwrap();
    q.defer(&got[0].receipt, Duration::ZERO).await.unwrap();
    let again = q.receive(1, NO_WAIT).await.unwrap();
    assert_eq!(again[0].message_id, got[0].message_id);

    q.defer(&again[0].receipt, Duration::from_secs(365 * 24 * 3600)).await.unwrap();
    clock.advance(MAX_DEFER);
    assert_eq!(q.receive(1, NO_WAIT).await.unwrap().len(), 1);
}

#[tokio::test]
async fn after_max_receives_a_message_goes_to_the_dead_letters_and_unblocks_its_group() {
    let (q, clock) = queue();
    q.send(&job("a", 1)).await.unwrap();
    q.send(&job("a", 2)).await.unwrap();
    for n in 1..=3 {
        let got = q.receive(1, NO_WAIT).await.unwrap();
        assert_eq!((bodies(&got), got[0].receive_count), (vec![job("a", 1)], n));
        clock.advance(Duration::from_secs(30));
    }
    let next = q.receive(1, NO_WAIT).await.unwrap();
    assert_eq!(bodies(&next), vec![job("a", 2)]);

    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(bodies(&dead), vec![job("a", 1)]);
    assert_eq!(dead[0].receive_count, 3);
    assert_eq!(q.dead_letters(10).await.unwrap().len(), 1, "peeking does not take");
}

#[tokio::test]
async fn redrive_returns_dead_letters_to_the_end_of_their_group_as_fresh_messages() {
    let (q, clock) = queue();
    q.send(&job("a", 1)).await.unwrap();
    for _ in 0..3 {
        q.receive(1, NO_WAIT).await.unwrap();
        clock.advance(Duration::from_secs(30));
    }
    assert!(q.receive(1, NO_WAIT).await.unwrap().is_empty());
    assert_eq!(q.dead_letters(10).await.unwrap().len(), 1);

    // Its dedup id is still inside the window: redrive must not be deduplicated.
    assert_eq!(q.redrive_dead_letters().await.unwrap(), 1);
    assert!(q.dead_letters(10).await.unwrap().is_empty());
    let got = q.receive(10, NO_WAIT).await.unwrap();
    assert_eq!(bodies(&got), vec![job("a", 1)]);
    assert_eq!(got[0].receive_count, 1);
    assert_eq!(q.redrive_dead_letters().await.unwrap(), 0);
}

#[tokio::test]
async fn a_waiting_receive_wakes_when_a_message_is_sent() {
    let (q, _clock) = queue();
    let q = Arc::new(q);
    let sender = q.clone();
    let started = std::time::Instant::now();
    let send = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        sender.send(&job("a", 1)).await.unwrap();
    });
    let got = q.receive(10, Duration::from_secs(10)).await.unwrap();
    send.await.unwrap();
    assert_eq!(bodies(&got), vec![job("a", 1)]);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_waiting_receive_sees_a_visibility_deadline_pass_and_gives_up_after_wait() {
    let (q, clock) = queue();
    let q = Arc::new(q);
    q.send(&job("a", 1)).await.unwrap();
    q.receive(1, NO_WAIT).await.unwrap();

    let started = std::time::Instant::now();
    assert!(q.receive(1, Duration::from_millis(150)).await.unwrap().is_empty());
    assert!(started.elapsed() >= Duration::from_millis(150));

    let mover = clock.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        mover.advance(Duration::from_secs(30));
    });
    let got = q.receive(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(got[0].receive_count, 2);
}
