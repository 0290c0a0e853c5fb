//! Warroom's metrics: one vocabulary (`vocab`, names in `names::METRICS`), two exporters.
//!
//! - On Lambda (`AWS_LAMBDA_FUNCTION_NAME` set): CloudWatch Embedded Metric Format lines on
//!   stdout, written by [`flush`] at the end of each invocation (no API call, no thread).
//! - Elsewhere, with the `prometheus` feature (warroom-local): [`render`] gives the text
//!   exposition for `GET /metrics`.
//! - `WARROOM_METRICS=off` records nothing; `=emf` / `=prometheus` force an exporter.
//!
//! Until [`install`] runs, every helper is a no-op (the facade's default).

pub mod emf;
#[cfg(feature = "axum")]
pub mod http;
pub mod names;
#[cfg(feature = "prometheus")]
pub mod prom;
mod vet;
mod vocab;

pub use vocab::*;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use std::sync::OnceLock;

/// Which exporter this process uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Off,
    Emf,
    Prometheus,
}

impl Mode {
    /// From the environment as `lookup` reads it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Mode {
        match lookup("WARROOM_METRICS").as_deref().map(str::trim) {
            Some("off") | Some("none") | Some("0") => Mode::Off,
            Some("emf") => Mode::Emf,
            Some("prometheus") if cfg!(feature = "prometheus") => Mode::Prometheus,
            _ if lookup("AWS_LAMBDA_FUNCTION_NAME").is_some() => Mode::Emf,
            _ if cfg!(feature = "prometheus") => Mode::Prometheus,
            _ => Mode::Off,
        }
    }
}

/// The EMF namespace: `WARROOM_METRICS_NAMESPACE`, default `Warroom`.
pub fn namespace_from(lookup: impl Fn(&str) -> Option<String>) -> String {
    lookup("WARROOM_METRICS_NAMESPACE").filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "Warroom".to_string())
}

enum Installed {
    Off,
    Emf(&'static emf::EmfRecorder),
    #[cfg(feature = "prometheus")]
    Prometheus(metrics_exporter_prometheus::PrometheusHandle),
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// The global EMF recorder, by reference (so `flush` can reach it).
struct StaticEmf(&'static emf::EmfRecorder);

impl Recorder for StaticEmf {
    fn describe_counter(&self, k: KeyName, u: Option<Unit>, d: SharedString) {
        self.0.describe_counter(k, u, d)
    }
    fn describe_gauge(&self, k: KeyName, u: Option<Unit>, d: SharedString) {
        self.0.describe_gauge(k, u, d)
    }
    fn describe_histogram(&self, k: KeyName, u: Option<Unit>, d: SharedString) {
        self.0.describe_histogram(k, u, d)
    }
    fn register_counter(&self, k: &Key, m: &Metadata<'_>) -> Counter {
        self.0.register_counter(k, m)
    }
    fn register_gauge(&self, k: &Key, m: &Metadata<'_>) -> Gauge {
        self.0.register_gauge(k, m)
    }
    fn register_histogram(&self, k: &Key, m: &Metadata<'_>) -> Histogram {
        self.0.register_histogram(k, m)
    }
}

/// Installs the process's recorder, once (later calls return the first choice). Cheap: a
/// few environment reads and an empty map; no thread, no I/O.
pub fn install() -> Mode {
    install_with(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

pub fn install_with(lookup: impl Fn(&str) -> Option<String>) -> Mode {
    let installed = INSTALLED.get_or_init(|| match Mode::from_lookup(&lookup) {
        Mode::Off => Installed::Off,
        Mode::Emf => {
            let recorder: &'static emf::EmfRecorder = Box::leak(Box::new(emf::EmfRecorder::new(namespace_from(&lookup))));
            match metrics::set_global_recorder(StaticEmf(recorder)) {
                Ok(()) => Installed::Emf(recorder),
                // Someone else's recorder is in place (a test): leave it.
                Err(_) => Installed::Off,
            }
        }
        #[cfg(feature = "prometheus")]
        Mode::Prometheus => {
            let recorder = prom::VettedPrometheus::new();
            let handle = recorder.handle();
            recorder.describe_all();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Installed::Prometheus(handle),
                Err(_) => Installed::Off,
            }
        }
        #[cfg(not(feature = "prometheus"))]
        Mode::Prometheus => Installed::Off,
    });
    mode_of(installed)
}

fn mode_of(installed: &Installed) -> Mode {
    match installed {
        Installed::Off => Mode::Off,
        Installed::Emf(_) => Mode::Emf,
        #[cfg(feature = "prometheus")]
        Installed::Prometheus(_) => Mode::Prometheus,
    }
}

/// The installed exporter (`Off` before `install`).
pub fn mode() -> Mode {
    INSTALLED.get().map_or(Mode::Off, mode_of)
}

/// EMF: writes what was recorded since the last flush to stdout. Otherwise nothing. Call
/// at the end of each invocation (the HTTP middleware and the worker's main do).
pub fn flush() {
    if let Some(Installed::Emf(recorder)) = INSTALLED.get() {
        // A failed write to stdout loses a few data points, never the invocation.
        let _ = recorder.flush_to(&mut std::io::stdout().lock());
    }
}

/// Prometheus: the text exposition of everything recorded. `None` with another exporter.
pub fn render() -> Option<String> {
    match INSTALLED.get()? {
        #[cfg(feature = "prometheus")]
        Installed::Prometheus(handle) => Some(handle.render()),
        _ => None,
    }
}
