//! Tokens, app chats, look-ups, trusted IPs and the per-API limit.

use std::time::Duration;

use serde_json::json;
use warroom_sandbox::wecom::{codes, AppConfig, SandboxConfig};

use crate::support::{start, start_with, AGENT, CORP, SECRET};

#[tokio::test]
async fn a_token_needs_the_right_corp_and_secret_and_an_expired_or_revoked_one_is_refused_until_refetched() {
    let fx = start().await;
    let b = fx.get(&format!("/cgi-bin/gettoken?corpid=wwnope&corpsecret={SECRET}")).await;
    assert_eq!(b["errcode"], codes::INVALID_CORPID);
    let b = fx.get(&format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret=wrong")).await;
    assert_eq!(b["errcode"], codes::INVALID_SECRET);
    assert!(b["errmsg"].as_str().unwrap().contains("hint: ["), "{b}");
    let b = fx.get(&format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}")).await;
    assert_eq!((b["errcode"].as_i64(), b["errmsg"].as_str(), b["expires_in"].as_u64()), (Some(0), Some("ok"), Some(7200)));
    let t = b["access_token"].as_str().unwrap().to_string();
    assert_eq!(fx.token().await, t, "the valid token is returned again");

    let lookup = json!({"mobile": "13800000002"});
    assert_eq!(fx.post("/cgi-bin/user/getuserid", &t, lookup.clone()).await["userid"], "u_bob");
    assert_eq!(fx.post("/cgi-bin/user/getuserid", "", lookup.clone()).await["errcode"], codes::MISSING_TOKEN);
    fx.sb.expire_tokens(AGENT);
    assert_eq!(fx.post("/cgi-bin/user/getuserid", &t, lookup.clone()).await["errcode"], codes::TOKEN_EXPIRED);
    let fresh = fx.token().await;
    assert_ne!(fresh, t);
    assert_eq!(fx.post("/cgi-bin/user/getuserid", &fresh, lookup.clone()).await["errcode"], 0);
    fx.sb.revoke_tokens(AGENT);
    assert_eq!(fx.post("/cgi-bin/user/getuserid", &fresh, lookup.clone()).await["errcode"], codes::INVALID_TOKEN);
    let later = fx.token().await;
    fx.sb.advance(Duration::from_secs(7201));
    assert_eq!(fx.post("/cgi-bin/user/getuserid", &later, lookup).await["errcode"], codes::TOKEN_EXPIRED, "7200 s lifetime");
    assert!(!fx.sb.calls().iter().any(|c| c.query.contains(SECRET) || c.query.contains(&later)), "credentials are redacted");
}

#[tokio::test]
async fn an_appchat_needs_two_known_members_and_a_unique_valid_chatid_and_the_daily_cap_holds_until_the_next_day() {
    let fx = start_with(SandboxConfig { chat_creates_per_day: 2, ..SandboxConfig::default() }).await;
    fx.sb.freeze_clock();
    let t = fx.token().await;
    assert_eq!(fx.chat(&t, "", &["u_ada"]).await["errcode"], codes::BAD_MEMBER_COUNT, "2-member minimum");
    assert_eq!(fx.chat(&t, "", &["u_ada", "ghost"]).await["errcode"], codes::INVALID_MEMBER);
    assert_eq!(fx.chat(&t, "inc-1", &["u_ada", "u_bob"]).await["errcode"], codes::INVALID_CHATID, "[0-9a-zA-Z] only");
    assert_eq!(fx.chat(&t, &"a".repeat(33), &["u_ada", "u_bob"]).await["errcode"], codes::INVALID_CHATID, "≤32 characters");
    let owner_outside = json!({"name": "x", "owner": "u_cy", "userlist": ["u_ada", "u_bob"]});
    assert_eq!(fx.post("/cgi-bin/appchat/create", &t, owner_outside).await["errcode"], codes::OWNER_NOT_MEMBER);
    let b = fx.chat(&t, "inc1", &["u_ada", "u_bob"]).await;
    assert_eq!((b["errcode"].as_i64(), b["chatid"].as_str()), (Some(0), Some("inc1")));
    assert_eq!(fx.chat(&t, "inc1", &["u_ada", "u_cy"]).await["errcode"], codes::CHATID_EXISTS);
    let generated = fx.chat(&t, "", &["u_ada", "u_bob"]).await;
    let id = generated["chatid"].as_str().unwrap();
    assert!(id.len() <= 32 && id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
    assert_eq!(fx.chat(&t, "inc3", &["u_ada", "u_bob"]).await["errcode"], codes::FREQ_LIMIT, "2 per day configured");
    fx.sb.advance(Duration::from_secs(86_400));
    let t = fx.token().await;
    assert_eq!(fx.chat(&t, "inc3", &["u_ada", "u_bob"]).await["errcode"], 0);
    assert_eq!(fx.sb.chats().len(), 3);
}

#[tokio::test]
async fn update_get_and_send_work_on_the_apps_own_chats_only_and_a_template_card_is_refused_with_40008() {
    let fx = start_with(SandboxConfig { chat_changes_per_hour: 2, ..SandboxConfig::default() }).await;
    fx.sb.add_app(AppConfig::new(CORP, 1_000_003, "other-secret"));
    let t = fx.token().await;
    fx.chat(&t, "inc1", &["u_ada", "u_bob"]).await;
    let update = json!({"chatid": "inc1", "name": "INC-1 [mitigated]", "add_user_list": ["u_cy"], "del_user_list": ["u_bob"]});
    assert_eq!(fx.post("/cgi-bin/appchat/update", &t, update).await["errcode"], 0);
    let info = fx.get(&format!("/cgi-bin/appchat/get?access_token={t}&chatid=inc1")).await;
    assert_eq!(info["chat_info"], json!({"chatid": "inc1", "name": "INC-1 [mitigated]", "owner": "u_ada", "userlist": ["u_ada", "u_cy"], "chat_type": 0}));
    let bad = json!({"chatid": "inc1", "del_user_list": ["u_dee"]});
    assert_eq!(fx.post("/cgi-bin/appchat/update", &t, bad).await["errcode"], codes::INVALID_MEMBER, "not a member");
    let again = json!({"chatid": "inc1", "name": "INC-1 [resolved]"});
    assert_eq!(fx.post("/cgi-bin/appchat/update", &t, again.clone()).await["errcode"], 0);
    assert_eq!(fx.post("/cgi-bin/appchat/update", &t, again).await["errcode"], codes::FREQ_LIMIT, "2 changes per hour configured");

    let text = json!({"chatid": "inc1", "msgtype": "text", "text": {"content": "<@u_cy> please look"}, "safe": 0});
    assert_eq!(fx.post("/cgi-bin/appchat/send", &t, text).await["errcode"], 0);
    let md = json!({"chatid": "inc1", "msgtype": "markdown", "markdown": {"content": "**INC-1** resolved"}});
    assert_eq!(fx.post("/cgi-bin/appchat/send", &t, md).await["errcode"], 0);
    let card = json!({"chatid": "inc1", "msgtype": "template_card", "template_card": {"card_type": "button_interaction"}});
    assert_eq!(fx.post("/cgi-bin/appchat/send", &t, card).await["errcode"], codes::INVALID_MSGTYPE);
    let long = json!({"chatid": "inc1", "msgtype": "text", "text": {"content": "x".repeat(2049)}});
    assert_eq!(fx.post("/cgi-bin/appchat/send", &t, long).await["errcode"], codes::CONTENT_TOO_LONG);
    let nowhere = json!({"chatid": "nope", "msgtype": "text", "text": {"content": "hi"}});
    assert_eq!(fx.post("/cgi-bin/appchat/send", &t, nowhere).await["errcode"], codes::CHAT_NOT_FOUND);
    let chat = fx.sb.chat("inc1").unwrap();
    let texts: Vec<(&str, &str)> = chat.messages.iter().map(|m| (m.msgtype.as_str(), m.text.as_str())).collect();
    assert_eq!(texts, vec![("text", "<@u_cy> please look"), ("markdown", "**INC-1** resolved")]);

    let other = fx.get(&format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret=other-secret")).await["access_token"].as_str().unwrap().to_string();
    assert_eq!(fx.get(&format!("/cgi-bin/appchat/get?access_token={other}&chatid=inc1")).await["errcode"], codes::NOT_OWN_CHAT);
}

#[tokio::test]
async fn look_ups_find_by_mobile_or_mailbox_and_answer_46004_for_no_match_and_60011_outside_the_visibility() {
    let fx = start().await;
    let t = fx.token().await;
    assert_eq!(fx.post("/cgi-bin/user/getuserid", &t, json!({"mobile": "13800000001"})).await["userid"], "u_ada");
    assert_eq!(fx.post("/cgi-bin/user/getuserid", &t, json!({"mobile": "13900000000"})).await["errcode"], codes::USER_NOT_FOUND);
    let by_mail = |email: &str, email_type: i64| json!({"email": email, "email_type": email_type});
    assert_eq!(fx.post("/cgi-bin/user/get_userid_by_email", &t, json!({"email": "CY@corp.example"})).await["userid"], "u_cy", "type 1 by default");
    fx.sb.set_personal_email("u_bob", "bob@home.example");
    assert_eq!(fx.post("/cgi-bin/user/get_userid_by_email", &t, by_mail("bob@home.example", 2)).await["userid"], "u_bob");
    assert_eq!(fx.post("/cgi-bin/user/get_userid_by_email", &t, by_mail("bob@home.example", 1)).await["errcode"], codes::USER_NOT_FOUND);
    fx.sb.set_user_visible("u_ada", false);
    let b = fx.post("/cgi-bin/user/getuserid", &t, json!({"mobile": "13800000001"})).await;
    assert_eq!(b["errcode"], codes::NO_PRIVILEGE);
    assert!(b.get("userid").is_none());
}

#[tokio::test]
async fn an_untrusted_caller_gets_60020_naming_its_ip_while_gettoken_still_works() {
    let fx = start().await;
    fx.sb.set_trusted_ips(AGENT, Some(&["203.0.113.7"]));
    let t = fx.token().await;
    let b = fx.post("/cgi-bin/user/getuserid", &t, json!({"mobile": "13800000001"})).await;
    assert_eq!(b["errcode"], codes::UNTRUSTED_IP);
    let msg = b["errmsg"].as_str().unwrap();
    assert!(msg.starts_with("not allow to access from your ip, hint: [") && msg.contains("from ip: 127.0.0.1"), "{msg}");
    fx.sb.set_seen_ip(Some("203.0.113.7"));
    assert_eq!(fx.post("/cgi-bin/user/getuserid", &t, json!({"mobile": "13800000001"})).await["userid"], "u_ada", "trusted now");
    fx.sb.set_seen_ip(Some("198.51.100.1"));
    let b = fx.post("/cgi-bin/appchat/send", &t, json!({})).await;
    assert!(b["errmsg"].as_str().unwrap().contains("from ip: 198.51.100.1"), "{b}");
    assert_eq!(fx.sb.calls().last().unwrap().ip, "198.51.100.1");
}

#[tokio::test]
async fn a_low_per_api_limit_answers_45009_per_api_until_the_minute_passes() {
    let fx = start_with(SandboxConfig { api_per_minute: 3, ..SandboxConfig::default() }).await;
    fx.sb.freeze_clock();
    let t = fx.token().await;
    let lookup = json!({"mobile": "13800000001"});
    for _ in 0..3 {
        assert_eq!(fx.post("/cgi-bin/user/getuserid", &t, lookup.clone()).await["errcode"], 0);
    }
    let b = fx.post("/cgi-bin/user/getuserid", &t, lookup.clone()).await;
    assert_eq!(b["errcode"], codes::FREQ_LIMIT);
    assert!(b["errmsg"].as_str().unwrap().starts_with("api freq out of limit"));
    assert_eq!(fx.post("/cgi-bin/user/get_userid_by_email", &t, json!({"email": "cy@corp.example"})).await["errcode"], 0, "another API");
    fx.sb.advance(Duration::from_secs(60));
    assert_eq!(fx.post("/cgi-bin/user/getuserid", &t, lookup).await["errcode"], 0);
    assert_eq!(fx.sb.calls_with(codes::FREQ_LIMIT), 1);
}
