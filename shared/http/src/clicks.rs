//! Applying a verified card click, shared by the card-callback route and the event route
//! (Feishu lets people paste one URL for both).

use crate::AppState;
use std::time::Duration;
use warroom_core::{CallbackCodec, Click, IntegrationId, RawResponse};
use warroom_engine::{ClickOrigin, EngineError};

/// How long a click's delivery id is remembered to refuse replays.
const REPLAY_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Applies the click (once per delivery id) and shapes the platform's answer. Every outcome
/// a clicker can act on becomes a message to them.
pub async fn apply_click(
    state: &AppState,
    codec: &dyn CallbackCodec,
    integration_id: &IntegrationId,
    click: Click,
) -> Result<RawResponse, warroom_core::StoreError> {
    if let Some(delivery) = &click.delivery_id {
        let key = format!("click:{integration_id}:{delivery}");
        if !state.store().claim_dedupe(&key, REPLAY_WINDOW, state.clock().now()).await? {
            // The platform retried a click already applied: answer as before, change nothing.
            return Ok(codec.click_reply("Already handled", None));
        }
    }
    let origin = ClickOrigin { integration_id: integration_id.clone(), im_user: click.user.clone() };
    let (message, card) = match state.engine.card_action(&origin, &click.incident_id, click.action).await {
        Ok(reply) => (reply.message, reply.changed.then_some(reply.card)),
        Err(e @ (EngineError::NotLinked { .. } | EngineError::Refused(_) | EngineError::NotFound(_))) => (e.to_string(), None),
        Err(e) => {
            tracing::error!(error = %e, "card action failed");
            if let Some(delivery) = &click.delivery_id {
                // Let the clicker (or the platform) try again.
                let _ = state.store().release_dedupe(&format!("click:{integration_id}:{delivery}")).await;
            }
            ("Warroom could not apply this right now; please try again.".to_string(), None)
        }
    };
    codec.after_click(&click, &message).await;
    Ok(codec.click_reply(&message, card.as_ref()))
}
