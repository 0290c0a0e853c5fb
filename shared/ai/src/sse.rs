//! An incremental server-sent-events parser (the WHATWG "event stream interpretation",
//! html.spec.whatwg.org/multipage/server-sent-events.html), fed the body's bytes as the
//! network delivers them: a line, a `data:` field or a UTF-8 character may be split across
//! any two chunks. It follows the same rules as openai-python's `SSEDecoder` /
//! `_SSELineDecoder` (src/openai/_streaming.py, commit e43b422): CR, LF and CRLF all end a
//! line (a CRLF split across chunks is one end), `:` starts a comment (keep-alives), one
//! space after the colon is dropped, several `data:` lines join with `\n`, a blank line
//! dispatches the event. Unlike the SDK it caps an event's size, so a server that never
//! sends a newline cannot grow our memory without bound.

/// One dispatched event. `id` and `retry` are ignored: the answer is never resumed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when the server named the event (Chat Completions does not).
    pub event: Option<String>,
    pub data: String,
}

/// An event (or a line) grew beyond [`SseParser::MAX_EVENT_BYTES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventTooLarge;

#[derive(Debug, Default)]
pub struct SseParser {
    /// The bytes of the line not yet ended. Bytes, not text: a character split across
    /// chunks is only decoded once its line is whole.
    line: Vec<u8>,
    /// The last chunk ended on CR: an LF at the start of the next one belongs to it.
    skip_lf: bool,
    event: Option<String>,
    data: Vec<String>,
    /// Bytes held in `data`; with `line` they are what the cap measures.
    held: usize,
}

impl SseParser {
    /// Far above any chunk a model sends (a few hundred bytes), far below harm.
    pub const MAX_EVENT_BYTES: usize = 1 << 20;

    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `chunk`, appending every event it completes to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), EventTooLarge> {
        let mut start = 0;
        for (i, &byte) in chunk.iter().enumerate() {
            if byte != b'\r' && byte != b'\n' {
                continue;
            }
            if self.skip_lf && byte == b'\n' && i == start && self.line.is_empty() {
                // The LF of a CRLF whose CR ended the previous line.
                self.skip_lf = false;
                start = i + 1;
                continue;
            }
            self.line.extend_from_slice(&chunk[start..i]);
            self.skip_lf = byte == b'\r';
            start = i + 1;
            let line = std::mem::take(&mut self.line);
            self.line_ended(&line, out);
        }
        if start < chunk.len() {
            self.skip_lf = false;
            self.line.extend_from_slice(&chunk[start..]);
        }
        if self.held + self.line.len() > Self::MAX_EVENT_BYTES {
            return Err(EventTooLarge);
        }
        Ok(())
    }

    /// The body ended. A last line without its newline is still read, and an event with
    /// data but no blank line after it is still dispatched: leniency for servers that end
    /// with `data: [DONE]` and close. (The spec discards such an event; a stream cut
    /// mid-line yields a truncated `data` that fails to parse, so nothing is lost silently.)
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_ended(&line, out);
        }
        self.line_ended(b"", out);
    }

    fn line_ended(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            // A blank line dispatches; with no data there is nothing to dispatch (spec).
            if !self.data.is_empty() {
                out.push(SseEvent { event: self.event.take(), data: self.data.join("\n") });
            }
            self.event = None;
            self.data.clear();
            self.held = 0;
            return;
        }
        if line[0] == b':' {
            return; // A comment: keep-alives such as `: OPENROUTER PROCESSING`.
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*line, ""),
        };
        match field {
            "data" => {
                self.held += value.len();
                self.data.push(value.to_owned());
            }
            "event" => self.event = Some(value.to_owned()),
            _ => {} // `id`, `retry` and unknown fields are ignored.
        }
    }
}
