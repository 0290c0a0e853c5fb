//! The page shell every console page shares, what an action's outcome looks like, and the
//! security headers of every console answer.
//!
//! Pages are maud templates: every `(expression)` is HTML-escaped, so titles, labels and
//! chat messages (which come from alert payloads and chats) are shown as text. Nothing in
//! the console uses `PreEscaped`.

use super::csrf;
use super::dispatch::Refusal;
use super::session::Session;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

/// No inline script or style anywhere: the one JS and one CSS file are served from here.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// What an action did, said at the top of the page it ends on.
pub enum Notice {
    Done(String),
    Failed(Refusal),
    /// A refusal the console itself makes (a form it cannot turn into an API call).
    Invalid(String),
    /// Where to go next after a refusal: (console path, link text).
    Link(String, String),
}

impl Notice {
    pub fn from_answer<T>(answer: &Result<T, Refusal>, done: impl Into<String>) -> Notice {
        match answer {
            Ok(_) => Notice::Done(done.into()),
            Err(r) => Notice::Failed(r.clone()),
        }
    }

    /// The status the page answers with: the API's own on a refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            Notice::Done(_) | Notice::Link(..) => StatusCode::OK,
            Notice::Failed(r) => r.status,
            Notice::Invalid(_) => StatusCode::BAD_REQUEST,
        }
    }
}

pub fn notice(n: &Notice) -> Markup {
    match n {
        Notice::Done(text) => html! { p.notice.done role="status" { (text) } },
        Notice::Failed(r) => html! {
            div.notice.failed role="alert" {
                p { strong { "Refused: " } (r.message) }
                p.code { "(" (r.status.as_u16()) " " (r.code) ")" }
            }
        },
        Notice::Invalid(text) => html! { p.notice.failed role="alert" { strong { "Not sent: " } (text) } },
        Notice::Link(href, text) => html! { p.notice.next { a href=(href) { (text) } } },
    }
}

/// The sections of the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Incidents,
    Integrations,
    Members,
    Settings,
    Keys,
    DeadLetters,
    Status,
    None,
}

const NAV: [(Section, &str, &str); 7] = [
    (Section::Incidents, "/console/incidents", "Incidents"),
    (Section::Integrations, "/console/integrations", "Integrations"),
    (Section::Members, "/console/members", "Members"),
    (Section::Settings, "/console/settings", "Settings"),
    (Section::Keys, "/console/keys", "API keys"),
    (Section::DeadLetters, "/console/dead-letters", "Dead letters"),
    (Section::Status, "/console/status", "Status"),
];

/// A whole page. `notices` go first in the main content, so a screen reader hears them.
pub fn page<N: std::borrow::Borrow<Notice>>(title: &str, session: Option<&Session>, section: Section, notices: &[N], body: Markup) -> Markup {
    page_with_head(title, session, section, notices, body, html! {})
}

/// [`page`] with more in its `head` (a `meta` refresh: no inline script is ever needed).
pub fn page_with_head<N: std::borrow::Borrow<Notice>>(
    title: &str,
    session: Option<&Session>,
    section: Section,
    notices: &[N],
    body: Markup,
    head: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Warroom" }
                link rel="stylesheet" href="/console/static/console.css";
                script src="/console/static/console.js" defer {}
                (head)
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console/" { "Warroom" }
                    @if let Some(s) = session {
                        nav aria-label="Console" {
                            ul {
                                @for (sec, href, label) in NAV {
                                    li {
                                        @if sec == section { a href=(href) aria-current="page" { (label) } }
                                        @else { a href=(href) { (label) } }
                                    }
                                }
                            }
                        }
                        form.signout method="post" action="/console/sign-out" {
                            (csrf::input(s))
                            @if s.caller.member.is_some() { span.who { "Admin " (s.caller.label) } }
                            @else { span.who { "Key " (s.caller.label) " (" (s.caller.prefix) "…)" } }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    @for n in notices { (notice(n.borrow())) }
                    (body)
                }
            }
        }
    }
}

pub fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A page of a signed-in session, with the status its notices call for.
pub fn render(title: &str, session: &Session, section: Section, notices: &[Notice], body: Markup) -> Response {
    let status = notices.iter().map(Notice::status).find(|s| !s.is_success()).unwrap_or(StatusCode::OK);
    // What the form before the redirect did comes first; it is shown once.
    let flash: Vec<Notice> = session.flash.iter().map(|f| Notice::Done(f.message.clone())).collect();
    let all: Vec<&Notice> = flash.iter().chain(notices).collect();
    let mut response = respond(status, page(title, Some(session), section, &all, body));
    if session.flash.is_some() {
        response.headers_mut().insert(header::SET_COOKIE, super::flash::clear_cookie(session.secure));
    }
    response
}

/// A page that only says what went wrong (no session needed to show it).
pub fn failure_page(status: StatusCode, message: &str) -> Response {
    let body = html! {
        p.notice.failed role="alert" { (message) }
        p { a href="/console/" { "Back to the console" } }
    };
    respond(status, page::<Notice>(status.canonical_reason().unwrap_or("Error"), None, Section::None, &[], body))
}

/// The page of an API refusal that leaves nothing else to show (a missing incident, ...).
pub fn refusal_page(title: &str, session: &Session, section: Section, refusal: Refusal) -> Response {
    render(title, session, section, &[Notice::Failed(refusal)], html! { p { a href="/console/" { "Back to the console" } } })
}

pub async fn not_found() -> Response {
    failure_page(StatusCode::NOT_FOUND, "There is no such console page.")
}

/// On every console answer: the CSP and its companions; pages are never cached (they show
/// a tenant's data, and a new API key once).
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// `2026-12-04T11:45:00Z` as shown: without the seconds' fraction and the `T`.
pub fn when(v: &serde_json::Value) -> String {
    match v.as_str() {
        Some(t) => t.replacen('T', " ", 1).trim_end_matches('Z').split('.').next().unwrap_or(t).to_owned() + " UTC",
        None => "—".to_owned(),
    }
}

/// A JSON string field, or "" (absent, null, not a string).
pub fn text<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v.get(key).and_then(serde_json::Value::as_str).unwrap_or("")
}
