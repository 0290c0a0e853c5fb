//! OAuth v2 install: the authorize URL and the code exchange (`oauth.v2.access`).

use super::client::{execute, form_request, split_scopes};
use super::SlackCredentials;
use serde::Deserialize;
use warroom_core::ImError;
use warroom_secrets::Secret;

/// `{oauth_base}/oauth/v2/authorize?client_id&scope=a,b&redirect_uri&state`. The flow must
/// start there (oauth.v2.access error `oauth_authorization_url_mismatch`).
pub fn authorize_url(oauth_base: &str, client_id: &str, scopes: &[&str], redirect_uri: &str, state: &str) -> String {
    let scope = scopes.join(",");
    let query = serde_urlencoded::to_string([("client_id", client_id), ("scope", scope.as_str()), ("redirect_uri", redirect_uri), ("state", state)])
        .unwrap_or_default();
    format!("{}/oauth/v2/authorize?{query}", oauth_base.trim_end_matches('/'))
}

/// What an install grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthGrant {
    pub credentials: SlackCredentials,
    /// The bot token's scopes (the comma-separated `scope` field).
    pub scopes: Vec<String>,
    pub team_name: Option<String>,
}

// oauth.v2.access output (slack-api-ref `docs.slack.dev/methods/oauth.v2.access.json`).
#[derive(Deserialize)]
struct Access {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    bot_user_id: Option<String>,
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    team: Option<Team>,
}

#[derive(Deserialize)]
struct Team {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

/// Exchanges an authorization `code` for the bot token. The client id and secret go in
/// HTTP Basic auth, as the docs recommend over form parameters.
pub async fn exchange_code(
    http: &reqwest::Client,
    api_base: &str,
    client_id: &str,
    client_secret: &Secret,
    code: &str,
    redirect_uri: &str,
) -> Result<OAuthGrant, ImError> {
    const METHOD: &str = "oauth.v2.access";
    let url = format!("{}/{METHOD}", api_base.trim_end_matches('/'));
    let request = form_request(http, &url, METHOD, &[("code", code), ("redirect_uri", redirect_uri)])?.basic_auth(client_id, Some(client_secret.expose()));
    let access: Access = execute(METHOD, request, super::client::REQUEST_TIMEOUT).await?.body;
    let refuse = |code: &str, message: &str| ImError::Rejected { code: code.into(), message: message.into() };
    // Without bot scopes there is no bot token, and Warroom only acts as the bot.
    let bot_token = access.access_token.filter(|t| !t.is_empty()).ok_or_else(|| refuse("no_bot_token", "the install granted no bot token"))?;
    // `team` is null for org-wide (Enterprise Grid) installs, which Warroom does not support.
    let team = access.team.ok_or_else(|| refuse("org_install_unsupported", "org-wide installs are not supported; install to a workspace"))?;
    Ok(OAuthGrant {
        credentials: SlackCredentials { bot_token, team_id: team.id, bot_user_id: access.bot_user_id, app_id: access.app_id, signing_secret: None },
        scopes: split_scopes(&access.scope),
        team_name: team.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::test_stub::{Reply, Stub};
    use serde_json::json;

    #[test]
    fn the_authorize_url_lists_scopes_comma_separated_and_encodes_every_part() {
        let url = authorize_url("https://slack.com/", "123.456", &["chat:write", "groups:write"], "https://wr.example/oauth/slack/callback", "s t&x");
        assert_eq!(
            url,
            "https://slack.com/oauth/v2/authorize?client_id=123.456&scope=chat%3Awrite%2Cgroups%3Awrite\
             &redirect_uri=https%3A%2F%2Fwr.example%2Foauth%2Fslack%2Fcallback&state=s+t%26x"
        );
    }

    #[tokio::test]
    async fn a_code_exchanges_for_bot_credentials_with_basic_auth() {
        let stub = Stub::start(|_| {
            // The docs' success example.
            Reply::ok(json!({
                "ok": true, "access_token": "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", "token_type": "bot",
                "scope": "commands,incoming-webhook", "bot_user_id": "U0KRQLJ9H", "app_id": "A0KRD7HC3",
                "team": {"name": "Slack Softball Team", "id": "T9TK3CUKW"}, "enterprise": {"name": "slack-sports", "id": "E12345678"},
                "authed_user": {"id": "U1234", "scope": "chat:write", "access_token": "xoxp-1234", "token_type": "user"}
            }))
        })
        .await;
        let http = reqwest::Client::new();
        let grant = exchange_code(&http, &stub.base, "cid", &Secret::new("csecret"), "the-code", "https://wr.example/cb").await.unwrap();
        assert_eq!(grant.credentials.bot_token, "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy");
        assert_eq!(grant.credentials.team_id, "T9TK3CUKW");
        assert_eq!(grant.credentials.bot_user_id.as_deref(), Some("U0KRQLJ9H"));
        assert_eq!(grant.credentials.app_id.as_deref(), Some("A0KRD7HC3"));
        assert_eq!(grant.scopes, ["commands", "incoming-webhook"]);
        assert_eq!(grant.team_name.as_deref(), Some("Slack Softball Team"));
        assert!(!format!("{grant:?}").contains("xoxb-"), "the grant's Debug must not show the token");

        let call = &stub.calls_to("oauth.v2.access")[0];
        // base64("cid:csecret")
        assert_eq!(call.authorization.as_deref(), Some("Basic Y2lkOmNzZWNyZXQ="));
        assert_eq!(call.form().get("code").map(String::as_str), Some("the-code"));
        assert_eq!(call.form().get("redirect_uri").map(String::as_str), Some("https://wr.example/cb"));
        assert!(!call.body.contains("csecret"), "the secret travels in the header only");
    }

    #[tokio::test]
    async fn a_refused_code_is_rejected_with_slacks_code() {
        let stub = Stub::start(|_| Reply::ok(json!({"ok": false, "error": "invalid_code"}))).await;
        let err = exchange_code(&reqwest::Client::new(), &stub.base, "cid", &Secret::new("s"), "bad", "https://x/cb").await.unwrap_err();
        assert!(matches!(err, ImError::Rejected { ref code, .. } if code == "invalid_code"), "{err:?}");
    }
}
