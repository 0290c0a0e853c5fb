//! *Add integration* (an app by its credentials, or the deployment's Slack app by OAuth)
//! and *Replace credentials*. The forms are built from the same platform registry the API
//! validates against, so a later platform gets its form by being registered.

use super::{catalog, is_secret, platform_name};
use crate::console::csrf::{self, Form};
use crate::console::dispatch::enc;
use crate::console::flash;
use crate::console::layout::{self, text, Notice, Section};
use crate::console::pages::integrations;
use crate::console::session::{Session, Signed};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use maud::{html, Markup};
use serde_json::{Map, Value};
use warroom_core::Platform;
use warroom_http::AppState;
use warroom_platforms::CredentialField;

/// The inputs of a platform's credential fields; `keep` refills non-secret values after a
/// refusal (secrets are never written back into a page).
fn fields(platform: Platform, fields: &[CredentialField], keep: Option<&Form>) -> Markup {
    html! {
        @for f in fields {
            @let id = format!("f-{}-{}", platform.as_str(), f.name);
            @let secret = is_secret(f.name);
            div {
                label for=(id) {
                    (super::humanize(f.name))
                    @if f.required { " (required)" } @else { " (optional)" }
                    span.help { (f.help) }
                }
                @let value = if secret { "" } else { keep.map_or("", |k| k.get(f.name)) };
                @if secret {
                    input #(id) type="password" name=(f.name) required[f.required] autocomplete="off" spellcheck="false";
                } @else {
                    input #(id) type="text" name=(f.name) value=(value) required[f.required] autocomplete="off" spellcheck="false";
                }
            }
        }
    }
}

fn catalog_entry(state: &AppState, platform: &str) -> Option<(Platform, &'static [CredentialField])> {
    catalog(state).into_iter().find(|(p, _)| p.as_str() == platform)
}

pub async fn new(State(state): State<AppState>, Signed(session): Signed, RawQuery(raw): RawQuery) -> Response {
    let query = super::query(raw.as_deref());
    new_page(&state, &session, query.get("platform").map_or("", String::as_str), None, vec![])
}

fn new_page(state: &AppState, session: &Session, platform: &str, keep: Option<&Form>, notices: Vec<Notice>) -> Response {
    let Some((platform, platform_fields)) = catalog_entry(state, platform) else {
        let body = html! {
            p { "Choose the platform of the app to connect:" }
            ul { @for (p, _) in catalog(state) { li { a href={ "/console/integrations/new?platform=" (p.as_str()) } { (platform_name(p.as_str())) } } } }
        };
        return layout::render("Add integration", session, Section::Integrations, &notices, body);
    };
    let name = platform_name(platform.as_str());
    let body = html! {
        p { "Enter the values the " (name) " developer console shows for your app. They are checked with " (name) " before anything is stored, then sealed and never shown again." }
        form.stack method="post" action="/console/integrations" {
            (csrf::input(session))
            input type="hidden" name="platform" value=(platform.as_str());
            div {
                label for="name" { "Name (optional)" span.help { "How this integration is called in the console" } }
                input #name type="text" name="name" value=(keep.map_or("", |k| k.get("name"))) autocomplete="off";
            }
            (fields(platform, platform_fields, keep))
            div { button.primary type="submit" data-busy="Checking…" { "Connect " (name) " app" } }
        }
        p { a href="/console/integrations" { "Back to integrations" } }
    };
    layout::render(&format!("Add a {name} integration"), session, Section::Integrations, &notices, body)
}

/// The body of a connect / rotate call: `platform`, `name` and the platform's fields, blank
/// ones left out (the API says which are required).
fn body(form: &Form, platform: Option<Platform>, fields: &[CredentialField]) -> Value {
    let mut out = Map::new();
    if let Some(p) = platform {
        out.insert("platform".into(), p.as_str().into());
    }
    let name = form.get("name").trim();
    if !name.is_empty() {
        out.insert("name".into(), name.into());
    }
    for f in fields {
        let value = form.get(f.name).trim();
        if !value.is_empty() {
            out.insert(f.name.into(), value.into());
        }
    }
    Value::Object(out)
}

pub async fn connect(State(state): State<AppState>, form: Form) -> Response {
    let s = &form.session;
    let platform = form.get("platform");
    let Some((p, platform_fields)) = catalog_entry(&state, platform) else {
        return new_page(&state, s, "", None, vec![Notice::Invalid(format!("this build cannot connect {platform:?} apps"))]);
    };
    match s.api.post("/api/v1/integrations", Some(body(&form, Some(p), platform_fields))).await {
        Ok(i) => {
            let done = format!("Connected \"{}\". Paste the URLs below into the app's settings.", text(&i, "name"));
            flash::done(s, &integrations::page_of(text(&i, "id")), done)
        }
        Err(r) => {
            let existing = (r.code == "already_connected").then(|| r.detail("integration_id").as_str().map(str::to_owned)).flatten();
            let mut notices = vec![Notice::Failed(r)];
            // The API's message names its own route; in the console the way is the detail page.
            if let Some(id) = existing {
                notices
                    .push(Notice::Link(format!("/console/integrations/{}", enc(&id)), "Open the connected integration (Replace credentials is there)".into()));
            }
            new_page(&state, s, platform, Some(&form), notices)
        }
    }
}

/// *Replace credentials* on the detail page.
pub fn rotate_form(state: &AppState, session: &Session, i: &Value, base: &str) -> Markup {
    let Some((platform, platform_fields)) = catalog_entry(state, text(i, "platform")) else { return html! {} };
    html! {
        h2 { "Replace credentials" }
        details {
            summary { "Enter new credentials for the same app" }
            form.stack method="post" action={ (base) "/credentials" } {
                (csrf::input(session))
                p.muted { "All fields are replaced (not merged); they must belong to the same app or workspace." }
                div {
                    label for="rename" { "Name" span.help { "Leave as is to keep it" } }
                    input #rename type="text" name="name" value=(text(i, "name")) autocomplete="off";
                }
                (fields(platform, platform_fields, None))
                div { button type="submit" data-busy="Checking…" { "Replace credentials" } }
            }
        }
    }
}

pub async fn rotate(State(state): State<AppState>, Path(id): Path<String>, form: Form) -> Response {
    let s = &form.session;
    let current = match s.api.get(&format!("/api/v1/integrations/{}", enc(&id))).await {
        Ok(i) => i,
        Err(r) => return layout::refusal_page("Integration", s, Section::Integrations, r),
    };
    let platform_fields = catalog_entry(&state, text(&current, "platform")).map_or(&[][..], |(_, f)| f);
    match s.api.put(&format!("/api/v1/integrations/{}/credentials", enc(&id)), body(&form, None, platform_fields)).await {
        Ok(_) => flash::done(s, &integrations::page_of(&id), "The credentials were replaced; the integration is connected."),
        Err(r) => integrations::detail(&state, s, &id, vec![Notice::Failed(r)], None).await,
    }
}

/// The deployment's own Slack app: off to Slack's consent page.
pub async fn slack_install(State(state): State<AppState>, form: Form) -> Response {
    let s = &form.session;
    let integration = form.get("integration_id");
    let body = if integration.is_empty() { None } else { Some(serde_json::json!({ "integration_id": integration })) };
    match s.api.post("/api/v1/integrations/slack/install", body).await {
        // A link, not a redirect: browsers hold a form's redirect to `form-action 'self'`.
        Ok(v) => match v["install_url"].as_str() {
            Some(url) => {
                let body = html! {
                    p { "Slack asks you to approve the permissions war rooms need, then sends you back here. The link works once, for 10 minutes." }
                    p { a.button.primary href=(url) { "Continue to Slack" } }
                };
                layout::render("Add to Slack", s, Section::Integrations, &[], body)
            }
            None => integrations::list_page(&state, s, vec![Notice::Invalid("the API gave no install link".into())]).await,
        },
        Err(r) => integrations::list_page(&state, s, vec![Notice::Failed(r)]).await,
    }
}
