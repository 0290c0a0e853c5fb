//! Linked users of one integration: filter, search, paging, *One-Click Link* with its
//! per-member report, and linking / unlinking one member by hand.

use crate::console::csrf::{self, Form};
use crate::console::dispatch::{enc, Refusal};
use crate::console::flash;
use crate::console::layout::{self, text, when, Notice, Section};
use crate::console::session::{Session, Signed};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use maud::{html, Markup};
use serde_json::{json, Value};
use std::collections::HashMap;
use warroom_http::AppState;

/// What the list shows: kept across the forms of the page.
#[derive(Default)]
struct View {
    filter: String,
    search: String,
    after: String,
}

impl View {
    fn from(get: impl Fn(&str) -> String) -> Self {
        let filter = match get("filter").as_str() {
            f @ ("linked" | "unlinked") => f.to_owned(),
            _ => "all".to_owned(),
        };
        Self { filter, search: get("search").trim().to_owned(), after: get("after") }
    }

    /// The console page of this view (where a form redirects to).
    fn page(&self, integration: &str) -> String {
        let mut to = format!("/console/integrations/{}/links?filter={}", enc(integration), self.filter);
        if !self.search.is_empty() {
            to += &format!("&search={}", enc(&self.search));
        }
        if !self.after.is_empty() {
            to += &format!("&after={}", enc(&self.after));
        }
        to
    }

    fn api_query(&self) -> String {
        let mut q = format!("filter={}&limit=50", self.filter);
        if !self.search.is_empty() {
            q += &format!("&search={}", enc(&self.search));
        }
        if !self.after.is_empty() {
            q += &format!("&after={}", enc(&self.after));
        }
        q
    }

    /// Hidden inputs that bring a form's answer back to the same view.
    fn hidden(&self) -> Markup {
        html! {
            input type="hidden" name="filter" value=(self.filter);
            input type="hidden" name="search" value=(self.search);
            input type="hidden" name="after" value=(self.after);
        }
    }
}

pub async fn list(State(_state): State<AppState>, Signed(session): Signed, Path(id): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let query: HashMap<String, String> = super::query(raw.as_deref());
    let view = View::from(|k| query.get(k).cloned().unwrap_or_default());
    // After *One-Click Link*: its report, kept by the API under the run's id.
    let report = match query.get("run").filter(|r| !r.is_empty()) {
        Some(run) => Some(run_report(&session, &id, run).await),
        None => None,
    };
    page(&session, &id, &view, vec![], report).await
}

async fn run_report(session: &Session, id: &str, run: &str) -> Markup {
    match session.api.get(&format!("/api/v1/integrations/{}/links/runs/{}", enc(id), enc(run))).await {
        Ok(v) if v["status"] == "failed" => html! { p.notice.failed role="alert" { "One-Click Link failed: " (text(&v, "error")) } },
        Ok(v) => {
            let names: HashMap<String, String> = match session.api.get("/api/v1/members").await {
                Ok(m) => m["members"].as_array().into_iter().flatten().map(|m| (text(m, "id").to_owned(), text(m, "name").to_owned())).collect(),
                Err(_) => HashMap::new(),
            };
            report(&v, &names)
        }
        Err(_) => html! { p.notice.next role="status" { "One-Click Link continues in the background: reload this page for its report." } },
    }
}

async fn page(session: &Session, id: &str, view: &View, mut notices: Vec<Notice>, report: Option<Markup>) -> Response {
    let integration = match session.api.get(&format!("/api/v1/integrations/{}", enc(id))).await {
        Ok(i) => i,
        Err(r) => return layout::refusal_page("Linked users", session, Section::Integrations, r),
    };
    let base = format!("/console/integrations/{}", enc(id));
    let answer = session.api.get(&format!("/api/v1/integrations/{}/links?{}", enc(id), view.api_query())).await;
    let (rows, next) = match answer {
        Ok(v) => (v["rows"].as_array().cloned().unwrap_or_default(), v["next"].as_str().map(str::to_owned)),
        Err(r) => {
            notices.push(Notice::Failed(r));
            (vec![], None)
        }
    };
    let body = html! {
        p { a href=(base) { "← " (text(&integration, "name")) } }
        form.inline method="get" action={ (base) "/links" } role="search" {
            label for="filter" { "Show" }
            select #filter name="filter" {
                @for (value, label) in [("all", "All"), ("linked", "Linked"), ("unlinked", "Unlinked")] {
                    option value=(value) selected[view.filter == value] { (label) }
                }
            }
            label for="search" { "Name or email" }
            input #search type="search" name="search" value=(view.search);
            button type="submit" { "Apply" }
        }
        form.inline method="post" action={ (base) "/links/auto" } data-busy="Linking…" {
            (csrf::input(session))
            (view.hidden())
            button.primary type="submit" { "One-Click Link" }
            span.muted { "Finds every unlinked member on the platform by email, then phone." }
        }
        @if let Some(report) = report { (report) }
        @if rows.is_empty() { p { "No member matches." } }
        @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Member" } th scope="col" { "Email / phone" } th scope="col" { "IM account" } th scope="col" { "Action" } } }
                tbody { @for row in &rows { (member_row(session, &base, view, row)) } }
            } }
        }
        p.actions {
            @if !view.after.is_empty() { a href={ (base) "/links?filter=" (view.filter) "&search=" (enc(&view.search)) } { "First page" } }
            @if let Some(next) = next { a href={ (base) "/links?filter=" (view.filter) "&search=" (enc(&view.search)) "&after=" (enc(&next)) } { "Next page" } }
        }
    };
    layout::render(&format!("Linked users · {}", text(&integration, "name")), session, Section::Integrations, &notices, body)
}

fn member_row(session: &Session, base: &str, view: &View, row: &Value) -> Markup {
    let m = &row["member"];
    let mid = text(m, "id");
    let input_id = format!("im-{mid}");
    html! {
        tr {
            td data-label="Member" { (text(m, "name")) br; span.muted { (mid) } }
            td data-label="Email / phone" { (text(m, "email")) @if !text(m, "phone").is_empty() { br; (text(m, "phone")) } }
            td data-label="IM account" {
                @if row["linked"] == true {
                    (text(&row["link"], "im_user_id")) br;
                    span.muted { (text(&row["link"], "method")) ", " (when(&row["link"]["linked_at"])) }
                } @else { span.muted { "not linked" } }
            }
            td data-label="Action" {
                @if row["linked"] == true {
                    form.inline method="post" action={ (base) "/links/" (enc(mid)) "/unlink" } {
                        (csrf::input(session)) (view.hidden())
                        button type="submit" aria-label={ "Unlink " (text(m, "name")) } { "Unlink" }
                    }
                } @else {
                    form.inline method="post" action={ (base) "/links/" (enc(mid)) } {
                        (csrf::input(session)) (view.hidden())
                        label for=(input_id) { "IM user ID" }
                        input #(input_id) type="text" name="im_user_id" required autocomplete="off" spellcheck="false";
                        button type="submit" aria-label={ "Link " (text(m, "name")) } { "Link" }
                    }
                }
            }
        }
    }
}

fn form_view(form: &Form) -> View {
    View::from(|k| form.get(k).to_owned())
}

/// The report of a one-click run, member by member.
fn report(v: &Value, names: &HashMap<String, String>) -> Markup {
    let results = v["results"].as_array().cloned().unwrap_or_default();
    html! {
        section aria-labelledby="report-title" {
            h2 #report-title { "One-Click Link result" }
            @if results.is_empty() && v.get("linked").is_none() { p { (text(v, "message")) } }
            @else {
                p { (v["linked"].as_u64().unwrap_or(0)) " linked, " (v["failed"].as_u64().unwrap_or(0)) " not linked." }
                ul { @for r in &results {
                    @let id = text(r, "member_id");
                    li { strong { (names.get(id).map_or(id, String::as_str)) } ": " @if r["linked"] == true { "linked" } @else { "not linked" } " — " (text(r, "detail")) }
                } }
            }
        }
    }
}

pub async fn auto_link(State(_state): State<AppState>, Path(id): Path<String>, form: Form) -> Response {
    let s = &form.session;
    let view = form_view(&form);
    match s.api.post(&format!("/api/v1/integrations/{}/links/auto", enc(&id)), None).await {
        Ok(v) => {
            let done = if v.get("results").is_some() { "One-Click Link finished." } else { "One-Click Link continues in the background." };
            flash::done(s, &format!("{}&run={}", view.page(&id), enc(text(&v, "run_id"))), done)
        }
        Err(r) => refused(s, &id, &view, r).await,
    }
}

async fn refused(s: &Session, id: &str, view: &View, r: Refusal) -> Response {
    page(s, id, view, vec![Notice::Failed(r)], None).await
}

pub async fn link(State(_state): State<AppState>, Path((id, member)): Path<(String, String)>, form: Form) -> Response {
    let s = &form.session;
    let view = form_view(&form);
    let path = format!("/api/v1/integrations/{}/links/{}", enc(&id), enc(&member));
    match s.api.put(&path, json!({ "im_user_id": form.get("im_user_id") })).await {
        Ok(v) => flash::done(s, &view.page(&id), format!("{} is linked to {}.", text(&v["member"], "name"), text(&v["link"], "im_user_id"))),
        Err(r) => refused(s, &id, &view, r).await,
    }
}

pub async fn unlink(State(_state): State<AppState>, Path((id, member)): Path<(String, String)>, form: Form) -> Response {
    let s = &form.session;
    let view = form_view(&form);
    match s.api.delete(&format!("/api/v1/integrations/{}/links/{}", enc(&id), enc(&member))).await {
        Ok(_) => flash::done(s, &view.page(&id), format!("Member {member} is unlinked.")),
        Err(r) => refused(s, &id, &view, r).await,
    }
}
