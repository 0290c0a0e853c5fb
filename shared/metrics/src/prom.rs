//! Prometheus text exposition for warroom-local: the exporter's recorder behind the same
//! vetting as EMF (the tenant label is dropped: one series per tenant is what a scrape
//! must not get). No listener: the local server renders `GET /metrics` itself.

use crate::names::{Kind, METRICS};
use crate::vet::vet;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Seconds: from a fast callback to a job that waited out a long rate limit.
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

pub struct VettedPrometheus(PrometheusRecorder);

impl VettedPrometheus {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new().set_buckets(BUCKETS).expect("the bucket list is not empty").build_recorder();
        Self(recorder)
    }

    pub fn handle(&self) -> PrometheusHandle {
        self.0.handle()
    }

    /// HELP lines for every metric of the vocabulary.
    pub fn describe_all(&self) {
        for def in METRICS {
            match def.kind {
                Kind::Counter => self.0.describe_counter(def.name.into(), Some(Unit::Count), def.help.into()),
                Kind::Seconds => self.0.describe_histogram(def.name.into(), Some(Unit::Seconds), def.help.into()),
            }
        }
    }
}

impl Default for VettedPrometheus {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder for VettedPrometheus {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_counter(key, unit, description)
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_gauge(key, unit, description)
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_histogram(key, unit, description)
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        match vet(key).filter(|v| v.def.kind == Kind::Counter) {
            Some(v) => self.0.register_counter(&v.key(), metadata),
            None => Counter::noop(),
        }
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        match vet(key).filter(|v| v.def.kind == Kind::Seconds) {
            Some(v) => self.0.register_histogram(&v.key(), metadata),
            None => Histogram::noop(),
        }
    }
}
