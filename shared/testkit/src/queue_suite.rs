//! The `JobQueue` conformance suite: SQS FIFO semantics, checked on every adapter with
//! real (short) waits, since the SQS emulator keeps its own time.

use std::sync::Arc;
use std::time::{Duration, Instant};
use warroom_core::*;

/// What a test asks of the queue it is given.
#[derive(Clone, Copy, Debug)]
pub struct QueueSettings {
    pub visibility_timeout: Duration,
    pub max_receive_count: u32,
}

type Q = Arc<dyn JobQueue>;

/// Expands to one `#[tokio::test]` per case. `$make` is a closure taking
/// [`QueueSettings`] and returning a future of `Arc<dyn JobQueue>`.
#[macro_export]
macro_rules! queue_conformance {
    ($make:expr, ignore = $why:literal) => {
        $crate::queue_conformance!(@list $make, [#[ignore = $why]]);
    };
    ($make:expr) => {
        $crate::queue_conformance!(@list $make, []);
    };
    (@list $make:expr, [$($attr:tt)*]) => {
        $crate::queue_conformance!(@cases $make, [$($attr)*];
            a_sent_job_arrives_once_with_its_group_and_a_first_receive_count,
            a_job_sent_twice_with_the_same_dedup_id_arrives_once,
            one_group_delivers_in_order_and_one_at_a_time,
            a_deferred_job_blocks_only_its_own_group,
            an_unacked_job_comes_back_after_the_visibility_timeout,
            a_job_received_too_often_moves_to_the_dead_letter_queue_and_can_be_redriven,
            an_empty_queue_answers_after_the_wait,
        );
    };
    (@cases $make:expr, $attr:tt; $($case:ident),+ $(,)?) => {
        $( $crate::queue_conformance!(@one $make, $attr, $case); )+
    };
    (@one $make:expr, [$($attr:tt)*], $case:ident) => {
        #[tokio::test]
        $($attr)*
        async fn $case() {
            $crate::queue_suite::$case(&$make).await;
        }
    };
}

fn job(tenant: &str, incident: &str, version: u64) -> Job {
    Job::reconcile(tenant.into(), incident.into(), version)
}

fn settings(visibility_secs: u64, max_receive_count: u32) -> QueueSettings {
    QueueSettings { visibility_timeout: Duration::from_secs(visibility_secs), max_receive_count }
}

/// Receives until `n` deliveries arrived or `within` passed.
async fn receive_n(q: &Q, n: usize, within: Duration) -> Vec<Delivery> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        got.extend(q.receive(10, Duration::from_secs(1)).await.unwrap());
    }
    got
}

fn bodies(ds: &[Delivery]) -> Vec<Job> {
    ds.iter().map(|d| d.job().unwrap()).collect()
}

pub async fn a_sent_job_arrives_once_with_its_group_and_a_first_receive_count<F, Fut>(make: &F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: std::future::Future<Output = Q>,
{
    let q = make(settings(30, 5)).await;
    let j = job("t1", "inc_a", 1);
    q.send(&j).await.unwrap();
    let got = receive_n(&q, 1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].job().unwrap(), j);
    assert_eq!(got[0].group, j.group());
    assert_eq!(got[0].receive_count, 1);
    q.ack(&got[0].receipt).await.unwrap();
    assert!(q.receive(10, Duration::from_secs(1)).await.unwrap().is_empty());
}

pub async fn a_job_sent_twice_with_the_same_dedup_id_arrives_once<F, Fut>(make: &F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: std::future::Future<Output = Q>,
{
    let q = make(settings(30, 5)).await;
    q.send(&job("t1", "inc_a", 7)).await.unwrap();
    q.send(&job("t1", "inc_a", 7)).await.unwrap();
    q.send(&job("t1", "inc_a", 8)).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        for d in q.receive(10, Duration::from_secs(1)).await.unwrap() {
            seen.push(d.job().unwrap());
            q.ack(&d.receipt).await.unwrap();
        }
    }
    assert_eq!(seen, vec![job("t1", "inc_a", 7), job("t1", "inc_a", 8)]);
}

pub async fn one_group_delivers_in_order_and_one_at_a_time<F, Fut>(make: &F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: std::future::Future<Output = Q>,
{
    let q = make(settings(30, 5)).await;
    for v in 1..=3 {
        q.send(&job("t1", "inc_a", v)).await.unwrap();
    }
    let first = q.receive(1, Duration::from_secs(2)).await.unwrap();
    assert_eq!(bodies(&first), vec![job("t1", "inc_a", 1)]);
    let while_in_flight = q.receive(10, Duration::from_secs(1)).await.unwrap();
    assert!(while_in_flight.is_empty(), "group is blocked while v1 is in flight: {while_in_flight:?}");
    q.ack(&first[0].receipt).await.unwrap();
    let mut rest = Vec::new();
    for _ in 0..4 {
        for d in q.receive(10, Duration::from_secs(1)).await.unwrap() {
            rest.push(d.job().unwrap());
            q.ack(&d.receipt).await.unwrap();
        }
    }
    assert_eq!(rest, vec![job("t1", "inc_a", 2), job("t1", "inc_a", 3)]);
}

pub async fn a_deferred_job_blocks_only_its_own_group<F, Fut>(make: &F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: std::future::Future<Output = Q>,
{
    let q = make(settings(30, 5)).await;
    q.send(&job("t1", "inc_a", 1)).await.unwrap();
    q.send(&job("t1", "inc_a", 2)).await.unwrap();
    let a1 = q.receive(1, Duration::from_secs(2)).await.unwrap();
    assert_eq!(bodies(&a1), vec![job("t1", "inc_a", 1)]);
    let deferred_at = Instant::now();
    q.defer(&a1[0].receipt, Duration::from_secs(3)).await.unwrap();

    q.send(&job("t1", "inc_b", 1)).await.unwrap();
    let b = receive_n(&q, 1, Duration::from_secs(2)).await;
    assert_eq!(bodies(&b), vec![job("t1", "inc_b", 1)], "the other group flows");
    q.ack(&b[0].receipt).await.unwrap();
    assert!(q.receive(10, Duration::from_secs(1)).await.unwrap().is_empty(), "group a waits");

    let again = receive_n(&q, 1, Duration::from_secs(6)).await;
    assert!(deferred_at.elapsed() >= Duration::from_millis(2900), "came back after {:?}", deferred_at.elapsed());
    assert_eq!(bodies(&again)[0], job("t1", "inc_a", 1), "the deferred job comes back first");
    assert_eq!(again[0].receive_count, 2);
}

pub async fn an_unacked_job_comes_back_after_the_visibility_timeout<F, Fut>(make: &F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: std::future::Future<Output = Q>,
{
    let q = make(settings(1, 5)).await;
    q.send(&job("t1", "inc_a", 1)).await.unwrap();
    let first = receive_n(&q, 1, Duration::from_secs(3)).await;
    assert_eq!(first.len(), 1);
    let second = receive_n(&q, 1, Duration::from_secs(5)).await;
    assert_eq!(bodies(&second), bodies(&first));
    assert_eq!(second[0].receive_count, 2);
    assert!(matches!(q.ack(&second[0].receipt).await, Ok(())));
}

pub async fn a_job_received_too_often_moves_to_the_dead_letter_queue_and_can_be_redriven<F, Fut>(make: &F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: std::future::Future<Output = Q>,
{
    let q = make(settings(30, 2)).await;
    let poison = job("t1", "inc_poison", 1);
    q.send(&poison).await.unwrap();
    for attempt in 1..=2 {
        let got = receive_n(&q, 1, Duration::from_secs(3)).await;
        assert_eq!(got.len(), 1, "attempt {attempt}");
        q.defer(&got[0].receipt, Duration::ZERO).await.unwrap();
    }
    // The third receive finds it over the limit: it moves to the dead-letter queue.
    assert!(receive_n(&q, 1, Duration::from_secs(2)).await.is_empty());
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(bodies(&dead), vec![poison.clone()]);
    assert_eq!(q.redrive_dead_letters().await.unwrap(), 1);
    let back = receive_n(&q, 1, Duration::from_secs(3)).await;
    assert_eq!(bodies(&back), vec![poison]);
    assert!(q.dead_letters(10).await.unwrap().is_empty());
}

pub async fn an_empty_queue_answers_after_the_wait<F, Fut>(make: &F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: std::future::Future<Output = Q>,
{
    let q = make(settings(30, 5)).await;
    let started = Instant::now();
    assert!(q.receive(10, Duration::from_secs(1)).await.unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(q.receive(11, Duration::ZERO).await, Err(QueueError::Invalid(_))), "at most 10 per receive");
}
