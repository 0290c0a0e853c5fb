//! Tenant isolation, exhaustively from `docs/openapi.json`: every documented operation that
//! names an object by id (in its path, its query or its JSON body) is called with tenant
//! B's admin key and tenant A's real ids. It must answer exactly like an id that does not
//! exist (same status, same error code, same message bar the id; `404 not_found` for ids
//! in the path or query), and nothing of A's may change. The operations come from the
//! document, so a new route is covered as soon as it is documented; an id parameter this
//! test has no fixture for fails with "add a fixture for {method} {path}".

mod common;

use axum::http::{Method, StatusCode};
use common::{App, TenantCtx, PUBLIC_URL};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use warroom_core::links::LinkQuery;
use warroom_core::*;
use warroom_http::auth;
use warroom_platforms::{PlatformsConfig, SlackApp};
use warroom_secrets::Secret;
use warroom_testkit::fixtures;

/// The kinds of tenant objects an id can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Integration,
    Member,
    Incident,
    Key,
    LinkRun,
    Runbook,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Path,
    Query,
    Body,
}

#[derive(Clone, Debug)]
struct IdParam {
    name: String,
    loc: Loc,
    kind: Kind,
    /// A body field holding a list of ids (`member_ids`).
    list: bool,
}

#[derive(Clone, Debug)]
struct Op {
    method: Method,
    template: String,
    ids: Vec<IdParam>,
    has_body: bool,
}

/// Ids of one tenant's objects, by kind.
type Ids = BTreeMap<Kind, String>;

/// Fields that hold an id of something that is not a tenant object (an IM platform's own
/// user or app id): not isolation-relevant.
const NOT_OBJECT_IDS: &[&str] = &["im_user_id", "app_id"];

fn is_id_name(name: &str) -> bool {
    !NOT_OBJECT_IDS.contains(&name) && (name == "id" || name.ends_with("_id") || name.ends_with("_ids"))
}

/// What an id parameter names, from its name and (for a bare `{id}`) the collection
/// before it in the path.
fn kind_of(template: &str, name: &str) -> Option<Kind> {
    match name {
        "integration_id" => Some(Kind::Integration),
        "member_id" | "member_ids" => Some(Kind::Member),
        "incident_id" => Some(Kind::Incident),
        "run_id" => Some(Kind::LinkRun),
        "key_id" => Some(Kind::Key),
        "id" => {
            let segments: Vec<&str> = template.split('/').collect();
            let at = segments.iter().position(|s| *s == "{id}")?;
            match *segments.get(at.checked_sub(1)?)? {
                "integrations" => Some(Kind::Integration),
                "members" => Some(Kind::Member),
                "incidents" => Some(Kind::Incident),
                "keys" => Some(Kind::Key),
                "runbooks" => Some(Kind::Runbook),
                _ => None,
            }
        }
        _ => None,
    }
}

fn openapi() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("docs/openapi.json")).expect("valid JSON")
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            resolve(doc, doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {r}")))
        }
        None => v,
    }
}

/// Every documented operation with at least one object id, and its id parameters.
fn id_operations(doc: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut unknown = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        let shared: Vec<Value> = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else { continue };
            if !matches!(method, Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
                continue;
            }
            let mut params: Vec<Value> = shared.clone();
            params.extend(op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default());
            let mut ids = Vec::new();
            let mut add = |name: &str, loc: Loc, list: bool, ids: &mut Vec<IdParam>| match kind_of(template, name) {
                Some(kind) => ids.push(IdParam { name: name.to_string(), loc, kind, list }),
                None => unknown.push(format!("add a fixture for {method} {template} (id parameter `{name}` in the {loc:?})")),
            };
            for p in &params {
                let p = resolve(doc, p);
                let name = p["name"].as_str().expect("parameter name");
                match p["in"].as_str() {
                    // Every path parameter of this API names an object.
                    Some("path") => add(name, Loc::Path, false, &mut ids),
                    Some("query") if is_id_name(name) => add(name, Loc::Query, false, &mut ids),
                    _ => {}
                }
            }
            let body = op.get("requestBody").map(|b| resolve(doc, b));
            if let Some(schema) = body.and_then(|b| b.pointer("/content/application~1json/schema")) {
                let schema = resolve(doc, schema);
                for (name, prop) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
                    if is_id_name(name) {
                        let list = resolve(doc, prop)["type"] == "array";
                        add(name, Loc::Body, list, &mut ids);
                    }
                }
            }
            if !ids.is_empty() {
                ops.push(Op { method, template: template.clone(), ids, has_body: body.is_some() });
            }
        }
    }
    assert!(unknown.is_empty(), "id-bearing operations without a fixture:\n{}", unknown.join("\n"));
    ops
}

/// A body that passes validation for the operation, so the id lookup is what answers.
fn base_body(op: &Op) -> Option<Value> {
    if !op.has_body {
        return None;
    }
    Some(match (op.method.as_str(), op.template.as_str()) {
        ("PUT", "/api/v1/integrations/{id}/credentials") => {
            json!({"platform": "slack", "bot_token": "xoxb-isolation-0001", "signing_secret": "isolation-signing-secret"})
        }
        ("PUT", t) if t.ends_with("/links/{member_id}") => json!({"im_user_id": "U_ISOLATION"}),
        ("PUT", "/api/v1/runbooks/{id}") => json!({"title": "Isolation", "body": "overwritten by another tenant", "selectors": ["service=x"]}),
        _ => json!({}),
    })
}

/// The request for `op` with the id of each parameter taken from `pick`.
fn request(op: &Op, pick: &dyn Fn(&IdParam) -> String) -> (String, Option<Value>) {
    let mut path = op.template.clone();
    let mut query = Vec::new();
    let mut body = base_body(op);
    for p in &op.ids {
        let id = pick(p);
        match p.loc {
            Loc::Path => path = path.replace(&format!("{{{}}}", p.name), &id),
            Loc::Query => query.push(format!("{}={id}", p.name)),
            Loc::Body => {
                let b = body.get_or_insert_with(|| json!({}));
                b[&p.name] = if p.list { json!([id]) } else { json!(id) };
            }
        }
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    (path, body)
}

struct World {
    app: App,
    a: TenantCtx,
    b: TenantCtx,
    a_ids: Ids,
    b_ids: Ids,
}

async fn world() -> World {
    // Real adapters (unreachable bases: no call gets that far) so routes that need the
    // platform layer or the deployment's Slack app reach their id lookups.
    let (app, _) = App::with_platforms(PlatformsConfig {
        slack_app: Some(SlackApp { client_id: "1234.5678".into(), client_secret: Secret::new("client-secret"), signing_secret: Secret::new("signing-secret") }),
        slack_api_base: "http://127.0.0.1:9/api".into(),
        slack_oauth_base: "http://127.0.0.1:9".into(),
        ..PlatformsConfig::production(PUBLIC_URL)
    });
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let a_ids = objects(&app, &a, "a").await;
    let b_ids = objects(&app, &b, "b").await;
    World { app, a, b, a_ids, b_ids }
}

/// One of each kind of object in the tenant: a war-room Slack integration, a member linked
/// on it, an incident with an open war room (and a timeline entry), a second admin API
/// key and a finished link run.
async fn objects(app: &App, t: &TenantCtx, tag: &str) -> Ids {
    let (integration, _) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    app.store.enable_war_room(&t.id, &integration.id).await.unwrap();
    let member = app.member(&t.id, &format!("m_{tag}_ada"), "Ada").await;
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/integrations/{}/links/{}", integration.id, member.id),
            Some(&t.key),
            Some(json!({"im_user_id": format!("U_{tag}")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "fixture link: {}", r.text);

    let mut incident = app.incident(&t.id, &format!("ext-{tag}")).await;
    incident.war_room.wanted = true;
    incident.war_room.state = WarRoomState::Open;
    incident.war_room.integration_id = Some(integration.id.clone());
    incident.war_room.chat_id = Some(ChatId::from(format!("C_{tag}").as_str()));
    let incident = app.store.update_incident(&incident).await.unwrap();
    let r = app.call(Method::GET, &format!("/api/v1/incidents/{}/war-room", incident.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::OK, "fixture war room: {}", r.text);
    let postmortem = warroom_core::Postmortem {
        tenant_id: t.id.clone(),
        incident_id: incident.id.clone(),
        version: 1,
        created_at: fixtures::T0,
        requested_by: warroom_core::Actor::System,
        model: warroom_core::ModelInfo { provider: "openai-compatible".into(), model: "m".into() },
        prompt_version: "p".into(),
        usage: None,
        latency_ms: 1,
        material: Default::default(),
        review: warroom_core::postmortem::Review { summary: format!("review of {tag}"), ..Default::default() },
        corrections: vec![],
    };
    app.store.put_postmortem(&postmortem).await.unwrap();

    let (_, key) = auth::new_key(&t.id, "second admin", KeyScope::Admin, fixtures::T0);
    app.store.put_api_key(&key).await.unwrap();
    let key_id = key.key_hash[..16].to_string();

    let run = format!("run_{tag}_{}", warroom_core::ids::random_suffix());
    let report = json!({"error": "the platform refused (fixture)"}).to_string();
    app.store.put_ephemeral(&format!("linkrun:{}:{run}", integration.id), &report, Duration::from_secs(86_400), fixtures::T0).await.unwrap();

    let r = app
        .call(
            Method::POST,
            "/api/v1/runbooks",
            Some(&t.key),
            Some(json!({"title": format!("Runbook of {tag}"), "body": "Roll back.", "selectors": ["service=db"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "fixture runbook: {}", r.text);
    let runbook = r.body["id"].as_str().expect("runbook id").to_string();

    BTreeMap::from([
        (Kind::Runbook, runbook),
        (Kind::Integration, integration.id.to_string()),
        (Kind::Member, member.id.to_string()),
        (Kind::Incident, incident.id.to_string()),
        (Kind::Key, key_id),
        (Kind::LinkRun, run),
    ])
}

/// Ids nothing has.
fn missing(kind: Kind) -> String {
    let s = warroom_core::ids::random_suffix();
    match kind {
        Kind::Integration => format!("int_missing{s}"),
        Kind::Member => format!("m_missing{s}"),
        Kind::Incident => format!("inc_missing{s}"),
        // Key ids are 16 hex digits.
        Kind::Key => "f0e1d2c3b4a59687".to_string(),
        Kind::LinkRun => format!("run_missing{s}"),
        Kind::Runbook => format!("rb_missing{s}"),
    }
}

/// Everything of tenant A's the API could touch, as text.
async fn snapshot(app: &App, t: &TenantCtx, ids: &Ids) -> String {
    let s = &app.store;
    let integration = IntegrationId::from(ids[&Kind::Integration].as_str());
    let incident = IncidentId::from(ids[&Kind::Incident].as_str());
    let run = format!("linkrun:{}:{}", integration, ids[&Kind::LinkRun]);
    let mut keys = s.list_api_keys(&t.id).await.unwrap();
    keys.sort_by(|x, y| x.key_hash.cmp(&y.key_hash));
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        s.get_tenant(&t.id).await.unwrap(),
        s.list_integrations(&t.id).await.unwrap(),
        s.war_room_integration(&t.id).await.unwrap(),
        s.list_members(&t.id).await.unwrap(),
        s.list_links(&t.id, &integration, &LinkQuery::default()).await.unwrap(),
        s.get_incident(&t.id, &incident).await.unwrap(),
        s.list_timeline(&t.id, &incident).await.unwrap(),
        s.list_postmortems(&t.id, &incident).await.unwrap(),
        s.list_incidents(&t.id, None, 100).await.unwrap(),
        keys,
        s.get_ephemeral(&run, fixtures::T0).await.unwrap(),
        s.list_runbooks(&t.id).await.unwrap(),
    )
}

/// The message with every id used replaced by `X` (longest first, so no id is cut short).
fn normalise(message: &str, ids: &[String]) -> String {
    let mut ids: Vec<&String> = ids.iter().collect();
    ids.sort_by_key(|i| std::cmp::Reverse(i.len()));
    let mut out = message.to_string();
    for id in ids {
        out = out.replace(id.as_str(), "X");
    }
    out
}

#[tokio::test]
async fn every_id_bearing_operation_in_the_openapi_document_hides_other_tenants_objects() {
    let doc = openapi();
    let ops = id_operations(&doc);
    // The document lists id-bearing routes of every kind; if this drops, parsing broke.
    let kinds: std::collections::BTreeSet<Kind> = ops.iter().flat_map(|o| o.ids.iter().map(|p| p.kind)).collect();
    assert_eq!(kinds.len(), 6, "id kinds found in the document: {kinds:?}");
    assert!(
        ops.len() >= 20,
        "only {} id-bearing operations found: {:?}",
        ops.len(),
        ops.iter().map(|o| format!("{} {}", o.method, o.template)).collect::<Vec<_>>()
    );

    let w = world().await;
    let before = snapshot(&w.app, &w.a, &w.a_ids).await;
    let mut covered = Vec::new();
    let mut failures = Vec::new();

    for op in &ops {
        // Sanity: on a read, A's own key finds A's objects (the fixtures are real; a read
        // that goes on to the IM platform may fail there, but not with 404).
        if op.method == Method::GET {
            let (path, body) = request(op, &|p| w.a_ids[&p.kind].clone());
            let own = w.app.call(op.method.clone(), &path, Some(&w.a.key), body).await;
            assert!(
                own.status != StatusCode::NOT_FOUND && own.status.as_u16() < 500 || own.code() == "platform_error",
                "{} {path} with A's own key: {} {}",
                op.method,
                own.status,
                own.text
            );
        }

        // Variants: every id A's; and, with several ids, each one A's while the others are
        // B's own objects (A's member through B's integration, ...).
        let mut variants: Vec<Vec<bool>> = vec![vec![true; op.ids.len()]];
        if op.ids.len() > 1 {
            for i in 0..op.ids.len() {
                variants.push((0..op.ids.len()).map(|j| j == i).collect());
            }
        }
        for theirs in variants {
            let missing_ids: Vec<String> = op.ids.iter().map(|p| missing(p.kind)).collect();
            let idx = |p: &IdParam| op.ids.iter().position(|q| q.name == p.name && q.loc == p.loc).unwrap();
            let (a_path, a_body) = request(op, &|p| if theirs[idx(p)] { w.a_ids[&p.kind].clone() } else { w.b_ids[&p.kind].clone() });
            let (m_path, m_body) = request(op, &|p| if theirs[idx(p)] { missing_ids[idx(p)].clone() } else { w.b_ids[&p.kind].clone() });
            let foreign = w.app.call(op.method.clone(), &a_path, Some(&w.b.key), a_body.clone()).await;
            let none = w.app.call(op.method.clone(), &m_path, Some(&w.b.key), m_body).await;
            let label = format!("{} {a_path} body {}", op.method, a_body.map(|b| b.to_string()).unwrap_or_default());

            let in_path_or_query = op.ids.iter().zip(&theirs).any(|(p, t)| *t && p.loc != Loc::Body);
            if in_path_or_query && (foreign.status != StatusCode::NOT_FOUND || foreign.code() != "not_found") {
                failures.push(format!("{label}: expected 404 not_found with B's key, got {} {}", foreign.status, foreign.text));
                continue;
            }
            if foreign.status.is_success() {
                failures.push(format!("{label}: B's key succeeded on A's object: {} {}", foreign.status, foreign.text));
                continue;
            }
            let mut used: Vec<String> = w.a_ids.values().cloned().collect();
            used.extend(missing_ids.iter().cloned());
            if foreign.status != none.status || foreign.code() != none.code() || normalise(foreign.message(), &used) != normalise(none.message(), &used) {
                failures.push(format!(
                    "{label}: A's id answers differently from a missing one (existence leak):\n  A's:     {} {}\n  missing: {} {}",
                    foreign.status, foreign.text, none.status, none.text
                ));
                continue;
            }
            covered.push(format!("{label} -> {} {}", foreign.status, foreign.code()));
        }
    }

    let after = snapshot(&w.app, &w.a, &w.a_ids).await;
    assert!(failures.is_empty(), "tenant isolation failures:\n{}", failures.join("\n"));
    assert_eq!(before, after, "tenant A's objects changed after tenant B's calls");
    eprintln!("{} calls checked:\n{}", covered.len(), covered.join("\n"));
}

#[test]
fn an_unknown_id_parameter_asks_for_a_fixture() {
    let doc = json!({"paths": {"/api/v1/widgets/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": true}]}}}});
    let err = std::panic::catch_unwind(|| id_operations(&doc)).expect_err("an unknown id kind must fail");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("add a fixture for GET /api/v1/widgets/{id}"), "{msg}");
}
