//! Prometheus Alertmanager's webhook receiver, payload version 4
//! (`POST /hooks/alertmanager`, authenticated by the route's bearer token, set in the
//! receiver's `http_config.authorization`; Alertmanager signs nothing).
//!
//! The payload shape is the one Alertmanager itself marshals, checked against its source:
//! `notify/webhook/webhook.go` (`Message`: the embedded `*template.Data` plus `version: "4"`,
//! `groupKey`, `truncatedAlerts`) and `template/template.go` (`Data`: `receiver`, `status`,
//! `alerts`, `groupLabels`, `commonLabels`, `commonAnnotations`, `externalURL`; `Alert`:
//! `status`, `labels`, `annotations`, `startsAt`, `endsAt`, `generatorURL`, `fingerprint`),
//! github.com/prometheus/alertmanager. Alerts still firing carry Go's zero time
//! `0001-01-01T00:00:00Z` as `endsAt`, which is read as "not ended".
//!
//! # Mapping: one incident per alert group
//!
//! - `external_id` = `groupKey`: every notification about the group updates one incident.
//! - `status`: `firing` → triggered, `resolved` → resolved.
//! - `title`: `commonAnnotations.summary`; else `commonLabels.alertname`, with
//!   " (N alerts)" when the group holds more than one (truncated ones counted); else
//!   "Alertmanager alert group". At most 500 characters.
//! - `description`: `commonAnnotations.description`.
//! - `severity`: `commonLabels.severity`, read leniently; default warning.
//! - `at`: firing, the latest `startsAt` among the alerts; resolved, the latest `endsAt`
//!   (the latest `startsAt` when no alert has one).
//! - `url`: `externalURL`, the backlink to the Alertmanager.
//! - `responders`: the `responders` annotation (`commonAnnotations.responders`), else the
//!   `responders` label (`commonLabels.responders`): a comma-separated list of email
//!   addresses, e.g. `ann@example.com, bob@example.com`. Neither present: the group says
//!   nothing about responders. An entry that is not an email address rejects the group.
//!
//! # Labels: the silence contract
//!
//! `labels` holds the `commonLabels` as they are, plus every group label under the key
//! prefix [`GROUP_LABEL_PREFIX`]: `groupLabels: {alertname: "HighLatency"}` becomes
//! `am.group.alertname = HighLatency`. **Labels starting with `am.group.` are the
//! Alertmanager group labels; a snooze silences exactly that group**: the status-sync
//! adapter builds one equality matcher per `am.group.` label (prefix removed) and posts a
//! silence with them. A group with no group labels (`group_by: []`) therefore cannot be
//! snoozed at the source.

use crate::json::{parse_body, Arr, Obj};
use crate::{check_size, is_web_url, looks_like_email, truncate, IntakeError};
use std::collections::BTreeMap;
use warroom_core::{IncidentEvent, Responder, Severity, SourceRef, Status, Timestamp};

/// The source name, in `POST /hooks/alertmanager` and in [`SourceRef::source`].
pub const SOURCE: &str = "alertmanager";
/// The only webhook payload version Warroom reads.
pub const VERSION: &str = "4";
/// Prefix of the labels that carry the Alertmanager group labels (see the module docs).
pub const GROUP_LABEL_PREFIX: &str = "am.group.";
pub const DEFAULT_TITLE: &str = "Alertmanager alert group";
const MAX_TITLE_CHARS: usize = 500;

/// Parses one Alertmanager notification into one incident event for its group.
pub fn parse(body: &[u8]) -> Result<Vec<IncidentEvent>, IntakeError> {
    check_size(body)?;
    let value = parse_body(body)?;
    let root = Obj::root(&value)?;
    check_version(&root)?;
    Ok(vec![event(&root)?])
}

/// Any other version may have moved fields: refuse rather than guess.
fn check_version(root: &Obj) -> Result<(), IntakeError> {
    let version = root.text_req("version")?;
    if version != VERSION {
        return Err(IntakeError::unsupported(format!("Alertmanager webhook version `{}`; only version {VERSION} is supported", truncate(version, 16))));
    }
    Ok(())
}

/// What the notification says about its group, read before anything is derived from it.
struct Group {
    firing: bool,
    times: Times,
    alert_count: u64,
    common_labels: BTreeMap<String, String>,
    common_annotations: BTreeMap<String, String>,
}

fn event(root: &Obj) -> Result<IncidentEvent, IntakeError> {
    let group_key = root.text_req("groupKey")?;
    let group = read_group(root)?;
    let group_labels = root.string_map("groupLabels")?;
    let url = root.text_opt("externalURL")?.filter(|u| is_web_url(u)).map(str::to_owned);
    Ok(IncidentEvent {
        source: SourceRef { source: SOURCE.to_owned(), external_id: group_key.to_owned() },
        status: if group.firing { Status::Triggered } else { Status::Resolved },
        title: title(&group),
        description: annotation(&group, "description").unwrap_or_default().to_owned(),
        severity: severity(&group),
        responders: responders(&group)?,
        labels: labels(&group.common_labels, &group_labels),
        url,
        at: group.times.at(group.firing),
        war_room: false,
    })
}

fn read_group(root: &Obj) -> Result<Group, IntakeError> {
    let firing = group_status(root)?;
    let alerts = root.arr_req("alerts")?;
    let times = Times::read(&alerts)?;
    let truncated = root.u64_opt("truncatedAlerts")?.unwrap_or(0);
    Ok(Group {
        firing,
        times,
        alert_count: (alerts.len() as u64).saturating_add(truncated),
        common_labels: root.string_map("commonLabels")?,
        common_annotations: root.string_map("commonAnnotations")?,
    })
}

/// `true` for firing, `false` for resolved.
fn group_status(root: &Obj) -> Result<bool, IntakeError> {
    match root.text_req("status")? {
        "firing" => Ok(true),
        "resolved" => Ok(false),
        _ => Err(IntakeError::invalid(root.path("status"), "must be firing or resolved")),
    }
}

/// The latest start and end among the group's alerts.
struct Times {
    latest_start: Timestamp,
    latest_end: Option<Timestamp>,
}

impl Times {
    fn read(alerts: &Arr) -> Result<Self, IntakeError> {
        let mut latest_start = None;
        let mut latest_end = None;
        for alert in alerts.objects()? {
            let start = alert.time_req("startsAt")?;
            latest_start = latest_start.max(Some(start));
            latest_end = latest_end.max(ended_at(&alert)?);
        }
        let latest_start = latest_start.ok_or_else(|| IntakeError::invalid(alerts.path(), "must list at least one alert"))?;
        Ok(Times { latest_start, latest_end })
    }

    /// Firing: the newest alert to start; resolved: the last one to end.
    fn at(&self, firing: bool) -> Timestamp {
        if firing {
            self.latest_start
        } else {
            self.latest_end.unwrap_or(self.latest_start)
        }
    }
}

/// An alert's `endsAt`, or `None` while it has not ended: Go marshals its zero time
/// (year 1) there, and anything before the Unix epoch is no real end.
fn ended_at(alert: &Obj) -> Result<Option<Timestamp>, IntakeError> {
    Ok(alert.time_opt("endsAt")?.filter(|t| t.millis() > 0))
}

fn annotation<'g>(group: &'g Group, key: &str) -> Option<&'g str> {
    group.common_annotations.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn title(group: &Group) -> String {
    if let Some(summary) = annotation(group, "summary") {
        return truncate(summary, MAX_TITLE_CHARS);
    }
    let alertname = group.common_labels.get("alertname").map(|s| s.trim()).filter(|s| !s.is_empty());
    match alertname {
        Some(name) if group.alert_count > 1 => truncate(&format!("{name} ({} alerts)", group.alert_count), MAX_TITLE_CHARS),
        Some(name) => truncate(name, MAX_TITLE_CHARS),
        None => DEFAULT_TITLE.to_owned(),
    }
}

fn severity(group: &Group) -> Severity {
    group.common_labels.get("severity").and_then(|s| Severity::parse_lenient(s)).unwrap_or(Severity::Warning)
}

/// The annotation wins over the label: annotations are where people put free text.
fn responders(group: &Group) -> Result<Option<Vec<Responder>>, IntakeError> {
    let (field, list) = match (group.common_annotations.get("responders"), group.common_labels.get("responders")) {
        (Some(list), _) => ("commonAnnotations.responders", list),
        (None, Some(list)) => ("commonLabels.responders", list),
        (None, None) => return Ok(None),
    };
    let emails = list.split(',').map(str::trim).filter(|s| !s.is_empty());
    emails.map(|email| responder(field, email)).collect::<Result<_, _>>().map(Some)
}

fn responder(field: &str, email: &str) -> Result<Responder, IntakeError> {
    if !looks_like_email(email) {
        let shown = truncate(email, 64);
        return Err(IntakeError::invalid(field, format!("`{shown}` is not an email address")));
    }
    Ok(Responder { name: None, email: Some(email.to_owned()), phone: None, member_id: None })
}

/// `commonLabels` as they are, plus the group labels under [`GROUP_LABEL_PREFIX`]. The two
/// never collide: Prometheus label names cannot contain a `.`.
fn labels(common: &BTreeMap<String, String>, group: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let prefixed = group.iter().map(|(k, v)| (format!("{GROUP_LABEL_PREFIX}{k}"), v.clone()));
    common.clone().into_iter().chain(prefixed).collect()
}
