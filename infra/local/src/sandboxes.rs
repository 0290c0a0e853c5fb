//! Demo mode's IM sandboxes and their seed: Slack at `/sandbox/slack` (Web API under
//! `/api`, OAuth under `/oauth`), Feishu at `/sandbox/feishu` (`/open-apis/...`; two apps,
//! the second not connected by the seed), DingTalk at `/sandbox/dingtalk` (its demo app is
//! not connected by the seed), with
//! deterministic workspaces, apps and users. They live in memory: in-process (served by the
//! bundle's own listener, built afresh on every start), or in the `warroom-sandbox` process
//! (`sandbox_server`, seeded by the same [`Sandboxes::start`]) that outlives restarts of
//! `warroom-local --sandbox-url`.

use axum::Router;
use serde::{Deserialize, Serialize};
use warroom_platforms::{feishu, slack, PlatformsConfig, SlackApp};
use warroom_sandbox::dingtalk::{self as dingtalk_sandbox, DingTalkSandbox};
use warroom_sandbox::feishu::{self as feishu_sandbox, FeishuSandbox};
use warroom_sandbox::llm::{LlmConfig, LlmSandbox};
use warroom_sandbox::slack::{self as slack_sandbox, SlackSandbox};
use warroom_sandbox::wecom::{self as wecom_sandbox, WeComSandbox};
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
/// A second app in the same Feishu tenant that the demo does not connect, so a newcomer (and
/// the console's browser test) can add a Feishu integration that succeeds. It lacks
/// [`FEISHU_SECOND_APP_WITHHELD`], so enabling war rooms on it is first refused; grant them
/// with `POST /sandbox/control/feishu/scopes` ([`FEISHU_CONTROL_PATH`]).
pub const FEISHU_SECOND_APP_ID: &str = "cli_demo0warroom02";
pub const FEISHU_SECOND_APP_SECRET: &str = "demo-feishu-second-app-secret";
pub const FEISHU_SECOND_VERIFICATION_TOKEN: &str = "demo-feishu-second-verification-token";
pub const FEISHU_SECOND_ENCRYPT_KEY: &str = "demo-feishu-second-encrypt-key";
/// Required scopes the second app is not granted: war rooms cannot open a chat or find
/// responders by email without them.
pub const FEISHU_SECOND_APP_WITHHELD: [&str; 2] = ["im:chat", "contact:user.id:readonly"];
/// Where the Feishu sandbox's control routes are served in-process
/// (`warroom_sandbox::feishu::control`: an app's granted scopes). `/sandbox/control/feishu/click`
/// beside them is the bundle's own (`crate::control`): a static path wins over the nest.
pub const FEISHU_CONTROL_PATH: &str = "/sandbox/control/feishu";

/// A demo person: the member's name, email and phone, and their sandbox user ids.
pub struct Person {
    pub name: &'static str,
    pub email: &'static str,
    /// DingTalk finds people by phone only, so everyone has one.
    pub phone: Option<&'static str>,
    pub slack_user: &'static str,
    pub feishu_user: &'static str,
    pub dingtalk_user: &'static str,
    /// `phone` as DingTalk and WeCom store it (mainland numbers without +86).
    pub dingtalk_mobile: &'static str,
    pub wecom_user: &'static str,
}

#[rustfmt::skip]
pub const PEOPLE: [Person; 3] = [
    Person { name: "Ada", email: "ada@example.com", phone: Some("+86 138 0000 0001"), slack_user: "U_ADA", feishu_user: "ou_ada", dingtalk_user: "dt_ada", dingtalk_mobile: "13800000001", wecom_user: "wc_ada" },
    Person { name: "Bob", email: "bob@example.com", phone: Some("+86 138 0000 0002"), slack_user: "U_BOB", feishu_user: "ou_bob", dingtalk_user: "dt_bob", dingtalk_mobile: "13800000002", wecom_user: "wc_bob" },
    Person { name: "Cy", email: "cy@example.com", phone: Some("+1 555 0100 003"), slack_user: "U_CY", feishu_user: "ou_cy", dingtalk_user: "dt_cy", dingtalk_mobile: "+15550100003", wecom_user: "wc_cy" },
];

pub const SLACK_PATH: &str = "/sandbox/slack";
pub const FEISHU_PATH: &str = "/sandbox/feishu";
/// DingTalk's old and v1.0 APIs share it (their paths do not overlap).
pub const DINGTALK_PATH: &str = "/sandbox/dingtalk";
pub const WECOM_PATH: &str = "/sandbox/wecom";
/// Where the WeCom sandbox's control routes are served in-process (`warroom_sandbox::wecom::control`).
pub const WECOM_CONTROL_PATH: &str = "/sandbox/control/wecom";
/// The LLM sandbox: `{bundle}/sandbox/llm/v1/chat/completions`.
pub const LLM_PATH: &str = "/sandbox/llm";
pub const LLM_MODEL: &str = "sandbox-gpt";

/// The assistant's model in demo mode: the in-process LLM sandbox.
pub fn llm_settings(sandbox_base: &str) -> warroom_core::ModelSettings {
    let provider = warroom_core::ModelProvider::OpenAiCompatible {
        base_url: format!("{sandbox_base}{LLM_PATH}/v1"),
        model: LLM_MODEL.into(),
        api_key: Some(warroom_sandbox::llm::DEFAULT_API_KEY.into()),
        azure_api_version: None,
    };
    warroom_core::ModelSettings { provider, max_output_tokens: 600 }
}
/// The demo WeCom corp and its self-built app (with a smart bot): connect it with
/// `POST /api/v1/integrations`, owner `wc_owner`.
pub const WECOM_CORP_ID: &str = "wwdemowarroom01";
pub const WECOM_AGENT_ID: i64 = 1000002;
pub const WECOM_SECRET: &str = "demo-wecom-app-secret";
pub const WECOM_OWNER: &str = "wc_owner";
pub const WECOM_CALLBACK_TOKEN: &str = "demowecomcallbacktoken";
/// 43 letters and digits, as the console generates them.
pub const WECOM_CALLBACK_AES_KEY: &str = "demowecomcallbackaeskey0123456789abcdefghij";
pub const WECOM_BOT_TOKEN: &str = "demowecombottoken";
pub const WECOM_BOT_AES_KEY: &str = "demowecombotaeskey0123456789abcdefghijklmno";
/// Where the DingTalk sandbox's control routes are served in-process.
pub const DINGTALK_CONTROL_PATH: &str = "/sandbox/control/dingtalk";
/// The demo DingTalk app: connect it with `POST /api/v1/integrations` (client id and
/// secret below, template `tpl_<client id>`, robot `grb_<client id>`).
pub const DINGTALK_CLIENT_ID: &str = "dingdemowarroom01";
pub const DINGTALK_CLIENT_SECRET: &str = "demo-dingtalk-app-secret";
pub const DINGTALK_EVENT_TOKEN: &str = "demo-dingtalk-event-token";
/// 43 characters, as the console generates them.
pub const DINGTALK_EVENT_AES_KEY: &str = "demodingtalkeventaeskey0123456789abcdefghij";

#[derive(Clone)]
pub struct Sandboxes {
    pub slack: SlackSandbox,
    pub feishu: FeishuSandbox,
    pub dingtalk: DingTalkSandbox,
    pub wecom: WeComSandbox,
    /// The assistant's model: an OpenAI-compatible server whose answers are made from what it
    /// was given, so a newcomer's @mention gets a streamed answer with no account anywhere.
    pub llm: LlmSandbox,
    /// Where they are served: the bundle (`http://127.0.0.1:3000`) or the sandbox process.
    pub base_url: String,
}

/// What the demo integrations need from the sandboxes: the installed Slack app's bot and
/// token, the Feishu app's bot. `GET /control/demo` of `warroom-sandbox` answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoIdentity {
    pub slack_bot_token: String,
    pub slack_scopes: Vec<String>,
    pub slack_bot_user_id: Option<String>,
    pub slack_app_id: String,
    pub feishu_bot_open_id: Option<String>,
}

impl Sandboxes {
    /// Both sandboxes with the demo workspace, apps and people, served at `base_url`.
    pub fn start(base_url: &str) -> Self {
        let slack = SlackSandbox::new(slack_sandbox::SandboxConfig {
            client_id: SLACK_CLIENT_ID.into(),
            client_secret: SLACK_CLIENT_SECRET.into(),
            signing_secret: SLACK_SIGNING_SECRET.into(),
            enforce_rate_limits: true,
        });
        slack.set_base_url(&format!("{base_url}{SLACK_PATH}"));
        slack.add_workspace(SLACK_TEAM_ID, SLACK_TEAM_NAME);
        let feishu = FeishuSandbox::new(feishu_sandbox::SandboxConfig::default());
        let scopes: Vec<&str> = feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
        feishu.add_app(FEISHU_APP_ID, FEISHU_APP_SECRET, FEISHU_VERIFICATION_TOKEN, FEISHU_ENCRYPT_KEY, &scopes);
        let partial: Vec<&str> = scopes.iter().copied().filter(|s| !FEISHU_SECOND_APP_WITHHELD.contains(s)).collect();
        feishu.add_app(FEISHU_SECOND_APP_ID, FEISHU_SECOND_APP_SECRET, FEISHU_SECOND_VERIFICATION_TOKEN, FEISHU_SECOND_ENCRYPT_KEY, &partial);
        let dingtalk = DingTalkSandbox::new(dingtalk_sandbox::SandboxConfig { enforce_rate_limits: true, ..Default::default() });
        dingtalk.set_base_url(&format!("{base_url}{DINGTALK_PATH}"));
        let mut app = dingtalk_sandbox::AppConfig::new(DINGTALK_CLIENT_ID, DINGTALK_CLIENT_SECRET);
        app.event_token = DINGTALK_EVENT_TOKEN.into();
        app.event_aes_key = DINGTALK_EVENT_AES_KEY.into();
        dingtalk.add_app(app);
        let wecom = WeComSandbox::new(wecom_sandbox::SandboxConfig { enforce_rate_limits: true, ..Default::default() });
        wecom.set_base_url(&format!("{base_url}{WECOM_PATH}"));
        let mut wecom_app = wecom_sandbox::AppConfig::new(WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET);
        wecom_app.callback_token = WECOM_CALLBACK_TOKEN.into();
        wecom_app.callback_aes_key = WECOM_CALLBACK_AES_KEY.into();
        wecom_app.bot_token = WECOM_BOT_TOKEN.into();
        wecom_app.bot_aes_key = WECOM_BOT_AES_KEY.into();
        wecom.add_app(wecom_app);
        wecom.add_user(WECOM_OWNER, "On-call lead", Some("13800000009"), None);
        for p in &PEOPLE {
            wecom.add_user(p.wecom_user, p.name, Some(p.dingtalk_mobile), Some(p.email));
            slack.add_user(SLACK_TEAM_ID, p.slack_user, p.name, p.email);
            feishu.add_user(p.feishu_user, p.name, Some(p.email), p.phone);
            dingtalk.add_user(p.dingtalk_user, p.name, Some(p.dingtalk_mobile), Some(p.email));
        }
        let llm = LlmSandbox::new(LlmConfig::default());
        Self { slack, feishu, dingtalk, wecom, llm, base_url: base_url.to_string() }
    }

    /// Every sandbox's API, by the path it is served under, and the control routes of the
    /// DingTalk sandbox (a person clicks, @-mentions, disbands: `warroom_sandbox::dingtalk::control`)
    /// under [`DINGTALK_CONTROL_PATH`], of the Feishu sandbox (an admin changes an app's grant)
    /// under [`FEISHU_CONTROL_PATH`] and of the WeCom sandbox under [`WECOM_CONTROL_PATH`].
    pub fn routers(&self) -> Vec<(&'static str, Router)> {
        vec![
            (SLACK_PATH, self.slack.router()),
            (FEISHU_PATH, self.feishu.router()),
            (FEISHU_CONTROL_PATH, feishu_sandbox::control::router(&self.feishu)),
            (DINGTALK_PATH, self.dingtalk.router()),
            (DINGTALK_CONTROL_PATH, dingtalk_sandbox::control::router(&self.dingtalk)),
            (WECOM_PATH, self.wecom.router()),
            (WECOM_CONTROL_PATH, wecom_sandbox::control::router(&self.wecom)),
            (LLM_PATH, self.llm.router()),
        ]
    }

    /// A bot token with every scope Warroom asks for (as if the demo app were installed),
    /// and the bots' ids.
    pub fn identity(&self) -> DemoIdentity {
        let scopes: Vec<&str> = slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
        DemoIdentity {
            slack_bot_token: self.slack.issue_bot_token(SLACK_TEAM_ID, &scopes),
            slack_scopes: scopes.iter().map(|s| s.to_string()).collect(),
            slack_bot_user_id: self.slack.bot_user_id(SLACK_TEAM_ID),
            slack_app_id: self.slack.app_id(),
            feishu_bot_open_id: self.feishu.bot_open_id(FEISHU_APP_ID),
        }
    }

    /// Keeps new Slack channel ids clear of the ones stored before a restart: a sandbox
    /// built afresh numbers its ids from 1 again (`C0` + 9 hex digits), so a new war room
    /// could get the id of an old one.
    pub fn skip_slack_channel_ids(&self, stored: impl IntoIterator<Item = String>) {
        if let Some(highest) = stored.into_iter().filter_map(|id| slack_channel_number(&id)).max() {
            self.slack.set_id_floor(highest);
        }
    }
}

/// The adapters pointed at sandboxes served at `sandbox_base`, the deployment's Slack app
/// being the demo app and callbacks going to `public_url` (the bundle).
pub fn platforms_config(sandbox_base: &str, public_url: &str) -> PlatformsConfig {
    let slack_base = format!("{sandbox_base}{SLACK_PATH}");
    PlatformsConfig {
        public_url: public_url.to_string(),
        slack_api_base: format!("{slack_base}/api"),
        slack_oauth_base: slack_base,
        slack_app: Some(SlackApp {
            client_id: SLACK_CLIENT_ID.into(),
            client_secret: Secret::new(SLACK_CLIENT_SECRET),
            signing_secret: Secret::new(SLACK_SIGNING_SECRET),
        }),
        base_overrides: [
            (warroom_core::Platform::Feishu, feishu_base(sandbox_base)),
            (warroom_core::Platform::Dingtalk, format!("{sandbox_base}{DINGTALK_PATH}")),
            (warroom_core::Platform::Wecom, format!("{sandbox_base}{WECOM_PATH}")),
        ]
        .into(),
        // The sandbox page (served by the bundle) shows every chat, anchored by its id.
        chat_links: Some(format!("{}/sandbox/", public_url.trim_end_matches('/'))),
    }
}

pub fn feishu_base(sandbox_base: &str) -> String {
    format!("{sandbox_base}{FEISHU_PATH}")
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
    fn the_second_feishu_apps_withheld_scopes_are_ones_war_rooms_require() {
        // Otherwise enabling war rooms on it would not be refused and the console's test of
        // the missing-permission warning would prove nothing.
        for withheld in FEISHU_SECOND_APP_WITHHELD {
            assert!(feishu::REQUIRED_SCOPES.iter().any(|(s, _)| *s == withheld), "{withheld} is not required");
        }
    }

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
        assert_eq!(slack_channel_number(&fresh), slack_channel_number(old.last().unwrap()).map(|n| n + 1), "no ids burnt");
        assert_eq!(second.slack.channels(SLACK_TEAM_ID).len(), 1, "no channels made to skip ids");
        assert_eq!(slack_channel_number("C000000001F"), Some(0x1F));
        assert_eq!(slack_channel_number("oc_abc"), None);
    }
}
