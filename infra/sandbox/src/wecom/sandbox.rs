//! [`WeComSandbox`]: the shared world, its set-up and inspection methods, and request routing.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;

use super::gate::{self, Route};
use super::reply::{codes, fail, Reply};
use super::state::{App, State, User};
use super::{aibot, appchat, auth, cards, contact, AppConfig, CallRecord, Dropped, Req, SandboxConfig, Tamper};
use crate::hold::Holds;

/// The WeCom sandbox. Cheap to clone; all clones share one world.
#[derive(Clone)]
pub struct WeComSandbox {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: SandboxConfig,
    pub state: Mutex<State>,
    pub http: reqwest::Client,
    pub holds: Holds,
}

impl WeComSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        let inner = Inner { config, state: Mutex::new(State::new()), http: reqwest::Client::new(), holds: Holds::default() };
        WeComSandbox { inner: Arc::new(inner) }
    }

    /// The HTTP surface (WeCom's real paths under the router root); see [`super::router`].
    pub fn router(&self) -> Router {
        super::router(self)
    }

    /// Serves on `127.0.0.1:0` with the TCP peer visible to the trusted-IP check; returns the
    /// base URL (also set as [`Self::set_base_url`]).
    pub async fn serve_local(&self) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        self.set_base_url(&base);
        let app = self.router().into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(base)
    }

    /// Where the sandbox is served: bot callbacks' `response_url`s point there.
    pub fn set_base_url(&self, base: &str) {
        self.lock().base_url = base.trim_end_matches('/').to_string();
    }

    pub fn base_url(&self) -> String {
        self.lock().base_url.clone()
    }

    /// Holding one call in flight (`POST /cgi-bin/appchat/send`).
    pub fn holds(&self) -> &Holds {
        &self.inner.holds
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    pub fn add_app(&self, app: AppConfig) {
        let app = App {
            corp_id: app.corp_id,
            agent_id: app.agent_id,
            secret: app.secret,
            callback_url: app.callback_url,
            callback_token: app.callback_token,
            callback_aes_key: app.callback_aes_key,
            bot_id: app.bot_id,
            bot_name: app.bot_name,
            bot_url: app.bot_url,
            bot_token: app.bot_token,
            bot_aes_key: app.bot_aes_key,
            trusted_ips: app.trusted_ips.map(|ips| ips.into_iter().collect()),
        };
        self.lock().apps.insert(app.agent_id, app);
    }

    /// Points the app's "API接收" URL and the bot's callback URL at the bundle.
    pub fn set_callback_urls(&self, agent_id: i64, callback_url: Option<&str>, bot_url: Option<&str>) {
        if let Some(app) = self.lock().apps.get_mut(&agent_id) {
            app.callback_url = callback_url.map(str::to_string);
            app.bot_url = bot_url.map(str::to_string);
        }
    }

    /// Sets (or with `None` removes) the app's 企业可信IP list.
    pub fn set_trusted_ips(&self, agent_id: i64, ips: Option<&[&str]>) {
        if let Some(app) = self.lock().apps.get_mut(&agent_id) {
            app.trusted_ips = ips.map(|ips| ips.iter().map(|s| s.to_string()).collect());
        }
    }

    /// The caller address the sandbox reports and checks, instead of the TCP peer (`None`: the peer).
    pub fn set_seen_ip(&self, ip: Option<&str>) {
        self.lock().seen_ip = ip.map(str::to_string);
    }

    /// Adds a member; `email` is the corporate mailbox (`email_type` 1). Visible to the apps.
    pub fn add_user(&self, userid: &str, name: &str, mobile: Option<&str>, email: Option<&str>) {
        let user = User {
            userid: userid.to_string(),
            name: name.to_string(),
            mobile: mobile.map(str::to_string),
            biz_mail: email.map(str::to_string),
            email: None,
            visible: true,
        };
        let mut st = self.lock();
        st.users.retain(|u| u.userid != userid);
        st.users.push(user);
    }

    /// Sets a member's personal email (`email_type` 2).
    pub fn set_personal_email(&self, userid: &str, email: &str) {
        if let Some(u) = self.lock().users.iter_mut().find(|u| u.userid == userid) {
            u.email = Some(email.to_string());
        }
    }

    /// Puts a member inside or outside the apps' visibility range (lookups answer 60011 outside).
    pub fn set_user_visible(&self, userid: &str, visible: bool) {
        if let Some(u) = self.lock().users.iter_mut().find(|u| u.userid == userid) {
            u.visible = visible;
        }
    }

    /// Expires the app's tokens now: their next use answers 42001 (§1 refresh codes).
    pub fn expire_tokens(&self, agent_id: i64) {
        let mut st = self.lock();
        let now = st.now();
        st.tokens.values_mut().filter(|t| t.agent_id == agent_id).for_each(|t| t.expires_at = t.expires_at.min(now));
    }

    /// Invalidates the app's tokens early ("WeCom may invalidate early", §1): next use answers 40014.
    pub fn revoke_tokens(&self, agent_id: i64) {
        let mut st = self.lock();
        st.tokens.retain(|_, t| t.agent_id != agent_id);
        st.latest_token.remove(&agent_id);
    }

    /// Applies `tamper` to the next callback the sandbox sends (then it is cleared).
    pub fn tamper_next(&self, tamper: Tamper) {
        self.lock().tamper_next = Some(tamper);
    }

    /// Moves the sandbox clock forward (tokens, codes, limits, stream deadlines).
    pub fn advance(&self, by: Duration) {
        self.lock().advance(by);
    }

    /// Stops real time: the clock then moves only by [`Self::advance`]. No unfreezing.
    pub fn freeze_clock(&self) {
        self.lock().freeze();
    }

    pub fn now(&self) -> Duration {
        self.lock().now()
    }

    /// Every API call answered so far, in order.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.lock().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Calls answered `errcode` (e.g. 45009 for the rate limit).
    pub fn calls_with(&self, errcode: i64) -> usize {
        self.lock().calls.iter().filter(|c| c.errcode == errcode).count()
    }

    /// App messages accepted but not delivered (§5).
    pub fn dropped(&self) -> Vec<Dropped> {
        self.lock().dropped.clone()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Answers one request and records it, under one lock.
    pub(crate) fn handle(&self, req: &Req) -> Reply {
        let mut st = self.lock();
        let (agent_id, reply) = self.route(&mut st, req);
        let at = st.now();
        if reply.errcode() != 0 {
            tracing::debug!(path = %req.path, errcode = reply.errcode(), "wecom sandbox: call refused");
        }
        st.calls.push(CallRecord {
            method: req.method.to_string(),
            path: req.path.clone(),
            query: req.redacted_query(),
            agent_id,
            errcode: reply.errcode(),
            ip: req.ip.clone(),
            at,
        });
        reply
    }

    fn route(&self, st: &mut State, req: &Req) -> (Option<i64>, Reply) {
        let config = &self.inner.config;
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/cgi-bin/gettoken") => return auth::get_token(st, req, config.token_ttl),
            // No access_token: the response_code is the credential (notes Q1, doc 101138).
            ("POST", "/cgi-bin/aibot/response") => return aibot::respond(st, req),
            _ => {}
        }
        let Some(route) = Route::parse(req.method.as_str(), &req.path) else {
            // UNCERTAIN: WeCom's answer to an unknown cgi path; 404-like errcode with HTTP 200.
            return (None, fail(codes::INVALID_PARAM, &format!("invalid api path {}", req.path), &req.ip));
        };
        let app = match gate::gate(st, req, route, config) {
            Ok(app) => app,
            Err((agent_id, reply)) => return (agent_id, reply),
        };
        let reply = match route {
            Route::ChatCreate => appchat::create(st, req, &app, config),
            Route::ChatUpdate => appchat::update(st, req, &app, config),
            Route::ChatGet => appchat::get(st, req, &app),
            Route::ChatSend => appchat::send(st, req, &app),
            Route::MessageSend => cards::send(st, req, &app, config),
            Route::UpdateCard => cards::update(st, req, &app),
            Route::UserByMobile => contact::by_mobile(st, req),
            Route::UserByEmail => contact::by_email(st, req),
        };
        (Some(app.agent_id), reply)
    }
}
