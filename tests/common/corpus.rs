//! A deterministic generator of bad requests (issue 7, item 1) and the checks every one of
//! them must pass: refused with a clear JSON error (or, for a replay of an applied event,
//! answered as already handled), never a 5xx, and nothing stored or sent anywhere.
//!
//! No `rand` or `hmac` in the root package's dependencies, so a small xorshift and a
//! small SHA-256/HMAC live here (the HMAC is checked against PagerDuty's official vector).

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::Value;
use std::collections::BTreeMap;
use tower::ServiceExt;

/// xorshift64*: deterministic, seeded, good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// In `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo).max(1) as u64)) as i64
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn hex(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from(b"0123456789abcdef"[self.below(16)])).collect()
    }
    pub fn alnum(&mut self, len: usize) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..len).map(|_| char::from(A[self.below(A.len())])).collect()
    }
}

// ---- SHA-256 / HMAC-SHA256 (FIPS 180-4, RFC 2104) ----

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
    0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
    0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
    0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
    0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([chunk[4 * i], chunk[4 * i + 1], chunk[4 * i + 2], chunk[4 * i + 3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for i in 0..8 {
            h[i] = h[i].wrapping_add(v[i]);
        }
    }
    let mut out = [0u8; 32];
    for i in 0..8 {
        out[4 * i..4 * i + 4].copy_from_slice(&h[i].to_be_bytes());
    }
    out
}

pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(msg);
    let mut outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `X-PagerDuty-Signature` for `body` (`v1=<hex HMAC-SHA256>`).
pub fn pagerduty_signature(secret: &[u8], body: &[u8]) -> String {
    format!("v1={}", hex(&hmac_sha256(secret, body)))
}

// ---- requests, mutations and checks ----

/// One bad request.
#[derive(Clone)]
pub struct Case {
    pub surface: &'static str,
    pub kind: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A replay of an event already applied: 200 "already handled" (or a refusal) is right.
    pub replay: bool,
    /// What was done, for the failure message.
    pub note: String,
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(300)]).into_owned();
        write!(f, "[{} / {}] {} POST {} ({} bytes) headers={:?} body={body:?}", self.surface, self.kind, self.note, self.path, self.body.len(), self.headers)
    }
}

/// The statuses a refused request may get.
pub const REFUSALS: &[u16] = &[400, 401, 403, 404, 413, 415, 422];

/// Flips one byte (xor with a non-zero mask) at a random position.
pub fn flip_byte(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    if out.is_empty() {
        return vec![b'x'];
    }
    let i = rng.below(out.len());
    out[i] ^= (1 + rng.below(255)) as u8;
    out
}

/// Breaks a JSON structural byte so the result can never be valid JSON (for bodies that
/// carry no signature, where a flip inside a string would just be another valid event).
pub fn break_structure(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    // Structural bytes outside strings only (a comma inside a string is just text).
    let (mut in_string, mut escaped, mut positions) = (false, false, Vec::new());
    for (i, &b) in body.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    in_string = false;
                    positions.push(i);
                }
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
            positions.push(i);
        } else if b"{}[]:,".contains(&b) {
            positions.push(i);
        }
    }
    let mut out = body.to_vec();
    let i = *rng.pick(&positions);
    out[i] = *rng.pick(&[b'#', b';', b'\'', 0xFF, b'\\']);
    out
}

/// A strict prefix of `body` (possibly empty).
pub fn truncate(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    body[..rng.below(body.len())].to_vec()
}

/// `body` padded past `limit` bytes (inside a JSON string when `json`, so only the size is wrong).
pub fn oversize(rng: &mut Rng, body: &[u8], limit: usize) -> Vec<u8> {
    let extra = limit + 1 + rng.below(4096);
    if rng.below(2) == 0 {
        let mut v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("padding".into(), Value::String("x".repeat(extra)));
            return v.to_string().into_bytes();
        }
    }
    let mut out = body.to_vec();
    out.extend(std::iter::repeat_n(b' ', extra));
    out
}

/// Invalid UTF-8 inserted at a random position, never inside `avoid` (the delivery id:
/// the platform codecs decode signed bodies leniently, so a mangled delivery id would be a
/// new, authentic-looking delivery rather than a bad one; see the report).
pub fn invalid_utf8(rng: &mut Rng, body: &[u8], avoid: Option<&str>) -> Vec<u8> {
    let mut out = body.to_vec();
    let spans: Vec<(usize, usize)> = match avoid.filter(|a| !a.is_empty()) {
        Some(a) => body.windows(a.len()).enumerate().filter(|(_, w)| *w == a.as_bytes()).map(|(i, _)| (i, i + a.len())).collect(),
        None => Vec::new(),
    };
    let mut at = rng.below(out.len().max(1));
    while spans.iter().any(|&(s, e)| at > s && at < e) {
        at = rng.below(out.len().max(1));
    }
    let bad: &[&[u8]] = &[b"\xff\xfe", b"\xc3\x28", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\x80"];
    let ins = *rng.pick(bad);
    out.splice(at..at, ins.iter().copied());
    out
}

/// Every JSON path (as pointer tokens) in `v`, with whether the value there is a string.
fn paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, bool)>) {
    match v {
        Value::Object(m) => {
            out.push((prefix.clone(), false));
            for (k, x) in m {
                prefix.push(k.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            out.push((prefix.clone(), false));
            for (i, x) in a.iter().enumerate() {
                prefix.push(i.to_string());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::String(_) => out.push((prefix.clone(), true)),
        _ => {}
    }
}

fn pointer(tokens: &[String]) -> String {
    tokens.iter().map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1"))).collect()
}

/// A wrongly typed copy of `v`: a string replaced by a number, an array, an object or a
/// boolean; an object or array replaced by a string or a number; or the whole document
/// replaced by null, a number, an array or a string. `allowed(pointer)` limits which
/// paths are mutated (fields read leniently by design are left out). Returns the copy and
/// a description.
pub fn wrong_type(rng: &mut Rng, v: &Value, allowed: &dyn Fn(&str) -> bool) -> (Value, String) {
    if rng.below(8) == 0 {
        let root = rng.pick(&[Value::Null, Value::from(42), Value::Array(vec![v.clone()]), Value::from("event")]).clone();
        return (root.clone(), format!("root -> {root}"));
    }
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let candidates: Vec<_> = all.into_iter().filter(|(p, _)| !p.is_empty() && allowed(&pointer(p))).collect();
    let (path, is_string) = rng.pick(&candidates).clone();
    let replacement = if is_string {
        let n = rng.range(-5, 100000);
        rng.pick(&[Value::from(n), serde_json::json!(["a", 1]), serde_json::json!({"a": 1}), Value::Bool(true)]).clone()
    } else {
        rng.pick(&[Value::from("oops"), Value::from(7)]).clone()
    };
    let mut out = v.clone();
    *out.pointer_mut(&pointer(&path)).expect("path exists") = replacement.clone();
    (out, format!("{} -> {replacement}", pointer(&path)))
}

/// Answers of one surface, by kind: (sent, refused by status) and the first problem.
#[derive(Default)]
pub struct Tally {
    pub by_kind: BTreeMap<&'static str, BTreeMap<u16, usize>>,
    pub total: usize,
}

impl Tally {
    pub fn report(&self, surface: &str) -> String {
        let mut s = format!("{surface}: {} requests", self.total);
        for (kind, statuses) in &self.by_kind {
            let n: usize = statuses.values().sum();
            let st: Vec<String> = statuses.iter().map(|(c, k)| format!("{c}x{k}")).collect();
            s.push_str(&format!("\n  {kind:<22} {n:>5}  [{}]", st.join(" ")));
        }
        s
    }
}

/// Sends every case through `router` (in-process) and checks each answer. Returns the
/// tally, or the first offending case described.
pub async fn run(router: &Router, cases: &[Case]) -> Result<Tally, String> {
    let mut tally = Tally::default();
    let mut failures: Vec<String> = Vec::new();
    for case in cases {
        if let Err(e) = run_one(router, case, &mut tally).await {
            failures.push(e);
        }
    }
    match failures.first() {
        None => Ok(tally),
        Some(first) => {
            let others: Vec<String> = failures.iter().skip(1).take(8).map(|f| f.lines().last().unwrap_or("").chars().take(160).collect()).collect();
            Err(format!(
                "{first}
{} failing in all; next ones:
{}",
                failures.len(),
                others.join("\n")
            ))
        }
    }
}

async fn run_one(router: &Router, case: &Case, tally: &mut Tally) -> Result<(), String> {
    {
        let mut req = Request::builder().method("POST").uri(&case.path);
        for (k, v) in &case.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = router.clone().oneshot(req.body(Body::from(case.body.clone())).unwrap()).await.unwrap();
        let status = resp.status();
        let bytes = to_bytes(resp.into_body(), 1 << 22).await.unwrap();
        let excerpt = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
        let fail = |why: &str| Err(format!("{why}: status {status}, body {excerpt:?}\n  request: {case}"));
        if status.is_server_error() {
            return fail("a 5xx");
        }
        let replay_ok = case.replay && (status == StatusCode::OK || status == StatusCode::ACCEPTED);
        if !replay_ok {
            if !REFUSALS.contains(&status.as_u16()) {
                return fail("not refused");
            }
            let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if json["error"]["code"].as_str().is_none_or(str::is_empty) {
                return fail("not a JSON error with error.code");
            }
        }
        *tally.by_kind.entry(case.kind).or_default().entry(status.as_u16()).or_default() += 1;
        tally.total += 1;
    }
    Ok(())
}
