//! Deterministic answers made from the request, so a test can check what the model was given.
//!
//! **Echo answer** (the default), one line, fields always in this order, `-` when absent:
//!
//! ```text
//! [llm-sandbox] messages=3 | incident="Incident: DB down in eu-west" | question="what is the impact?" | latest="alice: restarted the primary"
//! ```
//!
//! - `messages`: how many messages the request carried (all roles).
//! - `incident`: the first line, in the system/developer messages (then the others), whose first
//!   word is `Incident` or `Title` followed, within 40 characters, by `:` (decorations `#`, `-`,
//!   `*`, `>` and spaces stripped) — the whole line, shortened.
//! - `question`: the last non-empty line of the last `user` message, a leading `Question:` /
//!   `Q:` removed, shortened.
//! - `latest`: the last *chat line* in any message, the question line excepted, as
//!   `speaker: text` (timestamp dropped), shortened. A chat line is `[ts] speaker: text`,
//!   `(ts) speaker: text`, `HH:MM speaker: text` or `speaker: text` (a leading `- `/`* ` allowed),
//!   (never a `#` heading), where the speaker is 1–40 characters, at most 4 words, and not a header word
//!   ([`HEADER_WORDS`]: `Incident`, `Severity`, `Status`, …).
//!
//! "Shortened" = at most [`QUOTE_CHARS`] characters, cut ones ending in `…`; `"` becomes `'`.
//!
//! **Post-mortem answer**: when a system/developer message contains `postmortem`/`post-mortem`
//! (any case) or `JSON` (upper case), the answer is a compact JSON object built only from the
//! prompt: `{"marker", "title", "summary", "participants", "timeline":[{"at","who","what"}],
//! "action_items", "messages"}` — see [`postmortem`].
//!
//! **Tokens**: [`count_tokens`] = UTF-8 bytes ÷ 4, rounded up (OpenAI's rule of thumb of ~4
//! characters per token, on bytes so it is exact and cheap). `prompt_tokens` = the sum over the
//! messages' contents; `completion_tokens` = the answer's; `max_tokens` cuts the answer to
//! `4 × max_tokens` bytes (on a character boundary) with `finish_reason: "length"`.

use serde_json::{json, Value};

use super::wire::ChatMessage;

/// Every echo answer starts with this.
pub const MARKER: &str = "[llm-sandbox]";
/// The longest quoted field, in characters.
pub const QUOTE_CHARS: usize = 80;
/// Words that open header lines, not chat lines (compared case-insensitively).
pub const HEADER_WORDS: &[&str] = &[
    "incident",
    "title",
    "severity",
    "sev",
    "status",
    "question",
    "q",
    "summary",
    "impact",
    "service",
    "services",
    "owner",
    "commander",
    "started",
    "start",
    "time",
    "timeline",
    "note",
    "notes",
    "instruction",
    "instructions",
    "role",
    "context",
    "answer",
    "json",
    "format",
    "language",
    "priority",
    "id",
    "url",
    "link",
    "date",
    "http",
    "https",
    "rules",
    "task",
    "chat",
    "transcript",
    "messages",
    "history",
];

/// Approximate tokens of a text: bytes / 4 rounded up.
pub fn count_tokens(text: &str) -> u32 {
    text.len().div_ceil(4).min(u32::MAX as usize) as u32
}

/// The prompt's size in tokens.
pub fn prompt_tokens(messages: &[ChatMessage]) -> u32 {
    messages.iter().map(|m| count_tokens(&m.content)).fold(0u32, u32::saturating_add)
}

/// Cuts `text` to `max_tokens` tokens; `true` when it was cut.
pub fn truncate_to_tokens(text: &str, max_tokens: Option<u32>) -> (String, bool) {
    let Some(max) = max_tokens else { return (text.to_string(), false) };
    let limit = (max as usize).saturating_mul(4);
    if text.len() <= limit {
        return (text.to_string(), false);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_string(), true)
}

/// The answer for these messages: post-mortem JSON or the echo line.
pub fn compose(messages: &[ChatMessage]) -> String {
    if wants_json(messages) {
        postmortem(messages).to_string()
    } else {
        echo(messages)
    }
}

/// The echo line (see the module docs).
pub fn echo(messages: &[ChatMessage]) -> String {
    let d = Digest::of(messages);
    let q = |v: &Option<String>| v.as_deref().map(|s| format!("\"{}\"", shorten(s))).unwrap_or_else(|| "-".to_string());
    let latest = d.chat_lines.last().map(|c| format!("{}: {}", c.who, c.what));
    format!("{MARKER} messages={} | incident={} | question={} | latest={}", messages.len(), q(&d.incident), q(&d.question), q(&latest))
}

/// Whether the system prompt asks for a JSON post-mortem.
pub fn wants_json(messages: &[ChatMessage]) -> bool {
    messages.iter().filter(|m| is_system(m)).any(|m| {
        let lower = m.content.to_lowercase();
        lower.contains("postmortem") || lower.contains("post-mortem") || m.content.contains("JSON")
    })
}

/// The post-mortem object: nothing in it that is not in the prompt, besides the marker and
/// the counts in `summary`. It has the shape Warroom's post-mortem prompt asks for
/// (`summary`, `impact`, `timeline[{at, event, who}]`, `decisions[{decision, by}]`,
/// `root_cause{text, confirmed}`, `went_well`, `went_badly`, `action_items[{item, owner}]`)
/// plus `marker`, `title`, `participants` and `messages`. Chat lines are sorted by words:
/// `impact` / `customers` → impact; `decided` / `let's` / `we will` → decisions; `root cause`
/// → root cause (confirmed when the line says `confirmed`); `worked` / `went well` → went
/// well; `slow` / `missed` / `went badly` → went badly; `todo` / `action item` /
/// `follow up` / `follow-up` → action items, owned by who said them.
pub fn postmortem(messages: &[ChatMessage]) -> Value {
    let d = Digest::of(messages);
    let mut participants: Vec<&str> = Vec::new();
    for c in &d.chat_lines {
        if !participants.contains(&c.who.as_str()) {
            participants.push(&c.who);
        }
    }
    let says = |c: &&ChatLine, words: &[&str]| {
        let l = c.what.to_lowercase();
        words.iter().any(|w| l.contains(w))
    };
    let lines = |words: &[&str]| d.chat_lines.iter().filter(|c| says(c, words)).collect::<Vec<_>>();
    let timeline: Vec<Value> = d.chat_lines.iter().take(50).map(|c| json!({"at": c.at, "event": c.what, "who": c.who})).collect();
    let decisions: Vec<Value> = lines(&["decided", "let's", "we will"]).iter().map(|c| json!({"decision": c.what, "by": c.who})).collect();
    let root = lines(&["root cause"]).first().map(|c| json!({"text": c.what, "confirmed": c.what.to_lowercase().contains("confirmed")}));
    let texts = |words: &[&str]| lines(words).iter().map(|c| c.what.clone()).collect::<Vec<_>>();
    let action_items: Vec<Value> = lines(&["todo", "action item", "follow up", "follow-up"]).iter().map(|c| json!({"item": c.what, "owner": c.who})).collect();
    json!({
        "marker": MARKER,
        "title": d.incident,
        "summary": format!("{}: {} chat lines from {} participants", d.incident.as_deref().unwrap_or("the incident"), d.chat_lines.len(), participants.len()),
        "impact": texts(&["impact", "customers"]).join(" "),
        "participants": participants,
        "timeline": timeline,
        "decisions": decisions,
        "root_cause": root.unwrap_or_else(|| json!({"text": "", "confirmed": false})),
        "went_well": texts(&["worked", "went well"]),
        "went_badly": texts(&["slow", "missed", "went badly"]),
        "action_items": action_items,
        "messages": messages.len(),
    })
}

fn is_system(m: &ChatMessage) -> bool {
    m.role == "system" || m.role == "developer"
}

/// One line of chat found in the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatLine {
    pub at: Option<String>,
    pub who: String,
    pub what: String,
}

/// What the answers quote, read from the messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digest {
    pub incident: Option<String>,
    pub question: Option<String>,
    pub chat_lines: Vec<ChatLine>,
}

impl Digest {
    pub fn of(messages: &[ChatMessage]) -> Digest {
        let last_user = messages.iter().rposition(|m| m.role == "user");
        // (message, line) of the question, so it is not also read as a chat line.
        let question_at = last_user.and_then(|i| messages[i].content.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).last().map(|(j, l)| (i, j, l)));
        let question = question_at.map(|(_, _, l)| strip_question(l.trim()).to_string());
        let ordered = messages.iter().filter(|m| is_system(m)).chain(messages.iter().filter(|m| !is_system(m)));
        let incident = ordered.flat_map(|m| m.content.lines()).find_map(incident_line);
        let mut chat_lines = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            for (j, line) in m.content.lines().enumerate() {
                if question_at.is_some_and(|(qi, qj, _)| (qi, qj) == (i, j)) {
                    continue;
                }
                chat_lines.extend(chat_line(line));
            }
        }
        Digest { incident, question, chat_lines }
    }
}

fn undecorate(line: &str) -> &str {
    line.trim().trim_start_matches(['#', '-', '*', '>', ' ']).trim()
}

fn incident_line(line: &str) -> Option<String> {
    let l = undecorate(line);
    let colon = l.find(':')?;
    let first = l[..colon].split_whitespace().next()?.to_lowercase();
    (colon <= 40 && (first == "incident" || first == "title")).then(|| l.to_string())
}

fn strip_question(l: &str) -> &str {
    for p in ["Question:", "question:", "Q:", "q:"] {
        if let Some(rest) = l.strip_prefix(p) {
            return rest.trim();
        }
    }
    l
}

/// Parses one chat line (see the module docs), or `None`.
pub fn chat_line(line: &str) -> Option<ChatLine> {
    let mut l = line.trim();
    if l.starts_with('#') {
        return None; // a Markdown heading
    }
    l = l.strip_prefix("- ").or_else(|| l.strip_prefix("* ")).unwrap_or(l).trim_start();
    let mut at = None;
    for (open, close) in [('[', ']'), ('(', ')')] {
        if l.starts_with(open) {
            let end = l.find(close)?;
            at = Some(l[1..end].trim().to_string());
            l = l[end + 1..].trim_start();
        }
    }
    if at.is_none() {
        // `10:02 alice: …` / `2026-12-03T10:02Z alice: …`: a leading token of digits and `:`.
        if let Some((first, rest)) = l.split_once(' ') {
            if first.contains(':') && first.chars().any(|c| c.is_ascii_digit()) && first.chars().all(|c| c.is_ascii_digit() || ":-+.TZ".contains(c)) {
                at = Some(first.to_string());
                l = rest.trim_start();
            }
        }
    }
    let (who, what) = l.split_once(':')?;
    let (who, what) = (who.trim().trim_start_matches('@'), what.trim());
    let first = who.split_whitespace().next()?.to_lowercase();
    let plausible = (1..=40).contains(&who.chars().count())
        && who.split_whitespace().count() <= 4
        && !who.contains(['[', ']', '{', '}', '"', '(', ')'])
        && !HEADER_WORDS.contains(&first.trim_end_matches(['#', '.']))
        && !what.is_empty()
        && !what.starts_with("//");
    plausible.then(|| ChatLine { at, who: who.to_string(), what: what.to_string() })
}

/// At most [`QUOTE_CHARS`] characters, `"` → `'`.
pub fn shorten(s: &str) -> String {
    let s = s.replace('"', "'");
    if s.chars().count() <= QUOTE_CHARS {
        return s;
    }
    let mut out: String = s.chars().take(QUOTE_CHARS - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs() -> Vec<ChatMessage> {
        vec![
            ChatMessage::new("system", "You help the incident commander.\n## Incident: INC-7 payments API 500s\nSeverity: SEV1\nChat so far:\n[10:01] alice: paging db team\n[10:04] Bob Chen: restarted the primary"),
            ChatMessage::new("user", "Context above.\nQuestion: what is the impact?"),
        ]
    }

    #[test]
    fn the_echo_line_quotes_incident_question_and_newest_chat_line() {
        assert_eq!(
            echo(&msgs()),
            "[llm-sandbox] messages=2 | incident=\"Incident: INC-7 payments API 500s\" | question=\"what is the impact?\" | latest=\"Bob Chen: restarted the primary\""
        );
        assert_eq!(echo(&[ChatMessage::new("user", "hi")]), "[llm-sandbox] messages=1 | incident=- | question=\"hi\" | latest=-");
    }

    #[test]
    fn header_lines_and_prose_are_not_chat_lines() {
        assert!(chat_line("Severity: SEV1").is_none());
        assert!(chat_line("Please answer the question in English: briefly").is_none());
        assert!(chat_line("see https://x.example/a").is_none());
        assert_eq!(chat_line("10:02 carol: ok").unwrap(), ChatLine { at: Some("10:02".into()), who: "carol".into(), what: "ok".into() });
    }

    #[test]
    fn a_json_system_prompt_gets_a_postmortem_built_from_the_prompt() {
        let mut m = msgs();
        m[0].content.push_str("\n[10:09] alice: TODO add a replica alarm\nReply in JSON.");
        let v: Value = serde_json::from_str(&compose(&m)).unwrap();
        assert_eq!(v["title"], "Incident: INC-7 payments API 500s");
        assert_eq!(v["participants"], json!(["alice", "Bob Chen"]));
        assert_eq!(v["timeline"][1], json!({"at": "10:04", "who": "Bob Chen", "event": "restarted the primary"}));
        assert_eq!(v["action_items"], json!([{"item": "TODO add a replica alarm", "owner": "alice"}]));
        assert_eq!(v["root_cause"], json!({"text": "", "confirmed": false}));
    }

    #[test]
    fn tokens_are_bytes_over_four_rounded_up_and_truncation_respects_them() {
        assert_eq!((count_tokens(""), count_tokens("abcd"), count_tokens("abcde")), (0, 1, 2));
        let (cut, was) = truncate_to_tokens("héllo world", Some(1));
        assert!(was && cut == "hél" && count_tokens(&cut) <= 1, "{cut}");
        assert_eq!(truncate_to_tokens("abc", Some(1)), ("abc".to_string(), false));
        assert_eq!(shorten(&"x".repeat(100)).chars().count(), QUOTE_CHARS);
    }
}
