//! The durable queue: what one process left in its journal (it "dies" here by being dropped
//! without a compaction: every change was written when it was made) is what the next one
//! finds, with SQS's semantics for a consumer that died. The real `kill -9` is exercised by
//! `infra/local/tests/crash_*.rs`.

use super::*;
use std::path::PathBuf;
use warroom_core::ManualClock;

const NO_WAIT: Duration = Duration::ZERO;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("warroom-queue-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn journal(&self) -> PathBuf {
        self.0.join("queue.journal")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config() -> MemoryQueueConfig {
    MemoryQueueConfig { visibility_timeout: Duration::from_secs(30), max_receive_count: 3 }
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at(Timestamp::from_secs(1_000_000)))
}

fn open(dir: &Dir, clock: &Arc<ManualClock>) -> (MemoryQueue, Recovered) {
    MemoryQueue::durable(dir.journal(), config(), clock.clone()).unwrap()
}

fn job(incident: &str, version: u64) -> Job {
    Job::reconcile("t1".into(), incident.into(), version)
}

fn bodies(ds: &[Delivery]) -> Vec<Job> {
    ds.iter().map(|d| d.job().unwrap()).collect()
}

#[tokio::test]
async fn every_accepted_job_survives_the_process_dying_in_send_order() {
    let (dir, clock) = (Dir::new("sends"), clock());
    let (q, recovered) = open(&dir, &clock);
    assert_eq!(recovered, Recovered::default());
    for (i, v) in [("a", 1), ("b", 1), ("a", 2)] {
        q.send(&job(i, v)).await.unwrap();
    }
    drop(q);

    let (q, recovered) = open(&dir, &clock);
    assert_eq!((recovered.live, recovered.were_in_flight, recovered.torn_tail), (3, 0, false));
    let got = q.receive(10, NO_WAIT).await.unwrap();
    assert_eq!(bodies(&got), vec![job("a", 1), job("b", 1), job("a", 2)]);
    assert!(got.iter().all(|d| d.receive_count == 1));
}

#[tokio::test]
async fn a_job_in_flight_when_the_process_died_is_visible_at_once_with_its_receive_count_kept() {
    let (dir, clock) = (Dir::new("in-flight"), clock());
    let (q, _) = open(&dir, &clock);
    q.send(&job("a", 1)).await.unwrap();
    q.send(&job("a", 2)).await.unwrap();
    let first = q.receive(1, NO_WAIT).await.unwrap();
    assert_eq!(first[0].receive_count, 1);
    drop(q);

    // No visibility timeout to wait out: whoever held it is gone.
    let (q, recovered) = open(&dir, &clock);
    assert_eq!((recovered.live, recovered.were_in_flight), (2, 1));
    let again = q.receive(10, NO_WAIT).await.unwrap();
    assert_eq!(bodies(&again), vec![job("a", 1), job("a", 2)]);
    assert_eq!((again[0].message_id.as_str(), again[0].receive_count), (first[0].message_id.as_str(), 2));
    assert!(matches!(q.ack(&first[0].receipt).await, Err(QueueError::StaleReceipt)), "the dead process's receipt is no good");
}

#[tokio::test]
async fn an_acked_job_never_comes_back_and_a_deferred_one_keeps_its_group_waiting_until_due() {
    let (dir, clock) = (Dir::new("ack-defer"), clock());
    let (q, _) = open(&dir, &clock);
    for (i, v) in [("a", 1), ("b", 1), ("b", 2)] {
        q.send(&job(i, v)).await.unwrap();
    }
    let got = q.receive(2, NO_WAIT).await.unwrap();
    q.ack(&got[0].receipt).await.unwrap();
    q.defer(&got[1].receipt, Duration::from_secs(120)).await.unwrap();
    drop(q);

    let (q, recovered) = open(&dir, &clock);
    assert_eq!((recovered.live, recovered.deferred, recovered.were_in_flight), (2, 1, 0));
    assert!(q.receive(10, NO_WAIT).await.unwrap().is_empty(), "b is deferred, a is done");
    drop(q);

    // The deferral ends while no process runs.
    clock.advance(Duration::from_secs(120));
    let (q, recovered) = open(&dir, &clock);
    assert_eq!((recovered.live, recovered.deferred), (2, 0));
    let again = q.receive(10, NO_WAIT).await.unwrap();
    assert_eq!(bodies(&again), vec![job("b", 1), job("b", 2)]);
    assert_eq!(again[0].receive_count, 2);
}

#[tokio::test]
async fn dead_letters_and_a_redrive_survive_and_message_ids_are_never_reused() {
    let (dir, clock) = (Dir::new("dead"), clock());
    let (q, _) = open(&dir, &clock);
    q.send(&job("a", 1)).await.unwrap();
    for _ in 0..3 {
        q.receive(1, NO_WAIT).await.unwrap();
        clock.advance(Duration::from_secs(30));
    }
    assert!(q.receive(1, NO_WAIT).await.unwrap().is_empty(), "a/1 died");
    q.send(&job("c", 1)).await.unwrap();
    let c = q.receive(1, NO_WAIT).await.unwrap();
    q.dead_letter(&c[0]).await.unwrap();
    q.ack(&c[0].receipt).await.unwrap();
    let ids_before: Vec<String> = q.dead_letters(10).await.unwrap().into_iter().map(|d| d.message_id).collect();
    drop(q);

    let (q, recovered) = open(&dir, &clock);
    assert_eq!((recovered.live, recovered.dead), (0, 2));
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(bodies(&dead), vec![job("a", 1), job("c", 1)]);
    assert_eq!(dead[0].receive_count, 3);
    assert_eq!(q.redrive_dead_letters().await.unwrap(), 2);
    drop(q);

    let (q, recovered) = open(&dir, &clock);
    assert_eq!((recovered.live, recovered.dead), (2, 0));
    let got = q.receive(10, NO_WAIT).await.unwrap();
    assert_eq!(bodies(&got), vec![job("a", 1), job("c", 1)]);
    assert!(got.iter().all(|d| d.receive_count == 1 && !ids_before.contains(&d.message_id)), "{got:?}");
    q.send(&job("d", 1)).await.unwrap();
    let d = q.receive(1, NO_WAIT).await.unwrap();
    assert!(got.iter().all(|g| g.message_id < d[0].message_id), "ids keep increasing across restarts");
}

#[tokio::test]
async fn the_deduplication_window_outlives_the_process() {
    let (dir, clock) = (Dir::new("dedup"), clock());
    let (q, _) = open(&dir, &clock);
    q.send(&job("a", 1)).await.unwrap();
    let got = q.receive(1, NO_WAIT).await.unwrap();
    q.ack(&got[0].receipt).await.unwrap();
    drop(q);

    clock.advance(Duration::from_secs(299));
    let (q, _) = open(&dir, &clock);
    q.send(&job("a", 1)).await.unwrap();
    assert!(q.is_empty(), "still inside the 5 minutes");
    clock.advance(Duration::from_secs(1));
    q.send(&job("a", 1)).await.unwrap();
    assert_eq!(q.len(), 1);
}

#[tokio::test]
async fn a_record_torn_at_any_byte_is_dropped_and_everything_before_it_is_kept() {
    let (dir, clock) = (Dir::new("torn"), clock());
    let (q, _) = open(&dir, &clock);
    q.send(&job("a", 1)).await.unwrap();
    let before = std::fs::read(dir.journal()).unwrap();
    q.send(&job("b", 1)).await.unwrap();
    drop(q);
    let whole = std::fs::read(dir.journal()).unwrap();
    assert!(whole.starts_with(&before) && whole.len() > before.len() + 20);

    // The process died after writing `cut` bytes of the second send's line (its newline is
    // the last byte, so every cut here leaves it incomplete).
    for cut in before.len() + 1..whole.len() {
        std::fs::write(dir.journal(), &whole[..cut]).unwrap();
        let (q, recovered) = open(&dir, &clock);
        assert_eq!((recovered.live, recovered.torn_tail), (1, true), "cut at {cut}");
        // The journal was rewritten at open: new records start on a line of their own.
        q.send(&job("c", 1)).await.unwrap();
        drop(q);
        let (q, recovered) = open(&dir, &clock);
        assert!(!recovered.torn_tail, "cut at {cut}");
        assert_eq!(bodies(&q.receive(10, NO_WAIT).await.unwrap()), vec![job("a", 1), job("c", 1)], "cut at {cut}");
    }
}

#[test]
fn a_damaged_line_before_the_end_is_an_error_naming_the_file_and_the_line() {
    let dir = Dir::new("damaged");
    let send = r#"{"op":"send","id":"mem-0000000001","group":"t1.inc.a","body":"{}","at":1}"#;
    std::fs::write(dir.journal(), format!("{send}\nnot a record\n{send}\n")).unwrap();
    let err = MemoryQueue::durable(dir.journal(), config(), clock()).err().expect("refused");
    let text = err.to_string();
    assert!(text.contains(&dir.journal().display().to_string()) && text.contains("line 2"), "{text}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn the_journal_is_compacted_as_it_grows_and_at_a_clean_stop_without_losing_anything() {
    let (dir, clock) = (Dir::new("compact"), clock());
    let (q, _) = MemoryQueue::durable_with(&dir.journal(), config(), clock.clone(), 4096).unwrap();
    q.send(&job("kept", 1)).await.unwrap();
    let kept = q.receive(1, NO_WAIT).await.unwrap();
    q.defer(&kept[0].receipt, MAX_DEFER).await.unwrap();
    let mut largest = 0;
    for v in 0..500 {
        // 10 s apart: about 30 dedup ids stay in their window at any time.
        clock.advance(Duration::from_secs(10));
        q.send(&job("busy", v)).await.unwrap();
        let got = q.receive(10, NO_WAIT).await.unwrap();
        q.ack(&got[0].receipt).await.unwrap();
        largest = largest.max(std::fs::metadata(dir.journal()).unwrap().len());
    }
    assert!(largest < 4 * 4096, "compacted on the way: at most {largest} bytes");
    q.send(&job("last", 1)).await.unwrap();
    q.compact().unwrap();
    let size = std::fs::metadata(dir.journal()).unwrap().len();
    assert!(size < 4096, "a snapshot of two messages and ~30 dedup ids: {size} bytes");
    drop(q);

    let (q, recovered) = open(&dir, &clock);
    assert_eq!((recovered.live, recovered.deferred), (2, 1));
    q.send(&job("busy", 499)).await.unwrap();
    assert_eq!(q.len(), 2, "dedup ids kept through compaction");
    let last = q.receive(10, NO_WAIT).await.unwrap();
    assert_eq!(bodies(&last), vec![job("last", 1)]);
    q.ack(&last[0].receipt).await.unwrap();
    clock.advance(MAX_DEFER);
    let again = q.receive(10, NO_WAIT).await.unwrap();
    assert_eq!((bodies(&again), again[0].receive_count), (vec![job("kept", 1)], 2));
}

#[tokio::test]
async fn a_failed_journal_write_changes_nothing_and_is_a_retryable_error() {
    let (dir, clock) = (Dir::new("readonly"), clock());
    let (q, _) = open(&dir, &clock);
    q.send(&job("a", 1)).await.unwrap();
    // Swap the append handle for a read-only one: every write now fails.
    {
        let mut state = q.lock();
        let journal = state.journal.as_mut().unwrap();
        journal.break_for_tests();
    }
    let err = q.send(&job("b", 1)).await.unwrap_err();
    assert!(err.is_retryable() && err.to_string().contains("queue.journal"), "{err}");
    assert_eq!(q.len(), 1);
    assert!(q.receive(10, NO_WAIT).await.is_err());
    assert_eq!(q.in_flight(), 0, "nothing was delivered that the journal does not know of");
}
