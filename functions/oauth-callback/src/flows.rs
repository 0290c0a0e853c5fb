//! The browser flows: Slack install / re-authorize, and signing in from the IM app.

use crate::page::{self, page};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use warroom_core::{ImUserId, Integration, IntegrationId, IntegrationStatus, LinkMethod, Member, Platform, UserLink};
use warroom_http::oauth_state::{self as state, Pending};
use warroom_http::AppState;
use warroom_platforms::{slack, Platforms, SignedIn};

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

// The error is the page to answer with (axum handlers return it as is); boxing it would only
// add an allocation on the error path.
#[allow(clippy::result_large_err)]
fn platforms(app: &AppState) -> Result<Arc<Platforms>, Response> {
    app.platforms
        .clone()
        .ok_or_else(|| page::error(StatusCode::SERVICE_UNAVAILABLE, "Not available", "This deployment has no IM platform adapters configured."))
}

pub(crate) fn store_failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "oauth flow: store failed");
    page::error(StatusCode::SERVICE_UNAVAILABLE, "Try again", "Warroom could not reach its storage. Please try again in a minute.")
}

fn slack_redirect_uri(app: &AppState) -> String {
    format!("{}/oauth/slack/callback", app.settings.public_url.trim_end_matches('/'))
}

/// The Slack consent page for a new install or a re-authorize (`integration` set).
pub async fn slack_install_url(app: &AppState, tenant: &warroom_core::TenantId, integration: Option<IntegrationId>) -> Result<String, Response> {
    let platforms = platforms(app)?;
    let Some(slack_app) = &platforms.config.slack_app else {
        return Err(page::error(
            StatusCode::CONFLICT,
            "No Slack app",
            "This deployment has no Slack app of its own (WARROOM_SLACK_CLIENT_ID). Use a self-managed app with its bot token instead.",
        ));
    };
    let pending = Pending::SlackInstall { tenant_id: tenant.clone(), integration_id: integration };
    let state = state::begin(app, &pending).await.map_err(store_failed)?;
    let scopes: Vec<&str> = slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    Ok(slack::authorize_url(&platforms.config.slack_oauth_base, &slack_app.client_id, &scopes, &slack_redirect_uri(app), &state))
}

pub async fn slack_callback(State(app): State<AppState>, Query(q): Query<Callback>) -> Response {
    if let Some(error) = q.error {
        return page::error(
            StatusCode::BAD_REQUEST,
            "Slack was not connected",
            &format!("Slack answered \"{error}\". Start again from Warroom when you are ready."),
        );
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return page::error(StatusCode::BAD_REQUEST, "Incomplete answer", "The link is missing its code or state. Start the install again from Warroom.");
    };
    let pending = match state::finish(&app, &state).await {
        Ok(Some(Pending::SlackInstall { tenant_id, integration_id })) => (tenant_id, integration_id),
        Ok(_) => return page::error(StatusCode::BAD_REQUEST, "Link expired", "This install link expired or was already used. Start again from Warroom."),
        Err(e) => return store_failed(e),
    };
    match finish_slack_install(&app, code, pending.0, pending.1).await {
        Ok(response) => response,
        Err(response) => response,
    }
}

async fn finish_slack_install(app: &AppState, code: String, tenant: warroom_core::TenantId, reauthorize: Option<IntegrationId>) -> Result<Response, Response> {
    let platforms = platforms(app)?;
    let slack_app =
        platforms.config.slack_app.clone().ok_or_else(|| page::error(StatusCode::CONFLICT, "No Slack app", "This deployment has no Slack app of its own."))?;
    let grant = slack::exchange_code(
        platforms.http(),
        &platforms.config.slack_api_base,
        &slack_app.client_id,
        &slack_app.client_secret,
        &code,
        &slack_redirect_uri(app),
    )
    .await
    .map_err(|e| {
        tracing::warn!(error = %e, "slack oauth exchange failed");
        page::error(
            StatusCode::BAD_GATEWAY,
            "Slack refused the install",
            &format!("{e}. Start again from Warroom; if it keeps failing, check the app's client id and secret."),
        )
    })?;
    let team = grant.credentials.team_id.clone();
    let now = app.clock().now();
    let existing = app.store().find_integration_by_external(Platform::Slack, &team).await.map_err(store_failed)?;
    let integration = match existing {
        Some(i) if i.tenant_id != tenant => {
            return Err(page::error(StatusCode::CONFLICT, "Workspace already connected", "This Slack workspace is connected to another Warroom tenant."));
        }
        Some(i) if reauthorize.as_ref().is_some_and(|r| r != &i.id) => {
            return Err(page::error(
                StatusCode::CONFLICT,
                "Different workspace",
                "You authorized a different Slack workspace than the integration being re-authorized.",
            ));
        }
        // Re-authorize: new token and scopes; configuration and user links stay.
        Some(mut i) => {
            // Written over the version read; a concurrent update (a scope refresh, a
            // revocation heard from Slack) makes it read again and re-apply.
            let mut attempts = 0;
            loop {
                i.credentials = platforms.seal(&i.id, &grant.credentials);
                i.granted_scopes = grant.scopes.clone();
                i.status = IntegrationStatus::Active;
                i.updated_at = now;
                match app.store().update_integration(&i).await {
                    Ok(()) => break i,
                    Err(warroom_core::StoreError::VersionConflict { .. }) if attempts < 8 => {
                        attempts += 1;
                        i = app
                            .store()
                            .get_integration(&i.id)
                            .await
                            .map_err(store_failed)?
                            .ok_or_else(|| store_failed("the integration vanished during re-authorize"))?;
                    }
                    Err(e) => return Err(store_failed(e)),
                }
            }
        }
        None => {
            let id = IntegrationId::generate();
            let i = Integration {
                tenant_id: tenant,
                credentials: platforms.seal(&id, &grant.credentials),
                id,
                platform: Platform::Slack,
                name: grant.team_name.clone().unwrap_or_else(|| format!("Slack {team}")),
                external_id: Some(team.clone()),
                granted_scopes: grant.scopes.clone(),
                war_room_enabled: false,
                status: IntegrationStatus::Active,
                created_at: now,
                updated_at: now,
                version: 0,
            };
            app.store().create_integration(&i).await.map_err(store_failed)?;
            i
        }
    };
    let missing = integration.missing_scopes(&slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect::<Vec<_>>());
    let team_name = grant.team_name.clone().unwrap_or_else(|| team.clone());
    let mut lines = vec![format!("Warroom is connected to the Slack workspace {team_name} (integration {}).", integration.id)];
    if missing.is_empty() {
        lines.push("Every permission war rooms need was granted. Enable war rooms on this integration in Warroom.".into());
    } else {
        lines.push(format!("Still missing: {}. Re-authorize to grant them.", missing.join(", ")));
    }
    Ok(page(StatusCode::OK, "Slack connected", &lines))
}

pub(crate) async fn integration_of(app: &AppState, id: &str) -> Result<Integration, Response> {
    match app.store().get_integration(&IntegrationId::new(id)).await {
        Ok(Some(i)) => Ok(i),
        Ok(None) => Err(page::error(StatusCode::NOT_FOUND, "Unknown integration", "This link does not belong to any Warroom integration.")),
        Err(e) => Err(store_failed(e)),
    }
}

/// Where an integration's `reauthorize_url` points.
pub async fn authorize(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    let integration = match integration_of(&app, &id).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    match integration.platform {
        Platform::Slack => match slack_install_url(&app, &integration.tenant_id, Some(integration.id.clone())).await {
            Ok(url) => redirect(&url),
            Err(r) => r,
        },
        _ => {
            let required: Vec<&str> = app.engine.platforms.required_scopes(integration.platform).iter().map(|(s, _)| *s).collect();
            let missing = integration.missing_scopes(&required);
            page(
                StatusCode::OK,
                "Grant permissions in the developer console",
                &[
                    format!("{} apps get their permissions in the platform's developer console, not through this link.", integration.platform),
                    format!(
                        "Add these permissions, publish a new app version, then check again in Warroom: {}.",
                        if missing.is_empty() { "none missing".to_string() } else { missing.join(", ") }
                    ),
                ],
            )
        }
    }
}

fn sign_in_redirect_uri(app: &AppState, integration: &IntegrationId) -> String {
    state::sign_in_redirect_uri(&app.settings.public_url, integration)
}

/// The IM app's homepage for Warroom: sends the person through the platform's sign-in.
pub async fn sign_in(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    let integration = match integration_of(&app, &id).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let pending = Pending::SignIn { tenant_id: integration.tenant_id.clone(), integration_id: integration.id.clone() };
    match sign_in_url(&app, &integration, &pending).await {
        Ok(url) | Err(url) => url,
    }
}

/// A redirect to the platform's sign-in page for `pending` (to link an account, or to sign
/// in to the console), or the page saying why there is none.
pub async fn sign_in_url(app: &AppState, integration: &Integration, pending: &Pending) -> Result<Response, Response> {
    let platforms = platforms(app)?;
    let Some(sign_in) = platforms.module(integration.platform).and_then(|m| m.sign_in()) else {
        return Err(page::error(
            StatusCode::NOT_FOUND,
            "Not available",
            &format!("Signing in from the IM app is not offered for {} integrations; accounts are linked by email or phone.", integration.platform),
        ));
    };
    let state = state::begin(app, pending).await.map_err(store_failed)?;
    match sign_in.authorize_url(&platforms, integration, &sign_in_redirect_uri(app, &integration.id), &state) {
        Ok(url) => Ok(redirect(&url)),
        Err(e) => Err(page::error(StatusCode::SERVICE_UNAVAILABLE, "Integration not usable", &e.to_string())),
    }
}

/// The platform's redirect after sign-in: links the person to the member with their email
/// (or phone); for a console sign-in, then hands an admin member to the console.
pub async fn sign_in_callback(State(app): State<AppState>, Path(id): Path<String>, Query(q): Query<Callback>) -> Response {
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "Sign-in not finished",
            "The sign-in was cancelled or the link is incomplete. Open Warroom from the IM app again.",
        );
    };
    let integration = match integration_of(&app, &id).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let console = match state::finish(&app, &state).await {
        Ok(Some(Pending::SignIn { integration_id, .. })) if integration_id == integration.id => false,
        Ok(Some(Pending::ConsoleSignIn { integration_id, .. })) if integration_id == integration.id => true,
        Ok(_) => {
            return page::error(StatusCode::BAD_REQUEST, "Link expired", "This sign-in link expired or was already used. Open Warroom from the IM app again.")
        }
        Err(e) => return store_failed(e),
    };
    let signed_in = match signed_in_member(&app, &integration, &code).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    if console {
        return crate::console::hand_over(&app, &integration, signed_in).await;
    }
    let (user, member) = signed_in;
    page(
        StatusCode::OK,
        "Account linked",
        &[format!(
            "Your {} account ({}) is now linked to the Warroom member {}. You can use the war-room buttons.",
            integration.platform, user.name, member.name
        )],
    )
}

/// Who signed in, and their member: the one their IM account is linked to, else the one
/// with their email (or phone), whom it links.
async fn signed_in_member(app: &AppState, integration: &Integration, code: &str) -> Result<(SignedIn, Member), Response> {
    let platforms = platforms(app)?;
    let sign_in = platforms.module(integration.platform).and_then(|m| m.sign_in()).ok_or_else(|| {
        page::error(StatusCode::NOT_FOUND, "Not available", &format!("Signing in from the IM app is not offered for {} integrations.", integration.platform))
    })?;
    let user = sign_in
        .user(&platforms, integration, &sign_in_redirect_uri(app, &integration.id), code)
        .await
        .map_err(|e| page::error(StatusCode::BAD_GATEWAY, "Sign-in failed", &format!("{e}. Open Warroom from the IM app again.")))?;
    let members = app.store().list_members(&integration.tenant_id).await.map_err(store_failed)?;
    let im_user = ImUserId::from(user.im_user_id.as_str());
    if let Some(link) = app.store().link_by_im_user(&integration.tenant_id, &integration.id, &im_user).await.map_err(store_failed)? {
        if let Some(member) = members.iter().find(|m| m.id == link.member_id) {
            return Ok((user, member.clone()));
        }
    }
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let member = members.iter().find(|m| matches!((&m.email, &user.email), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))).or_else(|| {
        let mobile = user.mobile.as_deref().map(digits).filter(|d| !d.is_empty())?;
        members.iter().find(|m| m.phone.as_deref().map(digits).is_some_and(|p| p.ends_with(&mobile) || mobile.ends_with(&p)))
    });
    let Some(member) = member else {
        return Err(page::error(StatusCode::NOT_FOUND, "No matching member", &format!(
            "You signed in as {}, but no Warroom member has your email or phone. Ask your Warroom admin to add your notification email or phone, then open Warroom again.",
            user.name
        )));
    };
    let link = UserLink {
        tenant_id: integration.tenant_id.clone(),
        integration_id: integration.id.clone(),
        member_id: member.id.clone(),
        im_user_id: im_user,
        method: LinkMethod::SignIn,
        linked_at: app.clock().now(),
    };
    app.store().put_link(&link).await.map_err(store_failed)?;
    app.engine.forget_lookup_misses(&integration.id, member).await;
    Ok((user, member.clone()))
}
