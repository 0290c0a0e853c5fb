//! Small pure helpers: channel names, Slack timestamps, length limits.

use warroom_core::Timestamp;

/// Slack channel names: lowercase, at most 80 characters, no spaces or periods
/// (conversations.create errors `invalid_name_specials`: "contained unallowed special
/// characters or upper case characters", `invalid_name_maxlength`). Slack tolerates
/// more than this, but Warroom keeps to `a-z 0-9 - _`, which is always accepted.
pub const MAX_CHANNEL_NAME: usize = 80;

/// Makes any requested name a valid channel name: lowercased, every other character
/// turned into `-`, runs of `-` collapsed, trimmed, at most 80 characters.
pub fn sanitize_channel_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(MAX_CHANNEL_NAME));
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(MAX_CHANNEL_NAME); // ASCII only by now, so bytes are characters
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "warroom".to_string()
    } else {
        out
    }
}

/// `name` with `-{n}` appended, still within 80 characters.
pub fn with_suffix(name: &str, n: u32) -> String {
    let suffix = format!("-{n}");
    let mut base = name.to_string();
    base.truncate(MAX_CHANNEL_NAME - suffix.len());
    format!("{}{suffix}", base.trim_end_matches('-'))
}

/// A Slack `ts` (`"1663966382.046509"`, seconds with a microsecond fraction) as epoch ms.
pub fn parse_ts(ts: &str) -> Option<Timestamp> {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    let secs: i64 = secs.parse().ok()?;
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let millis: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    // Checked: a `ts` past i64::MAX / 1000 seconds is garbage, not a panic (found by fuzzing).
    Some(Timestamp(secs.checked_mul(1000)?.checked_add(millis)?))
}

/// At most `max` characters; a cut is marked with `…`.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_lowercase_ascii_dashes_and_at_most_80_chars() {
        assert_eq!(sanitize_channel_name("INC-42 DB is Down!"), "inc-42-db-is-down");
        assert_eq!(sanitize_channel_name("  --a..b__c--  "), "a-b__c");
        assert_eq!(sanitize_channel_name("数据库"), "warroom");
        assert_eq!(sanitize_channel_name(""), "warroom");
        let long = sanitize_channel_name(&"x".repeat(200));
        assert_eq!(long.len(), 80);
        assert!(!sanitize_channel_name(&format!("{}-y", "a".repeat(79))).ends_with('-'));
    }

    #[test]
    fn a_suffixed_name_stays_within_80_chars() {
        assert_eq!(with_suffix("inc-42", 2), "inc-42-2");
        let long = with_suffix(&"a".repeat(80), 2);
        assert_eq!(long.len(), 80);
        assert!(long.ends_with("-2"));
    }

    #[test]
    fn slack_ts_parses_to_milliseconds() {
        assert_eq!(parse_ts("1663966382.046509"), Some(Timestamp(1_663_966_382_046)));
        assert_eq!(parse_ts("1663966382.5"), Some(Timestamp(1_663_966_382_500)));
        assert_eq!(parse_ts("1663966382"), Some(Timestamp(1_663_966_382_000)));
        assert_eq!(parse_ts("abc"), None);
        assert_eq!(parse_ts("1.2x"), None);
        // Seconds whose milliseconds overflow i64 (fuzz/seeds/slack_events/regression-ts-overflow).
        assert_eq!(parse_ts("15154449522000016"), None);
        assert_eq!(parse_ts("9223372036854775.807"), Some(Timestamp(i64::MAX)));
        assert_eq!(parse_ts("9223372036854775.808"), None);
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("héllo", 10), "héllo");
        assert_eq!(truncate_chars("héllo wörld", 5), "héll…");
    }
}
