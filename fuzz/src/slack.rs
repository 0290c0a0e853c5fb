//! Slack requests signed with the official example's secret (v0 signatures).

use crate::*;

/// Slack's official signing example (reference slack.md, vector S1): its secret and clock, so
/// the official signed request in the seeds verifies on the raw path too.
pub const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const SLACK_NOW: i64 = 1_531_420_618;

pub fn slack_signed(body: &[u8]) -> Request {
    slack_signed_at(&SLACK_NOW.to_string(), body)
}

/// A Slack request signed with [`SLACK_SECRET`] for timestamp `ts`, received at [`SLACK_NOW`].
pub fn slack_signed_at(ts: &str, body: &[u8]) -> Request {
    let sig = warroom_platforms::slack::sign(SLACK_SECRET.as_bytes(), ts, body);
    Request::post(body.to_vec(), SLACK_NOW).header(warroom_platforms::slack::TIMESTAMP_HEADER, ts).header(warroom_platforms::slack::SIGNATURE_HEADER, sig)
}

/// The Slack request an input stands for when it starts with [`RAW`] or [`SIGNED_AT`]
/// (`~timestamp\nbody`); `None` for a payload the target signs its own way.
pub fn slack_special(data: &[u8]) -> Option<Request> {
    match data.first() {
        Some(&RAW) => Some(slack_raw(&data[1..])),
        Some(&SIGNED_AT) => {
            let (f, body) = fields(&data[1..], 1);
            Some(slack_signed_at(&f[0], body))
        }
        _ => None,
    }
}

/// `!timestamp\nsignature\nbody`: a Slack request exactly as given, at [`SLACK_NOW`].
pub fn slack_raw(data: &[u8]) -> Request {
    let (f, body) = fields(data, 2);
    let mut r = Request::post(body.to_vec(), SLACK_NOW);
    for (name, value) in [(warroom_platforms::slack::TIMESTAMP_HEADER, &f[0]), (warroom_platforms::slack::SIGNATURE_HEADER, &f[1])] {
        if !value.is_empty() {
            r = r.header(name, value.clone());
        }
    }
    r
}

/// The codecs under test, verifying with [`SLACK_SECRET`]: one that knows the bot's user id
/// and one that reads the bots from each event's `authorizations`. The HTTP client is built
/// once: it is only used by `after_click`, which the harness never calls.
pub fn slack_codecs() -> &'static [warroom_platforms::slack::SlackCodec; 2] {
    use std::sync::OnceLock;
    use warroom_platforms::slack::SlackCodec;
    static CODECS: OnceLock<[SlackCodec; 2]> = OnceLock::new();
    CODECS.get_or_init(|| {
        let codec = || SlackCodec::new(warroom_secrets::Secret::new(SLACK_SECRET), reqwest::Client::new());
        [codec().with_bot_user_id("U0BOT"), codec()]
    })
}
