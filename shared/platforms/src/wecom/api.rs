//! The typed WeCom calls war rooms make: appchat (wecom.md §3), 1:1 template cards and their
//! updates (notes Q2), user lookups (§4), and the smart bot's `response_url` (notes Q1).

use super::client::{interpret, Client, Failure, Sent};
use serde::Deserialize;
use serde_json::{json, Value};
use warroom_core::{ImError, ImResult};

/// The setup item each family of calls depends on (a 60011 / 48002 names it).
const APPCHAT_SETUP: &str = "app_visibility_root_department";
const CONTACT_SETUP: &str = "contact_read";
const SEND_SETUP: &str = "api_receive_callback";
/// The smart bot's active-reply path (notes Q1, doc 101138).
const AIBOT_RESPONSE_PATH: &str = "/cgi-bin/aibot/response";
/// appchat/create: 2..=2000 members (§3); `chatid` ≤32 of [0-9a-zA-Z].
const APPCHAT_MIN_MEMBERS: usize = 2;
const APPCHAT_MAX_MEMBERS: usize = 2000;
const CHATID_MAX: usize = 32;

/// `appchat/get` → `chat_info`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AppChat {
    pub chatid: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub userlist: Vec<String>,
}

/// The answer to a template card sent with `message/send`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentCard {
    pub msgid: String,
    /// Updates the card once within 72 h (notes Q2); only interactive cards get one.
    pub response_code: Option<String>,
    /// Recipients WeCom did not deliver to (`invaliduser`, `|`-separated).
    pub invalid_users: Vec<String>,
}

/// Whose copy of a card `update_template_card` changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardTarget {
    Users(Vec<String>),
    #[allow(dead_code)] // every recipient; the platform names the members instead
    All,
}

/// What `update_template_card` changes: the whole card, or the buttons into a label.
#[derive(Clone, Debug, PartialEq)]
pub enum CardUpdate {
    Card(Value),
    #[allow(dead_code)] // the buttons turned into a label; the platform replaces the whole card
    ReplaceName(String),
}

/// `email_type` of `get_userid_by_email` (§4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailType {
    Corporate = 1,
    Personal = 2,
}

fn refused(code: &str, message: impl Into<String>) -> ImError {
    ImError::Rejected { code: code.into(), message: message.into() }
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A lookup's answer: the userid, or `None` for "no such user".
fn found(result: ImResult<Value>) -> ImResult<Option<String>> {
    match result {
        Ok(v) => Ok(str_of(&v, "userid")),
        Err(ImError::UserNotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Client {
    /// Creates an app group chat and returns its chatid. `chatid`, when given, makes a
    /// retried create fail on the duplicate instead of making a second group.
    pub(crate) async fn appchat_create(&self, name: &str, owner: &str, users: &[String], chatid: Option<&str>) -> ImResult<String> {
        if !(APPCHAT_MIN_MEMBERS..=APPCHAT_MAX_MEMBERS).contains(&users.len()) {
            return Err(refused("appchat_members", format!("an app group chat needs 2 to 2000 members, got {}", users.len())));
        }
        if let Some(id) = chatid.filter(|id| id.is_empty() || id.len() > CHATID_MAX || !id.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err(refused("appchat_chatid", format!("chatid {id:?} must be 1 to 32 letters or digits")));
        }
        let mut body = json!({"name": name, "owner": owner, "userlist": users});
        if let Some(id) = chatid {
            body["chatid"] = json!(id);
        }
        let v = self.post("/cgi-bin/appchat/create", &body, Some(APPCHAT_SETUP)).await?;
        str_of(&v, "chatid").or_else(|| chatid.map(str::to_owned)).ok_or_else(|| ImError::Transient("appchat/create answered no chatid".into()))
    }

    /// Adds and removes members, and renames (the only "close" WeCom has, notes Q3).
    pub(crate) async fn appchat_update(&self, chatid: &str, add: &[String], del: &[String], name: Option<&str>) -> ImResult<()> {
        let mut body = json!({"chatid": chatid});
        if !add.is_empty() {
            body["add_user_list"] = json!(add);
        }
        if !del.is_empty() {
            body["del_user_list"] = json!(del);
        }
        if let Some(name) = name {
            body["name"] = json!(name);
        }
        self.post("/cgi-bin/appchat/update", &body, Some(APPCHAT_SETUP)).await.map(drop)
    }

    pub(crate) async fn appchat_get(&self, chatid: &str) -> ImResult<AppChat> {
        let v = self.get("/cgi-bin/appchat/get", &[("chatid", chatid)], Some(APPCHAT_SETUP)).await?;
        serde_json::from_value(v.get("chat_info").cloned().unwrap_or(Value::Null)).map_err(|_| ImError::Transient("appchat/get answered no chat_info".into()))
    }

    /// Sends `msg` (`{"msgtype": "text" | "markdown" | "textcard" | …, <msgtype>: {…}}`) to
    /// the group; no `template_card` here (notes Q2).
    pub(crate) async fn appchat_send(&self, chatid: &str, msg: &Value) -> ImResult<()> {
        let mut body = msg.clone();
        let Some(fields) = body.as_object_mut() else { return Err(refused("appchat_send", "the message must be a JSON object")) };
        fields.insert("chatid".into(), json!(chatid));
        self.post("/cgi-bin/appchat/send", &body, Some(APPCHAT_SETUP)).await.map(drop)
    }

    /// Sends a template card 1:1 to `users` (`message/send`, msgtype `template_card`).
    pub(crate) async fn message_send_template_card(&self, users: &[String], card: &Value) -> ImResult<SentCard> {
        let body = json!({
            "touser": users.join("|"),
            "msgtype": "template_card",
            "agentid": self.credentials.agent_id,
            "template_card": card,
        });
        let v = self.post("/cgi-bin/message/send", &body, Some(SEND_SETUP)).await?;
        let invalid_users = str_of(&v, "invaliduser").map(|s| s.split('|').filter(|u| !u.is_empty()).map(str::to_owned).collect()).unwrap_or_default();
        Ok(SentCard { msgid: str_of(&v, "msgid").unwrap_or_default(), response_code: str_of(&v, "response_code"), invalid_users })
    }

    /// Updates a sent or clicked card with its single-use `response_code` (notes Q2).
    pub(crate) async fn update_template_card(&self, response_code: &str, target: &CardTarget, update: &CardUpdate) -> ImResult<()> {
        let mut body = json!({"agentid": self.credentials.agent_id, "response_code": response_code});
        match target {
            CardTarget::Users(users) => body["userids"] = json!(users),
            CardTarget::All => body["atall"] = json!(1),
        }
        match update {
            CardUpdate::Card(card) => body["template_card"] = card.clone(),
            CardUpdate::ReplaceName(name) => body["button"] = json!({"replace_name": name}),
        }
        self.post("/cgi-bin/message/update_template_card", &body, Some(SEND_SETUP)).await.map(drop)
    }

    /// The userid of a mobile number; `None` if WeCom knows no such member (§4).
    pub(crate) async fn user_by_mobile(&self, mobile: &str) -> ImResult<Option<String>> {
        found(self.post("/cgi-bin/user/getuserid", &json!({"mobile": mobile}), Some(CONTACT_SETUP)).await)
    }

    /// The userid of an email address; `None` if WeCom knows no such member (§4).
    pub(crate) async fn user_by_email(&self, email: &str, email_type: EmailType) -> ImResult<Option<String>> {
        let body = json!({"email": email, "email_type": email_type as u8});
        found(self.post("/cgi-bin/user/get_userid_by_email", &body, Some(CONTACT_SETUP)).await)
    }

    /// The `response_url` of a `response_code` (from `codec::parse_message_ref`), on the
    /// configured host.
    pub(crate) fn aibot_response_url(&self, response_code: &str) -> String {
        let query = serde_urlencoded::to_string([("response_code", response_code)]).unwrap_or_default();
        format!("{}{AIBOT_RESPONSE_PATH}?{query}", self.credentials.api())
    }

    /// POSTs `body` (`markdown` or `template_card`) to a smart bot's `response_url`: once,
    /// within 1 h, no token (notes Q1). The URL came in a callback, so only one on the
    /// configured API host and the response path is called (no SSRF); it carries a
    /// single-use code, so it is never logged.
    pub(crate) async fn aibot_respond(&self, response_url: &str, body: &Value) -> ImResult<()> {
        let foreign = || refused("foreign_response_url", "the response_url is not WeCom's aibot/response on the configured host");
        let url = reqwest::Url::parse(response_url).map_err(|_| foreign())?;
        let base = reqwest::Url::parse(self.credentials.api()).map_err(|_| foreign())?;
        let same_origin = url.scheme() == base.scheme() && url.host_str() == base.host_str() && url.port_or_known_default() == base.port_or_known_default();
        if !same_origin || url.path() != AIBOT_RESPONSE_PATH || !url.username().is_empty() || url.password().is_some() {
            return Err(foreign());
        }
        tracing::debug!(path = AIBOT_RESPONSE_PATH, "wecom aibot response");
        let sent = Sent::read(self.http.post(url).json(body).send().await).await?;
        interpret(&sent, None).map(drop).map_err(|f| match f {
            Failure::Im(e) => e,
            // No token is involved: a token code here is an expired or used response_url.
            Failure::TokenRejected(message) => refused("response_url_expired", message),
        })
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
