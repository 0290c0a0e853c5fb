//! Alertmanager: a snooze becomes a silence of the incident's alert group.
//!
//! Alertmanager has no acknowledge or resolve (alerts resolve when Prometheus says so),
//! so only a new snooze is pushed. Checked against Alertmanager's own API definition,
//! github.com/prometheus/alertmanager at tag v0.25.0 (the Debian package's version):
//! `api/v2/openapi.yaml` (`POST /silences` takes a `postableSilence`: `matchers`
//! (at least one `{name, value, isRegex, isEqual}`), `startsAt`, `endsAt`, `createdBy`,
//! `comment`; 200 answers `{"silenceID": ...}`, 400 a plain-text reason) and
//! `api/v2/api.go` `postSilencesHandler` (refuses an `endsAt` in the past or not after
//! `startsAt`, so a snooze that already ended is not sent at all).
//!
//! The group is identified by the `am.group.*` labels the intake stores (see
//! `warroom_intake::alertmanager`, "Labels: the silence contract"): one equality matcher
//! per group label, so the silence mutes exactly that group's notifications.

use crate::http::{excerpt, join, retry_after, status_error, transport_error};
use serde::{Deserialize, Serialize};
use warroom_core::{Incident, SourceState, SyncError, Synced, Timestamp};

/// Must match `warroom_intake::alertmanager::GROUP_LABEL_PREFIX` (not imported: the
/// intake crate is a parser this adapter does not otherwise need).
pub const GROUP_LABEL_PREFIX: &str = "am.group.";
pub const NOTHING_TO_PUSH: &str = "alertmanager has no acknowledge/resolve; nothing to push";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(rename = "isRegex")]
    pub is_regex: bool,
    #[serde(rename = "isEqual", default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

/// The body of `POST /api/v2/silences`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableSilence {
    pub matchers: Vec<Matcher>,
    pub starts_at: String,
    pub ends_at: String,
    pub created_by: String,
    pub comment: String,
}

#[derive(Deserialize)]
struct SilenceCreated {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

/// One equality matcher per `am.group.` label, prefix removed, in label order.
pub fn group_matchers(incident: &Incident) -> Vec<Matcher> {
    incident
        .labels
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix(GROUP_LABEL_PREFIX)?;
            (!name.is_empty()).then(|| Matcher { name: name.to_owned(), value: value.clone(), is_regex: false, is_equal: true })
        })
        .collect()
}

pub(crate) async fn push(
    http: &reqwest::Client,
    api_url: &str,
    created_by: &str,
    incident: &Incident,
    previous: Option<&SourceState>,
    now: Timestamp,
) -> Result<Synced, SyncError> {
    // A silence per snooze, once: a push that repeats the last snooze (a retry after the
    // state was recorded, or an ack/resolve) must not stack up duplicate silences.
    let Some(until) = incident.snoozed_until.filter(|u| Some(*u) != previous.and_then(|p| p.snoozed_until)) else {
        return Ok(Synced { detail: NOTHING_TO_PUSH.to_owned() });
    };
    let matchers = group_matchers(incident);
    if matchers.is_empty() {
        return Err(SyncError::permanent("no Alertmanager group labels to silence"));
    }
    if until <= now {
        return Ok(Synced { detail: format!("snooze ended at {until}; no silence needed") });
    }
    let silence = PostableSilence {
        matchers,
        starts_at: now.to_rfc3339(),
        ends_at: until.to_rfc3339(),
        created_by: created_by.to_owned(),
        comment: format!("Snoozed from Warroom incident {}: {}", incident.id, incident.title),
    };
    let response = http.post(join(api_url, &["api", "v2", "silences"])?).json(&silence).send().await.map_err(|e| transport_error("Alertmanager", e))?;
    let status = response.status();
    let wait = retry_after(response.headers(), std::time::SystemTime::now());
    let text = response.text().await.map_err(|e| transport_error("Alertmanager", e))?;
    if !status.is_success() {
        return Err(status_error("Alertmanager", status, &excerpt(&text, None)).after(wait));
    }
    // A 2xx that is not the documented answer: the silence may exist, so say what came back.
    let created: SilenceCreated = serde_json::from_str(&text)
        .map_err(|_| SyncError::permanent(format!("Alertmanager answered {} without a silenceID: {}", status.as_u16(), excerpt(&text, None))))?;
    Ok(Synced { detail: format!("silence {} until {until}", created.silence_id) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_come_from_group_labels_only() {
        let labels = [("am.group.alertname", "HighLatency"), ("am.group.job", "api"), ("severity", "critical"), ("am.group.", "x")];
        let mut incident: Incident = serde_json::from_value(serde_json::json!({
            "tenant_id": "t", "id": "inc_1", "source": {"source": "alertmanager", "external_id": "{}:{}"},
            "title": "t", "description": "", "severity": "warning", "status": "triggered",
            "snoozed_until": null, "responders": [], "labels": {}, "url": null,
            "created_at": 0, "updated_at": 0, "source_updated_at": 0, "version": 0
        }))
        .unwrap();
        incident.labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let names: Vec<_> = group_matchers(&incident).into_iter().map(|m| (m.name, m.value)).collect();
        assert_eq!(names, [("alertname".to_string(), "HighLatency".to_string()), ("job".into(), "api".into())]);
    }
}
