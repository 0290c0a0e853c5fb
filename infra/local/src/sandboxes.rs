//! Demo mode's IM sandboxes, in-process and served by the bundle's own listener:
//! Slack at `/sandbox/slack` (Web API under `/api`, OAuth under `/oauth`), Feishu at
//! `/sandbox/feishu` (`/open-apis/...`). They live in memory, so they are built afresh on
//! every start, with deterministic workspaces, apps and users.

use warroom_platforms::{feishu, slack, PlatformsConfig, SlackApp};
use warroom_sandbox::feishu::{self as feishu_sandbox, FeishuSandbox};
use warroom_sandbox::slack::{self as slack_sandbox, SlackSandbox};
use warroom_secrets::Secret;

pub const SLACK_TEAM_ID: &str = "T0DEMO";
pub const SLACK_TEAM_NAME: &str = "Demo";
/// The demo Slack app (deterministic demo values: this app exists only in the sandbox).
pub const SLACK_CLIENT_ID: &str = "1000000001.2000000002";
pub const SLACK_CLIENT_SECRET: &str = "demo-slack-client-secret";
pub const SLACK_SIGNING_SECRET: &str = "demo-slack-signing-secret";

pub const FEISHU_APP_ID: &str = "cli_demo0warroom01";
pub const FEISHU_APP_SECRET: &str = "demo-feishu-app-secret";
pub const FEISHU_VERIFICATION_TOKEN: &str = "demo-feishu-verification-token";
pub const FEISHU_ENCRYPT_KEY: &str = "demo-feishu-encrypt-key";

/// A demo person: the member's name, email and phone, and their sandbox user ids.
pub struct Person {
    pub name: &'static str,
    pub email: &'static str,
    pub phone: Option<&'static str>,
    pub slack_user: &'static str,
    pub feishu_user: &'static str,
}

pub const PEOPLE: [Person; 3] = [
    Person { name: "Ada", email: "ada@example.com", phone: None, slack_user: "U_ADA", feishu_user: "ou_ada" },
    Person { name: "Bob", email: "bob@example.com", phone: None, slack_user: "U_BOB", feishu_user: "ou_bob" },
    Person { name: "Cy", email: "cy@example.com", phone: Some("+1 555 0100 003"), slack_user: "U_CY", feishu_user: "ou_cy" },
];

pub const SLACK_PATH: &str = "/sandbox/slack";
pub const FEISHU_PATH: &str = "/sandbox/feishu";

#[derive(Clone)]
pub struct Sandboxes {
    pub slack: SlackSandbox,
    pub feishu: FeishuSandbox,
    /// `http://127.0.0.1:3000`
    pub bundle_url: String,
}

impl Sandboxes {
    pub fn start(bundle_url: &str) -> Self {
        let slack = SlackSandbox::new(slack_sandbox::SandboxConfig {
            client_id: SLACK_CLIENT_ID.into(),
            client_secret: SLACK_CLIENT_SECRET.into(),
            signing_secret: SLACK_SIGNING_SECRET.into(),
            enforce_rate_limits: true,
        });
        slack.set_base_url(&format!("{bundle_url}{SLACK_PATH}"));
        slack.add_workspace(SLACK_TEAM_ID, SLACK_TEAM_NAME);
        let feishu = FeishuSandbox::new(feishu_sandbox::SandboxConfig::default());
        let scopes: Vec<&str> = feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
        feishu.add_app(FEISHU_APP_ID, FEISHU_APP_SECRET, FEISHU_VERIFICATION_TOKEN, FEISHU_ENCRYPT_KEY, &scopes);
        for p in &PEOPLE {
            slack.add_user(SLACK_TEAM_ID, p.slack_user, p.name, p.email);
            feishu.add_user(p.feishu_user, p.name, Some(p.email), p.phone);
        }
        Self { slack, feishu, bundle_url: bundle_url.to_string() }
    }

    /// The adapters pointed at the sandboxes, the deployment's Slack app being the demo app.
    pub fn platforms_config(&self) -> PlatformsConfig {
        let slack_base = format!("{}{SLACK_PATH}", self.bundle_url);
        PlatformsConfig {
            public_url: self.bundle_url.clone(),
            slack_api_base: format!("{slack_base}/api"),
            slack_oauth_base: slack_base,
            slack_app: Some(SlackApp {
                client_id: SLACK_CLIENT_ID.into(),
                client_secret: Secret::new(SLACK_CLIENT_SECRET),
                signing_secret: Secret::new(SLACK_SIGNING_SECRET),
            }),
            feishu_base_override: Some(self.feishu_base()),
        }
    }

    pub fn feishu_base(&self) -> String {
        format!("{}{FEISHU_PATH}", self.bundle_url)
    }

    /// A bot token with every scope Warroom asks for, as if the demo app were installed.
    pub fn slack_bot_token(&self) -> (String, Vec<String>) {
        let scopes: Vec<&str> = slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
        let token = self.slack.issue_bot_token(SLACK_TEAM_ID, &scopes);
        (token, scopes.iter().map(|s| s.to_string()).collect())
    }

    /// Keeps new Slack channel ids clear of the ones stored before a restart. The sandbox
    /// numbers its ids from 1 on every start (`C0` + 9 hex digits), so a new war room could
    /// get the id of an old one; this uses ids up to `highest` in a hidden workspace.
    pub fn skip_slack_channel_ids(&self, stored: impl IntoIterator<Item = String>) {
        let highest = stored.into_iter().filter_map(|id| slack_channel_number(&id)).max();
        let Some(highest) = highest else { return };
        const SPENT: &str = "T0SPENTIDS";
        self.slack.add_workspace(SPENT, "ids used before the restart");
        let owner = self.slack.owner_id(SPENT).unwrap_or_default();
        loop {
            let id = self.slack.create_channel(SPENT, &owner, "spent", true);
            match slack_channel_number(&id) {
                Some(n) if n < highest => continue,
                _ => break,
            }
        }
    }
}

/// `C0000000A1F` → 0xA1F.
fn slack_channel_number(id: &str) -> Option<u64> {
    let digits = id.strip_prefix("C0")?;
    (digits.len() == 9).then(|| u64::from_str_radix(digits, 16).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_slack_channels_never_reuse_an_id_stored_before_a_restart() {
        let first = Sandboxes::start("http://127.0.0.1:1");
        let owner = first.slack.owner_id(SLACK_TEAM_ID).unwrap();
        let old: Vec<String> = (0..5).map(|_| first.slack.create_channel(SLACK_TEAM_ID, &owner, "room", true)).collect();

        let second = Sandboxes::start("http://127.0.0.1:1");
        second.skip_slack_channel_ids(old.clone());
        let owner = second.slack.owner_id(SLACK_TEAM_ID).unwrap();
        let fresh = second.slack.create_channel(SLACK_TEAM_ID, &owner, "room", true);
        assert!(!old.contains(&fresh), "{fresh} reused");
        assert!(second.slack.channels(SLACK_TEAM_ID).is_empty() || second.slack.channels(SLACK_TEAM_ID).len() == 1);
        assert_eq!(slack_channel_number("C000000001F"), Some(0x1F));
        assert_eq!(slack_channel_number("oc_abc"), None);
    }
}
