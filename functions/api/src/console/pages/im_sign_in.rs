//! Signing in to the console through the team's IM, for members whose role is `admin`.
//!
//! The tenant is not known before sign-in, so there are two ways in:
//! - the integration's console sign-in link, `/console/sign-in/im/{integration_id}` (shown
//!   on the integration's page, to bookmark or share with the admins): the integration
//!   names the tenant;
//! - the sign-in page's *Sign in with …* buttons, for a browser that signed in to a tenant
//!   before: a signed cookie ([`hint_cookie`]) remembers which tenant, never who.
//!
//! The link starts the platform's sign-in (the integration's registered redirect URL, served
//! by the OAuth function, which links the account and checks the role) and comes back to
//! [`done`] with a single-use ticket, which becomes the session. The session names the
//! member and the integration, and is checked against both on every request.

use super::platform_name;
use crate::console::layout::{self, Notice, Section};
use crate::console::session::{self, Principal};
use crate::console::signing::{self, Keys};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use std::collections::HashMap;
use warroom_core::{Integration, IntegrationId, IntegrationStatus, MemberRole, TenantId};
use warroom_http::oauth_state::{self, Pending};
use warroom_http::AppState;

/// The cookie that remembers which tenant this browser signed in to.
pub const HINT_COOKIE: &str = "warroom_console_tenant";
const HINT_LIFETIME_SECS: i64 = 90 * 24 * 3600;

fn refused(status: StatusCode, message: &str) -> Response {
    let body = html! {
        p.notice.failed role="alert" { (message) }
        p { "No console session was made. " a href="/console/" { "Back to sign-in" } }
    };
    layout::respond(status, layout::page::<Notice>("Sign-in refused", None, Section::None, &[], body))
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "console IM sign-in: backend unavailable");
    refused(StatusCode::SERVICE_UNAVAILABLE, "The console is briefly unavailable; try again shortly.")
}

/// Whether people can sign in through this integration: active, and its platform offers it.
pub fn offers_sign_in(state: &AppState, i: &Integration) -> bool {
    i.status == IntegrationStatus::Active && state.platforms.as_ref().and_then(|p| p.module(i.platform)).is_some_and(|m| m.sign_in().is_some())
}

/// `GET /console/sign-in/im/{integration_id}`: off to the platform's sign-in page.
pub async fn start(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let integration = match state.store().get_integration(&IntegrationId::new(id)).await {
        Ok(Some(i)) => i,
        Ok(None) => return refused(StatusCode::NOT_FOUND, "This console sign-in link belongs to no integration. Ask an admin for your team's link."),
        Err(e) => return unavailable(e),
    };
    let (Some(platforms), true) = (state.platforms.as_ref(), offers_sign_in(&state, &integration)) else {
        return refused(
            StatusCode::NOT_FOUND,
            "Signing in through this integration is not offered (its platform has no sign-in, or the app was revoked). Sign in with an admin API key.",
        );
    };
    let Some(sign_in) = platforms.module(integration.platform).and_then(|m| m.sign_in()) else { return refused(StatusCode::NOT_FOUND, "Not offered.") };
    let pending = Pending::ConsoleSignIn { tenant_id: integration.tenant_id.clone(), integration_id: integration.id.clone() };
    let st = match oauth_state::begin(&state, &pending).await {
        Ok(st) => st,
        Err(e) => return unavailable(e),
    };
    let redirect_uri = oauth_state::sign_in_redirect_uri(&state.settings.public_url, &integration.id);
    match sign_in.authorize_url(platforms, &integration, &redirect_uri, &st) {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => refused(StatusCode::SERVICE_UNAVAILABLE, &format!("The integration cannot be used for sign-in: {e}")),
    }
}

/// `GET /console/sign-in/im/done?ticket=…`: the OAuth function's hand-over, made a session.
pub async fn done(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>) -> Response {
    let ticket = match oauth_state::take_ticket(&state, query.get("ticket").map_or("", String::as_str)).await {
        Ok(Some(t)) => t,
        Ok(None) => return refused(StatusCode::BAD_REQUEST, "This sign-in link expired or was already used. Sign in through the IM again."),
        Err(e) => return unavailable(e),
    };
    // Checked again here: the role or the link may have changed since the hand-over.
    let member = match state.store().get_member(&ticket.tenant_id, &ticket.member_id).await {
        Ok(Some(m)) if m.role == MemberRole::Admin => m,
        Ok(_) => return refused(StatusCode::FORBIDDEN, "You are not a console admin of this team."),
        Err(e) => return unavailable(e),
    };
    match state.store().link_by_member(&ticket.tenant_id, &ticket.integration_id, &member.id).await {
        Ok(Some(_)) => {}
        Ok(None) => return refused(StatusCode::FORBIDDEN, "Your IM account is no longer linked to your Warroom member."),
        Err(e) => return unavailable(e),
    }
    let keys = match signing::keys(&state).await {
        Ok(keys) => keys,
        Err(e) => return unavailable(e),
    };
    let principal = Principal::Member { member: member.id.clone(), integration: ticket.integration_id.clone() };
    let token = session::issue(&keys, &ticket.tenant_id, &principal, state.clock().now());
    tracing::info!(tenant = %ticket.tenant_id, member = %member.id, integration = %ticket.integration_id, "console sign-in through the IM");
    // A page, not a redirect: after a chain of redirects begun on the IM's site the browser
    // would not send the new SameSite=Strict cookie; a refresh from this page is same-site.
    let home = super::signin::HOME;
    let body = html! {
        p role="status" { "Signed in as " strong { (member.name) } ". " a href=(home) { "Continue to the console" } }
    };
    let head = html! { meta http-equiv="refresh" content={ "0; url=" (home) }; };
    let mut response = layout::respond(StatusCode::OK, layout::page_with_head::<Notice>("Signed in", None, Section::None, &[], body, head));
    response.headers_mut().append(header::SET_COOKIE, session::set_cookie(&state, &token));
    if let Some(hint) = hint_cookie(&state, &keys, &ticket.tenant_id) {
        response.headers_mut().append(header::SET_COOKIE, hint);
    }
    response
}

/// `Set-Cookie` remembering the tenant (signed, so the sign-in page lists only a tenant this
/// browser really signed in to).
pub fn hint_cookie(state: &AppState, keys: &Keys, tenant: &TenantId) -> Option<HeaderValue> {
    let value = hex::encode(tenant.as_str());
    let signature = keys.sign_session(&format!("tenant-hint.{value}"));
    let cookie = format!("{HINT_COOKIE}={value}.{signature}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={HINT_LIFETIME_SECS}{}", session::secure(state));
    HeaderValue::from_str(&cookie).ok()
}

/// The remembered tenant, if the cookie is well signed.
fn hinted_tenant(keys: &Keys, headers: &HeaderMap) -> Option<TenantId> {
    let raw = session::cookie(headers, HINT_COOKIE)?;
    let (value, signature) = raw.split_once('.')?;
    if !keys.verify_session(&format!("tenant-hint.{value}"), signature) {
        return None;
    }
    let tenant = String::from_utf8(hex::decode(value).ok()?).ok()?;
    Some(TenantId::from(tenant.as_str()))
}

/// The sign-in page's *Sign in with …* buttons, for the remembered tenant.
pub async fn buttons(state: &AppState, headers: &HeaderMap) -> Markup {
    let Ok(keys) = signing::keys(state).await else { return html! {} };
    let Some(tenant) = hinted_tenant(&keys, headers) else { return html! {} };
    let integrations = state.store().list_integrations(&tenant).await.unwrap_or_default();
    let offered: Vec<&Integration> = integrations.iter().filter(|i| offers_sign_in(state, i)).collect();
    if offered.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Admins: sign in through your IM" }
        ul.actions {
            @for i in offered {
                li { a.button href={ "/console/sign-in/im/" (i.id) } { "Sign in with " (platform_name(i.platform.as_str())) " (" (i.name) ")" } }
            }
        }
    }
}
