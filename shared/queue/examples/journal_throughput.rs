//! What the journal costs: jobs through a queue (send, receive in tens, ack), in memory
//! only and durable, one after the other. `cargo run --example journal_throughput [JOBS]`.

use std::sync::Arc;
use std::time::{Duration, Instant};
use warroom_core::{Job, JobQueue, SystemClock};
use warroom_queue::{MemoryQueue, MemoryQueueConfig};

async fn run(queue: &MemoryQueue, jobs: u64) -> Duration {
    let started = Instant::now();
    for chunk in (0..jobs).collect::<Vec<_>>().chunks(100) {
        for &v in chunk {
            queue.send(&Job::reconcile("ten_bench".into(), format!("inc_{}", v % 50).as_str().into(), v)).await.unwrap();
        }
        loop {
            let got = queue.receive(10, Duration::ZERO).await.unwrap();
            if got.is_empty() {
                break;
            }
            for d in got {
                queue.ack(&d.receipt).await.unwrap();
            }
        }
    }
    assert!(queue.is_empty());
    started.elapsed()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let jobs: u64 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let memory = MemoryQueue::new(MemoryQueueConfig::default(), Arc::new(SystemClock));
    let path = std::env::temp_dir().join(format!("warroom-journal-throughput-{}.journal", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let (durable, _) = MemoryQueue::durable(&path, MemoryQueueConfig::default(), Arc::new(SystemClock)).unwrap();
    for (name, queue) in [("memory ", &memory), ("durable", &durable)] {
        let took = run(queue, jobs).await;
        let per_job = took / jobs as u32;
        println!("{name}: {jobs} jobs (send + receive + ack) in {took:.2?}: {:.0} jobs/s, {per_job:.2?} per job", jobs as f64 / took.as_secs_f64());
    }
    println!("journal after the run: {} bytes", std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0));
    let _ = std::fs::remove_file(&path);
}
