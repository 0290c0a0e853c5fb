//! Encrypted event pushes broken one thing at a time.

use super::*;

/// Encrypted event pushes (reference §2a).
pub(super) struct Pushes {
    pub(super) path: String,
    /// The app's crypto: its token, aes_key and AppKey (the owner key).
    pub(super) crypto: EventCrypto,
    /// The applied event's plaintext.
    pub(super) plain: String,
    /// The applied push as the sandbox sent it.
    pub(super) sent_query: String,
    pub(super) sent_body: Vec<u8>,
    /// The app's clock, in ms.
    pub(super) now: i64,
}

impl Pushes {
    pub(super) fn new(path: String, delivery: &Delivery, now: i64) -> Self {
        let pairs: Vec<(&str, &str)> = delivery.signing.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Pushes {
            path,
            crypto: EventCrypto::new(TOKEN, AES_KEY, APP).unwrap(),
            plain: delivery.plaintext.to_string(),
            sent_query: query(&pairs),
            sent_body: delivery.body.clone().into_bytes(),
            now,
        }
    }

    pub(super) fn uri(&self, pairs: &[(&str, &str)]) -> String {
        format!("{}?{}", self.path, query(pairs))
    }

    /// `encrypt` signed by `signer` at `ts`: the URI and the body.
    pub(super) fn signed(&self, signer: &EventCrypto, encrypt: &str, ts: &str) -> (String, Vec<u8>) {
        let sig = signer.signature(ts, NONCE, encrypt);
        (self.uri(&[("msg_signature", &sig), ("timeStamp", ts), ("nonce", NONCE)]), envelope(encrypt))
    }

    pub(super) fn fresh(&self, encrypt: &str) -> (String, Vec<u8>) {
        self.signed(&self.crypto, encrypt, &self.now.to_string())
    }

    pub(super) fn case(&self, kind: &'static str, note: String, (path, body): (String, Vec<u8>)) -> Case {
        Case { surface: "dingtalk/events", kind, path, headers: json_ct(), body, replay: kind == "replay", note }
    }

    pub(super) fn cases(&self, rng: &mut Rng) -> Vec<Case> {
        let sent = || (format!("{}?{}", self.path, self.sent_query), self.sent_body.clone());
        let mut out = Vec::new();
        for (kind, n) in kinds_plan() {
            for i in 0..n {
                let sealed = self.crypto.encrypt(&self.plain);
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
                            _ => self.crypto.signature(&now, NONCE, &self.crypto.encrypt(&self.plain)),
                        };
                        let uri = self.uri(&[("msg_signature", &sig), ("timeStamp", &now), ("nonce", NONCE)]);
                        self.case(kind, format!("msg_signature {sig:?}"), (uri, envelope(&sealed)))
                    }
                    "missing_headers" => {
                        let sig = self.crypto.signature(&now, NONCE, &sealed);
                        let mut pairs = vec![("msg_signature", sig.as_str()), ("timeStamp", now.as_str()), ("nonce", NONCE)];
                        let note = if i % 7 == 0 {
                            pairs.clear();
                            "no query at all".to_string()
                        } else {
                            format!("no {}", pairs.remove(i % 3).0)
                        };
                        let uri = if pairs.is_empty() { self.path.clone() } else { self.uri(&pairs) };
                        self.case(kind, note, (uri, envelope(&sealed)))
                    }
                    "stale_timestamp" => {
                        let (ts, note) = if i % 10 == 9 {
                            let ts = rng.pick(&["soon", "", "1e12", "-"]).to_string();
                            (ts.clone(), format!("timeStamp {ts:?}, signed"))
                        } else {
                            let off = rng.range(EVENT_WINDOW_S + 1, 10_000_000) * if i % 2 == 0 { -1 } else { 1 };
                            ((self.now + off * 1000).to_string(), format!("signed at now{off:+}s"))
                        };
                        self.case(kind, note, self.signed(&self.crypto, &sealed, &ts))
                    }
                    "wrong_key" => match i % 4 {
                        0 => {
                            let other = EventCrypto::new(TOKEN, &rng.alnum(43), APP).unwrap();
                            self.case(kind, "sealed with another aes_key, signed with the token".into(), self.fresh(&other.encrypt(&self.plain)))
                        }
                        1 => {
                            let other = EventCrypto::new(&rng.alnum(16), AES_KEY, APP).unwrap();
                            self.case(kind, "signed with another token".into(), self.signed(&other, &sealed, &now))
                        }
                        2 => {
                            let owner = format!("ding{}", rng.alnum(12));
                            let other = EventCrypto::new(TOKEN, AES_KEY, &owner).unwrap();
                            self.case(kind, format!("sealed for another AppKey {owner:?}"), self.fresh(&other.encrypt(&self.plain)))
                        }
                        _ => {
                            // The AppKey with something after it: the owner key must match whole.
                            let owner = format!("{APP}{}", rng.alnum(3));
                            let other = EventCrypto::new(TOKEN, AES_KEY, &owner).unwrap();
                            self.case(kind, format!("sealed for owner key {owner:?}"), self.fresh(&other.encrypt(&self.plain)))
                        }
                    },
                    "tampered" if i % 2 == 0 => self.case(kind, "the sent push, one byte flipped".into(), (sent().0, flip_byte(rng, &sent().1))),
                    "tampered" => {
                        // One base64 character of the ciphertext past its first block (the
                        // first block is the random prefix) changed, then re-signed with the
                        // token: only the aes_key holder could make it decrypt.
                        let mut chars: Vec<u8> = sealed.clone().into_bytes();
                        let at = 24 + rng.below(chars.len() - 28);
                        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                        let mut with = chars[at];
                        while with == chars[at] {
                            with = *rng.pick(alphabet);
                        }
                        chars[at] = with;
                        let tampered = String::from_utf8(chars).unwrap();
                        self.case(kind, format!("ciphertext changed at base64 character {at}, re-signed"), self.fresh(&tampered))
                    }
                    "truncated" if i % 2 == 0 => {
                        let body = truncate(rng, &self.sent_body);
                        self.case(kind, format!("the sent push cut to {} bytes", body.len()), (sent().0, body))
                    }
                    "truncated" => {
                        let cut = &sealed[..rng.below(sealed.len())];
                        self.case(kind, format!("ciphertext cut to {} characters, re-signed", cut.len()), self.fresh(cut))
                    }
                    "wrong_encoding" => match i % 4 {
                        0 => self.case(kind, "invalid UTF-8 in the sent push".into(), (sent().0, invalid_utf8(rng, &self.sent_body, None))),
                        1 => {
                            let random = rng.alnum(23);
                            let bad = rng.pick(&["%%%not-base64%%%".to_string(), random, String::new(), "AAAA".into(), "@@".into()]).clone();
                            self.case(kind, format!("encrypt {bad:?}, signed"), self.fresh(&bad))
                        }
                        2 => {
                            let plain = String::from_utf8_lossy(&truncate(rng, self.plain.as_bytes())).into_owned();
                            self.case(kind, "sealed payload not JSON".into(), self.fresh(&self.crypto.encrypt(&plain)))
                        }
                        _ => {
                            let utf16 = String::from_utf8_lossy(&self.sent_body).encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
                            self.case(kind, "the sent push as UTF-16".into(), (sent().0, utf16))
                        }
                    },
                    "wrong_types" => {
                        let (uri, _) = self.fresh(&sealed);
                        let good: Value = json!({ "encrypt": sealed });
                        let (v, note) = if i % 2 == 0 {
                            let v = wrong_value(rng, &good);
                            (v.clone(), format!("root -> {v}"))
                        } else {
                            let w = loop {
                                let w = wrong_value(rng, &json!(sealed));
                                if !w.is_string() {
                                    break w;
                                }
                            };
                            (json!({ "encrypt": w }), format!("/encrypt -> {w}"))
                        };
                        self.case(kind, note, (uri, v.to_string().into_bytes()))
                    }
                    "oversized" => {
                        let (uri, body) = self.fresh(&sealed);
                        let body = oversize(rng, &body, EVENTS_LIMIT);
                        self.case(kind, format!("{} bytes, signed", body.len()), (uri, body))
                    }
                    "replay" if i % 2 == 0 => self.case(kind, "the applied push, byte for byte".into(), sent()),
                    "replay" => {
                        let ts = (self.now - rng.range(0, 200) * 1000).to_string();
                        self.case(kind, "the applied event, sealed and signed afresh".into(), self.signed(&self.crypto, &sealed, &ts))
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
}
