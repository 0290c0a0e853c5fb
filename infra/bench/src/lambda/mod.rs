//! Each function's own binary run as Lambda runs it: started under a Runtime API emulator
//! ([`emulator`]) with Lambda's environment ([`process`]), against the DynamoDB/SQS
//! emulator (moto) and the IM sandboxes ([`seed`]), fed a realistic event ([`events`]).
//! Measured per function ([`report`]): exec → first `/next` and exec → first response over
//! `cold` fresh processes, the latency of `warm` invocations of the last one, its peak
//! RSS after the first response and at the end, and the stripped binary's size. Any
//! invocation that fails (an `/error` post, a 5xx, an unexpected status or a failed batch
//! item) stops the run with an error.

pub mod emulator;
pub mod events;
pub mod process;
pub mod report;
pub mod seed;

use emulator::{Emulator, Outcome};
use process::Running;
use report::FunctionReport;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long one invocation (a cold start included) may take before the run fails.
const INVOKE_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    #[error("{0}")]
    Config(String),
    #[error("setup: {0}")]
    Setup(String),
    #[error("{function}: {message}")]
    Invocation { function: &'static str, message: String },
}

/// The six functions, by their binary names (`functions/*/Cargo.toml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    IncidentIntake,
    ImEvents,
    CardActions,
    OauthCallback,
    Api,
    Worker,
}

impl Function {
    pub const ALL: [Function; 6] =
        [Function::IncidentIntake, Function::ImEvents, Function::CardActions, Function::OauthCallback, Function::Api, Function::Worker];

    pub fn binary(self) -> &'static str {
        match self {
            Function::IncidentIntake => "incident-intake",
            Function::ImEvents => "im-events",
            Function::CardActions => "card-actions",
            Function::OauthCallback => "oauth-callback",
            Function::Api => "api",
            Function::Worker => "worker",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.binary() == name)
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Where the binaries are (`target/release`).
    pub bin_dir: PathBuf,
    pub functions: Vec<Function>,
    /// Fresh processes per function (each answers one event).
    pub cold: usize,
    /// Invocations of the last process after its first.
    pub warm: usize,
}

/// The figures and the table.
pub struct RunReport {
    pub reports: Vec<FunctionReport>,
    pub table: String,
}

/// The workspace's target dir (`CARGO_TARGET_DIR`, else `target/` at the workspace root).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

pub async fn run(config: &Config) -> Result<RunReport, LambdaError> {
    if config.cold == 0 {
        return Err(LambdaError::Config("--cold must be at least 1".into()));
    }
    let missing: Vec<String> =
        config.functions.iter().map(|f| config.bin_dir.join(f.binary())).filter(|p| !p.is_file()).map(|p| p.display().to_string()).collect();
    if !missing.is_empty() {
        return Err(LambdaError::Config(format!(
            "missing binaries: {} (build them in one go: cargo build --release -p incident-intake -p im-events -p card-actions -p oauth-callback -p api -p worker --bins)",
            missing.join(", ")
        )));
    }
    let scratch = seed::scratch_dir().map_err(|e| LambdaError::Setup(format!("scratch dir: {e}")))?;
    let seeded = seed::prepare(&scratch).await?;
    // Tells this run's event ids apart from earlier runs' on the same emulator.
    let run = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() & 0xffff_ffff) as u32;
    let mut reports = Vec::new();
    let mut failed = None;
    for function in &config.functions {
        match bench(*function, config, &seeded, &scratch, run).await {
            Ok(report) => reports.push(report),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    seed::teardown(&seeded).await;
    if let Some(e) = failed {
        // The functions' logs stay in `scratch` to read.
        return Err(e);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let table = report::table(&reports, config.cold, config.warm);
    Ok(RunReport { reports, table })
}

struct Driver<'a> {
    function: Function,
    seeded: &'a seed::Seeded,
    run: u32,
    seq: u64,
}

impl Driver<'_> {
    fn fail(&self, message: String) -> LambdaError {
        LambdaError::Invocation { function: self.function.binary(), message }
    }

    /// Queues the next event (built and signed first: that is the platform's time, not
    /// the function's); the answer is awaited with [`Driver::answer`].
    async fn send(&mut self, emulator: &Emulator) -> Result<(Instant, tokio::sync::oneshot::Receiver<Outcome>, events::Expect), LambdaError> {
        self.seq += 1;
        let event = events::build(self.function, self.seeded, self.run, self.seq);
        let sent = Instant::now();
        let answered = emulator.invoke(event.payload).await.map_err(|e| self.fail(e))?;
        Ok((sent, answered, event.expect))
    }

    /// Waits for the answer, watching the process: a crash or an init error fails at once.
    async fn answer(
        &self,
        process: &mut Running,
        emulator: &Emulator,
        mut answered: tokio::sync::oneshot::Receiver<Outcome>,
        expect: events::Expect,
    ) -> Result<Instant, LambdaError> {
        let deadline = Instant::now() + INVOKE_LIMIT;
        let outcome = loop {
            tokio::select! {
                outcome = &mut answered => break outcome.map_err(|_| self.fail("the emulator dropped the invocation".into()))?,
                _ = tokio::time::sleep(Duration::from_millis(20)) => {
                    if let Some(error) = emulator.init_error() {
                        return Err(self.fail(format!("init error: {error}\n{}", process.log_tail())));
                    }
                    if let Some(status) = process.exited() {
                        return Err(self.fail(format!("the process exited ({status}) before answering\n{}", process.log_tail())));
                    }
                    if Instant::now() > deadline {
                        return Err(self.fail(format!("invocation {}: no answer in {INVOKE_LIMIT:?}\n{}", self.seq, process.log_tail())));
                    }
                }
            }
        };
        match outcome {
            Outcome::Response { body, at } => events::check(expect, &body).map(|()| at).map_err(|e| self.fail(format!("invocation {}: {e}", self.seq))),
            Outcome::Error { body } => Err(self.fail(format!("invocation {} posted an error: {body}\n{}", self.seq, process.log_tail()))),
        }
    }
}

async fn bench(function: Function, config: &Config, seeded: &seed::Seeded, scratch: &Path, run: u32) -> Result<FunctionReport, LambdaError> {
    let binary = config.bin_dir.join(function.binary());
    let log = scratch.join(format!("{}.log", function.binary()));
    let mut driver = Driver { function, seeded, run, seq: 0 };
    let mut report = FunctionReport {
        function: function.binary(),
        ready: Vec::new(),
        first_response: Vec::new(),
        warm: Vec::with_capacity(config.warm),
        rss_first: 0,
        rss_end: 0,
        stripped_size: process::stripped_size(&binary, scratch).map_err(|e| driver.fail(format!("size of {}: {e}", binary.display())))?,
    };
    for round in 0..config.cold {
        let emulator = Emulator::start(function.binary()).await.map_err(|e| driver.fail(format!("emulator: {e}")))?;
        // Queued before the start: Lambda has the event waiting when the runtime asks.
        let (_, answered, expect) = driver.send(&emulator).await?;
        let mut process = Running::spawn(&binary, function.binary(), emulator.address(), &seeded.env, &log)
            .map_err(|e| driver.fail(format!("starting {}: {e}", binary.display())))?;
        let at = driver.answer(&mut process, &emulator, answered, expect).await?;
        let ready = emulator.ready_at().ok_or_else(|| driver.fail("answered without asking for an event".into()))?;
        report.ready.push(ready.saturating_duration_since(process.started));
        report.first_response.push(at.saturating_duration_since(process.started));
        report.rss_first = report.rss_first.max(process.peak_rss().unwrap_or(0));
        if round + 1 < config.cold {
            process.stop();
            continue;
        }
        for _ in 0..config.warm {
            let (sent, answered, expect) = driver.send(&emulator).await?;
            let at = driver.answer(&mut process, &emulator, answered, expect).await?;
            report.warm.push(at.saturating_duration_since(sent));
        }
        report.rss_end = process.peak_rss().unwrap_or(0);
        process.stop();
    }
    Ok(report)
}
