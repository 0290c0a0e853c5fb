//! Memory and CPU of a process, from Linux's `/proc/<pid>/status` (`VmRSS`, `VmHWM`: the
//! resident set now and its high-water mark, in kB) and `/proc/<pid>/stat` (`utime` and
//! `stime`, fields 14 and 15, summed over the process's threads, in clock ticks).
//! Ticks are USER_HZ, which Linux fixes at 100 for everything it exports to user space
//! (proc(5): "measured in clock ticks (divide by sysconf(_SC_CLK_TCK))", which is 100).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TICKS_PER_SEC: f64 = 100.0;
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// One reading.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    pub rss_kb: u64,
    pub hwm_kb: u64,
    /// User + system CPU time so far.
    pub cpu_secs: f64,
}

impl Usage {
    pub fn read(pid: u32) -> std::io::Result<Self> {
        Self::read_path(&format!("/proc/{pid}"))
    }

    /// This process (the generator).
    pub fn own() -> std::io::Result<Self> {
        Self::read_path("/proc/self")
    }

    fn read_path(dir: &str) -> std::io::Result<Self> {
        let status = std::fs::read_to_string(format!("{dir}/status"))?;
        let stat = std::fs::read_to_string(format!("{dir}/stat"))?;
        let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{dir}: cannot read {what}"));
        let kb = |key: &str| status.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse::<u64>().ok());
        let cpu_secs = cpu_ticks(&stat).ok_or_else(|| bad("utime/stime"))? as f64 / TICKS_PER_SEC;
        Ok(Self { rss_kb: kb("VmRSS:").ok_or_else(|| bad("VmRSS"))?, hwm_kb: kb("VmHWM:").ok_or_else(|| bad("VmHWM"))?, cpu_secs })
    }
}

/// `utime + stime` from a `/proc/<pid>/stat` line. The command name (field 2) is in
/// parentheses and may hold spaces, so fields are counted after its closing one.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Samples `VmRSS` every 100 ms from a thread of its own until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<(Instant, u64)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (flag, into) = (stop.clone(), samples.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if let Ok(u) = Usage::read(pid) {
                    into.lock().unwrap_or_else(|e| e.into_inner()).push((Instant::now(), u.rss_kb));
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        Self { stop, samples, thread: Some(thread) }
    }

    /// The samples taken, oldest first.
    pub fn stop(mut self) -> Vec<(Instant, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What the report says about the stack's memory and CPU.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Resident set after the war rooms were set up, before the load.
    pub idle_rss_kb: u64,
    /// The highest resident set sampled during the load and the drain.
    pub peak_rss_kb: u64,
    /// `VmHWM` at the end: the process's own high-water mark, setup included.
    pub hwm_kb: u64,
    /// CPU time the stack used during the load, and that over the load's wall time.
    pub load_cpu_secs: f64,
    pub load_cores: f64,
    /// CPU time the stack used while the queue drained.
    pub drain_cpu_secs: f64,
    /// The samples taken.
    pub samples: usize,
}

impl Figures {
    pub fn new(idle: &Usage, loaded: &Usage, end: Option<&Usage>, samples: &[(Instant, u64)], load_time: Duration) -> Self {
        let end = end.copied().unwrap_or(*loaded);
        let load_cpu_secs = loaded.cpu_secs - idle.cpu_secs;
        Self {
            idle_rss_kb: idle.rss_kb,
            peak_rss_kb: samples.iter().map(|(_, kb)| *kb).chain([loaded.rss_kb, end.rss_kb]).max().unwrap_or_default(),
            hwm_kb: end.hwm_kb.max(loaded.hwm_kb),
            load_cpu_secs,
            load_cores: if load_time.is_zero() { 0.0 } else { load_cpu_secs / load_time.as_secs_f64() },
            drain_cpu_secs: end.cpu_secs - loaded.cpu_secs,
            samples: samples.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_counted_after_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (tokio (rt) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 70 0 0 20 0 9 0 1000 200000000 5000";
        assert_eq!(cpu_ticks(stat), Some(320));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let me = Usage::own().unwrap();
        assert!(me.rss_kb > 0 && me.hwm_kb >= me.rss_kb, "{me:?}");
    }
}
