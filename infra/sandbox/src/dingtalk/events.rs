//! Encrypted HTTP event subscription (§2a): `POST <event_url>?msg_signature&timeStamp&nonce`
//! with `{"encrypt": …}`; the bundle must answer the encrypted, signed `success` ([`EventAck`]).
//! Events: `check_url`, and group events when a member disbands the group or changes members
//! inside DingTalk ([`group_event`]).

use serde_json::{json, Value};

use super::callbacks::{wall_ms, CallbackError, Delivery};
use super::crypto::EventCrypto;
use super::state::{alnum, App, State};
use super::DingTalkSandbox;

/// The bundle's answer to an encrypted event.
#[derive(Clone, Debug)]
pub struct EventAck {
    pub status: u16,
    pub body: String,
    /// The answer is the signed, encrypted `success` §2a requires (else DingTalk counts a failure).
    pub acknowledged: bool,
    /// Why it is not, when it is not.
    pub problem: Option<String>,
}

fn event_crypto(app: &App) -> Result<EventCrypto, CallbackError> {
    // UNCERTAIN (§2a): the owner key of a console-configured internal-app subscription is the AppKey.
    Ok(EventCrypto::new(&app.event_token, &app.event_aes_key, &app.client_id)?)
}

/// A group event's payload. UNCERTAIN (the one place): the reference names no group event; the
/// sandbox uses DingTalk's classic 群会话事件 names (`chat_disband`, `chat_add_member`,
/// `chat_remove_member`) and PascalCase fields like `check_url`'s `EventType`.
pub(crate) fn group_event(st: &State, event_type: &str, ocid: &str, operator: &str, users: &[String]) -> Value {
    let group = st.group(ocid);
    let mut event = json!({
        "EventType": event_type,
        "ChatId": group.map(|g| g.chat_id.clone()).unwrap_or_default(),
        "OpenConversationId": ocid,
        "Operator": operator,
        "OperatorUnionId": st.user(operator).map(|u| u.union_id.clone()).unwrap_or_default(),
        "CorpId": group.and_then(|g| st.apps.get(&g.app)).map(|a| a.corp_id.clone()).unwrap_or_default(),
        "TimeStamp": st.wall_ms(st.now()).to_string(),
    });
    if !users.is_empty() {
        event["UserId"] = json!(users);
    }
    event
}

impl DingTalkSandbox {
    /// Sends one encrypted event to the app's event URL and checks the answer.
    async fn push_event(&self, app: &App, event: Value) -> Result<EventAck, CallbackError> {
        let url = app.event_url.clone().ok_or_else(|| CallbackError::NoUrl { app: app.client_id.clone(), what: "event subscription URL" })?;
        let crypto = event_crypto(app)?;
        let (timestamp, nonce) = (wall_ms(), alnum(8));
        let encrypt = crypto.encrypt(&event.to_string());
        let signature = crypto.signature(&timestamp, &nonce, &encrypt);
        let body = json!({"encrypt": encrypt}).to_string();
        let signing = vec![("msg_signature".to_string(), signature), ("timeStamp".to_string(), timestamp), ("nonce".to_string(), nonce)];
        let event_type = event["EventType"].as_str().unwrap_or_default().to_string();
        let d = Delivery {
            app_id: app.client_id.clone(),
            channel: "event",
            event_type,
            url: url.clone(),
            plaintext: event,
            body: body.clone(),
            signing: signing.clone(),
        };
        self.lock().deliveries.push(d);
        let sep = if url.contains('?') { '&' } else { '?' };
        let target = format!("{url}{sep}{}", serde_urlencoded::to_string(&signing).unwrap_or_default());
        let resp = self.inner.http.post(target).header("content-type", "application/json").body(body).send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let problem = if status == 200 { check_ack(&crypto, &text).err() } else { Some(format!("HTTP {status}")) };
        Ok(EventAck { status, body: text, acknowledged: problem.is_none(), problem })
    }

    /// The registration handshake: `{"EventType":"check_url"}` (§2a).
    pub async fn check_url(&self, client_id: &str) -> Result<EventAck, CallbackError> {
        let app = self.app(client_id)?;
        self.push_event(&app, json!({"EventType": "check_url"})).await
    }

    /// A member disbands the group inside DingTalk: the group is gone, and `chat_disband` goes
    /// to the app's event URL (`None` when it has none).
    pub async fn disband_from_inside(&self, ocid: &str, operator: &str) -> Result<Option<EventAck>, CallbackError> {
        let (app, event) = {
            let mut st = self.lock();
            let group = st.group_mut(ocid).ok_or_else(|| CallbackError::UnknownGroup(ocid.to_string()))?;
            if group.disbanded {
                return Err(CallbackError::GroupGone(ocid.to_string()));
            }
            group.disbanded = true;
            let app = group.app.clone();
            (st.apps.get(&app).cloned().ok_or(CallbackError::UnknownApp(app))?, group_event(&st, "chat_disband", ocid, operator, &[]))
        };
        if app.event_url.is_none() {
            return Ok(None);
        }
        self.push_event(&app, event).await.map(Some)
    }

    /// A member adds (`add`) or removes users inside DingTalk: `chat_add_member` /
    /// `chat_remove_member` with the users that changed.
    pub async fn change_members_from_inside(&self, ocid: &str, operator: &str, users: &[&str], add: bool) -> Result<Option<EventAck>, CallbackError> {
        let (app, event) = {
            let mut st = self.lock();
            let group = st.group_mut(ocid).ok_or_else(|| CallbackError::UnknownGroup(ocid.to_string()))?;
            if group.disbanded {
                return Err(CallbackError::GroupGone(ocid.to_string()));
            }
            let mut changed = Vec::new();
            for u in users.iter().map(|u| u.to_string()) {
                let member = group.members.contains(&u);
                if add && !member {
                    group.members.push(u.clone());
                    changed.push(u);
                } else if !add && member && u != group.owner {
                    group.members.retain(|m| *m != u);
                    changed.push(u);
                }
            }
            let app = group.app.clone();
            let kind = if add { "chat_add_member" } else { "chat_remove_member" };
            (st.apps.get(&app).cloned().ok_or(CallbackError::UnknownApp(app))?, group_event(&st, kind, ocid, operator, &changed))
        };
        if app.event_url.is_none() {
            return Ok(None);
        }
        self.push_event(&app, event).await.map(Some)
    }
}

/// §2a: the answer must be `{"msg_signature","timeStamp","nonce","encrypt"}` whose signature
/// verifies and whose `encrypt` decrypts (owner key included) to `success`.
fn check_ack(crypto: &EventCrypto, body: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(body).map_err(|_| "the answer is not JSON".to_string())?;
    let field = |k: &str| v[k].as_str().ok_or_else(|| format!("the answer has no {k}"));
    let (sig, ts, nonce, encrypt) = (field("msg_signature")?, field("timeStamp")?, field("nonce")?, field("encrypt")?);
    if !crypto.verify(sig, ts, nonce, encrypt) {
        return Err("msg_signature does not verify".into());
    }
    match crypto.decrypt(encrypt) {
        Ok(s) if s == "success" => Ok(()),
        Ok(other) => Err(format!("decrypts to {other:?}, not \"success\"")),
        Err(e) => Err(e.to_string()),
    }
}
