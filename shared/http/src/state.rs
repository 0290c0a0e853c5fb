//! The state handed to every router: ports only, so the same router runs in Lambda
//! (DynamoDB + SQS) and in the local stack (embedded store + in-process queue).

use std::sync::Arc;
use warroom_core::{Clock, JobQueue, Store};

/// Deployment settings the routers need.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The public base URL of the deployment (`https://abc.execute-api…/`), used to build
    /// callback and OAuth redirect URLs shown to users.
    pub public_url: String,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn JobQueue>, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self { store, queue, clock, settings: Arc::new(settings) }
    }
}
