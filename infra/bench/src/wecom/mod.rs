//! The WeCom burst: `incidents` critical incidents with `responders` distinct responders each
//! (members with phone numbers) are ingested at once; `workers` local worker loops share one
//! in-process queue; every IM call goes over HTTP to the WeCom sandbox with its limits
//! enforced (per corp per API per minute, 45009 beyond; 30 app messages a minute to one
//! member, the excess dropped silently; groups created per day, changed per hour). The run
//! ends when every incident has an open app group with its responders and its status posted
//! (the group message and a template card to each member). [`WeComReport`] compares the time
//! the sandbox saw (first → last WeCom call) with the lower bound the limits allow
//! ([`bound`]), and counts the 45009 answers and the dropped messages.
//!
//! The sandbox's per-API limit defaults to the figure the adapter's buckets assume, the older
//! and stricter 2,000 a minute (the current page says 10,000, UNCERTAIN; `api_per_minute`).
//!
//! What is real: `Engine`, `MemoryQueue`, `EmbeddedStore` (in memory), `Platforms` and
//! `WeComPlatform` (HTTP, access token, error mapping, buckets), the sandbox. Bench-local: the
//! integration written straight into the store (as the Feishu and DingTalk bursts do), the
//! counting wrappers of [`crate::wrap`] and the lateness probe of [`crate::dingtalk::lateness`]
//! (both platform-neutral).

pub mod bound;
pub mod report;
mod server;

pub use report::WeComReport;

use crate::dingtalk::lateness::{Lateness, LatenessHandler, LatenessQueue};
use crate::report::Outcome;
use crate::wrap::{self, BenchFactory, Buckets};
use crate::{Mode, RoomState};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use warroom_core::*;
use warroom_engine::{Engine, EngineConfig, IngestOutcome};
use warroom_platforms::wecom::WeComCredentials;
use warroom_platforms::{Platforms, PlatformsConfig};
use warroom_queue::{run_worker_loop, MemoryQueue, MemoryQueueConfig};
use warroom_sandbox::wecom::{AppConfig, SandboxConfig, WeComSandbox};
use warroom_secrets::SecretBox;
use warroom_store::embedded::EmbeddedStore;

pub const CORP_ID: &str = "wwbenchcorp0001";
pub const AGENT_ID: i64 = 1000002;
const SECRET: &str = "bench-wecom-secret";
/// The member who owns every war-room group (an app group needs two people).
pub const OWNER: &str = "owner_bench";
const PUBLIC_URL: &str = "http://warroom.bench.invalid";
/// The per-API limit the adapter's buckets assume (the older, stricter figure).
pub const API_PER_MINUTE: u32 = 2_000;

#[derive(Clone, Debug)]
pub struct WeComScenario {
    pub incidents: usize,
    pub responders: usize,
    pub workers: usize,
    pub mode: Mode,
    /// The sandbox's limits (`enforce_rate_limits` is always on).
    pub sandbox: SandboxConfig,
    /// The queue's redrive limit (every delivery counts, deferrals included).
    pub max_receive_count: u32,
    /// Give up waiting after this long.
    pub timeout: Duration,
    /// The engine's `contention_jitter` on rate-limit deferrals, as shipped (`true`), or off.
    pub jitter: bool,
}

impl WeComScenario {
    /// 100 incidents × 10 responders, 8 workers, linked (as the Feishu and DingTalk bursts),
    /// WeCom's documented limits with the per-API figure at [`API_PER_MINUTE`].
    pub fn standard() -> Self {
        Self {
            incidents: 100,
            responders: 10,
            workers: 8,
            mode: Mode::Linked,
            sandbox: SandboxConfig { enforce_rate_limits: true, api_per_minute: API_PER_MINUTE, ..SandboxConfig::default() },
            max_receive_count: 100,
            timeout: Duration::from_secs(300),
            jitter: true,
        }
    }
}

fn user_id(j: usize) -> String {
    format!("u_bench{j:06}")
}

fn member_id(j: usize) -> String {
    format!("m_{j:06}")
}

/// The number as WeCom holds it (mainland, 11 digits).
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

/// Plays the scenario once and reports. Needs a multi-threaded tokio runtime.
pub async fn run(s: &WeComScenario) -> Result<WeComReport, String> {
    let users = s.incidents * s.responders;

    // WeCom: one self-built app, the group owner, one member per responder (found by mobile).
    let sandbox = WeComSandbox::new(SandboxConfig { enforce_rate_limits: true, ..s.sandbox.clone() });
    let app = AppConfig::new(CORP_ID, AGENT_ID, SECRET);
    sandbox.add_app(app.clone());
    sandbox.add_user(OWNER, "Group Owner", Some("13900000000"), None);
    for j in 0..users {
        sandbox.add_user(&user_id(j), &format!("Responder {j}"), Some(&mobile(j)), None);
    }
    let server = server::SandboxServer::start(&sandbox).map_err(|e| format!("sandbox server: {e}"))?;

    // Warroom: embedded store, in-process queue, the deployment's platform factory.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_temporary().map_err(err("store"))?);
    let memory_queue =
        Arc::new(MemoryQueue::new(MemoryQueueConfig { visibility_timeout: Duration::from_secs(30), max_receive_count: s.max_receive_count }, clock.clone()));
    let late = Arc::new(Lateness::default());
    let queue: Arc<dyn JobQueue> = Arc::new(LatenessQueue { inner: memory_queue.clone(), lateness: late.clone() });
    let secrets = SecretBox::from_key(&[7u8; 32]);
    let config = PlatformsConfig::production(PUBLIC_URL).with_base_override(Platform::Wecom, server.base.clone());
    let platforms = Arc::new(Platforms::new(config, secrets, store.clone(), clock.clone()).map_err(|e| format!("platforms: {e}"))?);

    // The tenant, its members (with phones), the WeCom integration with war room on.
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
    let credentials = WeComCredentials {
        corp_id: CORP_ID.into(),
        agent_id: AGENT_ID,
        secret: SECRET.into(),
        callback_token: app.callback_token.clone(),
        callback_aes_key: app.callback_aes_key.clone(),
        bot_token: String::new(),
        bot_aes_key: String::new(),
        owner_userid: OWNER.into(),
        api_base: server.base.clone(),
    };
    let integration_id = IntegrationId::generate();
    let integration = Integration {
        tenant_id: tenant_id.clone(),
        id: integration_id.clone(),
        platform: Platform::Wecom,
        name: "WeCom (bench)".into(),
        external_id: Some(format!("{CORP_ID}:{AGENT_ID}")),
        credentials: platforms.seal(&integration_id, &credentials),
        granted_scopes: warroom_platforms::wecom::REQUIRED_SETUP.iter().map(|(s, _)| s.to_string()).collect(),
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
    // The buckets the adapter hands the engine, for the report.
    let client = platforms.for_integration(&integration).map_err(|e| format!("client: {e}"))?;
    let shipped = report::describe_buckets(client.as_ref());

    // Counts what the engine sees; the adapter's buckets pass through unchanged.
    let counters = Arc::new(wrap::Counters::default());
    let factory = BenchFactory::new(platforms.clone(), Buckets::Shipped, counters.clone());
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
    let handler: Arc<dyn JobHandler> = Arc::new(LatenessHandler { inner: counting, lateness: late.clone(), jitter: s.jitter, counters: counters.clone() });

    // Workers first, idle on the empty queue, as a deployment's would be.
    let (shutdown, shutdown_rx) = watch::channel(false);
    let workers: Vec<_> = (0..s.workers.max(1)).map(|_| tokio::spawn(run_worker_loop(queue.clone(), handler.clone(), shutdown_rx.clone()))).collect();
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
    let (mut stuck_polls, mut done_after, mut stuck) = (0, None, false);
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

    // Each incident's room as the store and as WeCom hold it.
    let user_of_phone: HashMap<String, String> = (0..users).map(|j| (phone(j), user_id(j))).collect();
    let view = sandbox.view();
    let mut cards_of: HashMap<&str, usize> = HashMap::new();
    for c in &view.cards {
        *cards_of.entry(c.userid.as_str()).or_default() += 1;
    }
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
        let chat = inc.war_room.chat_id.as_ref().and_then(|chat| view.chats.iter().find(|c| c.chatid == chat.as_str()));
        sandbox_rooms.push(match chat {
            Some(c) => report::SandboxRoom {
                exists: true,
                owner: c.owner == OWNER,
                members_present: wanted.iter().filter(|u| c.members.contains(u)).count(),
                members_wanted: wanted.len(),
                group_messages: c.messages.iter().filter(|m| m.msgtype == "markdown").count(),
                // Each responder is in one room: their cards are this room's.
                responders_with_card: wanted.iter().filter(|u| cards_of.get(u.as_str()).copied().unwrap_or(0) >= 1).count(),
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
    let mut messages_to: HashMap<String, usize> = cards_of.iter().map(|(u, n)| (u.to_string(), *n)).collect();
    for u in &view.users {
        let direct = sandbox.direct_messages(&u.userid).len();
        if direct > 0 {
            *messages_to.entry(u.userid.clone()).or_default() += direct;
        }
    }
    for d in &view.dropped {
        *messages_to.entry(d.userid.clone()).or_default() += 1;
    }
    let figures = report::SandboxFigures {
        groups: view.chats.len(),
        rooms: sandbox_rooms,
        cards: view.cards.len(),
        owner_cards: cards_of.get(OWNER).copied().unwrap_or(0),
        dropped: view.dropped.len(),
        messages_to,
        throttled: sandbox.calls_with(warroom_sandbox::wecom::codes::FREQ_LIMIT),
    };
    let calls = sandbox.calls();
    drop(server);
    Ok(WeComReport::new(s, shipped, outcome, counters.snapshot(), &calls, figures, &late.samples()))
}
