//! HTTP tests against a small Feishu stub on 127.0.0.1:0: each test answers calls with a
//! closure; the stub hands out tokens `t-1`, `t-2`, … and logs every call.

use super::*;
use axum::body::{to_bytes, Body};
use axum::http::{Request, Response};
use std::sync::Mutex;
use warroom_core::incident::{Severity, Status};
use warroom_store::embedded::EmbeddedStore;

#[derive(Clone, Debug)]
struct Call {
    method: String,
    path: String,
    auth: String,
    body: Value,
}

struct Reply(u16, Vec<(&'static str, String)>, Value);

fn ok(data: Value) -> Reply {
    Reply(200, vec![], json!({"code": 0, "msg": "success", "data": data}))
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
                let path = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
                let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let bytes = to_bytes(req.into_body(), usize::MAX).await.unwrap_or_default();
                let call = Call { method, path, auth, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
                log.lock().unwrap().push(call.clone());
                let Reply(status, headers, body) = if call.path.starts_with("/open-apis/auth/v3/tenant_access_token/internal") {
                    let mut n = tokens.lock().unwrap();
                    *n += 1;
                    Reply(200, vec![], json!({"code": 0, "msg": "ok", "tenant_access_token": format!("t-{n}"), "expire": 7200}))
                } else {
                    handler(&call)
                };
                let mut response = Response::builder().status(status).header("content-type", "application/json");
                for (k, v) in headers {
                    response = response.header(k, v);
                }
                response.body(Body::from(body.to_string())).unwrap()
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
        self.calls().into_iter().filter(|c| !c.path.contains("tenant_access_token")).collect()
    }
    fn token_fetches(&self) -> usize {
        self.calls().len() - self.api_calls().len()
    }
    fn credentials(&self) -> FeishuCredentials {
        FeishuCredentials {
            app_id: "cli_test".into(),
            app_secret: "secret".into(),
            verification_token: "v".into(),
            encrypt_key: "k".into(),
            base_url: self.base.clone(),
        }
    }
}

struct Env {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
}

fn env() -> Env {
    Env { store: Arc::new(EmbeddedStore::open_temporary().unwrap()), clock: Arc::new(ManualClock::at(Timestamp::from_secs(1_763_715_600))) }
}

fn platform(stub: &Stub, env: &Env) -> FeishuPlatform {
    FeishuPlatform::new(stub.credentials(), reqwest::Client::new(), env.store.clone(), env.clock.clone())
}

#[tokio::test]
async fn one_token_fetch_serves_many_calls_and_every_instance_until_ten_minutes_before_expiry() {
    let stub = Stub::start(|_| ok(json!({"user_list": [{"email": "a@x", "user_id": "ou_a"}]}))).await;
    let env = env();
    let (a, b) = (platform(&stub, &env), platform(&stub, &env));
    for _ in 0..5 {
        assert_eq!(a.lookup_by_email("a@x").await.unwrap(), Some(ImUserId::new("ou_a")));
    }
    b.lookup_by_email("a@x").await.unwrap();
    assert_eq!(stub.token_fetches(), 1, "one fetch, shared through the Store");
    assert!(stub.api_calls().iter().all(|c| c.auth == "Bearer t-1"));
    env.clock.advance(Duration::from_secs(7200 - 600 + 1));
    a.lookup_by_email("a@x").await.unwrap();
    assert_eq!(stub.token_fetches(), 2);
    assert_eq!(stub.api_calls().last().unwrap().auth, "Bearer t-2");
}

#[tokio::test]
async fn an_invalid_token_answer_refreshes_once_and_retries_the_call_once() {
    let stub = Stub::start(|c| match c.auth.as_str() {
        "Bearer t-1" => Reply(400, vec![], json!({"code": 99991663, "msg": "Invalid access token for authorization."})),
        _ => ok(json!({"user_list": [{"user_id": "ou_a"}]})),
    })
    .await;
    let env = env();
    assert_eq!(platform(&stub, &env).lookup_by_email("a@x").await.unwrap(), Some(ImUserId::new("ou_a")));
    assert_eq!((stub.token_fetches(), stub.api_calls().len()), (2, 2));

    let refused = Stub::start(|_| Reply(400, vec![], json!({"code": 99991668, "msg": "Invalid access token"}))).await;
    let err = platform(&refused, &self::env()).lookup_by_email("a@x").await.unwrap_err();
    assert!(matches!(err, ImError::Unauthorized(_)), "{err:?}");
    assert!(!format!("{err:?} {err}").contains("t-"), "the token never shows in errors");
    assert_eq!((refused.token_fetches(), refused.api_calls().len()), (2, 2), "one refresh, one retry, no loop");
}

#[tokio::test]
async fn rate_limits_return_the_reset_time_instead_of_sleeping() {
    let stub = Stub::start(|c| {
        let body = json!({"code": 99991400, "msg": "request trigger frequency limit"});
        if c.path.starts_with("/open-apis/im/v1/messages") {
            Reply(429, vec![("x-ogw-ratelimit-reset", "9".into()), ("x-ogw-ratelimit-limit", "50".into())], body)
        } else {
            Reply(400, vec![("x-ogw-ratelimit-reset", "2".into())], body)
        }
    })
    .await;
    let p = platform(&stub, &env());
    assert_eq!(p.send_text(&ChatId::new("oc_1"), "hi").await.unwrap_err(), ImError::RateLimited { retry_after: Duration::from_secs(9) });
    assert_eq!(p.dismiss_chat(&ChatId::new("oc_1")).await.unwrap_err(), ImError::RateLimited { retry_after: Duration::from_secs(2) });
}

#[tokio::test]
async fn invites_go_in_chunks_of_fifty_and_report_each_unavailable_user() {
    let stub = Stub::start(|c| {
        let ghost: Vec<&str> = ["ou_ghost"].into_iter().filter(|id| c.body.to_string().contains(id)).collect();
        ok(json!({"invalid_id_list": ["ou_resigned"], "not_existed_id_list": ghost, "pending_approval_id_list": []}))
    })
    .await;
    let p = platform(&stub, &env());
    let mut users: Vec<ImUserId> = (0..58).map(|i| ImUserId::new(format!("ou_{i}"))).collect();
    users.extend(["ou_resigned", "ou_ghost", "ou_0"].map(ImUserId::new));
    let result = p.add_members(&ChatId::new("oc_1"), &users).await.unwrap();
    let calls = stub.api_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].path, "/open-apis/im/v1/chats/oc_1/members?member_id_type=open_id&succeed_type=1");
    assert_eq!((calls[0].body["id_list"].as_array().unwrap().len(), calls[1].body["id_list"].as_array().unwrap().len()), (50, 10));
    assert_eq!(result.invited.len(), 58, "duplicates are asked once");
    assert_eq!(result.failed.len(), 2);
    assert!(result.failed.contains(&(ImUserId::new("ou_ghost"), ImError::UserNotFound)));
    assert!(matches!(result.failed.iter().find(|(u, _)| u.as_str() == "ou_resigned"), Some((_, ImError::Rejected { code, .. })) if code == "invalid_id"));
}

#[tokio::test]
async fn a_chat_is_created_with_its_idempotency_key_as_uuid_and_the_bot_as_manager() {
    let stub = Stub::start(|_| ok(json!({"chat_id": "oc_new", "name": "inc"}))).await;
    let p = platform(&stub, &env());
    let request = CreateChat { name: "inc-1 DB down".into(), topic: "DB down".into(), private: true, idempotency_key: "wr-inc_1".into() };
    let created = p.create_chat(&request).await.unwrap();
    assert_eq!((created.chat_id, created.url), (ChatId::new("oc_new"), None), "no AppLink for the sandbox");
    let call = &stub.api_calls()[0];
    assert_eq!(call.path, "/open-apis/im/v1/chats?user_id_type=open_id&set_bot_manager=true&uuid=wr-inc_1");
    assert_eq!(call.body, json!({"name": "inc-1 DB down", "description": "DB down", "chat_mode": "group", "chat_type": "private"}));
    let long = CreateChat { idempotency_key: "k".repeat(80), ..request };
    p.create_chat(&long).await.unwrap();
    let uuid = stub.api_calls()[1].path.rsplit("uuid=").next().unwrap().to_owned();
    assert_eq!(uuid.len(), 32);
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
async fn cards_are_sent_as_interactive_json_strings_with_a_dedup_uuid_and_patched_in_place() {
    let stub = Stub::start(|_| ok(json!({"message_id": "om_1"}))).await;
    let p = platform(&stub, &env());
    let chat = ChatId::new("oc_1");
    assert_eq!(p.post_card(&chat, &card()).await.unwrap(), MessageId::new("om_1"));
    p.post_card(&chat, &Card { status: Status::Acknowledged, ..card() }).await.unwrap();
    p.update_card(&chat, &MessageId::new("om_1"), &card()).await.unwrap();
    assert_eq!(p.send_text(&chat, "ack by @ann").await.unwrap(), MessageId::new("om_1"));
    let calls = stub.api_calls();
    assert_eq!((calls[0].method.as_str(), calls[0].path.as_str()), ("POST", "/open-apis/im/v1/messages?receive_id_type=chat_id"));
    assert_eq!((calls[0].body["receive_id"].as_str(), calls[0].body["msg_type"].as_str()), (Some("oc_1"), Some("interactive")));
    let content: Value = serde_json::from_str(calls[0].body["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, card_json(&card()));
    assert_eq!(calls[0].body["uuid"], calls[1].body["uuid"], "the incident's card in the same chat dedups, whatever it shows");
    assert_eq!((calls[2].method.as_str(), calls[2].path.as_str()), ("PATCH", "/open-apis/im/v1/messages/om_1"));
    assert!(calls[2].body["content"].is_string());
    assert_eq!(calls[3].body["content"], json!(r#"{"text":"ack by @ann"}"#));
    assert_eq!(calls[3].body["msg_type"], "text");
}

#[tokio::test]
async fn lookups_answer_none_when_feishu_returns_no_user_id() {
    let stub = Stub::start(|c| match c.body.get("mobiles") {
        Some(_) => ok(json!({"user_list": [{"mobile": "+8613800000000"}]})),
        None => ok(json!({"user_list": [{"email": "a@x", "user_id": "ou_a"}]})),
    })
    .await;
    let p = platform(&stub, &env());
    assert_eq!(p.lookup_by_phone("+8613800000000").await.unwrap(), None);
    assert_eq!(p.lookup_by_email("a@x").await.unwrap(), Some(ImUserId::new("ou_a")));
    assert_eq!(stub.api_calls()[0].path, "/open-apis/contact/v3/users/batch_get_id?user_id_type=open_id");
    assert_eq!(stub.api_calls()[0].body, json!({"mobiles": ["+8613800000000"]}));
}

#[tokio::test]
async fn history_is_read_page_by_page_as_plain_text_oldest_first() {
    let stub = Stub::start(|c| {
        let text = |id: &str, t: &str| json!({"message_id": id, "msg_type": "text", "create_time": "1763715600000", "deleted": false,
            "sender": {"id": "ou_a", "id_type": "open_id", "sender_type": "user"}, "body": {"content": json!({"text": t}).to_string()},
            "mentions": [{"key": "@_user_1", "id": "ou_b", "id_type": "open_id", "name": "Bob"}]});
        if c.path.contains("page_token=p2") {
            ok(json!({"has_more": false, "items": [text("om_3", "done"), {"message_id": "om_4", "msg_type": "image", "body": {"content": "{}"}}]}))
        } else {
            ok(json!({"has_more": true, "page_token": "p2", "items": [text("om_1", "@_user_1 look"), {"message_id": "om_2", "msg_type": "text", "deleted": true, "body": {"content": "{\"text\":\"x\"}"}}]}))
        }
    })
    .await;
    let history = platform(&stub, &env()).chat_history(&ChatId::new("oc_1")).await.unwrap();
    let texts: Vec<(&str, &str)> = history.iter().map(|m| (m.id.as_str(), m.text.as_str())).collect();
    assert_eq!(texts, vec![("om_1", "@Bob look"), ("om_3", "done")]);
    assert_eq!((history[0].author.as_str(), history[0].at), ("ou_a", Timestamp(1_763_715_600_000)));
    assert_eq!(stub.api_calls()[0].path, "/open-apis/im/v1/messages?container_id_type=chat&container_id=oc_1&sort_type=ByCreateTimeAsc&page_size=50");
}

#[tokio::test]
async fn granted_scopes_lists_only_the_granted_ones_and_chats_page_too() {
    let stub = Stub::start(|c| match c.path.as_str() {
        "/open-apis/application/v6/scopes" => {
            ok(json!({"scopes": [{"scope_name": "im:chat", "grant_status": 1}, {"scope_name": "im:message", "grant_status": 2}]}))
        }
        _ => ok(json!({"has_more": false, "page_token": "", "items": [{"chat_id": "oc_1", "name": "war room"}]})),
    })
    .await;
    let p = platform(&stub, &env());
    assert_eq!(p.granted_scopes().await.unwrap(), vec!["im:chat".to_string()]);
    assert_eq!(p.list_bot_chats().await.unwrap(), vec![ChatSummary { chat_id: ChatId::new("oc_1"), name: "war room".into() }]);
}

#[tokio::test]
async fn missing_permissions_and_lost_chats_reach_the_engine_as_such() {
    let stub = Stub::start(|c| match c.method.as_str() {
        "DELETE" => Reply(400, vec![], json!({"code": 230002, "msg": "Bot/User can NOT be out of the chat."})),
        _ => Reply(400, vec![], json!({"code": 99991672, "msg": "denied", "error": {"permission_violations": [{"subject": "im:chat"}]}})),
    })
    .await;
    let p = platform(&stub, &env());
    assert_eq!(p.dismiss_chat(&ChatId::new("oc_1")).await.unwrap_err(), ImError::ChatGone);
    assert_eq!(p.granted_scopes().await.unwrap_err(), ImError::MissingPermission { scope: "im:chat".into() });
}

#[test]
fn buckets_keep_every_window_under_the_app_minute_and_chat_limits() {
    let creds = FeishuCredentials {
        app_id: "cli_x".into(),
        app_secret: String::new(),
        verification_token: String::new(),
        encrypt_key: String::new(),
        base_url: FEISHU_BASE.into(),
    };
    let p = FeishuPlatform::new(creds, reqwest::Client::new(), Arc::new(EmbeddedStore::open_temporary().unwrap()), Arc::new(SystemClock));
    let second = std::time::Duration::from_secs(1);
    let minute = std::time::Duration::from_secs(60);
    // Each bucket's most takes in any window of its period, which the platform counts.
    let keys = |f, c: Option<&ChatId>| {
        p.buckets(f, c)
            .into_iter()
            .map(|b| {
                let per = if b.key.ends_with(".messages") { minute } else { second };
                (b.key.clone(), b.max_in_window(per))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(ApiFamily::CreateChat, None), vec![("feishu.cli_x.app".into(), 48)]);
    let chat = ChatId::new("oc_9");
    assert_eq!(
        keys(ApiFamily::Message, Some(&chat)),
        vec![("feishu.cli_x.app".into(), 48), ("feishu.cli_x.messages".into(), 999), ("feishu.cli_x.chat.oc_9".into(), 4)]
    );
    assert!(p.capabilities().idempotent_create && p.capabilities().lookup_by_phone);
}

#[tokio::test]
async fn signing_in_exchanges_the_code_and_reads_who_signed_in() {
    let stub = Stub::start(|c| match c.path.as_str() {
        "/open-apis/authen/v2/oauth/token" if c.body["code"] == "good" => {
            Reply(200, vec![], json!({"code": 0, "access_token": "u-user", "token_type": "Bearer", "expires_in": 7200}))
        }
        "/open-apis/authen/v2/oauth/token" => {
            Reply(400, vec![], json!({"code": 20003, "error": "invalid_grant", "error_description": "The authorization code is invalid"}))
        }
        "/open-apis/authen/v1/user_info" if c.auth == "Bearer u-user" => {
            ok(json!({"open_id": "ou_ann", "name": "Ann", "email": "", "mobile": "+8613800000000"}))
        }
        _ => Reply(401, vec![], json!({"code": 99991668, "msg": "Invalid access token"})),
    })
    .await;
    let (http, creds) = (reqwest::Client::new(), stub.credentials());
    let user = crate::feishu::login_user(&http, &creds, "https://w.example/cb", "good").await.unwrap();
    assert_eq!(user, crate::feishu::LoginUser { open_id: "ou_ann".into(), name: "Ann".into(), email: None, mobile: Some("+8613800000000".into()) });
    let exchange = &stub.calls()[0];
    assert_eq!(
        exchange.body,
        json!({"grant_type": "authorization_code", "client_id": "cli_test", "client_secret": "secret", "code": "good", "redirect_uri": "https://w.example/cb"})
    );
    let refused = crate::feishu::login_user(&http, &creds, "https://w.example/cb", "reused").await.unwrap_err();
    assert_eq!(refused, ImError::Rejected { code: "20003".into(), message: "The authorization code is invalid".into() });
}
