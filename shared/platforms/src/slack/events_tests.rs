use super::*;
use warroom_core::Timestamp;

fn callback(event: Value) -> Vec<u8> {
    json!({
        "token": "XXYYZZ", "team_id": "T123ABC456", "api_app_id": "A123ABC456",
        "event": event, "type": "event_callback", "event_id": "Ev123ABC456", "event_time": 123456789,
        "authorizations": [{"team_id": "T123ABC456", "user_id": "U0BOT", "is_bot": true, "is_enterprise_install": false}],
    })
    .to_string()
    .into_bytes()
}

fn event_of(event: Value) -> ImEvent {
    let d = decode(&callback(event), None).unwrap();
    assert_eq!(d.delivery_id.as_deref(), Some("Ev123ABC456"));
    assert_eq!(d.installation.as_deref(), Some("T123ABC456"));
    d.event
}

#[test]
fn url_verification_answers_the_challenge_as_json() {
    let body = br#"{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}"#;
    let d = decode(body, None).unwrap();
    let ImEvent::Handshake(r) = d.event else { panic!("{:?}", d.event) };
    assert_eq!((r.status, r.content_type), (200, "application/json"));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v, json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}));
}

#[test]
fn an_app_mention_arrives_as_a_message_to_the_bot_without_the_mention_markup() {
    let e = event_of(json!({
        "type": "app_mention", "user": "U061F7AUR", "text": "<@U0BOT> ack please", "ts": "1515449522.000016",
        "channel": "C0LAN2Q65", "event_ts": "1515449522000016",
    }));
    let ImEvent::Message { chat, message, mentions_bot } = e else { panic!("{e:?}") };
    assert!(mentions_bot);
    assert_eq!(chat.as_str(), "C0LAN2Q65");
    assert_eq!(message.text, "ack please");
    assert_eq!(message.author.as_str(), "U061F7AUR");
    assert_eq!(message.id, "1515449522.000016");
    assert_eq!(message.at, Timestamp(1_515_449_522_000));
}

#[test]
fn mention_markup_with_a_label_or_an_unknown_bot_id_is_stripped_too() {
    assert_eq!(strip_mentions("hey <@U0BOT|warroom> summarize", &["U0BOT"]), "hey  summarize");
    assert_eq!(strip_mentions("<@UOTHER> resolve", &[]), "resolve");
    assert_eq!(strip_mentions("ask <@UHUMAN> and <@U0BOT>", &["U0BOT"]), "ask <@UHUMAN> and");
    // The codec's configured bot id wins over the authorizations list.
    let d = decode(&callback(json!({"type": "app_mention", "user": "U1", "text": "<@UCONF> hi", "ts": "1.0", "channel": "C1"})), Some("UCONF")).unwrap();
    assert!(matches!(d.event, ImEvent::Message { message, .. } if message.text == "hi"));
}

#[test]
fn channel_messages_by_people_are_messages_and_bot_or_system_ones_are_ignored() {
    let human = event_of(
        json!({"type": "message", "channel": "C1", "user": "U1", "text": " hello ", "ts": "1663966382.046509", "channel_type": "channel", "client_msg_id": "x"}),
    );
    assert!(matches!(&human, ImEvent::Message { mentions_bot: false, message, .. } if message.text == "hello"), "{human:?}");
    let private = event_of(json!({"type": "message", "channel": "G1", "user": "U1", "text": "hi", "ts": "1.0", "channel_type": "group"}));
    assert!(matches!(private, ImEvent::Message { .. }));
    for ignored in [
        json!({"type": "message", "subtype": "channel_join", "channel": "C1", "user": "U1", "text": "<@U1> has joined", "ts": "1.0"}),
        json!({"type": "message", "channel": "C1", "bot_id": "B1", "user": "U2", "text": "card", "ts": "1.0"}),
        json!({"type": "message", "channel": "C1", "user": "U0BOT", "text": "mine", "ts": "1.0"}),
        json!({"type": "message", "channel": "D1", "user": "U1", "text": "dm", "ts": "1.0", "channel_type": "im"}),
        json!({"type": "app_mention", "channel": "C1", "bot_id": "B9", "user": "U9", "text": "<@U0BOT> hi", "ts": "1.0"}),
    ] {
        assert!(matches!(event_of(ignored.clone()), ImEvent::Ignored(_)), "{ignored}");
    }
}

#[test]
fn joins_archives_deletions_and_uninstalls_map_to_their_events() {
    let joined = event_of(
        json!({"type": "member_joined_channel", "user": "W123ABC456", "channel": "C123ABC456", "channel_type": "C", "team": "T123ABC456", "inviter": "U123456789"}),
    );
    assert_eq!(joined, ImEvent::MemberJoined { chat: "C123ABC456".into(), user: "W123ABC456".into() });
    for kind in ["channel_archive", "channel_deleted", "group_archive", "group_deleted"] {
        assert_eq!(event_of(json!({"type": kind, "channel": "C9", "user": "U1"})), ImEvent::ChatGone { chat: "C9".into() }, "{kind}");
    }
    assert_eq!(event_of(json!({"type": "app_uninstalled"})), ImEvent::AppRevoked);
    assert_eq!(event_of(json!({"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": ["U0BOT"]}})), ImEvent::AppRevoked);
    assert!(matches!(event_of(json!({"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}})), ImEvent::Ignored(_)));
    assert!(matches!(event_of(json!({"type": "reaction_added"})), ImEvent::Ignored(_)));
}

#[test]
fn broken_bodies_are_malformed_and_other_callback_types_ignored() {
    assert!(matches!(decode(b"not json", None), Err(CallbackError::Malformed(_))));
    assert!(matches!(decode(br#"{"type":"event_callback"}"#, None), Err(CallbackError::Malformed(_))));
    assert!(matches!(decode(&callback(json!({"type": "member_joined_channel", "user": "U1"})), None), Err(CallbackError::Malformed(_))));
    let limited = br#"{"token":"t","type":"app_rate_limited","team_id":"T1","minute_rate_limited":1518467820,"api_app_id":"A1"}"#;
    assert!(matches!(decode(limited, None).unwrap().event, ImEvent::Ignored(_)));
}

/// Found by fuzzing (fuzz/seeds/slack_events/regression-ts-overflow): a `ts` whose seconds
/// overflow i64 milliseconds panicked in debug builds and wrapped in release builds.
#[test]
fn a_message_ts_too_large_for_milliseconds_is_malformed_not_a_panic() {
    for ts in ["15154449522000016", "9223372036854775.808"] {
        let body = callback(json!({"type": "app_mention", "user": "U1", "text": "<@U0BOT> ack", "ts": ts, "channel": "C1"}));
        assert!(matches!(decode(&body, None), Err(CallbackError::Malformed(_))), "{ts}");
    }
}
