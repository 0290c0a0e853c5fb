//! The secrets-in-logs check: every secret the test suite uses must be absent from every
//! log the suite wrote (see `logging`).
//!
//! What counts as a secret, found without a hand-kept list that would go stale:
//! - literals in the test sources: `const`/`static` string items whose name says secret,
//!   token, key, password…, and string values given to fields so named (`signing_secret:
//!   "…"`, `"app_secret": "…"`, DingTalk's `event_aes_key: "…"`);
//! - credentials the sandboxes and the API mint at run time, by shape: Slack tokens
//!   (`xoxb-…`), Warroom API keys (`wr_` + 32 base-32 characters), Feishu tenant and user
//!   access tokens (`t-`/`u-` + 40 hex digits), DingTalk access tokens (32 hex digits, which
//!   only count where a token goes: `access_token=`, `"accessToken": "`, the
//!   `x-acs-dingtalk-access-token` header; bare, they look like any digest or id), WeCom
//!   access tokens (64 to 512 letters, digits, `-` and `_` where a token goes: the sandbox
//!   mints 192, live ones run ~200), and WeCom's credentials by the name they travel under:
//!   `corpsecret=` (gettoken), the app `secret`, `response_code` (single-use card and
//!   smart-bot codes) and EncodingAESKeys (`callback_aes_key`, `bot_aes_key`,
//!   `EncodingAESKey`: 43 base64 characters), all of which the sandbox mints at run time.
//!
//! A finding names the file, the line and which secret, never the secret itself.

use aho_corasick::AhoCorasick;
use regex_lite::Regex;
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

/// Names (upper-cased) that mark a literal as a secret.
/// `AES_KEY`: DingTalk's event-subscription EncodingAESKey (`event_aes_key`) and WeCom's
/// (`callback_aes_key`, `bot_aes_key`); `AESKEY`: an `EncodingAESKey` named as WeCom does.
const SECRET_WORDS: &[&str] = &["SECRET", "TOKEN", "ENCRYPT", "SIGNING", "PASSWORD", "CREDENTIAL", "API_KEY", "PRIVATE", "AES_KEY", "AESKEY"];
/// Shorter values are too likely to occur by chance (and are not realistic secrets).
const MIN_LEN: usize = 8;

/// A value that must not appear, with a label saying where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Needle {
    pub label: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub file: PathBuf,
    pub line: usize,
    pub label: String,
    /// The first characters and the length, enough to tell which secret without showing it.
    pub hint: String,
}

fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // Names of where a secret goes (a path, a header name, an env variable) are not secrets.
    let about = ["_FILE", "_VAR", "_HEADER", "_PATH", "_URL", "_ENDPOINT", "_PREFIX"];
    SECRET_WORDS.iter().any(|w| upper.contains(w)) && !about.iter().any(|s| upper.ends_with(s))
}

/// Secret literals in one source text; `origin` labels them.
pub fn literals_in(source: &str, origin: &str) -> Vec<Needle> {
    let item = Regex::new(r#"(?:const|static)\s+([A-Za-z0-9_]+)\s*:\s*&(?:'static\s+)?str\s*=\s*"([^"\\]*)""#).unwrap();
    let field = Regex::new(r#""?([A-Za-z_][A-Za-z0-9_]*)"?\s*:\s*"([^"\\]*)""#).unwrap();
    let mut out = Vec::new();
    for re in [&item, &field] {
        for caps in re.captures_iter(source) {
            let (name, value) = (&caps[1], &caps[2]);
            if is_secret_name(name) && value.len() >= MIN_LEN && !value.contains('{') {
                out.push(Needle { label: format!("{name} ({origin})"), value: value.to_string() });
            }
        }
    }
    out
}

/// Secret literals in every `.rs` file under `roots` (skipping `target`).
pub fn literals_under(roots: &[PathBuf]) -> io::Result<Vec<Needle>> {
    let mut files = Vec::new();
    for root in roots {
        collect(root, &mut files, &|p| p.extension().is_some_and(|e| e == "rs"))?;
    }
    let mut by_value: BTreeMap<String, Needle> = BTreeMap::new();
    for file in files {
        let text = fs::read_to_string(&file)?;
        for needle in literals_in(&text, &file.display().to_string()) {
            by_value.entry(needle.value.clone()).or_insert(needle);
        }
    }
    Ok(by_value.into_values().collect())
}

fn collect(path: &Path, out: &mut Vec<PathBuf>, keep: &dyn Fn(&Path) -> bool) -> io::Result<()> {
    if path.is_dir() {
        if path.file_name().is_some_and(|n| n == "target" || n == "node_modules" || n.to_string_lossy().starts_with('.')) {
            return Ok(());
        }
        for entry in fs::read_dir(path)? {
            collect(&entry?.path(), out, keep)?;
        }
    } else if keep(path) {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Credentials minted at run time, recognised by shape.
fn minted() -> Vec<(&'static str, &'static str, Regex)> {
    vec![
        ("Slack token", "xox", Regex::new(r"xox[abpers]-[0-9A-Za-z-]{10,}").unwrap()),
        ("Warroom API key", "wr_", Regex::new(r"\bwr_[0-9a-z]{32}\b").unwrap()),
        ("Feishu tenant access token", "t-", Regex::new(r"\bt-[0-9a-f]{40}\b").unwrap()),
        ("Feishu user access token", "u-", Regex::new(r"\bu-[0-9a-f]{40}\b").unwrap()),
        ("DingTalk access token", "access", Regex::new(r"\b(?:access_token|accessToken|access-token)\W{1,8}([0-9a-f]{32})\b").unwrap()),
        // Only where a token goes, and 64 characters at least: shorter runs of these
        // characters after `access_token` are DingTalk's (above) or redactions.
        ("WeCom access token", "access", Regex::new(r"\b(?:access_token|accessToken)\W{1,8}([0-9A-Za-z_-]{64,512})(?:[^0-9A-Za-z_-]|$)").unwrap()),
        ("WeCom corpsecret", "corpsecret", Regex::new(r"\bcorpsecret\W{1,8}([0-9A-Za-z_-]{8,})").unwrap()),
        // `secret=…`, `"secret":"…"`, `secret: …` (the app Secret by its own name); not a
        // `client_secret` or `signing_secret` (other platforms', found as literals).
        ("WeCom app secret", "secret", Regex::new(r#"(?:^|[^0-9A-Za-z_])secret["']?\s{0,2}[:=]\s{0,2}["']?([0-9A-Za-z_-]{16,})"#).unwrap()),
        ("WeCom response_code", "response_code", Regex::new(r"\bresponse_code\W{1,8}([0-9A-Za-z_-]{16,})").unwrap()),
        ("WeCom EncodingAESKey", "aes_key", Regex::new(r"\b[a-z_]*aes_key\W{1,8}([0-9A-Za-z+/]{43})(?:[^0-9A-Za-z+/]|$)").unwrap()),
        ("WeCom EncodingAESKey", "AESKey", Regex::new(r"\bEncodingAESKey\W{1,8}([0-9A-Za-z+/]{43})(?:[^0-9A-Za-z+/]|$)").unwrap()),
    ]
}

/// Searches the logs for the needles and for minted credentials.
pub struct Scanner {
    needles: Vec<Needle>,
    literal: Option<AhoCorasick>,
    minted: Vec<(&'static str, &'static str, Regex)>,
}

/// What a scan covered, so a run that scanned nothing cannot pass for a clean one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub files: usize,
    pub lines: usize,
    pub bytes: u64,
}

impl Scanner {
    pub fn new(needles: Vec<Needle>) -> Self {
        let literal = (!needles.is_empty()).then(|| AhoCorasick::new(needles.iter().map(|n| &n.value)).expect("literal needles"));
        Self { needles, literal, minted: minted() }
    }

    pub fn needles(&self) -> usize {
        self.needles.len()
    }
    /// How many kinds of run-time credentials are looked for by shape.
    pub fn minted_kinds(&self) -> usize {
        self.minted.len()
    }

    /// Findings in one line of text.
    pub fn line(&self, text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(ac) = &self.literal {
            for m in ac.find_overlapping_iter(text) {
                let n = &self.needles[m.pattern().as_usize()];
                out.push((n.label.clone(), hint(&n.value)));
            }
        }
        for (label, prefix, re) in &self.minted {
            if text.contains(prefix) {
                // The token itself: the capture group where the shape includes its context.
                for caps in re.captures_iter(text) {
                    let token = caps.get(1).or_else(|| caps.get(0)).map_or("", |m| m.as_str());
                    out.push((label.to_string(), hint(token)));
                }
            }
        }
        out
    }

    /// Scans every file under `dir`.
    pub fn scan_dir(&self, dir: &Path) -> io::Result<(Vec<Finding>, Coverage)> {
        let mut files = Vec::new();
        collect(dir, &mut files, &|_| true)?;
        let mut findings = Vec::new();
        let mut coverage = Coverage::default();
        for file in files {
            coverage.files += 1;
            coverage.bytes += fs::metadata(&file)?.len();
            let reader = io::BufReader::new(fs::File::open(&file)?);
            for (i, line) in reader.split(b'\n').enumerate() {
                let line = String::from_utf8_lossy(&line?).into_owned();
                coverage.lines += 1;
                for (label, hint) in self.line(&line) {
                    findings.push(Finding { file: file.clone(), line: i + 1, label, hint });
                }
            }
        }
        Ok((findings, coverage))
    }
}

fn hint(value: &str) -> String {
    let head: String = value.chars().take(4).collect();
    format!("{head}… ({} chars)", value.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
        const SLACK_SIGNING: &str = "slack-signing-secret-a1b2";
        pub const FEISHU_APP_SECRET: &'static str = "demo-feishu-app-secret";
        const TEAM: &str = "T0SECRETSINC";
        const KEYS_FILE: &str = "demo-keys-secret.json";
        const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
        let cfg = Config { signing_secret: "field-signing-secret".into(), name: "not-a-secret-at-all" };
        let body = json!({"app_secret": "json-app-secret-1", "encrypt_key": "short"});
        let fmt = SandboxConfig { client_secret: format!("{x}") , bot_token: "xo{x}ignored" };
    "#;

    #[test]
    fn secret_literals_are_found_by_their_names_and_nothing_else_is() {
        let values: Vec<String> = literals_in(SOURCE, "src.rs").into_iter().map(|n| n.value).collect();
        assert_eq!(values, ["slack-signing-secret-a1b2", "demo-feishu-app-secret", "field-signing-secret", "json-app-secret-1"]);
    }

    #[test]
    fn a_log_line_with_a_literal_or_a_minted_credential_is_a_finding_that_hides_the_value() {
        let scanner = Scanner::new(literals_in(SOURCE, "src.rs"));
        assert!(scanner.line("INFO posted card to C123 (took 3 ms)").is_empty());
        let found = scanner.line("DEBUG request failed: signing_secret=field-signing-secret");
        assert_eq!(found, [("signing_secret (src.rs)".to_string(), "fiel… (20 chars)".to_string())]);
        let token = "xoxb-12345678901-1234567890123-abcdefghijklmnopqrstuvwx";
        assert_eq!(scanner.line(&format!("auth {token}"))[0].0, "Slack token");
        assert_eq!(scanner.line("key wr_0123456789abcdefghjkmnpqrstvwxyz used")[0].0, "Warroom API key");
        assert!(scanner.line("key prefix wr_01 listed").is_empty(), "a key's short prefix is not the key");
        assert_eq!(scanner.line(&format!("t-{}", "ab".repeat(20)))[0].0, "Feishu tenant access token");
    }

    #[test]
    fn dingtalk_access_tokens_are_found_where_a_token_goes_and_aes_keys_by_name() {
        let scanner = Scanner::new(literals_in(SOURCE, "src.rs"));
        let token = "0123456789abcdef0123456789abcdef";
        for line in [
            format!("GET https://oapi.dingtalk.com/topapi/im/chat/scenegroup/create?access_token={token}"),
            format!(r#"body {{"accessToken":"{token}","expireIn":7200}}"#),
            format!(r#"{{"errcode":0,"access_token": "{token}"}}"#),
            format!("headers {{\"x-acs-dingtalk-access-token\": \"{token}\"}}"),
            format!("token cached access_token={token} ttl_secs=6900"),
        ] {
            assert_eq!(scanner.line(&line), [("DingTalk access token".to_string(), "0123… (32 chars)".to_string())], "{line}");
        }
        // 32 hex digits elsewhere are digests and ids (delivery ids, scene-group uuids, event ids).
        for line in [
            format!("duplicate delivery sha:{token} ignored"),
            format!("scene group uuid={token} created"),
            format!("event_id={token} tenant_access_token fetched"),
            format!("access token refused; refreshing once request={token}"),
            "call GET /gettoken?access_token=%2A%2A%2A&appkey=dingapp".to_string(),
        ] {
            assert!(scanner.line(&line).is_empty(), "{line}");
        }
        let aes = literals_in(
            r#"const AES_KEY: &str = "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus"; x(json!({"event_aes_key": "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"}))"#,
            "t.rs",
        );
        assert_eq!(aes.iter().map(|n| n.value.len()).collect::<Vec<_>>(), [43, 43], "{aes:?}");
    }

    #[test]
    fn wecom_access_tokens_are_found_where_a_token_goes_and_its_secrets_by_their_names() {
        let scanner = Scanner::new(Vec::new());
        // As the WeCom sandbox mints them (192 alphanumerics) and as live ones look (~200
        // characters with `-` and `_`).
        let minted = "aB3".repeat(64);
        let live = format!("{}-{}_{}", "Xy9".repeat(30), "k".repeat(60), "Q7".repeat(20));
        for token in [minted.as_str(), live.as_str()] {
            for line in [
                format!("POST http://127.0.0.1:9/cgi-bin/appchat/create?access_token={token}"),
                format!("GET /cgi-bin/user/getuserid?access_token={token}&debug=1"),
                format!(r#"{{"errcode":0,"errmsg":"ok","access_token":"{token}","expires_in":7200}}"#),
            ] {
                assert_eq!(scanner.line(&line), [("WeCom access token".to_string(), hint(token))], "{line}");
            }
        }
        let secret = "Ww_-Secret0123456789abcdefghijklmnopqrstuv";
        let code = "Rc0123456789abcdefghijklmnopqrstuvwxyzABCDE";
        let aes = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
        let label = |line: &str| scanner.line(line).into_iter().map(|(l, _)| l).collect::<Vec<_>>();
        assert_eq!(label(&format!("GET /cgi-bin/gettoken?corpid=ww1&corpsecret={secret}")), ["WeCom corpsecret"]);
        assert_eq!(label(&format!(r#"body {{"corp_id":"ww1","secret":"{secret}"}}"#)), ["WeCom app secret"]);
        assert_eq!(label(&format!("connecting secret={secret}")), ["WeCom app secret"]);
        assert_eq!(label(&format!("POST /cgi-bin/aibot/response?response_code={code}")), ["WeCom response_code"]);
        assert_eq!(label(&format!(r#"{{"userids":["ada"],"response_code":"{code}"}}"#)), ["WeCom response_code"]);
        for line in [format!(r#"{{"callback_aes_key":"{aes}"}}"#), format!("bot_aes_key={aes}"), format!("EncodingAESKey: {aes}")] {
            assert_eq!(label(&line), ["WeCom EncodingAESKey"], "{line}");
        }
        // Redacted, absent or short values, other names, and digests are not findings.
        for line in [
            "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=%2A%2A%2A".to_string(),
            "call query=access_token=***&chatid=wr1 errcode=0".to_string(),
            r#"WeComCredentials { corp_id: "ww1", secret: "[redacted]", callback_aes_key: "[redacted]" }"#.to_string(),
            "response code refused; sending new cards code=40072".to_string(),
            format!("client_secret={secret} is another platform's (found as a literal)"),
            format!("access_token={} is DingTalk's shape", "0a".repeat(16)),
            format!("delivery sha:{} ignored", "ab".repeat(32)),
            format!("callback_aes_key {}", &aes[..42]),
        ] {
            assert!(scanner.line(&line).iter().all(|(l, _)| !l.starts_with("WeCom")), "{line}: {:?}", scanner.line(&line));
        }
        let named = literals_in(
            r#"x(json!({"callback_aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "EncodingAESKey": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}))"#,
            "t.rs",
        );
        assert_eq!(named.len(), 2, "{named:?}");
    }

    #[test]
    fn a_directory_scan_reports_file_and_line_and_counts_what_it_read() {
        let dir = std::env::temp_dir().join(format!("warroom-log-scan-{}", std::process::id()));
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("a.log"), "clean\nclean\n").unwrap();
        fs::write(dir.join("sub/b.log"), "clean\nleaked json-app-secret-1 here\n").unwrap();
        let (findings, coverage) = Scanner::new(literals_in(SOURCE, "src.rs")).scan_dir(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(coverage.files, 2);
        assert_eq!(coverage.lines, 4);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].file.ends_with("sub/b.log") && findings[0].line == 2);
    }
}
