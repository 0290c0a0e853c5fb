//! What startup prints on stdout: what listens where, the demo tenant's keys (on the
//! first start only), and the next commands to try. Logs go to stderr.

use crate::cli::SandboxMode;
use crate::data::DemoKeys;
use crate::sandboxes::{DINGTALK_CLIENT_ID, FEISHU_APP_ID, PEOPLE, SLACK_TEAM_ID, WECOM_CORP_ID};

pub struct Banner<'a> {
    pub bundle_url: &'a str,
    pub data_dir: &'a str,
    pub workers: usize,
    pub sandbox: &'a SandboxMode,
    pub keys: &'a DemoKeys,
    /// Made by this start: print them (this once).
    pub new_keys: bool,
    pub keys_file: &'a str,
    pub restored_jobs: usize,
    pub restored_dead: usize,
    /// The effective outbound policy of status sync (`OutboundPolicy::describe`).
    pub outbound: &'a str,
}

impl Banner<'_> {
    pub fn render(&self) -> String {
        let url = self.bundle_url;
        let mut out = Vec::new();
        let loops = if self.workers == 1 { "1 worker loop".to_string() } else { format!("{} worker loops", self.workers) };
        out.push(format!("warroom-local: listening on {url} (data in {}, {loops})", self.data_dir));
        out.push(format!("  {:<48} incident intake (generic, alertmanager, pagerduty)", format!("{url}/hooks/{{source}}")));
        out.push(format!("  {:<48} web console: sign in with the admin key", format!("{url}/console/")));
        out.push(format!("  {:<48} management API (docs/api.md)", format!("{url}/api/v1/")));
        out.push(format!("  {:<48} IM callbacks, OAuth and sign-in", format!("{url}/im/, /oauth/")));
        out.push(format!("  {:<48} health check", format!("{url}/healthz")));
        let slack_users: Vec<&str> = PEOPLE.iter().map(|p| p.slack_user).collect();
        let feishu_users: Vec<&str> = PEOPLE.iter().map(|p| p.feishu_user).collect();
        let dingtalk_users: Vec<&str> = PEOPLE.iter().map(|p| p.dingtalk_user).collect();
        let sandboxes_at = |base: &str, out: &mut Vec<String>| {
            out.push(format!(
                "  {:<48} Slack sandbox: workspace {SLACK_TEAM_ID}, users {}; war rooms open here",
                format!("{base}/sandbox/slack/api/"),
                slack_users.join(" ")
            ));
            out.push(format!("  {:<48} Feishu sandbox: app {FEISHU_APP_ID}, users {}", format!("{base}/sandbox/feishu/open-apis/"), feishu_users.join(" ")));
        };
        match self.sandbox {
            SandboxMode::InProcess => {
                out.push("Demo mode: the IM sandboxes run in this process (in memory: new chats on every start)".into());
                out.push(format!("  {:<48} sandbox view: chats, members, messages, cards with working buttons", format!("{url}/sandbox/")));
                sandboxes_at(url, &mut out);
                out.push(format!(
                    "  {:<48} DingTalk sandbox: app {DINGTALK_CLIENT_ID}, users {}; move war rooms here on the sandbox view",
                    format!("{url}/sandbox/dingtalk/"),
                    dingtalk_users.join(" ")
                ));
                let wecom_users: Vec<&str> = PEOPLE.iter().map(|p| p.wecom_user).collect();
                out.push(format!(
                    "  {:<48} WeCom sandbox: corp {WECOM_CORP_ID}, users wc_owner {}; move war rooms here on the sandbox view",
                    format!("{url}/sandbox/wecom/cgi-bin/"),
                    wecom_users.join(" ")
                ));
                out.push(format!("  {:<48} card clicks for scripts (see infra/demo.sh)", format!("{url}/sandbox/control/")));
            }
            SandboxMode::External(base) => {
                out.push(format!("Demo mode: the IM sandboxes of the warroom-sandbox process at {base} (no sandbox view or card clicks here)"));
                sandboxes_at(base, &mut out);
            }
            SandboxMode::Off => out.push("No sandbox: connect a real Slack or Feishu workspace through the API (README, \"Connecting Slack\").".into()),
        }
        out.push(format!("Status sync may reach {} (WARROOM_OUTBOUND_ALLOW adds more; docs/outbound.md)", self.outbound));
        let members = if self.sandbox.is_demo() { format!(", members {}", PEOPLE.map(|p| p.name).join(", ")) } else { String::new() };
        out.push(format!("Tenant \"{}\" ({}){members}", self.keys.tenant_name, self.keys.tenant_id));
        let intake = if self.new_keys {
            out.push(format!("  admin key:  {}   (shown once; kept in {})", self.keys.admin_key, self.keys_file));
            out.push(format!("  intake key: {}", self.keys.intake_key));
            self.keys.intake_key.clone()
        } else {
            out.push(format!("  API keys: in {}", self.keys_file));
            format!("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"intake_key\"])' {})", self.keys_file)
        };
        if self.restored_jobs + self.restored_dead > 0 {
            out.push(format!("Restored {} queued job(s) and {} dead letter(s) left by the last run.", self.restored_jobs, self.restored_dead));
        }
        if self.sandbox.is_demo() {
            out.push("Try:".into());
            out.push(format!("  curl -sS -X POST {url}/hooks/generic -H \"Authorization: Bearer {intake}\" -H 'Content-Type: application/json' \\"));
            out.push("    -d '{\"id\":\"INC-1\",\"title\":\"Checkout errors above 5%\",\"severity\":\"critical\",\"status\":\"triggered\",\"time\":\"'\"$(date -u +%FT%TZ)\"'\",\"responders\":[{\"name\":\"Ada\",\"email\":\"ada@example.com\"},{\"name\":\"Bob\",\"email\":\"bob@example.com\"}]}'".into());
        }
        if *self.sandbox == SandboxMode::InProcess {
            out.push(format!("  then watch the war room open in {url}/sandbox/"));
            out.push(format!("  or run the whole flow (fire, acknowledge, resolve, dismiss, timeline): {}infra/demo.sh", self.demo_env()));
        }
        out.push("Ctrl-C stops it; jobs still queued are kept for the next start.".into());
        out.join("\n")
    }

    /// The environment `infra/demo.sh` needs when not the defaults.
    fn demo_env(&self) -> String {
        let mut env = String::new();
        if self.bundle_url != "http://127.0.0.1:3000" {
            env.push_str(&format!("WARROOM_URL={} ", self.bundle_url));
        }
        if self.data_dir != crate::cli::DEFAULT_DATA_DIR {
            env.push_str(&format!("WARROOM_DATA_DIR={} ", self.data_dir));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> DemoKeys {
        DemoKeys { tenant_id: "ten_1".into(), tenant_name: "Demo".into(), admin_key: "wr_admin".into(), intake_key: "wr_intake".into() }
    }

    #[test]
    fn keys_are_printed_on_the_first_start_only() {
        let keys = keys();
        let mut banner = Banner {
            bundle_url: "http://127.0.0.1:3000",
            data_dir: ".warroom-local",
            workers: 2,
            sandbox: &SandboxMode::InProcess,
            keys: &keys,
            new_keys: true,
            keys_file: ".warroom-local/demo-keys.json",
            restored_jobs: 0,
            restored_dead: 0,
            outbound: "public addresses and 127.0.0.0/8, ::1/128",
        };
        let first = banner.render();
        assert!(first.contains("Status sync may reach public addresses and 127.0.0.0/8, ::1/128 (WARROOM_OUTBOUND_ALLOW"), "{first}");
        assert!(first.starts_with("warroom-local: listening on http://127.0.0.1:3000 "), "{first}");
        assert!(first.contains("wr_admin") && first.contains("Bearer wr_intake"), "{first}");
        assert!(first.contains("http://127.0.0.1:3000/sandbox/ "), "{first}");
        assert!(first.contains("http://127.0.0.1:3000/console/ ") && first.contains("web console: sign in with the admin key"), "{first}");
        assert!(first.contains(": infra/demo.sh"), "defaults need no environment: {first}");
        banner.new_keys = false;
        banner.bundle_url = "http://127.0.0.1:4000";
        let later = banner.render();
        assert!(!later.contains("wr_admin") && !later.contains("wr_intake"), "{later}");
        assert!(later.contains("WARROOM_URL=http://127.0.0.1:4000 infra/demo.sh"), "{later}");

        let external = SandboxMode::External("http://127.0.0.1:3100".into());
        banner.sandbox = &external;
        let out = banner.render();
        assert!(out.contains("warroom-sandbox process at http://127.0.0.1:3100") && out.contains("http://127.0.0.1:3100/sandbox/slack/api/"), "{out}");
        assert!(!out.contains("demo.sh") && !out.contains("4000/sandbox/"), "no view nor clicks here: {out}");
    }
}
