//! One module per resource; each page renders what the API answered.

pub mod admin;
pub mod connect;
pub mod im_sign_in;
pub mod incidents;
pub mod integrations;
pub mod links;
pub mod members;
pub mod signin;
pub mod status;

use std::collections::HashMap;
use warroom_core::Platform;
use warroom_http::AppState;
use warroom_platforms::CredentialField;

/// A query string as name → value (a malformed pair is skipped, never an error page).
pub fn query(raw: Option<&str>) -> HashMap<String, String> {
    raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

/// A platform as people name it.
pub fn platform_name(platform: &str) -> &str {
    match platform {
        "slack" => "Slack",
        "feishu" => "Feishu / Lark",
        "dingtalk" => "DingTalk",
        "wecom" => "WeCom",
        other => other,
    }
}

/// The platforms this build connects by credentials, with the fields each takes: the same
/// registry `POST /api/v1/integrations` validates against.
pub fn catalog(state: &AppState) -> Vec<(Platform, &'static [CredentialField])> {
    match state.platforms.as_deref() {
        Some(platforms) => platforms.modules().map(|m| (m.platform(), m.fields())).collect(),
        None => warroom_platforms::registry::modules().iter().map(|m| (m.platform(), m.fields())).collect(),
    }
}

/// Fields whose value is a secret: a password input, never filled back into a page.
pub fn is_secret(field: &str) -> bool {
    ["secret", "token", "key", "password"].iter().any(|w| field.contains(w))
}

/// `web_configuration_url` → "Web configuration URL".
pub fn humanize(name: &str) -> String {
    let words: Vec<String> = name
        .split('_')
        .map(|w| match w {
            "url" => "URL".to_owned(),
            "id" => "ID".to_owned(),
            "im" => "IM".to_owned(),
            w => w.to_owned(),
        })
        .collect();
    let joined = words.join(" ");
    let mut chars = joined.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().collect::<String>() + chars.as_str())
}
