//! CloudWatch Embedded Metric Format: counters and histograms kept in memory and written as
//! JSON log lines by `flush` (at the end of each invocation). No thread, no I/O, no clock
//! read until then: installing it costs a few allocations at cold start.
//!
//! One line per label set (and tenant): `_aws.CloudWatchMetrics[0]` names the namespace,
//! the dimension sets (the labels, and `[]` for the roll-up the alarms read) and each
//! metric's unit; the label values and the metric values are top-level members; the tenant
//! is a plain member (a property: searchable in Logs Insights, never a dimension). Lines
//! hold at most 100 metrics, histograms at most 100 values per line: the rest go to further
//! lines.

use crate::names::{Kind, MetricDef};
use crate::vet::vet;
use metrics::{Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The EMF limits this recorder keeps to.
pub const MAX_METRICS_PER_LINE: usize = 100;
pub const MAX_VALUES_PER_METRIC: usize = 100;
pub const MAX_DIMENSIONS_PER_SET: usize = 30;

struct EmfCounter(AtomicU64);

impl CounterFn for EmfCounter {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

struct EmfHistogram(Mutex<Vec<f64>>);

impl HistogramFn for EmfHistogram {
    fn record(&self, value: f64) {
        if value.is_finite() {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(value);
        }
    }
}

enum Slot {
    Counter(Arc<EmfCounter>),
    Histogram(Arc<EmfHistogram>),
}

struct Entry {
    def: &'static MetricDef,
    labels: Vec<(String, String)>,
    tenant: Option<String>,
    slot: Slot,
}

pub struct EmfRecorder {
    namespace: String,
    max_metrics_per_line: usize,
    entries: Mutex<HashMap<Key, Entry>>,
}

/// One line's worth: its labels and tenant, and the values by metric.
type Group = (Vec<(String, String)>, Option<String>);

impl EmfRecorder {
    pub fn new(namespace: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), max_metrics_per_line: MAX_METRICS_PER_LINE, entries: Mutex::new(HashMap::new()) }
    }

    /// A lower cap on metrics per line (tests of the split; the vocabulary never fills 100).
    pub fn with_max_metrics_per_line(mut self, max: usize) -> Self {
        self.max_metrics_per_line = max.clamp(1, MAX_METRICS_PER_LINE);
        self
    }

    fn entry<T>(&self, key: &Key, kind: Kind, make: impl FnOnce() -> Slot, get: impl FnOnce(&Slot) -> Option<T>) -> Option<T> {
        let mut vetted = vet(key).filter(|v| v.def.kind == kind)?;
        // Sorted: one label set, one line, whatever order the labels were given in.
        vetted.labels.sort();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.entry(key.clone()).or_insert_with(|| Entry { def: vetted.def, labels: vetted.labels, tenant: vetted.tenant, slot: make() });
        get(&entry.slot)
    }

    /// Takes what was recorded since the last call, as EMF lines (one JSON object each).
    pub fn drain_lines(&self, timestamp_ms: u64) -> Vec<String> {
        let mut groups: BTreeMap<Group, Vec<(&'static MetricDef, Value)>> = BTreeMap::new();
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            for entry in entries.values() {
                let values: Vec<Value> = match &entry.slot {
                    Slot::Counter(c) => match c.0.swap(0, Ordering::Relaxed) {
                        0 => continue,
                        n => vec![json!(n)],
                    },
                    Slot::Histogram(h) => {
                        let taken = std::mem::take(&mut *h.0.lock().unwrap_or_else(|e| e.into_inner()));
                        taken.chunks(MAX_VALUES_PER_METRIC).map(|c| json!(c)).collect()
                    }
                };
                let group = groups.entry((entry.labels.clone(), entry.tenant.clone())).or_default();
                group.extend(values.into_iter().map(|v| (entry.def, v)));
            }
        }
        let mut lines = Vec::new();
        for ((labels, tenant), mut metrics) in groups {
            metrics.sort_by(|a, b| a.0.name.cmp(b.0.name));
            // A name may appear once per line: a histogram's further chunks go to later lines.
            while !metrics.is_empty() {
                let mut line_metrics = Vec::new();
                let mut rest = Vec::new();
                for (def, value) in metrics {
                    if line_metrics.len() < self.max_metrics_per_line && !line_metrics.iter().any(|(d, _): &(&MetricDef, Value)| d.name == def.name) {
                        line_metrics.push((def, value));
                    } else {
                        rest.push((def, value));
                    }
                }
                lines.push(self.line(timestamp_ms, &labels, tenant.as_deref(), &line_metrics));
                metrics = rest;
            }
        }
        lines
    }

    fn line(&self, timestamp_ms: u64, labels: &[(String, String)], tenant: Option<&str>, metrics: &[(&MetricDef, Value)]) -> String {
        let keys: Vec<&str> = labels.iter().take(MAX_DIMENSIONS_PER_SET).map(|(k, _)| k.as_str()).collect();
        // The labelled set, and the roll-up over all of them (alarms read that one).
        let dimensions = if keys.is_empty() { json!([[]]) } else { json!([keys, []]) };
        let definitions: Vec<Value> = metrics.iter().map(|(d, _)| json!({"Name": d.name, "Unit": d.unit()})).collect();
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": [{"Namespace": self.namespace, "Dimensions": dimensions, "Metrics": definitions}]}),
        );
        for (k, v) in labels {
            root.insert(k.clone(), json!(v));
        }
        if let Some(t) = tenant {
            root.insert(crate::names::TENANT.into(), json!(t));
        }
        for (d, v) in metrics {
            root.insert(d.name.into(), v.clone());
        }
        Value::Object(root).to_string()
    }

    /// Writes what was recorded since the last flush to `out`, one line per EMF document.
    pub fn flush_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let lines = self.drain_lines(now);
        if lines.is_empty() {
            return Ok(());
        }
        let mut text = lines.join("\n");
        text.push('\n');
        // One write: the lines are not interleaved with log lines written meanwhile.
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

impl Recorder for EmfRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let make = || Slot::Counter(Arc::new(EmfCounter(AtomicU64::new(0))));
        let get = |s: &Slot| match s {
            Slot::Counter(c) => Some(Counter::from_arc(c.clone())),
            Slot::Histogram(_) => None,
        };
        self.entry(key, Kind::Counter, make, get).unwrap_or_else(Counter::noop)
    }

    /// No gauge in the vocabulary (a gauge aggregated per invocation means little in EMF).
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let make = || Slot::Histogram(Arc::new(EmfHistogram(Mutex::new(Vec::new()))));
        let get = |s: &Slot| match s {
            Slot::Histogram(h) => Some(Histogram::from_arc(h.clone())),
            Slot::Counter(_) => None,
        };
        self.entry(key, Kind::Seconds, make, get).unwrap_or_else(Histogram::noop)
    }
}
