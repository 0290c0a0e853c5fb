//! The state handed to every router: ports only, so the same router runs in Lambda
//! (DynamoDB + SQS) and in the local stack (embedded store + in-process queue).

use std::sync::Arc;
use warroom_core::{Clock, JobQueue, Store};
use warroom_engine::Engine;
use warroom_secrets::SecretBox;

/// Deployment settings the routers need.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The public base URL of the deployment (`https://abc.execute-api…`), used to build
    /// callback and OAuth redirect URLs shown to users.
    pub public_url: String,
}

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub secrets: SecretBox,
    pub settings: Arc<Settings>,
    /// The real platform adapters, for the install and sign-in flows (the engine reaches
    /// them through its `PlatformFactory`); `None` where a deployment has none (tests
    /// with a fake platform).
    pub platforms: Option<Arc<warroom_platforms::Platforms>>,
}

impl AppState {
    pub fn new(engine: Engine, secrets: SecretBox, settings: Settings) -> Self {
        Self { engine, secrets, settings: Arc::new(settings), platforms: None }
    }

    pub fn with_platforms(mut self, platforms: Arc<warroom_platforms::Platforms>) -> Self {
        self.platforms = Some(platforms);
        self
    }
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.engine.store
    }
    pub fn queue(&self) -> &Arc<dyn JobQueue> {
        &self.engine.queue
    }
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.engine.clock
    }
}
