//! The DingTalk burst: `incidents` critical incidents with `responders` distinct
//! responders each (members with phone numbers) are ingested at once; `workers` local
//! worker loops share one in-process queue; every IM call goes over HTTP to the DingTalk
//! sandbox with its per-app per-API QPS enforced (standard edition: 20 in any sliding
//! second, per API). The run ends when every incident has an open scene group with its
//! responders added and its status card delivered. [`DingReport`] compares the time the
//! sandbox saw (first → last DingTalk call) with the lower bound the limits allow — per API,
//! the calls it took ÷ the QPS, the largest of these — and counts the throttled answers
//! (90018 / `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi`).
//!
//! Responders reach the room as on DingTalk: pre-linked ([`Mode::Linked`]), or found by
//! phone during the burst ([`Mode::Lookup`]: one `topapi/v2/user/getbymobile` each, the
//! link found stored) — DingTalk has no lookup by email.
//!
//! What is real: `Engine`, `MemoryQueue`, `EmbeddedStore` (in memory), `Platforms` and
//! `DingTalkPlatform` (HTTP, access token, both API generations, error mapping), the
//! sandbox. Bench-local: the integration written straight into the store (as the Feishu
//! burst does; the card callback registered once at set-up as connecting would), the
//! counting wrappers of [`crate::wrap`], [`buckets::ShapedFactory`] to try other bucket
//! shapes, and [`lateness`] (how late deferred jobs come back; optionally the engine's
//! `contention_jitter` turned off, to measure its effect on reserved slots).

pub mod buckets;
pub mod lateness;
pub mod report;

pub use buckets::DingBuckets;
pub use report::DingReport;

use crate::report::Outcome;
use crate::wrap::{self, BenchFactory, Buckets};
use crate::{Mode, RoomState};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use warroom_core::*;
use warroom_engine::{Engine, EngineConfig, IngestOutcome};
use warroom_platforms::dingtalk::{DingTalkCredentials, DingTalkPlatform, Edition, REQUIRED_SCOPES};
use warroom_platforms::{Platforms, PlatformsConfig};
use warroom_queue::{run_worker_loop, MemoryQueue, MemoryQueueConfig};
use warroom_sandbox::dingtalk::{AppConfig, DingTalkSandbox, SandboxConfig};
use warroom_secrets::SecretBox;
use warroom_store::embedded::EmbeddedStore;

pub const CLIENT_ID: &str = "dingwarroombench";
const CLIENT_SECRET: &str = "bench-dingtalk-secret";
/// The staff member who owns every scene group (DingTalk requires a human owner).
const OWNER: &str = "owner_bench";
const PUBLIC_URL: &str = "http://warroom.bench.invalid";

#[derive(Clone, Debug)]
pub struct DingScenario {
    pub incidents: usize,
    pub responders: usize,
    pub workers: usize,
    pub mode: Mode,
    pub buckets: DingBuckets,
    /// The queue's redrive limit (every delivery counts, deferrals included).
    pub max_receive_count: u32,
    /// Give up waiting after this long.
    pub timeout: Duration,
    /// The engine's `contention_jitter` on rate-limit deferrals, as shipped (`true`), or
    /// turned off (bench-local, see [`lateness::LatenessHandler`]).
    pub jitter: bool,
}

impl DingScenario {
    /// 100 incidents × 10 responders, 8 workers, linked, shipped buckets (as `Scenario::issue5`).
    pub fn standard() -> Self {
        Self {
            incidents: 100,
            responders: 10,
            workers: 8,
            mode: Mode::Linked,
            buckets: DingBuckets::Shipped,
            max_receive_count: 100,
            timeout: Duration::from_secs(300),
            jitter: true,
        }
    }
}

/// The edition the bench's organisation is on: standard (free), 20 QPS per app per API.
pub const EDITION: Edition = Edition::Standard;

fn user_id(j: usize) -> String {
    format!("u_bench{j:06}")
}

fn member_id(j: usize) -> String {
    format!("m_{j:06}")
}

/// The number as DingTalk holds it (mainland, 11 digits).
fn mobile(j: usize) -> String {
    format!("13{j:09}")
}

/// The number as Warroom holds it (with the country code, as people type it).
fn phone(j: usize) -> String {
    format!("+86 {}", mobile(j))
}

fn err(what: &str) -> impl Fn(StoreError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn complete(incident: &Incident) -> bool {
    let wr = &incident.war_room;
    wr.state == WarRoomState::Open && wr.chat_id.is_some() && wr.card_message_id.is_some() && wr.invited.len() >= incident.responders.len()
}

/// Serves the sandbox on 127.0.0.1:0 from a thread and runtime of its own, as a remote
/// platform would be: its answers do not queue behind the engine's tasks.
struct SandboxServer {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl SandboxServer {
    fn start(sandbox: &DingTalkSandbox) -> std::io::Result<Self> {
        let router = sandbox.router();
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base = format!("http://{}", listener.local_addr()?);
        sandbox.set_base_url(&base);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new().name("dingtalk-sandbox".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("sandbox runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("sandbox listener");
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        })?;
        Ok(Self { base, stop: Some(stop) })
    }
}

impl Drop for SandboxServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Plays the scenario once and reports. Needs a multi-threaded tokio runtime.
pub async fn run(s: &DingScenario) -> Result<DingReport, String> {
    let users = s.incidents * s.responders;

    // DingTalk: one internal app with every war-room permission, one owner, one user per
    // responder (found by mobile).
    let sandbox = DingTalkSandbox::new(SandboxConfig { enforce_rate_limits: true, ..SandboxConfig::default() });
    let app = AppConfig::new(CLIENT_ID, CLIENT_SECRET);
    sandbox.add_app(app.clone());
    sandbox.add_user(OWNER, "Group Owner", Some("13900000000"), None);
    for j in 0..users {
        sandbox.add_user(&user_id(j), &format!("Responder {j}"), Some(&mobile(j)), None);
    }
    let server = SandboxServer::start(&sandbox).map_err(|e| format!("sandbox server: {e}"))?;

    // Warroom: embedded store, in-process queue, the deployment's platform factory.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_temporary().map_err(err("store"))?);
    let memory_queue =
        Arc::new(MemoryQueue::new(MemoryQueueConfig { visibility_timeout: Duration::from_secs(30), max_receive_count: s.max_receive_count }, clock.clone()));
    let late = Arc::new(lateness::Lateness::default());
    let queue: Arc<dyn JobQueue> = Arc::new(lateness::LatenessQueue { inner: memory_queue.clone(), lateness: late.clone() });
    let secrets = SecretBox::from_key(&[7u8; 32]);
    let config = PlatformsConfig::production(PUBLIC_URL).with_base_override(Platform::Dingtalk, server.base.clone());
    let platforms = Arc::new(Platforms::new(config, secrets, store.clone(), clock.clone()).map_err(|e| format!("platforms: {e}"))?);

    // The tenant, its members (with phones), the DingTalk integration with war room on.
    let now = clock.now();
    let tenant_id = TenantId::generate();
    let settings = TenantSettings { auto_create_min_severity: Some(Severity::Critical), ..TenantSettings::default() };
    store.put_tenant(&Tenant { id: tenant_id.clone(), name: "Bench".into(), settings, created_at: now, version: 0 }).await.map_err(err("tenant"))?;
    for j in 0..users {
        let member = Member {
            tenant_id: tenant_id.clone(),
            id: MemberId::new(member_id(j)),
            name: format!("Responder {j}"),
            email: None,
            phone: Some(phone(j)),
            role: Default::default(),
            updated_at: now,
        };
        store.put_member(&member).await.map_err(err("member"))?;
    }
    let credentials = DingTalkCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        corp_id: app.corp_id.clone(),
        robot_code: app.group_robot_code.clone(),
        template_id: app.template_ids.first().cloned().unwrap_or_default(),
        owner_user_id: OWNER.into(),
        card_template_id: String::new(),
        card_route_key: String::new(),
        card_api_secret: String::new(),
        event_token: app.event_token.clone(),
        event_aes_key: app.event_aes_key.clone(),
        edition: EDITION,
        oapi_base: server.base.clone(),
        api_base: server.base.clone(),
    };
    let integration_id = IntegrationId::generate();
    let integration = Integration {
        tenant_id: tenant_id.clone(),
        id: integration_id.clone(),
        platform: Platform::Dingtalk,
        name: "DingTalk (bench)".into(),
        external_id: Some(CLIENT_ID.into()),
        credentials: platforms.seal(&integration_id, &credentials),
        granted_scopes: REQUIRED_SCOPES.iter().map(|(s, _)| s.to_string()).collect(),
        war_room_enabled: false,
        status: IntegrationStatus::Active,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    store.create_integration(&integration).await.map_err(err("integration"))?;
    store.enable_war_room(&tenant_id, &integration_id).await.map_err(err("war room"))?;
    if s.mode == Mode::Linked {
        for j in 0..users {
            let link = UserLink {
                tenant_id: tenant_id.clone(),
                integration_id: integration_id.clone(),
                member_id: MemberId::new(member_id(j)),
                im_user_id: ImUserId::new(user_id(j)),
                method: LinkMethod::Phone,
                linked_at: now,
            };
            store.put_link(&link).await.map_err(err("link"))?;
        }
    }
    // As connecting does: the card callback registered once (not part of the burst).
    let setup = DingTalkPlatform::new(credentials.clone(), platforms.http().clone(), store.clone(), clock.clone());
    setup.register_card_callback(&format!("{PUBLIC_URL}/im/{integration_id}/cards")).await.map_err(|e| format!("card callback: {e}"))?;
    // The buckets the adapter hands the engine, for the report.
    let shipped = platforms.for_integration(&integration).map_err(|e| format!("client: {e}"))?.buckets(ApiFamily::CreateChat, None);
    let shipped = shipped.first().map(|b| crate::buckets::Shape::new(b.capacity, b.interval_ms));

    let counters = Arc::new(wrap::Counters::default());
    let inner: Arc<dyn PlatformFactory> = match s.buckets {
        DingBuckets::Shipped => platforms.clone(),
        _ => Arc::new(buckets::ShapedFactory { inner: platforms.clone(), buckets: s.buckets.clone() }),
    };
    // Counts what the engine sees; its own buckets pass through (keys are DingTalk's).
    let factory = BenchFactory::new(inner, Buckets::Shipped, counters.clone());
    let engine = Engine {
        store: store.clone(),
        queue: queue.clone(),
        platforms: Arc::new(factory),
        sources: Arc::new(wrap::NoopSync),
        clock: clock.clone(),
        config: EngineConfig { public_url: PUBLIC_URL.into() },
        models: None,
    };
    let counting: Arc<dyn JobHandler> = Arc::new(wrap::CountingHandler { engine: engine.clone(), counters: counters.clone() });
    let handler: Arc<dyn JobHandler> =
        Arc::new(lateness::LatenessHandler { inner: counting, lateness: late.clone(), jitter: s.jitter, counters: counters.clone() });

    // Workers first, idle on the empty queue, as a deployment's would be.
    let (shutdown, shutdown_rx) = watch::channel(false);
    let workers: Vec<_> = (0..s.workers.max(1)).map(|_| tokio::spawn(run_worker_loop(queue.clone(), handler.clone(), shutdown_rx.clone()))).collect();
    let metered_before = sandbox.calls_this_month(CLIENT_ID);
    sandbox.clear_calls();

    // Fire every incident at once.
    let fired_at_sandbox = sandbox.now();
    let fired = Instant::now();
    let mut ingests = tokio::task::JoinSet::new();
    for i in 0..s.incidents {
        let (engine, tenant_id) = (engine.clone(), tenant_id.clone());
        let responders: Vec<Responder> = (0..s.responders)
            .map(|r| {
                let j = i * s.responders + r;
                Responder { name: Some(format!("Responder {j}")), email: None, phone: Some(phone(j)), member_id: None }
            })
            .collect();
        let event = IncidentEvent {
            source: SourceRef { source: "bench".into(), external_id: format!("burst-{i:04}") },
            status: Status::Triggered,
            title: format!("Checkout errors in cell {i}"),
            description: "error rate above 5% for 5 minutes".into(),
            severity: Severity::Critical,
            responders: Some(responders),
            labels: [("service".to_string(), "checkout".to_string())].into(),
            url: None,
            at: clock.now(),
            war_room: false,
        };
        ingests.spawn(async move { engine.ingest(&tenant_id, event).await });
    }
    let mut ids = Vec::new();
    let mut ingest_errors = Vec::new();
    while let Some(joined) = ingests.join_next().await {
        match joined {
            Ok(Ok(IngestOutcome::Created(id))) => ids.push(id),
            Ok(Ok(other)) => ingest_errors.push(format!("{other:?}")),
            Ok(Err(e)) => ingest_errors.push(e.to_string()),
            Err(e) => ingest_errors.push(e.to_string()),
        }
    }
    let ingested = fired.elapsed();

    // Wait for every room, reading the store.
    let mut pending = ids.clone();
    let mut stuck_polls = 0;
    let mut done_after = None;
    let mut stuck = false;
    while fired.elapsed() < s.timeout {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut still = Vec::new();
        for id in pending {
            match store.get_incident(&tenant_id, &id).await {
                Ok(Some(incident)) if complete(&incident) => {}
                _ => still.push(id),
            }
        }
        pending = still;
        if pending.is_empty() {
            done_after = Some(fired.elapsed());
            break;
        }
        // Nothing left to run but rooms unfinished: dead-lettered or given up.
        if memory_queue.is_empty() {
            stuck_polls += 1;
            if stuck_polls >= 4 {
                stuck = true;
                break;
            }
        } else {
            stuck_polls = 0;
        }
    }

    let _ = shutdown.send(true);
    for w in workers {
        let _ = w.await;
    }
    let dead_letters = queue.dead_letters(10_000).await.map(|d| d.len()).unwrap_or(0);

    // Each incident's room as the store and as DingTalk hold it.
    let user_of_phone: HashMap<String, String> = (0..users).map(|j| (phone(j), user_id(j))).collect();
    let groups = sandbox.groups();
    let mut rooms = Vec::new();
    let mut sandbox_rooms = Vec::new();
    for id in &ids {
        let Ok(Some(inc)) = store.get_incident(&tenant_id, id).await else {
            rooms.push(RoomState::default());
            sandbox_rooms.push(report::SandboxRoom::default());
            continue;
        };
        rooms.push(RoomState {
            open: inc.war_room.state == WarRoomState::Open,
            invited: inc.war_room.invited.len(),
            card: inc.war_room.card_message_id.is_some(),
            last_error: inc.war_room.last_error.clone(),
        });
        let wanted: Vec<&String> = inc.responders.iter().filter_map(|r| r.phone.as_ref().and_then(|p| user_of_phone.get(p))).collect();
        let group = inc.war_room.chat_id.as_ref().and_then(|chat| groups.iter().find(|g| g.open_conversation_id == chat.as_str()));
        sandbox_rooms.push(match group {
            Some(g) => report::SandboxRoom {
                exists: !g.disbanded,
                members_present: wanted.iter().filter(|u| g.members.contains(u)).count(),
                members_wanted: wanted.len(),
                cards: g.cards.len(),
            },
            None => report::SandboxRoom { members_wanted: wanted.len(), ..Default::default() },
        });
    }
    let outcome = Outcome {
        ingested,
        done_after,
        stuck,
        timed_out: done_after.is_none() && !stuck,
        rooms_complete: ids.len() - pending.len(),
        ingest_errors,
        dead_letters,
        fired_at_sandbox,
        rooms,
    };
    let calls = sandbox.calls();
    let sandbox_figures = report::SandboxFigures {
        groups: groups.len(),
        rooms: sandbox_rooms,
        metered_admitted: sandbox.calls_this_month(CLIENT_ID).saturating_sub(metered_before),
        throttled: sandbox.rate_limited_count(),
    };
    drop(server);
    Ok(DingReport::new(s, shipped, outcome, counters.snapshot(), &calls, sandbox_figures, &late.samples()))
}
