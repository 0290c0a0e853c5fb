//! Feishu requests sealed and signed with the official vector's key.

use crate::*;

/// Feishu's official decryption vector key (reference feishu.md, vector F1).
pub const FEISHU_KEY: &str = "test key";
pub const FEISHU_TOKEN: &str = "vtok";
pub const FEISHU_NOW: i64 = 1_633_336_000;
pub const FEISHU_NONCE: &str = "nonce123";
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
