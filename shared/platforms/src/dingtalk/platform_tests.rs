//! HTTP tests against a small DingTalk stub on 127.0.0.1:0 serving both API generations:
//! each test answers calls with a closure; the stub hands out tokens `t-1`, `t-2`, … and
//! logs every call.

use super::*;
use crate::dingtalk::{card_param_map, test_credentials, Edition};
use axum::body::{to_bytes, Body};
use axum::http::{Request, Response};
use std::sync::Mutex;
use std::time::Duration;
use warroom_core::incident::{Severity, Status};
use warroom_store::embedded::EmbeddedStore;

#[derive(Clone, Debug)]
struct Call {
    method: String,
    path: String,
    query: String,
    /// The token, from the v1.0 header or the old API's query.
    token: String,
    body: Value,
}

struct Reply(u16, Value);

fn ok(v: Value) -> Reply {
    Reply(200, v)
}

type Handler = Arc<dyn Fn(&Call) -> Reply + Send + Sync>;

struct Stub {
    base: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Stub {
    async fn start(handler: impl Fn(&Call) -> Reply + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(handler);
        let calls = Arc::new(Mutex::new(Vec::<Call>::new()));
        let (log, tokens) = (calls.clone(), Arc::new(Mutex::new(0u32)));
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let (handler, log, tokens) = (handler.clone(), log.clone(), tokens.clone());
            async move {
                let method = req.method().to_string();
                let path = req.uri().path().to_owned();
                let query = req.uri().query().unwrap_or_default().to_owned();
                let header = req.headers().get("x-acs-dingtalk-access-token").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let token = query.strip_prefix("access_token=").map(str::to_owned).unwrap_or(header);
                let bytes = to_bytes(req.into_body(), usize::MAX).await.unwrap_or_default();
                let call = Call { method, path, query, token, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
                log.lock().unwrap().push(call.clone());
                let Reply(status, body) = if call.path == "/v1.0/oauth2/accessToken" {
                    let mut n = tokens.lock().unwrap();
                    *n += 1;
                    ok(json!({"accessToken": format!("t-{n}"), "expireIn": 7200}))
                } else {
                    handler(&call)
                };
                Response::builder().status(status).header("content-type", "application/json").body(Body::from(body.to_string())).unwrap()
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
        self.calls().into_iter().filter(|c| c.path != "/v1.0/oauth2/accessToken").collect()
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
    Env { store: Arc::new(EmbeddedStore::open_temporary().unwrap()), clock: Arc::new(ManualClock::at(Timestamp::from_secs(1_763_715_600))) }
}

fn platform(stub: &Stub, env: &Env) -> DingTalkPlatform {
    DingTalkPlatform::new(test_credentials(&stub.base), reqwest::Client::new(), env.store.clone(), env.clock.clone())
}

fn found(userid: &str) -> Reply {
    ok(json!({"errcode": 0, "errmsg": "ok", "result": {"userid": userid}}))
}

#[tokio::test]
async fn one_token_fetch_serves_both_apis_and_every_instance_until_five_minutes_before_expiry() {
    let stub = Stub::start(|c| if c.path.starts_with("/topapi") { found("u1") } else { ok(json!({"processQueryKey": "pq1"})) }).await;
    let env = env();
    let (a, b) = (platform(&stub, &env), platform(&stub, &env));
    for _ in 0..3 {
        assert_eq!(a.lookup_by_phone("13800000000").await.unwrap(), Some(ImUserId::new("u1")));
        a.send_text(&ChatId::new("cid1"), "hi").await.unwrap();
    }
    b.send_text(&ChatId::new("cid1"), "hi").await.unwrap();
    assert_eq!(stub.token_fetches(), 1, "one fetch, shared through the Store");
    assert!(stub.api_calls().iter().all(|c| c.token == "t-1"), "{:?}", stub.api_calls());
    assert_eq!(stub.calls()[0].body, json!({"appKey": "dingappkey", "appSecret": "app-secret"}));
    env.clock.advance(Duration::from_secs(7200 - 300 + 1));
    a.send_text(&ChatId::new("cid1"), "hi").await.unwrap();
    assert_eq!((stub.token_fetches(), stub.api_calls().last().unwrap().token.as_str()), (2, "t-2"));
}

#[tokio::test]
async fn an_invalid_token_answer_refreshes_once_and_retries_once() {
    let stub = Stub::start(|c| match c.token.as_str() {
        "t-1" => ok(json!({"errcode": 40014, "errmsg": "不合法的access_token"})),
        _ => found("u1"),
    })
    .await;
    assert_eq!(platform(&stub, &env()).lookup_by_phone("13800000000").await.unwrap(), Some(ImUserId::new("u1")));
    assert_eq!((stub.token_fetches(), stub.api_calls().len()), (2, 2));

    let refused = Stub::start(|_| Reply(401, json!({"code": "InvalidAuthentication", "message": "不合法的access_token"}))).await;
    let err = platform(&refused, &env()).send_text(&ChatId::new("cid1"), "hi").await.unwrap_err();
    assert!(matches!(err, ImError::Unauthorized(_)), "{err:?}");
    let shown = format!("{err:?} {err}");
    assert!(!shown.contains("t-1") && !shown.contains("t-2") && !shown.contains("app-secret"), "{shown}");
    assert_eq!((refused.token_fetches(), refused.api_calls().len()), (2, 2), "one refresh, one retry, no loop");
}

#[tokio::test]
async fn an_unreachable_old_api_is_transient_and_its_error_shows_no_token() {
    // Tokens come from the stub; the old API host is a closed port, so the failing URL
    // would carry `?access_token=t-1` if errors kept their URL.
    let stub = Stub::start(|_| ok(json!({}))).await;
    let mut creds = test_credentials(&stub.base);
    creds.oapi_base = "http://127.0.0.1:1".into();
    let p = DingTalkPlatform::new(creds, reqwest::Client::new(), env().store, Arc::new(SystemClock));
    let err = p.lookup_by_phone("13800000000").await.unwrap_err();
    assert!(matches!(err, ImError::Transient(_)), "{err:?}");
    let shown = format!("{err:?} {err}");
    assert!(!shown.contains("t-1") && !shown.contains("access_token"), "{shown}");
}

#[tokio::test]
async fn throttling_returns_a_wait_instead_of_sleeping() {
    let stub = Stub::start(|_| Reply(403, json!({"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "message": "请求过于频繁"}))).await;
    let err = platform(&stub, &env()).send_text(&ChatId::new("cid1"), "hi").await.unwrap_err();
    assert_eq!(err, ImError::RateLimited { retry_after: Duration::from_secs(1) });
    assert_eq!(stub.api_calls().len(), 1);
}

#[tokio::test]
async fn a_scene_group_is_created_from_the_template_with_the_idempotency_key_as_uuid() {
    let stub = Stub::start(|_| ok(json!({"chat_id": "chat1", "open_conversation_id": "cidNEW"}))).await;
    let p = platform(&stub, &env());
    let request = CreateChat { name: "inc-1 DB down".into(), topic: "DB down".into(), private: true, idempotency_key: "wr-inc_1".into() };
    assert_eq!(p.create_chat(&request).await.unwrap(), CreatedChat { chat_id: ChatId::new("cidNEW"), url: None });
    let call = &stub.api_calls()[0];
    assert_eq!((call.method.as_str(), call.path.as_str()), ("POST", "/v1.0/im/sceneGroup/create"));
    assert_eq!(call.body, json!({"title": "inc-1 DB down", "template_id": "tpl-1", "owner_user_id": "owner1", "uuid": "wr-inc_1"}));
    p.create_chat(&CreateChat { idempotency_key: "k:".repeat(40), ..request.clone() }).await.unwrap();
    assert_eq!(stub.api_calls()[1].body["uuid"].as_str().unwrap().len(), 32);

    let mut no_owner = test_credentials(&stub.base);
    no_owner.owner_user_id.clear();
    let p = DingTalkPlatform::new(no_owner, reqwest::Client::new(), env().store, Arc::new(SystemClock));
    assert!(matches!(p.create_chat(&request).await, Err(ImError::Rejected { code, .. }) if code == "no_owner"));
    assert_eq!(stub.api_calls().len(), 2, "nothing sent without an owner");
}

#[tokio::test]
async fn a_refused_member_chunk_is_retried_user_by_user_to_name_who_failed() {
    let stub = Stub::start(|c| match c.body["user_ids"].as_str().unwrap_or_default() {
        ids if ids.contains("ghost") => Reply(400, json!({"code": "invalidParameter.userIds", "message": "bad user"})),
        _ => ok(json!({"success": true})),
    })
    .await;
    let users: Vec<ImUserId> = ["u1", "ghost", "u2", "u1"].map(ImUserId::new).to_vec();
    let result = platform(&stub, &env()).add_members(&ChatId::new("cid1"), &users).await.unwrap();
    assert_eq!(result.invited, vec![ImUserId::new("u1"), ImUserId::new("u2")]);
    assert_eq!(result.failed.len(), 1);
    assert!(matches!(&result.failed[0], (u, ImError::Rejected { code, .. }) if u.as_str() == "ghost" && code == "invalidParameter.userIds"));
    let calls = stub.api_calls();
    assert_eq!(calls[0].path, "/v1.0/im/sceneGroup/member/add");
    assert_eq!(calls[0].body, json!({"open_conversation_id": "cid1", "user_ids": "u1,ghost,u2"}), "duplicates asked once");
    assert_eq!(calls.len(), 4, "one chunk, then one call per user");
}

#[tokio::test]
async fn a_lost_chat_stops_the_invite_instead_of_failing_each_user() {
    let stub = Stub::start(|_| Reply(400, json!({"code": "invalid.openConversationId", "message": "no such group"}))).await;
    let err = platform(&stub, &env()).add_members(&ChatId::new("cid1"), &[ImUserId::new("u1"), ImUserId::new("u2")]).await.unwrap_err();
    assert_eq!(err, ImError::ChatGone);
    assert_eq!(stub.api_calls().len(), 1);
}

fn card() -> Card {
    Card {
        incident_id: "inc_1".into(),
        title: "DB down".into(),
        status: Status::Triggered,
        severity: Severity::Critical,
        snoozed_until: None,
        fields: vec![],
        actions: vec![CardAction::Acknowledge],
        url: None,
    }
}

#[tokio::test]
async fn the_card_is_delivered_to_the_group_by_out_track_id_and_updated_in_place() {
    let stub = Stub::start(|c| match c.method.as_str() {
        "PUT" => ok(json!({"success": true})),
        _ => ok(json!({"success": true, "result": {"outTrackId": "x", "deliverResults": [{"spaceType": "IM_GROUP", "spaceId": "cid1", "success": true}]}})),
    })
    .await;
    let p = platform(&stub, &env());
    let chat = ChatId::new("cid1");
    let id = p.post_card(&chat, &card()).await.unwrap();
    let again = p.post_card(&chat, &Card { status: Status::Acknowledged, ..card() }).await.unwrap();
    assert_eq!(id, again, "one outTrackId per incident and group");
    assert!(id.as_str().starts_with("wrc_"));
    assert_ne!(p.post_card(&ChatId::new("cid2"), &card()).await.unwrap(), id);
    p.update_card(&chat, &id, &Card { status: Status::Resolved, actions: vec![], ..card() }).await.unwrap();
    let calls = stub.api_calls();
    assert_eq!((calls[0].method.as_str(), calls[0].path.as_str()), ("POST", "/v1.0/card/instances/createAndDeliver"));
    let body = &calls[0].body;
    assert_eq!(body["openSpaceId"], "dtv1.card//IM_GROUP.cid1");
    assert_eq!(body["imGroupOpenDeliverModel"]["robotCode"], "dinggrouprobot", "the group robot, not the AppKey");
    assert_eq!((body["callbackType"].as_str(), body["callbackRouteKey"].as_str()), (Some("HTTP"), Some("warroom_dingappkey")));
    assert_eq!(body["cardTemplateId"], crate::dingtalk::DEFAULT_CARD_TEMPLATE_ID);
    assert_eq!(body["cardData"]["cardParamMap"], Value::Object(card_param_map(&card())));
    assert_eq!(body["outTrackId"], id.as_str());
    let update = &calls[3];
    assert_eq!((update.method.as_str(), update.path.as_str(), update.body["outTrackId"].as_str()), ("PUT", "/v1.0/card/instances", Some(id.as_str())));
    assert_eq!(update.body["cardData"]["cardParamMap"]["status"], "resolved");
}

#[tokio::test]
async fn a_card_that_was_not_delivered_is_an_error() {
    let stub = Stub::start(|_| ok(json!({"success": true, "result": {"deliverResults": [{"success": false, "errorMsg": "robot not in group"}]}}))).await;
    let err = platform(&stub, &env()).post_card(&ChatId::new("cid1"), &card()).await.unwrap_err();
    assert_eq!(err, ImError::Rejected { code: "card_not_delivered".into(), message: "robot not in group".into() });
}

#[tokio::test]
async fn text_is_sent_by_the_group_robot_and_answers_its_process_query_key() {
    let stub = Stub::start(|_| ok(json!({"processQueryKey": "pq-1"}))).await;
    let id = platform(&stub, &env()).send_text(&ChatId::new("cid1"), "ack by @ann").await.unwrap();
    assert_eq!(id, MessageId::new("pq-1"));
    let call = &stub.api_calls()[0];
    assert_eq!(call.path, "/v1.0/robot/groupMessages/send");
    assert_eq!(
        call.body,
        json!({"robotCode": "dinggrouprobot", "openConversationId": "cid1", "msgKey": "sampleText", "msgParam": r#"{"content":"ack by @ann"}"#})
    );
}

#[tokio::test]
async fn a_refused_disband_falls_back_to_freezing_the_group() {
    let stub = Stub::start(|c| match c.path.as_str() {
        "/v1.0/im/chat/scenegroup/disband" => Reply(400, json!({"code": "param.error", "message": "cannot disband"})),
        _ => ok(json!({"success": true})),
    })
    .await;
    platform(&stub, &env()).dismiss_chat(&ChatId::new("cid1")).await.unwrap();
    let paths: Vec<String> = stub.api_calls().into_iter().map(|c| c.path).collect();
    assert_eq!(paths, vec!["/v1.0/im/chat/scenegroup/disband", "/v1.0/im/chats/sceneGroups/freeze"]);
    assert_eq!(stub.api_calls()[1].body, json!({"openConversationId": "cid1"}));

    let gone = Stub::start(|_| Reply(400, json!({"code": "invalid.openConversationId", "message": "x"}))).await;
    assert_eq!(platform(&gone, &env()).dismiss_chat(&ChatId::new("cid1")).await.unwrap_err(), ImError::ChatGone);
    assert_eq!(gone.api_calls().len(), 1, "a lost group is not frozen");
}

#[tokio::test]
async fn phone_lookups_use_the_old_api_and_answer_none_for_unknown_numbers() {
    let stub = Stub::start(|c| match c.body["mobile"].as_str() {
        Some("13800000000") => found("u_ann"),
        _ => ok(json!({"errcode": 60121, "errmsg": "找不到该用户"})),
    })
    .await;
    let p = platform(&stub, &env());
    assert_eq!(p.lookup_by_phone("+86 138-0000-0000").await.unwrap(), Some(ImUserId::new("u_ann")));
    assert_eq!(p.lookup_by_phone("+8613911111111").await.unwrap(), None);
    let call = &stub.api_calls()[0];
    assert_eq!((call.method.as_str(), call.path.as_str(), call.query.as_str()), ("POST", "/topapi/v2/user/getbymobile", "access_token=t-1"));
    assert_eq!(call.body, json!({"mobile": "13800000000"}));
    assert!(matches!(p.lookup_by_email("a@x").await, Err(ImError::Rejected { code, .. }) if code == "unsupported"));
    assert!(p.chat_history(&ChatId::new("cid1")).await.unwrap().is_empty());
    assert_eq!(stub.api_calls().len(), 2, "email and history cost no call");
}

fn denied(scope: &str) -> Reply {
    Reply(
        403,
        json!({"code": "Forbidden.AccessDenied.AccessTokenPermissionDenied", "message": "没有调用该接口的权限", "accessdenieddetail": {"requiredScopes": [scope]}}),
    )
}

#[tokio::test]
async fn granted_scopes_probe_each_point_and_name_the_one_dingtalk_refuses() {
    // The robot may not send; every other probe reaches the API and finds no such group / user.
    let stub = Stub::start(|c| match c.path.as_str() {
        "/v1.0/robot/groupMessages/send" => denied("qyapi_robot_sendmsg"),
        "/topapi/v2/user/getbymobile" => ok(json!({"errcode": 60121, "errmsg": "找不到该用户"})),
        _ => Reply(400, json!({"code": "invalid.openConversationId", "message": "群不存在"})),
    })
    .await;
    let env = env();
    let granted = platform(&stub, &env).granted_scopes().await.unwrap();
    let missing: Vec<&str> = REQUIRED_SCOPES.iter().map(|(s, _)| *s).filter(|s| !granted.iter().any(|g| g == s)).collect();
    assert_eq!(missing, vec!["qyapi_robot_sendmsg"]);
    let probed: Vec<String> = stub.api_calls().iter().map(|c| c.path.clone()).collect();
    assert_eq!(probed.len(), 4, "one call per probed point: {probed:?}");
    assert!(stub.api_calls().iter().all(|c| !c.body.to_string().contains("cid1")), "probes aim at a group that does not exist");
}

#[tokio::test]
async fn a_point_refused_on_a_real_call_shows_missing_for_an_hour_and_a_passing_probe_clears_it() {
    let stub = Stub::start(|c| match c.path.as_str() {
        "/v1.0/card/instances" => denied("Card.Instance.Write"),
        "/topapi/v2/user/getbymobile" => ok(json!({"errcode": 60121, "errmsg": "找不到该用户"})),
        _ => Reply(400, json!({"code": "invalid.openConversationId", "message": "群不存在"})),
    })
    .await;
    let env = env();
    let p = platform(&stub, &env);
    let err = p.update_card(&ChatId::new("cid1"), &MessageId::new("wr_1"), &card()).await.unwrap_err();
    assert_eq!(err, ImError::MissingPermission { scope: "Card.Instance.Write".into() });
    let granted = platform(&stub, &env).granted_scopes().await.unwrap();
    assert!(!granted.contains(&"Card.Instance.Write".to_string()), "another instance sees the refusal too: {granted:?}");
    assert_eq!(granted.len(), REQUIRED_SCOPES.len() - 1);
    env.clock.advance(Duration::from_secs(3601));
    assert_eq!(p.granted_scopes().await.unwrap().len(), REQUIRED_SCOPES.len(), "not refused again within the hour: counted again");
}

#[tokio::test]
async fn the_card_callback_is_registered_with_its_route_key_and_secret() {
    let stub = Stub::start(|_| ok(json!({"success": true, "result": true}))).await;
    platform(&stub, &env()).register_card_callback("https://w.example/im/int_1/cards").await.unwrap();
    let call = &stub.api_calls()[0];
    assert_eq!(call.path, "/v1.0/card/callbacks/register");
    assert_eq!(
        call.body,
        json!({"callbackRouteKey": "warroom_dingappkey", "callbackUrl": "https://w.example/im/int_1/cards", "apiSecret": "card-secret", "forceUpdate": true})
    );
}

#[test]
fn buckets_follow_the_edition_and_stay_under_its_qps_in_any_second() {
    let mut creds = test_credentials("http://127.0.0.1:9");
    let second = Duration::from_secs(1);
    let p = DingTalkPlatform::new(creds.clone(), reqwest::Client::new(), Arc::new(EmbeddedStore::open_temporary().unwrap()), Arc::new(SystemClock));
    let b = p.buckets(ApiFamily::Message, Some(&ChatId::new("cid1")));
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].key.as_str(), b[0].max_in_window(second)), ("dingtalk.dingappkey.message", 19));
    assert_ne!(p.buckets(ApiFamily::CreateChat, None)[0].key, b[0].key, "per API family");
    creds.edition = Edition::Exclusive;
    let p = DingTalkPlatform::new(creds, reqwest::Client::new(), Arc::new(EmbeddedStore::open_temporary().unwrap()), Arc::new(SystemClock));
    let most = p.buckets(ApiFamily::Lookup, None)[0].max_in_window(second);
    assert!((55..60).contains(&most), "under 60 QPS, not far under: {most}");
    let caps = p.capabilities();
    assert!(caps.interactive_cards && caps.update_card && caps.dismiss && caps.idempotent_create && caps.lookup_by_phone);
    assert!(!caps.history && !caps.lookup_by_email);
    assert_eq!(p.platform(), Platform::Dingtalk);
}
