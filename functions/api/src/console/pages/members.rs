//! Members: the list, add / edit one, delete, bulk import (pasted JSON or CSV), all through
//! `PUT /api/v1/members` (which validates every member before storing any).

use crate::console::csrf::{self, Form};
use crate::console::dispatch::enc;
use crate::console::flash;
use crate::console::layout::{self, text, when, Notice, Section};
use crate::console::session::{Session, Signed};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use maud::{html, Markup};
use serde_json::{json, Map, Value};
use warroom_http::AppState;

pub async fn list(State(_state): State<AppState>, Signed(session): Signed, RawQuery(raw): RawQuery) -> Response {
    let query = super::query(raw.as_deref());
    page(&session, query.get("edit").map(String::as_str), vec![]).await
}

async fn page(session: &Session, edit: Option<&str>, mut notices: Vec<Notice>) -> Response {
    let members = match session.api.get("/api/v1/members").await {
        Ok(v) => v["members"].as_array().cloned().unwrap_or_default(),
        Err(r) => {
            notices.push(Notice::Failed(r));
            vec![]
        }
    };
    let editing = edit.and_then(|id| members.iter().find(|m| m["id"] == id));
    let body = html! {
        @if members.is_empty() { p { "No members yet." } }
        @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Phone" } th scope="col" { "Role" } th scope="col" { "Updated" } th scope="col" { "Actions" } } }
                tbody { @for m in &members { (row(session, m)) } }
            } }
        }
        (editor(session, editing))
        h2 #import { "Bulk import" }
        form.stack method="post" action="/console/members/import" {
            (csrf::input(session))
            div {
                label for="import-text" {
                    "Members as JSON or CSV"
                    span.help { "JSON: an array like " code { r#"[{"name": "Ada", "email": "ada@example.com"}]"# } ". CSV: a header line naming the columns (name, email, phone, role, id), then one member a line. Role is member or admin; left out, an existing member keeps theirs. A member with an existing id is replaced." }
                }
                textarea #import-text name="members" required spellcheck="false" {}
            }
            div { button type="submit" { "Import" } }
        }
    };
    layout::render("Members", session, Section::Members, &notices, body)
}

fn row(session: &Session, m: &Value) -> Markup {
    let id = text(m, "id");
    html! {
        tr {
            td data-label="Name" { (text(m, "name")) br; span.muted { (id) } }
            td data-label="Email" { (text(m, "email")) }
            td data-label="Phone" { (text(m, "phone")) }
            td data-label="Role" { @if text(m, "role") == "admin" { strong { "admin" } } @else { "member" } }
            td data-label="Updated" { (when(&m["updated_at"])) }
            td data-label="Actions" {
                div.inline {
                    a href={ "/console/members?edit=" (enc(id)) "#edit" } aria-label={ "Edit " (text(m, "name")) } { "Edit" }
                    form.inline method="post" action={ "/console/members/" (enc(id)) "/delete" } data-confirm="Delete this member and their links?" {
                        (csrf::input(session))
                        button.danger type="submit" aria-label={ "Delete " (text(m, "name")) } { "Delete" }
                    }
                }
            }
        }
    }
}

fn editor(session: &Session, m: Option<&Value>) -> Markup {
    let value = |k: &str| m.map_or("", |m| text(m, k));
    html! {
        h2 #edit { @if m.is_some() { "Edit member" } @else { "Add a member" } }
        form.stack method="post" action="/console/members" {
            (csrf::input(session))
            @if m.is_some() { input type="hidden" name="id" value=(value("id")); }
            div { label for="m-name" { "Name" } input #m-name type="text" name="name" required value=(value("name")); }
            div { label for="m-email" { "Email (optional)" } input #m-email type="email" name="email" value=(value("email")); }
            div { label for="m-phone" { "Phone (optional)" span.help { "With the country code, e.g. +86 138 0000 0000" } } input #m-phone type="tel" name="phone" value=(value("phone")); }
            div {
                label for="m-role" { "Role" span.help { "An admin may sign in to this console through the team's IM, once their IM account is linked." } }
                select #m-role name="role" {
                    option value="member" selected[value("role") != "admin"] { "member: responds to incidents" }
                    option value="admin" selected[value("role") == "admin"] { "admin: may also sign in to the console" }
                }
            }
            div.actions {
                button.primary type="submit" { @if m.is_some() { "Save member" } @else { "Add member" } }
                @if m.is_some() { a href="/console/members" { "Cancel" } }
            }
        }
    }
}

pub async fn save(State(_state): State<AppState>, form: Form) -> Response {
    let s = &form.session;
    let mut member = Map::new();
    for field in ["id", "name", "email", "phone", "role"] {
        let v = form.get(field).trim();
        if !v.is_empty() {
            member.insert(field.into(), v.into());
        }
    }
    if !member.contains_key("name") {
        // The API names the field; an absent name is a JSON shape error there.
        member.insert("name".into(), "".into());
    }
    let editing = member.contains_key("id");
    let answer = s.api.put("/api/v1/members", json!([member.clone()])).await;
    let name = answer.as_ref().ok().map_or(String::new(), |v| text(&v["members"][0], "name").to_owned());
    match answer {
        Ok(_) => flash::done(s, "/console/members", if editing { format!("Saved {name}.") } else { format!("Added {name}.") }),
        Err(r) => page(s, member.get("id").and_then(Value::as_str), vec![Notice::Failed(r)]).await,
    }
}

pub async fn import(State(_state): State<AppState>, form: Form) -> Response {
    let s = &form.session;
    let members = match parse_import(form.get("members")) {
        Ok(m) => m,
        Err(message) => return page(s, None, vec![Notice::Invalid(message)]).await,
    };
    match s.api.put("/api/v1/members", Value::Array(members)).await {
        Ok(v) => flash::done(s, "/console/members", format!("Imported {} members.", v["members"].as_array().map_or(0, Vec::len))),
        Err(r) => page(s, None, vec![Notice::Failed(r)]).await,
    }
}

pub async fn delete(State(_state): State<AppState>, Path(id): Path<String>, form: Form) -> Response {
    let s = &form.session;
    match s.api.delete(&format!("/api/v1/members/{}", enc(&id))).await {
        Ok(_) => flash::done(s, "/console/members", format!("Member {id} was deleted.")),
        Err(r) => page(s, None, vec![Notice::Failed(r)]).await,
    }
}

/// The CSV columns: the API's member fields.
const COLUMNS: [&str; 5] = ["id", "name", "email", "phone", "role"];

/// Pasted members as the API's JSON array: JSON as is (the API validates it), or CSV with
/// a header line. Only the shape is checked here; the API says what is wrong with a member.
pub fn parse_import(raw: &str) -> Result<Vec<Value>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("paste at least one member".into());
    }
    if raw.starts_with('[') {
        return match serde_json::from_str::<Value>(raw) {
            Ok(Value::Array(items)) => Ok(items),
            Ok(_) => Err("the JSON must be an array of members".into()),
            Err(e) => Err(format!("the JSON could not be read: {e}")),
        };
    }
    let mut lines = raw.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = split_csv(lines.next().unwrap_or("")).into_iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    if !header.iter().any(|h| h == "name") {
        return Err("the CSV's first line must name its columns, including name (e.g. name,email,phone)".into());
    }
    if let Some(unknown) = header.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(format!("unknown CSV column {unknown:?}; the columns are {}", COLUMNS.join(", ")));
    }
    let mut out = Vec::new();
    for (n, line) in lines.enumerate() {
        let cells = split_csv(line);
        if cells.len() > header.len() {
            return Err(format!("CSV line {}: {} values for {} columns", n + 2, cells.len(), header.len()));
        }
        let mut member = Map::new();
        for (column, cell) in header.iter().zip(cells) {
            let cell = cell.trim();
            if !cell.is_empty() {
                member.insert(column.clone(), cell.into());
            }
        }
        member.entry("name").or_insert_with(|| "".into());
        out.push(Value::Object(member));
    }
    if out.is_empty() {
        return Err("the CSV has a header line but no member".into());
    }
    Ok(out)
}

/// One CSV line: commas separate, double quotes quote (`""` is a quote).
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().expect("one cell").push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(String::new()),
            c => cells.last_mut().expect("one cell").push(c),
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_imports_become_the_apis_array() {
        let csv = "name,email,phone,role\nAda,ada@example.com,,admin\n\"Lovelace, Ada\",,+86 138 0000 0000\n";
        let got = parse_import(csv).unwrap();
        assert_eq!(
            got,
            vec![json!({"name": "Ada", "email": "ada@example.com", "role": "admin"}), json!({"name": "Lovelace, Ada", "phone": "+86 138 0000 0000"})]
        );
        assert_eq!(parse_import(r#"[{"name":"Bo"}]"#).unwrap(), vec![json!({"name": "Bo"})]);
        assert!(parse_import("email\nx@example.com").unwrap_err().contains("name"));
        assert!(parse_import("name,team\nAda,ops").unwrap_err().contains("team"));
        assert!(parse_import("{}").is_err());
    }
}
