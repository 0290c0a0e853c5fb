//! From responders to IM users, failing soft: a linked account, else a lookup by email,
//! else by phone (storing the link found), else the responder is reported as unlinked.

use crate::lookup_cache::Contact;
use crate::Engine;
use warroom_core::{ApiFamily, ImError, ImPlatform, ImUserId, Incident, Integration, LinkMethod, Member, Responder, UserLink};

/// A responder reachable on the platform.
pub(crate) struct Reachable {
    pub user: ImUserId,
    pub display: String,
}

/// A responder who could not be matched to an IM account.
pub(crate) struct Unreachable {
    /// Stable across passes, to report each one once.
    pub key: String,
    pub display: String,
    /// Only an email to go by on a platform that finds people by phone only (DingTalk):
    /// the fix is a phone number in Warroom, not signing in.
    pub email_only: bool,
}

pub(crate) fn display(r: &Responder) -> String {
    r.name.clone().or_else(|| r.email.clone()).or_else(|| r.phone.clone()).unwrap_or_else(|| "unnamed responder".into())
}

pub(crate) fn responder_key(r: &Responder) -> String {
    r.email.as_deref().or(r.phone.as_deref()).or(r.name.as_deref()).unwrap_or("").to_lowercase()
}

fn digits(phone: &str) -> String {
    phone.chars().filter(|c| c.is_ascii_digit()).collect()
}

fn find_member<'a>(members: &'a [Member], r: &Responder) -> Option<&'a Member> {
    if let Some(id) = &r.member_id {
        if let Some(m) = members.iter().find(|m| &m.id == id) {
            return Some(m);
        }
    }
    let by_email = r.email.as_deref().and_then(|e| members.iter().find(|m| m.email.as_deref().is_some_and(|me| me.eq_ignore_ascii_case(e))));
    by_email.or_else(|| {
        let wanted = digits(r.phone.as_deref()?);
        (!wanted.is_empty()).then_some(())?;
        members.iter().find(|m| m.phone.as_deref().is_some_and(|p| digits(p) == wanted))
    })
}

impl Engine {
    /// Resolves every responder; only platform errors that affect all of them (rate limits,
    /// outages) are returned as errors.
    pub(crate) async fn resolve_responders(
        &self,
        incident: &Incident,
        integration: &Integration,
        platform: &dyn ImPlatform,
    ) -> Result<(Vec<Reachable>, Vec<Unreachable>), ImError> {
        let members = self.store.list_members(&incident.tenant_id).await.map_err(|e| ImError::Transient(e.to_string()))?;
        let caps = platform.capabilities();
        let (mut reachable, mut unreachable) = (Vec::new(), Vec::new());
        for responder in &incident.responders {
            let member = find_member(&members, responder);
            let shown = display(responder);
            if let Some(m) = member {
                let link = self.store.link_by_member(&incident.tenant_id, &integration.id, &m.id).await.map_err(|e| ImError::Transient(e.to_string()))?;
                if let Some(link) = link {
                    reachable.push(Reachable { user: link.im_user_id, display: shown });
                    continue;
                }
            }
            let email = responder.email.clone().or_else(|| member.and_then(|m| m.email.clone()));
            let phone = responder.phone.clone().or_else(|| member.and_then(|m| m.phone.clone()));
            let mut found = None;
            if let (Some(email), true) = (&email, caps.lookup_by_email) {
                found = self.look_up(platform, integration, Contact::Email(email)).await?.map(|u| (u, LinkMethod::Email));
            }
            if let (None, Some(phone), true) = (&found, &phone, caps.lookup_by_phone) {
                found = self.look_up(platform, integration, Contact::Phone(phone)).await?.map(|u| (u, LinkMethod::Phone));
            }
            match found {
                Some((user, method)) => {
                    if let Some(m) = member {
                        self.remember_link(incident, integration, m, &user, method).await;
                    }
                    reachable.push(Reachable { user, display: shown });
                }
                None => {
                    let email_only = phone.is_none() && email.is_some() && !caps.lookup_by_email && caps.lookup_by_phone;
                    unreachable.push(Unreachable { key: responder_key(responder), display: shown, email_only })
                }
            }
        }
        Ok((reachable, unreachable))
    }

    /// One lookup, unless the platform said recently that nobody has this address.
    async fn look_up(&self, platform: &dyn ImPlatform, integration: &Integration, contact: Contact<'_>) -> Result<Option<ImUserId>, ImError> {
        if self.known_miss(&integration.id, contact).await {
            return Ok(None);
        }
        self.throttle(platform, ApiFamily::Lookup, None).await?;
        let answer = match contact {
            Contact::Email(email) => platform.lookup_by_email(email).await,
            Contact::Phone(phone) => platform.lookup_by_phone(phone).await,
        };
        // Only "nobody has it" is remembered; any other refusal is looked at again.
        if matches!(answer, Ok(None) | Err(ImError::UserNotFound)) {
            self.remember_miss(&integration.id, contact).await;
        }
        lookup_soft(answer)
    }

    async fn remember_link(&self, incident: &Incident, integration: &Integration, member: &Member, user: &ImUserId, method: LinkMethod) {
        let link = UserLink {
            tenant_id: incident.tenant_id.clone(),
            integration_id: integration.id.clone(),
            member_id: member.id.clone(),
            im_user_id: user.clone(),
            method,
            linked_at: self.clock.now(),
        };
        // Losing the link only costs a lookup next time; the invite goes ahead either way.
        if let Err(e) = self.store.put_link(&link).await {
            tracing::warn!(member = %member.id, error = %e, "could not store the link found by lookup");
        }
    }
}

/// A lookup that fails for this one user (not found, refused) just means "no match";
/// rate limits and outages stop the pass so it is retried.
fn lookup_soft(result: Result<Option<ImUserId>, ImError>) -> Result<Option<ImUserId>, ImError> {
    match result {
        Ok(found) => Ok(found),
        Err(e) if e.is_retryable() || matches!(e, ImError::Unauthorized(_) | ImError::MissingPermission { .. }) => Err(e),
        Err(_) => Ok(None),
    }
}
