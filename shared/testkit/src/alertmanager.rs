//! A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, which the test script
//! installs) for tests: started on a free loopback port with the given configuration,
//! killed and its directory removed when dropped, pass or fail.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Alertmanager {
    child: Child,
    dir: std::path::PathBuf,
    pub url: String,
}

/// A route to one webhook receiver that authenticates with a bearer `token`, grouping by
/// alert name and delivering after a second (the tests' usual configuration).
pub fn webhook_config(url: &str, token: &str) -> String {
    format!(
        "route:\n  receiver: warroom\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: warroom\n    webhook_configs:\n      - url: \"{url}\"\n        send_resolved: true\n\
         \x20       http_config:\n          authorization:\n            credentials: \"{token}\"\n"
    )
}

impl Alertmanager {
    /// Starts the binary (`WARROOM_ALERTMANAGER_BIN`, else `prometheus-alertmanager` on
    /// PATH) and waits until `/-/ready` answers 2xx (at most 20 s).
    pub async fn start(config_yaml: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("warroom-am-{}", warroom_core::ids::random_suffix()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("am.yml"), config_yaml).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let binary = std::env::var("WARROOM_ALERTMANAGER_BIN").unwrap_or_else(|_| "prometheus-alertmanager".into());
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", dir.join("am.yml").display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Empty: no cluster listener, so parallel tests do not collide.
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {binary}: {e}; ./infra/test.sh installs prometheus-alertmanager"));
        let am = Self { child, dir, url: format!("http://127.0.0.1:{port}") };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = http.get(format!("{}/-/ready", am.url)).send().await {
                if r.status().is_success() {
                    return am;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{binary} did not become ready within 20 s");
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
