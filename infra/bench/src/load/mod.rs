//! Open-loop load of IM callbacks against the real `warroom-local` binary (issue 7,
//! item 8): the bench plays Slack and Feishu, and has the stack's DingTalk and WeCom
//! sandboxes play DingTalk and WeCom; the stack runs as a person runs it (demo mode, a
//! temporary data directory, a free port).
//!
//! One run: [`stack`] starts the binary; [`setup`] fires incidents through the intake API
//! so war rooms exist on all four platforms and reads their chats, cards and buttons back
//! from the sandbox view; [`driver`] sends callbacks at a fixed rate for a fixed time,
//! whatever the answers ([`callbacks`] builds them); [`settle`] waits for the queue to
//! drain and checks the end state (cards, statuses, mention answers, dead letters, the
//! stack's log, a clean stop); [`report`] prints it.
//!
//! Slack and Feishu callbacks are signed by the bench itself. DingTalk's are not: a card
//! callback is signed with the `apiSecret` the bundle registers at connect, which only the
//! sandbox and the bundle know. So DingTalk callbacks are asked of the sandbox through its
//! control routes (`/sandbox/control/dingtalk/{mention,click}`), which send the real signed
//! callback to the bundle and wait for its answer: the sandbox's own work (a lock, JSON, one
//! more local HTTP hop) is inside the latency measured for the DingTalk kinds.
//!
//! WeCom's are likewise asked of its sandbox (`/sandbox/control/wecom/{mention,click}`).
//! The bench could encrypt WeCom callbacks itself (the demo app's Token and EncodingAESKey
//! are public constants), but a card click carries a ResponseCode, single-use, that the
//! bundle spends to update the clicker's card, and only a code the sandbox issued is one
//! the sandbox's `update_template_card` takes. So both WeCom kinds go through the sandbox,
//! and its work is in their latency too.
//!
//! Open loop: request `i` is due at `start + i / rate` and its latency is counted from
//! then, not from when it was sent, so a stalled server cannot hide its stall by slowing
//! the generator down (coordinated omission).

pub mod callbacks;
pub mod driver;
pub mod proc;
pub mod report;
pub mod settle;
pub mod setup;
pub mod stack;

use std::path::PathBuf;
use std::time::Duration;

pub use report::LoadReport;

/// The kinds of callback the bench sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Events API `message` in a war-room channel (`/im/slack/events`).
    SlackMessage,
    /// Events API `app_mention` of the bot in a war-room channel: queues the bot's answer.
    SlackMention,
    /// `block_actions` on a status card's button (`/im/slack/interactions`).
    SlackClick,
    /// `im.message.receive_v1` in a war-room chat, encrypted and signed.
    FeishuMessage,
    /// The same with the bot @-mentioned: queues the bot's answer.
    FeishuMention,
    /// `card.action.trigger` on a status card's button, encrypted and signed.
    FeishuClick,
    /// A robot @-mention in a war-room scene group (a group robot hears nothing else),
    /// sent by the sandbox (`/sandbox/control/dingtalk/mention`): queues the bot's answer.
    DingTalkMention,
    /// An `actionCallback` on a status card's button, sent by the sandbox
    /// (`/sandbox/control/dingtalk/click`).
    DingTalkClick,
    /// A smart-bot @-mention in a war-room app group (the smart bot hears nothing else),
    /// encrypted JSON sent by the sandbox (`/sandbox/control/wecom/mention`): queues the
    /// assistant's answer.
    WeComMention,
    /// A `template_card_event` on a responder's status card (sent to each member 1:1: app
    /// groups take no buttons), encrypted XML with a fresh ResponseCode, sent by the sandbox
    /// (`/sandbox/control/wecom/click`).
    WeComClick,
}

/// The platforms the load plays, in the order figures are kept and printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    Slack,
    Feishu,
    DingTalk,
    WeCom,
}

impl Platform {
    pub const ALL: [Platform; 4] = [Platform::Slack, Platform::Feishu, Platform::DingTalk, Platform::WeCom];

    /// The sandbox view's workspace key and the report's label.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Feishu => "feishu",
            Platform::DingTalk => "dingtalk",
            Platform::WeCom => "wecom",
        }
    }

    /// Its place in per-platform arrays (`[T; 4]`, in [`Platform::ALL`]'s order).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::SlackMessage,
        Kind::SlackMention,
        Kind::SlackClick,
        Kind::FeishuMessage,
        Kind::FeishuMention,
        Kind::FeishuClick,
        Kind::DingTalkMention,
        Kind::DingTalkClick,
        Kind::WeComMention,
        Kind::WeComClick,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::SlackMessage => "slack_message",
            Kind::SlackMention => "slack_mention",
            Kind::SlackClick => "slack_click",
            Kind::FeishuMessage => "feishu_message",
            Kind::FeishuMention => "feishu_mention",
            Kind::FeishuClick => "feishu_click",
            Kind::DingTalkMention => "dingtalk_mention",
            Kind::DingTalkClick => "dingtalk_click",
            Kind::WeComMention => "wecom_mention",
            Kind::WeComClick => "wecom_click",
        }
    }

    pub fn platform(self) -> Platform {
        match self {
            Kind::SlackMessage | Kind::SlackMention | Kind::SlackClick => Platform::Slack,
            Kind::FeishuMessage | Kind::FeishuMention | Kind::FeishuClick => Platform::Feishu,
            Kind::DingTalkMention | Kind::DingTalkClick => Platform::DingTalk,
            Kind::WeComMention | Kind::WeComClick => Platform::WeCom,
        }
    }

    pub fn is_mention(self) -> bool {
        matches!(self, Kind::SlackMention | Kind::FeishuMention | Kind::DingTalkMention | Kind::WeComMention)
    }

    pub fn is_click(self) -> bool {
        matches!(self, Kind::SlackClick | Kind::FeishuClick | Kind::DingTalkClick | Kind::WeComClick)
    }
}

/// Relative weights of the kinds (per 200 callbacks by default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix(pub Vec<(Kind, u32)>);

impl Default for Mix {
    /// People write far more than they click; clicks come in storms (everyone acks the
    /// same card, stale cards get clicked again); the bot is rarely @-mentioned. Mentions
    /// are kept under what Slack lets the bot answer: each answer needs `reactions.add`
    /// (Tier 3, 50 a minute per workspace), so 1 mention a second at 200/s drains within
    /// the run and twice that does not.
    ///
    /// DingTalk's share is small (3%): its callbacks pass through the sandbox, whose work
    /// would otherwise weigh in the figures, and every answer to a mention is a notice card
    /// (`createAndDeliver`, 20 calls a second per app on the standard edition the sandbox
    /// enforces); 1 mention a second leaves that limit far off even at `--rate 800`.
    ///
    /// WeCom's share is as small (3%, taken from the Slack and Feishu messages), for the same
    /// relay, and because everything a WeCom room says goes to the group owner, who is in
    /// every room and takes at most 30 app messages a minute (beyond, WeCom drops them without
    /// a word): the bundle keeps the owner's messages, across all rooms, to one every 2.07 s.
    /// Each mention's answer is one of them, as is each card change: 200/s for 60 s asks for
    /// 60 answers and 40 card changes, about 207 s of the owner's messages, so the drain
    /// takes about 2.5 minutes (151.6 s measured). 1 WeCom mention a second outruns the
    /// owner's 29 a minute: at 200/s a run longer than about 90 s does not drain within
    /// `--drain-timeout`'s default 180 s (raise it, or lower `wecom_mention`).
    fn default() -> Self {
        Mix(vec![
            (Kind::SlackMessage, 73),
            (Kind::SlackMention, 1),
            (Kind::SlackClick, 30),
            (Kind::FeishuMessage, 52),
            (Kind::FeishuMention, 2),
            (Kind::FeishuClick, 30),
            (Kind::DingTalkMention, 1),
            (Kind::DingTalkClick, 5),
            (Kind::WeComMention, 1),
            (Kind::WeComClick, 5),
        ])
    }
}

impl Mix {
    /// `slack_message=79,slack_click=30,…`; kinds left out weigh 0.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut weights = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part.split_once('=').ok_or_else(|| format!("mix entry {part:?} is not kind=weight"))?;
            let kind = Kind::ALL.into_iter().find(|k| k.name() == name.trim()).ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown kind {name:?} (kinds: {})", names.join(", "))
            })?;
            let weight: u32 = weight.trim().parse().map_err(|_| format!("weight of {name} is not a whole number: {weight:?}"))?;
            if weights.iter().any(|(k, _)| *k == kind) {
                return Err(format!("{name} is given twice"));
            }
            weights.push((kind, weight));
        }
        let mix = Mix(weights.into_iter().filter(|(_, w)| *w > 0).collect());
        if mix.0.is_empty() {
            return Err("the mix has no kind with a weight above 0".into());
        }
        Ok(mix)
    }

    pub fn total(&self) -> u32 {
        self.0.iter().map(|(_, w)| w).sum()
    }

    pub fn uses(&self, pick: impl Fn(Kind) -> bool) -> bool {
        self.0.iter().any(|(k, w)| *w > 0 && pick(*k))
    }

    pub fn describe(&self) -> String {
        self.0.iter().map(|(k, w)| format!("{}={w}", k.name())).collect::<Vec<_>>().join(",")
    }
}

/// One run's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Callbacks a second.
    pub rate: f64,
    pub duration: Duration,
    pub mix: Mix,
    /// War rooms per platform (Slack creates 20 channels at once, then one every 3 s; WeCom
    /// sends each room's cards one every 2.07 s, for its group owner).
    pub rooms: usize,
    /// The `warroom-local` binary.
    pub stack_bin: PathBuf,
    /// The stack's `--workers`.
    pub stack_workers: usize,
    /// Where the stack's temporary data directory is made. Its store commits durably
    /// (an fsync per write), so the disk under it bounds the rate: `/dev/shm` takes the
    /// disk out of the measure.
    pub data_root: PathBuf,
    /// How long one callback may take before it counts as a timeout.
    pub request_timeout: Duration,
    /// How long the queue may take to drain after the load.
    pub drain_timeout: Duration,
    /// The share of the run after which clicks press Resolve instead of Acknowledge.
    pub resolve_from: f64,
    /// Callbacks in flight at most; beyond, one due is not sent and counts as an error.
    pub max_in_flight: usize,
}

impl Config {
    /// The figure: 200 callbacks a second for 60 s.
    pub fn new(stack_bin: PathBuf) -> Self {
        Self {
            rate: 200.0,
            duration: Duration::from_secs(60),
            mix: Mix::default(),
            rooms: 20,
            stack_bin,
            stack_workers: warroom_local::cli::DEFAULT_WORKERS,
            data_root: std::env::temp_dir(),
            request_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(180),
            resolve_from: 0.8,
            max_in_flight: 4000,
        }
    }

    pub fn total_requests(&self) -> u64 {
        (self.rate * self.duration.as_secs_f64()).round() as u64
    }
}

/// Why a run could not be made or finished (the load's own errors are in the report).
/// None is worth retrying as is: each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("bad settings: {0}")]
    Config(String),
    #[error("the stack: {0}")]
    Stack(String),
    #[error("setting up the war rooms: {0}")]
    Setup(String),
}

impl LoadError {
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Plays one run. Needs a multi-threaded tokio runtime.
pub async fn run(config: &Config) -> Result<LoadReport, LoadError> {
    validate(config)?;
    let mut stack = stack::LocalStack::start(&config.stack_bin, config.stack_workers, &config.data_root)?;
    // Setting up and checking are not measured: they get a patient client of their own.
    let api = driver::client(Duration::from_secs(30))?;
    let http = driver::client(config.request_timeout)?;
    let started = std::time::Instant::now();
    let rooms = setup::prepare(&api, &stack, config).await?;
    let setup_time = started.elapsed();
    // Where the DingTalk and WeCom call logs stood before the load, to tell the load's calls
    // from setup's.
    let dingtalk_setup = settle::DingTalkCalls::read(&api, &stack).await;
    let wecom_setup = settle::WeComCalls::read(&api, &stack).await;
    let idle = proc::Usage::read(stack.pid()).map_err(|e| LoadError::Stack(format!("reading /proc for the stack: {e}")))?;
    let sampler = proc::Sampler::start(stack.pid());
    let load = driver::drive(&http, &stack, &rooms, config).await?;
    let loaded = proc::Usage::read(stack.pid()).map_err(|e| LoadError::Stack(format!("reading /proc for the stack: {e}")))?;
    let settled = settle::settle(&api, &stack, &rooms, &load, config, dingtalk_setup, wecom_setup).await;
    let end = proc::Usage::read(stack.pid()).ok();
    let samples = sampler.stop();
    let stopped = stack.stop();
    let usage = proc::Figures::new(&idle, &loaded, end.as_ref(), &samples, load.elapsed);
    Ok(LoadReport::new(config, setup_time, &rooms, load, settled, stopped, usage, stack.log_counts()))
}

fn validate(config: &Config) -> Result<(), LoadError> {
    let bad = |m: &str| Err(LoadError::Config(m.into()));
    if !(config.rate.is_finite() && config.rate > 0.0 && config.rate <= 100_000.0) {
        return bad("--rate must be above 0 (and at most 100000)");
    }
    if config.duration.is_zero() {
        return bad("--duration must be above 0");
    }
    if config.rooms == 0 {
        return bad("--rooms must be at least 1");
    }
    if !(0.0..=1.0).contains(&config.resolve_from) {
        return bad("the resolve share must be between 0 and 1");
    }
    if !config.stack_bin.is_file() {
        return Err(LoadError::Config(format!(
            "no warroom-local binary at {}: build it (cargo build --release --workspace --bin warroom-local) or pass --stack-bin",
            config.stack_bin.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_is_read_by_kind_name_and_mistakes_are_named() {
        let mix = Mix::parse("slack_message=3, feishu_click=1,slack_click=0").unwrap();
        assert_eq!(mix.0, vec![(Kind::SlackMessage, 3), (Kind::FeishuClick, 1)]);
        assert_eq!(mix.total(), 4);
        assert!(Mix::parse("slack_msg=1").unwrap_err().contains("slack_message"));
        assert!(Mix::parse("slack_click=x").unwrap_err().contains("whole number"));
        assert!(Mix::parse("slack_click=0").unwrap_err().contains("no kind"));
        assert!(Mix::parse("slack_click=1,slack_click=2").unwrap_err().contains("twice"));
        assert_eq!(Mix::parse(&Mix::default().describe()).unwrap(), Mix::default());
        assert_eq!(Mix::default().total(), 200, "the default mix is written per 200 callbacks");
        assert!(Mix::default().uses(|k| k.platform() == Platform::DingTalk));
        assert_eq!(Mix::parse("dingtalk_click=2").unwrap().0, vec![(Kind::DingTalkClick, 2)]);
        assert!(Mix::default().uses(|k| k.platform() == Platform::WeCom));
        assert_eq!(Mix::parse("wecom_mention=1,wecom_click=3").unwrap().0, vec![(Kind::WeComMention, 1), (Kind::WeComClick, 3)]);
    }
}
