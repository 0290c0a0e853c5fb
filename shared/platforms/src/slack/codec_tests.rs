use super::*;
use crate::slack::test_stub::{Reply, Stub};
use crate::slack::verify::sign;
use serde_json::json;
use warroom_core::Timestamp;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const NOW: i64 = 1_763_715_600;

fn codec() -> SlackCodec {
    SlackCodec::new(Secret::new(SECRET), reqwest::Client::new())
}

/// Runs `f` with a request signed as Slack would sign `body` at `signed_at`.
fn with_request<T>(body: &[u8], signed_at: i64, f: impl FnOnce(&RawRequest<'_>) -> T) -> T {
    let ts = signed_at.to_string();
    let sig = sign(SECRET.as_bytes(), &ts, body);
    let header = move |name: &str| match name {
        "x-slack-request-timestamp" => Some(ts.clone()),
        "x-slack-signature" => Some(sig.clone()),
        _ => None,
    };
    let request = RawRequest { method: "POST", query: "", header: &header, body, now: Timestamp::from_secs(NOW) };
    f(&request)
}

fn click_body(payload: serde_json::Value) -> Vec<u8> {
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap().into_bytes()
}

fn block_actions(action_id: &str, value: &str) -> serde_json::Value {
    json!({
        "type": "block_actions",
        "user": {"id": "U01AZ88AQQ4", "username": "phoebe", "name": "phoebe", "team_id": "T01B5M3VC1X"},
        "api_app_id": "A01BGTV24LQ",
        "container": {"type": "message", "message_ts": "1600857119.015400", "channel_id": "C01ACC2E8S3", "is_ephemeral": false},
        "trigger_id": "1388105719492.1379717998065.9bc163894734c1f415a2c504e81dec91",
        "team": {"id": "T01B5M3VC1X", "domain": "acme"},
        "channel": {"id": "C01ACC2E8S3", "name": "inc-42"},
        "response_url": "https://hooks.slack.com/actions/T01B5M3VC1X/1/secretpart",
        "actions": [
            {"type": "button", "block_id": "x", "action_id": "other.app", "value": "nope", "action_ts": "1.2"},
            {"type": "button", "block_id": "y", "action_id": action_id, "value": value, "action_ts": "1.3"},
        ],
    })
}

#[test]
fn a_signed_button_click_decodes_to_a_click_with_its_reply_url() {
    let body = click_body(block_actions("warroom.snooze:30", "inc_42|snooze:30"));
    let click = with_request(&body, NOW, |r| codec().decode_click(r)).unwrap();
    assert_eq!(click.user.as_str(), "U01AZ88AQQ4");
    assert_eq!(click.incident_id.as_str(), "inc_42");
    assert_eq!(click.action, CardAction::Snooze { minutes: 30 });
    assert_eq!(click.chat_id.as_ref().map(|c| c.as_str()), Some("C01ACC2E8S3"));
    assert_eq!(click.delivery_id.as_deref(), Some("1388105719492.1379717998065.9bc163894734c1f415a2c504e81dec91"));
    assert_eq!(click.installation.as_deref(), Some("T01B5M3VC1X"));
    assert_eq!(click.reply_to.as_deref(), Some("https://hooks.slack.com/actions/T01B5M3VC1X/1/secretpart"));
}

#[test]
fn forged_stale_and_foreign_clicks_are_refused() {
    let body = click_body(block_actions("warroom.ack", "inc_42|ack"));
    // Tampered after signing.
    let header = |name: &str| match name {
        "x-slack-request-timestamp" => Some(NOW.to_string()),
        "x-slack-signature" => Some(sign(b"another-secret", &NOW.to_string(), &body)),
        _ => None,
    };
    let forged = RawRequest { method: "POST", query: "", header: &header, body: &body, now: Timestamp::from_secs(NOW) };
    assert_eq!(codec().decode_click(&forged), Err(CallbackError::BadSignature));
    assert_eq!(with_request(&body, NOW - 301, |r| codec().decode_click(r)), Err(CallbackError::Stale));

    let view = click_body(json!({"type": "view_submission", "user": {"id": "U1"}}));
    assert!(matches!(with_request(&view, NOW, |r| codec().decode_click(r)), Err(CallbackError::Unsupported(_))));
    let not_ours = click_body(json!({"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "x", "value": "y"}]}));
    assert!(matches!(with_request(&not_ours, NOW, |r| codec().decode_click(r)), Err(CallbackError::Unsupported(_))));
    let bad_snooze = click_body(block_actions("warroom.snooze:7", "inc_42|snooze:7"));
    assert!(matches!(with_request(&bad_snooze, NOW, |r| codec().decode_click(r)), Err(CallbackError::Unsupported(_))));
    let no_incident = click_body(block_actions("warroom.ack", "ack"));
    assert!(matches!(with_request(&no_incident, NOW, |r| codec().decode_click(r)), Err(CallbackError::Malformed(_))));
    assert!(matches!(with_request(b"payload=%7Bnot", NOW, |r| codec().decode_click(r)), Err(CallbackError::Malformed(_))));
}

#[test]
fn events_are_verified_before_decoding_and_the_handshake_echoes_the_challenge() {
    let body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let d = with_request(body, NOW, |r| codec().decode_event(r)).unwrap();
    assert!(matches!(d.event, ImEvent::Handshake(ref r) if r.body == br#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#));
    assert_eq!(with_request(body, NOW + 600, |r| codec().decode_event(r)), Err(CallbackError::Stale));
    let unsigned = |_: &str| None;
    let r = RawRequest { method: "POST", query: "", header: &unsigned, body, now: Timestamp::from_secs(NOW) };
    assert_eq!(codec().decode_event(&r), Err(CallbackError::BadSignature));
}

#[test]
fn ssl_checks_are_ignored_without_a_signature_and_acks_are_empty_200s() {
    let unsigned = |_: &str| None;
    let body = b"token=abc&ssl_check=1";
    let r = RawRequest { method: "POST", query: "", header: &unsigned, body, now: Timestamp::from_secs(NOW) };
    assert!(matches!(codec().decode_event(&r).unwrap().event, ImEvent::Ignored(_)));
    for response in [codec().event_ack(), codec().click_reply("Acknowledged", None)] {
        assert_eq!((response.status, response.body.len()), (200, 0));
    }
}

#[test]
fn the_codec_debug_hides_the_signing_secret() {
    assert!(!format!("{:?}", codec()).contains(SECRET));
}

#[tokio::test]
async fn after_click_posts_an_ephemeral_reply_to_the_response_url() {
    let stub = Stub::start(|_| Reply::with(200, vec![], "ok")).await;
    let click = Click {
        user: "U1".into(),
        incident_id: "inc_1".into(),
        action: CardAction::Acknowledge,
        chat_id: None,
        delivery_id: None,
        installation: None,
        reply_to: Some(format!("{}/actions/T1/1/secret", stub.base)),
    };
    codec().after_click(&click, "Acknowledged by you").await;
    let calls = stub.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, "/actions/T1/1/secret");
    assert_eq!(calls[0].json(), json!({"response_type": "ephemeral", "replace_original": false, "text": "Acknowledged by you"}));
    // An unreachable URL is logged, never a panic or an error for the caller.
    let gone = Click { reply_to: Some("http://127.0.0.1:9/x".into()), ..click };
    codec().after_click(&gone, "x").await;
}
