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
    /// Where a form's `303 See Other` sent the browser, when [`Browser::submit`] or
    /// [`Browser::post`] followed it (post-redirect-get): this page is then that GET.
    pub redirected_to: Option<String>,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn set_cookie(&self) -> Option<String> {
        self.headers.get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_owned())
    }

    /// Every `Set-Cookie` of the answer.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
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
    /// The console's other cookies (`name`, `value`): the flash of post-redirect-get and
    /// the remembered tenant, kept and sent back as a browser does.
    pub jar: std::sync::Mutex<Vec<(String, String)>>,
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
        Self { app, cookie: None, jar: Default::default() }
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
        self.take_session_cookie(&page);
        page
    }

    /// Keeps the session cookie a page sets (a sign-in).
    pub fn take_session_cookie(&mut self, page: &Page) {
        if let Some(set) = page.set_cookies().into_iter().find(|c| c.starts_with("warroom_console=")) {
            let pair = set.split(';').next().unwrap().to_owned();
            self.cookie = if pair.ends_with('=') { None } else { Some(pair) };
        }
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

    /// Posts exactly these fields (no token added). A success's `303 See Other` that carries
    /// what it did (a flash cookie) is followed, as a browser does: the page is then the GET
    /// of the page it changed, with `redirected_to` set.
    pub async fn post(&self, action: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.send(Method::POST, action, Some(encode(fields))).await;
        let flashed = page.set_cookies().iter().any(|c| c.starts_with("warroom_flash=") && !c.starts_with("warroom_flash=;"));
        if page.status != StatusCode::SEE_OTHER || !flashed {
            return page;
        }
        let to = page.location().to_owned();
        let mut next = self.get(&to).await;
        next.redirected_to = Some(to);
        next
    }

    pub async fn send(&self, method: Method, path: &str, form: Option<String>) -> Page {
        let mut req = Request::builder().method(method).uri(path);
        let mut cookies: Vec<String> = self.cookie.iter().cloned().collect();
        cookies.extend(self.jar.lock().unwrap().iter().map(|(n, v)| format!("{n}={v}")));
        if !cookies.is_empty() {
            req = req.header(header::COOKIE, cookies.join("; "));
        }
        if form.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let req = req.body(form.map_or_else(Body::empty, Body::from)).unwrap();
        let resp = self.app.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = to_bytes(resp.into_body(), 1 << 22).await.unwrap();
        let page = Page { status, headers, html: String::from_utf8_lossy(&bytes).into_owned(), redirected_to: None };
        self.keep_cookies(&page);
        page
    }

    /// Keeps or drops (`Max-Age=0`) every cookie but the session's.
    fn keep_cookies(&self, page: &Page) {
        let mut jar = self.jar.lock().unwrap();
        for set in page.set_cookies() {
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if name == "warroom_console" {
                continue;
            }
            jar.retain(|(n, _)| n != name);
            if !value.is_empty() && !set.contains("Max-Age=0") {
                jar.push((name.to_owned(), value.to_owned()));
            }
        }
    }
}
