//! The answers DingTalk gives, and what each must mean to the engine.

use super::*;

const NOW: Timestamp = Timestamp(1_790_000_000_000);

fn sent(status: u16, body: &str) -> Sent {
    Sent { status, body: body.as_bytes().to_vec() }
}

fn err(gen: Gen, status: u16, body: &str) -> ImError {
    match classify(&sent(status, body), gen, "qyapi_chat_manage", NOW) {
        Err(Failure::Im(e)) => e,
        other => panic!("expected an ImError for {body}, got {other:?}"),
    }
}

fn secs(n: u64) -> ImError {
    ImError::RateLimited { retry_after: Duration::from_secs(n) }
}

#[test]
fn successes_yield_the_body_in_either_generation() {
    let old = classify(&sent(200, r#"{"errcode":0,"errmsg":"ok","result":{"userid":"u1"}}"#), Gen::Old, "", NOW).unwrap();
    assert_eq!(old["result"]["userid"], "u1");
    let new = classify(&sent(200, r#"{"open_conversation_id":"cid1"}"#), Gen::New, "", NOW).unwrap();
    assert_eq!(new["open_conversation_id"], "cid1");
    assert_eq!(classify(&sent(200, ""), Gen::New, "", NOW).unwrap(), Value::Null, "an empty 2xx is fine");
}

#[test]
fn the_error_table_maps_every_answer_to_its_im_error() {
    let table: &[(Gen, u16, &str, ImError)] = &[
        (Gen::Old, 200, r#"{"errcode":90002,"errmsg":"api global limit"}"#, secs(1)),
        (Gen::Old, 200, r#"{"errcode":90018,"errmsg":"app qps limit"}"#, secs(1)),
        (Gen::Old, 200, r#"{"errcode":90019,"errmsg":"isv qps limit"}"#, secs(1)),
        (Gen::New, 403, r#"{"code":"Forbidden.AccessDenied.QpsLimitForApi","message":"请求过于频繁"}"#, secs(1)),
        (Gen::New, 403, r#"{"code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi","message":"too fast"}"#, secs(1)),
        (Gen::New, 429, "", secs(1)),
        (Gen::Old, 200, r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#, secs(600)),
        (Gen::New, 200, r#"{"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"x"}"#, secs(300)),
        (Gen::Old, 403, "<html><body>punish deny x5</body></html>", secs(300)),
        (Gen::New, 503, r#"{"code":"ServiceUnavailable","message":"busy"}"#, ImError::Transient("DingTalk answered HTTP 503".into())),
        (Gen::Old, 200, r#"{"errcode":-1,"errmsg":"系统繁忙"}"#, ImError::Transient("DingTalk is busy (-1: 系统繁忙)".into())),
        (Gen::Old, 200, r#"{"errcode":660023,"errmsg":"群不存在"}"#, ImError::ChatGone),
        (Gen::New, 400, r#"{"code":"invalid.openConversationId","message":"bad"}"#, ImError::ChatGone),
        (Gen::Old, 200, r#"{"errcode":60121,"errmsg":"找不到该用户"}"#, ImError::UserNotFound),
        (Gen::Old, 200, r#"{"errcode":40035,"errmsg":"不合法的参数"}"#, ImError::Rejected { code: "40035".into(), message: "不合法的参数".into() }),
        (
            Gen::New,
            400,
            r#"{"code":"invalidParameter.robotCode.notExsit","message":"检查机器人是否在群内"}"#,
            ImError::Rejected { code: "invalidParameter.robotCode.notExsit".into(), message: "检查机器人是否在群内".into() },
        ),
        (Gen::New, 404, "<html>not found</html>", ImError::Rejected { code: "http_404".into(), message: "no DingTalk error envelope".into() }),
    ];
    for (gen, status, body, expected) in table {
        assert_eq!(&err(*gen, *status, body), expected, "{body}");
    }
}

#[test]
fn the_monthly_quota_is_refused_for_the_user_to_see_not_retried() {
    for (gen, status, body) in [
        (Gen::Old, 200, r#"{"errcode":90020,"errmsg":"您的企业本月api调用量已超过限制"}"#),
        (Gen::New, 403, r#"{"code":"Forbidden.AccessDenied.ApiCountLimitForOrg","message":"额度:10000次"}"#),
    ] {
        let e = err(gen, status, body);
        assert!(matches!(&e, ImError::Rejected { message, .. } if message.contains("monthly")), "{e:?}");
        assert!(!e.is_retryable());
    }
}

#[test]
fn a_qps_refusal_that_names_its_end_waits_until_then() {
    // 2026-09-21 12:00:04 in UTC+8 is 04:00:04 UTC; NOW is 10 s earlier.
    let end = time::macros::datetime!(2026-09-21 04:00:04 UTC).unix_timestamp() * 1000;
    let now = Timestamp(end - 10_000);
    let body = r#"{"code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi","message":"请求过于频繁，限制将在 2026-09-21 12:00:04 结束"}"#;
    assert_eq!(classify(&sent(403, body), Gen::New, "", now), Err(Failure::Im(secs(10))));
    // A time already past still waits the minimum second.
    assert_eq!(classify(&sent(403, body), Gen::New, "", Timestamp(end + 5_000)), Err(Failure::Im(secs(1))));
}

#[test]
fn invalid_tokens_ask_for_one_refresh() {
    for (gen, status, body) in [
        (Gen::Old, 200, r#"{"errcode":40014,"errmsg":"不合法的access_token"}"#),
        (Gen::Old, 200, r#"{"errcode":42001,"errmsg":"access_token超时"}"#),
        (Gen::New, 401, r#"{"code":"InvalidAuthentication","message":"不合法的access_token"}"#),
        (Gen::New, 401, ""),
    ] {
        assert!(matches!(classify(&sent(status, body), gen, "", NOW), Err(Failure::TokenRejected(_))), "{body}");
    }
}

#[test]
fn missing_permissions_name_the_required_scope() {
    let v1 = r#"{"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied","requestid":"r","message":"没有调用该接口的权限","accessdenieddetail":{"requiredScopes":["Contact.User.Read","qyapi_get_member_by_mobile"]}}"#;
    assert_eq!(err(Gen::New, 403, v1), ImError::MissingPermission { scope: "qyapi_get_member_by_mobile".into() }, "one Warroom asks for wins");
    let other = r#"{"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied","accessdenieddetail":{"requiredScopes":["Contact.User.Read"]}}"#;
    assert_eq!(err(Gen::New, 403, other), ImError::MissingPermission { scope: "Contact.User.Read".into() });
    let unnamed = r#"{"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied","message":"denied"}"#;
    assert_eq!(err(Gen::New, 403, unnamed), ImError::MissingPermission { scope: "qyapi_chat_manage".into() }, "the endpoint's own");
    let old = r#"{"errcode":88,"errmsg":"ding talk error[subcode=60011,submsg=应用尚未开通所需的权限：[qyapi_get_member_by_mobile]]"}"#;
    assert_eq!(err(Gen::Old, 200, old), ImError::MissingPermission { scope: "qyapi_get_member_by_mobile".into() });
    let plain = r#"{"errcode":60011,"errmsg":"没有调用该接口的权限"}"#;
    assert_eq!(err(Gen::Old, 200, plain), ImError::MissingPermission { scope: "qyapi_chat_manage".into() });
}

#[test]
fn errors_never_carry_the_token_or_the_secret() {
    // Errors are built from codes and DingTalk's messages only; a token-bearing URL never
    // reaches them (reqwest errors are stripped with `without_url`).
    let e = err(Gen::Old, 502, "{}");
    assert!(!e.to_string().contains("access_token="));
}
