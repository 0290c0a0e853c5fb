//! `docs/openapi.json` and the router agree: every documented operation is served, and
//! every route the router serves is documented.

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use serde_json::Value;
use std::collections::BTreeSet;

/// Every route of `api::router`, by hand: keep in step with the `routes()` of each module.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/integrations"),
    ("POST", "/api/v1/integrations"),
    ("POST", "/api/v1/integrations/slack/install"),
    ("GET", "/api/v1/integrations/slack/manifest"),
    ("GET", "/api/v1/integrations/{id}"),
    ("PUT", "/api/v1/integrations/{id}/credentials"),
    ("DELETE", "/api/v1/integrations/{id}"),
    ("POST", "/api/v1/integrations/{id}/war-room"),
    ("DELETE", "/api/v1/integrations/{id}/war-room"),
    ("GET", "/api/v1/integrations/{id}/chats"),
    ("GET", "/api/v1/integrations/{id}/links"),
    ("POST", "/api/v1/integrations/{id}/links/auto"),
    ("GET", "/api/v1/integrations/{id}/links/runs/{run_id}"),
    ("PUT", "/api/v1/integrations/{id}/links/{member_id}"),
    ("DELETE", "/api/v1/integrations/{id}/links/{member_id}"),
    ("GET", "/api/v1/members"),
    ("PUT", "/api/v1/members"),
    ("DELETE", "/api/v1/members/{id}"),
    ("GET", "/api/v1/incidents"),
    ("GET", "/api/v1/incidents/{id}"),
    ("GET", "/api/v1/incidents/{id}/postmortem"),
    ("POST", "/api/v1/incidents/{id}/postmortem"),
    ("GET", "/api/v1/incidents/{id}/timeline"),
    ("GET", "/api/v1/incidents/{id}/war-room"),
    ("POST", "/api/v1/incidents/{id}/war-room"),
    ("DELETE", "/api/v1/incidents/{id}/war-room"),
    ("GET", "/api/v1/runbooks"),
    ("POST", "/api/v1/runbooks"),
    ("GET", "/api/v1/runbooks/{id}"),
    ("PUT", "/api/v1/runbooks/{id}"),
    ("DELETE", "/api/v1/runbooks/{id}"),
    ("GET", "/api/v1/settings"),
    ("PUT", "/api/v1/settings"),
    ("GET", "/api/v1/keys"),
    ("POST", "/api/v1/keys"),
    ("DELETE", "/api/v1/keys/{id}"),
    ("GET", "/api/v1/dead-letters"),
    ("POST", "/api/v1/dead-letters/redrive"),
];

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// (METHOD, path, has a request body) of every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.push((method.to_uppercase(), path.clone(), op.get("requestBody").is_some()));
            }
        }
    }
    out
}

/// `{id}` → `id_dummy`: a well-formed id that names nothing.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&rest[..start]);
        out.push_str(&format!("{}_dummy", &rest[start + 1..end]));
        rest = &rest[end + 1..];
    }
    out + rest
}

#[test]
fn every_route_the_router_serves_is_in_the_document_and_nothing_else() {
    let documented: BTreeSet<(String, String)> = operations(&document()).into_iter().map(|(m, p, _)| (m, p)).collect();
    let served: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "routes missing from docs/openapi.json: {undocumented:?}");
    assert!(unserved.is_empty(), "documented but not in the route table: {unserved:?}");
}

#[tokio::test]
async fn every_documented_operation_is_served_by_the_router() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let ops = operations(&document());
    assert_eq!(ops.len(), ROUTES.len());
    for (method, path, has_body) in ops {
        let uri = concrete(&path);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = has_body.then_some("{}");
        let r = app.raw(method.clone(), &uri, Some(&t.key), body, Some("application/json")).await;
        let code = r.code();
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {}", r.text);
        assert!(!matches!(code, "no_such_route" | "method_not_allowed"), "{method} {path} is not routed: {}", r.text);
        if r.status == StatusCode::NOT_FOUND {
            assert_eq!(code, "not_found", "{method} {path}: a 404 must be a missing object: {}", r.text);
        }
        if !r.status.is_success() {
            assert!(!code.is_empty(), "{method} {path}: error without a JSON code: {} {}", r.status, r.text);
        }
    }
}

#[tokio::test]
async fn a_route_that_is_not_documented_is_not_served() {
    let app = App::new();
    let t = app.tenant("acme").await;
    for (method, path) in
        [(Method::GET, "/api/v1"), (Method::GET, "/api/v1/integrations/x/war-room"), (Method::POST, "/api/v1/members"), (Method::PATCH, "/api/v1/keys/wr_abcd")]
    {
        let r = app.call(method.clone(), path, Some(&t.key), None).await;
        assert!(matches!(r.code(), "no_such_route" | "method_not_allowed"), "{method} {path}: {} {}", r.status, r.text);
    }
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_0_3_with_bearer_auth_errors_and_resolvable_refs() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.0.3");
    assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
    assert!(doc["security"].as_array().unwrap().iter().any(|s| s.get("bearerAuth").is_some()));
    assert!(doc["components"]["schemas"]["Error"]["properties"]["error"]["required"] == serde_json::json!(["code", "message"]));

    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "unresolved $ref {r}");
    }

    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let declared: BTreeSet<&str> =
            item["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap()).collect();
        let in_template: BTreeSet<&str> = path.split('/').filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        assert_eq!(declared, in_template, "{path}: path parameters");
        for (method, op) in item.as_object().unwrap().iter().filter(|(m, _)| METHODS.contains(&m.as_str())) {
            assert!(ids.insert(op["operationId"].as_str().unwrap().to_owned()), "{method} {path}: duplicate operationId");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|c| c.starts_with('2')), "{method} {path}: no success response");
            assert!(responses.contains_key("401") && responses.contains_key("403"), "{method} {path}: auth errors undocumented");
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("400"), "{method} {path}: takes a body but documents no 400");
            }
        }
    }
}

/// The patterns the document gives the fields are the ones the server's rules are written
/// to (`api::validate`): a client generated from the document accepts what the server does.
#[test]
fn the_document_states_the_servers_field_patterns() {
    use api::validate;
    let doc: Value = serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap();
    let at = |pointer: &str| doc.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("no pattern at {pointer}")).to_owned();
    let member = "/components/schemas/MemberInput/properties";
    assert_eq!(at(&format!("{member}/id/pattern")), validate::ID_PATTERN);
    assert_eq!(at(&format!("{member}/name/pattern")), validate::label_pattern());
    assert_eq!(at(&format!("{member}/email/pattern")), validate::email_pattern(true));
    assert_eq!(at(&format!("{member}/phone/pattern")), validate::phone_pattern());
    let sources = "/components/schemas/SettingsUpdate/properties/sources/properties";
    for url in ["generic/properties/callback_url", "alertmanager/properties/api_url", "pagerduty/properties/api_url"] {
        assert_eq!(at(&format!("{sources}/{url}/pattern")), validate::url_pattern(), "{url}");
    }
    assert_eq!(at(&format!("{sources}/pagerduty/properties/from_email/pattern")), validate::email_pattern(false));
    assert_eq!(at(&format!("{sources}/alertmanager/properties/created_by/pattern")), validate::label_pattern());
    assert_eq!(at("/components/schemas/AutoLinkRequest/properties/member_ids/items/pattern"), validate::ID_PATTERN);
    let if_match = doc["paths"]["/api/v1/settings"]["put"]["parameters"][0]["schema"]["pattern"].as_str().unwrap();
    assert_eq!(if_match, validate::IF_MATCH_PATTERN);
}

#[test]
fn the_key_label_pattern_is_the_servers() {
    let doc: Value = serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap();
    assert_eq!(doc.pointer("/components/schemas/NewKey/properties/label/pattern").and_then(Value::as_str), Some(api::validate::label_pattern().as_str()));
}

#[test]
fn the_credential_patterns_are_the_servers() {
    let doc: Value = serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap();
    let at = |p: &str| doc.pointer(p).and_then(Value::as_str).unwrap_or_else(|| panic!("no pattern at {p}")).to_owned();
    for schema in ["FeishuConnect", "FeishuCredentialsUpdate"] {
        for field in ["app_id", "app_secret", "verification_token"] {
            assert_eq!(at(&format!("/components/schemas/{schema}/properties/{field}/pattern")), api::validate::token_pattern(true), "{schema}.{field}");
        }
        assert_eq!(at(&format!("/components/schemas/{schema}/properties/encrypt_key/pattern")), api::validate::token_pattern(false), "{schema}");
    }
    assert_eq!(at("/components/schemas/SlackConnect/properties/signing_secret/pattern"), api::validate::token_pattern(true));
}

/// The seam's contract: each registered platform's credential fields are documented, as
/// `{Platform}Connect` and `{Platform}CredentialsUpdate`, with its required fields required
/// and nothing else accepted; a platform added to the registry without its schemas fails here.
#[test]
fn every_registered_platform_documents_exactly_its_credential_fields() {
    let doc: Value = serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap();
    for module in warroom_platforms::registry::modules() {
        let platform = module.platform().as_str();
        let title = format!("{}{}", platform[..1].to_uppercase(), &platform[1..]);
        for (schema, with_platform) in [(format!("{title}Connect"), true), (format!("{title}CredentialsUpdate"), false)] {
            let s = doc.pointer(&format!("/components/schemas/{schema}")).unwrap_or_else(|| panic!("{platform}: no {schema} schema"));
            let mut documented: Vec<&str> =
                s["properties"].as_object().unwrap().keys().map(String::as_str).filter(|k| !["platform", "name"].contains(k)).collect();
            let mut declared: Vec<&str> = module.fields().iter().map(|f| f.name).collect();
            documented.sort();
            declared.sort();
            assert_eq!(documented, declared, "{schema}");
            let required: Vec<&str> = s["required"].as_array().unwrap().iter().filter_map(Value::as_str).filter(|k| *k != "platform").collect();
            let mut must: Vec<&str> = module.fields().iter().filter(|f| f.required).map(|f| f.name).collect();
            must.sort();
            let mut required = required;
            required.sort();
            assert_eq!(required, must, "{schema}: required fields");
            assert_eq!(s["additionalProperties"], Value::Bool(false), "{schema}");
            assert_eq!(s["required"].as_array().unwrap().iter().any(|k| k == "platform"), with_platform, "{schema}");
            let listed = |union: &str| {
                doc["components"]["schemas"][union]["oneOf"].as_array().unwrap().iter().any(|r| r["$ref"] == format!("#/components/schemas/{schema}"))
            };
            assert!(listed(if with_platform { "ConnectRequest" } else { "CredentialsUpdate" }), "{schema} is in its oneOf");
        }
    }
}

#[test]
fn the_runbook_patterns_are_the_servers() {
    let doc: Value = serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap();
    for schema in ["RunbookInput", "RunbookReplace"] {
        let at = |field: &str| doc.pointer(&format!("/components/schemas/{schema}/properties/{field}")).unwrap_or_else(|| panic!("{schema}.{field}")).clone();
        assert_eq!(at("title")["pattern"], api::validate::label_pattern().as_str(), "{schema}");
        assert_eq!(at("title")["maxLength"], warroom_core::runbook::MAX_TITLE_CHARS);
        assert_eq!(at("body")["pattern"], api::runbooks::text_pattern().as_str());
        assert_eq!(at("body")["maxLength"], warroom_core::runbook::MAX_BODY_CHARS);
        assert_eq!(at("summary")["pattern"], api::runbooks::text_pattern().as_str());
        assert_eq!(at("summary")["maxLength"], warroom_core::runbook::MAX_SUMMARY_CHARS);
        assert_eq!(at("selectors")["items"]["pattern"], warroom_core::runbook::SELECTOR_PATTERN);
        assert_eq!(at("selectors")["maxItems"], warroom_core::runbook::MAX_SELECTORS);
    }
}
