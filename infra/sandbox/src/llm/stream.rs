//! Sending an answer's body frame by frame, on a schedule, with faults.
//!
//! A [`Schedule`] is the list of frames (SSE events, or the halves of a JSON answer), the pause
//! before each frame after the first, and an optional cut: a *break* ends the body with an error,
//! so hyper drops the connection without the chunked terminator (the client sees an early EOF,
//! never `[DONE]`); a *stall* holds the remaining frames back for a while, or for ever.
//!
//! Why `tower`: axum needs a `Stream` (or an `http_body::Body`) for a body produced over time,
//! and neither `futures-core` nor `http-body` is a workspace dependency. `tower::util::CallAll`
//! is a `Stream` of a service's responses, in request order; driven by a `ServiceList` (a
//! `Stream` over a list) it yields frame *i* when its future — "sleep until frame i is due" —
//! resolves. Every frame's due time is absolute, so `CallAll` calling the service eagerly for
//! all frames does not change the timing. Dropping the body (the client went away) drops the
//! pending futures, and the [`Finish`] guard records how the body ended.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use tokio::time::Instant;
use tower::discover::{Change, ServiceList};
use tower::util::{service_fn, ServiceFn};
use tower::ServiceExt;

use super::LlmSandbox;

/// Where a fault cuts the body: before frame `at` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    Break { at: usize },
    Stall { at: usize, stall_for: Option<Duration> },
}

pub(crate) struct Schedule {
    pub frames: Vec<Bytes>,
    /// Pause before each frame after the first.
    pub delay: Duration,
    pub cut: Option<Cut>,
}

impl Schedule {
    /// When frame `i` is due, counted from the start; `None` = never (stalled for good).
    /// The completion slot (`i == frames.len()`) is due with the last frame.
    fn due(&self, i: usize) -> Option<Duration> {
        let base = self.delay.saturating_mul(i.min(self.frames.len().saturating_sub(1)) as u32);
        match self.cut {
            Some(Cut::Stall { at, stall_for }) if i >= at => stall_for.map(|s| base + s),
            _ => Some(base),
        }
    }
}

/// How long a break waits before failing the body (see [`body`]).
const BREAK_GRACE: Duration = Duration::from_millis(50);

const RUNNING: u8 = 0;
const COMPLETE: u8 = 1;
const BROKEN: u8 = 2;

/// Records the body's end in the request's record when the body is dropped.
struct Finish {
    sb: LlmSandbox,
    seq: u64,
    state: Arc<AtomicU8>,
}

impl Drop for Finish {
    fn drop(&mut self) {
        let how = match self.state.load(Ordering::SeqCst) {
            COMPLETE => "complete",
            BROKEN => "broken",
            _ => "client_gone",
        };
        self.sb.finish(self.seq, how);
    }
}

type Slot = ServiceFn<fn(()) -> std::future::Ready<Result<(), Infallible>>>;
type FrameFuture = Pin<Box<dyn Future<Output = Result<Bytes, std::io::Error>> + Send>>;

fn slot(_: ()) -> std::future::Ready<Result<(), Infallible>> {
    std::future::ready(Ok(()))
}

/// The body that plays `schedule`, reporting its end to request `seq`.
pub(crate) fn body(sb: &LlmSandbox, seq: u64, schedule: Schedule) -> Body {
    let start = Instant::now();
    let n = schedule.frames.len();
    let state = Arc::new(AtomicU8::new(RUNNING));
    let guard = Finish { sb: sb.clone(), seq, state: state.clone() };
    let schedule = Arc::new(schedule);
    let slots: Vec<Slot> = vec![service_fn(slot as fn(()) -> _); n + 1];
    let requests = ServiceList::new::<()>(slots);
    let frame = service_fn(move |req: Result<Change<usize, Slot>, Infallible>| {
        let _keep = &guard;
        let i = match req {
            Ok(Change::Insert(i, _)) | Ok(Change::Remove(i)) => i,
            Err(never) => match never {},
        };
        let (schedule, state) = (schedule.clone(), state.clone());
        let fut: FrameFuture = Box::pin(async move {
            match schedule.due(i) {
                Some(d) => tokio::time::sleep_until(start + d).await,
                None => std::future::pending::<()>().await,
            }
            if schedule.cut == Some(Cut::Break { at: i }) {
                // Pending for a moment first, so hyper writes the frames before this one out
                // (it flushes when the body is pending; an error at once would discard them).
                tokio::time::sleep(BREAK_GRACE).await;
                state.store(BROKEN, Ordering::SeqCst);
                return Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "llm sandbox: stream broken (fault)"));
            }
            // The slot after the last frame only marks completion: it yields an empty chunk,
            // which hyper skips.
            if i == n {
                state.store(COMPLETE, Ordering::SeqCst);
                return Ok(Bytes::new());
            }
            Ok(schedule.frames[i].clone())
        });
        fut
    });
    Body::from_stream(frame.call_all(requests))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_shifts_the_later_frames_and_an_endless_one_never_comes() {
        let s = Schedule {
            frames: vec![Bytes::new(); 4],
            delay: Duration::from_millis(10),
            cut: Some(Cut::Stall { at: 2, stall_for: Some(Duration::from_secs(1)) }),
        };
        assert_eq!(s.due(1), Some(Duration::from_millis(10)));
        assert_eq!(s.due(2), Some(Duration::from_millis(1020)));
        let forever = Schedule { cut: Some(Cut::Stall { at: 0, stall_for: None }), ..s };
        assert_eq!(forever.due(0), None);
    }
}
