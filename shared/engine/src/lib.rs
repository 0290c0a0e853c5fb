//! The war-room engine. Knows nothing of AWS, HTTP or any one IM platform: it works
//! through the ports of `warroom-core` (Store, JobQueue, ImPlatform, SourceSync, Clock).
//!
//! - [`Engine::ingest`]: an incident event from a source → stored incident + reconcile job.
//! - [`Engine::reconcile`]: desired vs actual war room → the next IM steps.
//! - [`Engine::card_action`]: a button click → a status change with the clicker as actor.
//! - [`Engine::sync_status`]: push a change made in the war room back to its source.
//! - [`Engine::link_members`]: one-click linking by email / phone.
//! - `impl JobHandler for Engine`: what the worker runs.

mod actions;
pub mod assistant;
mod card;
mod error;
mod events;
mod handler;
mod ingest;
mod linking;
mod lookup_cache;
mod members;
mod notice;
mod persist;
mod reconcile;
mod room;
mod runbook_post;
mod sync;
mod throttle;

pub use actions::{ActionReply, ClickOrigin};
pub use error::EngineError;
pub use events::{parse_command, EventOutcome};
pub use ingest::IngestOutcome;
pub use linking::{LinkReport, MemberLinkResult};
pub use lookup_cache::LOOKUP_MISS_TTL;

use std::sync::Arc;
use warroom_core::{Clock, JobQueue, ModelFactory, PlatformFactory, SourceSync, Store};

/// What the engine needs to know about the deployment.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    /// Public base URL, for the links the engine writes into chats (how to link an account).
    pub public_url: String,
}

#[derive(Clone)]
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub platforms: Arc<dyn PlatformFactory>,
    pub sources: Arc<dyn SourceSync>,
    pub clock: Arc<dyn Clock>,
    pub config: EngineConfig,
    /// The assistant's models; `None`: no assistant in this deployment (it says so).
    pub models: Option<Arc<dyn ModelFactory>>,
}

impl Engine {
    /// Where an unlinked member signs in from the IM app to link their account.
    pub fn link_url(&self, integration: &warroom_core::IntegrationId) -> String {
        format!("{}/im/{integration}/web", self.config.public_url.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests;
