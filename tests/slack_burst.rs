//! A burst against the Slack sandbox's tier limits: more war rooms at once than
//! conversations.create's Tier 2 allows per minute. The shared token buckets defer the
//! jobs that must wait, so the run finishes with zero 429 answers. Prints its figures
//! (`cargo test --test slack_burst -- --nocapture`); asserts no timing.

mod common;

use common::event;
use common::platform_app::PlatformApp;
use std::time::Instant;
use warroom_core::*;
use warroom_platforms::{PlatformsConfig, SlackApp};
use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};
use warroom_secrets::Secret;
use warroom_testkit::fixtures;

const TEAM: &str = "T0BURST";
const INCIDENTS: usize = 24;

#[tokio::test]
async fn a_burst_beyond_the_tier_limits_finishes_with_zero_rate_limited_answers() {
    let sandbox =
        SlackSandbox::new(SandboxConfig { client_id: "c".into(), client_secret: "s".into(), signing_secret: "sig".into(), enforce_rate_limits: true });
    let base = sandbox.serve_local().await.unwrap();
    sandbox.add_workspace(TEAM, "Burst");
    sandbox.add_user(TEAM, "U_ADA", "Ada", "ada@example.com");
    sandbox.add_user(TEAM, "U_BOB", "Bob", "bob@example.com");
    let scopes: Vec<&str> = warroom_platforms::slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    let token = sandbox.issue_bot_token(TEAM, &scopes);
    let app = PlatformApp::start(|url| PlatformsConfig {
        public_url: url.to_string(),
        slack_api_base: format!("{base}/api"),
        slack_oauth_base: base.clone(),
        slack_app: Some(SlackApp { client_id: "c".into(), client_secret: Secret::new("s"), signing_secret: Secret::new("sig") }),
        base_overrides: Default::default(),
        chat_links: None,
    })
    .await;
    let platforms = app.state.platforms.clone().unwrap();
    let mut integration = fixtures::integration(&app.tenant, Platform::Slack);
    integration.external_id = Some(TEAM.into());
    integration.granted_scopes = scopes.iter().map(|s| s.to_string()).collect();
    let credentials =
        warroom_platforms::slack::SlackCredentials { bot_token: token, team_id: TEAM.into(), bot_user_id: None, app_id: None, signing_secret: None };
    integration.credentials = platforms.seal(&integration.id, &credentials);
    app.store.create_integration(&integration).await.unwrap();
    app.store.enable_war_room(&app.tenant, &integration.id).await.unwrap();
    // The steady state after one-click linking: responders are linked.
    app.store.put_link(&fixtures::link(&app.tenant, &integration.id, "m_ada", "U_ADA")).await.unwrap();
    app.store.put_link(&fixtures::link(&app.tenant, &integration.id, "m_bob", "U_BOB")).await.unwrap();
    sandbox.reset_counters();

    let started = Instant::now();
    let hooks = (0..INCIDENTS).map(|n| app.post("/hooks/generic", &app.intake_key, event(&format!("burst-{n}"), "triggered", 0, &["Ada", "Bob"])));
    for (code, body) in futures::future::join_all(hooks).await {
        assert_eq!(code, 202, "{body}");
    }
    app.drain().await;
    let elapsed = started.elapsed();

    let mut open = 0;
    for n in 0..INCIDENTS {
        let inc = app.incident(&format!("burst-{n}")).await;
        if inc.war_room.state == WarRoomState::Open && inc.war_room.card_message_id.is_some() && inc.war_room.invited.len() == 2 {
            open += 1;
        }
    }
    let calls = sandbox.calls();
    let count = |m: &str| calls.iter().filter(|(method, _)| method == m).count();
    println!(
        "slack burst: {INCIDENTS} war rooms in {:.1} s; {} API calls (conversations.create {}, setTopic {}, invite {}, chat.postMessage {}, chat.update {}); rate-limited answers: {}",
        elapsed.as_secs_f64(),
        calls.len(),
        count("conversations.create"),
        count("conversations.setTopic"),
        count("conversations.invite"),
        count("chat.postMessage"),
        count("chat.update"),
        sandbox.rate_limited_count()
    );
    assert_eq!(open, INCIDENTS, "every war room opened with its members and card");
    assert_eq!(sandbox.rate_limited_count(), 0, "the shared buckets kept every call under Slack's tiers");
}
