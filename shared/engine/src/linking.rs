//! One-click linking: find each unlinked member's IM account by email, then by phone.

use crate::lookup_cache::Contact;
use crate::{Engine, EngineError};
use serde::{Deserialize, Serialize};
use warroom_core::{ApiFamily, ImError, IntegrationId, LinkMethod, MemberId, TenantId, UserLink};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLinkResult {
    pub member_id: MemberId,
    pub linked: bool,
    /// How it was linked, or why not.
    pub detail: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkReport {
    pub linked: usize,
    pub failed: usize,
    pub results: Vec<MemberLinkResult>,
}

impl Engine {
    /// Links the given members (all unlinked members when empty). Stops at a rate limit
    /// or outage with an error, having stored every link found so far, so a retry only
    /// does the rest.
    pub async fn link_members(&self, tenant: &TenantId, integration_id: &IntegrationId, only: &[MemberId]) -> Result<LinkReport, EngineError> {
        let integration = self
            .store
            .get_integration(integration_id)
            .await?
            .filter(|i| &i.tenant_id == tenant)
            .ok_or_else(|| EngineError::NotFound(format!("integration {integration_id}")))?;
        let platform = self.platforms.for_integration(&integration)?;
        let caps = platform.capabilities();
        let mut report = LinkReport::default();
        for member in self.store.list_members(tenant).await? {
            if !only.is_empty() && !only.contains(&member.id) {
                continue;
            }
            if let Some(link) = self.store.link_by_member(tenant, integration_id, &member.id).await? {
                report.linked += 1;
                report.results.push(MemberLinkResult { member_id: member.id, linked: true, detail: format!("already linked to {}", link.im_user_id) });
                continue;
            }
            let mut found = None;
            let mut reasons = Vec::new();
            for (value, method) in [(member.email.as_deref(), LinkMethod::Email), (member.phone.as_deref(), LinkMethod::Phone)] {
                let supported = if method == LinkMethod::Email { caps.lookup_by_email } else { caps.lookup_by_phone };
                let label = if method == LinkMethod::Email { "email" } else { "phone" };
                match (value, supported) {
                    (None, _) => reasons.push(format!("no {label} on file")),
                    (Some(_), false) => reasons.push(format!("{} cannot look users up by {label}", integration.platform)),
                    (Some(value), true) if found.is_none() => {
                        // Always asked afresh (someone pressed the button because an account
                        // was just made); the answer refreshes what the war rooms remember.
                        self.throttle(platform.as_ref(), ApiFamily::Lookup, None).await?;
                        let contact = if method == LinkMethod::Email { Contact::Email(value) } else { Contact::Phone(value) };
                        let result = if method == LinkMethod::Email { platform.lookup_by_email(value).await } else { platform.lookup_by_phone(value).await };
                        match result {
                            Ok(Some(user)) => {
                                self.forget_miss(integration_id, contact).await;
                                found = Some((user, method))
                            }
                            Ok(None) | Err(ImError::UserNotFound) => {
                                self.remember_miss(integration_id, contact).await;
                                reasons.push(format!("no {} user with this {label}", integration.platform))
                            }
                            Err(e) if e.is_retryable() || matches!(e, ImError::MissingPermission { .. } | ImError::Unauthorized(_)) => return Err(e.into()),
                            Err(e) => reasons.push(format!("{label} lookup failed: {e}")),
                        }
                    }
                    _ => {}
                }
            }
            match found {
                Some((user, method)) => {
                    let link = UserLink {
                        tenant_id: tenant.clone(),
                        integration_id: integration_id.clone(),
                        member_id: member.id.clone(),
                        im_user_id: user.clone(),
                        method,
                        linked_at: self.clock.now(),
                    };
                    self.store.put_link(&link).await?;
                    report.linked += 1;
                    report.results.push(MemberLinkResult {
                        member_id: member.id,
                        linked: true,
                        detail: format!("linked to {user} by {method:?}").to_lowercase(),
                    });
                }
                None => {
                    report.failed += 1;
                    report.results.push(MemberLinkResult { member_id: member.id, linked: false, detail: reasons.join("; ") });
                }
            }
        }
        Ok(report)
    }
}
