//! What the functions work on: a table and a FIFO queue (with its DLQ) on the emulator
//! (moto), the IM sandboxes served in-process, and the demo tenant seeded as
//! `warroom-local` seeds it (keys, Ada/Bob/Cy, the Slack and Feishu integrations), with one
//! critical incident whose war room is open on Feishu (chat, card, the three invited and
//! linked). The functions get the environment `template.yaml` gives them, pointed here.

use super::LambdaError;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use warroom_core::*;
use warroom_local::data::DataDir;
use warroom_local::sandboxes::{self, Sandboxes, PEOPLE};
use warroom_local::{sandbox_server, seed};
use warroom_queue::sqs::{create_fifo, SqsQueue};
use warroom_runtime::OutboundPolicy;
use warroom_secrets::SecretBox;
use warroom_store::dynamo::DynamoStore;

/// How long the setup's war room may take to open (a handful of sandbox calls).
const OPEN_LIMIT: Duration = Duration::from_secs(60);
const PUBLIC_URL: &str = "https://warroom.bench.invalid";

pub struct Seeded {
    /// `WARROOM_*` for every function.
    pub env: Vec<(String, String)>,
    /// The table and queue made for this run, removed by [`teardown`].
    pub table: String,
    pub tenant_id: TenantId,
    pub admin_key: String,
    pub intake_key: String,
    /// The intake event's id and time (see `events`).
    pub intake_source_id: String,
    pub intake_time: String,
    pub feishu_integration: IntegrationId,
    pub feishu_bot: String,
    pub slack_bot: String,
    pub incident_id: IncidentId,
    pub chat_id: String,
    pub card_id: String,
    _sandbox: SandboxThread,
}

fn setup(what: &str) -> impl Fn(String) -> LambdaError + '_ {
    move |e| LambdaError::Setup(format!("{what}: {e}"))
}

fn endpoint(var: &str) -> Result<String, LambdaError> {
    std::env::var(var).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
        LambdaError::Config(format!(
            "{var} is not set: start the emulator (.venv-test/bin/python infra/moto_server.py 127.0.0.1 PORT) and set WARROOM_DYNAMODB_ENDPOINT and WARROOM_SQS_ENDPOINT to http://127.0.0.1:PORT"
        ))
    })
}

pub async fn prepare(scratch: &Path) -> Result<Seeded, LambdaError> {
    let (dynamodb_endpoint, sqs_endpoint) = (endpoint("WARROOM_DYNAMODB_ENDPOINT")?, endpoint("WARROOM_SQS_ENDPOINT")?);
    let mut sandbox = SandboxThread::start().map_err(|e| setup("IM sandboxes")(e.to_string()))?;
    let sandboxes = Sandboxes::start(&sandbox.base);
    let identity = sandboxes.identity();
    sandbox.serve(sandbox_server::router(sandboxes, identity.clone()));

    // The deployment's AWS resources, named for this run.
    let name = warroom_testkit::aws::unique_name("lambda-bench");
    let dynamo = warroom_testkit::aws::dynamodb_client();
    DynamoStore::create_table(&dynamo, &name).await.map_err(|e| setup("creating the table")(e.to_string()))?;
    let queue =
        create_fifo(&warroom_testkit::aws::sqs_client(), &name, Duration::from_secs(60), 5).await.map_err(|e| setup("creating the queue")(e.to_string()))?;
    let (queue_url, dlq_url) = (queue.queue_url().to_string(), queue.dlq_url().unwrap_or_default().to_string());
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(dynamo, name.clone()));
    let queue: Arc<SqsQueue> = Arc::new(queue);

    let key = SecretBox::generate_key();
    let secrets = SecretBox::from_key_text(&key).map_err(|e| setup("sealing key")(e.to_string()))?;
    let platforms = sandboxes::platforms_config(&sandbox.base, PUBLIC_URL);
    let state = warroom_runtime::compose(store.clone(), queue.clone(), Arc::new(SystemClock), secrets, platforms, OutboundPolicy::public_only())
        .map_err(|e| setup("wiring the engine")(e.to_string()))?;

    // The demo tenant, with war rooms on Feishu (the click is an encrypted Feishu card).
    let data = DataDir::prepare(&scratch.join("data")).map_err(|e| setup("data dir")(e.to_string()))?;
    let keys = seed::tenant(store.as_ref(), &data).await.map_err(|e| setup("tenant")(e.to_string()))?.keys;
    seed::members(store.as_ref(), &keys.tenant_id).await.map_err(|e| setup("members")(e.to_string()))?;
    let integrations = seed::integrations(&state, &keys.tenant_id, &identity, &sandbox.base).await.map_err(|e| setup("integrations")(e.to_string()))?;
    store.disable_war_room(&keys.tenant_id, &integrations.slack).await.map_err(|e| setup("war room off Slack")(e.to_string()))?;
    store.enable_war_room(&keys.tenant_id, &integrations.feishu).await.map_err(|e| setup("war room on Feishu")(e.to_string()))?;
    let incident = open_war_room(&state.engine, &keys.tenant_id).await?;

    let v = |k: &str, v: &str| (k.to_string(), v.to_string());
    let env = vec![
        v("WARROOM_TABLE", &name),
        v("WARROOM_QUEUE_URL", &queue_url),
        v("WARROOM_DLQ_URL", &dlq_url),
        v("WARROOM_PUBLIC_URL", PUBLIC_URL),
        v("WARROOM_SECRET_KEY", &key),
        v("WARROOM_DYNAMODB_ENDPOINT", &dynamodb_endpoint),
        v("WARROOM_SQS_ENDPOINT", &sqs_endpoint),
        v("WARROOM_SLACK_CLIENT_ID", sandboxes::SLACK_CLIENT_ID),
        v("WARROOM_SLACK_CLIENT_SECRET", sandboxes::SLACK_CLIENT_SECRET),
        v("WARROOM_SLACK_SIGNING_SECRET", sandboxes::SLACK_SIGNING_SECRET),
        v("WARROOM_SLACK_API_URL", &format!("{}{}/api", sandbox.base, sandboxes::SLACK_PATH)),
        v("WARROOM_SLACK_OAUTH_URL", &format!("{}{}", sandbox.base, sandboxes::SLACK_PATH)),
        v("WARROOM_FEISHU_BASE_URL", &sandboxes::feishu_base(&sandbox.base)),
    ];
    Ok(Seeded {
        env,
        table: name.clone(),
        tenant_id: keys.tenant_id,
        admin_key: keys.admin_key,
        intake_key: keys.intake_key,
        intake_source_id: format!("lambda-bench-{name}"),
        intake_time: SystemClock.now().to_rfc3339(),
        feishu_integration: integrations.feishu,
        feishu_bot: identity.feishu_bot_open_id.unwrap_or_default(),
        slack_bot: identity.slack_bot_user_id.unwrap_or_default(),
        chat_id: incident.war_room.chat_id.map(|c| c.to_string()).unwrap_or_default(),
        card_id: incident.war_room.card_message_id.map(|m| m.to_string()).unwrap_or_default(),
        incident_id: incident.id,
        _sandbox: sandbox,
    })
}

/// Drops the run's table (and empties nothing else): moto copies every table of the
/// account on each transaction, so tables left behind slow later runs down.
pub async fn teardown(seeded: &Seeded) {
    let _ = warroom_testkit::aws::dynamodb_client().delete_table().table_name(&seeded.table).send().await;
    let sqs = warroom_testkit::aws::sqs_client();
    for (key, url) in &seeded.env {
        if key == "WARROOM_QUEUE_URL" || key == "WARROOM_DLQ_URL" {
            let _ = sqs.delete_queue().queue_url(url).send().await;
        }
    }
}

/// Fires a critical incident with Ada, Bob and Cy responding and works its jobs off the
/// queue in-process until the room is open with its card and all three invited.
async fn open_war_room(engine: &warroom_engine::Engine, tenant_id: &TenantId) -> Result<Incident, LambdaError> {
    let responders = PEOPLE.iter().map(|p| Responder { name: Some(p.name.into()), email: Some(p.email.into()), phone: None, member_id: None }).collect();
    let event = IncidentEvent {
        source: SourceRef { source: "generic".into(), external_id: "lambda-bench-room".into() },
        status: Status::Triggered,
        title: "Checkout error rate above 5%".into(),
        description: "the war room the Lambda bench clicks in".into(),
        severity: Severity::Critical,
        responders: Some(responders),
        labels: [("service".to_string(), "checkout".to_string())].into(),
        url: None,
        at: SystemClock.now(),
        war_room: true,
    };
    let id = match engine.ingest(tenant_id, event).await.map_err(|e| setup("ingest")(e.to_string()))? {
        warroom_engine::IngestOutcome::Created(id) => id,
        other => return Err(LambdaError::Setup(format!("the setup incident was not created: {other:?}"))),
    };
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(warroom_queue::run_worker_loop(engine.queue.clone(), Arc::new(engine.clone()), shutdown_rx));
    let deadline = Instant::now() + OPEN_LIMIT;
    let opened = loop {
        let incident = engine.store.get_incident(tenant_id, &id).await.map_err(|e| setup("reading the incident")(e.to_string()))?;
        if let Some(incident) = incident.filter(|i| {
            let wr = &i.war_room;
            wr.state == WarRoomState::Open && wr.chat_id.is_some() && wr.card_message_id.is_some() && wr.invited.len() >= PEOPLE.len()
        }) {
            break Ok(incident);
        }
        if Instant::now() > deadline {
            break Err(LambdaError::Setup(format!("the setup war room did not open in {OPEN_LIMIT:?}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = shutdown.send(true);
    // The loop may sit in a long poll; nothing it holds needs a clean stop.
    worker.abort();
    opened
}

/// The sandboxes on 127.0.0.1, served from a thread and runtime of their own so their
/// answers never queue behind the bench's tasks.
struct SandboxThread {
    base: String,
    listener: Option<std::net::TcpListener>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl SandboxThread {
    fn start() -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base = format!("http://{}", listener.local_addr()?);
        Ok(Self { base, listener: Some(listener), stop: None })
    }

    /// Bound first, served later: the sandboxes need their base URL to be built.
    fn serve(&mut self, router: axum::Router) {
        let Some(listener) = self.listener.take() else { return };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(stop);
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
    }
}

impl Drop for SandboxThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A directory of its own for this run (the demo keys file, function logs).
pub fn scratch_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("warroom-lambda-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
