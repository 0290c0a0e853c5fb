//! Sending callbacks to the bundle as WeCom does (§2, notes Q1/Q2), shared by the app
//! ([`super::app_events`]) and smart-bot ([`super::bot_events`]) callbacks:
//!
//! - URL verification: `GET <url>?msg_signature&timestamp&nonce&echostr`, answered with the
//!   plaintext only ([`WeComSandbox::verify_url`]);
//! - every POST carries `?msg_signature&timestamp&nonce`; the signature covers the `Encrypt`;
//! - [`Tamper`] makes the next callback wrong on purpose (bad signature, other key, wrong
//!   ReceiveId, stale timestamp), so tests see the bundle refuse it;
//! - [`WeComSandbox::redeliver`] sends a recorded callback again, byte for byte, as WeCom's
//!   retry does ("retries after 5 s, 3 tries in total", notes Q2).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::crypto::{random_aes_key, CryptoError, MsgCrypt};
use super::state::{digits, App};
use super::WeComSandbox;

/// notes Q2: WeCom drops the connection after 5 s (and retries); a later answer is lost.
pub const CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("no app with agent id {0} in the sandbox")]
    UnknownApp(i64),
    #[error("no stream {0} in the sandbox")]
    UnknownStream(String),
    #[error("the stream {0} is finished: WeCom stops polling")]
    StreamFinished(String),
    #[error("the stream {0} started over 6 minutes ago: WeCom stops polling")]
    StreamExpired(String),
    #[error("the {what} of app {agent_id} has no URL configured")]
    NoUrl { agent_id: i64, what: &'static str },
    #[error("the endpoint's crypto is misconfigured: {0}")]
    Crypto(#[from] CryptoError),
    #[error("the bundle could not be reached (or did not answer within 5 s): {0}")]
    Http(#[from] reqwest::Error),
}

/// Whose callback settings to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "agent_id")]
pub enum Endpoint {
    /// The app's "API接收" (XML, ReceiveId = CorpID).
    App(i64),
    /// The smart bot's URL callback (JSON, ReceiveId = "").
    Bot(i64),
}

impl Endpoint {
    pub fn agent_id(self) -> i64 {
        match self {
            Endpoint::App(a) | Endpoint::Bot(a) => a,
        }
    }
}

/// A deliberate fault in the next callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tamper {
    /// `msg_signature` with one character changed.
    BadSignature,
    /// Encrypted (and correctly signed) with another EncodingAESKey.
    WrongKey,
    /// The plaintext closes with another ReceiveId.
    WrongReceiveId,
    /// A timestamp one day old (correctly signed).
    StaleTimestamp,
}

/// One callback the sandbox sent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    pub agent_id: i64,
    /// `app`, `bot`, or `verify`.
    pub channel: &'static str,
    /// `template_card_event`, `text`, `stream`, `echostr`, …
    pub kind: String,
    /// `GET` (verification) or `POST`.
    pub method: String,
    /// The full target, query included.
    pub url: String,
    /// The exact body (empty for GET).
    pub body: String,
    /// What was encrypted.
    pub plaintext: String,
    pub tamper: Option<Tamper>,
}

/// The bundle's answer to a callback, opened.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Passive {
    pub status: u16,
    pub body: String,
    /// The decrypted passive reply, when there was a valid one.
    pub plaintext: Option<String>,
    /// Why a non-empty answer could not be accepted.
    pub problem: Option<String>,
}

/// The outcome of [`WeComSandbox::verify_url`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UrlCheck {
    pub status: u16,
    pub body: String,
    /// The echo plaintext the bundle had to answer.
    pub expected: String,
    /// HTTP 200 with exactly the plaintext (no quotes, BOM or newline, §2).
    pub ok: bool,
    pub delivery: Delivery,
}

/// The answer to a redelivered callback.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Redelivery {
    pub status: u16,
    pub body: String,
}

/// Real Unix seconds: freshness checks run on the bundle's clock, not the sandbox's.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// One endpoint's keys, as strings so a tampered variant can be built.
#[derive(Clone)]
pub(crate) struct Keys {
    pub token: String,
    pub aes_key: String,
    pub receive_id: String,
}

impl Keys {
    pub fn of(app: &App, endpoint: Endpoint) -> Keys {
        match endpoint {
            Endpoint::App(_) => Keys { token: app.callback_token.clone(), aes_key: app.callback_aes_key.clone(), receive_id: app.corp_id.clone() },
            Endpoint::Bot(_) => Keys { token: app.bot_token.clone(), aes_key: app.bot_aes_key.clone(), receive_id: String::new() },
        }
    }

    pub fn crypt(&self) -> Result<MsgCrypt, CryptoError> {
        MsgCrypt::new(&self.token, &self.aes_key, &self.receive_id)
    }
}

/// An encrypted, signed message: `(encrypt, msg_signature, timestamp, nonce)`.
pub(crate) struct Sealed {
    pub encrypt: String,
    pub signature: String,
    pub timestamp: String,
    pub nonce: String,
}

impl Sealed {
    pub fn query(&self) -> String {
        serde_urlencoded::to_string([("msg_signature", &self.signature), ("timestamp", &self.timestamp), ("nonce", &self.nonce)]).unwrap_or_default()
    }
}

pub(crate) fn seal(keys: &Keys, plaintext: &str, tamper: Option<Tamper>) -> Result<Sealed, CryptoError> {
    let mut keys = keys.clone();
    match tamper {
        Some(Tamper::WrongKey) => keys.aes_key = random_aes_key(),
        Some(Tamper::WrongReceiveId) => keys.receive_id = format!("{}x", keys.receive_id),
        _ => {}
    }
    let crypt = keys.crypt()?;
    let encrypt = crypt.encrypt(plaintext);
    let age = if tamper == Some(Tamper::StaleTimestamp) { 86_400 } else { 0 };
    let timestamp = (unix_now() - age).to_string();
    let nonce = digits(10);
    let mut signature = crypt.signature(&timestamp, &nonce, &encrypt);
    if tamper == Some(Tamper::BadSignature) {
        let flipped = if signature.starts_with('0') { "1" } else { "0" };
        signature.replace_range(0..1, flipped);
    }
    Ok(Sealed { encrypt, signature, timestamp, nonce })
}

pub(crate) fn with_query(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

impl WeComSandbox {
    /// Every callback sent so far, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    pub fn last_delivery(&self) -> Option<Delivery> {
        self.lock().deliveries.last().cloned()
    }

    pub(crate) fn app(&self, agent_id: i64) -> Result<App, CallbackError> {
        self.lock().apps.get(&agent_id).cloned().ok_or(CallbackError::UnknownApp(agent_id))
    }

    pub(crate) fn take_tamper(&self) -> Option<Tamper> {
        self.lock().tamper_next.take()
    }

    /// Records and sends one delivery; `(status, body)`.
    pub(crate) async fn send(&self, d: Delivery) -> Result<(u16, String), CallbackError> {
        self.lock().deliveries.push(d.clone());
        let rb = match d.method.as_str() {
            "GET" => self.inner.http.get(&d.url),
            _ => {
                let content_type = if d.channel == "app" { "text/xml" } else { "application/json" };
                self.inner.http.post(&d.url).header("content-type", content_type).body(d.body.clone())
            }
        };
        let resp = rb.timeout(CALLBACK_TIMEOUT).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await?))
    }

    /// The console's URL check: `GET url?msg_signature&timestamp&nonce&echostr` with the
    /// endpoint's keys; the bundle must answer the echo plaintext exactly (§2, notes Q1).
    pub async fn verify_url(&self, endpoint: Endpoint, url: &str) -> Result<UrlCheck, CallbackError> {
        let app = self.app(endpoint.agent_id())?;
        let keys = Keys::of(&app, endpoint);
        let expected = digits(19);
        let tamper = self.take_tamper();
        let sealed = seal(&keys, &expected, tamper)?;
        let query = format!("{}&{}", sealed.query(), serde_urlencoded::to_string([("echostr", &sealed.encrypt)]).unwrap_or_default());
        let delivery = Delivery {
            agent_id: app.agent_id,
            channel: "verify",
            kind: "echostr".into(),
            method: "GET".into(),
            url: with_query(url, &query),
            body: String::new(),
            plaintext: expected.clone(),
            tamper,
        };
        let (status, body) = self.send(delivery.clone()).await?;
        Ok(UrlCheck { ok: status == 200 && body == expected, status, body, expected, delivery })
    }

    /// Sends a recorded callback again, unchanged (same signature, nonce and body).
    pub async fn redeliver(&self, delivery: &Delivery) -> Result<Redelivery, CallbackError> {
        let (status, body) = self.send(delivery.clone()).await?;
        Ok(Redelivery { status, body })
    }
}

/// Opens the bundle's encrypted passive reply, checking its signature with the endpoint's token.
/// App replies are XML (`<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`, §2), bot
/// replies JSON (`{encrypt, msgsignature, timestamp, nonce}`, notes Q1). An empty body is a
/// valid "no reply".
pub(crate) fn open_passive(keys: &Keys, endpoint: Endpoint, status: u16, body: String) -> Passive {
    let mut passive = Passive { status, body, plaintext: None, problem: None };
    if status != 200 {
        passive.problem = Some(format!("HTTP {status}"));
        return passive;
    }
    if passive.body.trim().is_empty() {
        return passive;
    }
    let fields = match endpoint {
        Endpoint::App(_) => super::xml::read(&passive.body)
            .map_err(|e| e.to_string())
            .map(|m| [m.get("Encrypt").cloned(), m.get("MsgSignature").cloned(), m.get("TimeStamp").cloned(), m.get("Nonce").cloned()]),
        Endpoint::Bot(_) => serde_json::from_str::<Value>(&passive.body).map_err(|_| "the reply is not JSON".to_string()).map(|v| {
            let s = |k: &str| match &v[k] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            [s("encrypt"), s("msgsignature"), s("timestamp"), s("nonce")]
        }),
    };
    let opened = fields.and_then(|[encrypt, sig, ts, nonce]| {
        let (Some(encrypt), Some(sig), Some(ts), Some(nonce)) = (encrypt, sig, ts, nonce) else {
            return Err("the reply lacks encrypt / signature / timestamp / nonce".to_string());
        };
        let crypt = keys.crypt().map_err(|e| e.to_string())?;
        if !crypt.verify(&sig, &ts, &nonce, &encrypt) {
            return Err("the reply's signature does not verify".to_string());
        }
        crypt.decrypt(&encrypt).map_err(|e| e.to_string())
    });
    match opened {
        Ok(plain) => passive.plaintext = Some(plain),
        Err(problem) => passive.problem = Some(problem),
    }
    passive
}
