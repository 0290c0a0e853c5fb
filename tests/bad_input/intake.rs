//! Intake: generic, Alertmanager, PagerDuty (fake IM platform, as in war_room_e2e).

use crate::common::corpus::{self, flip_byte, invalid_utf8, oversize, truncate, wrong_type, Case, Rng};
use crate::common::platform_app::routers;
use crate::common::{event, App};
use crate::*;
use serde_json::{json, Value};
use std::sync::Arc;
use warroom_core::*;
use warroom_queue::{MemoryQueue, MemoryQueueConfig};
use warroom_store::embedded::EmbeddedStore;

pub(crate) const PD_SECRET: &str = "pagerduty-webhook-secret";
pub(crate) const PD_OFFICIAL_BODY: &[u8] = include_bytes!("../../shared/intake/tests/fixtures/pagerduty_priority_updated.json");
pub(crate) const PD_OFFICIAL_SECRET: &[u8] = b"lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK";
pub(crate) const PD_OFFICIAL_SIGNATURE: &str = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd";
pub(crate) const AM_FIRING: &[u8] = include_bytes!("../../shared/intake/tests/fixtures/alertmanager_firing.json");

pub(crate) struct IntakeSurface {
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
                        let path =
                            format!("/hooks/{}", rng.pick(&[random, "Generic".into(), "pagerduty2".into(), "nagios".into(), format!("{}%00", self.source)]));
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
pub(crate) fn flip_alnum(rng: &mut Rng, s: &[u8]) -> Vec<u8> {
    let mut out = s.to_vec();
    let i = rng.below(out.len());
    out[i] = if out[i] == b'a' { b'b' } else { b'a' };
    out
}

/// Moves the event's time back (an older state than the one applied).
pub(crate) fn age_event(v: &mut Value, source: &str) -> String {
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
pub(crate) fn intake_strict(source: &str, pointer: &str) -> bool {
    let segs: Vec<&str> = pointer.split('/').skip(1).collect();
    match source {
        "alertmanager" => match segs.as_slice() {
            ["alerts", _, field] => matches!(*field, "startsAt" | "endsAt"),
            ["alerts", ..] => segs.len() <= 2,
            [top, ..] => {
                matches!(*top, "status" | "groupKey" | "groupLabels" | "commonLabels" | "commonAnnotations" | "externalURL" | "version" | "truncatedAlerts")
            }
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
pub(crate) async fn intake_refuses_the_bad_input_corpus_and_changes_nothing() {
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
        IntakeSurface {
            name: "intake/generic",
            source: "generic",
            good: event("g1", "triggered", 0, &["Ada"]),
            intake_key: app.intake_key.clone(),
            signed: false,
        },
        IntakeSurface {
            name: "intake/alertmanager",
            source: "alertmanager",
            good: serde_json::from_slice(AM_FIRING).unwrap(),
            intake_key: app.intake_key.clone(),
            signed: false,
        },
        IntakeSurface {
            name: "intake/pagerduty",
            source: "pagerduty",
            good: serde_json::from_slice(PD_OFFICIAL_BODY).unwrap(),
            intake_key: app.intake_key.clone(),
            signed: true,
        },
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
