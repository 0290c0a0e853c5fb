//! AI-card streaming (`PUT /v1.0/card/streaming`): documented parameter refusals, an unknown
//! card, full and incremental updates, a repeated guid, a finished card refusing more, the
//! streaming permission, and the per-API limit.

use serde_json::{json, Value};

use crate::support::start;

fn frame(track: &str, guid: &str, key: &str, content: &str, full: Value, last: bool) -> Value {
    json!({"outTrackId": track, "guid": guid, "key": key, "content": content, "isFull": full, "isFinalize": last, "isError": false})
}

#[tokio::test]
async fn an_ai_card_streams_in_full_or_by_increments_ignores_a_repeated_guid_and_refuses_more_once_finished() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "u_bob").await;
    fx.card(&t, &ocid, "ai-1", "warroom").await;
    let put = |body: Value| fx.new_api("PUT", "/v1.0/card/streaming", Some(&t), body);

    for (body, code) in [
        (frame("ai-1", "", "msgContent", "x", json!(true), false), "param.stream.guidEmpty"),
        (frame("ai-1", "g", "", "x", json!(true), false), "param.stream.keyEmpty"),
        (frame("ai-1", "g", "msgContent", "", json!(true), false), "param.stream.contentEmpty"),
        (frame("ai-1", "g", "msgContent", "x", Value::Null, false), "param.stream.isFull"),
        (frame("ai-1", "g", "msgContent", &"x".repeat(4000), json!(true), false), "param.stream.content"),
        (frame("ai-1", "g", "msgContent", "x", json!(false), false), "param.stream.isFull"),
        (frame("nope", "g", "msgContent", "x", json!(true), false), "param.stream.outTrackId"),
    ] {
        let (status, b) = put(body).await;
        assert_eq!((status, b["code"].as_str()), (400, Some(code)), "{b}");
    }
    assert!(fx.sb.card("ai-1").unwrap().streamed.is_empty(), "nothing refused was applied");

    assert_eq!(put(frame("ai-1", "g1", "msgContent", "The db", json!(true), false)).await, (200, json!({"success": true, "result": true})));
    put(frame("ai-1", "g2", "notes", "a", json!(false), false)).await;
    put(frame("ai-1", "g3", "notes", "b", json!(false), false)).await;
    assert_eq!(put(frame("ai-1", "g3", "notes", "b", json!(false), false)).await.0, 200, "a repeated guid is the same request");
    let card = fx.sb.card("ai-1").unwrap();
    assert_eq!((card.card_data["msgContent"].as_str(), card.card_data["notes"].as_str(), card.card_data["flowStatus"].as_str()), ("The db", "ab", "2"));
    assert_eq!(card.streamed.len(), 3);

    assert_eq!(put(frame("ai-1", "g4", "msgContent", "The db failed over.", json!(true), true)).await.0, 200);
    let (status, b) = put(frame("ai-1", "g5", "msgContent", "more", json!(true), false)).await;
    assert_eq!((status, b["code"].as_str()), (400, Some("param.stream.finished")), "a finished card takes no more");
    let card = fx.sb.card("ai-1").unwrap();
    assert!(card.finalized);
    assert_eq!((card.card_data["msgContent"].as_str(), card.card_data["flowStatus"].as_str()), ("The db failed over.", "3"));
}

#[tokio::test]
async fn streaming_needs_its_own_permission_and_is_held_to_the_per_api_limit() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "u_bob").await;
    fx.card(&t, &ocid, "ai-2", "warroom").await;
    let mut statuses = Vec::new();
    for n in 0..25 {
        let (status, b) =
            fx.new_api("PUT", "/v1.0/card/streaming", Some(&t), frame("ai-2", &format!("g{n}"), "msgContent", &format!("step {n}"), json!(true), false)).await;
        statuses.push((status, b["code"].as_str().unwrap_or_default().to_string()));
    }
    let limited = statuses.iter().filter(|(s, c)| *s == 403 && c == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi").count();
    assert_eq!((statuses.iter().filter(|(s, _)| *s == 200).count(), limited), (20, 5), "20 a second on the standard edition: {statuses:?}");

    let granted: Vec<&str> = warroom_sandbox::dingtalk::WAR_ROOM_PERMISSIONS.iter().copied().filter(|p| *p != "Card.Streaming.Write").collect();
    fx.sb.set_permissions(crate::support::APP, &granted);
    fx.sb.advance(std::time::Duration::from_secs(2));
    let (status, b) = fx.new_api("PUT", "/v1.0/card/streaming", Some(&t), frame("ai-2", "gx", "msgContent", "x", json!(true), false)).await;
    assert_eq!((status, b["code"].as_str()), (403, Some("Forbidden.AccessDenied.AccessTokenPermissionDenied")), "{b}");
    assert!(b.to_string().contains("Card.Streaming.Write"), "names the permission: {b}");
}
