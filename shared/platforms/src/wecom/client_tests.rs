//! The answers WeCom gives, and what each must mean to the engine.

use super::*;

fn sent(status: u16, body: &str) -> Sent {
    Sent { status, body: body.as_bytes().to_vec() }
}

fn err(status: u16, body: &str) -> ImError {
    match interpret(&sent(status, body), None) {
        Err(Failure::Im(e)) => e,
        other => panic!("expected an ImError for {body}, got {other:?}"),
    }
}

fn secs(n: u64) -> ImError {
    ImError::RateLimited { retry_after: Duration::from_secs(n) }
}

fn rejected(code: &str, message: &str) -> ImError {
    ImError::Rejected { code: code.into(), message: message.into() }
}

const FROM_IP: &str =
    "not allow to access from your ip, hint: [1700000000_1_abc], from ip: 203.0.113.7, more info at https://open.work.weixin.qq.com/devtool/query?e=60020";

#[test]
fn successes_yield_the_body() {
    let v = interpret(&sent(200, r#"{"errcode":0,"errmsg":"ok","chatid":"c1"}"#), None).unwrap();
    assert_eq!(v["chatid"], "c1");
    // `aibot/response` and a few others may answer without errcode.
    assert_eq!(interpret(&sent(200, r#"{"ok":true}"#), None).unwrap()["ok"], true);
}

#[test]
fn the_error_table_maps_every_answer_to_its_im_error() {
    let table: &[(u16, String, ImError)] = &[
        (200, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#.into(), secs(60)),
        (200, r#"{"errcode":45009,"errmsg":"reach max api daily quota limit"}"#.into(), secs(3600)),
        (200, r#"{"errcode":45033,"errmsg":"api concurrent out of limit"}"#.into(), secs(1)),
        (200, r#"{"errcode":-1,"errmsg":"system busy"}"#.into(), ImError::Transient("WeCom is busy (-1)".into())),
        (
            200,
            format!(r#"{{"errcode":60020,"errmsg":"{FROM_IP}"}}"#),
            ImError::MissingPermission { scope: "trusted_ip: add 203.0.113.7 to the app's 企业可信IP list".into() },
        ),
        (
            200,
            r#"{"errcode":60011,"errmsg":"no privilege to access/modify contact/party/agent , hint: [x], from ip: 9.95.1.184"}"#.into(),
            ImError::MissingPermission { scope: "app_visibility_root_department (60011)".into() },
        ),
        (200, r#"{"errcode":48002,"errmsg":"api forbidden"}"#.into(), ImError::MissingPermission { scope: "app_visibility_root_department (48002)".into() }),
        (200, r#"{"errcode":46004,"errmsg":"user no exist"}"#.into(), ImError::UserNotFound),
        (200, r#"{"errcode":60111,"errmsg":"userid not found"}"#.into(), ImError::UserNotFound),
        (200, r#"{"errcode":40001,"errmsg":"invalid credential"}"#.into(), ImError::Unauthorized("WeCom refused the app credentials (40001)".into())),
        (200, r#"{"errcode":40013,"errmsg":"invalid corpid"}"#.into(), ImError::Unauthorized("WeCom refused the app credentials (40013)".into())),
        (200, r#"{"errcode":40091,"errmsg":"secret is invalid"}"#.into(), ImError::Unauthorized("WeCom refused the app credentials (40091)".into())),
        (200, r#"{"errcode":86003,"errmsg":"chat not exist"}"#.into(), rejected("86003", "chat not exist")),
        (200, r#"{"errcode":86216,"errmsg":"chat member count invalid"}"#.into(), rejected("86216", "chat member count invalid")),
        (200, r#"{"errcode":40008,"errmsg":"invalid message type"}"#.into(), rejected("40008", "invalid message type")),
        (200, r#"{"errcode":12345678}"#.into(), rejected("12345678", "")),
        (502, "<html>bad gateway</html>".into(), ImError::Transient("WeCom answered HTTP 502".into())),
        (429, String::new(), secs(60)),
        (200, "not json".into(), ImError::Transient("unreadable answer from WeCom".into())),
        (404, "<html>not found</html>".into(), rejected("http_404", "no WeCom error envelope")),
    ];
    for (status, body, expected) in table {
        assert_eq!(&err(*status, body), expected, "{body}");
    }
}

#[test]
fn rate_limits_and_busy_answers_are_retryable_the_rest_is_not() {
    for code in [45009, 45033, -1] {
        let Failure::Im(e) = classify(code, "") else { panic!("{code}") };
        assert!(e.is_retryable(), "{code}");
    }
    assert_eq!(classify(45009, "").into_im().retry_after(), Some(Duration::from_secs(60)), "a per-minute block by default");
    for code in [60020, 60011, 46004, 40001, 86001] {
        assert!(!classify(code, "").into_im().is_retryable(), "{code}");
    }
}

#[test]
fn expired_tokens_ask_for_one_refresh() {
    for code in [40014, 42001, 42007, 42009] {
        assert!(matches!(classify(code, "access_token expired"), Failure::TokenRejected(_)), "{code}");
    }
}

#[test]
fn a_refused_permission_names_the_endpoints_setup_item() {
    assert_eq!(classify_for(60011, "", Some("contact_read")).into_im(), ImError::MissingPermission { scope: "contact_read (60011)".into() });
    let untrusted = classify_for(60020, "not allow to access from your ip", Some("contact_read")).into_im();
    assert_eq!(untrusted, ImError::MissingPermission { scope: "trusted_ip: add this deployment's egress IP to the app's 企业可信IP list".into() });
}

#[test]
fn the_ip_a_60020_names_is_read_from_its_message() {
    assert_eq!(ip_named(FROM_IP), Some("203.0.113.7"));
    assert_eq!(ip_named("..., from ip: 2001:db8::1, more info"), Some("2001:db8::1"));
    assert_eq!(ip_named("from ip: "), None);
    assert_eq!(ip_named("no ip here"), None);
}

impl Failure {
    fn into_im(self) -> ImError {
        match self {
            Failure::Im(e) => e,
            other => panic!("{other:?}"),
        }
    }
}
