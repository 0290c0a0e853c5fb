//! What the API shows of stored objects: times as RFC 3339, no tenant ids, and never a
//! credential (integration credentials, sealed secrets, key hashes).

use serde_json::{json, Value};
use warroom_core::{Card, Incident, Integration, IntegrationStatus, Member, TimelineEntry, Timestamp, UserLink, WarRoomState};
use warroom_http::AppState;
use warroom_platforms::Platforms;

pub fn time(t: Timestamp) -> Value {
    Value::String(t.to_rfc3339())
}

pub fn opt_time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, time)
}

pub fn member(m: &Member) -> Value {
    json!({ "id": m.id, "name": m.name, "email": m.email, "phone": m.phone, "role": m.role, "updated_at": time(m.updated_at) })
}

pub fn link(l: &UserLink) -> Value {
    json!({ "im_user_id": l.im_user_id, "method": l.method, "linked_at": time(l.linked_at) })
}

/// Where the OAuth function re-authorizes an integration (asking for every required scope).
pub fn reauthorize_url(public_url: &str, integration: &Integration) -> String {
    format!("{}/oauth/{}/authorize", public_url.trim_end_matches('/'), integration.id)
}

/// An integration with its permission check against what war rooms need.
pub fn integration(i: &Integration, required: &[(&'static str, &'static str)], public_url: &str) -> Value {
    let permissions: Vec<Value> =
        required.iter().map(|(scope, purpose)| json!({ "scope": scope, "purpose": purpose, "granted": i.granted_scopes.iter().any(|g| g == scope) })).collect();
    let scopes: Vec<&str> = required.iter().map(|(s, _)| *s).collect();
    let missing = i.missing_scopes(&scopes);
    let needs_reauth = !missing.is_empty() || i.status == IntegrationStatus::Revoked;
    json!({
        "id": i.id,
        "platform": i.platform,
        "name": i.name,
        "external_id": i.external_id,
        "status": i.status,
        "war_room_enabled": i.war_room_enabled,
        "granted_scopes": i.granted_scopes,
        "required_permissions": permissions,
        "missing_permissions": missing,
        "reauthorize_url": if needs_reauth { Value::String(reauthorize_url(public_url, i)) } else { Value::Null },
        "created_at": time(i.created_at),
        "updated_at": time(i.updated_at),
    })
}

/// Where the platform's console must point for this integration, as the admin pastes it
/// (the platform's module says which URLs); `None` without adapters, for a platform this
/// build lacks, or where there is nothing to paste.
pub fn setup(i: &Integration, platforms: Option<&Platforms>, public_url: &str) -> Option<Value> {
    platforms?.module(i.platform)?.setup(platforms, i, public_url.trim_end_matches('/'))
}

/// [`integration`] plus its [`setup`] (when there is one): what an integration's detail
/// shows.
pub fn integration_detail(state: &AppState, i: &Integration) -> Value {
    let mut v = integration(i, &state.engine.platforms.required_scopes(i.platform), &state.settings.public_url);
    if let (Some(setup), Value::Object(fields)) = (setup(i, state.platforms.as_deref(), &state.settings.public_url), &mut v) {
        fields.insert("setup".into(), setup);
    }
    v
}

/// A short state for people: `requested` (wanted, not created yet), `dismissing`, ...
pub(crate) fn war_room_phase(i: &Incident) -> &'static str {
    let w = &i.war_room;
    match w.state {
        WarRoomState::None if w.wanted => "requested",
        WarRoomState::None => "none",
        WarRoomState::Open if w.dismiss_at.is_some() => "dismissing",
        WarRoomState::Open => "open",
        WarRoomState::Dismissed => "dismissed",
        WarRoomState::DisbandedExternally => "disbanded_externally",
    }
}

pub fn war_room(i: &Incident, now: Timestamp) -> Value {
    let w = &i.war_room;
    let current = Card::for_incident(i, now);
    let card = w.card_message_id.as_ref().map_or(Value::Null, |id| {
        json!({
            "message_id": id,
            "up_to_date": w.card_fingerprint.as_deref() == Some(current.fingerprint().as_str()),
            "summary": current.summary(),
            "actions": current.actions.iter().map(|a| a.to_value()).collect::<Vec<_>>(),
        })
    });
    let invite_failed: Vec<Value> = w.invite_failed.iter().map(|(user, why)| json!({ "im_user_id": user, "reason": why })).collect();
    json!({
        "incident_id": i.id,
        "phase": war_room_phase(i),
        "state": w.state,
        "wanted": w.wanted,
        "integration_id": w.integration_id,
        "chat_id": w.chat_id,
        "chat_url": w.chat_url,
        "invited": w.invited,
        "invite_failed": invite_failed,
        "card": card,
        "dismiss_at": opt_time(w.dismiss_at),
        "dismissed_by": w.dismissed_by,
        "last_error": w.last_error,
    })
}

pub fn incident_summary(i: &Incident) -> Value {
    json!({
        "id": i.id,
        "title": i.title,
        "severity": i.severity,
        "status": i.status,
        "source": i.source,
        "snoozed_until": opt_time(i.snoozed_until),
        "created_at": time(i.created_at),
        "updated_at": time(i.updated_at),
        "war_room": { "phase": war_room_phase(i), "chat_url": i.war_room.chat_url },
    })
}

pub fn incident(i: &Incident, now: Timestamp) -> Value {
    let mut v = incident_summary(i);
    let extra = json!({
        "description": i.description,
        "responders": i.responders,
        "labels": i.labels,
        "url": i.url,
        "source_updated_at": time(i.source_updated_at),
        "synced": i.synced.map(|s| json!({ "status": s.status, "snoozed_until": opt_time(s.snoozed_until) })),
        "version": i.version,
        "war_room": war_room(i, now),
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut v, extra) {
        base.extend(extra);
    }
    v
}

pub fn timeline_entry(e: &TimelineEntry) -> Value {
    json!({ "id": e.id, "at": time(e.at), "actor": e.actor, "action": e.action, "detail": e.detail })
}
