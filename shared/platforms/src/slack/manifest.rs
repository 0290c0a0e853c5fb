//! A Slack app manifest (YAML) that creates a correctly configured Warroom app in one
//! paste ("Create New App" → "From an app manifest").
//!
//! Schema: docs.slack.dev/reference/app-manifest — `display_information.name` ≤ 35
//! characters, `description` ≤ 140; `features.bot_user.display_name` ≤ 80 characters of
//! `a-z 0-9 - _ .`; `oauth_config.redirect_urls` and `oauth_config.scopes.bot`;
//! `settings.event_subscriptions.{request_url, bot_events}`;
//! `settings.interactivity.{is_enabled, request_url}`; `settings.token_rotation_enabled`.

use super::REQUIRED_SCOPES;

/// The bot events Warroom subscribes to: mentions, channel messages (public and
/// private, for the transcript and text commands), joins, and the chat or the app
/// going away.
pub const BOT_EVENTS: &[&str] = &[
    "app_mention",
    "message.channels",
    "message.groups",
    "member_joined_channel",
    "channel_archive",
    "channel_deleted",
    "group_archive",
    "group_deleted",
    "app_uninstalled",
    "tokens_revoked",
];

const NAME_MAX: usize = 35;
const DISPLAY_NAME_MAX: usize = 80;
const DESCRIPTION: &str = "Incident war rooms: a channel per incident, its responders invited, a live status card.";

/// The manifest for the deployment's own app (`integration_id` = `None`: events at
/// `/im/slack/events`, buttons at `/im/slack/interactions`) or for a tenant's
/// self-managed app (`/im/{integration_id}/events` and `/im/{integration_id}/cards`).
pub fn manifest(app_name: &str, public_url: &str, integration_id: Option<&str>) -> String {
    let base = public_url.trim_end_matches('/');
    let (events_url, interactions_url) = match integration_id {
        None => (format!("{base}/im/slack/events"), format!("{base}/im/slack/interactions")),
        Some(id) => (format!("{base}/im/{id}/events"), format!("{base}/im/{id}/cards")),
    };
    let name: String = app_name.trim().chars().take(NAME_MAX).collect();
    let name = name.trim_end();
    let name = if name.is_empty() { "Warroom".to_string() } else { name.to_string() };

    let mut y = String::new();
    y.push_str("# Slack app manifest for Warroom (schema: https://docs.slack.dev/reference/app-manifest)\n");
    y.push_str("display_information:\n");
    y.push_str(&format!("  name: {}\n", quote(&name)));
    y.push_str(&format!("  description: {}\n", quote(DESCRIPTION)));
    y.push_str("features:\n  bot_user:\n");
    y.push_str(&format!("    display_name: {}\n", quote(&display_name(&name))));
    y.push_str("    always_online: true\n");
    y.push_str("oauth_config:\n  redirect_urls:\n");
    // Used by the OAuth install of the deployment's app; harmless for a self-managed app,
    // which is installed from its own settings page.
    y.push_str(&format!("    - {}\n", quote(&format!("{base}/oauth/slack/callback"))));
    y.push_str("  scopes:\n    bot:\n");
    for (scope, _) in REQUIRED_SCOPES {
        y.push_str(&format!("      - {}\n", quote(scope)));
    }
    y.push_str("settings:\n  event_subscriptions:\n");
    y.push_str(&format!("    request_url: {}\n", quote(&events_url)));
    y.push_str("    bot_events:\n");
    for event in BOT_EVENTS {
        y.push_str(&format!("      - {}\n", quote(event)));
    }
    y.push_str("  interactivity:\n    is_enabled: true\n");
    y.push_str(&format!("    request_url: {}\n", quote(&interactions_url)));
    y.push_str("  org_deploy_enabled: false\n");
    y.push_str("  socket_mode_enabled: false\n");
    // Warroom stores one long-lived bot token and has no refresh flow: rotation off.
    y.push_str("  token_rotation_enabled: false\n");
    y
}

/// A YAML double-quoted scalar: safe for any text (colons, `#`, quotes).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The bot's display name: the app name in the allowed `a-z 0-9 - _ .`.
fn display_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.') { c } else { '-' };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    out.truncate(DISPLAY_NAME_MAX);
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "warroom".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_scope_and_event_is_in_the_manifest() {
        let m = manifest("Warroom", "https://wr.example/", None);
        for (scope, _) in REQUIRED_SCOPES {
            assert!(m.contains(&format!("      - \"{scope}\"\n")), "missing scope {scope}:\n{m}");
        }
        for event in BOT_EVENTS {
            assert!(m.contains(&format!("      - \"{event}\"\n")), "missing event {event}:\n{m}");
        }
        assert_eq!(BOT_EVENTS.len(), 10);
    }

    #[test]
    fn the_deployment_app_points_at_the_shared_slack_routes() {
        let m = manifest("Warroom", "https://wr.example/", None);
        assert!(m.contains("  event_subscriptions:\n    request_url: \"https://wr.example/im/slack/events\"\n"), "{m}");
        assert!(m.contains("  interactivity:\n    is_enabled: true\n    request_url: \"https://wr.example/im/slack/interactions\"\n"), "{m}");
        assert!(m.contains("  redirect_urls:\n    - \"https://wr.example/oauth/slack/callback\"\n"), "{m}");
        assert!(m.contains("token_rotation_enabled: false"));
    }

    #[test]
    fn a_self_managed_app_points_at_its_integration_routes() {
        let m = manifest("Acme Incidents", "https://wr.example", Some("int_abc"));
        assert!(m.contains("request_url: \"https://wr.example/im/int_abc/events\""), "{m}");
        assert!(m.contains("request_url: \"https://wr.example/im/int_abc/cards\""), "{m}");
        assert!(m.contains("display_name: \"acme-incidents\""), "{m}");
    }

    #[test]
    fn names_are_quoted_and_kept_within_slacks_limits() {
        let m = manifest("War \"room\": #1 and a very long name indeed, way past 35", "https://x", None);
        assert!(m.contains("  name: \"War \\\"room\\\": #1 and a very long name\"\n"), "{m}");
        assert_eq!(display_name("War \"room\": #1"), "war-room-1");
        assert_eq!(display_name("数据"), "warroom");
    }
}
