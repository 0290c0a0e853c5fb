//! Single-use, expiring OAuth `state` values (shared by the API, which starts installs, and
//! the OAuth function, which finishes them), kept in the store (so any instance can
//! finish a flow another one started).

use crate::AppState;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use warroom_core::{IntegrationId, MemberId, TenantId};

pub const TTL: Duration = Duration::from_secs(600);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    /// A Slack install (new workspace) or re-authorize (`integration` set).
    SlackInstall { tenant_id: TenantId, integration_id: Option<IntegrationId> },
    /// Someone signing in from the IM app to link their account.
    SignIn { tenant_id: TenantId, integration_id: IntegrationId },
    /// An admin member signing in to the web console through the IM (which also links their
    /// account, as [`Pending::SignIn`] does).
    ConsoleSignIn { tenant_id: TenantId, integration_id: IntegrationId },
}

fn key(state: &str) -> String {
    format!("oauth:{state}")
}

/// Stores `pending` under a fresh random state and returns the state.
pub async fn begin(app: &AppState, pending: &Pending) -> Result<String, warroom_core::StoreError> {
    let state = format!("{}{}", warroom_core::ids::random_suffix(), warroom_core::ids::random_suffix());
    let value = serde_json::to_string(pending).expect("pending state serializes");
    app.store().put_ephemeral(&key(&state), &value, TTL, app.clock().now()).await?;
    Ok(state)
}

/// Takes the state: `None` if unknown, expired or already used.
pub async fn finish(app: &AppState, state: &str) -> Result<Option<Pending>, warroom_core::StoreError> {
    if state.is_empty() || state.len() > 64 {
        return Ok(None);
    }
    let Some(value) = app.store().take_ephemeral(&key(state), app.clock().now()).await? else { return Ok(None) };
    Ok(serde_json::from_str(&value).ok())
}

/// Where the platform sends a person back after signing in from the IM (the integration's
/// registered redirect URL, served by the OAuth function).
pub fn sign_in_redirect_uri(public_url: &str, integration: &IntegrationId) -> String {
    format!("{}/oauth/{integration}/callback", public_url.trim_end_matches('/'))
}

/// How long the OAuth function's hand-over to the console lasts: one redirect.
pub const TICKET_TTL: Duration = Duration::from_secs(60);

/// Who signed in through the IM for the console: handed from the OAuth function (which
/// checked them) to the console (which makes the session) as a random, single-use ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleTicket {
    pub tenant_id: TenantId,
    pub member_id: MemberId,
    pub integration_id: IntegrationId,
}

fn ticket_key(ticket: &str) -> String {
    format!("console-ticket:{ticket}")
}

/// Stores `ticket` under a fresh random name and returns the name.
pub async fn issue_ticket(app: &AppState, ticket: &ConsoleTicket) -> Result<String, warroom_core::StoreError> {
    let name = format!("{}{}", warroom_core::ids::random_suffix(), warroom_core::ids::random_suffix());
    let value = serde_json::to_string(ticket).expect("a ticket serializes");
    app.store().put_ephemeral(&ticket_key(&name), &value, TICKET_TTL, app.clock().now()).await?;
    Ok(name)
}

/// Takes the ticket: `None` if unknown, expired or already used.
pub async fn take_ticket(app: &AppState, name: &str) -> Result<Option<ConsoleTicket>, warroom_core::StoreError> {
    if name.is_empty() || name.len() > 64 {
        return Ok(None);
    }
    let Some(value) = app.store().take_ephemeral(&ticket_key(name), app.clock().now()).await? else { return Ok(None) };
    Ok(serde_json::from_str(&value).ok())
}
