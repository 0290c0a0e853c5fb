//! Sealed, signed callbacks of one channel (the app's XML, the smart bot's JSON) broken one
//! thing at a time.

use super::*;
use crate::common::corpus::{invalid_utf8, oversize, truncate};
use crate::slack::unknown_events;

/// One channel's applied callback and how to seal and sign more like it.
pub(super) struct Sealed {
    pub(super) name: &'static str,
    path: String,
    /// The channel's crypto, as WeCom holds it (its Token, EncodingAESKey and ReceiveId).
    crypt: MsgCrypt,
    /// XML (the app) or JSON (the smart bot).
    xml: bool,
    token: String,
    aes_key: String,
    /// The applied callback's plaintext, query and body as sent.
    plain: String,
    sent_query: String,
    sent_body: Vec<u8>,
    now: i64,
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Sealed {
    pub(super) fn new(w: &World, name: &'static str, sent: &Delivery, crypt: MsgCrypt, now: i64) -> Self {
        let xml = sent.channel == "app";
        let (token, aes_key) =
            if xml { (w.config.callback_token.clone(), w.config.callback_aes_key.clone()) } else { (w.config.bot_token.clone(), w.config.bot_aes_key.clone()) };
        let full = relative(sent);
        let (path, sent_query) = full.split_once('?').map(|(p, q)| (p.to_string(), q.to_string())).expect("a signed query");
        Sealed { name, path, crypt, xml, token, aes_key, plain: sent.plaintext.clone(), sent_query, sent_body: sent.body.clone().into_bytes(), now }
    }

    fn content_type(&self) -> &'static str {
        if self.xml {
            "text/xml"
        } else {
            "application/json"
        }
    }

    /// The channel's envelope around `encrypt`, as WeCom sends it.
    fn envelope(&self, encrypt: &str) -> Vec<u8> {
        if self.xml {
            format!("<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[{AGENT}]]></AgentID></xml>")
                .into_bytes()
        } else {
            json!({ "encrypt": encrypt }).to_string().into_bytes()
        }
    }

    fn uri(&self, pairs: &[(&str, &str)]) -> String {
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
        format!("{}?{}", self.path, query.join("&"))
    }

    /// `encrypt` signed by `signer` at `ts` in its envelope: the URI and the body.
    fn signed(&self, signer: &MsgCrypt, encrypt: &str, ts: &str) -> (String, Vec<u8>) {
        let sig = signer.signature(ts, NONCE, encrypt);
        (self.uri(&[("msg_signature", &sig), ("timestamp", ts), ("nonce", NONCE)]), self.envelope(encrypt))
    }

    fn fresh(&self, encrypt: &str) -> (String, Vec<u8>) {
        self.signed(&self.crypt, encrypt, &self.now.to_string())
    }

    fn sent(&self) -> (String, Vec<u8>) {
        (format!("{}?{}", self.path, self.sent_query), self.sent_body.clone())
    }

    /// Where the ciphertext sits in the sent body: `(start, end)` byte offsets.
    fn encrypt_span(&self) -> (usize, usize) {
        let body = std::str::from_utf8(&self.sent_body).unwrap();
        let (open, close) = if self.xml { ("<Encrypt><![CDATA[", "]]></Encrypt>") } else { ("\"encrypt\":\"", "\"") };
        let start = body.find(open).expect("an Encrypt in the sent body") + open.len();
        (start, start + body[start..].find(close).unwrap())
    }

    fn case(&self, kind: &'static str, note: String, (path, body): (String, Vec<u8>)) -> Case {
        let headers = vec![("content-type".to_string(), self.content_type().to_string())];
        Case { surface: self.name, kind, path, headers, body, replay: kind == "replay", note }
    }

    /// Decodes, changes one byte of the raw ciphertext at `at` (from the end when negative)
    /// and re-encodes: bad padding, or a broken length or ReceiveId, signed with the token.
    fn malleated(&self, sealed: &str, from_end: usize) -> String {
        let mut raw = decode_b64(sealed);
        let at = raw.len() - from_end;
        raw[at] ^= 0x5a;
        encode_b64(&raw)
    }

    pub(super) fn cases(&self, rng: &mut Rng) -> Vec<Case> {
        let mut out = Vec::new();
        let (enc_start, enc_end) = self.encrypt_span();
        for (kind, n) in kinds_plan() {
            for i in 0..n {
                let sealed = self.crypt.encrypt(&self.plain);
                let now = self.now.to_string();
                out.push(match kind {
                    "forged_signature" => {
                        let sig = match i % 5 {
                            0 => rng.hex(40),
                            1 => rng.hex(39),
                            2 => String::new(),
                            3 => {
                                let n = 1 + rng.below(90);
                                rng.alnum(n)
                            }
                            // A genuine signature, of another ciphertext.
                            _ => self.crypt.signature(&now, NONCE, &self.crypt.encrypt(&self.plain)),
                        };
                        let uri = self.uri(&[("msg_signature", &sig), ("timestamp", &now), ("nonce", NONCE)]);
                        self.case(kind, format!("msg_signature {sig:?}"), (uri, self.envelope(&sealed)))
                    }
                    "missing_headers" => {
                        let sig = self.crypt.signature(&now, NONCE, &sealed);
                        let mut pairs = vec![("msg_signature", sig.as_str()), ("timestamp", now.as_str()), ("nonce", NONCE)];
                        let note = if i % 7 == 0 {
                            pairs.clear();
                            "no query at all".to_string()
                        } else {
                            format!("no {}", pairs.remove(i % 3).0)
                        };
                        let uri = if pairs.is_empty() { self.path.clone() } else { self.uri(&pairs) };
                        self.case(kind, note, (uri, self.envelope(&sealed)))
                    }
                    "stale_timestamp" => {
                        let (ts, note) = if i % 10 == 9 {
                            let ts = rng.pick(&["soon", "", "1e9", "-", "0x10", "17000000000000000000000"]).to_string();
                            (ts.clone(), format!("timestamp {ts:?}, signed"))
                        } else {
                            let off = rng.range(WINDOW_S + 1, 10_000_000) * if i % 2 == 0 { -1 } else { 1 };
                            ((self.now + off).to_string(), format!("signed at now{off:+}s"))
                        };
                        self.case(kind, note, self.signed(&self.crypt, &sealed, &ts))
                    }
                    "wrong_key" => {
                        let receive_id = if self.xml { CORP } else { "" };
                        let (other, note) = match i % 5 {
                            0 => (MsgCrypt::new(&self.token, &rng.alnum(43), receive_id).unwrap(), "sealed with another EncodingAESKey".to_string()),
                            1 => (MsgCrypt::new(&rng.alnum(16), &self.aes_key, receive_id).unwrap(), "signed with another Token".to_string()),
                            2 if self.xml => {
                                let corp = format!("ww{}", rng.alnum(16));
                                (MsgCrypt::new(&self.token, &self.aes_key, &corp).unwrap(), format!("sealed for another CorpID {corp:?}"))
                            }
                            // A bot payload closes with "": one with a CorpID is not the bot's.
                            2 => (MsgCrypt::new(&self.token, &self.aes_key, CORP).unwrap(), "a bot payload sealed with the CorpID".to_string()),
                            3 if self.xml => (MsgCrypt::new(&self.token, &self.aes_key, "").unwrap(), "an app payload sealed for the bot's \"\"".to_string()),
                            // The ReceiveId must match whole: not with something after it.
                            3 => (MsgCrypt::new(&self.token, &self.aes_key, " ").unwrap(), "a bot payload sealed for \" \"".to_string()),
                            _ => {
                                let id = format!("{receive_id}{}", rng.alnum(3));
                                (MsgCrypt::new(&self.token, &self.aes_key, &id).unwrap(), format!("sealed for ReceiveId {id:?}"))
                            }
                        };
                        let enc = other.encrypt(&self.plain);
                        // Signed by the signer's Token: only case 1 carries another one.
                        self.case(kind, note, self.signed(&other, &enc, &now))
                    }
                    "tampered" if i % 2 == 0 => {
                        // A byte of the sent ciphertext changed: the signature no longer covers it.
                        let mut body = self.sent_body.clone();
                        let at = enc_start + rng.below(enc_end - enc_start);
                        let mut with = body[at];
                        while with == body[at] {
                            with = *rng.pick(B64);
                        }
                        body[at] = with;
                        self.case(kind, format!("the sent callback, ciphertext byte {} changed", at - enc_start), (self.sent().0, body))
                    }
                    "tampered" => {
                        // The raw ciphertext changed (CBC malleability) and re-signed with the
                        // Token: only the EncodingAESKey holder could make it decrypt.
                        let from_end = 1 + rng.below(40);
                        let note = format!("raw ciphertext byte -{from_end} changed (padding, ReceiveId or length), re-signed");
                        self.case(kind, note, self.fresh(&self.malleated(&sealed, from_end)))
                    }
                    "truncated" if i % 2 == 0 => {
                        // Cut before the ciphertext ends: it is gone, cut, or unterminated.
                        let cut = rng.below(enc_end);
                        let body = self.sent_body[..cut].to_vec();
                        self.case(kind, format!("the sent callback cut to {cut} bytes"), (self.sent().0, body))
                    }
                    "truncated" => {
                        let cut = match i % 4 {
                            // Whole base64 quanta (decodes, not whole AES blocks, or bad padding).
                            1 => &sealed[..4 * rng.below(sealed.len() / 4)],
                            _ => &sealed[..rng.below(sealed.len())],
                        };
                        self.case(kind, format!("ciphertext cut to {} characters, re-signed", cut.len()), self.fresh(cut))
                    }
                    "wrong_encoding" => match i % 5 {
                        0 => self.case(kind, "invalid UTF-8 in the sent callback".into(), (self.sent().0, invalid_utf8(rng, &self.sent_body, None))),
                        1 => {
                            let random = rng.alnum(23);
                            let bad = rng.pick(&["%%%not-base64%%%".to_string(), random, "AAAA".into(), "@@".into(), "QUJD=x==".into(), "A".into()]).clone();
                            self.case(kind, format!("Encrypt {bad:?}, signed"), self.fresh(&bad))
                        }
                        2 => {
                            let plain = String::from_utf8_lossy(&truncate(rng, self.plain.as_bytes())).into_owned();
                            let plain = if plain.trim().is_empty() { "<".to_string() } else { plain };
                            self.case(kind, "sealed message cut short, re-signed".into(), self.fresh(&self.crypt.encrypt(&plain)))
                        }
                        3 => {
                            let utf16 = String::from_utf8_lossy(&self.sent_body).encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
                            self.case(kind, "the sent callback as UTF-16".into(), (self.sent().0, utf16))
                        }
                        _ => {
                            // URL-safe base64 in place of the standard alphabet.
                            let url_safe: String = sealed
                                .chars()
                                .map(|c| {
                                    if c == '+' {
                                        '-'
                                    } else if c == '/' {
                                        '_'
                                    } else {
                                        c
                                    }
                                })
                                .collect();
                            let url_safe = if url_safe == sealed { format!("{}-_", &sealed[..sealed.len() - 2]) } else { url_safe };
                            self.case(kind, "the ciphertext in URL-safe base64, signed".into(), self.fresh(&url_safe))
                        }
                    },
                    "wrong_types" => {
                        let (uri, _) = self.fresh(&sealed);
                        let (body, note) = self.wrong_types(rng, i, &sealed);
                        self.case(kind, note, (uri, body))
                    }
                    "oversized" => {
                        let (uri, body) = self.fresh(&sealed);
                        let body = if self.xml {
                            let mut b = body;
                            let extra = EVENTS_LIMIT + 1 + rng.below(4096);
                            b.extend(std::iter::repeat_n(b' ', extra));
                            b
                        } else {
                            oversize(rng, &body, EVENTS_LIMIT)
                        };
                        self.case(kind, format!("{} bytes, signed", body.len()), (uri, body))
                    }
                    "replay" if i % 2 == 0 => self.case(kind, "the applied callback, byte for byte".into(), self.sent()),
                    "replay" => {
                        let ts = (self.now - rng.range(0, 200)).to_string();
                        self.case(kind, "the applied callback, sealed and signed afresh".into(), self.signed(&self.crypt, &sealed, &ts))
                    }
                    "unknown_integration" => {
                        let path = format!("{}?{}", unknown_events(rng), self.sent_query);
                        self.case(kind, "unknown integration id".into(), (path, self.sent_body.clone()))
                    }
                    _ => unreachable!("{kind}"),
                });
            }
        }
        out
    }

    /// A body whose envelope is of the wrong shape around a signed ciphertext.
    fn wrong_types(&self, rng: &mut Rng, i: usize, sealed: &str) -> (Vec<u8>, String) {
        if self.xml {
            let body = match i % 6 {
                0 => format!("<xml><Encrypt><Inner><![CDATA[{sealed}]]></Inner></Encrypt></xml>"),
                1 => "<xml><Encrypt></Encrypt><AgentID>1</AgentID></xml>".to_string(),
                2 => format!("<xml><encrypt><![CDATA[{sealed}]]></encrypt></xml>"),
                3 => format!("<xml><Encrypt>{}</Encrypt></xml>", rng.range(0, 1 << 40)),
                4 => json!({ "Encrypt": sealed }).to_string(),
                _ => format!("<xml><ToUserName>{}</ToUserName></xml>", rng.alnum(12)),
            };
            let note = format!("XML envelope {}", &body[..body.len().min(60)]);
            (body.into_bytes(), note)
        } else {
            let v = match i % 6 {
                0 => json!(null),
                1 => json!([sealed]),
                2 => json!({ "encrypt": [sealed] }),
                3 => json!({ "encrypt": { "value": sealed } }),
                4 => json!({ "encrypt": rng.range(0, 1 << 40) }),
                _ => json!({ "Encrypt": sealed }),
            };
            let note = format!("JSON envelope -> {}", &v.to_string()[..v.to_string().len().min(60)]);
            (v.to_string().into_bytes(), note)
        }
    }
}

fn decode_b64(s: &str) -> Vec<u8> {
    let value = |c: u8| B64.iter().position(|&b| b == c).unwrap_or(0) as u32;
    let chars: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::new();
    for chunk in chars.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (k, &c)| acc | value(c) << (18 - 6 * k));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

fn encode_b64(raw: &[u8]) -> String {
    let mut out = String::new();
    for chunk in raw.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (k, &b)| acc | u32::from(b) << (16 - 8 * k));
        for k in 0..4 {
            out.push(if k <= chunk.len() { char::from(B64[(n >> (18 - 6 * k)) as usize & 63]) } else { '=' });
        }
    }
    out
}

#[test]
fn the_harness_base64_round_trips_and_matches_the_standard_alphabet() {
    assert_eq!(encode_b64(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
    assert_eq!(decode_b64("YW55IGNhcm5hbCBwbGVhcw=="), b"any carnal pleas");
    let raw: Vec<u8> = (0..=255).collect();
    assert_eq!(decode_b64(&encode_b64(&raw)), raw);
}
