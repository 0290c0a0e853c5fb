//! Integrations: the list, the detail (URLs to paste, permissions, the war-room switch),
//! delete. Adding one and replacing credentials are in [`super::connect`].

use super::{catalog, humanize, platform_name};
use crate::console::csrf::{self, Form};
use crate::console::dispatch::{enc, Refusal};
use crate::console::flash;
use crate::console::layout::{self, text, when, Notice, Section};
use crate::console::session::{Session, Signed};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde_json::Value;
use warroom_http::AppState;

pub async fn list(State(state): State<AppState>, Signed(session): Signed) -> Response {
    list_page(&state, &session, vec![]).await
}

pub async fn list_page(state: &AppState, session: &Session, mut notices: Vec<Notice>) -> Response {
    let answer = session.api.get("/api/v1/integrations").await;
    let items = match &answer {
        Ok(v) => v["integrations"].as_array().cloned().unwrap_or_default(),
        Err(r) => {
            notices.push(Notice::Failed(r.clone()));
            vec![]
        }
    };
    let body = html! {
        @if items.is_empty() && answer.is_ok() { p { "No integration yet: add one below." } }
        @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Platform" } th scope="col" { "State" } th scope="col" { "War room" } th scope="col" { "Permissions" } } }
                tbody { @for i in &items { (row(i)) } }
            } }
        }
        h2 { "Add integration" }
        ul {
            @for (platform, _) in catalog(state) {
                li { a href={ "/console/integrations/new?platform=" (platform.as_str()) } { "Connect a " (platform_name(platform.as_str())) " app by its credentials" } }
            }
        }
        @if state.platforms.as_ref().is_some_and(|p| p.config.slack_app.is_some()) {
            form.inline method="post" action="/console/integrations/slack/install" {
                (csrf::input(session))
                button.primary type="submit" { "Add to Slack (install the deployment's app)" }
            }
        }
    };
    layout::render("Integrations", session, Section::Integrations, &notices, body)
}

fn row(i: &Value) -> Markup {
    let missing = i["missing_permissions"].as_array().map_or(0, Vec::len);
    let status = text(i, "status");
    html! {
        tr {
            td data-label="Name" { a href={ "/console/integrations/" (enc(text(i, "id"))) } { (text(i, "name")) } }
            td data-label="Platform" { (platform_name(text(i, "platform"))) }
            td data-label="State" { @if status == "active" { "connected" } @else { (status) } }
            td data-label="War room" { @if i["war_room_enabled"] == true { "on" } @else { "off" } }
            td data-label="Permissions" { @if missing == 0 { "all granted" } @else { (missing) " missing" } }
        }
    }
}

pub async fn show(State(state): State<AppState>, Signed(session): Signed, Path(id): Path<String>) -> Response {
    detail(&state, &session, &id, vec![], None).await
}

/// The detail page; `problem` is a refused *Enable War Room*, explained in its section.
pub async fn detail(state: &AppState, session: &Session, id: &str, notices: Vec<Notice>, problem: Option<&Refusal>) -> Response {
    let i = match session.api.get(&format!("/api/v1/integrations/{}", enc(id))).await {
        Ok(i) => i,
        Err(r) => return layout::refusal_page("Integration", session, Section::Integrations, r),
    };
    let id = text(&i, "id");
    let base = format!("/console/integrations/{}", enc(id));
    let body = html! {
        dl.facts {
            dt { "Platform" } dd { (platform_name(text(&i, "platform"))) }
            dt { "State" } dd { @if text(&i, "status") == "active" { "connected" } @else { (text(&i, "status")) } }
            @if let Some(ext) = i["external_id"].as_str() { dt { "Installation" } dd { (ext) } }
            dt { "Added" } dd { (when(&i["created_at"])) }
        }
        p.actions { a.button href={ (base) "/links" } { "Linked users" } }
        (setup(&i))
        (console_sign_in(state, &i))
        (war_room(session, &i, &base, problem))
        (super::connect::rotate_form(state, session, &i, &base))
        h2 { "Delete" }
        form.inline method="post" action={ (base) "/delete" } data-confirm="Delete this integration? Its member links go with it." {
            (csrf::input(session))
            button.danger type="submit" { "Delete integration" }
        }
    };
    layout::render(&format!("Integration {}", text(&i, "name")), session, Section::Integrations, &notices, body)
}

/// The URLs to paste into the platform's developer console, with copy buttons.
fn setup(i: &Value) -> Markup {
    let Some(setup) = i["setup"].as_object().filter(|s| !s.is_empty()) else { return html! {} };
    let manifest = format!("/console/integrations/{}/manifest", enc(text(i, "id")));
    html! {
        h2 { "URLs for the platform's developer console" }
        p.muted { "Paste each into the app's settings in the IM platform's developer console." }
        @for (name, value) in setup {
            // The API's manifest URL needs a bearer key; the console serves the same answer.
            @if name == "manifest_url" {
                p { a href=(manifest) { "Open the Slack app manifest for this app" } }
            } @else if let Some(url) = value.as_str() {
                div.copyable {
                    label for={ "setup-" (name) } { (humanize(name)) }
                }
                div.copyable {
                    input #{ "setup-" (name) } type="text" readonly value=(url);
                    button type="button" data-copy={ "setup-" (name) } hidden { "Copy" }
                }
            }
        }
    }
}

/// The integration's console sign-in link, where its platform offers signing in.
fn console_sign_in(state: &AppState, i: &Value) -> Markup {
    let platform = text(i, "platform");
    let offered = state.platforms.as_ref().and_then(|p| p.modules().find(|m| m.platform().as_str() == platform)).is_some_and(|m| m.sign_in().is_some());
    if !offered || text(i, "status") != "active" {
        return html! {};
    }
    let url = format!("{}/console/sign-in/im/{}", state.settings.public_url.trim_end_matches('/'), text(i, "id"));
    html! {
        h2 { "Console sign-in through " (platform_name(platform)) }
        p.muted { "Members whose role is admin sign in to this console here with their " (platform_name(platform)) " account (it is linked on the way). Bookmark it or share it with them." }
        div.copyable {
            label for="console-sign-in" { "Console sign-in link" }
        }
        div.copyable {
            input #console-sign-in type="text" readonly value=(url);
            button type="button" data-copy="console-sign-in" hidden { "Copy" }
        }
    }
}

/// "Enhanced features": the war-room switch, with what is missing for it.
fn war_room(session: &Session, i: &Value, base: &str, problem: Option<&Refusal>) -> Markup {
    let enabled = i["war_room_enabled"] == true;
    let required = i["required_permissions"].as_array().cloned().unwrap_or_default();
    let purpose = |scope: &str| required.iter().find(|p| p["scope"] == scope).map_or(String::new(), |p| text(p, "purpose").to_owned());
    let reauthorize = problem.and_then(|p| p.detail("reauthorize_url").as_str()).or_else(|| i["reauthorize_url"].as_str());
    html! {
        h2 { "Enhanced features: War Room" }
        @if let Some(p) = problem {
            div.warning role="alert" {
                @if p.code == "missing_permissions" {
                    p { strong { "War rooms need permissions this app lacks:" } }
                    ul { @for scope in p.detail("missing_permissions").as_array().into_iter().flatten().filter_map(Value::as_str) {
                        li { code { (scope) } @let why = purpose(scope); @if !why.is_empty() { " — " (why) } }
                    } }
                } @else { p { (p.message) } }
                @if let Some(url) = reauthorize { p { a.button.primary href=(url) { "Re-authorize" } } }
                @if p.code == "war_room_taken" {
                    @if let Some(other) = p.detail("integration_id").as_str() {
                        p { a href={ "/console/integrations/" (enc(other)) } { "Open the integration that has war rooms" } }
                        form.inline method="post" action={ (base) "/war-room/move" } {
                            (csrf::input(session))
                            input type="hidden" name="from" value=(other);
                            button type="submit" { "Move war rooms to this integration" }
                        }
                    }
                }
            }
        }
        div.scroll { table {
            caption.muted { "Permissions war rooms need" }
            thead { tr { th scope="col" { "Permission" } th scope="col" { "What for" } th scope="col" { "Granted" } } }
            tbody { @for p in &required {
                tr { td data-label="Permission" { code { (text(p, "scope")) } } td data-label="What for" { (text(p, "purpose")) } td data-label="Granted" { @if p["granted"] == true { "yes" } @else { strong { "missing" } } } }
            } }
        } }
        @if problem.is_none() { @if let Some(url) = reauthorize { p.warning { "Some permissions are missing or the app was revoked. " a href=(url) { "Re-authorize" } } } }
        @if enabled {
            p { "War rooms are " strong { "on" } " for this integration." }
            form.inline method="post" action={ (base) "/war-room/disable" } data-confirm="Turn war rooms off for this integration?" {
                (csrf::input(session))
                button type="submit" { "Disable War Room" }
            }
        } @else {
            p { "War rooms are " strong { "off" } " for this integration." }
            form.inline method="post" action={ (base) "/war-room/enable" } {
                (csrf::input(session))
                button.primary type="submit" { "Enable War Room" }
            }
        }
    }
}

/// The Slack app manifest of a self-managed app, as the API answers it.
pub async fn manifest(State(_state): State<AppState>, Signed(session): Signed, Path(id): Path<String>) -> Response {
    match session.api.get_text(&format!("/api/v1/integrations/slack/manifest?integration_id={}", enc(&id))).await {
        Ok(yaml) => ([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], yaml).into_response(),
        Err(r) => layout::refusal_page("Slack app manifest", &session, Section::Integrations, r),
    }
}

pub async fn enable_war_room(State(state): State<AppState>, Path(id): Path<String>, form: Form) -> Response {
    let s = &form.session;
    match s.api.post(&format!("/api/v1/integrations/{}/war-room", enc(&id)), None).await {
        Ok(_) => flash::done(s, &page_of(&id), "War rooms are enabled for this integration."),
        Err(r) if r.status == axum::http::StatusCode::NOT_FOUND => layout::refusal_page("Integration", s, Section::Integrations, r),
        Err(r) => detail(&state, s, &id, vec![Notice::Failed(r.clone())], Some(&r)).await,
    }
}

pub async fn disable_war_room(State(state): State<AppState>, Path(id): Path<String>, form: Form) -> Response {
    let s = &form.session;
    match s.api.delete(&format!("/api/v1/integrations/{}/war-room", enc(&id))).await {
        Ok(_) => flash::done(s, &page_of(&id), "War rooms are disabled for this integration."),
        Err(r) => after(&state, s, &id, Notice::Failed(r)).await,
    }
}

/// Moves war rooms from the integration that has them to this one: disable there, enable here.
pub async fn move_war_room(State(state): State<AppState>, Path(id): Path<String>, form: Form) -> Response {
    let s = &form.session;
    let from = form.get("from");
    if from.is_empty() {
        return detail(&state, s, &id, vec![Notice::Invalid("no integration to move war rooms from".into())], None).await;
    }
    if let Err(r) = s.api.delete(&format!("/api/v1/integrations/{}/war-room", enc(from))).await {
        return after(&state, s, &id, Notice::Failed(r)).await;
    }
    match s.api.post(&format!("/api/v1/integrations/{}/war-room", enc(&id)), None).await {
        Ok(_) => flash::done(s, &page_of(&id), "War rooms moved to this integration."),
        Err(r) => {
            let notice = Notice::Invalid(format!("war rooms were disabled on the other integration, but enabling them here was refused: {}", r.message));
            detail(&state, s, &id, vec![notice], Some(&r)).await
        }
    }
}

pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, form: Form) -> Response {
    let s = &form.session;
    match s.api.delete(&format!("/api/v1/integrations/{}", enc(&id))).await {
        Ok(_) => flash::done(s, "/console/integrations", "The integration was deleted."),
        Err(r) => after(&state, s, &id, Notice::Failed(r)).await,
    }
}

/// The console page of an integration.
pub fn page_of(id: &str) -> String {
    format!("/console/integrations/{}", enc(id))
}

/// The detail page after an action, with what happened (the API's status on a refusal).
async fn after(state: &AppState, session: &Session, id: &str, notice: Notice) -> Response {
    detail(state, session, id, vec![notice], None).await
}
