//! HTTP tests against a tiny WeCom stub on 127.0.0.1:0: each test answers calls with a
//! closure; unless it answers gettoken itself, the stub hands out tokens `t-1`, `t-2`, …
//! and logs every call.

use super::*;
use crate::wecom::{test_credentials, WeComCredentials};
use axum::body::{to_bytes, Body};
use axum::http::{Request, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom_core::{ManualClock, Store, Timestamp};
use warroom_store::embedded::EmbeddedStore;

#[derive(Clone, Debug)]
struct Call {
    method: String,
    path: String,
    query: HashMap<String, String>,
    body: Value,
}

impl Call {
    fn token(&self) -> &str {
        self.query.get("access_token").map(String::as_str).unwrap_or_default()
    }
}

type Handler = Arc<dyn Fn(&Call) -> Value + Send + Sync>;

struct Stub {
    base: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Stub {
    /// A stub whose handler sees every call but gettoken.
    async fn start(handler: impl Fn(&Call) -> Value + Send + Sync + 'static) -> Self {
        Self::start_raw(move |c| if c.path == "/cgi-bin/gettoken" { Value::Null } else { handler(c) }).await
    }

    async fn start_raw(handler: impl Fn(&Call) -> Value + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(handler);
        let calls = Arc::new(Mutex::new(Vec::<Call>::new()));
        let (log, tokens) = (calls.clone(), Arc::new(Mutex::new(0u32)));
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let (handler, log, tokens) = (handler.clone(), log.clone(), tokens.clone());
            async move {
                let method = req.method().to_string();
                let path = req.uri().path().to_owned();
                let query: HashMap<String, String> = serde_urlencoded::from_str(req.uri().query().unwrap_or_default()).unwrap_or_default();
                let bytes = to_bytes(req.into_body(), usize::MAX).await.unwrap_or_default();
                let call = Call { method, path, query, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
                log.lock().unwrap().push(call.clone());
                // The handler may answer gettoken itself; `Null` means "hand out the next token".
                let answer = match (call.path.as_str(), handler(&call)) {
                    ("/cgi-bin/gettoken", Value::Null) => {
                        let mut n = tokens.lock().unwrap();
                        *n += 1;
                        json!({"errcode": 0, "errmsg": "ok", "access_token": format!("t-{n}"), "expires_in": 7200})
                    }
                    (_, answer) => answer,
                };
                Response::builder().status(200).header("content-type", "application/json").body(Body::from(answer.to_string())).unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, calls }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
    fn api_calls(&self) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.path != "/cgi-bin/gettoken").collect()
    }
    fn token_fetches(&self) -> usize {
        self.calls().len() - self.api_calls().len()
    }
}

struct Env {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
}

fn env() -> Env {
    Env { store: Arc::new(EmbeddedStore::open_temporary().unwrap()), clock: Arc::new(ManualClock::at(Timestamp::from_secs(1_790_000_000))) }
}

fn client(stub: &Stub, env: &Env) -> Client {
    Client::new(test_credentials(&stub.base), reqwest::Client::new(), env.store.clone(), env.clock.clone())
}

fn ok(extra: Value) -> Value {
    let mut v = json!({"errcode": 0, "errmsg": "ok"});
    v.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    v
}

fn users(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn one_token_serves_every_instance_until_five_minutes_before_expiry() {
    let stub = Stub::start(|_| ok(json!({"userid": "u1"}))).await;
    let env = env();
    let (a, b) = (client(&stub, &env), client(&stub, &env));
    for _ in 0..3 {
        assert_eq!(a.user_by_mobile("13800000000").await.unwrap().as_deref(), Some("u1"));
    }
    b.user_by_mobile("13800000000").await.unwrap();
    assert_eq!(stub.token_fetches(), 1, "one fetch, shared through the Store");
    assert!(stub.api_calls().iter().all(|c| c.token() == "t-1"));
    let fetch = &stub.calls()[0];
    assert_eq!((fetch.method.as_str(), fetch.query["corpid"].as_str(), fetch.query["corpsecret"].as_str()), ("GET", "ww1436e0e65a779aee", "app-secret"));
    env.clock.advance(Duration::from_secs(7200 - 300 + 1));
    a.user_by_mobile("13800000000").await.unwrap();
    assert_eq!(stub.token_fetches(), 2, "refetched once the cached token has expired");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_call_retried() {
    for code in [40014, 42001, 42007, 42009] {
        let stub = Stub::start(move |c| if c.token() == "t-1" { json!({"errcode": code, "errmsg": "expired"}) } else { ok(json!({"userid": "u2"})) }).await;
        let env = env();
        assert_eq!(client(&stub, &env).user_by_email("a@b.c", EmailType::Corporate).await.unwrap().as_deref(), Some("u2"));
        assert_eq!((stub.token_fetches(), stub.api_calls().len()), (2, 2), "{code}");
    }
    // Refused again after the refresh: the credentials no longer work; no third try.
    let stub = Stub::start(|_| json!({"errcode": 42001, "errmsg": "expired"})).await;
    let e = client(&stub, &env()).user_by_mobile("1").await.unwrap_err();
    assert!(matches!(e, ImError::Unauthorized(_)), "{e:?}");
    assert_eq!(stub.api_calls().len(), 2);
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized_and_never_named() {
    let stub = Stub::start_raw(|c| match c.path.as_str() {
        "/cgi-bin/gettoken" => json!({"errcode": 40001, "errmsg": "invalid credential"}),
        _ => ok(json!({})),
    })
    .await;
    let env = env();
    let c = Client::new(
        WeComCredentials { secret: "wrong-secret-123".into(), ..test_credentials(&stub.base) },
        reqwest::Client::new(),
        env.store.clone(),
        env.clock.clone(),
    );
    let e = c.appchat_get("c1").await.unwrap_err();
    assert_eq!(e, ImError::Unauthorized("WeCom refused the app credentials (40001)".into()));
    assert!(!e.to_string().contains("wrong-secret-123"));
    assert!(stub.api_calls().is_empty(), "no call without a token");
    assert_eq!(c.prove_credentials().await.unwrap_err(), e);
}

#[tokio::test]
async fn appchat_create_sends_the_documented_body_and_refuses_too_few_members_locally() {
    let stub = Stub::start(|c| ok(json!({"chatid": c.body["chatid"].as_str().unwrap_or("gen1")}))).await;
    let c = client(&stub, &env());
    let id = c.appchat_create("[P1] db down", "owner1", &users(&["owner1", "u1"]), Some("wrinc7")).await.unwrap();
    assert_eq!(id, "wrinc7");
    let call = &stub.api_calls()[0];
    assert_eq!((call.method.as_str(), call.path.as_str()), ("POST", "/cgi-bin/appchat/create"));
    assert_eq!(call.body, json!({"name": "[P1] db down", "owner": "owner1", "userlist": ["owner1", "u1"], "chatid": "wrinc7"}));
    assert_eq!(c.appchat_create("n", "o", &users(&["o", "u"]), None).await.unwrap(), "gen1");
    let e = c.appchat_create("n", "o", &users(&["o"]), None).await.unwrap_err();
    assert!(matches!(e, ImError::Rejected { ref code, .. } if code == "appchat_members"), "{e:?}");
    let e = c.appchat_create("n", "o", &users(&["o", "u"]), Some("inc_7")).await.unwrap_err();
    assert!(matches!(e, ImError::Rejected { ref code, .. } if code == "appchat_chatid"), "{e:?}");
    assert_eq!(stub.api_calls().len(), 2, "refused before calling");
}

#[tokio::test]
async fn appchat_update_get_and_send() {
    let stub = Stub::start(|c| match c.path.as_str() {
        "/cgi-bin/appchat/get" => ok(json!({"chat_info": {"chatid": "c1", "name": "room", "owner": "o", "userlist": ["o", "u"]}})),
        _ => ok(json!({})),
    })
    .await;
    let c = client(&stub, &env());
    c.appchat_update("c1", &users(&["u3"]), &[], Some("[已解决] room")).await.unwrap();
    c.appchat_update("c1", &[], &users(&["u3"]), None).await.unwrap();
    let chat = c.appchat_get("c1").await.unwrap();
    assert_eq!(chat, AppChat { chatid: "c1".into(), name: "room".into(), owner: "o".into(), userlist: users(&["o", "u"]) });
    c.appchat_send("c1", &json!({"msgtype": "markdown", "markdown": {"content": "**P1**"}})).await.unwrap();
    assert!(c.appchat_send("c1", &json!("text")).await.is_err(), "not an object");
    let calls = stub.api_calls();
    assert_eq!(calls[0].body, json!({"chatid": "c1", "add_user_list": ["u3"], "name": "[已解决] room"}));
    assert_eq!(calls[1].body, json!({"chatid": "c1", "del_user_list": ["u3"]}));
    assert_eq!((calls[2].method.as_str(), calls[2].query["chatid"].as_str()), ("GET", "c1"));
    assert_eq!(calls[3].body, json!({"chatid": "c1", "msgtype": "markdown", "markdown": {"content": "**P1**"}}));
}

#[tokio::test]
async fn template_cards_are_sent_one_to_one_and_updated_with_their_response_code() {
    let stub = Stub::start(|c| match c.path.as_str() {
        "/cgi-bin/message/send" => ok(json!({"msgid": "m1", "response_code": "rc1", "invaliduser": "gone"})),
        _ => ok(json!({})),
    })
    .await;
    let c = client(&stub, &env());
    let card = json!({"card_type": "button_interaction", "task_id": "t1"});
    let sent = c.message_send_template_card(&users(&["u1", "gone"]), &card).await.unwrap();
    assert_eq!(sent, SentCard { msgid: "m1".into(), response_code: Some("rc1".into()), invalid_users: users(&["gone"]) });
    c.update_template_card("rc1", &CardTarget::Users(users(&["u1"])), &CardUpdate::ReplaceName("已确认".into())).await.unwrap();
    c.update_template_card("rc2", &CardTarget::All, &CardUpdate::Card(card.clone())).await.unwrap();
    let calls = stub.api_calls();
    assert_eq!(calls[0].body, json!({"touser": "u1|gone", "msgtype": "template_card", "agentid": 1000002, "template_card": card}));
    assert_eq!(calls[1].body, json!({"agentid": 1000002, "response_code": "rc1", "userids": ["u1"], "button": {"replace_name": "已确认"}}));
    assert_eq!(calls[2].body, json!({"agentid": 1000002, "response_code": "rc2", "atall": 1, "template_card": card}));
}

#[tokio::test]
async fn lookups_answer_none_for_unknown_users_and_name_what_is_missing() {
    let stub = Stub::start(|c| match c.body["mobile"].as_str().or(c.body["email"].as_str()) {
        Some("known") => ok(json!({"userid": "u1"})),
        Some("ghost") => json!({"errcode": 46004, "errmsg": "user not exist"}),
        Some("hidden") => json!({"errcode": 60011, "errmsg": "no privilege to access/modify contact/party/agent"}),
        _ => json!({"errcode": 60020, "errmsg": "not allow to access from your ip, hint: [x], from ip: 198.51.100.4, more info at https://open.work.weixin.qq.com/devtool/query?e=60020"}),
    })
    .await;
    let c = client(&stub, &env());
    assert_eq!(c.user_by_mobile("known").await.unwrap().as_deref(), Some("u1"));
    assert_eq!(c.user_by_mobile("ghost").await.unwrap(), None);
    assert_eq!(c.user_by_email("ghost", EmailType::Personal).await.unwrap(), None);
    assert_eq!(c.user_by_email("hidden", EmailType::Corporate).await.unwrap_err(), ImError::MissingPermission { scope: "contact_read (60011)".into() });
    let e = c.user_by_mobile("elsewhere").await.unwrap_err();
    assert_eq!(e, ImError::MissingPermission { scope: "trusted_ip: add 198.51.100.4 to the app's 企业可信IP list".into() });
    let calls = stub.api_calls();
    assert_eq!((calls[0].path.as_str(), calls[2].path.as_str()), ("/cgi-bin/user/getuserid", "/cgi-bin/user/get_userid_by_email"));
    assert_eq!(calls[2].body, json!({"email": "ghost", "email_type": 2}));
}

#[tokio::test]
async fn rate_limits_are_returned_not_slept_on() {
    let stub = Stub::start(|_| json!({"errcode": 45009, "errmsg": "api freq out of limit"})).await;
    let e = client(&stub, &env()).appchat_send("c1", &json!({"msgtype": "text", "text": {"content": "x"}})).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(60)));
}

#[tokio::test]
async fn the_aibot_response_url_is_called_only_on_the_configured_host_without_a_token() {
    let stub = Stub::start(|_| ok(json!({}))).await;
    let c = client(&stub, &env());
    let url = c.aibot_response_url("RC+1");
    assert_eq!(url, format!("{}/cgi-bin/aibot/response?response_code=RC%2B1", stub.base));
    c.aibot_respond(&url, &json!({"msgtype": "markdown", "markdown": {"content": "on it"}})).await.unwrap();
    let call = &stub.calls()[0];
    assert_eq!((call.path.as_str(), call.query["response_code"].as_str(), call.token()), ("/cgi-bin/aibot/response", "RC+1", ""));
    assert_eq!(stub.token_fetches(), 0, "no token for response_url");
    let port = stub.base.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    for foreign in [
        "https://evil.example/cgi-bin/aibot/response?response_code=x".to_string(),
        format!("http://127.0.0.1:{}/cgi-bin/aibot/response?response_code=x", port.wrapping_add(1)),
        format!("{}/cgi-bin/appchat/create?response_code=x", stub.base),
        format!("http://user:pw@127.0.0.1:{port}/cgi-bin/aibot/response"),
        "not a url".to_string(),
    ] {
        let e = c.aibot_respond(&foreign, &json!({})).await.unwrap_err();
        assert!(matches!(e, ImError::Rejected { ref code, .. } if code == "foreign_response_url"), "{foreign}: {e:?}");
    }
    assert_eq!(stub.calls().len(), 1, "nothing else was called");
}

#[tokio::test]
async fn a_used_or_expired_response_url_is_refused_for_good() {
    let stub = Stub::start(|_| json!({"errcode": 42001, "errmsg": "response_code expired"})).await;
    let c = client(&stub, &env());
    let e = c.aibot_respond(&c.aibot_response_url("old"), &json!({})).await.unwrap_err();
    assert!(matches!(e, ImError::Rejected { ref code, .. } if code == "response_url_expired"), "{e:?}");
}
