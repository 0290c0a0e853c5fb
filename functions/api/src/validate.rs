//! The text rules of the API's fields, each with the pattern `docs/openapi.json` states for
//! it, so a client generated from the document accepts exactly what the server accepts
//! (schemathesis checks both directions in the test command; `tests/openapi.rs` checks the
//! document carries these patterns).
//!
//! "Blank" characters are whitespace and control characters: Rust's `char::is_whitespace`
//! plus the C0/C1 controls is the same set as Python's `\s` plus those controls (Python
//! counts `\x1c`–`\x1f` as whitespace, Rust does not, and both are controls), so the
//! patterns mean the same to the server and to the Python tools that read the document.

/// Ignorable around a value: whitespace and controls.
const BLANK: &str = r"[\s\x00-\x1f\x7f-\x9f]";
/// Allowed inside a label: anything but controls.
const PRINTABLE: &str = r"[^\x00-\x1f\x7f-\x9f]";
/// A visible character: neither whitespace nor control.
const VISIBLE: &str = r"[^\s\x00-\x1f\x7f-\x9f]";

pub fn is_blank(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// `value` without blanks around it, `None` if nothing is left.
pub fn trimmed(value: &str) -> Option<&str> {
    Some(value.trim_matches(is_blank)).filter(|v| !v.is_empty())
}

/// Names and labels: at most `max` characters, no control characters, something visible.
pub fn label_pattern() -> String {
    format!("^{PRINTABLE}*{VISIBLE}{PRINTABLE}*$")
}

/// The label, trimmed; `max` counts the characters as sent.
pub fn label(value: &str, max: usize) -> Result<String, String> {
    if value.chars().count() > max {
        return Err(format!("at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    trimmed(value).map(str::to_owned).ok_or_else(|| format!("must be 1 to {max} characters, not only spaces"))
}

/// Credentials (tokens, secrets, app ids): blanks around them are trimmed, none inside.
/// `required` leaves out the blank alternative.
pub fn token_pattern(required: bool) -> String {
    let core = if required { format!("{VISIBLE}+") } else { format!("{VISIBLE}*") };
    format!("^{BLANK}*{core}{BLANK}*$")
}

/// A credential as [`token_pattern`] says; blank is `None`. `max` counts what was sent.
pub fn token(value: &str, max: usize) -> Result<Option<String>, String> {
    if value.chars().count() > max {
        return Err(format!("at most {max} characters"));
    }
    let Some(token) = trimmed(value) else { return Ok(None) };
    if token.chars().any(is_blank) {
        return Err("must not contain spaces, line breaks or control characters".into());
    }
    Ok(Some(token.to_owned()))
}

/// Ids the caller chooses (members): `auto` is reserved for the API's own use.
pub const ID_PATTERN: &str = r"^(?!auto$)[A-Za-z0-9._-]{1,64}$";

pub fn id(id: &str) -> Result<&str, String> {
    let ok = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok {
        return Err("must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'".into());
    }
    if id == "auto" {
        return Err("\"auto\" is reserved".into());
    }
    Ok(id)
}

/// The most characters of an email address (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;

/// An address with one `@`, a dot in the domain, no blank inside; blanks around it allowed.
pub fn email_pattern(optional: bool) -> String {
    let c = r"[^\s\x00-\x1f\x7f-\x9f@]";
    let edge = r"[^\s\x00-\x1f\x7f-\x9f@.]";
    let address = format!("{c}+@{edge}{c}*[.]{c}*{edge}");
    let address = if optional { format!("(?:{address})?") } else { address };
    format!("^{BLANK}*{address}{BLANK}*$")
}

/// An address as [`email_pattern`] says; the caller decides whether blank means "none".
pub fn email(value: &str) -> Result<String, String> {
    let bad = || format!("{value:?} is not an email address");
    if value.chars().count() > EMAIL_MAX {
        return Err(bad());
    }
    let email = trimmed(value).ok_or_else(bad)?;
    if email.chars().any(is_blank) {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty() || domain.contains('@') || !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(bad());
    }
    Ok(email.to_owned())
}

/// Separators a phone number may carry; dropped when stored.
const PHONE_SEPARATORS: [char; 5] = [' ', '-', '.', '(', ')'];

pub fn phone_pattern() -> String {
    format!(r"^{BLANK}*(?:[ ().-]*\+?(?:[ ().-]*[0-9]){{5,20}}[ ().-]*)?{BLANK}*$")
}

/// Digits with an optional leading `+`; separators are dropped (`+86 138-0000-0000` is
/// stored as `+8613800000000`). Blank means none.
pub fn phone(value: &str) -> Result<Option<String>, String> {
    let Some(phone) = trimmed(value) else { return Ok(None) };
    let bad = || format!("{value:?} is not a phone number: use digits with an optional leading +, e.g. +8613800000000");
    let compact: String = phone.chars().filter(|c| !PHONE_SEPARATORS.contains(c)).collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if !(5..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    Ok(Some(compact))
}

/// The longest URL the settings take.
pub const URL_MAX: usize = 2048;

/// An absolute `http://` or `https://` URL with a host, nothing blank inside, no bracket
/// in the host part (an IPv6 literal such as `[::1]` is not taken: name the host; a lone
/// bracket there is no URL at all, and clients that split URLs choke on it).
pub fn url_pattern() -> String {
    format!(r"^{BLANK}*https?://[^\s\x00-\x1f\x7f-\x9f/?#:\[\]][^\s\x00-\x1f\x7f-\x9f/?#\[\]]*(?:[/?#]{VISIBLE}*)?{BLANK}*$")
}

pub fn url(value: &str) -> Result<String, String> {
    let url = trimmed(value).unwrap_or("");
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or_else(|| format!("{url:?} must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || host.contains(['[', ']']) || value.chars().count() > URL_MAX || url.chars().any(is_blank) {
        return Err(format!("{url:?} is not a valid URL"));
    }
    Ok(url.to_owned())
}

/// `If-Match`: `*` or a list of the entity tags `GET` answers (`"v3"`).
pub const IF_MATCH_PATTERN: &str = r#"^[ \t]*(?:\*|"v[0-9]{1,19}"(?:[ \t]*,[ \t]*"v[0-9]{1,19}")*)[ \t]*$"#;

/// The versions an `If-Match` names (`None` for `*`).
pub fn if_match(value: &str) -> Result<Option<Vec<u64>>, String> {
    let bad = || "must be * or entity tags as GET gave them in ETag, e.g. \"v3\"".to_string();
    let value = value.trim_matches([' ', '\t']);
    if value == "*" {
        return Ok(None);
    }
    let tag = |t: &str| {
        let digits = t.trim_matches([' ', '\t']).strip_prefix("\"v")?.strip_suffix('"')?;
        (!digits.is_empty() && digits.len() <= 19 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok()).flatten()
    };
    value.split(',').map(tag).collect::<Option<Vec<u64>>>().map(Some).ok_or_else(bad)
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
