//! Robot messages and card clicks (signed timestamps in headers) broken one thing at a time.

use super::*;

/// Robot messages and card clicks: a signed timestamp in two headers, the body unsigned.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Scheme {
    Robot,
    Card,
}

pub(super) struct Headed {
    pub(super) name: &'static str,
    pub(super) scheme: Scheme,
    pub(super) path: String,
    pub(super) unknown_path: fn(&mut Rng) -> String,
    /// The applied callback, as the sandbox sent it.
    pub(super) sent: Delivery,
    pub(super) limit: usize,
    pub(super) window_s: i64,
    pub(super) now: i64,
}

impl Headed {
    pub(super) fn headers_with(&self, ts: &str, secret: &str) -> Vec<(String, String)> {
        let (ts_name, sig_name, sig) = match self.scheme {
            Scheme::Robot => ("timestamp", "sign", robot_sign(secret, ts)),
            Scheme::Card => ("x-ddpaas-signature-timestamp", "x-ddpaas-signature", card_sign(secret, ts)),
        };
        vec![("content-type".into(), JSON_CT.into()), (ts_name.into(), ts.into()), (sig_name.into(), sig)]
    }

    pub(super) fn headers(&self) -> Vec<(String, String)> {
        self.headers_with(&self.now.to_string(), SECRET)
    }

    pub(super) fn sent_headers(&self) -> Vec<(String, String)> {
        let mut h = json_ct();
        h.extend(self.sent.signing.iter().cloned());
        h
    }

    pub(super) fn body(&self) -> Vec<u8> {
        self.sent.body.clone().into_bytes()
    }

    pub(super) fn case(&self, kind: &'static str, note: String, headers: Vec<(String, String)>, body: Vec<u8>) -> Case {
        Case { surface: self.name, kind, path: self.path.clone(), headers, body, replay: kind == "replay", note }
    }

    pub(super) fn cases(&self, rng: &mut Rng) -> Vec<Case> {
        let good = self.body();
        let plain = &self.sent.plaintext;
        let mut out = Vec::new();
        for (kind, n) in kinds_plan() {
            for i in 0..n {
                out.push(match kind {
                    "forged_signature" => {
                        let mut h = self.headers();
                        let sig = match i % 5 {
                            0 => format!("{}=", rng.alnum(43)),
                            1 => String::new(),
                            2 => "not base64!".into(),
                            3 => {
                                let n = 1 + rng.below(90);
                                rng.alnum(n)
                            }
                            // A genuine signature, of another timestamp.
                            _ => self.headers_with(&(self.now + 1).to_string(), SECRET)[2].1.clone(),
                        };
                        h[2].1 = sig.clone();
                        self.case(kind, format!("signature {sig:?}"), h, good.clone())
                    }
                    "stale_timestamp" => {
                        let (ts, note) = if i % 10 == 9 {
                            let ts = rng.pick(&["soon", "1e12", "-", "0x10"]).to_string();
                            (ts.clone(), format!("timestamp {ts:?}, signed"))
                        } else {
                            let off = rng.range(self.window_s + 1, 10_000_000) * if i % 2 == 0 { -1 } else { 1 };
                            ((self.now + off * 1000).to_string(), format!("signed at now{off:+}s"))
                        };
                        self.case(kind, note, self.headers_with(&ts, SECRET), good.clone())
                    }
                    // A click carries no id of its own: its replay is the same signed request again.
                    "replay" if i % 2 == 0 || self.scheme == Scheme::Card => {
                        self.case(kind, "the applied callback, byte for byte".into(), self.sent_headers(), good.clone())
                    }
                    "replay" => {
                        let ts = (self.now - rng.range(0, 200) * 1000).to_string();
                        self.case(kind, "the applied message, signed afresh".into(), self.headers_with(&ts, SECRET), good.clone())
                    }
                    "tampered" => self.case(kind, "signed, the body's JSON broken".into(), self.headers(), break_structure(rng, &good)),
                    "truncated" => {
                        let body = truncate(rng, &good);
                        self.case(kind, format!("cut to {} bytes, signed", body.len()), self.headers(), body)
                    }
                    "oversized" => {
                        let body = oversize(rng, &good, self.limit);
                        self.case(kind, format!("{} bytes, signed", body.len()), self.headers(), body)
                    }
                    "wrong_encoding" => match i % 3 {
                        0 => self.case(kind, "invalid UTF-8, signed".into(), self.headers(), invalid_utf8(rng, &good, None)),
                        1 => {
                            let utf16 = String::from_utf8_lossy(&good).encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
                            self.case(kind, "UTF-16, signed".into(), self.headers(), utf16)
                        }
                        _ => {
                            let mut h = self.headers();
                            h[0].1 = "application/x-www-form-urlencoded".into();
                            self.case(kind, "form-encoded, signed".into(), h, form(plain))
                        }
                    },
                    "wrong_types" => {
                        let field = match (self.scheme, i % 3) {
                            (_, 0) => None,
                            (Scheme::Robot, _) => Some("conversationId"),
                            (Scheme::Card, 1) => Some("content"),
                            (Scheme::Card, _) => Some("userId"),
                        };
                        let (v, note) = match field {
                            None => {
                                let v = wrong_value(rng, plain);
                                (v.clone(), format!("root -> {v}"))
                            }
                            Some(f) => {
                                let mut v = plain.clone();
                                let w = loop {
                                    let w = wrong_value(rng, &plain[f]);
                                    // A click's `content` may be an object (tolerated): not a wrong type.
                                    if !w.is_string() && (f != "content" || !w.is_object()) {
                                        break w;
                                    }
                                };
                                v[f] = w.clone();
                                (v, format!("/{f} -> {w}"))
                            }
                        };
                        self.case(kind, note, self.headers(), v.to_string().into_bytes())
                    }
                    "missing_headers" => {
                        let mut h = self.headers();
                        let note = match i % 3 {
                            0 => {
                                h.truncate(1);
                                "no signature headers at all".to_string()
                            }
                            k => format!("no {}", h.remove(k).0),
                        };
                        self.case(kind, note, h, good.clone())
                    }
                    "wrong_key" => {
                        let secret = match (i % 3, self.scheme) {
                            (0, _) => {
                                let n = 1 + rng.below(40);
                                rng.alnum(n)
                            }
                            (1, _) => AES_KEY.to_string(),
                            // The robot may sign with the event token (adapter: UNCERTAIN which);
                            // clicks only with the registered apiSecret.
                            (_, Scheme::Card) => TOKEN.to_string(),
                            (_, Scheme::Robot) => format!("{SECRET} "),
                        };
                        self.case(kind, format!("signed with {secret:?}"), self.headers_with(&self.now.to_string(), &secret), good.clone())
                    }
                    "unknown_integration" => {
                        let mut c = self.case(kind, "unknown integration id".into(), self.headers(), good.clone());
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
