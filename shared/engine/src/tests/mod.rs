//! Engine tests against real local peers: the embedded store, the in-process queue, the
//! fake IM platform (which enforces platform rules and can fail), a recording source.

mod crash;
mod failures;
mod flows;
mod lost;
mod notices;
mod redelivery;
mod runbooks;
mod scenario;

use crate::{ClickOrigin, Engine, EngineConfig};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom_core::*;
use warroom_queue::{process_batch, MemoryQueue, MemoryQueueConfig};
use warroom_store::embedded::EmbeddedStore;
use warroom_testkit::fake_platform::{FakeFactory, FakePlatform};
use warroom_testkit::fixtures;

/// Records what was pushed to the source; can be told to fail.
#[derive(Default)]
pub struct RecordingSource {
    pub pushed: Mutex<Vec<SourceState>>,
    pub fail: Mutex<Option<SyncError>>,
}

#[async_trait]
impl SourceSync for RecordingSource {
    async fn push(&self, _t: &Tenant, incident: &Incident, _prev: Option<&SourceState>) -> Result<Synced, SyncError> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        self.pushed.lock().unwrap().push(SourceState { status: incident.status, snoozed_until: incident.snoozed_until });
        Ok(Synced { detail: format!("pushed {}", incident.status) })
    }
}

pub struct World {
    pub engine: Engine,
    pub store: Arc<EmbeddedStore>,
    pub queue: Arc<MemoryQueue>,
    pub clock: Arc<ManualClock>,
    pub fake: FakePlatform,
    pub source: Arc<RecordingSource>,
    pub tenant: TenantId,
    pub integration: Integration,
}

impl World {
    /// A tenant with members Ada (linked as U_ADA), Bob and Cy (findable by email on the
    /// platform), Dee (nowhere on the platform), and a Slack-like integration with war room on.
    pub async fn new() -> Self {
        warroom_testkit::logging::init();
        let clock = Arc::new(ManualClock::at(fixtures::T0));
        let store = Arc::new(EmbeddedStore::open_temporary().unwrap());
        let queue = Arc::new(MemoryQueue::new(MemoryQueueConfig::default(), clock.clone()));
        let factory = FakeFactory::new();
        let source = Arc::new(RecordingSource::default());
        let tenant = fixtures::tenant_id();
        store.put_tenant(&fixtures::tenant(&tenant)).await.unwrap();
        for (id, name) in [("m_ada", "Ada"), ("m_bob", "Bob"), ("m_cy", "Cy"), ("m_dee", "Dee")] {
            store.put_member(&fixtures::member(&tenant, id, name)).await.unwrap();
        }
        let integration = fixtures::integration(&tenant, Platform::Slack);
        store.create_integration(&integration).await.unwrap();
        store.enable_war_room(&tenant, &integration.id).await.unwrap();
        store.put_link(&fixtures::link(&tenant, &integration.id, "m_ada", "U_ADA")).await.unwrap();
        let fake = FakePlatform::new(Platform::Slack);
        fake.add_user("U_ADA", "Ada", Some("ada@example.com"), None);
        fake.add_user("U_BOB", "Bob", Some("bob@example.com"), None);
        fake.add_user("U_CY", "Cy", Some("cy@example.com"), None);
        factory.insert(integration.id.clone(), fake.clone());
        let engine = Engine {
            store: store.clone(),
            queue: queue.clone(),
            platforms: Arc::new(factory),
            sources: source.clone(),
            clock: clock.clone(),
            config: EngineConfig { public_url: "https://warroom.example.com".into() },
            models: None,
        };
        Self { engine, store, queue, clock, fake, source, tenant, integration }
    }

    /// Runs queued jobs until the queue is idle, moving the clock past deferrals for at
    /// most two minutes (longer timers stay pending: see `drain_for`).
    pub async fn drain(&self) -> usize {
        self.drain_for(Duration::from_secs(120)).await
    }

    /// Like `drain`, letting up to `horizon` of time pass. A runaway job loop fails the test.
    pub async fn drain_for(&self, horizon: Duration) -> usize {
        self.drain_with(&self.engine, horizon).await
    }

    /// Like `drain_for`, with another engine over the same store and queue.
    pub async fn drain_with(&self, engine: &Engine, horizon: Duration) -> usize {
        let deadline = self.clock.now().plus(horizon);
        let mut handled = 0;
        while handled < 500 {
            let batch = self.queue.receive(10, Duration::ZERO).await.unwrap();
            if batch.is_empty() {
                if self.queue.is_empty() || self.clock.now() >= deadline {
                    return handled;
                }
                self.clock.advance(Duration::from_secs(1));
                continue;
            }
            handled += batch.len();
            process_batch(self.queue.as_ref(), engine, batch, true).await;
        }
        panic!("jobs kept coming: a job loop?");
    }

    pub fn event(&self, id: &str, status: Status, at_secs: i64, responders: &[&str]) -> IncidentEvent {
        IncidentEvent {
            source: SourceRef { source: "generic".into(), external_id: id.into() },
            status,
            title: format!("Checkout errors {id}"),
            description: "5xx above 2%".into(),
            severity: Severity::Critical,
            responders: Some(
                responders
                    .iter()
                    .map(|n| Responder { name: Some(n.to_string()), email: Some(format!("{}@example.com", n.to_lowercase())), phone: None, member_id: None })
                    .collect(),
            ),
            labels: Default::default(),
            url: None,
            at: Timestamp(fixtures::T0.0 + at_secs * 1000),
            war_room: true,
        }
    }

    pub async fn incident(&self, external: &str) -> Incident {
        let src = SourceRef { source: "generic".into(), external_id: external.into() };
        self.store.find_incident_by_source(&self.tenant, &src).await.unwrap().expect("incident exists")
    }

    pub async fn timeline(&self, incident: &Incident) -> Vec<TimelineEntry> {
        self.store.list_timeline(&self.tenant, &incident.id).await.unwrap()
    }

    pub async fn actions(&self, incident: &Incident) -> Vec<TimelineAction> {
        self.timeline(incident).await.into_iter().map(|e| e.action).collect()
    }

    pub fn click(&self, user: &str) -> ClickOrigin {
        ClickOrigin { integration_id: self.integration.id.clone(), im_user: user.into() }
    }
}

pub fn count(actions: &[TimelineAction], which: TimelineAction) -> usize {
    actions.iter().filter(|a| **a == which).count()
}
