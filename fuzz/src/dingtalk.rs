//! DingTalk requests: event pushes, robot messages and card clicks.

use crate::*;

/// DingTalk's official event-subscription vector D1 (reference dingtalk.md): its 签名 Token,
/// EncodingAESKey and owner key, which is the harness app's AppKey, so the official push in
/// the seeds verifies and decrypts on the raw path at [`DINGTALK_NOW`].
pub const DINGTALK_TOKEN: &str = "mryue";
pub const DINGTALK_AES_KEY: &str = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7";
pub const DINGTALK_APP_KEY: &str = "ding6ccabc44d2c8d38b";
/// The second accepted owner key of event pushes.
pub const DINGTALK_CORP_ID: &str = "dingfuzzcorp";
pub const DINGTALK_APP_SECRET: &str = "fuzz-dingtalk-app-secret";
pub const DINGTALK_CARD_SECRET: &str = "fuzz-dingtalk-card-secret";
/// Three seconds after D1's `timeStamp` (1608001896814 ms), in seconds like [`Request::now`].
pub const DINGTALK_NOW: i64 = 1_608_001_900;
pub const DINGTALK_NONCE: &str = "WL4PK6yA";

/// The windows the adapter documents: an hour for event pushes and robot messages, five
/// minutes for card clicks.
const HOUR_MS: u64 = 60 * 60 * 1000;
const CARD_WINDOW_MS: u64 = 5 * 60 * 1000;

/// The 32-byte AES key of a 43-character EncodingAESKey: base64 of the key + `=`, its
/// 2 spare bits ignored as DingTalk's Python reference does.
pub fn dingtalk_key(encoding_aes_key: &str) -> [u8; 32] {
    use base64::alphabet;
    use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
    let lenient = GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));
    lenient.decode(format!("{encoding_aes_key}=")).expect("a 43-character EncodingAESKey").try_into().expect("32 bytes")
}

/// AES-256-CBC over whole blocks as DingTalk encrypts (IV = key[..16]), base64-encoded.
/// `blocks` is cut to a whole number of blocks.
pub fn dingtalk_encrypt_blocks(encoding_aes_key: &str, blocks: &[u8]) -> String {
    use cbc::cipher::block_padding::NoPadding;
    let key = dingtalk_key(encoding_aes_key);
    let blocks = &blocks[..blocks.len() - blocks.len() % 16];
    let cipher = cbc::Encryptor::<Aes256>::new_from_slices(&key, &key[..16]).expect("32-byte key, 16-byte IV");
    B64.encode(cipher.encrypt_padded_vec::<NoPadding>(blocks))
}

/// The harness's own sealing, written from the reference and not from the adapter:
/// random(16) ‖ len(msg) as 4 bytes big-endian ‖ msg ‖ owner key, PKCS#7-padded to
/// `pad_block` (32 as DingTalk's Python and Java code pads, 16 as its Go and Rust code does).
/// Takes bytes, so non-UTF-8 messages can be sealed too.
pub fn dingtalk_seal(encoding_aes_key: &str, msg: &[u8], owner: &str, random: &[u8; 16], pad_block: usize) -> String {
    let mut plain = random.to_vec();
    plain.extend_from_slice(&u32::try_from(msg.len()).expect("a fuzz input is far below 4 GiB").to_be_bytes());
    plain.extend_from_slice(msg);
    plain.extend_from_slice(owner.as_bytes());
    let pad = pad_block - plain.len() % pad_block;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    dingtalk_encrypt_blocks(encoding_aes_key, &plain)
}

/// The message a decrypted DingTalk plaintext carries, by the reference's layout, when it is
/// well formed and for one of `owners`: PKCS#7 padding of 1..=32 bytes, 16 random bytes, the
/// length, the message (UTF-8), then exactly an owner key.
pub fn dingtalk_open_plain(plain: &[u8], owners: &[&str]) -> Option<String> {
    let n = usize::from(*plain.last()?);
    if n == 0 || n > 32 || n > plain.len() || plain[plain.len() - n..].iter().any(|&b| usize::from(b) != n) {
        return None;
    }
    let body = &plain[..plain.len() - n];
    let len = u32::from_be_bytes(body.get(16..20)?.try_into().ok()?) as usize;
    let rest = &body[20..];
    let (msg, owner) = (rest.get(..len)?, &rest[len.min(rest.len())..]);
    owners.iter().any(|o| o.as_bytes() == owner).then(|| String::from_utf8(msg.to_vec()).ok()).flatten()
}

/// The 16 "random" bytes the harness seals with: from the input's hash, so runs reproduce.
pub fn dingtalk_random(data: &[u8]) -> [u8; 16] {
    Sha256::digest(data)[..16].try_into().expect("16 of 32 bytes")
}

/// The codec's credentials with the harness's secrets: the D1 app (AppKey = D1's owner key),
/// a CorpId, an AppSecret, a card `apiSecret`, and D1's event Token and aes_key.
pub fn dingtalk_credentials() -> warroom_platforms::dingtalk::DingTalkCredentials {
    warroom_platforms::dingtalk::DingTalkCredentials {
        client_id: DINGTALK_APP_KEY.into(),
        client_secret: DINGTALK_APP_SECRET.into(),
        corp_id: DINGTALK_CORP_ID.into(),
        robot_code: String::new(),
        template_id: "tpl_fuzz".into(),
        owner_user_id: "owner".into(),
        card_template_id: String::new(),
        card_route_key: String::new(),
        card_api_secret: DINGTALK_CARD_SECRET.into(),
        event_token: DINGTALK_TOKEN.into(),
        event_aes_key: DINGTALK_AES_KEY.into(),
        edition: Default::default(),
        oapi_base: warroom_platforms::dingtalk::OAPI_BASE.into(),
        api_base: warroom_platforms::dingtalk::API_BASE.into(),
    }
}

/// One codec under test with the credentials it was made from (the oracle needs them).
pub struct DingTalkCase {
    pub name: &'static str,
    pub credentials: warroom_platforms::dingtalk::DingTalkCredentials,
    pub codec: warroom_platforms::dingtalk::DingTalkCodec,
}

/// The codecs every DingTalk input goes through:
/// - `full`: every credential (the one the harness signs and seals for);
/// - `fallbacks`: no CorpId and no card `apiSecret`, so events are for the AppKey only and
///   clicks are signed with the AppSecret;
/// - `no_events`: an unusable aes_key (event pushes always refused) and no AppSecret (clicks
///   always refused; robot messages only with the event Token).
pub fn dingtalk_cases() -> &'static [DingTalkCase; 3] {
    use std::sync::{Arc, OnceLock};
    use warroom_core::ManualClock;
    use warroom_platforms::dingtalk::DingTalkCodec;
    static CASES: OnceLock<[DingTalkCase; 3]> = OnceLock::new();
    CASES.get_or_init(|| {
        let case = |name, credentials: warroom_platforms::dingtalk::DingTalkCredentials| DingTalkCase {
            name,
            codec: DingTalkCodec::new(credentials.clone()).with_clock(Arc::new(ManualClock::at(Timestamp::from_secs(DINGTALK_NOW)))),
            credentials,
        };
        let full = dingtalk_credentials();
        let mut fallbacks = dingtalk_credentials();
        fallbacks.corp_id.clear();
        fallbacks.card_api_secret.clear();
        let mut no_events = dingtalk_credentials();
        no_events.event_aes_key = "not a 43-character EncodingAESKey".into();
        no_events.client_secret.clear();
        no_events.card_api_secret.clear();
        [case("full", full), case("fallbacks", fallbacks), case("no_events", no_events)]
    })
}

/// An event push signed with [`DINGTALK_TOKEN`] for `ts` and `nonce` (both in the query, as
/// DingTalk sends them), its body `{"encrypt": encrypt}` unless `body` is given.
pub fn dingtalk_event(ts: &str, nonce: &str, encrypt: &str, body: Option<Vec<u8>>) -> Request {
    let crypto = warroom_platforms::dingtalk::EventCrypto::new(DINGTALK_TOKEN, DINGTALK_AES_KEY).expect("D1's key");
    let sig = crypto.signature(ts, nonce, encrypt);
    let body = body.unwrap_or_else(|| serde_json::json!({ "encrypt": encrypt }).to_string().into_bytes());
    let mut r = Request::post(body, DINGTALK_NOW);
    r.query = serde_urlencoded::to_string([("msg_signature", sig.as_str()), ("timeStamp", ts), ("nonce", nonce)]).expect("strings encode");
    r
}

/// A robot message signed with `secret` for `ts` (the trimmed value is signed, as DingTalk
/// would send it).
pub fn dingtalk_robot(secret: &str, ts: &str, body: &[u8]) -> Request {
    let sign = warroom_platforms::dingtalk::robot_signature(secret, ts.trim());
    Request::post(body.to_vec(), DINGTALK_NOW).header("timestamp", ts).header("sign", sign)
}

/// A card callback signed with `secret` for `ts`.
pub fn dingtalk_card(secret: &str, ts: &str, body: &[u8]) -> Request {
    let sign = warroom_platforms::dingtalk::card_signature(secret, ts.trim());
    Request::post(body.to_vec(), DINGTALK_NOW).header("x-ddpaas-signature-timestamp", ts).header("x-ddpaas-signature", sign)
}

/// The DingTalk requests one input stands for, by its first byte:
/// - `!query\ntimestamp\nsign\ncard-timestamp\ncard-signature\nbody`: a raw request, any
///   kind, unchanged (empty header lines are left out; nothing is re-signed);
/// - `~ts\nnonce\nplaintext`: an event push sealed for the AppKey and signed with that
///   timestamp and nonce; `~@ts\nbody` a robot message and `~^ts\nbody` a card click
///   signed for that timestamp (the freshness checks after the signatures);
/// - `#bytes`: the bytes as the ciphertext, base64-encoded into a signed event push (AES-CBC,
///   the padding, length and owner checks on arbitrary blocks);
/// - `$body`: an event push whose body is signed as is (its `encrypt` field, if any);
/// - `@body`: a robot message signed at the harness clock, twice: with the AppSecret and
///   with the event Token (both are accepted keys);
/// - `^body`: a card click signed at the harness clock, twice: with the card `apiSecret` and
///   with the AppSecret (the key when no `apiSecret` is set);
/// - anything else: the plaintext of an event push, sealed for the AppKey (even length) or
///   the CorpId (odd length) and signed at the harness clock.
///
/// Each request's flag says whether the harness signed (and sealed, with a UTF-8 message)
/// it right for the `full` codec: then only its timestamp may get it refused.
pub fn dingtalk_request(data: &[u8]) -> Vec<(Request, bool)> {
    let now_ms = (DINGTALK_NOW * 1000).to_string();
    let sealed = |plain: &[u8], owner: &str| dingtalk_seal(DINGTALK_AES_KEY, plain, owner, &dingtalk_random(plain), 32);
    match data.first() {
        Some(&RAW) => {
            let (f, body) = fields(&data[1..], 5);
            let mut r = Request::post(body.to_vec(), DINGTALK_NOW);
            r.query = f[0].clone();
            for (name, value) in [("timestamp", &f[1]), ("sign", &f[2]), ("x-ddpaas-signature-timestamp", &f[3]), ("x-ddpaas-signature", &f[4])] {
                if !value.is_empty() {
                    r = r.header(name, value.clone());
                }
            }
            vec![(r, false)]
        }
        Some(&SIGNED_AT) => match data.get(1) {
            Some(b'@') => {
                let (f, body) = fields(&data[2..], 1);
                vec![(dingtalk_robot(DINGTALK_APP_SECRET, &f[0], body), true)]
            }
            Some(b'^') => {
                let (f, body) = fields(&data[2..], 1);
                vec![(dingtalk_card(DINGTALK_CARD_SECRET, &f[0], body), true)]
            }
            _ => {
                let (f, plain) = fields(&data[1..], 2);
                vec![(dingtalk_event(&f[0], &f[1], &sealed(plain, DINGTALK_APP_KEY), None), std::str::from_utf8(plain).is_ok())]
            }
        },
        Some(b'#') => vec![(dingtalk_event(&now_ms, DINGTALK_NONCE, &B64.encode(&data[1..]), None), false)],
        Some(b'$') => {
            let body: Option<serde_json::Value> = serde_json::from_slice(&data[1..]).ok();
            let encrypt = body.as_ref().and_then(|b| b.get("encrypt")).and_then(serde_json::Value::as_str).unwrap_or_default();
            vec![(dingtalk_event(&now_ms, DINGTALK_NONCE, encrypt, Some(data[1..].to_vec())), false)]
        }
        Some(b'@') => vec![(dingtalk_robot(DINGTALK_APP_SECRET, &now_ms, &data[1..]), true), (dingtalk_robot(DINGTALK_TOKEN, &now_ms, &data[1..]), true)],
        // The full codec has an apiSecret, so the AppSecret's signature is not right for it.
        Some(b'^') => vec![(dingtalk_card(DINGTALK_CARD_SECRET, &now_ms, &data[1..]), true), (dingtalk_card(DINGTALK_APP_SECRET, &now_ms, &data[1..]), false)],
        _ => {
            let owner = if data.len() % 2 == 0 { DINGTALK_APP_KEY } else { DINGTALK_CORP_ID };
            vec![(dingtalk_event(&now_ms, DINGTALK_NONCE, &sealed(data, owner), None), std::str::from_utf8(data).is_ok())]
        }
    }
}

/// What the harness, from the reference alone, says of a request's signature for a codec
/// with `credentials`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signed {
    /// No signature of a kind the codec verifies, or a wrong one.
    No,
    /// Rightly signed, but the timestamp is no integer.
    BadTimestamp,
    /// Rightly signed, outside its window.
    Stale,
    /// Rightly signed, inside its window: the only requests a codec may accept.
    Fresh,
}

/// A header timestamp in milliseconds, as the adapter documents it: an integer, taken as
/// seconds below 10^11.
fn dingtalk_millis(ts: &str) -> Option<i64> {
    let n: i64 = ts.trim().parse().ok()?;
    Some(if n.unsigned_abs() < 100_000_000_000 { n.saturating_mul(1000) } else { n })
}

/// Whether two base64 signatures carry the same bytes (the given one as received).
fn same_signature(given: &str, expected: &str) -> bool {
    B64.decode(given.trim()).is_ok_and(|g| B64.decode(expected).is_ok_and(|e| e == g))
}

/// A DingTalk request's kind by where its signature travels: `msg_signature` (or
/// `signature`) in the query, else an `x-ddpaas-signature` header, else a `sign` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DingTalkKind {
    Event,
    Card,
    Robot,
    Unsigned,
}

/// The query's value for the first of `names` present (first occurrence), as the
/// reference's Java sample falls back from `msg_signature` to `signature`.
fn query_value<'a>(query: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| query.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str()))
}

pub fn dingtalk_kind(r: &Request) -> DingTalkKind {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(&r.query).unwrap_or_default();
    if query_value(&query, &["msg_signature", "signature"]).is_some() {
        DingTalkKind::Event
    } else if r.headers.contains_key("x-ddpaas-signature") {
        DingTalkKind::Card
    } else if r.headers.contains_key("sign") {
        DingTalkKind::Robot
    } else {
        DingTalkKind::Unsigned
    }
}

/// The independent check of a DingTalk request's signature for a codec with credentials
/// `c`: its kind ([`dingtalk_kind`]), that kind's signature, then its timestamp against its
/// window.
pub fn dingtalk_signed(c: &warroom_platforms::dingtalk::DingTalkCredentials, r: &Request) -> Signed {
    use warroom_platforms::dingtalk::{card_signature, robot_signature, EventCrypto};
    let timed = |ts: &str, window_ms: u64| match dingtalk_millis(ts) {
        None => Signed::BadTimestamp,
        Some(t) if (r.now * 1000).abs_diff(t) > window_ms => Signed::Stale,
        Some(_) => Signed::Fresh,
    };
    let header = |name: &str| r.headers.get(name).map(String::as_str);
    match dingtalk_kind(r) {
        DingTalkKind::Event => {
            let query: Vec<(String, String)> = serde_urlencoded::from_str(&r.query).unwrap_or_default();
            let sig = query_value(&query, &["msg_signature", "signature"]).unwrap_or_default();
            let (ts, nonce) = (query_value(&query, &["timeStamp", "timestamp"]).unwrap_or_default(), query_value(&query, &["nonce"]).unwrap_or_default());
            let body: Option<serde_json::Value> = serde_json::from_slice(&r.body).ok();
            let encrypt = body.as_ref().and_then(|b| b.get("encrypt")).and_then(serde_json::Value::as_str);
            match (EventCrypto::new(&c.event_token, &c.event_aes_key), encrypt) {
                (Ok(crypto), Some(encrypt)) if !c.event_token.is_empty() && sig.trim().eq_ignore_ascii_case(&crypto.signature(ts, nonce, encrypt)) => {
                    timed(ts, HOUR_MS)
                }
                _ => Signed::No,
            }
        }
        DingTalkKind::Card => {
            let secret = if c.card_api_secret.is_empty() { &c.client_secret } else { &c.card_api_secret };
            match (header("x-ddpaas-signature-timestamp"), header("x-ddpaas-signature")) {
                (Some(ts), Some(sign)) if !secret.is_empty() && same_signature(sign, &card_signature(secret, ts.trim())) => timed(ts, CARD_WINDOW_MS),
                _ => Signed::No,
            }
        }
        DingTalkKind::Robot => match (header("timestamp"), header("sign")) {
            (Some(ts), Some(sign))
                if [&c.client_secret, &c.event_token].iter().any(|s| !s.is_empty() && same_signature(sign, &robot_signature(s, ts.trim()))) =>
            {
                timed(ts, HOUR_MS)
            }
            _ => Signed::No,
        },
        DingTalkKind::Unsigned => Signed::No,
    }
}
