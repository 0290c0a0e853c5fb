//! Shared pieces of the fuzz harnesses: requests as the platforms send them, signed (and for
//! Feishu, sealed) with fixed secrets at a fixed clock, so the fuzzer's bytes reach the
//! parsers behind verification instead of dying at the first signature check.
//!
//! Input format (the same for every callback target, so seeds stay readable files):
//! - a first byte of `!` selects the raw path: the rest is split on `\n` into the header
//!   values the target names, then the body, exactly as received (verification exercised);
//! - a first byte of [`SIGNED_AT`] (`~`): the timestamp (Feishu: and nonce) come from the
//!   input, `\n`-terminated, and the harness signs with them, so the freshness check after
//!   the signature sees any timestamp a key holder could send;
//! - any other input is the payload itself, which the harness signs (and seals) correctly.
//!
//! DingTalk has three request kinds on one codec and its own markers (see
//! [`dingtalk_request`]); so has WeCom (see [`wecom_request`]).

use aes::Aes256;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use warroom_core::{RawRequest, Timestamp};

mod dingtalk;
mod feishu;
mod slack;
mod wecom;

pub use dingtalk::*;
pub use feishu::*;
pub use slack::*;
pub use wecom::*;

/// Marks the raw path (see the crate docs).
pub const RAW: u8 = b'!';
/// Marks a request signed by the harness at a timestamp taken from the input.
pub const SIGNED_AT: u8 = b'~';

/// A request with owned headers; [`Request::run`] lends it as the port's `RawRequest`.
pub struct Request {
    pub method: &'static str,
    /// The raw query string (DingTalk event pushes carry their signature there).
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub now: i64,
}

impl Request {
    pub fn post(body: Vec<u8>, now: i64) -> Self {
        Self { method: "POST", query: String::new(), headers: HashMap::new(), body, now }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.insert(name.to_owned(), value.into());
        self
    }

    pub fn run<T>(&self, f: impl FnOnce(&RawRequest<'_>) -> T) -> T {
        let lookup = |name: &str| self.headers.get(name).cloned();
        f(&RawRequest { method: self.method, query: &self.query, header: &lookup, body: &self.body, now: Timestamp::from_secs(self.now) })
    }
}

/// Splits `data` into `n` `\n`-terminated fields (lossily decoded: headers are text) and the
/// body; missing fields are empty.
pub fn fields(data: &[u8], n: usize) -> (Vec<String>, &[u8]) {
    let mut rest = data;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    (out, rest)
}

/// A Slack request signed with [`SLACK_SECRET`] at [`SLACK_NOW`].

/// Whether an error is a verification refusal (what a correctly signed request never gets).
pub fn refused(e: &warroom_core::CallbackError) -> bool {
    matches!(e, warroom_core::CallbackError::BadSignature | warroom_core::CallbackError::Stale)
}
