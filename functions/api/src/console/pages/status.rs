//! The deployment's status for this tenant: each integration's health as its IM calls saw
//! it (the API's `health`), the dead letters waiting, and — where the process keeps
//! Prometheus metrics (`warroom-local`) — the numbers an operator looks at first. On Lambda
//! the metrics are CloudWatch's (EMF); the page says where.

use super::platform_name;
use crate::console::layout::{self, text, when, Notice, Section};
use crate::console::session::Signed;
use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use serde_json::Value;
use warroom_http::AppState;

/// The counters shown, with what they mean: (label, metric, required label, help).
const NUMBERS: [(&str, &str, Option<&str>, &str); 9] = [
    ("War rooms opened", "warroom_rooms_opened_total", None, "chats created and ready"),
    ("Callbacks answered", "warroom_callbacks_total", Some(r#"outcome="ok""#), "IM clicks and events handled"),
    ("Callbacks refused", "warroom_callbacks_refused_total", None, "forged, replayed or malformed"),
    ("Jobs done", "warroom_jobs_total", Some(r#"outcome="processed""#), ""),
    ("Jobs deferred", "warroom_jobs_total", Some(r#"outcome="deferred""#), "rate limits and timers"),
    ("Jobs retried", "warroom_jobs_total", Some(r#"outcome="retried""#), "a failure, retried with backoff"),
    ("Jobs given up", "warroom_jobs_total", Some(r#"outcome="given_up""#), "in the dead-letter queue"),
    ("IM rate limits (429)", "warroom_im_rate_limited_total", None, "honoured by waiting"),
    ("Model calls", "warroom_model_calls_total", None, "the assistant's answers and post-mortems"),
];

/// The sum of every sample of `name` (with `label` among its labels, when given) in a
/// Prometheus text exposition; `None` when there is none.
pub fn total(exposition: &str, name: &str, label: Option<&str>) -> Option<f64> {
    let mut sum = None;
    for line in exposition.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = match line.rsplit_once(' ') {
            Some(parts) => parts,
            None => continue,
        };
        let (metric, labels) = series.split_once('{').map_or((series, ""), |(m, l)| (m, l));
        if metric != name || label.is_some_and(|want| !labels.split(',').any(|l| l.trim_end_matches('}') == want)) {
            continue;
        }
        if let Ok(v) = value.parse::<f64>() {
            sum = Some(sum.unwrap_or(0.0) + v);
        }
    }
    sum
}

pub async fn show(State(_state): State<AppState>, Signed(session): Signed) -> Response {
    let mut notices = Vec::new();
    let integrations = match session.api.get("/api/v1/integrations").await {
        Ok(v) => v["integrations"].as_array().cloned().unwrap_or_default(),
        Err(r) => {
            notices.push(Notice::Failed(r));
            vec![]
        }
    };
    let dead = match session.api.get("/api/v1/dead-letters?limit=50").await {
        Ok(v) => v["dead_letters"].as_array().map(Vec::len),
        Err(r) => {
            notices.push(Notice::Failed(r));
            None
        }
    };
    let body = html! {
        h2 { "Integrations" }
        @if integrations.is_empty() { p { "No integration yet." } }
        @else { (health_table(&integrations)) }
        h2 { "Dead letters" }
        @match dead {
            Some(0) => p { "None: every job of this tenant ran or is waiting its turn." },
            Some(n) => p { strong { (n) @if n == 50 { " or more" } } " jobs were given up on. " a href="/console/dead-letters" { "See them and redrive" } },
            None => p { "Unknown (see above)." },
        }
        h2 { "Metrics" }
        (metrics(warroom_metrics::render().as_deref()))
    };
    layout::render("Status", &session, Section::Status, &notices, body)
}

fn health_table(integrations: &[Value]) -> Markup {
    html! {
        div.scroll { table {
            thead { tr {
                th scope="col" { "Integration" } th scope="col" { "War rooms" } th scope="col" { "Token" }
                th scope="col" { "Last call that worked" } th scope="col" { "Last failure" }
            } }
            tbody { @for i in integrations {
                @let health = &i["health"];
                tr {
                    td data-label="Integration" {
                        a href=(format!("/console/integrations/{}", text(i, "id"))) { (text(i, "name")) }
                        " (" (platform_name(text(i, "platform"))) ")"
                    }
                    td data-label="War rooms" { @if i["war_room_enabled"] == true { "on" } @else { "off" } }
                    td data-label="Token" {
                        @match health["token"].as_str() {
                            Some("valid") => "works",
                            Some("revoked") => strong { "revoked: re-authorize it" },
                            Some("missing_permissions") => strong { "lacks permissions: " (missing(i)) },
                            Some(_) => "not used yet",
                            None => "no data yet",
                        }
                    }
                    td data-label="Last call that worked" { @if health["last_ok_at"].is_string() { (when(&health["last_ok_at"])) } @else { "none yet" } }
                    td data-label="Last failure" {
                        @if health["last_error"].is_object() {
                            (when(&health["last_error"]["at"])) ": " code { (text(&health["last_error"], "code")) } " " (text(&health["last_error"], "message"))
                        } @else { "none" }
                    }
                }
            } }
        } }
    }
}

fn missing(integration: &Value) -> String {
    integration["missing_permissions"].as_array().map(|m| m.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

fn metrics(exposition: Option<&str>) -> Markup {
    let Some(text) = exposition else {
        return html! {
            p { "This deployment writes its metrics to CloudWatch (embedded metric format) in the namespace "
                code { "Warroom/<stack name>" } ", with a dashboard and alarms made by the template: see "
                code { "docs/operability.md" } "." }
        };
    };
    html! {
        p.muted { "Since this process started; the same numbers as " a href="/metrics" { "/metrics" } " (Prometheus). All tenants of the deployment together." }
        dl.facts { @for (label, name, want, help) in NUMBERS {
            dt { (label) @if !help.is_empty() { span.help { " (" (help) ")" } } }
            dd { @match total(text, name, want) { Some(v) => (v as u64), None => "0" } }
        } }
    }
}

#[cfg(test)]
mod tests {
    use super::{metrics, total};

    #[test]
    fn the_metrics_section_shows_the_key_numbers_from_prometheus_or_says_where_they_are() {
        let text = "warroom_rooms_opened_total{platform=\"slack\"} 2\nwarroom_rooms_opened_total{platform=\"feishu\"} 1\n\
                    warroom_im_rate_limited_total{platform=\"slack\",family=\"create_chat\"} 4\n";
        let html = metrics(Some(text)).into_string();
        assert!(html.contains("<dt>War rooms opened") && html.contains("<dd>3</dd>"), "{html}");
        assert!(html.contains("<dd>4</dd>") && html.contains("<dd>0</dd>"), "the 429s, and zero for what never moved: {html}");
        let html = metrics(None).into_string();
        assert!(html.contains("CloudWatch") && html.contains("Warroom/&lt;stack name&gt;"), "{html}");
    }

    #[test]
    fn totals_add_every_series_of_a_metric_and_only_those_with_the_label_asked() {
        let text = "# HELP warroom_jobs_total jobs\n# TYPE warroom_jobs_total counter\n\
                    warroom_jobs_total{kind=\"reconcile\",outcome=\"processed\"} 3\n\
                    warroom_jobs_total{kind=\"answer\",outcome=\"processed\"} 2\n\
                    warroom_jobs_total{kind=\"reconcile\",outcome=\"deferred\"} 4\n\
                    warroom_jobs_total_other 9\nwarroom_rooms_opened_total{platform=\"slack\"} 1\n";
        assert_eq!(total(text, "warroom_jobs_total", Some(r#"outcome="processed""#)), Some(5.0));
        assert_eq!(total(text, "warroom_jobs_total", None), Some(9.0));
        assert_eq!(total(text, "warroom_rooms_opened_total", None), Some(1.0));
        assert_eq!(total(text, "warroom_model_calls_total", None), None);
    }
}
