//! The `warroom-sandbox` binary as a process on a free port, driven through its control
//! endpoints: its state, its call log, holding one call in flight.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_warroom-sandbox");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Im {
    Slack,
    Feishu,
}

impl Im {
    pub fn name(self) -> &'static str {
        match self {
            Im::Slack => "slack",
            Im::Feishu => "feishu",
        }
    }
}

pub struct SandboxProcess {
    child: Child,
    pub url: String,
}

impl SandboxProcess {
    pub fn start() -> SandboxProcess {
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("warroom-sandbox starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let url = first.strip_prefix("warroom-sandbox: listening on ").unwrap_or_else(|| panic!("warroom-sandbox said {first:?}")).to_string();
        // Keep draining what it prints, so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        SandboxProcess { child, url }
    }

    pub async fn get(&self, path: &str) -> Value {
        let resp = reqwest::get(format!("{}{path}", self.url)).await.unwrap();
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let resp = reqwest::Client::new().post(format!("{}{path}", self.url)).json(&body).send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "POST {path}: {body}");
        body
    }

    /// `point`: "before" or "after".
    pub async fn hold(&self, im: Im, call: &str, point: &str) {
        self.post(&format!("/control/{}/hold", im.name()), json!({"call": call, "point": point})).await;
    }

    /// Waits (at most 30 s) until a call waits in the hold; returns the call.
    pub async fn wait_holding(&self, im: Im) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = self.get(&format!("/control/{}/hold", im.name())).await;
            if status["holding"] == true {
                return status["held_call"].as_str().unwrap().to_string();
            }
            assert!(Instant::now() < deadline, "no call reached the hold: {status}; calls: {}", self.get(&format!("/control/{}/calls", im.name())).await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `how`: "proceed" or "abort".
    pub async fn release(&self, im: Im, how: &str) {
        self.post(&format!("/control/{}/release", im.name()), json!({"how": how})).await;
    }

    /// The calls answered so far, by name (Slack: the method; Feishu: `METHOD /path`).
    pub async fn calls(&self, im: Im) -> Vec<String> {
        let calls = self.get(&format!("/control/{}/calls", im.name())).await;
        calls.as_array().unwrap().iter().map(|c| c["call"].as_str().unwrap().to_string()).collect()
    }

    /// Slack: the demo workspace's channels; Feishu: every chat.
    pub async fn chats(&self, im: Im) -> Vec<Value> {
        let path = match im {
            Im::Slack => "/control/slack/channels",
            Im::Feishu => "/control/feishu/chats",
        };
        self.get(path).await.as_array().unwrap().clone()
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
