//! Signing in with an admin API key, and out.

use crate::console::csrf::Form;
use crate::console::layout::{self, Notice, Section};
use crate::console::session::{self, NoSession};
use crate::console::signing;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use std::collections::HashMap;
use warroom_core::KeyScope;
use warroom_http::{auth, AppState};

/// Where a signed-in admin lands.
pub const HOME: &str = "/console/incidents";

pub async fn root() -> Response {
    see_other("/console/")
}

pub fn see_other(to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

/// The sign-in form, or the console's home for a signed-in admin.
pub async fn show(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    match session::load(&state, &headers).await {
        Ok(_) => return see_other(HOME),
        Err(NoSession::Unavailable) => return NoSession::Unavailable.into_response(&state),
        Err(NoSession::SignIn { .. }) => {}
    }
    let notices = if query.contains_key("signed_out") {
        vec![Notice::Done("You are signed out.".into())]
    } else if query.contains_key("expired") {
        vec![Notice::Invalid("your session ended (it expired, or its API key was revoked); sign in again.".into())]
    } else {
        vec![]
    };
    let im = super::im_sign_in::buttons(&state, &headers).await;
    form_page(StatusCode::OK, &notices, im)
}

fn form_page(status: StatusCode, notices: &[Notice], im: maud::Markup) -> Response {
    let body = html! {
        (im)
        p { "Sign in with an " strong { "admin API key" } " of your tenant (from " code { "warroom-admin" } " or the API keys page). The key is checked once and never kept in the browser: you get a session for 12 hours." }
        form.stack method="post" action="/console/sign-in" {
            div {
                label for="key" { "Admin API key" }
                input #key type="password" name="key" required autocomplete="off" spellcheck="false" placeholder="wr_…";
            }
            div { button.primary type="submit" { "Sign in" } }
        }
        p.muted { "Members marked admin can sign in through the team's IM instead: with the console sign-in link on the integration's page (an admin can share it), or the button above once this browser has signed in." }
    };
    layout::respond(status, layout::page("Sign in", None, Section::None, notices, body))
}

fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    form_page(status, &[Notice::Invalid(message.into())], html! {})
}

/// Exchanges the key for a session cookie. The key is looked up exactly as the API does
/// (`Authorization: Bearer`), so what the API refuses the console refuses with its words.
pub async fn sign_in(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form_encoded = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the sign-in form.");
    }
    let key = form_urlencoded::parse(&body).find(|(k, _)| k == "key").map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    if key.is_empty() {
        return refused(StatusCode::BAD_REQUEST, "enter an admin API key.");
    }
    let Ok(bearer) = HeaderValue::from_str(&format!("Bearer {key}")) else {
        return refused(StatusCode::UNAUTHORIZED, "unknown API key");
    };
    let mut as_api = HeaderMap::new();
    as_api.insert(header::AUTHORIZATION, bearer);
    let record = match auth::authenticate(state.store().as_ref(), &as_api, KeyScope::Admin).await {
        Ok(record) => record,
        Err(e) => return refused(e.status, e.message),
    };
    let keys = match signing::keys(&state).await {
        Ok(keys) => keys,
        Err(e) => {
            tracing::warn!(error = %e, "console keys unavailable at sign-in");
            return refused(StatusCode::SERVICE_UNAVAILABLE, "the console is briefly unavailable; try again shortly.");
        }
    };
    let principal = session::Principal::Key(crate::keys::key_id(&record).to_owned());
    let token = session::issue(&keys, &record.tenant_id, &principal, state.clock().now());
    tracing::info!(tenant = %record.tenant_id, key = %record.prefix, "console sign-in");
    let mut response = see_other(HOME);
    response.headers_mut().append(header::SET_COOKIE, session::set_cookie(&state, &token));
    if let Some(hint) = super::im_sign_in::hint_cookie(&state, &keys, &record.tenant_id) {
        response.headers_mut().append(header::SET_COOKIE, hint);
    }
    response
}

pub async fn sign_out(State(state): State<AppState>, form: Form) -> Response {
    tracing::info!(tenant = %form.session.caller.tenant, key = %form.session.caller.prefix, "console sign-out");
    let mut response = see_other("/console/?signed_out=1");
    response.headers_mut().insert(header::SET_COOKIE, session::clear_cookie(&state));
    response
}
