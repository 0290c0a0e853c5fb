//! Callbacks to the bundle, sent as DingTalk sends them (encrypted events: [`super::events`]):
//!
//! - Robot @-mention (§2b, Q7): plaintext JSON to `robot_url` with headers `timestamp` / `sign`.
//! - Card button click (Q6): `actionCallback` JSON to the card's registered route, with
//!   `x-ddpaas-signature-timestamp` / `x-ddpaas-signature` when the route has an `apiSecret`;
//!   an HTTP 200 answer within 2 s updates the card ([`CardClick`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::crypto::{card_sign, robot_sign};
use super::state::{hex_id, App, Message};
use super::DingTalkSandbox;

/// "Timeout 2 s" for card callbacks (Q6); a later answer is not applied.
const CARD_DEADLINE: Duration = Duration::from_secs(2);
/// UNCERTAIN: the sessionWebhook lifetime is not documented; 90 minutes.
const SESSION_TTL: Duration = Duration::from_secs(90 * 60);

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("no app {0} in the sandbox")]
    UnknownApp(String),
    #[error("no group {0} in the sandbox")]
    UnknownGroup(String),
    #[error("the group {0} is disbanded")]
    GroupGone(String),
    #[error("no card {0} in the sandbox")]
    UnknownCard(String),
    #[error("the app {app} has no {what} configured")]
    NoUrl { app: String, what: &'static str },
    #[error("the app's event crypto is misconfigured: {0}")]
    Crypto(#[from] super::crypto::CryptoError),
    #[error("the bundle could not be reached: {0}")]
    Http(#[from] reqwest::Error),
}

/// One callback the sandbox sent.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Delivery {
    pub app_id: String,
    /// `event`, `robot` or `card`.
    pub channel: &'static str,
    /// `EventType` (events), `text` (robot), `actionCallback` (cards).
    pub event_type: String,
    pub url: String,
    /// The payload before encryption.
    pub plaintext: Value,
    /// The exact request body.
    pub body: String,
    /// Signature headers or query parameters sent with it.
    pub signing: Vec<(String, String)>,
}

/// The bundle's answer to a card click.
#[derive(Clone, Debug)]
pub struct CardClick {
    pub status: u16,
    pub body: String,
    pub json: Option<Value>,
    pub elapsed: Duration,
    /// The answer's `cardData` / `userPrivateData` were applied (HTTP 200 within 2 s).
    pub applied: bool,
}

pub(crate) fn wall_ms() -> String {
    // Real wall time, not the sandbox clock: freshness checks run on the bundle's clock.
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis().to_string()
}

impl DingTalkSandbox {
    /// Every callback sent so far, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    pub fn last_delivery(&self) -> Option<Delivery> {
        self.lock().deliveries.last().cloned()
    }

    pub(crate) fn app(&self, client_id: &str) -> Result<App, CallbackError> {
        self.lock().apps.get(client_id).cloned().ok_or_else(|| CallbackError::UnknownApp(client_id.to_string()))
    }

    /// A user @-mentions the group's robot with `text`: the message is stored in the group and
    /// sent, signed, to the app's robot URL with a fresh `sessionWebhook` (§2b, Q7).
    pub async fn mention_robot(&self, ocid: &str, sender: &str, text: &str) -> Result<reqwest::Response, CallbackError> {
        let d = {
            let mut st = self.lock();
            let group = st.group(ocid).ok_or_else(|| CallbackError::UnknownGroup(ocid.to_string()))?.clone();
            if group.disbanded {
                return Err(CallbackError::GroupGone(ocid.to_string()));
            }
            let app = st.apps.get(&group.app).cloned().ok_or_else(|| CallbackError::UnknownApp(group.app.clone()))?;
            let url = app.robot_url.clone().ok_or_else(|| CallbackError::NoUrl { app: app.client_id.clone(), what: "robot message URL" })?;
            let now = st.now();
            let session = hex_id(16);
            st.sessions.insert(session.clone(), (ocid.to_string(), now + SESSION_TTL));
            let user = st.user(sender).cloned();
            let msg_id = format!("msg{}", hex_id(12));
            let bot_id = format!("$:LWCP_v1:${}", hex_id(12));
            let payload = json!({
                "msgtype": "text", "text": {"content": text}, "msgId": msg_id,
                "createAt": st.wall_ms(now) as u64, "conversationType": "2",
                "conversationId": ocid, "conversationTitle": group.title,
                "senderId": format!("$:LWCP_v1:${}", hex_id(12)), "senderNick": user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
                "senderCorpId": app.corp_id, "senderStaffId": sender,
                "senderUnionId": user.as_ref().map(|u| u.union_id.clone()).unwrap_or_default(),
                "chatbotUserId": bot_id, "chatbotCorpId": app.corp_id, "robotCode": group.robot_code,
                "isAdmin": sender == group.owner, "isInAtList": true, "atUsers": [{"dingtalkId": bot_id}],
                "sessionWebhook": format!("{}/robot/sendBySession?session={session}", st.base_url),
                "sessionWebhookExpiredTime": st.wall_ms(now + SESSION_TTL) as u64,
            });
            let param = json!({"content": text});
            let stored = Message { id: msg_id, sender: sender.to_string(), from_robot: false, msg_key: "text".to_string(), param, at: now };
            if let Some(g) = st.group_mut(ocid) {
                g.messages.push(stored);
            }
            // UNCERTAIN (Q7): scene-group robots may sign with their own token; the sandbox
            // signs with the app's AppSecret, as the official page says for app robots.
            let timestamp = wall_ms();
            let sign = robot_sign(&app.client_secret, &timestamp);
            let signing = vec![("timestamp".to_string(), timestamp), ("sign".to_string(), sign)];
            let d = Delivery {
                app_id: app.client_id.clone(),
                channel: "robot",
                event_type: "text".into(),
                url,
                body: payload.to_string(),
                plaintext: payload,
                signing,
            };
            st.deliveries.push(d.clone());
            d
        };
        let mut rb = self.inner.http.post(&d.url).header("content-type", "application/json");
        for (name, value) in &d.signing {
            rb = rb.header(name.as_str(), value.as_str());
        }
        Ok(rb.body(d.body).send().await?)
    }

    /// A user clicks the button `action_id` (with its `params`) on the card `out_track_id`.
    pub async fn click_card(&self, out_track_id: &str, user: &str, action_id: &str, params: Value) -> Result<CardClick, CallbackError> {
        let d = {
            let mut st = self.lock();
            let card = st.card(out_track_id).ok_or_else(|| CallbackError::UnknownCard(out_track_id.to_string()))?.clone();
            let ocid = card.group.clone().ok_or_else(|| CallbackError::UnknownCard(out_track_id.to_string()))?;
            if st.group(&ocid).is_none_or(|g| g.disbanded) {
                return Err(CallbackError::GroupGone(ocid));
            }
            let app = st.apps.get(&card.app).cloned().ok_or_else(|| CallbackError::UnknownApp(card.app.clone()))?;
            let no_route = || CallbackError::NoUrl { app: app.client_id.clone(), what: "card callback route" };
            let key = card.callback_route_key.clone().ok_or_else(no_route)?;
            let route = st.card_routes.get(&(app.client_id.clone(), key)).cloned().ok_or_else(no_route)?;
            let content = json!({"cardPrivateData": {"actionIds": [action_id], "params": params}});
            let payload = json!({"type": "actionCallback", "outTrackId": out_track_id, "corpId": app.corp_id, "userId": user,
                                 "content": content.to_string(), "extension": "{}"});
            let mut signing = Vec::new();
            if let Some(secret) = &route.api_secret {
                // UNCERTAIN (Q6): the timestamp unit is not stated; milliseconds.
                let ts = wall_ms();
                signing = vec![("x-ddpaas-signature".to_string(), card_sign(secret, &ts)), ("x-ddpaas-signature-timestamp".to_string(), ts)];
            }
            let d = Delivery {
                app_id: app.client_id.clone(),
                channel: "card",
                event_type: "actionCallback".into(),
                url: route.url,
                body: payload.to_string(),
                plaintext: payload,
                signing,
            };
            st.deliveries.push(d.clone());
            d
        };
        let mut rb = self.inner.http.post(&d.url).header("content-type", "application/json");
        for (name, value) in &d.signing {
            rb = rb.header(name.as_str(), value.as_str());
        }
        let started = Instant::now();
        let resp = rb.body(d.body).send().await?;
        let status = resp.status().as_u16();
        let body = resp.text().await?;
        let elapsed = started.elapsed();
        let json: Option<Value> = serde_json::from_str(&body).ok();
        let applied = match json.as_ref().filter(|_| status == 200 && elapsed <= CARD_DEADLINE) {
            Some(answer) => self.apply_card_answer(out_track_id, user, answer),
            None => false,
        };
        Ok(CardClick { status, body, json, elapsed, applied })
    }

    /// `{"cardData":{"cardParamMap"}, "userPrivateData":{"cardParamMap"}, "cardUpdateOptions"}` (Q6).
    fn apply_card_answer(&self, out_track_id: &str, user: &str, answer: &Value) -> bool {
        let strings = |v: &Value| -> BTreeMap<String, String> {
            v.as_object().into_iter().flatten().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect()
        };
        let data = strings(&answer["cardData"]["cardParamMap"]);
        let private = strings(&answer["userPrivateData"]["cardParamMap"]);
        if data.is_empty() && private.is_empty() {
            return false;
        }
        let options = &answer["cardUpdateOptions"];
        let private = if private.is_empty() { BTreeMap::new() } else { BTreeMap::from([(user.to_string(), private)]) };
        let mut st = self.lock();
        let Some(card) = st.card_mut(out_track_id) else { return false };
        super::cards::apply(card, data, options["updateCardDataByKey"] == json!(true), private, options["updatePrivateDataByKey"] == json!(true));
        true
    }
}
