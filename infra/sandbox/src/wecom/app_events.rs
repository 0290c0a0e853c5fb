//! App callbacks (§2 POST, notes Q2): a member clicks a button of the template card the app
//! sent them. WeCom POSTs `<xml><ToUserName/><Encrypt/><AgentID/></xml>` to the app's URL; the
//! decrypted event (doc 90240) is `MsgType=event`, `Event=template_card_event`, `EventKey`,
//! `TaskId`, `CardType`, a fresh single-use `ResponseCode`, `AgentID`. A passive reply
//! (doc 90241) `update_button` (`Button/ReplaceName`) or `update_template_card`
//! (`TemplateCard`) updates **only the clicker's card**.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::callbacks::{open_passive, seal, with_query, CallbackError, Delivery, Endpoint, Keys, Passive};
use super::cards::{apply_update, new_code};
use super::state::CodeScope;
use super::xml::{self, Field};
use super::WeComSandbox;

/// What a card click did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppClick {
    /// The bundle's answer, opened.
    pub passive: Passive,
    /// `update_button` or `update_template_card` when the passive reply was applied.
    pub applied: Option<String>,
    /// The click's fresh `ResponseCode` (usable once with `update_template_card`).
    pub response_code: String,
    pub delivery: Delivery,
}

/// `TemplateCard/…` paths of a passive XML reply as a JSON object (`{"CardType": …, "MainTitle/Title": …}`).
fn card_from_paths(fields: &BTreeMap<String, String>) -> Value {
    let card: Map<String, Value> =
        fields.iter().filter(|(k, _)| !k.ends_with("[]")).filter_map(|(k, v)| k.strip_prefix("TemplateCard/").map(|p| (p.to_string(), json!(v)))).collect();
    let mut card = Value::Object(card);
    // Keep `card_type` readable next to the JSON cards `message/send` stores.
    if let Some(t) = card["CardType"].as_str().map(str::to_string) {
        card["card_type"] = json!(t);
    }
    card
}

impl WeComSandbox {
    /// `user` clicks the button `event_key` on their card `task_id` of app `agent_id`; the
    /// callback goes to `url` (usually the app's configured URL).
    pub async fn click_card(&self, url: &str, agent_id: i64, user: &str, task_id: &str, event_key: &str) -> Result<AppClick, CallbackError> {
        let app = self.app(agent_id)?;
        let keys = Keys::of(&app, Endpoint::App(agent_id));
        let (code, msgid, card_type, create_time) = {
            let mut st = self.lock();
            let card = st.cards.iter().rev().find(|c| c.agent_id == agent_id && c.userid == user && c.task_id == task_id).cloned();
            let msgid = card.as_ref().map(|c| c.msgid.clone()).unwrap_or_default();
            let card_type = card.map(|c| c.card_type).unwrap_or_else(|| "button_interaction".to_string());
            let code = new_code(&mut st, agent_id, &msgid, CodeScope::Click { user: user.to_string() });
            let now = st.now();
            (code, msgid, card_type, st.wall(now).as_secs() as i64)
        };
        let event = xml::write(&[
            Field::Text("ToUserName", &app.corp_id),
            Field::Text("FromUserName", user),
            Field::Number("CreateTime", create_time),
            Field::Text("MsgType", "event"),
            Field::Text("Event", "template_card_event"),
            Field::Text("EventKey", event_key),
            Field::Text("TaskId", task_id),
            Field::Text("CardType", &card_type),
            Field::Text("ResponseCode", &code),
            Field::Number("AgentID", agent_id),
        ]);
        let tamper = self.take_tamper();
        let sealed = seal(&keys, &event, tamper)?;
        let agent = agent_id.to_string();
        let body = xml::write(&[Field::Text("ToUserName", &app.corp_id), Field::Text("Encrypt", &sealed.encrypt), Field::Text("AgentID", &agent)]);
        let delivery = Delivery {
            agent_id,
            channel: "app",
            kind: "template_card_event".into(),
            method: "POST".into(),
            url: with_query(url, &sealed.query()),
            body,
            plaintext: event,
            tamper,
        };
        let (status, answer) = self.send(delivery.clone()).await?;
        let passive = open_passive(&keys, Endpoint::App(agent_id), status, answer);
        let applied = passive.plaintext.as_deref().and_then(|p| self.apply_app_reply(&msgid, user, &code, p));
        Ok(AppClick { passive, applied, response_code: code, delivery })
    }

    /// Applies a decrypted passive reply to the clicker's card (doc 90241).
    fn apply_app_reply(&self, msgid: &str, user: &str, code: &str, reply: &str) -> Option<String> {
        let fields = xml::read(reply).ok()?;
        let users = [user.to_string()];
        let mut st = self.lock();
        match fields.get("MsgType").map(String::as_str) {
            Some("update_button") => {
                let name = fields.get("Button/ReplaceName")?;
                let via = json!({"via": "passive_reply", "msgtype": "update_button", "response_code": code, "replace_name": name});
                let touched = apply_update(&mut st, msgid, &users, Some(name), None, via);
                (!touched.is_empty()).then(|| "update_button".to_string())
            }
            Some("update_template_card") => {
                let card = card_from_paths(&fields);
                let via = json!({"via": "passive_reply", "msgtype": "update_template_card", "response_code": code, "template_card": card});
                let touched = apply_update(&mut st, msgid, &users, None, Some(&card), via);
                (!touched.is_empty()).then(|| "update_template_card".to_string())
            }
            _ => None,
        }
    }
}
