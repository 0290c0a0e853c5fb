//! The Web API front door: `GET|POST /api/{method}`. Arguments come from the query string and
//! an `application/x-www-form-urlencoded` or `application/json` body (docs.slack.dev/apis/web-api
//! "Pass arguments as GET querystring parameters, POST parameters ... or a mix"; "Most write
//! methods allow arguments with application/json"). Every answer is HTTP 200 with
//! `{"ok":true,…}` / `{"ok":false,"error":…}` and carries `x-oauth-scopes` and
//! `x-accepted-oauth-scopes` (reference §1), except rate limiting: 429 + `Retry-After`.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::ratelimit::Tier;
use super::state::State;
use super::{callbacks, chat, conversations, oauth, stream, SlackSandbox};
use crate::hold::{HoldPoint, Release};

/// An error answer: `error` plus any extra fields (`needed`, `errors`, …).
pub(crate) struct ApiError {
    pub code: &'static str,
    pub extra: Map<String, Value>,
}

pub(crate) fn err(code: &'static str) -> ApiError {
    ApiError { code, extra: Map::new() }
}

/// Missing required argument, as in the conversations.setTopic docs error example:
/// `{"ok":false,"error":"invalid_arguments","response_metadata":{"messages":["[ERROR] missing required field: topic"]}}`.
pub(crate) fn missing_field(field: &str) -> ApiError {
    let mut e = err("invalid_arguments");
    e.extra.insert("response_metadata".into(), json!({"messages": [format!("[ERROR] missing required field: {field}")]}));
    e
}

pub(crate) type Reply = Result<Value, ApiError>;

/// The method's arguments, all sources merged (body wins over query string).
pub(crate) struct Args(pub Map<String, Value>);

impl Args {
    /// A non-empty string argument (numbers and booleans are stringified, as form posts would be).
    pub fn str(&self, k: &str) -> Option<String> {
        match self.0.get(k)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn flag(&self, k: &str) -> bool {
        matches!(self.str(k).as_deref(), Some("true" | "1"))
    }

    /// A JSON-valued argument (`blocks`): a JSON array in a JSON body, or a JSON string in a form.
    pub fn json(&self, k: &str) -> Result<Option<Value>, ()> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|_| ()),
            Some(v) => Ok(Some(v.clone())),
        }
    }

    pub fn limit(&self, default: usize, max: usize) -> usize {
        match self.str("limit").and_then(|l| l.parse::<usize>().ok()) {
            Some(0) | None => default,
            Some(n) => n.min(max),
        }
    }
}

/// Who is calling: a valid, unrevoked bot token.
pub(crate) struct Caller {
    pub team_id: String,
    pub bot_user_id: String,
    pub bot_id: String,
    pub scopes: Vec<String>,
}

impl Caller {
    pub fn has_any(&self, scopes: &[&str]) -> bool {
        scopes.iter().any(|s| self.scopes.iter().any(|t| t == s))
    }

    /// `missing_scope` unless the token has one of `scopes`; `needed` names the first, as in
    /// `{'ok': False, 'error': 'missing_scope', 'needed': 'groups:history', 'provided': 'channels:history,…'}`
    /// (a real answer quoted in DataDog/slapr#47: the needed scope follows the channel type).
    pub fn require(&self, scopes: &[&str]) -> Result<(), ApiError> {
        if scopes.is_empty() || self.has_any(scopes) {
            return Ok(());
        }
        let mut e = err("missing_scope");
        e.extra.insert("needed".into(), json!(scopes[0]));
        e.extra.insert("provided".into(), json!(self.scopes.join(",")));
        Err(e)
    }

    /// The scopes that let this method act on a public / private channel.
    pub fn require_kind(&self, spec: &Spec, is_private: bool) -> Result<(), ApiError> {
        self.require(if is_private { spec.private } else { spec.public })
    }
}

pub(crate) type Handler = fn(&mut State, &Caller, &Spec, &Args) -> Reply;

/// One emulated method: tier and bot scopes from slack-ruby/slack-api-ref
/// `docs.slack.dev/methods/<method>.json` (commit f4837c0c, the one the reference cites).
pub(crate) struct Spec {
    pub name: &'static str,
    pub tier: Tier,
    /// Every bot scope the docs accept (the `x-accepted-oauth-scopes` header).
    pub accepted: &'static [&'static str],
    /// The subset that works on public channels / private channels (same list when n/a).
    pub public: &'static [&'static str],
    pub private: &'static [&'static str],
    pub handler: Handler,
}

const READ: &[&str] = &["groups:read", "im:read", "mpim:read", "channels:read"];
const WRITE: &[&str] = &["groups:write", "im:write", "mpim:write", "channels:write", "channels:manage"];
const CHAT: &[&str] = &["chat:write"];

#[rustfmt::skip]
pub(crate) static METHODS: &[Spec] = &[
    Spec { name: "auth.test", tier: Tier::Special, accepted: &[], public: &[], private: &[], handler: chat::auth_test },
    Spec { name: "conversations.create", tier: Tier::T2, accepted: WRITE, public: &["channels:manage", "channels:write"], private: &["groups:write"], handler: conversations::create },
    Spec { name: "conversations.setTopic", tier: Tier::T2,
        accepted: &["channels:write.topic", "groups:write.topic", "mpim:write.topic", "im:write.topic", "channels:manage", "groups:write", "im:write", "mpim:write"],
        public: &["channels:write.topic", "channels:manage"], private: &["groups:write.topic", "groups:write"], handler: conversations::set_topic },
    Spec { name: "conversations.invite", tier: Tier::T3,
        accepted: &["channels:write.invites", "groups:write.invites", "channels:manage", "groups:write", "im:write", "mpim:write"],
        public: &["channels:write.invites", "channels:manage"], private: &["groups:write.invites", "groups:write"], handler: conversations::invite },
    Spec { name: "conversations.archive", tier: Tier::T2, accepted: WRITE, public: &["channels:manage", "channels:write"], private: &["groups:write"], handler: conversations::archive },
    Spec { name: "conversations.history", tier: Tier::T3, accepted: &["groups:history", "im:history", "mpim:history", "channels:history"],
        public: &["channels:history"], private: &["groups:history"], handler: conversations::history },
    Spec { name: "conversations.info", tier: Tier::T3, accepted: READ, public: &["channels:read"], private: &["groups:read"], handler: conversations::info },
    Spec { name: "conversations.list", tier: Tier::T2, accepted: READ, public: &["channels:read"], private: &["groups:read"], handler: conversations::list },
    Spec { name: "users.conversations", tier: Tier::T3, accepted: READ, public: &["channels:read"], private: &["groups:read"], handler: conversations::user_conversations },
    Spec { name: "chat.postMessage", tier: Tier::PerChannel, accepted: CHAT, public: CHAT, private: CHAT, handler: chat::post_message },
    Spec { name: "chat.update", tier: Tier::T3, accepted: CHAT, public: CHAT, private: CHAT, handler: chat::update },
    Spec { name: "chat.startStream", tier: Tier::T2, accepted: CHAT, public: CHAT, private: CHAT, handler: stream::start },
    Spec { name: "chat.appendStream", tier: Tier::T4, accepted: CHAT, public: CHAT, private: CHAT, handler: stream::append },
    Spec { name: "chat.stopStream", tier: Tier::T2, accepted: CHAT, public: CHAT, private: CHAT, handler: stream::stop },
    Spec { name: "conversations.replies", tier: Tier::T3, accepted: &["groups:history", "im:history", "mpim:history", "channels:history"],
        public: &["channels:history"], private: &["groups:history"], handler: stream::replies },
    Spec { name: "chat.postEphemeral", tier: Tier::T4, accepted: CHAT, public: CHAT, private: CHAT, handler: chat::post_ephemeral },
    Spec { name: "reactions.add", tier: Tier::T3, accepted: &["reactions:write"], public: &["reactions:write"], private: &["reactions:write"], handler: chat::reactions_add },
    // users.lookupByEmail: the scrape lists only users:read.email (whether users:read is also
    // needed is UNCERTAIN per reference §4; the sandbox asks for users:read.email alone).
    Spec { name: "users.lookupByEmail", tier: Tier::T3, accepted: &["users:read.email"], public: &["users:read.email"], private: &["users:read.email"], handler: chat::lookup_by_email },
    Spec { name: "users.info", tier: Tier::T4, accepted: &["users:read"], public: &["users:read"], private: &["users:read"], handler: chat::users_info },
];

pub(crate) fn router(sb: SlackSandbox) -> Router {
    Router::new()
        .route("/api/{method}", get(api).post(api))
        .route("/oauth/v2/authorize", get(oauth::authorize))
        .route("/response/{id}", post(callbacks::response_url))
        .with_state(sb)
}

async fn api(AxState(sb): AxState<SlackSandbox>, Path(name): Path<String>, headers: HeaderMap, RawQuery(q): RawQuery, body: Bytes) -> Response {
    if sb.holds().pass(&name, HoldPoint::Before).await == Release::Abort {
        return aborted();
    }
    let response = sb.with_state(|st| handle(st, &name, &headers, q.as_deref(), &body));
    if sb.holds().pass(&name, HoldPoint::After).await == Release::Abort {
        return aborted();
    }
    response
}

/// A held call let go with `Release::Abort` (see `crate::hold`).
fn aborted() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "held call aborted").into_response()
}

/// The answer before it becomes HTTP: status, token scopes, accepted scopes, extra headers, body.
struct Answer {
    status: StatusCode,
    scopes: String,
    accepted: String,
    retry_after: Option<u64>,
    body: Value,
}

fn handle(st: &mut State, name: &str, headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Response {
    let answer = answer(st, name, headers, query, body);
    let ok = answer.body["ok"] == json!(true);
    st.calls.push((name.to_string(), ok));
    let mut resp = (answer.status, answer.body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    let hv = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
    h.insert("x-oauth-scopes", hv(&answer.scopes));
    h.insert("x-accepted-oauth-scopes", hv(&answer.accepted));
    if let Some(secs) = answer.retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

fn failure(e: ApiError) -> Value {
    let mut body = Map::new();
    body.insert("ok".into(), json!(false));
    body.insert("error".into(), json!(e.code));
    body.extend(e.extra);
    Value::Object(body)
}

fn success(v: Value) -> Value {
    let mut body = Map::new();
    body.insert("ok".into(), json!(true));
    if let Value::Object(m) = v {
        body.extend(m);
    }
    Value::Object(body)
}

fn answer(st: &mut State, name: &str, headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Answer {
    let mut a = Answer { status: StatusCode::OK, scopes: String::new(), accepted: String::new(), retry_after: None, body: Value::Null };
    // UNCERTAIN: Slack's unknown_method answer also echoes `req_method`; reproduced here.
    let spec = METHODS.iter().find(|s| s.name == name);
    if spec.is_none() && name != "oauth.v2.access" {
        a.body = json!({"ok": false, "error": "unknown_method", "req_method": name});
        return a;
    }
    let (args, form_token) = match parse_args(headers, query, body) {
        Ok(parsed) => parsed,
        Err(code) => {
            a.body = failure(err(code));
            return a;
        }
    };
    let Some(spec) = spec else {
        a.body = match oauth::access(st, headers, &args) {
            Ok(v) => success(v),
            Err(e) => failure(e),
        };
        return a;
    };
    a.accepted = spec.accepted.join(",");
    let caller = match authenticate(st, headers, form_token) {
        Ok(c) => c,
        Err(e) => {
            a.body = failure(e);
            return a;
        }
    };
    a.scopes = caller.scopes.join(",");
    if st.cfg.enforce_rate_limits {
        let mut key = format!("{}:{}", caller.team_id, spec.name);
        if spec.tier == Tier::PerChannel {
            key = format!("{key}:{}", args.str("channel").unwrap_or_default());
        }
        if let Err(secs) = st.limiter.take(key, spec.tier, Instant::now()) {
            st.rate_limited += 1;
            a.status = StatusCode::TOO_MANY_REQUESTS;
            a.retry_after = Some(secs);
            a.body = json!({"ok": false, "error": "ratelimited"});
            return a;
        }
    }
    // The method-level check: a token with none of the accepted scopes fails at once; the
    // channel-type check (public vs private) happens in the handler once the channel is known.
    let default_needed = if spec.name == "conversations.create" && args.flag("is_private") { spec.private } else { spec.public };
    let result = if caller.has_any(spec.accepted) || spec.accepted.is_empty() {
        (spec.handler)(st, &caller, spec, &args)
    } else {
        caller.require(default_needed).map(|_| Value::Null)
    };
    a.body = match result {
        Ok(v) => success(v),
        Err(e) => failure(e),
    };
    a
}

/// Merged arguments and the form-body token. Tokens are taken from the Authorization header
/// or a url-encoded POST body only: "To make use of sending JSON on write operations, you must
/// provide your token value using an Authorization HTTP header" (changelog 2017-10 "keeping up
/// with the JSONs"), and apps created after 2021-02-24 "may no longer send tokens as query
/// parameters" (changelog 2020-11-no-more-tokens-in-querystrings-for-newly-created-apps).
fn parse_args(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Result<(Args, Option<String>), &'static str> {
    let mut map = Map::new();
    if let Some(q) = query {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).map_err(|_| "invalid_form_data")?;
        map.extend(pairs.into_iter().filter(|(k, _)| k != "token").map(|(k, v)| (k, Value::String(v))));
    }
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let mut form_token = None;
    if body.iter().all(u8::is_ascii_whitespace) {
        // nothing to read
    } else if ctype.starts_with("application/json") {
        let v: Value = serde_json::from_slice(body).map_err(|_| "invalid_json")?;
        let Value::Object(obj) = v else { return Err("json_not_object") };
        map.extend(obj.into_iter().filter(|(k, _)| k != "token"));
    } else if ctype.is_empty() || ctype.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| "invalid_form_data")?;
        for (k, v) in pairs {
            if k == "token" {
                form_token = Some(v);
            } else {
                map.insert(k, Value::String(v));
            }
        }
    } else {
        // multipart/form-data is real Slack but not emulated here.
        return Err("invalid_post_type");
    }
    Ok((Args(map), form_token))
}

fn authenticate(st: &State, headers: &HeaderMap, form_token: Option<String>) -> Result<Caller, ApiError> {
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ").map(|t| t.trim().to_string()));
    let Some(token) = bearer.filter(|t| !t.is_empty()).or(form_token.filter(|t| !t.is_empty())) else {
        return Err(err("not_authed"));
    };
    let info = st.tokens.get(&token).ok_or_else(|| err("invalid_auth"))?;
    if info.revoked {
        return Err(err("token_revoked"));
    }
    let ws = st.workspace(&info.team_id).ok_or_else(|| err("invalid_auth"))?;
    Ok(Caller { team_id: ws.id.clone(), bot_user_id: ws.bot_user_id.clone(), bot_id: ws.bot_id.clone(), scopes: info.scopes.clone() })
}
