//! `JobQueue` adapters and the batch processing every worker shares.
//!
//! - [`MemoryQueue`]: in-process, with SQS FIFO semantics (local worker loop, tests); optionally
//!   durable across a killed process through a journal file ([`MemoryQueue::durable`]).
//! - [`SqsQueue`]: SQS FIFO over `aws-sdk-sqs`; [`create_fifo`] sets one up with its DLQ.
//! - [`process_batch`] / [`run_worker_loop`]: handle deliveries in FIFO order, for the
//!   Lambda worker (SQS event records) and the local loop alike.

pub mod batch;
pub mod memory;
pub mod sqs;

pub use batch::{process_batch, run_worker_loop, BatchReport, JobHandler, Outcome};
pub use memory::{JournalError, MemoryQueue, MemoryQueueConfig, Recovered, DEDUP_WINDOW};
pub use sqs::{create_fifo, sqs_id, SqsQueue};
pub use warroom_core::ports::queue::MAX_DEFER;
pub use warroom_core::{Delivery, JobQueue, QueueError, QueueResult};
