//! Incidents: the list, and the incident page with its war room (create, view, dismiss),
//! who was invited, the live timeline and the captured transcript.

use super::humanize;
use crate::console::csrf::{self, Form};
use crate::console::dispatch::enc;
use crate::console::flash;
use crate::console::layout::{self, text, when, Notice, Section};
use crate::console::session::{Session, Signed};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde_json::Value;
use std::collections::HashMap;
use warroom_core::IncidentId;
use warroom_http::AppState;

/// The list's filters: (query name, label, allowed values), as the API validates them.
fn filters() -> [(&'static str, &'static str, &'static [&'static str]); 4] {
    use crate::incident_filter::{PHASES, SEVERITIES, SOURCES, STATUSES};
    [("status", "Status", &STATUSES), ("severity", "Severity", &SEVERITIES), ("source", "Source", SOURCES), ("phase", "War room", &PHASES)]
}

pub async fn list(State(_state): State<AppState>, Signed(session): Signed, RawQuery(raw): RawQuery) -> Response {
    let query = super::query(raw.as_deref());
    // The chosen filters as a query string (the API says what is wrong with a value).
    let chosen: String =
        filters().iter().filter_map(|(name, _, _)| query.get(*name).filter(|v| !v.is_empty()).map(|v| format!("&{name}={}", enc(v)))).collect();
    let mut path = format!("/api/v1/incidents?limit=25{chosen}");
    let cursor = query.get("cursor").filter(|c| !c.is_empty());
    if let Some(c) = cursor {
        path += &format!("&cursor={}", enc(c));
    }
    let mut notices = vec![];
    let (items, next) = match session.api.get(&path).await {
        Ok(v) => (v["incidents"].as_array().cloned().unwrap_or_default(), v["next"].as_str().map(str::to_owned)),
        Err(r) => {
            notices.push(Notice::Failed(r));
            (vec![], None)
        }
    };
    let body = html! {
        form.inline.filters method="get" action="/console/incidents" role="search" aria-label="Filter incidents" {
            @for (name, label, values) in filters() {
                @let current = query.get(name).map_or("", String::as_str);
                div {
                    label for={ "filter-" (name) } { (label) }
                    select #{ "filter-" (name) } name=(name) {
                        option value="" selected[current.is_empty()] { "any" }
                        @for v in values { option value=(v) selected[current == *v] { (humanize(v)) } }
                    }
                }
            }
            button type="submit" { "Filter" }
            @if !chosen.is_empty() { a href="/console/incidents" { "Clear filters" } }
        }
        @if items.is_empty() { p { @if chosen.is_empty() { "No incidents." } @else { "No incident matches these filters." } } }
        @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Incident" } th scope="col" { "Severity" } th scope="col" { "Status" } th scope="col" { "Source" } th scope="col" { "War room" } th scope="col" { "Opened" } } }
                tbody { @for i in &items {
                    tr {
                        td data-label="Incident" { a href={ "/console/incidents/" (enc(text(i, "id"))) } { (text(i, "title")) } }
                        td data-label="Severity" { (severity(i)) }
                        td data-label="Status" { (text(i, "status")) }
                        td data-label="Source" { (text(&i["source"], "source")) }
                        td data-label="War room" { (humanize(text(&i["war_room"], "phase"))) }
                        td data-label="Opened" { (when(&i["created_at"])) }
                    }
                } }
            } }
        }
        p.actions {
            @if cursor.is_some() { a href={ "/console/incidents?" (chosen.trim_start_matches('&')) } { "Newest" } }
            @if let Some(next) = next { a href={ "/console/incidents?cursor=" (enc(&next)) (chosen) } { "Older incidents" } }
        }
    };
    layout::render("Incidents", &session, Section::Incidents, &notices, body)
}

fn severity(i: &Value) -> Markup {
    let s = text(i, "severity");
    html! { span class={ "badge sev-" (s) } { (s) } }
}

/// Only web links are links: a URL from an alert payload could be `javascript:`.
fn web_link(url: &str) -> Option<&str> {
    (url.starts_with("https://") || url.starts_with("http://")).then_some(url)
}

fn page_of(id: &str) -> String {
    format!("/console/incidents/{}", enc(id))
}

pub async fn show(State(state): State<AppState>, Signed(session): Signed, Path(id): Path<String>) -> Response {
    page(&state, &session, &id, vec![]).await
}

async fn page(state: &AppState, session: &Session, id: &str, notices: Vec<Notice>) -> Response {
    let i = match session.api.get(&format!("/api/v1/incidents/{}", enc(id))).await {
        Ok(i) => i,
        Err(r) => return layout::refusal_page("Incident", session, Section::Incidents, r),
    };
    let id = text(&i, "id");
    let base = format!("/console/incidents/{}", enc(id));
    let live = live_section(state, session, &i).await;
    let body = html! {
        dl.facts {
            dt { "Severity" } dd { (severity(&i)) }
            dt { "Source" } dd { (text(&i["source"], "source")) " · " (text(&i["source"], "external_id")) }
            dt { "Opened" } dd { (when(&i["created_at"])) }
            @if let Some(url) = i["url"].as_str() {
                dt { "In the source" } dd { @if let Some(u) = web_link(url) { a href=(u) rel="noopener noreferrer" { (u) } } @else { (url) } }
            }
        }
        @if !text(&i, "description").is_empty() { h2 { "Description" } p { (text(&i, "description")) } }
        @if let Some(labels) = i["labels"].as_object().filter(|l| !l.is_empty()) {
            h2 { "Labels" }
            dl.facts { @for (k, v) in labels { dt { (k) } dd { (v.as_str().unwrap_or("")) } } }
        }
        @if let Some(responders) = i["responders"].as_array().filter(|r| !r.is_empty()) {
            h2 { "Responders" }
            ul { @for r in responders {
                li { (text(r, "name")) @if !text(r, "email").is_empty() { " <" (text(r, "email")) ">" }
                     // `member_id` is only a hint (the engine matches responders when it
                     // invites them, and does not always write it back): never "unmatched".
                     @if let Some(m) = r["member_id"].as_str() { span.muted { " (member " (m) ")" } } }
            } }
        }
        section #live data-live={ (base) "/live" } aria-label="War room and timeline" { (live) }
    };
    layout::render(text(&i, "title"), session, Section::Incidents, &notices, body)
}

/// What changes while the page is open: status, the war room, invitations, the timeline,
/// the transcript. Served alone at `/live` for the page's script to swap in.
async fn live_section(state: &AppState, session: &Session, i: &Value) -> Markup {
    let id = text(i, "id");
    let timeline = session.api.get(&format!("/api/v1/incidents/{}/timeline", enc(id))).await;
    // The API has no transcript route yet: read it from the store for the incident the API
    // has just shown to this caller (so it is this tenant's).
    let transcript = state.store().list_chat_messages(&session.api.caller().tenant, &IncidentId::from(id)).await;
    let w = &i["war_room"];
    let names = im_names(session, w).await;
    let who = |user: &str| names.get(user).map_or_else(|| user.to_owned(), |name| format!("{name} ({user})"));
    let base = format!("/console/incidents/{}", enc(id));
    let (state_, phase) = (text(w, "state"), text(w, "phase"));
    // The war-room buttons are part of what updates live: *View War Room* appears once the
    // chat exists, without a reload.
    html! {
        div.actions {
            @if state_ == "none" && w["wanted"] != true {
                form.inline method="post" action={ (base) "/war-room" } {
                    (csrf::input(session))
                    button.primary type="submit" { "Create War Room" }
                }
            }
            @if let Some(url) = w["chat_url"].as_str().and_then(web_link) {
                a.button.primary href=(url) target="_blank" rel="noopener noreferrer" { "View War Room" }
            }
            @if state_ == "open" && phase != "dismissing" {
                details.menu {
                    summary { "More actions" }
                    form.inline method="post" action={ (base) "/dismiss" } data-confirm="Dismiss the war room? The transcript is captured, then the chat is disbanded." {
                        (csrf::input(session))
                        button.danger type="submit" { "Dismiss War Room" }
                    }
                }
            }
        }
        h2 { "Status" }
        dl.facts {
            dt { "Status" } dd { strong { (text(i, "status")) } @if !i["snoozed_until"].is_null() { " until " (when(&i["snoozed_until"])) } }
            dt { "War room" } dd { (humanize(text(w, "phase"))) }
            // Named even when the platform gives no link to it (a sandbox, WeCom, DingTalk).
            @if let Some(chat) = w["chat_id"].as_str() { dt { "Chat" } dd { code data-chat-id=(chat) { (chat) } } }
            @if let Some(by) = w.get("dismissed_by").filter(|b| !b.is_null()) { dt { "Dismissed by" } dd { (actor(by)) } }
            @if !w["dismiss_at"].is_null() { dt { "Dismissal at" } dd { (when(&w["dismiss_at"])) } }
            @if let Some(e) = w["last_error"].as_str() { dt { "Last error" } dd { (e) } }
            @if let Some(summary) = w["card"]["summary"].as_str() { dt { "Status card" } dd { (summary) } }
        }
        @let invited = w["invited"].as_array().cloned().unwrap_or_default();
        @let failed = w["invite_failed"].as_array().cloned().unwrap_or_default();
        @if !invited.is_empty() || !failed.is_empty() {
            h2 { "Members" }
            @if !invited.is_empty() { p { "Invited: " @for (n, u) in invited.iter().enumerate() { @if n > 0 { ", " } (who(u.as_str().unwrap_or(""))) } } }
            @if !failed.is_empty() {
                p { "Not invited:" }
                ul { @for f in &failed { li { (who(text(f, "im_user_id"))) ": " (text(f, "reason")) } } }
            }
        }
        h2 { "Timeline" }
        @match &timeline {
            Ok(t) => {
                @let entries = t["entries"].as_array().cloned().unwrap_or_default();
                @if entries.is_empty() { p { "Nothing yet." } }
                ol.timeline { @for e in &entries {
                    li { span.muted { (when(&e["at"])) } " · " strong.action { (humanize(text(e, "action"))) } " · " span.actor { (actor(&e["actor"])) }
                         @if !text(e, "detail").is_empty() { br; span.detail { (text(e, "detail")) } } }
                } }
            }
            Err(r) => { p.notice.failed role="alert" { (r.message) } }
        }
        @if let Ok(messages) = &transcript { @if !messages.is_empty() {
            h2 { "Transcript" }
            ol.transcript { @for m in messages {
                li { span.muted { (when(&Value::String(m.at.to_rfc3339()))) " · " (m.author.as_str()) } br; (m.text) }
            } }
        } }
    }
}

/// The members linked to the war room's IM users (the first page of linked users of its
/// integration), to name who was invited.
async fn im_names(session: &Session, w: &Value) -> HashMap<String, String> {
    let busy = w["invited"].as_array().is_some_and(|a| !a.is_empty()) || w["invite_failed"].as_array().is_some_and(|a| !a.is_empty());
    let Some(integration) = w["integration_id"].as_str().filter(|_| busy) else { return HashMap::new() };
    match session.api.get(&format!("/api/v1/integrations/{}/links?filter=linked&limit=200", enc(integration))).await {
        Ok(v) => {
            v["rows"].as_array().into_iter().flatten().map(|r| (text(&r["link"], "im_user_id").to_owned(), text(&r["member"], "name").to_owned())).collect()
        }
        Err(_) => HashMap::new(),
    }
}

fn actor(a: &Value) -> Markup {
    html! {
        @match text(a, "kind") {
            "system" => { "Warroom" }
            "member" => { (text(a, "name")) }
            "im_user" => { (text(a, "platform")) " user " (text(a, "id")) }
            "source" => { "source " (text(a, "name")) }
            "api_key" => { "API key " (text(a, "label")) }
            other => { (other) }
        }
    }
}

pub async fn live(State(state): State<AppState>, Signed(session): Signed, Path(id): Path<String>) -> Response {
    match session.api.get(&format!("/api/v1/incidents/{}", enc(&id))).await {
        Ok(i) => {
            let section = live_section(&state, &session, &i).await;
            layout::respond(StatusCode::OK, html! { section #live { (section) } })
        }
        Err(r) => layout::refusal_page("Incident", &session, Section::Incidents, r),
    }
}

pub async fn create_war_room(State(state): State<AppState>, Path(id): Path<String>, form: Form) -> Response {
    let s = &form.session;
    let answer = s.api.post(&format!("/api/v1/incidents/{}/war-room", enc(&id)), None).await;
    if let Err(r) = &answer {
        if r.status == StatusCode::NOT_FOUND {
            return layout::refusal_page("Incident", s, Section::Incidents, r.clone());
        }
    }
    match answer {
        Ok(w) if w["state"] == "open" => flash::done(s, &page_of(&id), "The war room is open."),
        Ok(_) => flash::done(s, &page_of(&id), "War room requested: the chat is being created and the responders invited."),
        Err(r) => page(&state, s, &id, vec![Notice::Failed(r)]).await,
    }
}

pub async fn dismiss_war_room(State(state): State<AppState>, Path(id): Path<String>, form: Form) -> Response {
    let s = &form.session;
    let answer = s.api.delete(&format!("/api/v1/incidents/{}/war-room", enc(&id))).await;
    if let Err(r) = &answer {
        if r.status == StatusCode::NOT_FOUND {
            return layout::refusal_page("Incident", s, Section::Incidents, r.clone());
        }
    }
    match answer {
        Ok(_) => flash::done(s, &page_of(&id), "Dismissing the war room: the transcript is captured, then the chat is disbanded."),
        Err(r) => page(&state, s, &id, vec![Notice::Failed(r)]).await,
    }
}
