//! Start, serve, stop.
//!
//! Startup: bind (a port in use is one line), open the data directory (a damaged file is
//! one line naming it) with the store and the queue's journal (jobs a killed process left
//! are back: see `warroom_queue::MemoryQueue::durable`), wire the engine and routers
//! exactly as Lambda does (`warroom_runtime::compose`), seed the demo (sandboxes in-process,
//! or those of a `warroom-sandbox` process with `--sandbox-url`), start the worker loops, serve.
//!
//! Shutdown (Ctrl-C or SIGTERM; a second one skips the wait): the bundle answers 503 to new
//! requests (the sandboxes keep answering the jobs being finished), the workers handle what
//! is visible in the queue (at most 10 s) and finish their batch, the listener closes
//! gracefully, and the journal is compacted to what is still queued (deferred jobs and dead
//! letters included) for the next start. A kill skips all that and loses nothing queued.

use crate::banner::Banner;
use crate::cli::{Options, SandboxMode};
use crate::control::ControlContext;
use crate::data::{DataDir, JOURNAL_FILE, KEYS_FILE, QUEUE_FILE};
use crate::error::{LocalError, LocalResult};
use crate::queue_file;
use crate::sandbox_server;
use crate::sandboxes::{self, DemoIdentity, Sandboxes};
use crate::seed;
use crate::server::{self, Draining, SandboxMounts};
use crate::web::WebContext;
use crate::worker::{QueueWait, Workers};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use warroom_core::SystemClock;
use warroom_platforms::PlatformsConfig;
use warroom_queue::MemoryQueueConfig;

/// How long shutdown waits for the workers to take what is visible in the queue.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// How long the worker loops then get to finish the batch in hand.
const STOP_LIMIT: Duration = Duration::from_secs(15);
/// How long open HTTP connections get to finish.
const HTTP_LIMIT: Duration = Duration::from_secs(5);

/// Demo mode's sandboxes: the in-process ones (absent when external), who the demo app's
/// bots are, and where the sandboxes are served.
struct Demo {
    in_process: Option<Sandboxes>,
    identity: DemoIdentity,
    base_url: String,
}

pub async fn run(options: Options) -> LocalResult<()> {
    // Prometheus text for GET /metrics (WARROOM_METRICS=off: none); no thread, no listener.
    warroom_metrics::install();
    let listener = bind(options.listen).await?;
    let addr = listener.local_addr().map_err(|e| LocalError::new(format!("cannot read the listening address: {e}")))?;
    let bundle_url = url_of(addr);

    let data = DataDir::prepare(&options.data_dir)?;
    let secrets = data.secrets()?;
    let store = Arc::new(data.open_store()?);
    let (queue, recovered) = data.open_queue(MemoryQueueConfig::default())?;
    let queue = Arc::new(queue);
    let legacy_path = data.file(QUEUE_FILE);
    let legacy = queue_file::load(&legacy_path)?;

    let demo = match &options.sandbox {
        SandboxMode::InProcess => {
            let s = Sandboxes::start(&bundle_url);
            Some(Demo { identity: s.identity(), in_process: Some(s), base_url: bundle_url.clone() })
        }
        SandboxMode::External(url) => Some(Demo { in_process: None, identity: sandbox_server::fetch_identity(url).await?, base_url: url.clone() }),
        SandboxMode::Off => None,
    };
    let platforms = match &demo {
        Some(demo) => sandboxes::platforms_config(&demo.base_url, &bundle_url),
        None => real_platforms(&bundle_url)?,
    };
    let outbound = local_outbound()?;
    // Sends and receives go through `QueueWait`, which measures each job's wait in the queue.
    let timed: Arc<dyn warroom_core::JobQueue> = Arc::new(QueueWait::new(queue.clone()));
    let state = warroom_runtime::compose(store.clone(), timed.clone(), Arc::new(SystemClock), secrets, platforms, outbound.clone())
        .map_err(|e| LocalError::new(format!("cannot wire the bundle: {e}")))?;
    // The assistant's model: WARROOM_MODEL_* when set; else, in demo mode with in-process
    // sandboxes, the LLM sandbox; else none (the assistant says how to configure one).
    let from_env = warroom_ai::settings_from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty())).map_err(LocalError::new)?;
    let in_process = demo.as_ref().is_some_and(|d| d.in_process.is_some());
    let model = from_env.or_else(|| in_process.then(|| sandboxes::llm_settings(&bundle_url)));
    let state = warroom_runtime::with_models_under(state, model.as_ref(), &outbound).map_err(|e| LocalError::new(e.to_string()))?;

    let seeded = seed::tenant(store.as_ref(), &data).await?;
    let tenant = seeded.keys.tenant_id.clone();
    let mut mounts = None;
    if let Some(demo) = &demo {
        seed::members(store.as_ref(), &tenant).await?;
        if let Some(s) = &demo.in_process {
            s.skip_slack_channel_ids(seed::stored_chat_ids(store.as_ref(), &tenant).await?);
        }
        let ids = seed::integrations(&state, &tenant, &demo.identity, &demo.base_url).await?;
        // The web view and the click controls drive the sandboxes' state directly: in-process only.
        mounts = demo.in_process.as_ref().map(|s| SandboxMounts {
            web: WebContext {
                slack: s.slack.clone(),
                feishu: s.feishu.clone(),
                dingtalk: s.dingtalk.clone(),
                wecom: s.wecom.clone(),
                bundle_url: bundle_url.clone(),
                intake_key: seeded.keys.intake_key.clone(),
                admin_key: seeded.keys.admin_key.clone(),
                slack_team_id: sandboxes::SLACK_TEAM_ID.into(),
                slack_integration_id: ids.slack.to_string(),
                feishu_app_id: sandboxes::FEISHU_APP_ID.into(),
                feishu_integration_id: ids.feishu.to_string(),
            },
            control: ControlContext {
                store: store.clone(),
                tenant: tenant.clone(),
                slack: s.slack.clone(),
                feishu: s.feishu.clone(),
                bundle_url: bundle_url.clone(),
                slack_team_id: sandboxes::SLACK_TEAM_ID.into(),
                feishu_app_id: sandboxes::FEISHU_APP_ID.into(),
            },
            apis: s.routers(),
        });
    }

    let (mut restored_jobs, mut restored_dead) = (recovered.live, recovered.dead);
    if let Some(saved) = &legacy {
        queue_file::restore(&queue, saved).await?;
        std::fs::remove_file(&legacy_path).map_err(|e| LocalError::new(format!("cannot remove {} after reading it: {e}", legacy_path.display())))?;
        restored_jobs += saved.jobs.len();
        restored_dead += saved.dead_letters.len();
    }

    let draining = Draining::default();
    let app = server::router(state.clone(), mounts, draining.clone());
    let workers = Workers::start(options.workers, queue.clone(), timed, state.engine.clone());
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = http_stopped.await;
            })
            .await
    });

    // Connected through its module once the bundle answers: connecting calls the sandbox,
    // which the bundle's own listener serves.
    if let Some(s) = demo.as_ref().and_then(|d| d.in_process.as_ref()) {
        if let Err(e) = crate::connect::dingtalk(&state, &tenant, s, &bundle_url).await {
            eprintln!("warroom-local: the DingTalk sandbox app is not connected: {e}");
        }
        if let Err(e) = crate::connect::wecom(&state, &tenant, s, &bundle_url).await {
            eprintln!("warroom-local: the WeCom sandbox app is not connected: {e}");
        }
    }

    let data_dir = options.data_dir.display().to_string();
    let keys_file = data.file(KEYS_FILE).display().to_string();
    let banner = Banner {
        bundle_url: &bundle_url,
        data_dir: &data_dir,
        workers: options.workers,
        sandbox: &options.sandbox,
        keys: &seeded.keys,
        new_keys: seeded.new_keys,
        keys_file: &keys_file,
        restored_jobs,
        restored_dead,
        outbound: &outbound.describe(),
    };
    println!("{}", banner.render());

    let failure = tokio::select! {
        _ = shutdown_signal() => None,
        ended = &mut server => Some(match ended {
            Ok(Ok(())) => LocalError::new("the HTTP server stopped unexpectedly"),
            Ok(Err(e)) => LocalError::new(format!("the HTTP server failed: {e}")),
            Err(e) => LocalError::new(format!("the HTTP server crashed: {e}")),
        }),
    };

    println!("warroom-local: stopping: no new requests; finishing the queued jobs (at most {} s; Ctrl-C again to skip)", DRAIN_LIMIT.as_secs());
    draining.start();
    tokio::select! {
        _ = workers.drain(DRAIN_LIMIT) => {}
        _ = shutdown_signal() => println!("warroom-local: not waiting for the queue"),
    }
    workers.stop(STOP_LIMIT).await;
    let _ = stop_http.send(());
    if !server.is_finished() && tokio::time::timeout(HTTP_LIMIT, &mut server).await.is_err() {
        server.abort();
    }

    let journal = data.file(JOURNAL_FILE);
    if let Err(e) = queue.compact() {
        // Every change is in the journal already; the next start compacts it.
        tracing::warn!(error = %e, "the queue journal was not compacted");
    }
    let (kept, dead) = (queue.len(), queue.dead_len());
    if kept + dead == 0 {
        println!("warroom-local: stopped; the queue was empty");
    } else {
        println!("warroom-local: stopped; {kept} queued job(s) and {dead} dead letter(s) kept in {} for the next start", journal.display());
    }
    failure.map_or(Ok(()), Err)
}

pub(crate) async fn bind(addr: SocketAddr) -> LocalResult<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let other_port = match addr.ip() {
            IpAddr::V4(ip) => format!("{ip}:PORT"),
            IpAddr::V6(ip) => format!("[{ip}]:PORT"),
        };
        LocalError::new(match e.kind() {
            std::io::ErrorKind::AddrInUse => format!("{addr} is already in use; pass --listen {other_port}"),
            std::io::ErrorKind::AddrNotAvailable => format!("cannot listen on {addr}: this machine has no such address; pass --listen 127.0.0.1:3000"),
            std::io::ErrorKind::PermissionDenied => format!("cannot listen on {addr}: permission denied; pass --listen {other_port} with a port above 1024"),
            _ => format!("cannot listen on {addr}: {e}"),
        })
    })
}

/// The URL a browser or curl on this machine uses (a wildcard address becomes loopback).
pub fn url_of(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// `--no-sandbox`: the real platforms, configured as a deployment is (the Slack app and
/// base overrides from the environment); the public URL is `WARROOM_PUBLIC_URL` (a tunnel
/// the platforms can reach) or else this listener's.
fn real_platforms(bundle_url: &str) -> LocalResult<PlatformsConfig> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let lookup = |k: &str| match k {
        // Not used locally: the store, queue and key are the data directory's.
        "WARROOM_TABLE" | "WARROOM_QUEUE_URL" | "WARROOM_SECRET_KEY" => Some("local".to_string()),
        "WARROOM_PUBLIC_URL" => Some(env(k).unwrap_or_else(|| bundle_url.to_string())),
        _ => env(k),
    };
    warroom_runtime::Env::from_lookup(lookup).map(|e| e.platforms).map_err(|e| LocalError::new(e.to_string()))
}

/// What status sync may reach locally: loopback (everything the local stack talks to, a
/// local Alertmanager included, is on this machine) and whatever `WARROOM_OUTBOUND_ALLOW`
/// adds, as on Lambda (docs/outbound.md).
fn local_outbound() -> LocalResult<warroom_runtime::OutboundPolicy> {
    let allow = std::env::var("WARROOM_OUTBOUND_ALLOW").unwrap_or_default();
    warroom_runtime::OutboundPolicy::parse(&format!("127.0.0.0/8,::1/128,{allow}")).map_err(|e| LocalError::new(e.to_string()))
}

/// Ctrl-C, or SIGTERM on Unix.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
