//! [`DingTalkSandbox`]: the shared world, its set-up and inspection methods, and request routing.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;

use super::gate::{self, Route};
use super::reply::{not_found, Gen, Reply};
use super::state::{App, State, User};
use super::{auth, cards, contact, groups, messages, streaming, AppConfig, CallRecord, Req, SandboxConfig};
use crate::hold::Holds;

/// The DingTalk sandbox. Cheap to clone; all clones share one world.
#[derive(Clone)]
pub struct DingTalkSandbox {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: SandboxConfig,
    pub state: Mutex<State>,
    pub http: reqwest::Client,
    pub holds: Holds,
}

impl DingTalkSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        let inner = Inner { config, state: Mutex::new(State::new()), http: reqwest::Client::new(), holds: Holds::default() };
        DingTalkSandbox { inner: Arc::new(inner) }
    }

    /// The HTTP surface; see [`super::router`].
    pub fn router(&self) -> Router {
        super::router(self)
    }

    /// Serves the sandbox on `127.0.0.1:0`; returns its base URL (also set as [`Self::set_base_url`]).
    pub async fn serve_local(&self) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        self.set_base_url(&base);
        let app = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(base)
    }

    /// Where the sandbox is served: robot callbacks' `sessionWebhook` URLs point there.
    pub fn set_base_url(&self, base: &str) {
        self.lock().base_url = base.trim_end_matches('/').to_string();
    }

    /// Holding one call in flight (`POST /v1.0/robot/groupMessages/send`; `*` = one segment).
    pub fn holds(&self) -> &Holds {
        &self.inner.holds
    }

    pub fn add_app(&self, app: AppConfig) {
        let app = App {
            client_id: app.client_id,
            client_secret: app.client_secret,
            corp_id: app.corp_id,
            group_robot_code: app.group_robot_code,
            template_ids: app.template_ids.into_iter().collect(),
            edition: app.edition,
            permissions: app.permissions.into_iter().collect(),
            event_url: app.event_url,
            event_token: app.event_token,
            event_aes_key: app.event_aes_key,
            robot_url: app.robot_url,
        };
        self.lock().apps.insert(app.client_id.clone(), app);
    }

    /// Replaces an app's granted permission points (a missing grant, or one granted later).
    pub fn set_permissions(&self, client_id: &str, permissions: &[&str]) {
        if let Some(app) = self.lock().apps.get_mut(client_id) {
            app.permissions = permissions.iter().map(|p| p.to_string()).collect();
        }
    }

    /// Points the app's event subscription and robot message callbacks at the bundle.
    pub fn set_callback_urls(&self, client_id: &str, event_url: Option<&str>, robot_url: Option<&str>) {
        if let Some(app) = self.lock().apps.get_mut(client_id) {
            app.event_url = event_url.map(str::to_string);
            app.robot_url = robot_url.map(str::to_string);
        }
    }

    /// Adds an org member. DingTalk finds users by mobile only (§4); the email is kept for the view.
    pub fn add_user(&self, user_id: &str, name: &str, mobile: Option<&str>, email: Option<&str>) {
        let user = User {
            user_id: user_id.to_string(),
            union_id: format!("union{}", super::state::hex_id(10)),
            name: name.to_string(),
            mobile: mobile.map(str::to_string),
            email: email.map(str::to_string),
        };
        let mut st = self.lock();
        st.users.retain(|u| u.user_id != user_id);
        st.users.push(user);
    }

    /// Moves the sandbox clock forward (token expiry, QPS windows, the month of the quota).
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

    /// Every call answered so far, in order.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.lock().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Calls refused by the QPS limit (90018 / `QpsLimitForAppkeyAndApi`).
    pub fn rate_limited_count(&self) -> usize {
        self.lock().calls.iter().filter(|c| c.code == "90018" || c.code == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi").count()
    }

    /// Metered calls the app made in the current (China-time) month.
    pub fn calls_this_month(&self, client_id: &str) -> u64 {
        let st = self.lock();
        let month = st.month(st.now());
        st.app_usage.get(&(client_id.to_string(), month)).copied().unwrap_or(0)
    }

    /// Sets how many metered calls the app's org has made this month (to reach the quota
    /// without making 10,000 calls).
    pub fn set_org_calls_this_month(&self, client_id: &str, calls: u64) {
        let mut st = self.lock();
        let month = st.month(st.now());
        if let Some(corp) = st.apps.get(client_id).map(|a| a.corp_id.clone()) {
            st.corp_usage.insert((corp, month), calls);
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Answers one request and records it, under one lock.
    pub(crate) fn handle(&self, req: &Req) -> Reply {
        let mut st = self.lock();
        let (app_id, reply) = self.route(&mut st, req);
        let at = st.now();
        if reply.status >= 400 || !reply.is_ok() {
            tracing::debug!(path = %req.path, status = reply.status, code = %reply.code(), "dingtalk sandbox: call refused");
        }
        st.calls.push(CallRecord {
            method: req.method.to_string(),
            path: req.path.clone(),
            query: req.redacted_query(),
            app_id,
            ok: reply.is_ok(),
            status: reply.status,
            code: reply.code(),
            at,
        });
        reply
    }

    fn route(&self, st: &mut State, req: &Req) -> (Option<String>, Reply) {
        let ttl = self.inner.config.token_ttl;
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/gettoken") => return auth::get_token(st, req, ttl),
            ("POST", "/v1.0/oauth2/accessToken") => return auth::access_token(st, req, ttl),
            ("POST", "/robot/sendBySession") => return (None, messages::send_by_session(st, req)),
            _ => {}
        }
        let Some(route) = Route::parse(req.method.as_str(), &req.path) else {
            return (None, not_found(Gen::of(&req.path), &req.path));
        };
        let app = match gate::gate(st, req, route, self.inner.config.enforce_rate_limits) {
            Ok(app) => app,
            Err((app, reply)) => return (app, reply),
        };
        let reply = match route {
            Route::SceneGroupCreate | Route::SceneGroupCreateOld => groups::create(st, req, &app),
            Route::MemberAdd => groups::change_members(st, req, &app, true),
            Route::MemberRemove => groups::change_members(st, req, &app, false),
            Route::SceneGroupUpdate => groups::update(st, req, &app),
            Route::GroupInfo => groups::info(st, req, &app),
            Route::GroupMembers => groups::members(st, req, &app),
            Route::Disband => groups::disband(st, req, &app),
            Route::RobotSend => messages::send(st, req, &app),
            Route::CardRegister => cards::register(st, req, &app),
            Route::CardCreate => cards::create(st, req, &app),
            Route::CardDeliver => cards::deliver(st, req, &app),
            Route::CardCreateAndDeliver => cards::create_and_deliver(st, req, &app),
            Route::CardUpdate => cards::update(st, req, &app),
            Route::CardStreaming => streaming::update(st, req, &app),
            Route::UserByMobile => contact::get_by_mobile(st, req),
        };
        (Some(app), reply)
    }
}
