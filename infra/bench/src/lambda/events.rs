//! The event each function gets, as Lambda delivers it: API Gateway HTTP API payload 2.0
//! for the HTTP functions (the signed Slack and encrypted Feishu callbacks are the load
//! bench's own, `load::callbacks`), an SQS batch for the worker; and what a correct answer
//! looks like.

use super::seed::Seeded;
use super::Function;
use crate::load::callbacks::{self, Press, Shot};
use crate::load::setup::{Button, Room, Rooms};
use crate::load::Kind;
use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};
use warroom_core::{Job, JobKind};
use warroom_local::sandboxes::PEOPLE;

/// An HTTP request before it is wrapped for API Gateway.
struct Request {
    method: &'static str,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// One event and how to read its answer.
pub struct Event {
    pub payload: String,
    pub expect: Expect,
}

#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// This HTTP status.
    Status(u16),
    /// 200 with a Feishu toast in the body.
    Toast,
    /// An SQS batch answer with no failed item.
    NoBatchFailures,
}

fn millis() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()
}

/// `run` tells this bench run apart from others on the same table; `seq` is unique in it,
/// so no callback is dropped as a redelivery and no incident is a repeat.
pub fn build(function: Function, seeded: &Seeded, run: u32, seq: u64) -> Event {
    let http = |request: Request, expect: Expect| Event { payload: api_gateway(&request, seq), expect };
    match function {
        Function::ImEvents => http(callback(Kind::SlackMessage, seeded, run, seq), Expect::Status(200)),
        Function::CardActions => http(callback(Kind::FeishuClick, seeded, run, seq), Expect::Toast),
        Function::IncidentIntake => {
            // The same delivery every time (the seeded incident, as first fired): the key is
            // checked, the event parsed and matched to its incident, and found to change
            // nothing. A new incident per call would measure moto instead: its
            // TransactWriteItems deep-copies every table first, so a table grown by a
            // thousand incidents stalls each transaction for seconds.
            let body = json!({
                "id": seeded.intake_source_id, "title": "Disk almost full on db-1",
                "description": "fired by the Lambda bench", "severity": "warning", "status": "triggered",
                "time": seeded.intake_time, "responders": [{"name": PEOPLE[0].name, "email": PEOPLE[0].email}],
                "labels": {"service": "db", "source": "bench"},
            });
            let headers = vec![("content-type".into(), "application/json".into()), ("authorization".into(), format!("Bearer {}", seeded.intake_key))];
            http(Request { method: "POST", path: "/hooks/generic".into(), query: String::new(), headers, body: body.to_string() }, Expect::Status(202))
        }
        Function::Api => {
            let headers = vec![("authorization".into(), format!("Bearer {}", seeded.admin_key))];
            http(Request { method: "GET", path: "/api/v1/incidents".into(), query: "limit=20".into(), headers, body: String::new() }, Expect::Status(200))
        }
        Function::OauthCallback => {
            // The Feishu web app's homepage: finds the integration, signs an OAuth state
            // and sends the browser to Feishu's authorize page.
            let path = format!("/im/{}/web", seeded.feishu_integration);
            http(Request { method: "GET", path, query: String::new(), headers: vec![], body: String::new() }, Expect::Status(302))
        }
        Function::Worker => Event { payload: sqs_batch(seeded, run, seq), expect: Expect::NoBatchFailures },
    }
}

/// A Slack message (in a channel that is no war room: verified, de-duplicated, recorded)
/// or a Feishu click on the seeded room's Acknowledge button, by Ada.
fn callback(kind: Kind, seeded: &Seeded, run: u32, seq: u64) -> Request {
    let button =
        Button { action_id: "ack".into(), label: "Acknowledge".into(), value: json!({"incident_id": seeded.incident_id.to_string(), "action": "ack"}) };
    let (chat_id, person) =
        if kind == Kind::FeishuClick { (seeded.chat_id.clone(), PEOPLE[0].feishu_user) } else { ("C0BENCHLMB".to_string(), PEOPLE[0].slack_user) };
    let room = Room {
        incident_id: seeded.incident_id.to_string(),
        chat_id,
        private: true,
        card_id: seeded.card_id.clone(),
        ack: button.clone(),
        resolve: button,
        people: vec![person.to_string()],
    };
    let rooms = Rooms {
        slack: vec![room.clone()],
        feishu: vec![room.clone()],
        slack_bot: seeded.slack_bot.clone(),
        feishu_bot: seeded.feishu_bot.clone(),
        feishu_integration: seeded.feishu_integration.to_string(),
    };
    let shot = Shot { seq, run, room: &room, person, press: Press::Ack };
    let prepared = callbacks::build(kind, &shot, &rooms, "http://127.0.0.1:9");
    Request {
        method: "POST",
        path: prepared.path,
        query: String::new(),
        headers: prepared.headers.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        body: String::from_utf8_lossy(&prepared.body).into_owned(),
    }
}

/// API Gateway HTTP API, payload format 2.0 (`$default` route and stage).
fn api_gateway(r: &Request, seq: u64) -> String {
    let mut headers: Map<String, Value> = r.headers.iter().map(|(k, v)| (k.to_lowercase(), Value::String(v.clone()))).collect();
    headers.insert("host".into(), "bench.execute-api.us-east-1.amazonaws.com".into());
    headers.insert("user-agent".into(), "warroom-lambda-bench".into());
    headers.insert("x-forwarded-proto".into(), "https".into());
    headers.insert("content-length".into(), r.body.len().to_string().into());
    let query: Map<String, Value> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(&r.query).unwrap_or_default().into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    let now = millis();
    let mut event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": r.path, "rawQueryString": r.query, "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench", "requestId": format!("bench-{seq}"), "routeKey": "$default", "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": now as u64,
            "http": {"method": r.method, "path": r.path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "warroom-lambda-bench"},
        },
        "isBase64Encoded": false,
    });
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !r.body.is_empty() {
        event["body"] = Value::String(r.body.clone());
    }
    event.to_string()
}

/// One reconcile job of the seeded incident, as SQS hands it to the worker.
fn sqs_batch(seeded: &Seeded, run: u32, seq: u64) -> String {
    let job = Job::new(seeded.tenant_id.clone(), JobKind::Reconcile { incident_id: seeded.incident_id.clone() }, format!("bench-{run:08x}-{seq}"));
    let now = millis().to_string();
    json!({"Records": [{
        "messageId": format!("{run:08x}-0000-4000-8000-{seq:012x}"),
        "receiptHandle": format!("bench-receipt-{run:08x}-{seq}"),
        "body": job.to_json(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": now, "SenderId": "AIDABENCH",
            "ApproximateFirstReceiveTimestamp": now, "SequenceNumber": format!("{seq:020}"),
            "MessageGroupId": job.group(), "MessageDeduplicationId": job.dedup_id()},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:lambda-bench.fifo", "awsRegion": "us-east-1",
    }]})
    .to_string()
}

/// `Err` with what was wrong when the answer is not the one expected.
pub fn check(expect: Expect, answer: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(answer);
    let value: Value = serde_json::from_slice(answer).map_err(|e| format!("the answer is not JSON ({e}): {}", excerpt(&text)))?;
    match expect {
        Expect::NoBatchFailures => match value["batchItemFailures"].as_array() {
            Some(failures) if failures.is_empty() => Ok(()),
            _ => Err(format!("the batch reported failed items: {}", excerpt(&text))),
        },
        Expect::Status(want) => {
            let status = value["statusCode"].as_u64().unwrap_or(0);
            if status == u64::from(want) {
                Ok(())
            } else {
                Err(format!("HTTP {status}, expected {want}: {}", excerpt(&text)))
            }
        }
        Expect::Toast => {
            let status = value["statusCode"].as_u64().unwrap_or(0);
            let body: Value = value["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
            if status == 200 && body["toast"]["content"].is_string() {
                Ok(())
            } else {
                Err(format!("HTTP {status} without a toast: {}", excerpt(&text)))
            }
        }
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(300).collect()
}
