//! Signing in to the web console through the IM: the console starts the platform's sign-in
//! with a [`Pending::ConsoleSignIn`](warroom_http::oauth_state::Pending) state (so the
//! platform redirects to the integration's one registered redirect URL, here); once
//! [`crate::flows`] knows the member, an admin is handed to the console by a single-use,
//! one-minute ticket, and anyone else gets a page saying why not. The console makes the
//! session (and checks the member again): this function never sets a console cookie.

use crate::flows::store_failed;
use crate::page;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use warroom_core::{Integration, Member, MemberRole};
use warroom_http::oauth_state::{self as state, ConsoleTicket};
use warroom_http::AppState;
use warroom_platforms::SignedIn;

/// Where the console takes the ticket.
pub const CONSOLE_DONE: &str = "/console/sign-in/im/done";

pub async fn hand_over(app: &AppState, integration: &Integration, (user, member): (SignedIn, Member)) -> Response {
    if member.role != MemberRole::Admin {
        tracing::info!(tenant = %integration.tenant_id, member = %member.id, "console sign-in through the IM refused: not an admin");
        return page::error(
            StatusCode::FORBIDDEN,
            "Not a console admin",
            &format!(
                "You signed in as {} (the Warroom member {}), who is not a console admin, so no console session was made. Your {} account is linked, so the war-room buttons work. An admin can make you one on the console's Members page (role: admin).",
                user.name, member.name, integration.platform
            ),
        );
    }
    let ticket = ConsoleTicket { tenant_id: integration.tenant_id.clone(), member_id: member.id.clone(), integration_id: integration.id.clone() };
    let name = match state::issue_ticket(app, &ticket).await {
        Ok(name) => name,
        Err(e) => return store_failed(e),
    };
    tracing::info!(tenant = %integration.tenant_id, member = %member.id, integration = %integration.id, "console sign-in through the IM: handed to the console");
    let to = format!("{}{CONSOLE_DONE}?ticket={name}", app.settings.public_url.trim_end_matches('/'));
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}
