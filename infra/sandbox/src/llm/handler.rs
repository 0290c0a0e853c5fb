//! Answering one chat request. The checks run in OpenAI's order as far as the sources show:
//! (Azure: `api-version`) → key (401) → body (400) → model / deployment (404) → context window
//! (400) → rate limit (429) → an armed [`Fault`] → the answer. Every request is recorded, under
//! the same lock that decides it.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};

use super::record::{redacted_headers, RequestRecord};
use super::respond::{self, Plan};
use super::sandbox::State as St;
use super::{answer, auth, azure, wire, Fault, LlmSandbox};

/// A refusal: status, body, extra headers, and the code recorded for it.
pub(crate) struct Refusal {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
    pub code: String,
}

impl Refusal {
    fn openai(status: u16, message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Self {
        let recorded = code.unwrap_or(kind).to_string();
        Refusal { status, body: wire::error_body(message, kind, param, code), headers: Vec::new(), code: recorded }
    }

    fn azure(status: u16, body: Value) -> Self {
        let code = body["error"]["code"].as_str().unwrap_or_default().to_string();
        Refusal { status, body, headers: Vec::new(), code }
    }
}

/// Everything not under `/control`: chat completions (OpenAI or Azure shape), the model list,
/// and OpenAI's "Invalid URL" 404 for the rest.
pub(crate) async fn dispatch(State(sb): State<LlmSandbox>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path();
    if method == Method::POST {
        if let Some(deployment) = azure::deployment_of(path) {
            return chat(&sb, Some(deployment), &method, &uri, &headers, &body);
        }
        if path.ends_with("/chat/completions") {
            return chat(&sb, None, &method, &uri, &headers, &body);
        }
    }
    if method == Method::GET && path.ends_with("/models") {
        return models(&sb, &headers);
    }
    let r = Refusal::openai(404, &format!("Invalid URL ({method} {path})"), "invalid_request_error", None, None);
    respond::refusal(&r)
}

fn models(sb: &LlmSandbox, headers: &HeaderMap) -> Response {
    let st = sb.lock();
    let p = auth::presented(headers, false);
    if !auth::check(&p, &st.config.api_keys).passed {
        return respond::refusal(&Refusal::openai(401, auth::openai_message(&p), "invalid_request_error", None, Some("invalid_api_key")));
    }
    let data: Vec<Value> = st.config.models.iter().map(|m| json!({"id": m, "object": "model", "created": 0, "owned_by": "llm-sandbox"})).collect();
    respond::json(200, &json!({"object": "list", "data": data}), &[])
}

fn chat(sb: &LlmSandbox, deployment: Option<String>, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response {
    let received_at = sb.now();
    let query = uri.query().unwrap_or_default().to_string();
    let api_version = serde_urlencoded_pairs(&query).into_iter().find(|(k, _)| k == "api-version").map(|(_, v)| v);
    let presented = auth::presented(headers, deployment.is_some());
    let mut st = sb.lock();
    st.seq += 1;
    let mut rec = RequestRecord {
        seq: st.seq,
        api: if deployment.is_some() { "azure" } else { "openai" }.to_string(),
        method: method.to_string(),
        path: uri.path().to_string(),
        query,
        headers: redacted_headers(headers),
        auth: auth::check(&presented, &st.config.api_keys),
        body: String::from_utf8_lossy(body).into_owned(),
        model: None,
        deployment: deployment.clone(),
        api_version,
        messages: Vec::new(),
        max_tokens: None,
        temperature: None,
        stream: false,
        include_usage: false,
        prompt_tokens: 0,
        status: 200,
        error: None,
        answer: String::new(),
        finish_reason: None,
        received_at,
        responded_at: received_at,
        finished_at: None,
        delivery: None,
    };
    let decision = decide(&mut st, &mut rec, deployment.as_deref(), &presented, body, sb.now());
    rec.responded_at = sb.now();
    let seq = rec.seq;
    match decision {
        Err(r) => {
            rec.status = r.status;
            rec.error = Some(r.code.clone());
            rec.finished_at = Some(rec.responded_at);
            rec.delivery = Some("complete".into());
            st.records.push(rec);
            respond::refusal(&r)
        }
        Ok(plan) => {
            rec.answer = plan.content.clone();
            rec.finish_reason = Some(plan.finish_reason.to_string());
            if plan.fault.is_some() {
                rec.error = Some(if matches!(plan.fault, Some(Fault::BreakStream { .. })) { "fault_break" } else { "fault_stall" }.into());
            }
            st.records.push(rec);
            drop(st);
            respond::answer(sb, seq, plan)
        }
    }
}

fn serde_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(q).unwrap_or_default()
}

/// Runs the checks and, when they pass, plans the answer. Fills `rec` as it learns things.
fn decide(
    st: &mut St,
    rec: &mut RequestRecord,
    deployment: Option<&str>,
    presented: &auth::Presented<'_>,
    body: &[u8],
    now: std::time::Duration,
) -> Result<Plan, Refusal> {
    let azure = deployment.is_some();
    if azure && rec.api_version.is_none() {
        return Err(Refusal::azure(404, azure::missing_api_version()));
    }
    if !rec.auth.passed {
        return Err(if azure {
            Refusal::azure(401, azure::unauthorized())
        } else {
            Refusal::openai(401, auth::openai_message(presented), "invalid_request_error", None, Some("invalid_api_key"))
        });
    }
    let req = wire::parse(body, !azure).map_err(|e| Refusal::openai(400, &e.to_string(), "invalid_request_error", e.param().as_deref(), None))?;
    rec.messages = req.messages.clone();
    rec.max_tokens = req.max_tokens;
    rec.temperature = req.temperature;
    rec.stream = req.stream;
    rec.include_usage = req.include_usage;
    rec.model = req.model.clone();
    let model = match deployment {
        Some(d) => azure::model_of(&st.config, d).ok_or_else(|| Refusal::azure(404, azure::deployment_not_found()))?,
        None => {
            let m = req.model.clone().unwrap_or_default();
            if !st.config.models.contains(&m) {
                let msg = format!("The model `{m}` does not exist or you do not have access to it.");
                return Err(Refusal::openai(404, &msg, "invalid_request_error", None, Some("model_not_found")));
            }
            m
        }
    };
    rec.model = Some(model.clone());
    let prompt = answer::prompt_tokens(&req.messages);
    rec.prompt_tokens = prompt;
    st.max_prompt_tokens = st.max_prompt_tokens.max(prompt);
    if let Some(window) = st.config.context_window {
        let wanted = prompt.saturating_add(req.max_tokens.unwrap_or(0));
        if wanted > window {
            let msg = format!(
                "This model's maximum context length is {window} tokens. However, you requested {wanted} tokens ({prompt} in the messages, {} in the completion). Please reduce the length of the messages or completion.",
                req.max_tokens.unwrap_or(0)
            );
            return Err(Refusal::openai(400, &msg, "invalid_request_error", Some("messages"), Some("context_length_exceeded")));
        }
    }
    let mut headers = Vec::new();
    if let Some(rl) = st.config.rate_limit {
        let key = rec.auth.key_fingerprint.clone().unwrap_or_default();
        match st.limiter.admit(&key, rl, now) {
            Ok(w) => headers = w.headers(),
            Err(w) => {
                let secs = w.retry_after_secs();
                let mut r = if azure {
                    Refusal::azure(429, azure::rate_limited(secs))
                } else {
                    let msg = format!(
                        "Rate limit reached for {model} on requests per {}s: Limit {}, Used {}, Requested 1. Please try again in {}.",
                        rl.window.as_secs(),
                        w.limit,
                        w.limit,
                        super::ratelimit::openai_duration(w.reset)
                    );
                    Refusal::openai(429, &msg, "requests", None, Some("rate_limit_exceeded"))
                };
                r.headers = w.headers();
                r.headers.push(("retry-after".into(), secs.to_string()));
                if azure {
                    r.headers.push(("retry-after-ms".into(), w.reset.as_millis().to_string()));
                }
                return Err(r);
            }
        }
    }
    let fault = st.faults.pop_front();
    if let Some(Fault::Status { status, body }) = fault {
        return Err(respond::fault_refusal(status, body.as_deref()));
    }
    let full = st.next_answers.pop_front().unwrap_or_else(|| answer::compose(&req.messages));
    let (content, cut) = answer::truncate_to_tokens(&full, req.max_tokens);
    Ok(Plan {
        completion: respond::completion(&model),
        completion_tokens: answer::count_tokens(&content),
        content,
        finish_reason: if cut { "length" } else { "stop" },
        prompt_tokens: prompt,
        stream: req.stream,
        include_usage: req.include_usage,
        chunk_chars: st.config.chunk_chars.max(1),
        delay: st.config.chunk_delay,
        fault,
        headers,
    })
}

/// Sets `headers` on a response (invalid names or values are skipped: they are ours).
pub(crate) fn with_headers(mut resp: Response, headers: &[(String, String)]) -> Response {
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v.as_str())) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

/// A response with a status and a body (status codes out of range become 500).
pub(crate) fn raw(status: u16, content_type: &str, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::try_from(content_type) {
        resp.headers_mut().insert(axum::http::header::CONTENT_TYPE, v);
    }
    resp
}
