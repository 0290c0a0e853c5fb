//! The single-table key design, shared by both adapters so they lay data out alike.
//!
//! One table, `PK` + `SK`, one GSI (`GSI1PK` + `GSI1SK`), TTL on `expires_at` (epoch
//! seconds). Every key of tenant data starts with `T#{tenant}`. A few items are global
//! *pointers* (an id that arrives without its tenant: an API key, a per-integration
//! callback URL, a Slack team id, a chat id); they hold only the tenant and the target id
//! and are written in the same transaction as the item they point to.
//!
//! | item                 | PK                          | SK                       | GSI1PK / GSI1SK                       |
//! |----------------------|-----------------------------|--------------------------|---------------------------------------|
//! | tenant               | `T#{t}`                     | `TENANT`                 |                                       |
//! | API key record       | `T#{t}`                     | `APIKEY#{sha256}`        |                                       |
//! | API key pointer      | `APIKEY#{sha256}`           | `APIKEY`                 |                                       |
//! | member               | `T#{t}`                     | `MEMBER#{m}`             |                                       |
//! | integration          | `T#{t}`                     | `INTEGRATION#{i}`        |                                       |
//! | integration pointer  | `INTEGRATION#{i}`           | `INTEGRATION`            |                                       |
//! | external-id pointer  | `EXT#{platform}#{ext}`      | `EXT`                    |                                       |
//! | war-room guard       | `T#{t}`                     | `WARROOM`                |                                       |
//! | link, by member      | `T#{t}#INT#{i}`             | `LINK#M#{m}`             |                                       |
//! | link, by IM user     | `T#{t}#INT#{i}`             | `LINK#U#{u}`             |                                       |
//! | runbook              | `T#{t}`                     | `RUNBOOK#{id}`           |                                       |
//! | incident             | `T#{t}#INC#{id}`            | `INCIDENT`               | `T#{t}#INCIDENTS` / `{created:015}#{id}` |
//! | incident source index| `T#{t}`                     | `SRC#{source}#{ext}`     |                                       |
//! | timeline entry       | `T#{t}#INC#{id}`            | `TL#{entry id}`          |                                       |
//! | captured chat message| `T#{t}#INC#{id}`            | `MSG#{at:015}#{msg id}`  |                                       |
//! | message id marker    | `T#{t}#INC#{id}`            | `MSGID#{msg id}`         |                                       |
//! | chat pointer         | `CHAT#{i}#{chat}`           | `CHAT`                   |                                       |
//! | dedupe claim         | `DEDUPE#{key}`              | `DEDUPE`                 | (TTL)                                 |
//! | ephemeral value      | `EPH#{key}`                 | `EPH`                    | (TTL)                                 |
//! | rate-limit bucket    | `BUCKET#{key}`              | `BUCKET`                 | (TTL)                                 |
//!
//! Why this shape: an incident's item, timeline and captured messages share one
//! partition (one query reads the whole story) and incidents spread over partitions
//! instead of piling into the tenant's; lists of incidents go through the GSI, newest
//! first. Links live in a partition per integration so one query lists them all.
//!
//! A captured message is keyed by time then id, so the transcript is one ordered query;
//! its id marker, written in the same transaction, makes "this id is already captured" a
//! point read instead of a scan of the room's history (see `crate::messages`). Timeline
//! entry ids start with the zero-padded time, so the timeline is ordered by its key and an
//! append is one conditional write whatever the timeline's length.

use warroom_core::{ChatId, ImUserId, IncidentId, IntegrationId, MemberId, Platform, TenantId};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const EXPIRES_AT: &str = "expires_at";

/// A primary key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: String, sk: impl Into<String>) -> Self {
        Self { pk, sk: sk.into() }
    }
}

pub fn tenant_pk(t: &TenantId) -> String {
    format!("T#{t}")
}
pub fn tenant(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "TENANT")
}
pub const API_KEY_PREFIX: &str = "APIKEY#";
pub fn api_key(t: &TenantId, hash: &str) -> Key {
    Key::new(tenant_pk(t), format!("{API_KEY_PREFIX}{hash}"))
}
pub fn api_key_pointer(hash: &str) -> Key {
    Key::new(format!("APIKEY#{hash}"), "APIKEY")
}
pub const MEMBER_PREFIX: &str = "MEMBER#";
pub fn member(t: &TenantId, m: &MemberId) -> Key {
    Key::new(tenant_pk(t), format!("{MEMBER_PREFIX}{m}"))
}
pub const INTEGRATION_PREFIX: &str = "INTEGRATION#";
pub fn integration(t: &TenantId, i: &IntegrationId) -> Key {
    Key::new(tenant_pk(t), format!("{INTEGRATION_PREFIX}{i}"))
}
pub fn integration_pointer(i: &IntegrationId) -> Key {
    Key::new(format!("INTEGRATION#{i}"), "INTEGRATION")
}
pub fn external_pointer(p: Platform, external_id: &str) -> Key {
    Key::new(format!("EXT#{p}#{external_id}"), "EXT")
}
pub fn war_room_guard(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "WARROOM")
}
pub fn links_pk(t: &TenantId, i: &IntegrationId) -> String {
    format!("T#{t}#INT#{i}")
}
pub const LINK_BY_MEMBER_PREFIX: &str = "LINK#M#";
pub fn link_by_member(t: &TenantId, i: &IntegrationId, m: &MemberId) -> Key {
    Key::new(links_pk(t, i), format!("{LINK_BY_MEMBER_PREFIX}{m}"))
}
pub fn link_by_user(t: &TenantId, i: &IntegrationId, u: &ImUserId) -> Key {
    Key::new(links_pk(t, i), format!("LINK#U#{u}"))
}
pub fn incident_pk(t: &TenantId, id: &IncidentId) -> String {
    format!("T#{t}#INC#{id}")
}
pub fn incident(t: &TenantId, id: &IncidentId) -> Key {
    Key::new(incident_pk(t, id), "INCIDENT")
}
/// GSI1 key of an incident: lists a tenant's incidents by creation time.
pub fn incident_gsi(t: &TenantId, id: &IncidentId, created_ms: i64) -> Key {
    Key::new(format!("T#{t}#INCIDENTS"), format!("{:015}#{id}", created_ms.max(0)))
}
pub fn incidents_gsi_pk(t: &TenantId) -> String {
    format!("T#{t}#INCIDENTS")
}
pub fn incident_source(t: &TenantId, source: &str, external_id: &str) -> Key {
    Key::new(tenant_pk(t), format!("SRC#{source}#{external_id}"))
}
pub const TIMELINE_PREFIX: &str = "TL#";
pub fn timeline(t: &TenantId, id: &IncidentId, entry_id: &str) -> Key {
    Key::new(incident_pk(t, id), format!("{TIMELINE_PREFIX}{entry_id}"))
}
pub const MESSAGE_PREFIX: &str = "MSG#";
pub fn chat_message(t: &TenantId, id: &IncidentId, at_ms: i64, message_id: &str) -> Key {
    Key::new(incident_pk(t, id), format!("{MESSAGE_PREFIX}{:015}#{message_id}", at_ms.max(0)))
}
/// The marker that a message id is captured in this incident, whatever its time.
pub fn chat_message_id(t: &TenantId, id: &IncidentId, message_id: &str) -> Key {
    Key::new(incident_pk(t, id), format!("MSGID#{message_id}"))
}
pub const POSTMORTEM_PREFIX: &str = "PM#";
/// Versions sort as numbers: zero-padded.
pub fn postmortem(t: &TenantId, id: &IncidentId, version: u32) -> Key {
    Key::new(incident_pk(t, id), format!("{POSTMORTEM_PREFIX}{version:06}"))
}
pub const RUNBOOK_PREFIX: &str = "RUNBOOK#";
pub fn runbook(t: &TenantId, id: &warroom_core::runbook::RunbookId) -> Key {
    Key::new(tenant_pk(t), format!("{RUNBOOK_PREFIX}{id}"))
}
/// The first sort key after every key starting with `prefix` (its last byte plus one):
/// the end of a prefix's run, for reading it backwards. Prefixes here end in ASCII.
pub fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last += 1;
    }
    String::from_utf8(bytes).expect("an ASCII prefix stays ASCII")
}
pub fn chat_pointer(i: &IntegrationId, chat: &ChatId) -> Key {
    Key::new(format!("CHAT#{i}#{chat}"), "CHAT")
}
pub fn dedupe(key: &str) -> Key {
    Key::new(format!("DEDUPE#{key}"), "DEDUPE")
}
pub fn ephemeral(key: &str) -> Key {
    Key::new(format!("EPH#{key}"), "EPH")
}
pub fn counter(key: &str) -> Key {
    Key::new(format!("COUNTER#{key}"), "COUNTER")
}
pub fn bucket(key: &str) -> Key {
    Key::new(format!("BUCKET#{key}"), "BUCKET")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_data_keys_start_with_the_tenant() {
        let t = TenantId::from("acme");
        for key in [
            tenant(&t),
            api_key(&t, "ab"),
            member(&t, &"m".into()),
            integration(&t, &"i".into()),
            war_room_guard(&t),
            link_by_member(&t, &"i".into(), &"m".into()),
            link_by_user(&t, &"i".into(), &"U1".into()),
            incident(&t, &"inc".into()),
            incident_source(&t, "generic", "e"),
            timeline(&t, &"inc".into(), "1"),
            chat_message(&t, &"inc".into(), 5, "m1"),
            chat_message_id(&t, &"inc".into(), "m1"),
            runbook(&t, &"rb_1".into()),
        ] {
            assert!(key.pk.starts_with("T#acme"), "{key:?}");
        }
    }

    #[test]
    fn message_id_markers_are_outside_the_message_prefix_so_transcripts_never_list_them() {
        let t = TenantId::from("acme");
        let marker = chat_message_id(&t, &"inc".into(), "m1");
        assert!(!marker.sk.starts_with(MESSAGE_PREFIX));
        assert!(!marker.sk.starts_with(TIMELINE_PREFIX));
        assert_eq!(marker.pk, chat_message(&t, &"inc".into(), 5, "m1").pk, "one partition: one transaction, no cross-partition write");
    }

    #[test]
    fn incident_gsi_sort_keys_order_by_creation_time() {
        let t = TenantId::from("acme");
        let a = incident_gsi(&t, &"z".into(), 9);
        let b = incident_gsi(&t, &"a".into(), 10);
        assert!(a.sk < b.sk);
    }
}
