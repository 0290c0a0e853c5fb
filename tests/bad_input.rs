//! Issue 7, item 1: a bad-input corpus per callback surface (Slack events and interactions,
//! Feishu events and cards, with the real adapters against the sandboxes) and per intake
//! source (generic, Alertmanager, PagerDuty), at least 1,000 requests each, generated
//! from a fixed seed: forged signatures, replays, tampered, truncated, oversized, wrongly
//! encoded and wrongly typed bodies, missing headers, wrong keys, unknown integrations.
//! Each goes through the merged routers in-process; each must be refused (400/401/403/
//! 404/413/415/422) with a JSON error, never a 5xx; a replay of an applied event may be
//! answered 200/202 "already handled". The store (every item), the queue and the
//! platform's state must be the same before and after the whole corpus.

mod common;

use axum::Router;
use common::corpus::{self, flip_byte, invalid_utf8, oversize, truncate, wrong_type, Case, Rng};
use common::platform_app::PlatformApp;
use common::{event, App};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use warroom_core::*;
use warroom_http::auth;
use warroom_http::oauth_state::{self, Pending};
use warroom_platforms::{feishu, slack, PlatformsConfig, SlackApp, StoredFeishu};
use warroom_queue::{MemoryQueue, MemoryQueueConfig};
use warroom_secrets::{Secret, SecretBox};
use warroom_store::embedded::EmbeddedStore;
use warroom_testkit::fixtures;

/// Requests per kind (oversized ones are fewer: each is over a megabyte for intake).
const PER_KIND: usize = 110;
const OVERSIZED: usize = 40;
const INTAKE_LIMIT: usize = 1 << 20;
const EVENTS_LIMIT: usize = 256 * 1024;
const CARDS_LIMIT: usize = 64 * 1024;

fn routers(state: &warroom_http::AppState) -> Router {
    Router::new()
        .merge(incident_intake::router(state.clone()))
        .merge(im_events::router(state.clone()))
        .merge(card_actions::router(state.clone()))
        .merge(oauth_callback::router(state.clone()))
        .merge(api::router(state.clone()))
}

fn kinds_plan() -> Vec<(&'static str, usize)> {
    ["forged_signature", "stale_timestamp", "replay", "tampered", "truncated", "wrong_encoding", "wrong_types", "missing_headers", "wrong_key", "unknown_integration"]
        .into_iter()
        .map(|k| (k, PER_KIND))
        .chain([("oversized", OVERSIZED)])
        .collect()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form(json: &Value) -> Vec<u8> {
    format!("payload={}", percent_encode(&json.to_string())).into_bytes()
}

fn fail_with(surface: &str, tally: Result<corpus::Tally, String>) -> corpus::Tally {
    match tally {
        Ok(t) => {
            eprintln!("{}", t.report(surface));
            assert!(t.total >= 1000, "{surface}: only {} requests", t.total);
            t
        }
        Err(first) => panic!("bad-input corpus, first offending request: {first}"),
    }
}

/// Lines that differ between two snapshots, for the failure message.
fn diff<T: std::fmt::Debug + PartialEq>(before: &[T], after: &[T]) -> String {
    let gone: Vec<_> = before.iter().filter(|x| !after.contains(x)).take(5).collect();
    let new: Vec<_> = after.iter().filter(|x| !before.contains(x)).take(5).collect();
    format!("removed/changed: {gone:#?}\nadded/changed: {new:#?}")
}

// ------------------------------------------------------------------------------------
// Intake: generic, Alertmanager, PagerDuty (fake IM platform, as in war_room_e2e).
// ------------------------------------------------------------------------------------

const PD_SECRET: &str = "pagerduty-webhook-secret";
const PD_OFFICIAL_BODY: &[u8] = include_bytes!("../shared/intake/tests/fixtures/pagerduty_priority_updated.json");
const PD_OFFICIAL_SECRET: &[u8] = b"lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK";
const PD_OFFICIAL_SIGNATURE: &str = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd";
const AM_FIRING: &[u8] = include_bytes!("../shared/intake/tests/fixtures/alertmanager_firing.json");

struct IntakeSurface {
    name: &'static str,
    source: &'static str,
    good: Value,
    intake_key: String,
    /// PagerDuty signs its bodies.
    signed: bool,
}

impl IntakeSurface {
    fn headers(&self, body: &[u8]) -> Vec<(String, String)> {
        let mut h = vec![("authorization".into(), format!("Bearer {}", self.intake_key)), ("content-type".into(), "application/json".into())];
        if self.signed {
            h.push(("x-pagerduty-signature".into(), corpus::pagerduty_signature(PD_SECRET.as_bytes(), body)));
        }
        h
    }

    fn case(&self, kind: &'static str, note: String, path: Option<String>, headers: Vec<(String, String)>, body: Vec<u8>) -> Case {
        Case { surface: self.name, kind, path: path.unwrap_or_else(|| format!("/hooks/{}", self.source)), headers, body, replay: kind == "replay", note }
    }

    fn cases(&self, rng: &mut Rng) -> Vec<Case> {
        let good = self.good.to_string().into_bytes();
        let mut out = Vec::new();
        for (kind, n) in kinds_plan() {
            for i in 0..n {
                out.push(match kind {
                    "forged_signature" if self.signed => {
                        let mut h = self.headers(&good);
                        let sig = match i % 4 {
                            0 => format!("v1={}", rng.hex(64)),
                            1 => corpus::pagerduty_signature(b"another-secret", &good),
                            2 => format!("v0={}", &corpus::pagerduty_signature(PD_SECRET.as_bytes(), &good)[3..]),
                            _ => {
                                let n = rng.below(80);
                                rng.alnum(n)
                            }
                        };
                        h[2].1 = sig.clone();
                        self.case(kind, format!("signature {sig}"), None, h, good.clone())
                    }
                    // Unsigned sources: the bearer key is the credential.
                    "forged_signature" | "wrong_key" => {
                        let mut h = self.headers(&good);
                        let auth = match i % 6 {
                            0 => format!("Bearer wr_{}", rng.alnum(40)),
                            1 => format!("Bearer {}", String::from_utf8(flip_alnum(rng, self.intake_key.as_bytes())).unwrap()),
                            2 => format!("Basic {}", rng.alnum(24)),
                            3 => "Bearer ".into(),
                            4 => format!("Bearer {}x", self.intake_key),
                            _ => rng.alnum(30),
                        };
                        h[0].1 = auth.clone();
                        self.case(kind, format!("authorization {auth:?}"), None, h, good.clone())
                    }
                    "stale_timestamp" => {
                        // No timestamps in intake: an event older than the applied one.
                        let mut v = self.good.clone();
                        let note = age_event(&mut v, self.source);
                        let body = v.to_string().into_bytes();
                        let mut c = self.case(kind, note, None, self.headers(&body), body);
                        c.replay = true; // older than what was applied: 202 "ignored", nothing changes
                        c
                    }
                    "replay" => self.case(kind, "the applied event again".into(), None, self.headers(&good), good.clone()),
                    "tampered" if self.signed => {
                        let h = self.headers(&good);
                        self.case(kind, "signed, then one byte flipped".into(), None, h, flip_byte(rng, &good))
                    }
                    "tampered" => {
                        let body = corpus::break_structure(rng, &good);
                        self.case(kind, "a structural byte replaced".into(), None, self.headers(&body), body)
                    }
                    "truncated" => {
                        let body = truncate(rng, &good);
                        let h = if i % 2 == 0 { self.headers(&body) } else { self.headers(&good) };
                        self.case(kind, format!("cut to {} bytes (signed {})", body.len(), if i % 2 == 0 { "after" } else { "before" }), None, h, body)
                    }
                    "oversized" => {
                        let body = oversize(rng, &good, INTAKE_LIMIT);
                        let h = if i % 4 == 0 { self.headers(&body) } else { self.headers(&good) };
                        self.case(kind, format!("{} bytes", body.len()), None, h, body)
                    }
                    "wrong_encoding" => match i % 3 {
                        0 => {
                            let body = invalid_utf8(rng, &good, None);
                            self.case(kind, "invalid UTF-8".into(), None, self.headers(&body), body)
                        }
                        1 => {
                            let body = form(&self.good);
                            let mut h = self.headers(&body);
                            h[1].1 = "application/x-www-form-urlencoded".into();
                            self.case(kind, "form-encoded".into(), None, h, body)
                        }
                        _ => {
                            let text = String::from_utf8_lossy(&good).into_owned();
                            let body: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
                            let mut h = self.headers(&body);
                            h[1].1 = "application/json; charset=utf-16".into();
                            self.case(kind, "UTF-16".into(), None, h, body)
                        }
                    },
                    "wrong_types" => {
                        let (v, note) = wrong_type(rng, &self.good, &|p| intake_strict(self.source, p));
                        let body = v.to_string().into_bytes();
                        self.case(kind, note, None, self.headers(&body), body)
                    }
                    "missing_headers" => {
                        let mut h = self.headers(&good);
                        let dropped = if self.signed && i % 2 == 0 { h.remove(2).0 } else { h.remove(0).0 };
                        self.case(kind, format!("no {dropped}"), None, h, good.clone())
                    }
                    "unknown_integration" => {
                        let random = rng.alnum(8);
                        let path = format!("/hooks/{}", rng.pick(&[random, "Generic".into(), "pagerduty2".into(), "nagios".into(), format!("{}%00", self.source)]));
                        self.case(kind, "unknown source".into(), Some(path), self.headers(&good), good.clone())
                    }
                    _ => unreachable!("{kind}"),
                });
            }
        }
        out
    }
}

/// Changes one character of an ASCII key.
fn flip_alnum(rng: &mut Rng, s: &[u8]) -> Vec<u8> {
    let mut out = s.to_vec();
    let i = rng.below(out.len());
    out[i] = if out[i] == b'a' { b'b' } else { b'a' };
    out
}

/// Moves the event's time back (an older state than the one applied).
fn age_event(v: &mut Value, source: &str) -> String {
    match source {
        "generic" => v["time"] = json!("2000-01-01T00:00:00Z"),
        "alertmanager" => {
            for a in v["alerts"].as_array_mut().unwrap() {
                a["startsAt"] = json!("2000-01-01T00:00:00Z");
            }
        }
        _ => v["event"]["occurred_at"] = json!("2000-01-01T00:00:00.000Z"),
    }
    "an older event time".into()
}

/// Paths whose type is checked strictly (the documented lenient ones left out).
/// Alertmanager reads only the group's fields and each alert's `startsAt`/`endsAt`
/// (module docs of `warroom_intake::alertmanager`); the rest of an alert (its own labels,
/// annotations, fingerprint, generatorURL) is not read, so its type cannot matter.
fn intake_strict(source: &str, pointer: &str) -> bool {
    let segs: Vec<&str> = pointer.split('/').skip(1).collect();
    match source {
        "alertmanager" => match segs.as_slice() {
            ["alerts", _, field] => matches!(*field, "startsAt" | "endsAt"),
            ["alerts", ..] => segs.len() <= 2,
            [top, ..] => matches!(*top, "status" | "groupKey" | "groupLabels" | "commonLabels" | "commonAnnotations" | "externalURL" | "version" | "truncatedAlerts"),
            [] => false,
        },
        // PagerDuty v3: the event's envelope and the incident fields the mapping reads.
        "pagerduty" => match segs.as_slice() {
            ["event"] | ["event", "data"] => true,
            ["event", f] => matches!(*f, "event_type" | "resource_type" | "occurred_at"),
            ["event", "data", f] => matches!(*f, "id" | "title" | "status" | "urgency" | "html_url" | "number" | "priority" | "service" | "assignees"),
            _ => false,
        },
        _ => !segs.is_empty(),
    }
}

#[tokio::test]
async fn intake_refuses_the_bad_input_corpus_and_changes_nothing() {
    let store = EmbeddedStore::open_temporary().unwrap();
    let clock = Arc::new(ManualClock::at(SystemClock.now()));
    let queue = Arc::new(MemoryQueue::new(MemoryQueueConfig::default(), clock.clone()));
    let app = App::with(Arc::new(store.clone()), queue.clone(), Some(queue.clone()), clock).await;
    assert_eq!(corpus::pagerduty_signature(PD_OFFICIAL_SECRET, PD_OFFICIAL_BODY), PD_OFFICIAL_SIGNATURE, "the test's HMAC");
    let mut tenant = app.store.get_tenant(&app.tenant).await.unwrap().unwrap();
    let sealed = app.state.secrets.seal(PD_SECRET, &warroom_sources::secret_context(&app.tenant));
    tenant.settings.sources = Some(json!({"pagerduty": {"webhook_secret": sealed.0}}));
    app.store.put_tenant(&tenant).await.unwrap();

    let surfaces = [
        IntakeSurface { name: "intake/generic", source: "generic", good: event("g1", "triggered", 0, &["Ada"]), intake_key: app.intake_key.clone(), signed: false },
        IntakeSurface { name: "intake/alertmanager", source: "alertmanager", good: serde_json::from_slice(AM_FIRING).unwrap(), intake_key: app.intake_key.clone(), signed: false },
        IntakeSurface { name: "intake/pagerduty", source: "pagerduty", good: serde_json::from_slice(PD_OFFICIAL_BODY).unwrap(), intake_key: app.intake_key.clone(), signed: true },
    ];
    let router = routers(&app.state);
    let mut rng = Rng::new(0x5eed_0001);
    let mut all = Vec::new();
    for s in &surfaces {
        // Apply one good event of each source first, so replays have something to replay.
        let body = s.good.to_string().into_bytes();
        let owned = s.headers(&body);
        let headers: Vec<(&str, String)> = owned.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let (code, answer) = app.request(axum::http::Method::POST, &format!("/hooks/{}", s.source), &headers, body).await;
        assert_eq!(code, 202, "{} good event: {answer}", s.name);
        all.push(s.cases(&mut rng));
    }
    app.drain().await;
    let before = (store.dump().await.unwrap(), app.fake.chats(), app.fake.calls(), app.receiver.all().len());

    for (s, cases) in surfaces.iter().zip(&all) {
        fail_with(s.name, corpus::run(&router, cases).await);
    }
    let after = (store.dump().await.unwrap(), app.fake.chats(), app.fake.calls(), app.receiver.all().len());
    assert!(queue.is_empty(), "the corpus queued work");
    assert!(before.0 == after.0, "the store changed:\n{}", diff(&before.0, &after.0));
    assert_eq!(before.1, after.1, "the fake platform's chats changed");
    assert_eq!(before.2, after.2, "the fake platform was called");
    assert_eq!(before.3, after.3, "the source was called back");
}

// ------------------------------------------------------------------------------------
// Callback surfaces: how a body is sealed and signed, per platform.
// ------------------------------------------------------------------------------------

#[derive(Clone)]
enum Signer {
    /// Slack signing v0; `form` wraps the JSON as `payload=` (interactions).
    Slack { secret: String, form: bool },
    /// Feishu: `{"encrypt": AES(plain)}` signed over timestamp + nonce + key + body.
    Feishu { key: String },
}

struct CallbackSurface {
    name: &'static str,
    path: String,
    unknown_path: fn(&mut Rng) -> String,
    signer: Signer,
    /// The applied event, as plaintext JSON.
    good: Value,
    limit: usize,
    now: i64,
}

impl CallbackSurface {
    /// The raw body for plaintext `v` (sealed for Feishu, form-wrapped for Slack interactions).
    fn body_of(&self, v: &Value) -> Vec<u8> {
        match &self.signer {
            Signer::Slack { form: true, .. } => form(v),
            Signer::Slack { .. } => v.to_string().into_bytes(),
            Signer::Feishu { key } => json!({"encrypt": feishu::encrypt(key, &v.to_string())}).to_string().into_bytes(),
        }
    }

    fn content_type(&self) -> &'static str {
        match &self.signer {
            Signer::Slack { form: true, .. } => "application/x-www-form-urlencoded",
            _ => "application/json",
        }
    }

    /// Headers signing `body` at `ts` with `secret` (the right one unless told).
    fn headers_with(&self, body: &[u8], ts: i64, secret: Option<&str>, nonce: &str) -> Vec<(String, String)> {
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

    fn headers(&self, body: &[u8]) -> Vec<(String, String)> {
        self.headers_with(body, self.now, None, "nonce-1")
    }

    /// The applied event's delivery id, as it appears in the raw body.
    fn delivery_id(&self) -> Option<&str> {
        self.good.get("trigger_id").or_else(|| self.good.get("event_id")).or_else(|| self.good.pointer("/header/event_id")).and_then(Value::as_str)
    }

    fn sig_index(&self) -> usize {
        match self.signer {
            Signer::Slack { .. } => 2,
            Signer::Feishu { .. } => 3,
        }
    }

    fn case(&self, kind: &'static str, note: String, headers: Vec<(String, String)>, body: Vec<u8>) -> Case {
        Case { surface: self.name, kind, path: self.path.clone(), headers, body, replay: kind == "replay", note }
    }

    fn cases(&self, rng: &mut Rng) -> Vec<Case> {
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

fn swap_ct(ct: &str) -> &'static str {
    if ct.contains("form") {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    }
}

/// JSON where a form is expected and a form where JSON is expected.
fn swap_form(v: &Value, signer: &Signer) -> Vec<u8> {
    match signer {
        Signer::Slack { form: true, .. } => v.to_string().into_bytes(),
        _ => form(v),
    }
}

/// Every path is typed strictly unless listed: none are, so far.
fn callback_strict(_surface: &str, pointer: &str) -> bool {
    !pointer.is_empty()
}

// ------------------------------------------------------------------------------------
// Slack: the real adapter against the Slack sandbox.
// ------------------------------------------------------------------------------------

const TEAM: &str = "T0ACME";
const SLACK_SECRET: &str = "signing-secret";

/// A deployment-like app (as `PlatformApp::start`) that keeps the embedded store's handle
/// for snapshots.
async fn start_app(platforms: impl FnOnce(&str) -> PlatformsConfig) -> (PlatformApp, EmbeddedStore) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let clock = Arc::new(ManualClock::at(SystemClock.now()));
    let embedded = EmbeddedStore::open_temporary().unwrap();
    let store: Arc<dyn Store> = Arc::new(embedded.clone());
    let queue = Arc::new(MemoryQueue::new(MemoryQueueConfig::default(), clock.clone()));
    let state = warroom_runtime::compose(store.clone(), queue.clone(), clock.clone(), SecretBox::from_key(&[9u8; 32]), platforms(&url)).unwrap();
    let router = routers(&state);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let tenant = fixtures::tenant_id();
    let mut t = fixtures::tenant(&tenant);
    t.settings.auto_create_min_severity = Some(Severity::Critical);
    store.put_tenant(&t).await.unwrap();
    for (id, name) in [("m_ada", "Ada"), ("m_bob", "Bob")] {
        store.put_member(&fixtures::member(&tenant, id, name)).await.unwrap();
    }
    let (admin_key, admin) = auth::new_key(&tenant, "tests", KeyScope::Admin, clock.now());
    let (intake_key, intake) = auth::new_key(&tenant, "monitoring", KeyScope::Intake, clock.now());
    store.put_api_key(&admin).await.unwrap();
    store.put_api_key(&intake).await.unwrap();
    (PlatformApp { state, store, queue, clock, tenant, admin_key, intake_key, url }, embedded)
}

fn unknown_events(rng: &mut Rng) -> String {
    format!("/im/{}/events", IntegrationId::new(format!("int_{}", rng.alnum(20))))
}

fn unknown_cards(rng: &mut Rng) -> String {
    format!("/im/{}/cards", IntegrationId::new(format!("int_{}", rng.alnum(20))))
}

#[tokio::test]
async fn slack_callbacks_refuse_the_bad_input_corpus_and_change_nothing() {
    use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};
    let sandbox = SlackSandbox::new(SandboxConfig { client_id: "1234.5678".into(), client_secret: "client-secret".into(), signing_secret: SLACK_SECRET.into(), enforce_rate_limits: false });
    let base = sandbox.serve_local().await.unwrap();
    sandbox.add_workspace(TEAM, "Acme");
    sandbox.add_user(TEAM, "U_ADA", "Ada", "ada@example.com");
    sandbox.add_user(TEAM, "U_BOB", "Bob", "bob@example.com");
    let (app, store) = start_app(|public_url| PlatformsConfig {
        public_url: public_url.to_string(),
        slack_api_base: format!("{base}/api"),
        slack_oauth_base: base.clone(),
        slack_app: Some(SlackApp { client_id: "1234.5678".into(), client_secret: Secret::new("client-secret"), signing_secret: Secret::new(SLACK_SECRET) }),
        feishu_base_override: None,
    })
    .await;

    // Install through the sandbox's OAuth, as in slack_e2e.
    let pending = Pending::SlackInstall { tenant_id: app.tenant.clone(), integration_id: None };
    let state = oauth_state::begin(&app.state, &pending).await.unwrap();
    let scopes: Vec<&str> = slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    let consent = slack::authorize_url(&base, "1234.5678", &scopes, &format!("{}/oauth/slack/callback", app.url), &state);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(3)).build().unwrap();
    assert_eq!(browser.get(consent).send().await.unwrap().status(), 200);
    let integration = app.store.find_integration_by_external(Platform::Slack, TEAM).await.unwrap().expect("installed");
    app.store.enable_war_room(&app.tenant, &integration.id).await.unwrap();
    app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let channel = inc.war_room.chat_id.clone().expect("a channel").to_string();
    let card = sandbox.channel(&channel).unwrap().messages.into_iter().find(|m| m.blocks.is_some()).expect("a card");

    // One good event and one good click, applied, so replays have something to replay.
    let events_url = format!("{}/im/slack/events", app.url);
    assert_eq!(sandbox.post_human_message(&events_url, TEAM, &channel, "U_ADA", "rolling back").await.unwrap().status(), 200);
    let envelope = sandbox.sent_events().last().cloned().unwrap();
    let click = json!({
        "type": "block_actions",
        "user": {"id": "U_ADA", "username": "Ada", "name": "Ada", "team_id": TEAM},
        "api_app_id": sandbox.app_id(), "token": sandbox.verification_token(),
        "container": {"type": "message", "message_ts": card.ts, "channel_id": channel, "is_ephemeral": false},
        "trigger_id": "1111.2222.abcdef", "team": {"id": TEAM, "domain": "acme"},
        "channel": {"id": channel, "name": "incident"}, "state": {"values": {}},
        "response_url": format!("{base}/response/not-issued"),
        "actions": [{"action_id": "warroom.ack", "block_id": "b1", "value": format!("{}|ack", inc.id), "type": "button", "action_ts": "1.2"}],
    });
    let router = routers(&app.state);
    let now = app.clock.now().secs();
    let clicks = CallbackSurface { name: "slack/interactions", path: "/im/slack/interactions".into(), unknown_path: unknown_cards, signer: Signer::Slack { secret: SLACK_SECRET.into(), form: true }, good: click, limit: CARDS_LIMIT, now };
    let body = clicks.body_of(&clicks.good);
    let good = Case { surface: clicks.name, kind: "good", path: clicks.path.clone(), headers: clicks.headers(&body), body, replay: true, note: "the good click".into() };
    corpus::run(&router, &[good]).await.expect("the good click");
    app.drain().await;
    assert_eq!(app.incident("e1").await.status, Status::Acknowledged, "the good click applied");
    let events = CallbackSurface { name: "slack/events", path: "/im/slack/events".into(), unknown_path: unknown_events, signer: Signer::Slack { secret: SLACK_SECRET.into(), form: false }, good: envelope, limit: EVENTS_LIMIT, now: app.clock.now().secs() };
    let clicks = CallbackSurface { now: app.clock.now().secs(), ..clicks };
    // Let the click's ephemeral reply (a background call) land before the snapshot.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut rng = Rng::new(0x5eed_0002);
    let corpora = [(events.name, events.cases(&mut rng)), (clicks.name, clicks.cases(&mut rng))];
    let snapshot = || async { (store.dump().await.unwrap(), format!("{:?}", sandbox.channels(TEAM)), format!("{:?}", sandbox.ephemeral_replies()), sandbox.calls().len()) };
    let before = snapshot().await;
    for (name, cases) in &corpora {
        fail_with(name, corpus::run(&router, cases).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = snapshot().await;
    assert!(app.queue.is_empty(), "the corpus queued work");
    assert!(before.0 == after.0, "the store changed:\n{}", diff(&before.0, &after.0));
    assert_eq!(before.1, after.1, "the sandbox's channels changed");
    assert_eq!(before.2, after.2, "ephemeral replies were sent");
    assert_eq!(before.3, after.3, "the sandbox was called");
}

// ------------------------------------------------------------------------------------
// Feishu: the real adapter against the Feishu sandbox.
// ------------------------------------------------------------------------------------

const APP_ID: &str = "cli_warroom_bad_input";
const ENCRYPT_KEY: &str = "encrypt-key";

#[tokio::test]
async fn feishu_callbacks_refuse_the_bad_input_corpus_and_change_nothing() {
    use warroom_sandbox::feishu::{FeishuSandbox, SandboxConfig};
    let sandbox = FeishuSandbox::new(SandboxConfig { enforce_rate_limits: false, token_ttl: Duration::from_secs(7200) });
    let scopes: Vec<&str> = feishu::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    sandbox.add_app(APP_ID, "app-secret", "verification-token", ENCRYPT_KEY, &scopes);
    sandbox.add_user("ou_ada", "Ada", Some("ada@example.com"), None);
    sandbox.add_user("ou_bob", "Bob", Some("bob@example.com"), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sandbox_router = sandbox.router();
    tokio::spawn(async move { axum::serve(listener, sandbox_router).await.unwrap() });
    let (app, store) = start_app(|public_url| PlatformsConfig { feishu_base_override: Some(base.clone()), ..PlatformsConfig::production(public_url) }).await;

    // Connect, as in feishu_e2e.
    let platforms = app.state.platforms.clone().unwrap();
    let credentials = feishu::FeishuCredentials {
        app_id: APP_ID.into(),
        app_secret: "app-secret".into(),
        verification_token: "verification-token".into(),
        encrypt_key: ENCRYPT_KEY.into(),
        base_url: base.clone(),
    };
    let client = feishu::FeishuPlatform::new(credentials.clone(), platforms.http().clone(), app.store.clone(), app.clock.clone());
    let bot = client.bot_open_id().await.unwrap();
    let granted = client.granted_scopes().await.unwrap();
    let id = IntegrationId::generate();
    let now = app.clock.now();
    let integration = Integration {
        tenant_id: app.tenant.clone(),
        credentials: platforms.seal(&id, &StoredFeishu { credentials, bot_open_id: Some(bot) }),
        id,
        platform: Platform::Feishu,
        name: "Feishu".into(),
        external_id: Some(APP_ID.into()),
        granted_scopes: granted,
        war_room_enabled: false,
        status: IntegrationStatus::Active,
        created_at: now,
        updated_at: now,
    };
    app.store.create_integration(&integration).await.unwrap();
    app.store.enable_war_room(&app.tenant, &integration.id).await.unwrap();
    app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let chat_id = inc.war_room.chat_id.clone().expect("a chat").to_string();
    let card = sandbox.chat(&chat_id).unwrap().messages.iter().find(|m| m.msg_type == "interactive").expect("a card").clone();

    // One good event and one good click, applied, so replays have something to replay.
    let events_url = format!("{}/im/{}/events", app.url, integration.id);
    let cards_url = format!("{}/im/{}/cards", app.url, integration.id);
    assert_eq!(sandbox.send_message_event(&events_url, APP_ID, &chat_id, "ou_bob", "failover done", false).await.unwrap().status(), 200);
    let message = sandbox.last_delivery().unwrap().plaintext;
    let reply = sandbox.click_card(&cards_url, APP_ID, "ou_ada", &card.message_id, json!({"incident_id": inc.id, "action": "ack"})).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let click = sandbox.last_delivery().unwrap().plaintext;
    app.drain().await;
    assert_eq!(app.incident("e1").await.status, Status::Acknowledged, "the good click applied");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let now = app.clock.now().secs();
    let signer = Signer::Feishu { key: ENCRYPT_KEY.into() };
    let events = CallbackSurface { name: "feishu/events", path: format!("/im/{}/events", integration.id), unknown_path: unknown_events, signer: signer.clone(), good: message, limit: EVENTS_LIMIT, now };
    let cards = CallbackSurface { name: "feishu/cards", path: format!("/im/{}/cards", integration.id), unknown_path: unknown_cards, signer, good: click, limit: CARDS_LIMIT, now };
    let mut rng = Rng::new(0x5eed_0003);
    let corpora = [(events.name, events.cases(&mut rng)), (cards.name, cards.cases(&mut rng))];
    let router = routers(&app.state);
    let snapshot = || async { (store.dump().await.unwrap(), sandbox.chats(), sandbox.calls().len()) };
    let before = snapshot().await;
    for (name, cases) in &corpora {
        fail_with(name, corpus::run(&router, cases).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = snapshot().await;
    assert!(app.queue.is_empty(), "the corpus queued work");
    assert!(before.0 == after.0, "the store changed:\n{}", diff(&before.0, &after.0));
    assert!(before.1 == after.1, "the sandbox's chats changed");
    assert_eq!(before.2, after.2, "the sandbox was called");
}
