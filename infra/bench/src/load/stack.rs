//! The real `warroom-local` as a child process: on a free port (`--listen 127.0.0.1:0`,
//! the URL read from the first line it prints), in demo mode, on a temporary data
//! directory, with its log (stderr) kept and counted by level. Stopped with SIGTERM, as a
//! service manager stops it; what it prints then says whether the queue was empty.
//!
//! Its stdout is never echoed: the first start prints the demo tenant's API keys.

use super::LoadError;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use warroom_local::data::{DemoKeys, KEYS_FILE};

/// The log filter the stack runs with: every warning and error, and its own start/stop.
const LOG_FILTER: &str = "warn,warroom_local=info";
const START_LIMIT: Duration = Duration::from_secs(60);
/// The stack drains for up to 10 s and finishes its batch for up to 15 s on SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(40);
/// How many log lines of each level the report quotes.
const QUOTED: usize = 5;

pub struct LocalStack {
    child: Child,
    url: String,
    data_dir: PathBuf,
    keys: DemoKeys,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    pumps: Vec<std::thread::JoinHandle<()>>,
}

/// How the stack stopped.
#[derive(Clone, Debug, Default)]
pub struct Stopped {
    /// It exited 0 within the limit.
    pub clean: bool,
    /// It said "stopped; the queue was empty".
    pub queue_empty: bool,
    /// Its last words (the stop lines), or why it did not stop.
    pub said: String,
}

/// The stack's log lines by level, with the first few of the ones that matter.
#[derive(Clone, Debug, Default)]
pub struct LogCounts {
    pub errors: usize,
    pub warnings: usize,
    pub error_lines: Vec<String>,
    pub warning_lines: Vec<String>,
    /// Lines that are neither (panics print here too).
    pub panics: usize,
}

fn temp_data_dir(root: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or_default();
    root.join(format!("warroom-load-{}-{nanos}", std::process::id()))
}

/// Reads a pipe's lines into `into` from a thread; the thread ends at the pipe's end.
fn pump(stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            into.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    })
}

impl LocalStack {
    /// Starts it on a new data directory under `data_root`.
    pub fn start(bin: &Path, workers: usize, data_root: &Path) -> Result<Self, LoadError> {
        let data_dir = temp_data_dir(data_root);
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--workers", &workers.to_string(), "--data-dir"])
            .arg(&data_dir)
            .env("RUST_LOG", LOG_FILTER)
            .env_remove("WARROOM_PUBLIC_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| LoadError::Stack(format!("cannot start {}: {e}", bin.display())))?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let pumps = vec![pump(child.stdout.take().expect("piped"), stdout.clone()), pump(child.stderr.take().expect("piped"), stderr.clone())];
        let deadline = Instant::now() + START_LIMIT;
        let url = loop {
            let first = stdout.lock().unwrap_or_else(|e| e.into_inner()).first().cloned();
            if let Some(url) = first.as_deref().and_then(|l| l.strip_prefix("warroom-local: listening on ")) {
                break url.split_whitespace().next().unwrap_or_default().to_string();
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let log = stderr.lock().unwrap_or_else(|e| e.into_inner()).join("\n");
                let _ = std::fs::remove_dir_all(&data_dir);
                return Err(LoadError::Stack(format!("warroom-local did not start ({exited:?}):\n{log}")));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let keys_file = data_dir.join(KEYS_FILE);
        let keys = std::fs::read_to_string(&keys_file)
            .ok()
            .and_then(|text| serde_json::from_str::<DemoKeys>(&text).ok())
            .ok_or_else(|| LoadError::Stack(format!("no readable {} after the start", keys_file.display())))?;
        Ok(Self { child, url, data_dir, keys, stdout, stderr, pumps })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn keys(&self) -> &DemoKeys {
        &self.keys
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then waits for the exit; kills it past the limit.
    pub fn stop(&mut self) -> Stopped {
        let pid = self.child.id().to_string();
        if !self.alive() {
            return Stopped { said: "warroom-local had already exited".into(), ..Stopped::default() };
        }
        let sent = Command::new("kill").args(["-TERM", &pid]).status().map(|s| s.success()).unwrap_or(false);
        let deadline = Instant::now() + STOP_LIMIT;
        let exit = loop {
            match self.child.try_wait() {
                Ok(Some(exit)) => break Some(exit),
                _ if !sent || Instant::now() > deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        // The process is gone: its pipes end once the threads have read the last lines.
        let until = Instant::now() + Duration::from_secs(5);
        while self.pumps.iter().any(|p| !p.is_finished()) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        let lines = self.stdout.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let said: Vec<String> = lines.iter().filter(|l| l.starts_with("warroom-local: stop")).cloned().collect();
        Stopped {
            clean: exit.is_some_and(|e| e.success()),
            queue_empty: said.iter().any(|l| l.contains("stopped; the queue was empty")),
            said: if exit.is_none() { "did not stop on SIGTERM; killed".into() } else { said.join("\n") },
        }
    }

    /// Counts the stack's log lines by level (tracing's fmt layout, no colours: `… ERROR …`).
    pub fn log_counts(&self) -> LogCounts {
        let lines = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let mut counts = LogCounts::default();
        for line in lines.iter() {
            if line.contains(" ERROR ") {
                counts.errors += 1;
                if counts.error_lines.len() < QUOTED {
                    counts.error_lines.push(line.clone());
                }
            } else if line.contains(" WARN ") {
                counts.warnings += 1;
                if counts.warning_lines.len() < QUOTED {
                    counts.warning_lines.push(line.clone());
                }
            } else if line.contains("panicked at") {
                counts.panics += 1;
                if counts.error_lines.len() < QUOTED {
                    counts.error_lines.push(line.clone());
                }
            }
        }
        counts
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        if self.alive() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
