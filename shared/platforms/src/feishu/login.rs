//! Linking by signing in from the Feishu app (seed 003: "First access requires login to
//! link Feishu/Lark and Flashduty accounts"): the app's web homepage sends the member to
//! the authorize page; Feishu redirects back with a `code` (valid 5 minutes, single use;
//! inside the Feishu client no consent screen is shown), which is exchanged for a
//! user_access_token, which reads who signed in.
//!
//! Sources:
//! - authorize page `GET https://accounts.feishu.cn/open-apis/authen/v1/authorize` with
//!   `client_id`, `redirect_uri`, `state` (+ optional `scope`):
//!   https://open.larkoffice.com/document/common-capabilities/sso/api/obtain-oauth-code.md
//!   (the query parameter names are from third-party users of that page — UNCERTAIN, as is
//!   `response_type=code`, which they add; the Lark host `accounts.larksuite.com` is assumed by analogy — UNCERTAIN);
//! - token `POST https://open.feishu.cn/open-apis/authen/v2/oauth/token`, RFC 6749 style
//!   (`grant_type=authorization_code`, `client_id`, `client_secret`, `code`,
//!   `redirect_uri`), answer at the top level (`access_token`, `expires_in`, …), no app
//!   token needed: https://open.larkoffice.com/document/authentication-management/access-token/get-user-access-token.md
//!   and `larksuite/oapi-sdk-go` `core/usertoken/oauth_token.go`;
//! - user info `GET /open-apis/authen/v1/user_info` (Bearer user_access_token) → `data`
//!   {`open_id`, `name`, `email`, `mobile`, …}: `larksuite/oapi-sdk-python`
//!   `lark_oapi/api/authen/v1/model/get_user_info_request.py` / `user_info.py`.
//!   `email` / `mobile` come only with the matching user scopes, hence optional.

use super::client::{classify, Failure, Sent};
use super::{FeishuCredentials, FEISHU_BASE, LARK_BASE};
use serde_json::{json, Value};
use warroom_core::{ImError, ImResult};

/// Who signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginUser {
    pub open_id: String,
    pub name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
}

/// The accounts host serving the authorize page; the sandbox serves it itself.
fn accounts_base(credentials: &FeishuCredentials) -> String {
    match credentials.base() {
        FEISHU_BASE => "https://accounts.feishu.cn".into(),
        LARK_BASE => "https://accounts.larksuite.com".into(),
        other => other.to_owned(),
    }
}

/// The page to send the member to. `state` must be single-use and checked on return.
pub fn authorize_url(credentials: &FeishuCredentials, redirect_uri: &str, state: &str) -> String {
    let query =
        serde_urlencoded::to_string([("client_id", credentials.app_id.as_str()), ("redirect_uri", redirect_uri), ("response_type", "code"), ("state", state)])
            .expect("strings always encode");
    format!("{}/open-apis/authen/v1/authorize?{query}", accounts_base(credentials))
}

/// Exchanges the `code` for a user_access_token and reads the user. `redirect_uri` must be
/// the one the authorize URL carried (RFC 6749 §4.1.3). The token is used once, never kept.
pub async fn login_user(http: &reqwest::Client, credentials: &FeishuCredentials, redirect_uri: &str, code: &str) -> ImResult<LoginUser> {
    let url = format!("{}/open-apis/authen/v2/oauth/token", credentials.base());
    let body = json!({
        "grant_type": "authorization_code",
        "client_id": credentials.app_id,
        "client_secret": credentials.app_secret,
        "code": code,
        "redirect_uri": redirect_uri,
    });
    let sent = Sent::read(http.post(url).json(&body).send().await).await?;
    let answer: Value = serde_json::from_slice(&sent.body).unwrap_or(Value::Null);
    let token = answer.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty());
    // `code` is 0 on success; one third-party note says it may be the string "0".
    let ok_code = matches!(answer.get("code"), None | Some(Value::Null)) || answer["code"] == 0 || answer["code"] == "0";
    let token = match (sent.status, token) {
        (200, Some(token)) if ok_code => token.to_owned(),
        (429, _) => return Err(ImError::RateLimited { retry_after: std::time::Duration::from_secs(1) }),
        (s, _) if s >= 500 => return Err(ImError::Transient(format!("Feishu answered HTTP {s} to the code exchange"))),
        (401, _) => return Err(ImError::Unauthorized("Feishu refused the app credentials for sign-in".into())),
        _ => {
            // OAuth errors: `error` / `error_description` (oapi-sdk-go `oauthTokenResponseBody`).
            let code = match answer.get("code") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => "oauth".into(),
            };
            let text = answer["error_description"].as_str().or(answer["error"].as_str()).or(answer["msg"].as_str()).unwrap_or("the sign-in code was refused");
            return Err(ImError::Rejected { code, message: text.to_owned() });
        }
    };

    let url = format!("{}/open-apis/authen/v1/user_info", credentials.base());
    let sent = Sent::read(http.get(url).bearer_auth(&token).send().await).await?;
    let envelope = classify(&sent).map_err(|f| match f {
        Failure::TokenRejected(msg) => ImError::Unauthorized(msg),
        Failure::Im(e) => e,
    })?;
    let data = &envelope["data"];
    let field = |k: &str| data.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(LoginUser {
        open_id: field("open_id").ok_or_else(|| ImError::Rejected { code: "bad_response".into(), message: "user info without open_id".into() })?,
        name: field("name").unwrap_or_default(),
        email: field("email").or_else(|| field("enterprise_email")),
        mobile: field("mobile"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(base: &str) -> FeishuCredentials {
        FeishuCredentials { app_id: "cli_1".into(), app_secret: "s".into(), verification_token: "v".into(), encrypt_key: String::new(), base_url: base.into() }
    }

    #[test]
    fn the_authorize_url_points_at_the_accounts_host_with_encoded_parameters() {
        let url = authorize_url(&creds(FEISHU_BASE), "https://w.example/oauth/int_1/callback", "st 1");
        assert_eq!(
            url,
            "https://accounts.feishu.cn/open-apis/authen/v1/authorize?client_id=cli_1&redirect_uri=https%3A%2F%2Fw.example%2Foauth%2Fint_1%2Fcallback&response_type=code&state=st+1"
        );
        assert!(authorize_url(&creds(LARK_BASE), "r", "s").starts_with("https://accounts.larksuite.com/"));
        assert!(authorize_url(&creds("http://127.0.0.1:9/"), "r", "s").starts_with("http://127.0.0.1:9/open-apis/authen/v1/authorize?"));
    }
}
