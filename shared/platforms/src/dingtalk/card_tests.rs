use super::*;
use warroom_core::incident::Status;
use warroom_core::time::Timestamp;

fn card(status: Status, actions: Vec<CardAction>) -> Card {
    Card {
        incident_id: "inc_1".into(),
        title: "DB down".into(),
        status,
        severity: Severity::Critical,
        snoozed_until: None,
        fields: vec![("Description".into(), "disk <b>full</b>".into())],
        actions,
        url: Some("https://oncall.example/inc_1".into()),
    }
}

fn layout(map: &Map<String, Value>) -> Value {
    serde_json::from_str(map["sys_full_json_obj"].as_str().unwrap()).unwrap()
}

#[test]
fn every_card_param_is_a_string() {
    let map = card_param_map(&card(Status::Triggered, vec![CardAction::Acknowledge]));
    assert!(map.values().all(Value::is_string), "{map:?}");
    assert_eq!(map["msgTitle"], "DB down");
    assert_eq!(map["flowStatus"], "3");
    assert_eq!((map["status"].as_str(), map["severity"].as_str(), map["incident_id"].as_str()), (Some("triggered"), Some("Critical"), Some("inc_1")));
}

#[test]
fn buttons_carry_the_action_and_the_incident_and_call_back() {
    let actions = vec![CardAction::Acknowledge, CardAction::Resolve, CardAction::Snooze { minutes: 30 }];
    let map = card_param_map(&card(Status::Triggered, actions));
    let buttons = layout(&map)["msgButtons"].as_array().unwrap().clone();
    assert_eq!(buttons.len(), 4, "three actions and the link");
    assert_eq!(buttons[0], json!({"text": "Acknowledge", "color": "blue", "id": "ack|inc_1", "request": true}));
    assert_eq!(buttons[2]["id"], "snooze:30|inc_1");
    assert_eq!(buttons[3]["url"], "https://oncall.example/inc_1");
    assert!(buttons[3].get("request").is_none(), "the link calls nothing back");
    let neutral: Value = serde_json::from_str(map["buttons"].as_str().unwrap()).unwrap();
    assert_eq!(neutral[1], json!({"id": "resolve|inc_1", "text": "Resolve"}));
}

#[test]
fn a_resolved_card_has_no_callback_buttons() {
    let map = card_param_map(&card(Status::Resolved, vec![]));
    let buttons = layout(&map)["msgButtons"].as_array().unwrap().clone();
    assert!(buttons.iter().all(|b| b.get("request").is_none()));
}

#[test]
fn alert_text_is_escaped_and_long_text_fits_in_one_kilobyte() {
    let map = card_param_map(&card(Status::Triggered, vec![]));
    let body = map["msgContent"].as_str().unwrap();
    assert!(body.contains("disk &lt;b&gt;full&lt;/b&gt;") && body.ends_with("Incident inc_1"), "{body}");
    let mut long = card(Status::Triggered, vec![]);
    long.fields = vec![("Description".into(), "警".repeat(2000))];
    long.title = "t".repeat(3000);
    let map = card_param_map(&long);
    for key in ["msgContent", "msgTitle", "markdown", "title"] {
        let v = map[key].as_str().unwrap();
        assert!(v.len() <= 1000 && v.ends_with('…'), "{key}: {}", v.len());
    }
}

#[test]
fn a_snoozed_open_card_says_so() {
    let mut c = card(Status::Acknowledged, vec![]);
    c.snoozed_until = Some(Timestamp(1_763_715_600_000));
    let map = card_param_map(&c);
    assert_eq!(map["status"], "Snoozed");
    assert!(map["msgContent"].as_str().unwrap().contains("Snoozed until"));
}

#[test]
fn delivery_targets_the_group_space_with_the_group_robot_and_http_callbacks() {
    let body = deliver_body("tpl", "wr_abc", "route", "robot", "cidXYZ==", &card(Status::Triggered, vec![]));
    assert_eq!(body["openSpaceId"], "dtv1.card//IM_GROUP.cidXYZ==");
    assert_eq!(body["imGroupOpenDeliverModel"], json!({"robotCode": "robot"}));
    assert_eq!((body["callbackType"].as_str(), body["callbackRouteKey"].as_str()), (Some("HTTP"), Some("route")));
    assert_eq!((body["cardTemplateId"].as_str(), body["outTrackId"].as_str()), (Some("tpl"), Some("wr_abc")));
    assert_eq!(body["userIdType"], 1);
    assert!(body["cardData"]["cardParamMap"]["msgTitle"].is_string());
    let update = update_body("wr_abc", &card(Status::Resolved, vec![]));
    assert_eq!(update["outTrackId"], "wr_abc");
    assert_eq!(update["cardUpdateOptions"], json!({"updateCardDataByKey": true}));
}

#[test]
fn the_click_answer_updates_the_card_and_tells_the_clicker() {
    let c = card(Status::Acknowledged, vec![CardAction::Resolve]);
    let with = click_answer("Acknowledged", Some(&c));
    assert_eq!(with["cardData"]["cardParamMap"], Value::Object(card_param_map(&c)));
    assert_eq!(with["userPrivateData"]["cardParamMap"]["notice"], "Acknowledged");
    let without = click_answer("Link your account first", None);
    assert!(without.get("cardData").is_none());
    assert_eq!(without["userPrivateData"]["cardParamMap"]["notice"], "Link your account first");
}
