//! A real Prometheus (Debian's `prometheus`, which the test command installs) scraping a
//! running `warroom-local` in demo mode every second: an incident opens a war room in the
//! Slack sandbox and a card click comes back; then a burst from a second installation of
//! the demo Slack app spends the workspace's `conversations.create` budget (Slack Tier 2:
//! 20 at once, enforced by the demo's sandbox), so the next incident's room is answered
//! 429 + `Retry-After`, deferred, and opened after the wait. Prometheus's HTTP API must then
//! show the counters that moved: rooms opened, callbacks, jobs processed and deferred, the
//! 429 and the wait it asked for. `WARROOM_PROMETHEUS_BIN` names another binary.

mod support;

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;
use warroom_local::sandboxes::{SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_PATH, SLACK_TEAM_ID};

/// The binary: `WARROOM_PROMETHEUS_BIN`, else `prometheus` on PATH.
fn prometheus_binary() -> String {
    std::env::var("WARROOM_PROMETHEUS_BIN").unwrap_or_else(|_| "prometheus".into())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Percent-encodes a query parameter's value (every byte but unreserved characters).
fn encode(value: &str) -> String {
    value.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// A running Prometheus with its own config and storage in a temporary directory; killed
/// (and the directory removed) on drop, so also when the test panics.
struct Prometheus {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Prometheus {
    /// Starts it scraping `target` (`host:port`, path `/metrics`) every second and waits
    /// until `/-/ready` answers 2xx (at most 20 s).
    async fn start(target: &str) -> Self {
        let binary = prometheus_binary();
        let dir = temp_dir("prometheus");
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: warroom-local\n    metrics_path: /metrics\n    static_configs:\n      - targets: [\"{target}\"]\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {binary}: {e}; ./infra/test.sh installs Debian's prometheus"));
        let mut prometheus = Self { child, dir, url: format!("http://127.0.0.1:{port}") };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(exit) = prometheus.child.try_wait().unwrap() {
                panic!("{binary} exited ({exit}) before it was ready:\n{}", prometheus.log());
            }
            if let Ok(r) = http.get(format!("{}/-/ready", prometheus.url)).send().await {
                if r.status().is_success() {
                    return prometheus;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{binary} was not ready within 20 s:\n{}", prometheus.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query's single value (`sum(...)` queries): None while there is no series.
    async fn value(&self, query: &str) -> Result<Option<f64>, String> {
        let resp = reqwest::Client::new().get(format!("{}/api/v1/query?query={}", self.url, encode(query))).send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() || body["status"] != "success" {
            return Err(format!("{status}: {body}"));
        }
        let result = &body["data"]["result"];
        Ok(result[0]["value"][1].as_str().and_then(|v| v.parse().ok()))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Must each reach a value above zero in Prometheus.
const MUST_MOVE: [&str; 7] = [
    r#"sum(warroom_rooms_opened_total{platform="slack"})"#,
    r#"sum(warroom_callbacks_total{platform="slack",route="/im/slack/interactions",outcome="ok"})"#,
    r#"sum(warroom_jobs_total{kind="reconcile",outcome="processed"})"#,
    // A rate limit is honoured by deferring the job.
    r#"sum(warroom_jobs_total{outcome="deferred"})"#,
    r#"sum(warroom_im_rate_limited_total{platform="slack",family="create_chat"})"#,
    r#"sum(warroom_im_rate_limit_wait_seconds_count{platform="slack",family="create_chat"})"#,
    // The wait the 429's Retry-After asked for (seconds).
    r#"sum(warroom_im_rate_limit_wait_seconds_sum{platform="slack",family="create_chat"})"#,
];

/// The sandbox's Slack API in demo mode.
fn slack_api(bundle: &str, method: &str) -> String {
    format!("{bundle}{SLACK_PATH}/api/{method}")
}

/// A bot token of a second installation of the demo app in the demo workspace, by the
/// sandbox's OAuth flow (its "user" approves at once).
async fn install_other_app(bundle: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let redirect = "http://127.0.0.1:9/other-app/oauth";
    let authorize = format!(
        "{bundle}{SLACK_PATH}/oauth/v2/authorize?client_id={}&scope={}&redirect_uri={}&team={SLACK_TEAM_ID}",
        encode(SLACK_CLIENT_ID),
        encode("channels:manage,groups:write"),
        encode(redirect)
    );
    let resp = http.get(&authorize).send().await.unwrap();
    assert_eq!(resp.status(), 302, "authorize: {}", resp.text().await.unwrap_or_default());
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let code = location.split_once("code=").map(|(_, c)| c.split('&').next().unwrap().to_string()).expect("a code in the redirect");
    let access = format!(
        "{}?client_id={}&client_secret={}&code={code}&redirect_uri={}",
        slack_api(bundle, "oauth.v2.access"),
        encode(SLACK_CLIENT_ID),
        encode(SLACK_CLIENT_SECRET),
        encode(redirect)
    );
    let body: Value = http.post(access).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["ok"], true, "oauth.v2.access: {body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// Creates channels with `token` until the sandbox answers 429 (Slack's `ratelimited`):
/// the calls made, the last one refused.
async fn spend_conversations_create(bundle: &str, token: &str) -> usize {
    let http = reqwest::Client::new();
    for i in 1..=40 {
        let url = format!("{}?name=other-app-{i}&is_private=true", slack_api(bundle, "conversations.create"));
        let resp = http.post(url).bearer_auth(token).send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status == 429 {
            assert_eq!(body["error"], "ratelimited", "{body}");
            return i;
        }
        assert_eq!(body["ok"], true, "conversations.create #{i}: {status} {body}");
    }
    panic!("40 conversations.create calls and the sandbox never answered 429: are its rate limits off?");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Debian's prometheus (installed by ./infra/test.sh)"]
async fn prometheus_scrapes_rooms_callbacks_and_a_rate_limit_wait() {
    let started = Instant::now();
    // Checked first: without the binary nothing else is worth starting, and a missing one
    // is named as such, not as a timeout.
    let binary = prometheus_binary();
    if let Err(e) = Command::new(&binary).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        panic!("could not run {binary}: {e}; ./infra/test.sh installs Debian's prometheus (apt-get install prometheus)");
    }
    let data = temp_dir("prometheus-stack");
    let stack = Stack::start(&data, &[]);
    let k = keys(&data);
    let (admin, intake) = (k["admin_key"].as_str().unwrap(), k["intake_key"].as_str().unwrap());
    let target = stack.url.strip_prefix("http://").unwrap().trim_end_matches('/').to_string();
    let prometheus = Prometheus::start(&target).await;

    // An incident, its war room, a card click.
    let incident = fire(&stack, intake, "prom-1").await;
    wait_for_open_room(&stack, admin, &incident).await;
    let (code, answer) =
        post(&format!("{}/sandbox/control/slack/click", stack.url), None, json!({"incident_id": incident, "user": "U_ADA", "action": "ack"})).await;
    assert_eq!(code, 200, "{answer}");

    // The burst: another installation of the demo Slack app in the same workspace (another
    // system using the app, as the runbook's IM 429 alarm puts it) spends the workspace's
    // Tier 2 budget of conversations.create, so the next war room is answered 429 +
    // Retry-After. (Warroom paces its own calls, so its own incidents alone never see one.)
    let other = install_other_app(&stack.url).await;
    let spent = spend_conversations_create(&stack.url, &other).await;
    let incident = fire(&stack, intake, "prom-2").await;
    // The 429 defers the job; after the wait it asked for, the room opens.
    wait_for_open_room(&stack, admin, &incident).await;

    // Prometheus scrapes every second: poll its HTTP API until every counter moved.
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let mut seen = Vec::new();
        for query in MUST_MOVE {
            seen.push((query, prometheus.value(query).await));
        }
        if seen.iter().all(|(_, v)| matches!(v, Ok(Some(v)) if *v > 0.0)) {
            break seen;
        }
        if Instant::now() > deadline {
            let up = prometheus.value(r#"up{job="warroom-local"}"#).await;
            let report: Vec<String> = seen.iter().map(|(q, v)| format!("  {q} = {v:?}")).collect();
            panic!(
                "Prometheus did not see every counter move within 30 s (up: {up:?}; Ok(None) = no series):\n{}\nPrometheus log:\n{}",
                report.join("\n"),
                prometheus.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!("the other app's burst: {spent} conversations.create calls, the last one answered 429");
    for (query, value) in &seen {
        eprintln!("{query} = {value:?}");
    }
    // The wait a 429 asked for is what the sandbox's Retry-After said: whole seconds, >= 1.
    let waits = seen[5].1.clone().unwrap().unwrap();
    let waited = seen[6].1.clone().unwrap().unwrap();
    assert!(waited >= waits, "{waited} s waited over {waits} rate limits: each asks for at least 1 s");
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());

    drop(prometheus);
    drop(stack);
    let _ = std::fs::remove_dir_all(&data);
}
