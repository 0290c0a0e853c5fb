//! Logs of a test run, kept so they can be searched for secrets afterwards.
//!
//! `./infra/test.sh` sets `WARROOM_TEST_LOG_DIR`; every test app calls [`init`], which then
//! sends this process's `tracing` output (verbose: the secrets check is only as good as
//! what was logged) to one file per test binary and process in that directory. The step
//! after `cargo test` (`scan-test-logs`, see `log_scan`) searches all of them. Without the
//! variable nothing is installed and tests log nowhere, as before.

use std::fs::{self, OpenOptions};
use std::path::PathBuf;
use std::sync::{Mutex, Once};

/// Where the files go.
pub const DIR_VAR: &str = "WARROOM_TEST_LOG_DIR";
/// Optional filter (`EnvFilter` syntax); the default is every Warroom crate at `trace`.
pub const FILTER_VAR: &str = "WARROOM_TEST_LOG";
/// Warroom's crates at `trace`, everything else at `debug` except the transport crates,
/// whose frame-level chatter adds megabytes and no place a secret of ours could appear.
pub const DEFAULT_FILTER: &str = "debug,hyper=info,hyper_util=info,h2=info,rustls=info,\
    tower=info,aws_smithy_runtime=info,aws_smithy_runtime_api=info,aws_config=info,\
    redb=info,warroom=trace,warroom_core=trace,warroom_engine=trace,warroom_platforms=trace,\
    warroom_http=trace,warroom_store=trace,warroom_queue=trace,warroom_sources=trace,\
    warroom_intake=trace,warroom_runtime=trace,warroom_secrets=trace,warroom_sandbox=trace,\
    api=trace,im_events=trace,card_actions=trace,oauth_callback=trace,incident_intake=trace,\
    worker=trace";

static INIT: Once = Once::new();

/// Installs the file logger once per process, when `WARROOM_TEST_LOG_DIR` is set.
/// Safe to call from every test: later calls (and a subscriber set elsewhere) are no-ops.
pub fn init() {
    INIT.call_once(|| {
        let Some(dir) = std::env::var_os(DIR_VAR).map(PathBuf::from) else { return };
        if let Err(e) = install(dir) {
            // Not fatal for the test, but the secrets step would then scan less than it
            // thinks: say so where the run's output shows it.
            eprintln!("warroom-testkit: test logging not installed: {e}");
        }
    });
}

fn install(dir: PathBuf) -> std::io::Result<()> {
    fs::create_dir_all(&dir)?;
    let exe = std::env::current_exe().ok();
    let name = exe.as_deref().and_then(|p| p.file_stem()).and_then(|s| s.to_str()).unwrap_or("test");
    let path = dir.join(format!("{name}-{}.log", std::process::id()));
    let file = OpenOptions::new().create(true).append(true).open(&path)?;
    let filter = std::env::var(FILTER_VAR).unwrap_or_else(|_| DEFAULT_FILTER.to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).map_err(|e| std::io::Error::other(format!("{FILTER_VAR}: {e}")))?;
    let subscriber = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_thread_names(true).with_writer(Mutex::new(file)).finish();
    // Another subscriber already installed (a test that sets its own) wins; fine.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(())
}
