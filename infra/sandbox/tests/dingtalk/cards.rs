//! Robot messages, cards updated in place, and what a disbanded group answers.

use serde_json::json;

use crate::support::{start, APP, GROUP_ROBOT};

#[tokio::test]
async fn a_robot_message_needs_the_groups_robot_and_a_msg_param_that_is_a_json_string() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "u_bob").await;
    let send = |robot: &str, param: serde_json::Value| json!({"robotCode": robot, "openConversationId": ocid, "msgKey": "sampleMarkdown", "msgParam": param});
    let (status, b) = fx.new_api("POST", "/v1.0/robot/groupMessages/send", Some(&t), send(GROUP_ROBOT, json!({"title": "t", "text": "x"}))).await;
    assert_eq!((status, b["code"].as_str()), (400, Some("InvalidParameter")), "msgParam must be a string");
    let param = json!({"title": "INC-1", "text": "**db down**"}).to_string();
    let (status, b) = fx.new_api("POST", "/v1.0/robot/groupMessages/send", Some(&t), send(APP, json!(param))).await;
    assert_eq!((status, b["code"].as_str()), (400, Some("invalidParameter.robotCode.notExsit")), "the app robot is not in a scene group");
    let (status, b) = fx.new_api("POST", "/v1.0/robot/groupMessages/send", Some(&t), send("grb_other", json!(param))).await;
    assert_eq!((status, b["code"].as_str()), (400, Some("invalidParameter.robotCode.auth")));
    let (status, b) = fx.new_api("POST", "/v1.0/robot/groupMessages/send", Some(&t), send(GROUP_ROBOT, json!(param))).await;
    assert_eq!(status, 200);
    let messages = fx.sb.group(&ocid).unwrap().messages;
    assert_eq!(messages.len(), 1);
    assert_eq!((messages[0].id.as_str(), messages[0].text.as_str()), (b["processQueryKey"].as_str().unwrap(), "INC-1\n**db down**"));
    assert!(messages[0].from_robot);
}

#[tokio::test]
async fn a_card_delivered_to_a_group_is_updated_in_place_by_out_track_id() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "u_bob").await;
    let register = json!({"callbackRouteKey": "warroom", "callbackUrl": "http://127.0.0.1:9/cards", "apiSecret": "s"});
    let (status, _) = fx.new_api("POST", "/v1.0/card/callbacks/register", Some(&t), register.clone()).await;
    assert_eq!(status, 200);
    let (status, b) = fx.new_api("POST", "/v1.0/card/callbacks/register", Some(&t), register).await;
    assert_eq!((status, b["code"].as_str()), (500, Some("param.callbackRouteKeyExist")));

    let created = fx.card(&t, &ocid, "inc-1-card", "warroom").await;
    assert_eq!(created["result"]["outTrackId"], "inc-1-card");
    assert_eq!(created["result"]["deliverResults"][0]["spaceId"], json!(ocid));
    assert_eq!(created["result"]["deliverResults"][0]["success"], json!(true));

    let update = |data: serde_json::Value, by_key: bool| json!({"outTrackId": "inc-1-card", "cardData": {"cardParamMap": data}, "cardUpdateOptions": {"updateCardDataByKey": by_key}});
    let (status, b) = fx.new_api("PUT", "/v1.0/card/instances", Some(&t), update(json!({"status": "acknowledged"}), true)).await;
    assert_eq!((status, b), (200, json!({"success": true, "result": true})));
    let card = fx.sb.card("inc-1-card").unwrap();
    assert_eq!(card.card_data.get("title").map(String::as_str), Some("DB down"), "by key: the other keys stay");
    assert_eq!((card.card_data["status"].as_str(), card.updated_count), ("acknowledged", 1));
    fx.new_api("PUT", "/v1.0/card/instances", Some(&t), update(json!({"status": "resolved"}), false)).await;
    let group = fx.sb.group(&ocid).unwrap();
    assert_eq!(group.cards.len(), 1, "updated in place, not re-sent");
    assert_eq!(group.cards[0].card_data.len(), 1, "without by-key the map is replaced");
    let (status, b) = fx.new_api("PUT", "/v1.0/card/instances", Some(&t), update(json!({"status": 3}), true)).await;
    assert_eq!((status, b["code"].as_str()), (400, Some("InvalidParameter")), "card params are strings");

    let wrong_robot = json!({"cardTemplateId": "x.schema", "outTrackId": "card-2", "openSpaceId": format!("dtv1.card//IM_GROUP.{ocid}"),
                             "imGroupOpenDeliverModel": {"robotCode": APP}});
    let (_, b) = fx.new_api("POST", "/v1.0/card/instances/createAndDeliver", Some(&t), wrong_robot).await;
    assert_eq!(b["result"]["deliverResults"][0]["success"], json!(false), "a scene group takes its group robot's robotCode");
    assert_eq!(fx.sb.card("card-2").unwrap().group, None);
}

#[tokio::test]
async fn after_a_disband_every_call_on_the_group_is_answered_chat_gone() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "u_bob").await;
    fx.card(&t, &ocid, "gone-card", "none").await;
    let by_ocid = json!({"openConversationId": ocid});
    let (status, b) = fx.new_api("POST", "/v1.0/im/chat/scenegroup/disband", Some(&t), by_ocid.clone()).await;
    assert_eq!((status, b), (200, json!({"success": true})));
    assert!(fx.sb.group(&ocid).unwrap().disbanded);

    let gone = |(status, b): (u16, serde_json::Value)| (status, b["code"].as_str().unwrap_or_default().to_string());
    let expected = (400, "invalid.openConversationId".to_string());
    let param = json!({"content": "late"}).to_string();
    let send = json!({"robotCode": GROUP_ROBOT, "openConversationId": ocid, "msgKey": "sampleText", "msgParam": param});
    assert_eq!(gone(fx.new_api("POST", "/v1.0/robot/groupMessages/send", Some(&t), send).await), expected);
    let add = json!({"open_conversation_id": ocid, "user_ids": "u_cy"});
    assert_eq!(gone(fx.new_api("POST", "/v1.0/im/sceneGroup/member/add", Some(&t), add).await), expected);
    assert_eq!(gone(fx.new_api("POST", "/v1.0/im/sceneGroups/query", Some(&t), by_ocid.clone()).await), expected);
    assert_eq!(gone(fx.new_api("POST", "/v1.0/im/chat/scenegroup/disband", Some(&t), by_ocid).await), expected);
    let update = json!({"outTrackId": "gone-card", "cardData": {"cardParamMap": {"status": "resolved"}}});
    assert_eq!(gone(fx.new_api("PUT", "/v1.0/card/instances", Some(&t), update).await), expected);
    assert_eq!(fx.sb.card("gone-card").unwrap().updated_count, 0);
}

#[tokio::test]
async fn a_card_created_first_is_only_in_the_group_once_delivered_and_only_to_an_im_group_space() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "").await;
    let create = json!({"cardTemplateId": "x.schema", "outTrackId": "two-step", "cardData": {"cardParamMap": {"status": "triggered"}}});
    let (status, b) = fx.new_api("POST", "/v1.0/card/instances", Some(&t), create).await;
    assert_eq!((status, b["success"].as_bool()), (200, Some(true)));
    assert!(fx.sb.group(&ocid).unwrap().cards.is_empty());
    let deliver = |space: String| json!({"outTrackId": "two-step", "openSpaceId": space, "imGroupOpenDeliverModel": {"robotCode": GROUP_ROBOT}});
    let (status, b) = fx.new_api("POST", "/v1.0/card/instances/deliver", Some(&t), deliver("dtv1.card//IM_ROBOT.u_bob".into())).await;
    assert_eq!((status, b["code"].as_str()), (400, Some("InvalidParameter")));
    let (status, b) = fx.new_api("POST", "/v1.0/card/instances/deliver", Some(&t), deliver(format!("dtv1.card//IM_GROUP.{ocid}"))).await;
    assert_eq!((status, b["result"][0]["success"].as_bool()), (200, Some(true)));
    assert_eq!(fx.sb.group(&ocid).unwrap().cards[0].card_data["status"], "triggered");
    let unknown = json!({"outTrackId": "never-created", "cardData": {"cardParamMap": {}}});
    assert_eq!(fx.new_api("PUT", "/v1.0/card/instances", Some(&t), unknown).await.0, 400);
}

#[tokio::test]
async fn a_robot_send_held_before_it_applies_and_aborted_never_reaches_the_group() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "").await;
    fx.sb.holds().arm("POST /v1.0/robot/groupMessages/send", warroom_sandbox::HoldPoint::Before).unwrap();
    let send = json!({"robotCode": GROUP_ROBOT, "openConversationId": ocid, "msgKey": "sampleText", "msgParam": "{\"content\":\"held\"}"});
    let call = tokio::spawn({
        let (http, url, t) = (fx.http.clone(), format!("{}/v1.0/robot/groupMessages/send", fx.base), t.clone());
        async move { http.post(url).header("x-acs-dingtalk-access-token", t).json(&send).send().await.unwrap().status().as_u16() }
    });
    while !fx.sb.holds().status().is_some_and(|s| s.holding) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    fx.sb.holds().release(warroom_sandbox::Release::Abort).unwrap();
    assert_eq!(call.await.unwrap(), 503);
    assert!(fx.sb.group(&ocid).unwrap().messages.is_empty());
}
