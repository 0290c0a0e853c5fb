//! Running the real `warroom-local` binary as a process: on a free port (`--listen
//! 127.0.0.1:0`, the URL read from what it prints) with a temporary data directory, driven
//! over HTTP, stopped with SIGTERM or killed with SIGKILL. `sandbox`: the `warroom-sandbox`
//! process, for crash tests.
#![allow(dead_code)]

pub mod sandbox;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use warroom_core::{Clock, SystemClock};

pub const BIN: &str = env!("CARGO_BIN_EXE_warroom-local");

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warroom-local-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A running `warroom-local`.
pub struct Stack {
    child: Child,
    pub url: String,
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<String>>,
}

impl Stack {
    /// Starts it on a free port (`--listen 127.0.0.1:0`) and reads the URL it prints.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Stack {
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", log_filter())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("warroom-local starts");
        let mut log_file = log_file(child.id());
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (lines, mut err) = (stdout.clone(), child.stderr.take().unwrap());
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let errors = stderr.clone();
        std::thread::spawn(move || {
            // Line by line, so the log file has everything even if the test ends first.
            for line in BufReader::new(&mut err).lines().map_while(Result::ok) {
                if let Some(file) = log_file.as_mut() {
                    let _ = writeln!(file, "{line}");
                }
                let mut errors = errors.lock().unwrap();
                errors.push_str(&line);
                errors.push('\n');
            }
        });
        let mut stack = Stack { child, url: String::new(), stdout, stderr };
        let deadline = Instant::now() + Duration::from_secs(60);
        while stack.url.is_empty() {
            let first = stack.stdout.lock().unwrap().first().cloned();
            if let Some(url) = first.as_deref().and_then(|l| l.strip_prefix("warroom-local: listening on ")) {
                stack.url = url.split_whitespace().next().unwrap().to_string();
            } else if Instant::now() > deadline || stack.child.try_wait().unwrap().is_some() {
                panic!("warroom-local did not start:\n{}\n{}", stack.stdout.lock().unwrap().join("\n"), stack.stderr.lock().unwrap());
            } else {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        stack
    }

    pub fn printed(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    /// SIGKILL: no shutdown of any kind. Waits until the process is gone.
    pub fn kill(mut self) {
        let status = Command::new("kill").args(["-KILL", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&exit), Some(9), "{exit:?}");
    }

    /// SIGTERM, as a service manager (or Ctrl-C) stops it; waits for a clean exit.
    pub fn stop(mut self) -> String {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(40);
        let exit = loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                break exit;
            }
            assert!(Instant::now() < deadline, "warroom-local did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        std::thread::sleep(Duration::from_millis(100));
        assert!(exit.success(), "exit {exit:?}:\n{}\n{}", self.printed(), self.stderr.lock().unwrap());
        self.printed()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn keys(data_dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(data_dir.join("demo-keys.json")).unwrap()).unwrap()
}

pub async fn get(url: &str, key: &str) -> Value {
    let resp = reqwest::Client::new().get(url).bearer_auth(key).send().await.unwrap();
    assert_eq!(resp.status(), 200, "GET {url}");
    resp.json().await.unwrap()
}

pub async fn fire(stack: &Stack, intake_key: &str, id: &str) -> String {
    let event = json!({"id": id, "title": format!("Checkout errors {id}"), "severity": "critical", "status": "triggered",
        "time": SystemClock.now().to_rfc3339(), "responders": [{"name": "Ada", "email": "ada@example.com"}]});
    let resp = reqwest::Client::new().post(format!("{}/hooks/generic", stack.url)).bearer_auth(intake_key).json(&event).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.unwrap();
    body["results"][0]["incident_id"].as_str().unwrap().to_string()
}

pub async fn wait_for_open_room(stack: &Stack, admin_key: &str, incident: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let room = get(&format!("{}/api/v1/incidents/{incident}/war-room", stack.url), admin_key).await;
        if room["state"] == "open" && !room["card"].is_null() {
            return room;
        }
        assert!(Instant::now() < deadline, "the war room never opened: {room}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The incident, its war room and its timeline, as the API shows them.
pub async fn snapshot(stack: &Stack, admin_key: &str) -> (Value, Value, Value) {
    let list = get(&format!("{}/api/v1/incidents", stack.url), admin_key).await;
    let incidents = list["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{list}");
    let id = incidents[0]["id"].as_str().unwrap();
    let incident = get(&format!("{}/api/v1/incidents/{id}", stack.url), admin_key).await;
    let room = get(&format!("{}/api/v1/incidents/{id}/war-room", stack.url), admin_key).await;
    let timeline = get(&format!("{}/api/v1/incidents/{id}/timeline", stack.url), admin_key).await;
    (incident, room, timeline)
}

/// Runs the binary to its exit (killed after 30 s): (exit code, stdout, stderr).
pub fn run_to_exit(args: &[&str]) -> (Option<i32>, String, String) {
    run_to_exit_with(args, &[])
}

/// Like `run_to_exit`, with environment variables set for the run.
pub fn run_to_exit_with(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut child = Command::new(BIN).args(args).envs(env.iter().copied()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

pub fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, got:\n{stderr}");
    lines[0]
}

/// POST with an optional key: (status, JSON body or null).
pub async fn post(url: &str, key: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(url).json(&body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let resp = request.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// Polls `GET path` (admin key) until `field` is `want`.
pub async fn wait_for(stack: &Stack, admin_key: &str, path: &str, field: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = get(&format!("{}{path}", stack.url), admin_key).await;
        if body[field] == want {
            return body;
        }
        assert!(Instant::now() < deadline, "{path}: {field} never became {want}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The stack's log level: `warn` normally; verbose when the test command collects the
/// suite's logs (`WARROOM_TEST_LOG_DIR`, see `warroom_testkit::logging`), so the
/// secrets-in-logs step also searches what the real binary logs.
fn log_filter() -> String {
    if std::env::var_os("WARROOM_TEST_LOG_DIR").is_none() {
        return "warn".into();
    }
    std::env::var("WARROOM_TEST_LOG").unwrap_or_else(|_| "debug,hyper=info,hyper_util=info,h2=info,tower=info,redb=info".into())
}

/// Where the stack's stderr is also written when logs are collected.
fn log_file(pid: u32) -> Option<std::fs::File> {
    let dir = std::path::PathBuf::from(std::env::var_os("WARROOM_TEST_LOG_DIR")?);
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::OpenOptions::new().create(true).append(true).open(dir.join(format!("warroom-local-{pid}.log"))).ok()
}
