//! A browser for the console tests: keeps the session cookie, posts forms (with the page's
//! CSRF token unless a test says otherwise), reads pages as text.
#![allow(dead_code)]

use crate::common::App;
use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use tower::ServiceExt;

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn set_cookie(&self) -> Option<String> {
        self.headers.get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_owned())
    }

    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = self.html.find(marker).unwrap_or_else(|| panic!("no form with a CSRF token on the page: {}", self.html)) + marker.len();
        self.html[start..].split('"').next().unwrap().to_owned()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

pub struct Browser<'a> {
    pub app: &'a App,
    /// `name=value` of the session cookie, as a browser would send it back.
    pub cookie: Option<String>,
}

/// `application/x-www-form-urlencoded`.
pub fn encode(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a App) -> Self {
        Self { app, cookie: None }
    }

    /// Signs in with `key`; panics unless the console accepted it.
    pub async fn signed_in(app: &'a App, key: &str) -> Self {
        let mut b = Self::new(app);
        let page = b.sign_in(key).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "sign-in refused: {}", page.html);
        b
    }

    pub async fn sign_in(&mut self, key: &str) -> Page {
        let page = self.send(Method::POST, "/console/sign-in", Some(encode(&[("key", key)]))).await;
        if let Some(set) = page.set_cookie() {
            let pair = set.split(';').next().unwrap().to_owned();
            self.cookie = if pair.ends_with('=') { None } else { Some(pair) };
        }
        page
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    /// Posts a form with the CSRF token of the page at `from`.
    pub async fn submit(&self, from: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.get(from).await.csrf();
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post(&self, action: &str, fields: &[(&str, &str)]) -> Page {
        self.send(Method::POST, action, Some(encode(fields))).await
    }

    pub async fn send(&self, method: Method, path: &str, form: Option<String>) -> Page {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(cookie) = &self.cookie {
            req = req.header(header::COOKIE, cookie.as_str());
        }
        if form.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let req = req.body(form.map_or_else(Body::empty, Body::from)).unwrap();
        let resp = self.app.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = to_bytes(resp.into_body(), 1 << 22).await.unwrap();
        Page { status, headers, html: String::from_utf8_lossy(&bytes).into_owned() }
    }
}
