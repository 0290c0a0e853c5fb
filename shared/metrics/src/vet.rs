//! The check every recorder applies before it keeps a metric, whoever called the facade:
//! the name must be in the table, every label key one of its keys, every value from the
//! closed alphabet. Anything else is dropped (a no-op handle), so a stray
//! `metrics::counter!("x", "user" => email)` never reaches a log or a scrape.

use crate::names::{lookup, valid_tenant, valid_value, MetricDef, TENANT};
use metrics::{Key, Label};

pub struct Vetted {
    pub def: &'static MetricDef,
    /// In the caller's order (EMF sorts its copy to group lines by label set).
    pub labels: Vec<(String, String)>,
    pub tenant: Option<String>,
}

impl Vetted {
    /// The key without the tenant (what Prometheus keeps).
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub fn key(&self) -> Key {
        let labels: Vec<Label> = self.labels.iter().map(|(k, v)| Label::new(k.clone(), v.clone())).collect();
        Key::from_parts(self.def.name, labels)
    }
}

pub fn vet(key: &Key) -> Option<Vetted> {
    let def = lookup(key.name())?;
    let mut labels = Vec::new();
    let mut tenant = None;
    for label in key.labels() {
        if label.key() == TENANT {
            tenant = Some(label.value().to_owned()).filter(|t| valid_tenant(t));
            tenant.as_ref()?;
        } else if def.labels.contains(&label.key()) && valid_value(label.value()) {
            labels.push((label.key().to_owned(), label.value().to_owned()));
        } else {
            return None;
        }
    }
    let mut keys: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return None; // the same key twice: not from the helpers
    }
    Some(Vetted { def, labels, tenant })
}
