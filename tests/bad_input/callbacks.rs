//! Callback surfaces: how a body is sealed and signed, per platform, and the cases made
//! from one applied event.

use crate::common::corpus::{flip_byte, invalid_utf8, oversize, truncate, wrong_type, Case, Rng};
use crate::*;
use serde_json::{json, Value};
use warroom_platforms::{feishu, slack};

#[derive(Clone)]
pub(crate) enum Signer {
    /// Slack signing v0; `form` wraps the JSON as `payload=` (interactions).
    Slack { secret: String, form: bool },
    /// Feishu: `{"encrypt": AES(plain)}` signed over timestamp + nonce + key + body.
    Feishu { key: String },
}

pub(crate) struct CallbackSurface {
    pub(crate) name: &'static str,
    pub(crate) path: String,
    pub(crate) unknown_path: fn(&mut Rng) -> String,
    pub(crate) signer: Signer,
    /// The applied event, as plaintext JSON.
    pub(crate) good: Value,
    pub(crate) limit: usize,
    pub(crate) now: i64,
}

impl CallbackSurface {
    /// The raw body for plaintext `v` (sealed for Feishu, form-wrapped for Slack interactions).
    pub(crate) fn body_of(&self, v: &Value) -> Vec<u8> {
        match &self.signer {
            Signer::Slack { form: true, .. } => form(v),
            Signer::Slack { .. } => v.to_string().into_bytes(),
            Signer::Feishu { key } => json!({"encrypt": feishu::encrypt(key, &v.to_string())}).to_string().into_bytes(),
        }
    }

    pub(crate) fn content_type(&self) -> &'static str {
        match &self.signer {
            Signer::Slack { form: true, .. } => "application/x-www-form-urlencoded",
            _ => "application/json",
        }
    }

    /// Headers signing `body` at `ts` with `secret` (the right one unless told).
    pub(crate) fn headers_with(&self, body: &[u8], ts: i64, secret: Option<&str>, nonce: &str) -> Vec<(String, String)> {
        let ct = ("content-type".to_string(), self.content_type().to_string());
        match &self.signer {
            Signer::Slack { secret: s, .. } => {
                let sig = slack::sign(secret.unwrap_or(s).as_bytes(), &ts.to_string(), body);
                vec![ct, (slack::TIMESTAMP_HEADER.into(), ts.to_string()), (slack::SIGNATURE_HEADER.into(), sig)]
            }
            Signer::Feishu { key } => {
                let sig = feishu::signature(&ts.to_string(), nonce, secret.unwrap_or(key), body);
                vec![ct, ("x-lark-request-timestamp".into(), ts.to_string()), ("x-lark-request-nonce".into(), nonce.into()), ("x-lark-signature".into(), sig)]
            }
        }
    }

    pub(crate) fn headers(&self, body: &[u8]) -> Vec<(String, String)> {
        self.headers_with(body, self.now, None, "nonce-1")
    }

    /// The applied event's delivery id, as it appears in the raw body.
    pub(crate) fn delivery_id(&self) -> Option<&str> {
        self.good.get("trigger_id").or_else(|| self.good.get("event_id")).or_else(|| self.good.pointer("/header/event_id")).and_then(Value::as_str)
    }

    pub(crate) fn sig_index(&self) -> usize {
        match self.signer {
            Signer::Slack { .. } => 2,
            Signer::Feishu { .. } => 3,
        }
    }

    pub(crate) fn case(&self, kind: &'static str, note: String, headers: Vec<(String, String)>, body: Vec<u8>) -> Case {
        Case { surface: self.name, kind, path: self.path.clone(), headers, body, replay: kind == "replay", note }
    }

    pub(crate) fn cases(&self, rng: &mut Rng) -> Vec<Case> {
        let good = self.body_of(&self.good);
        let feishu_key = match &self.signer {
            Signer::Feishu { key } => Some(key.clone()),
            _ => None,
        };
        let mut out = Vec::new();
        for (kind, n) in kinds_plan() {
            for i in 0..n {
                out.push(match kind {
                    "forged_signature" => {
                        let mut h = self.headers(&good);
                        let slack = matches!(self.signer, Signer::Slack { .. });
                        let sig = match i % 5 {
                            0 if slack => format!("v0={}", rng.hex(64)),
                            0 => rng.hex(64),
                            1 if slack => format!("v1={}", &h[2].1[3..]),
                            1 => rng.hex(63),
                            2 => String::new(),
                            3 => {
                                let n = 1 + rng.below(90);
                                rng.alnum(n)
                            }
                            // A real signature of another body.
                            _ => self.headers(&self.body_of(&json!({"type": "other", "n": i})))[self.sig_index()].1.clone(),
                        };
                        let idx = self.sig_index();
                        h[idx].1 = sig.clone();
                        self.case(kind, format!("signature {sig:?}"), h, good.clone())
                    }
                    "stale_timestamp" => {
                        let off = rng.range(301, 10_000_000) * if i % 2 == 0 { -1 } else { 1 };
                        let ts = self.now + off;
                        self.case(kind, format!("signed at now{off:+}s"), self.headers_with(&good, ts, None, "nonce-2"), good.clone())
                    }
                    "replay" => {
                        // The applied event again: freshly signed (a platform retry), or
                        // byte for byte with its headers a moment later.
                        let body = if i % 2 == 0 { good.clone() } else { self.body_of(&self.good) };
                        self.case(kind, "the applied event, re-signed".into(), self.headers_with(&body, self.now - rng.range(0, 200), None, "nonce-3"), body)
                    }
                    "tampered" => {
                        let h = self.headers(&good);
                        self.case(kind, "signed, then one byte flipped".into(), h, flip_byte(rng, &good))
                    }
                    "truncated" => {
                        let body = truncate(rng, &good);
                        let after = i % 2 == 0;
                        let h = if after { self.headers(&body) } else { self.headers(&good) };
                        self.case(kind, format!("cut to {} bytes (signed {})", body.len(), if after { "after" } else { "before" }), h, body)
                    }
                    "oversized" => {
                        let body = oversize(rng, &good, self.limit);
                        self.case(kind, format!("{} bytes, signed", body.len()), self.headers(&body), body)
                    }
                    "wrong_encoding" => {
                        let (note, body, ct) = match (i % 4, &feishu_key) {
                            (0, _) => ("invalid UTF-8, signed".to_string(), invalid_utf8(rng, &good, self.delivery_id()), None),
                            (1, Some(key)) => {
                                let random = rng.alnum(23);
                                let bad = rng.pick(&["%%%not-base64%%%".to_string(), random, String::new(), feishu::encrypt(key, "")]).clone();
                                ("encrypt field not a sealed payload".into(), json!({ "encrypt": bad }).to_string().into_bytes(), None)
                            }
                            (2, Some(key)) => {
                                let plain = String::from_utf8_lossy(&truncate(rng, self.good.to_string().as_bytes())).into_owned();
                                ("sealed payload not JSON".into(), json!({ "encrypt": feishu::encrypt(key, &plain) }).to_string().into_bytes(), None)
                            }
                            (1, None) => ("form vs JSON swapped".into(), swap_form(&self.good, &self.signer), Some(swap_ct(self.content_type()))),
                            (2, None) => ("UTF-16".into(), String::from_utf8_lossy(&good).encode_utf16().flat_map(|u| u.to_le_bytes()).collect(), None),
                            _ => ("form-encoded JSON body".into(), form(&json!({"a": 1})), Some("application/x-www-form-urlencoded")),
                        };
                        let mut h = self.headers(&body);
                        if let Some(ct) = ct {
                            h[0].1 = ct.into();
                        }
                        let mut c = self.case(kind, note, h, body);
                        // Correctly signed and (once decoded leniently) possibly still the
                        // applied event: "already handled" is right; it must change nothing.
                        c.replay = true;
                        c
                    }
                    "wrong_types" => {
                        let (v, note) = wrong_type(rng, &self.good, &|p| callback_strict(self.name, p));
                        let body = self.body_of(&v);
                        let mut c = self.case(kind, note, self.headers(&body), body);
                        c.replay = true; // may be acknowledged as "not for us"; must change nothing
                        c
                    }
                    "missing_headers" => {
                        let mut h = self.headers(&good);
                        let n = h.len();
                        let drop = 1 + (i % (n - 1));
                        let name = h.remove(drop).0;
                        let note = if i % 7 == 0 {
                            h.retain(|(k, _)| k == "content-type");
                            "no signature headers at all".into()
                        } else {
                            format!("no {name}")
                        };
                        self.case(kind, note, h, good.clone())
                    }
                    "wrong_key" => match (&feishu_key, i % 3) {
                        (None, _) => {
                            let n = 1 + rng.below(40);
                            let other = rng.alnum(n);
                            self.case(kind, format!("signed with {other:?}"), self.headers_with(&good, self.now, Some(&other), "n"), good.clone())
                        }
                        (Some(_), 0) => {
                            // Sealed with another Encrypt Key, signed with the right one.
                            let body = json!({ "encrypt": feishu::encrypt(&rng.alnum(16), &self.good.to_string()) }).to_string().into_bytes();
                            self.case(kind, "sealed with another key".into(), self.headers(&body), body)
                        }
                        (Some(_), 1) => {
                            let other = rng.alnum(16);
                            self.case(kind, "signed with another key".into(), self.headers_with(&good, self.now, Some(&other), "n"), good.clone())
                        }
                        (Some(_), _) => {
                            let mut v = self.good.clone();
                            v["header"]["token"] = json!(rng.alnum(22));
                            let body = self.body_of(&v);
                            self.case(kind, "wrong verification token".into(), self.headers(&body), body)
                        }
                    },
                    "unknown_integration" => {
                        let mut c = self.case(kind, "unknown integration id".into(), self.headers(&good), good.clone());
                        c.path = (self.unknown_path)(rng);
                        c
                    }
                    _ => unreachable!("{kind}"),
                });
            }
        }
        out
    }
}

pub(crate) fn swap_ct(ct: &str) -> &'static str {
    if ct.contains("form") {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    }
}

/// JSON where a form is expected and a form where JSON is expected.
pub(crate) fn swap_form(v: &Value, signer: &Signer) -> Vec<u8> {
    match signer {
        Signer::Slack { form: true, .. } => v.to_string().into_bytes(),
        _ => form(v),
    }
}

/// Every path is typed strictly unless listed: none are, so far.
pub(crate) fn callback_strict(_surface: &str, pointer: &str) -> bool {
    !pointer.is_empty()
}
