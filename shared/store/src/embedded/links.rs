//! Member ↔ IM-user links, stored in both directions in the integration's partition.

use super::tenants;
use super::tx::{View, WriteTx};
use crate::keys;
use warroom_core::links::{page_links, LinkPage, LinkQuery};
use warroom_core::{ImUserId, IntegrationId, MemberId, StoreResult, TenantId, UserLink};

/// Writes both directions, first unlinking whatever either side was linked to before,
/// so member → user and user → member stay one-to-one.
pub(super) fn put_link(tx: &mut WriteTx, link: &UserLink) -> StoreResult<()> {
    let (t, i) = (&link.tenant_id, &link.integration_id);
    let by_member = keys::link_by_member(t, i, &link.member_id);
    let by_user = keys::link_by_user(t, i, &link.im_user_id);

    if let Some(old) = tx.get::<UserLink>(&by_member)? {
        if old.im_user_id != link.im_user_id {
            delete_user_side(tx, t, i, &old.im_user_id, &link.member_id)?;
        }
    }
    if let Some(old) = tx.get::<UserLink>(&by_user)? {
        if old.member_id != link.member_id {
            delete_member_side(tx, t, i, &old.member_id, &link.im_user_id)?;
        }
    }
    tx.put(&by_member, link)?;
    tx.put(&by_user, link)
}

/// Removes the member's link (both directions); a no-op if there is none.
pub(super) fn delete_link(tx: &mut WriteTx, t: &TenantId, i: &IntegrationId, member: &MemberId) -> StoreResult<()> {
    let by_member = keys::link_by_member(t, i, member);
    let Some(old) = tx.get::<UserLink>(&by_member)? else {
        return Ok(());
    };
    tx.delete(&by_member)?;
    delete_user_side(tx, t, i, &old.im_user_id, member)
}

/// Deletes `user`'s half only if it still names `member` (never someone else's link).
fn delete_user_side(tx: &mut WriteTx, t: &TenantId, i: &IntegrationId, user: &ImUserId, member: &MemberId) -> StoreResult<()> {
    let key = keys::link_by_user(t, i, user);
    if tx.get::<UserLink>(&key)?.is_some_and(|l| l.member_id == *member) {
        tx.delete(&key)?;
    }
    Ok(())
}

/// Deletes `member`'s half only if it still names `user`.
fn delete_member_side(tx: &mut WriteTx, t: &TenantId, i: &IntegrationId, member: &MemberId, user: &ImUserId) -> StoreResult<()> {
    let key = keys::link_by_member(t, i, member);
    if tx.get::<UserLink>(&key)?.is_some_and(|l| l.im_user_id == *user) {
        tx.delete(&key)?;
    }
    Ok(())
}

pub(super) fn link_by_member(v: &impl View, t: &TenantId, i: &IntegrationId, member: &MemberId) -> StoreResult<Option<UserLink>> {
    v.get(&keys::link_by_member(t, i, member))
}

pub(super) fn link_by_im_user(v: &impl View, t: &TenantId, i: &IntegrationId, user: &ImUserId) -> StoreResult<Option<UserLink>> {
    v.get(&keys::link_by_user(t, i, user))
}

/// Members joined with their links, paged by the shared `page_links` so both adapters agree.
pub(super) fn list_links(v: &impl View, t: &TenantId, i: &IntegrationId, query: &LinkQuery) -> StoreResult<LinkPage> {
    let members = tenants::list_members(v, t)?;
    let links: Vec<UserLink> = v.scan(&keys::links_pk(t, i), keys::LINK_BY_MEMBER_PREFIX)?;
    Ok(page_links(members, links, query))
}
