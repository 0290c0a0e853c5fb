//! Settings (secrets write-only), API keys (a new key shown once; revoke) and dead letters
//! (with redrive).

use super::{humanize, is_secret};
use crate::console::csrf::{self, Form};
use crate::console::dispatch::enc;
use crate::console::flash::{self, Flash};
use crate::console::layout::{self, text, when, Notice, Section};
use crate::console::session::{Session, Signed};
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use serde_json::{json, Map, Value};
use warroom_http::AppState;

/// The per-source sections and their fields, as `PUT /api/v1/settings` takes them
/// (`settings::SECTIONS`, which is private to that module).
const SOURCES: [(&str, &str, &[&str]); 3] = [
    ("generic", "Generic webhook: status sync", &["callback_url", "signing_secret"]),
    ("alertmanager", "Alertmanager: silences", &["api_url", "created_by"]),
    ("pagerduty", "PagerDuty", &["api_token", "from_email", "webhook_secret", "api_url"]),
];
const SEVERITIES: [&str; 3] = ["info", "warning", "critical"];

pub async fn settings(State(_state): State<AppState>, Signed(session): Signed) -> Response {
    settings_page(&session, vec![]).await
}

async fn settings_page(session: &Session, mut notices: Vec<Notice>) -> Response {
    let current = match session.api.get("/api/v1/settings").await {
        Ok(v) => v,
        Err(r) => {
            notices.push(Notice::Failed(r));
            return layout::render("Settings", session, Section::Settings, &notices, html! {});
        }
    };
    let min = text(&current, "auto_create_min_severity");
    let dismiss = current["auto_dismiss_after_minutes"].as_u64().map(|m| m.to_string()).unwrap_or_default();
    let body = html! {
        form.stack method="post" action="/console/settings" {
            (csrf::input(session))
            h2 { "War rooms" }
            div {
                label for="s-min" { "Open a war room automatically from this severity" }
                select #s-min name="auto_create_min_severity" {
                    option value="" selected[min.is_empty()] { "Never (only by hand)" }
                    @for s in SEVERITIES { option value=(s) selected[min == s] { (s) } }
                }
            }
            div { label { input type="checkbox" name="private_chats" checked[current["private_chats"] == true]; " Create private chats" } }
            div {
                label for="s-dismiss" { "Dismiss the chat this many minutes after the incident closes" span.help { "0 to 43200; blank: only by hand" } }
                input #s-dismiss type="number" min="0" max="43200" name="auto_dismiss_after_minutes" value=(dismiss);
            }
            div { label { input type="checkbox" name="postmortem_on_resolve" checked[current["postmortem_on_resolve"] == true]; " Draft the AI post-mortem when an incident resolves" } }
            h2 { "Status sync per source" }
            p.muted { "Secrets are write-only: a stored one shows as “set”; leave it blank to keep it." }
            @for (section, title, fields) in SOURCES { (source_fieldset(&current["sources"][section], section, title, fields)) }
            div { button.primary type="submit" { "Save settings" } }
        }
    };
    layout::render("Settings", session, Section::Settings, &notices, body)
}

fn source_fieldset(stored: &Value, section: &str, title: &str, fields: &[&str]) -> Markup {
    html! {
        fieldset {
            legend { (title) }
            @for f in fields {
                @let id = format!("s-{section}-{f}");
                @let name = format!("{section}.{f}");
                div {
                    label for=(id) { (humanize(f)) }
                    @if is_secret(f) {
                        @let set = stored[*f].is_string();
                        input #(id) type="password" name=(name) autocomplete="off" placeholder=(if set { "set (leave blank to keep)" } else { "not set" });
                    } @else {
                        input #(id) type="text" name=(name) value=(text(stored, f)) autocomplete="off";
                    }
                }
            }
            @if stored.as_object().is_some_and(|o| !o.is_empty()) {
                div { label { input type="checkbox" name={ "clear." (section) }; " Remove these settings" } }
            }
        }
    }
}

/// The form as a partial update of what is stored now: only what differs is sent, so a
/// field nobody touched is never written back over someone else's save.
fn settings_patch(form: &Form, current: &Value) -> Result<Value, String> {
    let mut patch = Map::new();
    let min = form.get("auto_create_min_severity");
    let min = if min.is_empty() { Value::Null } else { Value::String(min.to_owned()) };
    if min != current["auto_create_min_severity"] {
        patch.insert("auto_create_min_severity".into(), min);
    }
    for flag in ["private_chats", "postmortem_on_resolve"] {
        let on = !form.get(flag).is_empty();
        if Value::Bool(on) != current[flag] {
            patch.insert(flag.into(), on.into());
        }
    }
    let dismiss = match form.get("auto_dismiss_after_minutes").trim() {
        "" => Value::Null,
        n => Value::from(n.parse::<u64>().map_err(|_| format!("auto dismiss: {n:?} is not a whole number of minutes"))?),
    };
    if dismiss != current["auto_dismiss_after_minutes"] {
        patch.insert("auto_dismiss_after_minutes".into(), dismiss);
    }
    let mut sources = Map::new();
    for (section, _, fields) in SOURCES {
        let stored = &current["sources"][section];
        if !form.get(&format!("clear.{section}")).is_empty() {
            sources.insert(section.into(), Value::Null);
            continue;
        }
        let mut changes = Map::new();
        for f in fields {
            let value = form.get(&format!("{section}.{f}")).trim();
            match (value.is_empty(), is_secret(f)) {
                (true, true) => {}
                (true, false) if stored[*f].is_string() => _ = changes.insert((*f).into(), Value::Null),
                (true, false) => {}
                (false, _) if stored[*f] == value && !is_secret(f) => {}
                (false, _) => _ = changes.insert((*f).into(), value.into()),
            }
        }
        if !changes.is_empty() {
            sources.insert(section.into(), Value::Object(changes));
        }
    }
    if !sources.is_empty() {
        patch.insert("sources".into(), Value::Object(sources));
    }
    Ok(Value::Object(patch))
}

pub async fn save_settings(State(_state): State<AppState>, form: Form) -> Response {
    let s = &form.session;
    let current = match s.api.get("/api/v1/settings").await {
        Ok(v) => v,
        Err(r) => return settings_page(s, vec![Notice::Failed(r)]).await,
    };
    let patch = match settings_patch(&form, &current) {
        Ok(p) => p,
        Err(message) => return settings_page(s, vec![Notice::Invalid(message)]).await,
    };
    if patch.as_object().is_some_and(Map::is_empty) {
        return flash::done(s, "/console/settings", "Nothing changed.");
    }
    match s.api.put("/api/v1/settings", patch).await {
        Ok(_) => flash::done(s, "/console/settings", "Settings saved."),
        Err(r) => settings_page(s, vec![Notice::Failed(r)]).await,
    }
}

pub async fn keys(State(_state): State<AppState>, Signed(session): Signed) -> Response {
    // A key created by the form before the redirect, shown this once.
    let created = session.flash.as_ref().and_then(|f| f.key.clone());
    keys_page(&session, vec![], created.as_ref()).await
}

async fn keys_page(session: &Session, mut notices: Vec<Notice>, created: Option<&Value>) -> Response {
    let keys = match session.api.get("/api/v1/keys").await {
        Ok(v) => v["keys"].as_array().cloned().unwrap_or_default(),
        Err(r) => {
            notices.push(Notice::Failed(r));
            vec![]
        }
    };
    let body = html! {
        @if let Some(k) = created {
            section.warning aria-labelledby="new-key" {
                h2 #new-key { "New key “" (text(k, "label")) "”" }
                p { strong { "Copy it now: it is shown only once." } }
                div.copyable {
                    input #new-key-value type="text" readonly value=(text(k, "key")) aria-label="The new API key";
                    button type="button" data-copy="new-key-value" hidden { "Copy" }
                }
            }
        }
        div.scroll { table {
            thead { tr { th scope="col" { "Label" } th scope="col" { "Key" } th scope="col" { "Scope" } th scope="col" { "Created" } th scope="col" { "Action" } } }
            tbody { @for k in &keys {
                tr {
                    td data-label="Label" { (text(k, "label")) }
                    td data-label="Key" { code { (text(k, "prefix")) "…" } }
                    td data-label="Scope" { (text(k, "scope")) }
                    td data-label="Created" { (when(&k["created_at"])) }
                    td data-label="Action" {
                        form.inline method="post" action={ "/console/keys/" (enc(text(k, "id"))) "/revoke" } data-confirm="Revoke this key? Whatever uses it stops working at once." {
                            (csrf::input(session))
                            button.danger type="submit" aria-label={ "Revoke key " (text(k, "label")) } { "Revoke" }
                        }
                    }
                }
            } }
        } }
        h2 { "Create a key" }
        form.stack method="post" action="/console/keys" {
            (csrf::input(session))
            div { label for="k-label" { "Label" span.help { "What uses it, e.g. terraform" } } input #k-label type="text" name="label" required maxlength="100"; }
            div {
                label for="k-scope" { "Scope" }
                select #k-scope name="scope" {
                    option value="admin" { "admin: the management API and this console" }
                    option value="intake" { "intake: only posting incident events to /hooks" }
                }
            }
            div { button.primary type="submit" { "Create key" } }
        }
    };
    layout::render("API keys", session, Section::Keys, &notices, body)
}

pub async fn create_key(State(_state): State<AppState>, form: Form) -> Response {
    let s = &form.session;
    match s.api.post("/api/v1/keys", Some(json!({ "label": form.get("label"), "scope": form.get("scope") }))).await {
        Ok(k) => {
            let mut done = Flash::new(format!("Key “{}” created.", text(&k, "label")), s.api.state().clock().now().0);
            done.key = Some(json!({ "label": text(&k, "label"), "key": text(&k, "key") }));
            flash::redirect(s, "/console/keys", done)
        }
        Err(r) => keys_page(s, vec![Notice::Failed(r)], None).await,
    }
}

pub async fn revoke_key(State(_state): State<AppState>, Path(id): Path<String>, form: Form) -> Response {
    let s = &form.session;
    let own = id == s.key_id();
    match s.api.delete(&format!("/api/v1/keys/{}", enc(&id))).await {
        // This session ended with its key: the sign-in page says so.
        Ok(_) if own => flash::see_other("/console/?expired=1"),
        Ok(_) => flash::done(s, "/console/keys", "The key was revoked."),
        Err(r) => keys_page(s, vec![Notice::Failed(r)], None).await,
    }
}

pub async fn dead_letters(State(_state): State<AppState>, Signed(session): Signed) -> Response {
    dead_letters_page(&session, vec![]).await
}

async fn dead_letters_page(session: &Session, mut notices: Vec<Notice>) -> Response {
    let answer = session.api.get("/api/v1/dead-letters?limit=50").await;
    let (letters, others) = match &answer {
        Ok(v) => (v["dead_letters"].as_array().cloned().unwrap_or_default(), v["other_tenants"].as_u64().unwrap_or(0)),
        Err(r) => {
            notices.push(Notice::Failed(r.clone()));
            (vec![], 0)
        }
    };
    let body = html! {
        p { "Jobs the worker gave up on. Fix the cause, then put them back in the queue." }
        @if letters.is_empty() { p { "No dead letters of this tenant." } }
        @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Job" } th scope="col" { "Incident / integration" } th scope="col" { "Attempts" } th scope="col" { "Message" } } }
                tbody { @for d in &letters {
                    tr {
                        td data-label="Job" { (humanize(text(&d["job"], "kind"))) }
                        td data-label="Incident / integration" { (text(&d["job"], "incident_id")) (text(&d["job"], "integration_id")) }
                        td data-label="Attempts" { (d["receive_count"].as_u64().unwrap_or(0)) }
                        td data-label="Message" { code { (text(d, "message_id")) } }
                    }
                } }
            } }
        }
        @if others > 0 { p.muted { (others) " dead letters belong to other tenants." } }
        form.inline method="post" action="/console/dead-letters/redrive" data-confirm="Move every dead letter back to the job queue?" {
            (csrf::input(session))
            button type="submit" { "Redrive dead letters" }
        }
    };
    layout::render("Dead letters", session, Section::DeadLetters, &notices, body)
}

pub async fn redrive(State(_state): State<AppState>, form: Form) -> Response {
    let s = &form.session;
    match s.api.post("/api/v1/dead-letters/redrive", None).await {
        Ok(v) => flash::done(s, "/console/dead-letters", format!("{} dead letters were moved back to the job queue.", v["redriven"].as_u64().unwrap_or(0))),
        Err(r) => dead_letters_page(s, vec![Notice::Failed(r)]).await,
    }
}
