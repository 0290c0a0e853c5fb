//! Does building an answer's context cost more in a long war room? Three rooms of one
//! tenant on the embedded store (a file, as `warroom-local` runs it): a short one (`--small`
//! captured messages and as many timeline entries), a medium one (`--medium`, past what the
//! prompt can hold: 1,334 messages at the 12,000-token budget) and a long one (`--messages`
//! and `--entries`), each asked a question as its newest message; the tenant also has
//! `--runbooks` runbooks and `--past` past incidents, so the runbook and similar-incident
//! reads are in the figure. Each round builds the prompt of every room
//! (`Engine::answer_prompt`, what the answer job runs) in rotating order; the table gives
//! the median and p95 per room. For comparison it also times the history reads alone, now
//! (the newest the budget can hold) and before (the whole transcript and timeline, then the
//! newest kept). A room shorter than the budget's window reads all it has, so costs less:
//! the cost grows up to the window, then stays flat.
//!
//! ```text
//! cargo run --release -p warroom-bench --bin context_scale
//! cargo run --release -p warroom-bench --bin context_scale -- --messages 20000 --entries 5000 --small 300 --rounds 200
//! ```
//!
//! Exits 1 if the long room's median is more than 25% above the medium room's.

use std::sync::Arc;
use std::time::{Duration, Instant};
use warroom_bench::wrap::NoopSync;
use warroom_core::runbook::{Runbook, RunbookId, Selector};
use warroom_core::*;
use warroom_engine::assistant::{answer::PROMPT_BUDGET, context};
use warroom_engine::{Engine, EngineConfig};
use warroom_queue::{MemoryQueue, MemoryQueueConfig};
use warroom_store::embedded::EmbeddedStore;
use warroom_testkit::fake_platform::FakeFactory;
use warroom_testkit::fixtures;

const TOLERANCE: f64 = 0.25;

struct Args {
    messages: usize,
    entries: usize,
    small: usize,
    medium: usize,
    rounds: usize,
    old_rounds: usize,
    runbooks: usize,
    past: usize,
}

fn usage(problem: &str) -> ! {
    eprintln!("context_scale: {problem}");
    eprintln!(
        "usage: context_scale [--messages 20000] [--entries 5000] [--small 300] [--medium 2000] [--rounds 200] [--old-rounds 20] [--runbooks 20] [--past 200]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args { messages: 20_000, entries: 5_000, small: 300, medium: 2_000, rounds: 200, old_rounds: 20, runbooks: 20, past: 200 };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut number = || args.next().and_then(|v| v.parse::<usize>().ok()).unwrap_or_else(|| usage(&format!("{flag} needs a number")));
        match flag.as_str() {
            "--messages" => a.messages = number(),
            "--entries" => a.entries = number(),
            "--small" => a.small = number(),
            "--medium" => a.medium = number(),
            "--rounds" => a.rounds = number(),
            "--old-rounds" => a.old_rounds = number(),
            "--runbooks" => a.runbooks = number(),
            "--past" => a.past = number(),
            "-h" | "--help" => usage("help"),
            other => usage(&format!("unknown option {other}")),
        }
    }
    if a.small == 0 || a.medium < a.small || a.messages < a.medium || a.rounds == 0 || a.runbooks > runbook::MAX_PER_TENANT {
        usage("the long room needs at least the short room's messages, one round at least, at most 100 runbooks");
    }
    a
}

fn engine(store: Arc<dyn Store>) -> Engine {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Engine {
        store,
        queue: Arc::new(MemoryQueue::new(MemoryQueueConfig::default(), clock.clone())),
        platforms: Arc::new(FakeFactory::new()),
        sources: Arc::new(NoopSync),
        clock,
        config: EngineConfig { public_url: "https://warroom.example.com".into() },
        models: None,
    }
}

/// A room: an incident, `messages` captured messages (the last one the question) and
/// `entries` timeline entries.
async fn room(store: &dyn Store, tenant: &TenantId, name: &str, messages: usize, entries: usize) -> Result<(Incident, MessageId), StoreError> {
    let mut incident = fixtures::incident(tenant, name, fixtures::T0);
    incident.title = "Checkout 5xx errors".into();
    incident.labels = [("service".to_string(), "checkout".to_string())].into();
    let incident = store.create_incident(&incident).await?;
    for i in 0..messages {
        let text = if i + 1 == messages {
            "<@UBOT> is the payment gateway pool exhausted?".to_string()
        } else {
            format!("update {i}: shard {} latency {} ms", i % 16, 40 + i % 90)
        };
        let m = ChatMessage { id: format!("om_{i:08}"), at: Timestamp(fixtures::T0.0 + i as i64 * 250), author: "U_ADA".into(), text };
        store.append_chat_message(tenant, &incident.id, &m).await?;
    }
    for i in 0..entries {
        let at = Timestamp(fixtures::T0.0 + i as i64);
        store
            .append_timeline(&TimelineEntry::new(tenant.clone(), incident.id.clone(), at, Actor::System, TimelineAction::MemberInvited, format!("U{i}")))
            .await?;
    }
    Ok((incident, MessageId::new(format!("om_{:08}", messages - 1))))
}

/// The tenant's knowledge: runbooks (one matching the rooms' labels) and past incidents.
async fn knowledge(store: &dyn Store, tenant: &TenantId, runbooks: usize, past: usize) -> Result<(), StoreError> {
    for i in 0..runbooks {
        let selectors = if i == 0 { vec![Selector::parse("service=checkout").expect("a selector")] } else { vec![] };
        let body = format!("# Runbook {i}\n\nCheck the payment gateway pool.\n\n{}", "Step. ".repeat(400));
        let r = Runbook {
            tenant_id: tenant.clone(),
            id: RunbookId::generate(),
            title: format!("Runbook {i}"),
            body,
            selectors,
            summary: None,
            created_at: fixtures::T0,
            updated_at: fixtures::T0,
            version: 0,
        };
        store.put_runbook(&r).await?;
    }
    for i in 0..past {
        let mut p = fixtures::incident(tenant, &format!("past-{i}"), Timestamp(fixtures::T0.0 - 1_000_000 - i as i64 * 1000));
        p.title = if i % 10 == 0 { "Checkout 5xx errors".into() } else { format!("Disk full on db-{i}") };
        p.status = Status::Resolved;
        store.create_incident(&p).await?;
    }
    Ok(())
}

/// The history reads alone: the whole transcript and timeline (before), or the newest the
/// budget can hold (now); then the prompt from them, without runbooks or past incidents.
async fn history_prompt(store: &dyn Store, incident: &Incident, question: &MessageId, whole: bool) -> Result<context::Prompt, StoreError> {
    let (t, id) = (&incident.tenant_id, &incident.id);
    let (chat, timeline) = if whole {
        (store.list_chat_messages(t, id).await?, store.list_timeline(t, id).await?)
    } else {
        let chat = store.list_newest_chat_messages(t, id, context::max_lines(PROMPT_BUDGET)).await?.items;
        (chat, store.list_newest_timeline(t, id, context::max_lines(PROMPT_BUDGET / 4)).await?.items)
    };
    let asked = chat.iter().find(|m| m.id == question.as_str()).map(|m| m.text.clone()).unwrap_or_default();
    Ok(context::build(incident, &timeline, &chat, &asked, PROMPT_BUDGET))
}

fn percentile(times: &[Duration], p: f64) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

type Rooms<'a> = [(&'a str, &'a Incident, &'a MessageId); 3];
type Times = [Vec<Duration>; 3];

async fn measure_new(engine: &Engine, rooms: &Rooms<'_>, rounds: usize) -> Result<Times, String> {
    let mut times: Times = Default::default();
    for round in 0..rounds {
        // Rotating order: no room always gets the warmer cache.
        for k in 0..3 {
            let i = (round + k) % 3;
            let (name, incident, question) = rooms[i];
            let started = Instant::now();
            let prompt = engine.answer_prompt(incident, None, question).await.map_err(|e| format!("{name}: {e}"))?;
            times[i].push(started.elapsed());
            if prompt.knowledge.runbooks.is_empty() || prompt.knowledge.past.is_empty() || !prompt.user.contains("payment gateway pool exhausted") {
                return Err(format!("{name}: the prompt lacks its runbook, past incidents or question"));
            }
        }
    }
    Ok(times)
}

async fn measure_history(store: &dyn Store, rooms: &Rooms<'_>, rounds: usize, whole: bool) -> Result<Times, String> {
    let mut times: Times = Default::default();
    for round in 0..rounds {
        for k in 0..3 {
            let (name, incident, question) = rooms[(round + k) % 3];
            let started = Instant::now();
            let prompt = history_prompt(store, incident, question, whole).await.map_err(|e| format!("{name} (history reads): {e}"))?;
            times[(round + k) % 3].push(started.elapsed());
            if !prompt.question.contains("payment gateway pool exhausted") {
                return Err(format!("{name}: the question was not found"));
            }
        }
    }
    Ok(times)
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let dir = std::env::temp_dir().join(format!("warroom-context-scale-{}", std::process::id()));
    let result = run(&args, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("context_scale: the long room's context costs more than {:.0}% over the short room's", TOLERANCE * 100.0);
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("context_scale: {e}");
            std::process::exit(2)
        }
    }
}

async fn run(args: &Args, dir: &std::path::Path) -> Result<bool, String> {
    let setup = |e: StoreError| format!("setup: {e}");
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.join("warroom.redb")).map_err(setup)?);
    let tenant = fixtures::tenant_id();
    store.put_tenant(&fixtures::tenant(&tenant)).await.map_err(setup)?;
    let started = Instant::now();
    knowledge(store.as_ref(), &tenant, args.runbooks, args.past).await.map_err(setup)?;
    let (short, short_q) = room(store.as_ref(), &tenant, "short-room", args.small, args.small).await.map_err(setup)?;
    let (medium, medium_q) = room(store.as_ref(), &tenant, "medium-room", args.medium, args.medium.min(args.entries)).await.map_err(setup)?;
    let (long, long_q) = room(store.as_ref(), &tenant, "long-room", args.messages, args.entries).await.map_err(setup)?;
    eprintln!("filled in {:.1} s", started.elapsed().as_secs_f64());
    let engine = engine(store.clone());
    let rooms: Rooms = [("short", &short, &short_q), ("medium", &medium, &medium_q), ("long", &long, &long_q)];
    measure_new(&engine, &rooms, 10).await?; // warm-up
    let full = measure_new(&engine, &rooms, args.rounds).await?;
    let newest = measure_history(store.as_ref(), &rooms, args.rounds, false).await?;
    let whole = measure_history(store.as_ref(), &rooms, args.old_rounds.max(1), true).await?;

    let sizes = [
        format!("{} msgs / {} entries", args.small, args.small),
        format!("{} msgs / {} entries", args.medium, args.medium.min(args.entries)),
        format!("{} msgs / {} entries", args.messages, args.entries),
    ];
    println!("{:<44} {:<26} {:>5} {:>10} {:>10}", "what is timed", "room", "runs", "median ms", "p95 ms");
    let rows = [
        ("answer_prompt: everything the job reads (now)", &full),
        ("history reads, newest within budget (now)", &newest),
        ("history reads, whole history (before)", &whole),
    ];
    for (label, times) in rows {
        for i in 0..3 {
            println!("{label:<44} {:<26} {:>5} {:>10.2} {:>10.2}", sizes[i], times[i].len(), ms(percentile(&times[i], 0.5)), ms(percentile(&times[i], 0.95)));
        }
    }
    let median = |t: &Times, i: usize| ms(percentile(&t[i], 0.5)).max(1e-9);
    let flat = median(&full, 2) / median(&full, 1);
    println!(
        "long/medium median: now {flat:.2} (history reads {:.2}, before {:.2}); long/short: now {:.2} (history reads {:.2}, before {:.2})",
        median(&newest, 2) / median(&newest, 1),
        median(&whole, 2) / median(&whole, 1),
        median(&full, 2) / median(&full, 0),
        median(&newest, 2) / median(&newest, 0),
        median(&whole, 2) / median(&whole, 0),
    );
    Ok(flat <= 1.0 + TOLERANCE)
}
