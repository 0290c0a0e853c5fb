//! Tokens, scene groups, permissions, QPS and the monthly quota.

use std::time::Duration;

use serde_json::json;
use warroom_sandbox::dingtalk::Edition;

use crate::support::{app, start, APP, SECRET, TEMPLATE};

#[tokio::test]
async fn tokens_from_either_generation_are_the_same_and_expire_into_each_generations_invalid_token_answer() {
    let fx = start(false).await;
    let (status, bad) = fx.new_api("POST", "/v1.0/oauth2/accessToken", None, json!({"appKey": APP, "appSecret": "nope"})).await;
    assert_eq!((status, bad["code"].as_str()), (400, Some("invalidClientIdOrSecret")));
    assert!(bad["requestid"].is_string());
    let resp = fx.http.get(format!("{}/gettoken?appkey={APP}&appsecret=nope", fx.base)).send().await.unwrap();
    assert_eq!((resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap()["errcode"].as_i64()), (200, Some(40096)));

    let (_, new) = fx.new_api("POST", "/v1.0/oauth2/accessToken", None, json!({"appKey": APP, "appSecret": SECRET})).await;
    assert_eq!(new["expireIn"].as_u64(), Some(7200));
    let old: serde_json::Value = fx.http.get(format!("{}/gettoken?appkey={APP}&appsecret={SECRET}", fx.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!((old["errcode"].as_i64(), old["expires_in"].as_u64()), (Some(0), Some(7200)));
    assert_eq!(old["access_token"], new["accessToken"], "one token per app while it is valid");
    let t = new["accessToken"].as_str().unwrap();

    let info = json!({"openConversationId": "cidNope"});
    let (status, b) = fx.new_api("POST", "/v1.0/im/sceneGroups/query", None, info.clone()).await;
    assert_eq!((status, b["code"].as_str()), (400, Some("AuthenticationFailed.MissingParameter")));
    let (_, b) = fx.old_api("/topapi/v2/user/getbymobile", None, json!({"mobile": "13022222222"})).await;
    assert_eq!((b["errcode"].as_i64(), b["sub_code"].as_str()), (Some(88), Some("40000")));
    let (_, b) = fx.old_api("/topapi/v2/user/getbymobile", Some(t), json!({"mobile": "13022222222"})).await;
    assert_eq!(b["result"]["userid"], "u_bob");

    fx.sb.advance(Duration::from_secs(7201));
    let (status, b) = fx.new_api("POST", "/v1.0/im/sceneGroups/query", Some(t), info).await;
    assert_eq!((status, b["code"].as_str(), b["message"].as_str()), (400, Some("InvalidAuthentication"), Some("不合法的access_token")));
    let (status, b) = fx.old_api("/topapi/v2/user/getbymobile", Some(t), json!({"mobile": "13022222222"})).await;
    assert_eq!((status, b["errcode"].as_i64(), b["sub_code"].as_str()), (200, Some(88), Some("40014")));
    assert!(!fx.sb.calls().iter().any(|c| c.query.contains(SECRET) || c.query.contains(t)), "credentials are redacted from the call log");
}

#[tokio::test]
async fn a_scene_group_created_twice_with_one_uuid_is_one_group_and_a_foreign_template_is_refused() {
    let fx = start(true).await;
    let t = fx.token().await;
    let a = fx.group(&t, "inc-1", "u_bob").await;
    let b = fx.group(&t, "inc-1", "u_bob,u_cy").await;
    assert_eq!(a, b);
    let c = fx.group(&t, "inc-2", "u_bob").await;
    assert_ne!(a, c);
    assert!(a.starts_with("cid"));
    let groups = fx.sb.groups();
    assert_eq!(groups.len(), 2);
    assert_eq!((groups[0].members.clone(), groups[0].robot_code.as_str()), (vec!["u_ada".to_string(), "u_bob".to_string()], "grb_dingappkey01"));

    let body = json!({"title": "x", "template_id": "tpl_someone_else", "owner_user_id": "u_ada"});
    let (status, old) = fx.old_api("/topapi/im/chat/scenegroup/create", Some(&t), body).await;
    assert_eq!((status, old["errcode"].as_i64()), (200, Some(665036)));
    let body = json!({"title": "INC-3", "template_id": TEMPLATE, "owner_user_id": "u_ada", "user_ids": ["u_bob"]});
    let (status, b) = fx.new_api("POST", "/v1.0/im/sceneGroup/create", Some(&t), body).await;
    assert_eq!((status, b["code"].as_str()), (400, Some("InvalidParameter")), "user_ids is a comma-separated string, not an array");
    let body = json!({"title": "INC-3", "template_id": TEMPLATE, "owner_user_id": "u_ada", "user_ids": "u_cy"});
    let (_, old) = fx.old_api("/topapi/im/chat/scenegroup/create", Some(&t), body).await;
    assert_eq!((old["errcode"].as_i64(), old["success"].as_bool()), (Some(0), Some(true)));
    assert!(old["result"]["open_conversation_id"].as_str().unwrap().starts_with("cid"));
    assert!(old["result"]["chat_id"].as_str().unwrap().starts_with("chat"));
}

#[tokio::test]
async fn adding_members_adds_the_known_users_skips_an_unknown_one_and_the_member_query_shows_who_is_in() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "").await;
    let add = json!({"open_conversation_id": ocid, "user_ids": "u_bob,u_ghost,u_cy"});
    let (status, b) = fx.new_api("POST", "/v1.0/im/sceneGroup/member/add", Some(&t), add).await;
    assert_eq!((status, b), (200, json!({"success": true})));
    let query = json!({"openConversationId": ocid, "cursor": "0", "size": 2});
    let (_, page1) = fx.new_api("POST", "/v1.0/im/sceneGroups/members/query", Some(&t), query).await;
    assert_eq!(page1["memberUserIds"], json!(["u_ada", "u_bob"]));
    assert_eq!(page1["hasMore"], json!(true));
    let query = json!({"openConversationId": ocid, "cursor": page1["nextCursor"], "size": 2});
    let (_, page2) = fx.new_api("POST", "/v1.0/im/sceneGroups/members/query", Some(&t), query).await;
    assert_eq!((page2["memberUserIds"].clone(), page2["hasMore"].as_bool()), (json!(["u_cy"]), Some(false)), "u_ghost was skipped");
    let remove = json!({"open_conversation_id": ocid, "user_ids": "u_bob,u_ada"});
    fx.new_api("POST", "/v1.0/im/sceneGroup/member/delete", Some(&t), remove).await;
    assert_eq!(fx.sb.group(&ocid).unwrap().members, vec!["u_ada".to_string(), "u_cy".to_string()], "the owner stays");
}

#[tokio::test]
async fn a_missing_permission_point_is_refused_403_naming_it_in_required_scopes_and_by_the_old_api_with_sub_code_60011() {
    let fx = start(true).await;
    fx.sb.set_permissions(APP, &["qyapi_chat_manage"]);
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "").await;
    let send = json!({"robotCode": "grb_dingappkey01", "openConversationId": ocid, "msgKey": "sampleText", "msgParam": "{\"content\":\"hi\"}"});
    let (status, b) = fx.new_api("POST", "/v1.0/robot/groupMessages/send", Some(&t), send.clone()).await;
    assert_eq!((status, b["code"].as_str()), (403, Some("Forbidden.AccessDenied.AccessTokenPermissionDenied")));
    assert_eq!(b["accessdenieddetail"]["requiredScopes"], json!(["qyapi_robot_sendmsg"]));
    assert!(b["message"].as_str().unwrap().contains("应用尚未开通所需的权限：[qyapi_robot_sendmsg]"));
    let (_, old) = fx.old_api("/topapi/v2/user/getbymobile", Some(&t), json!({"mobile": "13022222222"})).await;
    assert_eq!((old["errcode"].as_i64(), old["sub_code"].as_str()), (Some(88), Some("60011")));
    assert!(old["errmsg"].as_str().unwrap().contains("qyapi_get_member_by_mobile"));
    assert!(fx.sb.group(&ocid).unwrap().messages.is_empty());
    fx.sb.set_permissions(APP, &["qyapi_chat_manage", "qyapi_robot_sendmsg"]);
    let (status, b) = fx.new_api("POST", "/v1.0/robot/groupMessages/send", Some(&t), send).await;
    assert_eq!(status, 200, "a new grant works with the same token: {b}");
    assert!(b["processQueryKey"].is_string());
}

#[tokio::test]
async fn the_21st_call_to_one_api_within_a_second_on_the_free_edition_is_throttled_but_another_api_is_not() {
    let fx = start(true).await;
    fx.sb.freeze_clock();
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "").await;
    let info = json!({"openConversationId": ocid});
    for i in 0..20 {
        let (status, _) = fx.new_api("POST", "/v1.0/im/sceneGroups/query", Some(&t), info.clone()).await;
        assert_eq!(status, 200, "call {i}");
    }
    let (status, b) = fx.new_api("POST", "/v1.0/im/sceneGroups/query", Some(&t), info.clone()).await;
    assert_eq!((status, b["code"].as_str()), (403, Some("Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")));
    assert!(b["message"].as_str().unwrap().starts_with("请求过于频繁，限制将在 20"));
    let (status, _) = fx.new_api("POST", "/v1.0/im/sceneGroups/members/query", Some(&t), info.clone()).await;
    assert_eq!(status, 200, "the limit is per API");
    for _ in 0..20 {
        fx.old_api("/topapi/v2/user/getbymobile", Some(&t), json!({"mobile": "13022222222"})).await;
    }
    let (_, old) = fx.old_api("/topapi/v2/user/getbymobile", Some(&t), json!({"mobile": "13022222222"})).await;
    assert_eq!(old["errcode"].as_i64(), Some(90018));
    assert_eq!(fx.sb.rate_limited_count(), 2);
    fx.sb.advance(Duration::from_secs(1));
    assert_eq!(fx.new_api("POST", "/v1.0/im/sceneGroups/query", Some(&t), info).await.0, 200);

    fx.sb.add_app(app("dingpro", "pro-secret", Edition::Professional));
    let (_, pro) = fx.new_api("POST", "/v1.0/oauth2/accessToken", None, json!({"appKey": "dingpro", "appSecret": "pro-secret"})).await;
    let pro = pro["accessToken"].as_str().unwrap();
    let mut codes = Vec::new();
    for _ in 0..41 {
        // An unknown group: answered 400 "chat gone", but admitted and counted by the limiter.
        let (_, b) = fx.new_api("POST", "/v1.0/im/sceneGroups/query", Some(pro), json!({"openConversationId": "cidNone"})).await;
        codes.push(b["code"].as_str().unwrap_or_default().to_string());
    }
    let throttled: Vec<usize> = codes.iter().enumerate().filter(|(_, c)| *c == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi").map(|(i, _)| i).collect();
    assert_eq!(throttled, vec![40], "professional edition: 40 QPS");
}

#[tokio::test]
async fn metered_calls_are_counted_per_month_and_the_org_is_refused_once_its_10000_are_spent() {
    let fx = start(true).await;
    let t = fx.token().await;
    let ocid = fx.group(&t, "", "").await;
    let info = json!({"openConversationId": ocid});
    fx.new_api("POST", "/v1.0/im/sceneGroups/query", Some(&t), info.clone()).await;
    fx.old_api("/topapi/v2/user/getbymobile", Some(&t), json!({"mobile": "13022222222"})).await;
    fx.token().await;
    assert_eq!(fx.sb.calls_this_month(APP), 2, "create and query count; contacts and token calls are exempt");

    fx.sb.set_org_calls_this_month(APP, 9_999);
    assert_eq!(fx.new_api("POST", "/v1.0/im/sceneGroups/query", Some(&t), info.clone()).await.0, 200, "the 10,000th call");
    let (status, b) = fx.new_api("POST", "/v1.0/im/sceneGroups/query", Some(&t), info.clone()).await;
    assert_eq!((status, b["code"].as_str()), (403, Some("Forbidden.AccessDenied.ApiCountLimitForOrg")));
    assert!(b["message"].as_str().unwrap().contains("额度:10000次"));
    let body = json!({"title": "x", "template_id": TEMPLATE, "owner_user_id": "u_ada"});
    let (_, old) = fx.old_api("/topapi/im/chat/scenegroup/create", Some(&t), body).await;
    assert_eq!(old["errcode"].as_i64(), Some(90020));
    let (_, b) = fx.old_api("/topapi/v2/user/getbymobile", Some(&t), json!({"mobile": "13022222222"})).await;
    assert_eq!(b["errcode"].as_i64(), Some(0), "contacts are not metered");

    fx.sb.advance(Duration::from_secs(32 * 24 * 3600));
    let t = fx.token().await;
    assert_eq!(fx.new_api("POST", "/v1.0/im/sceneGroups/query", Some(&t), info).await.0, 200, "a new month");
    assert_eq!(fx.sb.calls_this_month(APP), 1);
}
