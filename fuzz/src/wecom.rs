//! WeCom requests: the app's XML callbacks, the smart bot's JSON callbacks and URL checks,
//! all on one codec (`wecom::WeComCodec`) and signed the same way (wecom.md §2):
//! `msg_signature = sha1(sort(token, timestamp, nonce, encrypt))` in the query.
//!
//! WXBizMsgCrypt seals exactly as DingTalk's event crypto does (random(16) ‖ len ‖ msg ‖
//! ReceiveId, AES-256-CBC with IV = key[..16], PKCS#7 to 32 bytes), so the harness seals with
//! [`dingtalk_seal`] and [`dingtalk_encrypt_blocks`]: both were written from the reference,
//! not from either adapter. What differs is checked here: one exact ReceiveId per channel
//! (the CorpID for the app, "" for the bot), SHA-1 signatures in the query, and a 15-minute
//! window.

use crate::*;
use sha1::Sha1;

/// Vector W1/W2's app keys (wecom.md "TEST VECTORS", the official sample code), so the
/// official callback in the seeds verifies and decrypts on the raw path at [`WECOM_NOW`].
pub const WECOM_TOKEN: &str = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
pub const WECOM_AES_KEY: &str = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
pub const WECOM_CORP_ID: &str = "ww1436e0e65a779aee";
/// Vector W4's keys serve as the smart bot's (ReceiveId "").
pub const WECOM_BOT_TOKEN: &str = "QDG6eK";
pub const WECOM_BOT_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
pub const WECOM_SECRET: &str = "fuzz-wecom-app-secret";
/// Three seconds after W2's timestamp (1476422779).
pub const WECOM_NOW: i64 = 1_476_422_782;
pub const WECOM_NONCE: &str = "1597212914";
/// The adapter's window (`wecom::crypto::TIMESTAMP_WINDOW`).
pub const WECOM_WINDOW_S: u64 = 15 * 60;

/// `msg_signature`, from the reference: the four strings sorted byte-wise, concatenated,
/// SHA-1, lowercase hex.
pub fn wecom_signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    use sha1::Digest;
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort_unstable();
    Sha1::digest(parts.concat().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Seals `msg` for `receive_id` with `aes_key`, padded to 32 as the official library pads.
pub fn wecom_seal(aes_key: &str, msg: &[u8], receive_id: &str) -> String {
    dingtalk_seal(aes_key, msg, receive_id, &dingtalk_random(msg), 32)
}

/// The message of a decrypted plaintext by the reference's layout, when well formed and for
/// exactly `receive_id`: PKCS#7 padding of 1..=32, 16 random bytes, the length, the message
/// (UTF-8), then the ReceiveId and nothing else.
pub fn wecom_open_plain(plain: &[u8], receive_id: &str) -> Option<String> {
    dingtalk_open_plain(plain, &[receive_id])
}

pub fn wecom_credentials() -> warroom_platforms::wecom::WeComCredentials {
    warroom_platforms::wecom::WeComCredentials {
        corp_id: WECOM_CORP_ID.into(),
        agent_id: 1_000_002,
        secret: WECOM_SECRET.into(),
        callback_token: WECOM_TOKEN.into(),
        callback_aes_key: WECOM_AES_KEY.into(),
        bot_token: WECOM_BOT_TOKEN.into(),
        bot_aes_key: WECOM_BOT_AES_KEY.into(),
        owner_userid: "owner".into(),
        api_base: warroom_platforms::wecom::API_BASE.into(),
    }
}

pub fn wecom_codec() -> &'static warroom_platforms::wecom::WeComCodec {
    use std::sync::{Arc, OnceLock};
    static CODEC: OnceLock<warroom_platforms::wecom::WeComCodec> = OnceLock::new();
    CODEC.get_or_init(|| {
        let clock = Arc::new(warroom_core::ManualClock::at(Timestamp::from_secs(WECOM_NOW)));
        warroom_platforms::wecom::WeComCodec::new(wecom_credentials()).with_clock(clock)
    })
}

/// A callback request with any method (the port takes the method as a string).
pub struct WeComRequest {
    pub method: String,
    pub query: String,
    pub body: Vec<u8>,
}

impl WeComRequest {
    pub fn run<T>(&self, f: impl FnOnce(&RawRequest<'_>) -> T) -> T {
        let none = |_: &str| None;
        f(&RawRequest { method: &self.method, query: &self.query, header: &none, body: &self.body, now: Timestamp::from_secs(WECOM_NOW) })
    }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("strings encode")
}

/// A POST signed with `token` at `ts` over `encrypt`, its body `body`.
pub fn wecom_post(token: &str, ts: &str, encrypt: &str, body: Vec<u8>) -> WeComRequest {
    let sig = wecom_signature(token, ts, WECOM_NONCE, encrypt);
    WeComRequest { method: "POST".into(), query: encode(&[("msg_signature", &sig), ("timestamp", ts), ("nonce", WECOM_NONCE)]), body }
}

pub fn wecom_xml(encrypt: &str) -> Vec<u8> {
    format!("<xml><ToUserName><![CDATA[{WECOM_CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>")
        .into_bytes()
}

pub fn wecom_json(encrypt: &str) -> Vec<u8> {
    serde_json::json!({ "encrypt": encrypt }).to_string().into_bytes()
}

/// The WeCom requests one input stands for, by its first byte, each with whether the
/// harness sealed and signed it right (then only its timestamp may get it refused):
/// - `!method\nquery\nbody`: a raw request, unchanged;
/// - `~ts\nplaintext`: an app callback sealed for the CorpID and signed at that timestamp;
/// - `@plaintext`: a smart-bot callback (JSON envelope) sealed for "" and signed now;
/// - `?echo`: a URL check (GET) whose echostr is the echo sealed for the CorpID;
/// - `#bytes`: the bytes as an app callback's ciphertext (base64), signed now;
/// - `$body`: a POST whose body is as given, signed over what the harness finds in it;
/// - anything else: an app callback's plaintext, sealed for the CorpID, signed now.
pub fn wecom_request(data: &[u8]) -> Vec<(WeComRequest, bool)> {
    let now = WECOM_NOW.to_string();
    let utf8 = |b: &[u8]| std::str::from_utf8(b).is_ok();
    match data.first() {
        Some(&RAW) => {
            let (f, body) = fields(&data[1..], 2);
            vec![(WeComRequest { method: f[0].clone(), query: f[1].clone(), body: body.to_vec() }, false)]
        }
        Some(&SIGNED_AT) => {
            let (f, plain) = fields(&data[1..], 1);
            let sealed = wecom_seal(WECOM_AES_KEY, plain, WECOM_CORP_ID);
            vec![(wecom_post(WECOM_TOKEN, &f[0], &sealed, wecom_xml(&sealed)), utf8(plain))]
        }
        Some(b'@') => {
            let sealed = wecom_seal(WECOM_BOT_AES_KEY, &data[1..], "");
            vec![(wecom_post(WECOM_BOT_TOKEN, &now, &sealed, wecom_json(&sealed)), utf8(&data[1..]))]
        }
        Some(b'?') => {
            let echostr = wecom_seal(WECOM_AES_KEY, &data[1..], WECOM_CORP_ID);
            let sig = wecom_signature(WECOM_TOKEN, &now, WECOM_NONCE, &echostr);
            let query = encode(&[("msg_signature", &sig), ("timestamp", &now), ("nonce", WECOM_NONCE), ("echostr", &echostr)]);
            vec![(WeComRequest { method: "GET".into(), query, body: Vec::new() }, utf8(&data[1..]))]
        }
        Some(b'#') => {
            let encrypt = B64.encode(&data[1..]);
            vec![(wecom_post(WECOM_TOKEN, &now, &encrypt, wecom_xml(&encrypt)), false)]
        }
        Some(b'$') => {
            let body = data[1..].to_vec();
            let encrypt = wecom_encrypt_of("POST", "", &body).unwrap_or_default();
            vec![(wecom_post(WECOM_TOKEN, &now, &encrypt, body.clone()), false), (wecom_post(WECOM_BOT_TOKEN, &now, &encrypt, body), false)]
        }
        _ => {
            let sealed = wecom_seal(WECOM_AES_KEY, data, WECOM_CORP_ID);
            vec![(wecom_post(WECOM_TOKEN, &now, &sealed, wecom_xml(&sealed)), utf8(data))]
        }
    }
}

/// The first value of `name` in a query, percent-decoded (`+` kept: base64 uses it).
pub fn wecom_query_value(query: &str, name: &str) -> Option<String> {
    let raw = query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name)?.1;
    let mut out = Vec::new();
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: Vec<u8> = bytes.by_ref().take(2).collect();
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// The ciphertext a request carries, as the reference describes it, or `None` where the
/// harness cannot be sure what an XML parser would make of the body (entities, comments,
/// several `Encrypt` elements, attributes): the echostr of a GET, the text of the XML
/// body's `Encrypt` (CDATA or plain), or the JSON body's `encrypt`.
pub fn wecom_encrypt_of(method: &str, query: &str, body: &[u8]) -> Option<String> {
    match method {
        "GET" => wecom_query_value(query, "echostr"),
        "POST" => {
            let body = std::str::from_utf8(body).ok()?.trim();
            if !body.starts_with('<') {
                let v: serde_json::Value = serde_json::from_str(body).ok()?;
                return v.get("encrypt")?.as_str().map(str::to_owned);
            }
            if body.matches("<Encrypt").count() != 1 || body.contains('&') || body.contains("<!--") || body.contains("<?") {
                return None;
            }
            let inner = body.split_once("<Encrypt>")?.1.split_once("</Encrypt>")?.0;
            let text = inner.strip_prefix("<![CDATA[").and_then(|t| t.strip_suffix("]]>")).unwrap_or(inner);
            // The codec's XML reader may trim the text; the signature is over what it reads.
            (!text.contains('<')).then(|| text.trim().to_owned())
        }
        _ => None,
    }
}

/// What the harness says of a request's signature, from the reference alone.
pub fn wecom_signed(r: &WeComRequest) -> Signed {
    let q = |name: &str| wecom_query_value(&r.query, name);
    let (Some(sig), Some(ts), Some(nonce)) = (q("msg_signature"), q("timestamp"), q("nonce")) else { return Signed::No };
    let Some(encrypt) = wecom_encrypt_of(&r.method, &r.query, &r.body) else { return Signed::No };
    let sig = sig.trim().to_ascii_lowercase();
    if ![WECOM_TOKEN, WECOM_BOT_TOKEN].iter().any(|t| wecom_signature(t, &ts, &nonce, &encrypt) == sig) {
        return Signed::No;
    }
    match ts.trim().parse::<i64>() {
        Err(_) => Signed::Stale,
        Ok(t) if t.abs_diff(WECOM_NOW) > WECOM_WINDOW_S => Signed::Stale,
        Ok(_) => Signed::Fresh,
    }
}
