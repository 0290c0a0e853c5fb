//! Responders with no IM account: the platform's "no user with this email / phone" is
//! remembered per integration for a while, so a room whose responders cannot be reached
//! does not spend a lookup (and a rate-limit token) on each of them at every pass. Linking
//! by hand, by IM sign-in or by one-click linking forgets what was remembered for that
//! member, so a person who has just made an account is found at the next pass.
//!
//! Keys hold a hash of the address, not the address: the store's keys show up in
//! operators' tooling, and an email is personal data.

use crate::Engine;
use sha2::{Digest, Sha256};
use std::time::Duration;
use warroom_core::{IntegrationId, Member};

/// How long a "not found" is believed. Short enough that someone who joins the workspace
/// during an outage is invited without anyone pressing a button; long enough that a busy
/// room (a pass per status change, per responder change) asks once.
pub const LOOKUP_MISS_TTL: Duration = Duration::from_secs(30 * 60);

/// What was looked up: the kind of address and its normalised form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contact<'a> {
    Email(&'a str),
    Phone(&'a str),
}

impl Contact<'_> {
    fn key(&self, integration: &IntegrationId) -> String {
        let (kind, normal) = match self {
            Contact::Email(e) => ("email", e.trim().to_lowercase()),
            Contact::Phone(p) => ("phone", p.chars().filter(char::is_ascii_digit).collect()),
        };
        let digest = Sha256::digest(normal.as_bytes());
        format!("lookupmiss:{integration}:{kind}:{}", hex::encode(&digest[..12]))
    }
}

impl Engine {
    /// Whether the platform said recently that nobody has this address.
    pub(crate) async fn known_miss(&self, integration: &IntegrationId, contact: Contact<'_>) -> bool {
        // A store hiccup only costs a lookup.
        matches!(self.store.get_ephemeral(&contact.key(integration), self.clock.now()).await, Ok(Some(_)))
    }

    pub(crate) async fn remember_miss(&self, integration: &IntegrationId, contact: Contact<'_>) {
        if let Err(e) = self.store.put_ephemeral(&contact.key(integration), "1", LOOKUP_MISS_TTL, self.clock.now()).await {
            tracing::info!(integration = %integration, error = %e, "could not remember a lookup miss; the next pass looks again");
        }
    }

    pub(crate) async fn forget_miss(&self, integration: &IntegrationId, contact: Contact<'_>) {
        if let Err(e) = self.store.take_ephemeral(&contact.key(integration), self.clock.now()).await {
            tracing::warn!(integration = %integration, error = %e, "could not forget a lookup miss");
        }
    }

    /// Forgets the remembered misses of this member's email and phone: called when the
    /// member is linked by hand or by IM sign-in.
    pub async fn forget_lookup_misses(&self, integration: &IntegrationId, member: &Member) {
        if let Some(email) = member.email.as_deref() {
            self.forget_miss(integration, Contact::Email(email)).await;
        }
        if let Some(phone) = member.phone.as_deref() {
            self.forget_miss(integration, Contact::Phone(phone)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise_the_address_and_never_hold_it() {
        let i: IntegrationId = "int_1".into();
        assert_eq!(Contact::Email(" Ada@Example.com ").key(&i), Contact::Email("ada@example.com").key(&i));
        assert_eq!(Contact::Phone("+1 (555) 0100").key(&i), Contact::Phone("15550100").key(&i));
        assert_ne!(Contact::Email("ada@example.com").key(&i), Contact::Email("bob@example.com").key(&i));
        assert_ne!(Contact::Email("ada@example.com").key(&i), Contact::Email("ada@example.com").key(&"int_2".into()));
        assert!(!Contact::Email("ada@example.com").key(&i).contains("ada"));
    }
}
