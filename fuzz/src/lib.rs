//! Shared pieces of the fuzz harnesses: requests as the platforms send them, signed (and for
//! Feishu, sealed) with fixed secrets at a fixed clock, so the fuzzer's bytes reach the
//! parsers behind verification instead of dying at the first signature check.
//!
//! Input format (the same for every callback target, so seeds stay readable files):
//! - a first byte of `!` selects the raw path: the rest is split on `\n` into the header
//!   values the target names, then the body, exactly as received (verification exercised);
//! - a first byte of [`SIGNED_AT`] (`~`): the timestamp (Feishu: and nonce) come from the
//!   input, `\n`-terminated, and the harness signs with them, so the freshness check after
//!   the signature sees any timestamp a key holder could send;
//! - any other input is the payload itself, which the harness signs (and seals) correctly.

use aes::Aes256;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use warroom_core::{RawRequest, Timestamp};

/// Marks the raw path (see the crate docs).
pub const RAW: u8 = b'!';
/// Marks a request signed by the harness at a timestamp taken from the input.
pub const SIGNED_AT: u8 = b'~';

/// Slack's official signing example (reference slack.md, vector S1): its secret and clock, so
/// the official signed request in the seeds verifies on the raw path too.
pub const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const SLACK_NOW: i64 = 1_531_420_618;

/// Feishu's official decryption vector key (reference feishu.md, vector F1).
pub const FEISHU_KEY: &str = "test key";
pub const FEISHU_TOKEN: &str = "vtok";
pub const FEISHU_NOW: i64 = 1_633_336_000;
pub const FEISHU_NONCE: &str = "nonce123";

/// A request with owned headers; [`Request::run`] lends it as the port's `RawRequest`.
pub struct Request {
    pub method: &'static str,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub now: i64,
}

impl Request {
    pub fn post(body: Vec<u8>, now: i64) -> Self {
        Self { method: "POST", headers: HashMap::new(), body, now }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.insert(name.to_owned(), value.into());
        self
    }

    pub fn run<T>(&self, f: impl FnOnce(&RawRequest<'_>) -> T) -> T {
        let lookup = |name: &str| self.headers.get(name).cloned();
        f(&RawRequest { method: self.method, query: "", header: &lookup, body: &self.body, now: Timestamp::from_secs(self.now) })
    }
}

/// Splits `data` into `n` `\n`-terminated fields (lossily decoded: headers are text) and the
/// body; missing fields are empty.
pub fn fields(data: &[u8], n: usize) -> (Vec<String>, &[u8]) {
    let mut rest = data;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    (out, rest)
}

/// A Slack request signed with [`SLACK_SECRET`] at [`SLACK_NOW`].
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

/// AES-256-CBC as Feishu seals callbacks (key = SHA-256(Encrypt Key), IV in front), with an
/// IV taken from the plaintext's hash instead of a random one so runs are reproducible.
pub fn feishu_seal(key: &str, plaintext: &[u8]) -> String {
    let iv: [u8; 16] = Sha256::digest(plaintext)[..16].try_into().expect("16 of 32 bytes");
    let key: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let cipher = cbc::Encryptor::<Aes256>::new_from_slices(&key, &iv).expect("32-byte key, 16-byte IV");
    let mut out = iv.to_vec();
    out.extend_from_slice(&cipher.encrypt_padded_vec::<Pkcs7>(plaintext));
    B64.encode(out)
}

/// A Feishu request whose raw body is `body`, signed with [`FEISHU_KEY`] at [`FEISHU_NOW`].
pub fn feishu_signed_body(body: Vec<u8>) -> Request {
    feishu_signed_at(&FEISHU_NOW.to_string(), FEISHU_NONCE, body)
}

/// A Feishu request signed with [`FEISHU_KEY`] for `ts` and `nonce`, received at [`FEISHU_NOW`].
pub fn feishu_signed_at(ts: &str, nonce: &str, body: Vec<u8>) -> Request {
    let sig = warroom_platforms::feishu::signature(ts, nonce, FEISHU_KEY, &body);
    Request::post(body, FEISHU_NOW).header("x-lark-request-timestamp", ts).header("x-lark-request-nonce", nonce).header("x-lark-signature", sig)
}

/// `{"encrypt": "<base64>"}` around `encrypted`.
pub fn feishu_envelope(encrypted: &str) -> Vec<u8> {
    serde_json::json!({ "encrypt": encrypted }).to_string().into_bytes()
}

/// The Feishu requests one input stands for, by its first byte:
/// - `!ts\nnonce\nsignature\nbody`: the raw request, unchanged (signature, freshness and
///   the unsigned-handshake path exercised; nothing is re-signed);
/// - `~ts\nnonce\nplaintext`: sealed and signed with that timestamp and nonce (the
///   freshness check after the signature);
/// - `#bytes`: the bytes as the ciphertext (IV + blocks), base64-encoded into a signed
///   envelope, so AES-CBC and the padding check see arbitrary blocks;
/// - `$body`: the body signed as is (its `encrypt` field goes to base64 and AES as sent);
/// - anything else: plaintext JSON, sealed and signed as Feishu would, so the JSON parsing
///   behind decryption is reached.
///
/// The flag says whether the harness signed and sealed everything correctly, in which case
/// a codec without a Verification Token must never answer `BadSignature` or `Stale`.
pub fn feishu_request(data: &[u8]) -> (Request, bool) {
    match data.first() {
        Some(&RAW) => {
            let (f, body) = fields(&data[1..], 3);
            let mut r = Request::post(body.to_vec(), FEISHU_NOW);
            for (name, value) in [("x-lark-request-timestamp", &f[0]), ("x-lark-request-nonce", &f[1]), ("x-lark-signature", &f[2])] {
                if !value.is_empty() {
                    r = r.header(name, value.clone());
                }
            }
            (r, false)
        }
        Some(&SIGNED_AT) => {
            let (f, plain) = fields(&data[1..], 2);
            let body = feishu_envelope(&feishu_seal(FEISHU_KEY, plain));
            (feishu_signed_at(&f[0], &f[1], body), false)
        }
        Some(b'#') => (feishu_signed_body(feishu_envelope(&B64.encode(&data[1..]))), false),
        Some(b'$') => (feishu_signed_body(data[1..].to_vec()), false),
        _ => (feishu_signed_body(feishu_envelope(&feishu_seal(FEISHU_KEY, data))), std::str::from_utf8(data).is_ok()),
    }
}

/// The codecs every Feishu input is run through: with the Encrypt Key and a Verification
/// Token (the usual app), with the key but no token, and with neither key nor signature
/// (an app without an Encrypt Key: the body is the plain JSON, checked by token only).
pub struct FeishuCodecs {
    pub keyed: warroom_platforms::feishu::FeishuCodec,
    pub key_only: warroom_platforms::feishu::FeishuCodec,
    pub plain: warroom_platforms::feishu::FeishuCodec,
}

pub fn feishu_codecs() -> &'static FeishuCodecs {
    use std::sync::OnceLock;
    use warroom_platforms::feishu::{FeishuCodec, FeishuCredentials, FEISHU_BASE};
    static CODECS: OnceLock<FeishuCodecs> = OnceLock::new();
    let creds = |token: &str, key: &str| FeishuCredentials {
        app_id: "cli_fuzz".into(),
        app_secret: "s".into(),
        verification_token: token.into(),
        encrypt_key: key.into(),
        base_url: FEISHU_BASE.into(),
    };
    CODECS.get_or_init(|| FeishuCodecs {
        keyed: FeishuCodec::new(creds(FEISHU_TOKEN, FEISHU_KEY)).with_bot_open_id("ou_bot"),
        key_only: FeishuCodec::new(creds("", FEISHU_KEY)),
        plain: FeishuCodec::new(creds(FEISHU_TOKEN, "")).with_bot_open_id("ou_bot"),
    })
}

/// Whether an error is a verification refusal (what a correctly signed request never gets).
pub fn refused(e: &warroom_core::CallbackError) -> bool {
    matches!(e, warroom_core::CallbackError::BadSignature | warroom_core::CallbackError::Stale)
}

/// The body of both Feishu targets: `decode` (events or card clicks) through the three
/// codecs; a correctly sealed and signed request must never be refused.
pub fn feishu_target<T>(
    data: &[u8],
    what: &str,
    decode: impl Fn(&warroom_platforms::feishu::FeishuCodec, &RawRequest<'_>) -> Result<T, warroom_core::CallbackError>,
) {
    let codecs = feishu_codecs();
    let (request, sealed) = feishu_request(data);
    let _ = request.run(|r| decode(&codecs.keyed, r));
    let result = request.run(|r| decode(&codecs.key_only, r));
    if sealed {
        if let Err(e) = &result {
            assert!(!refused(e), "a correctly sealed and signed {what} was refused: {e:?}");
        }
    }
    // An app without an Encrypt Key gets the plain JSON, unsigned.
    let _ = Request::post(data.to_vec(), 0).run(|r| decode(&codecs.plain, r));
}
