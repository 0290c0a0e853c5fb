//! Post-redirect-get: a form that succeeded answers `303 See Other` to the page it changed,
//! and what it did travels there in a short-lived cookie, sealed (AES-GCM, by the
//! deployment's SecretBox) under a context bound to the session, so it can be neither read
//! (it may carry a new API key, shown once) nor forged nor shown to another session. The
//! page that shows it clears it: a reload shows the page without re-posting anything.

use super::session::{self, Session};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use warroom_core::SealedCredentials;
use warroom_http::AppState;

pub const COOKIE: &str = "warroom_flash";
/// Long enough for the redirect to be followed, short enough not to linger.
const LIFETIME_SECS: i64 = 120;
/// A cookie holds about 4 KB; a message is a sentence.
const MAX_MESSAGE: usize = 600;

/// What the last form did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flash {
    pub message: String,
    /// A new API key (`label`, `key`), shown once on the keys page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    expires: i64,
}

impl Flash {
    pub fn new(message: impl Into<String>, now_ms: i64) -> Self {
        let message: String = message.into();
        Self { message: message.chars().take(MAX_MESSAGE).collect(), key: None, expires: now_ms / 1000 + LIFETIME_SECS }
    }
}

fn context(session_token: &str) -> String {
    format!("console:flash:{}", hex::encode(&Sha256::digest(session_token.as_bytes())[..16]))
}

/// The flash of this session in the request, if any (unexpired, sealed for this session).
pub fn read(state: &AppState, headers: &HeaderMap, session_token: &str) -> Option<Flash> {
    let sealed = session::cookie(headers, COOKIE).filter(|v| !v.is_empty())?;
    let opened = state.secrets.open(&SealedCredentials(sealed), &context(session_token)).ok()?;
    let flash: Flash = serde_json::from_str(opened.expose()).ok()?;
    (flash.expires > state.clock().now().0 / 1000).then_some(flash)
}

/// `303 See Other` to `to`, carrying `flash`.
pub fn redirect(session: &Session, to: &str, flash: Flash) -> Response {
    let state = session.api.state();
    let json = serde_json::to_string(&flash).expect("a flash serializes");
    let sealed = state.secrets.seal(&json, &context(&session.token));
    let secure = session::secure(state);
    let cookie = format!("{COOKIE}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={LIFETIME_SECS}{secure}", sealed.0);
    let mut response = see_other(to);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `303 See Other` to `to` with `message`.
pub fn done(session: &Session, to: &str, message: impl Into<String>) -> Response {
    redirect(session, to, Flash::new(message, session.api.state().clock().now().0))
}

pub fn see_other(to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

/// `Set-Cookie` that removes a shown flash.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let value = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}", if secure { "; Secure" } else { "" });
    HeaderValue::from_str(&value).expect("ASCII")
}
