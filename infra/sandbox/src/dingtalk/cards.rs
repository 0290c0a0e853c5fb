//! Interactive cards on the card platform (reference §3 "Interactive cards", notes Q6/Q8; SDK
//! card_1_0): register a callback route, create / deliver / createAndDeliver into a scene group
//! (`openSpaceId = dtv1.card//IM_GROUP.<openConversationId>`), and update in place by `outTrackId`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::reply::{bad_param, chat_gone, new_fail, new_ok, Gen, Reply};
use super::state::{Card, CardRoute, State};
use super::Req;

const SPACE_PREFIX: &str = "dtv1.card//IM_GROUP.";

/// `cardParamMap`: "All values are strings" (notes Q6); value ≤ 1 KB, key ≤ 100 B (Q8).
fn param_map(v: &Value, field: &str) -> Result<BTreeMap<String, String>, Reply> {
    let Some(map) = v.as_object() else {
        return if v.is_null() { Ok(BTreeMap::new()) } else { Err(bad_param(Gen::New, &format!("{field} must be an object"))) };
    };
    map.iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) if k.len() <= 100 && s.len() <= 1024 => Ok((k.clone(), s.to_string())),
            Some(_) => Err(bad_param(Gen::New, &format!("{field}.{k}: key ≤ 100 bytes, value ≤ 1 KB"))),
            None => Err(bad_param(Gen::New, &format!("{field}.{k} must be a string"))),
        })
        .collect()
}

/// UNCERTAIN: no source shows the answer for an unknown `outTrackId`.
fn unknown_card() -> Reply {
    new_fail(400, "param.outTrackIdNotExist", "卡片实例不存在")
}

/// `POST /v1.0/card/callbacks/register` `{callbackRouteKey, callbackUrl, apiSecret, forceUpdate}`
/// → `{"success": true, "result": {...}}`; errors `param.callbackUrlEmpty`, and 500
/// `param.callbackRouteKeyExist` for a taken key without `forceUpdate` (notes Q6).
pub(crate) fn register(st: &mut State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(key) = body["callbackRouteKey"].as_str().filter(|k| !k.is_empty()) else {
        return bad_param(Gen::New, "callbackRouteKey is required");
    };
    let Some(url) = body["callbackUrl"].as_str().filter(|u| !u.is_empty()) else {
        return new_fail(400, "param.callbackUrlEmpty", "callbackUrl不能为空");
    };
    let id = (app_id.to_string(), key.to_string());
    if st.card_routes.contains_key(&id) && body["forceUpdate"] != json!(true) {
        return new_fail(500, "param.callbackRouteKeyExist", "callbackRouteKey已存在");
    }
    let api_secret = body["apiSecret"].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    st.card_routes.insert(id, CardRoute { url: url.to_string(), api_secret });
    new_ok(json!({"success": true, "result": {"callbackRouteKey": key, "callbackUrl": url}}))
}

/// Creates the card instance from a create / createAndDeliver body (or finds the app's card
/// with that `outTrackId`: UNCERTAIN, a repeated outTrackId is taken as a retry, not a new card).
fn create_card(st: &mut State, body: &Value, app_id: &str) -> Result<String, Reply> {
    let (Some(template), Some(out_track_id)) = (body["cardTemplateId"].as_str(), body["outTrackId"].as_str()) else {
        return Err(bad_param(Gen::New, "cardTemplateId and outTrackId are required"));
    };
    if let Some(existing) = st.card(out_track_id) {
        return if existing.app == app_id { Ok(out_track_id.to_string()) } else { Err(bad_param(Gen::New, "outTrackId belongs to another app")) };
    }
    let card_data = param_map(&body["cardData"]["cardParamMap"], "cardData.cardParamMap")?;
    let route_key = body["callbackRouteKey"].as_str().filter(|k| !k.is_empty()).map(str::to_string);
    let now = st.now();
    st.cards.push(Card {
        out_track_id: out_track_id.to_string(),
        app: app_id.to_string(),
        template_id: template.to_string(),
        group: None,
        robot_code: None,
        card_data,
        private_data: BTreeMap::new(),
        callback_route_key: route_key,
        updated_count: 0,
        created_at: now,
        streamed: Vec::new(),
        finalized: false,
    });
    Ok(out_track_id.to_string())
}

/// Delivers the card to each `IM_GROUP` space of `openSpaceId` (`;`-separated), one result per
/// space `{spaceType, spaceId, success, errorMsg, carrierId}`. A group that is gone, or a
/// `robotCode` that is not the group's robot ("场景群机器人发送群聊使用群机器人robotCode", Q8),
/// fails that space only.
fn deliver_card(st: &mut State, body: &Value, app_id: &str, out_track_id: &str) -> Result<Vec<Value>, Reply> {
    let spaces = body["openSpaceId"].as_str().unwrap_or_default();
    if spaces.is_empty() {
        return Err(bad_param(Gen::New, "openSpaceId is required"));
    }
    let robot = body["imGroupOpenDeliverModel"]["robotCode"].as_str().map(str::to_string);
    let mut results = Vec::new();
    for space in spaces.split(';').filter(|s| !s.is_empty()) {
        let Some(ocid) = space.strip_prefix(SPACE_PREFIX) else {
            return Err(bad_param(Gen::New, &format!("openSpaceId {space}: only {SPACE_PREFIX}<openConversationId> is emulated")));
        };
        let failure = match st.group(ocid) {
            Some(g) if g.app != app_id || g.disbanded => Some(chat_gone(Gen::New).body["message"].as_str().unwrap_or_default().to_string()),
            None => Some(chat_gone(Gen::New).body["message"].as_str().unwrap_or_default().to_string()),
            Some(g) if robot.as_deref() != Some(g.robot_code.as_str()) => Some("robotCode不是该群的群机器人".to_string()),
            Some(_) => None,
        };
        if failure.is_none() {
            if let Some(card) = st.card_mut(out_track_id) {
                card.group = Some(ocid.to_string());
                card.robot_code = robot.clone();
            }
        }
        let mut result = json!({"spaceType": "IM_GROUP", "spaceId": ocid, "success": failure.is_none()});
        match failure {
            Some(msg) => result["errorMsg"] = json!(msg),
            None => result["carrierId"] = json!(format!("carrier{}", super::state::hex_id(8))),
        }
        results.push(result);
    }
    Ok(results)
}

/// `POST /v1.0/card/instances` → `{"success": true, "result": "<outTrackId>"}` (UNCERTAIN: the
/// result's shape).
pub(crate) fn create(st: &mut State, req: &Req, app_id: &str) -> Reply {
    match req.json(Gen::New).and_then(|body| create_card(st, &body, app_id)) {
        Ok(id) => new_ok(json!({"success": true, "result": id})),
        Err(r) => r,
    }
}

/// `POST /v1.0/card/instances/deliver` `{outTrackId, openSpaceId, imGroupOpenDeliverModel}`
/// → `{"success": true, "result": [deliverResult…]}`.
pub(crate) fn deliver(st: &mut State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id = body["outTrackId"].as_str().unwrap_or_default();
    if st.card(id).is_none_or(|c| c.app != app_id) {
        return unknown_card();
    }
    match deliver_card(st, &body, app_id, id) {
        Ok(results) => new_ok(json!({"success": true, "result": results})),
        Err(r) => r,
    }
}

/// `POST /v1.0/card/instances/createAndDeliver` → `{"success": true, "result": {"outTrackId",
/// "deliverResults": […]}}` (SDK `CreateAndDeliverResponseBodyResult`).
pub(crate) fn create_and_deliver(st: &mut State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let result = create_card(st, &body, app_id).and_then(|id| deliver_card(st, &body, app_id, &id).map(|r| (id, r)));
    match result {
        Ok((id, results)) => new_ok(json!({"success": true, "result": {"outTrackId": id, "deliverResults": results}})),
        Err(r) => r,
    }
}

/// `PUT /v1.0/card/instances` `{outTrackId, cardData{cardParamMap}, privateData{userId:
/// {cardParamMap}}, cardUpdateOptions{updateCardDataByKey, updatePrivateDataByKey}}` →
/// `{"success": true, "result": true}`. By key: merged into the card's map; otherwise replaced.
pub(crate) fn update(st: &mut State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id = body["outTrackId"].as_str().unwrap_or_default();
    let Some(card) = st.card(id).filter(|c| c.app == app_id) else { return unknown_card() };
    if card.group.as_deref().is_some_and(|g| st.group(g).is_none_or(|g| g.disbanded)) {
        return chat_gone(Gen::New);
    }
    let data = match param_map(&body["cardData"]["cardParamMap"], "cardData.cardParamMap") {
        Ok(d) => d,
        Err(r) => return r,
    };
    let mut private = BTreeMap::new();
    for (user, v) in body["privateData"].as_object().into_iter().flatten() {
        match param_map(&v["cardParamMap"], "privateData.cardParamMap") {
            Ok(m) => private.insert(user.clone(), m),
            Err(r) => return r,
        };
    }
    let options = &body["cardUpdateOptions"];
    let (data_by_key, private_by_key) = (options["updateCardDataByKey"] == json!(true), options["updatePrivateDataByKey"] == json!(true));
    let Some(card) = st.card_mut(id) else { return unknown_card() };
    apply(card, data, data_by_key, private, private_by_key);
    new_ok(json!({"success": true, "result": true}))
}

/// Applies new public / private data to a card (an API update or a callback's answer).
pub(crate) fn apply(
    card: &mut Card,
    data: BTreeMap<String, String>,
    data_by_key: bool,
    private: BTreeMap<String, BTreeMap<String, String>>,
    private_by_key: bool,
) {
    if data_by_key {
        card.card_data.extend(data);
    } else if !data.is_empty() {
        card.card_data = data;
    }
    for (user, map) in private {
        let entry = card.private_data.entry(user).or_default();
        if private_by_key {
            entry.extend(map);
        } else {
            *entry = map;
        }
    }
    card.updated_count += 1;
}
