//! Member ↔ IM-user links, stored in both directions in the integration's partition.
//!
//! Writes read both directions first, then commit one transaction whose conditions say
//! "still as I read it"; if another writer got in between, the transaction is cancelled
//! and the whole decision is made again. So the two directions never disagree.

use super::codec::{entity_item, s, Expr};
use super::ops::{backoff, Tx};
use super::{tenancy, DynamoStore};
use crate::keys;
use warroom_core::links::{page_links, LinkPage, LinkQuery};
use warroom_core::{ImUserId, IntegrationId, MemberId, StoreError, StoreResult, TenantId, UserLink};

/// Rounds of read-decide-commit before reporting contention as a retryable failure.
const ATTEMPTS: u32 = 8;

const MEMBER_ATTR: &str = "member_id";
const USER_ATTR: &str = "im_user_id";

pub(super) async fn by_member(store: &DynamoStore, t: &TenantId, i: &IntegrationId, m: &MemberId) -> StoreResult<Option<UserLink>> {
    store.get(&keys::link_by_member(t, i, m), "link").await
}

pub(super) async fn by_im_user(store: &DynamoStore, t: &TenantId, i: &IntegrationId, u: &ImUserId) -> StoreResult<Option<UserLink>> {
    store.get(&keys::link_by_user(t, i, u), "link").await
}

pub(super) async fn put(store: &DynamoStore, link: &UserLink) -> StoreResult<()> {
    for attempt in 1..=ATTEMPTS {
        if try_put(store, link).await? {
            return Ok(());
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    Err(contended("put_link"))
}

/// One round of `put`: false if the links changed under us.
async fn try_put(store: &DynamoStore, link: &UserLink) -> StoreResult<bool> {
    let (t, i) = (&link.tenant_id, &link.integration_id);
    let old_of_member = by_member(store, t, i, &link.member_id).await?;
    let old_of_user = by_im_user(store, t, i, &link.im_user_id).await?;
    let mut actions = Vec::new();
    // The member's previous account stops pointing at them...
    if let Some(old) = old_of_member.as_ref().filter(|old| old.im_user_id != link.im_user_id) {
        let key = keys::link_by_user(t, i, &old.im_user_id);
        actions.push(store.tx_delete(&key, Some(absent_or(MEMBER_ATTR, old.member_id.as_str())))?);
    }
    // ...and the account's previous member loses it.
    if let Some(old) = old_of_user.as_ref().filter(|old| old.member_id != link.member_id) {
        let key = keys::link_by_member(t, i, &old.member_id);
        actions.push(store.tx_delete(&key, Some(absent_or(USER_ATTR, old.im_user_id.as_str())))?);
    }
    let member_key = keys::link_by_member(t, i, &link.member_id);
    let member_cond = as_read(USER_ATTR, old_of_member.as_ref().map(|l| l.im_user_id.as_str()));
    actions.push(store.tx_put(entity_item(link, &member_key, "link")?, Some(member_cond))?);
    let user_key = keys::link_by_user(t, i, &link.im_user_id);
    let user_cond = as_read(MEMBER_ATTR, old_of_user.as_ref().map(|l| l.member_id.as_str()));
    actions.push(store.tx_put(entity_item(link, &user_key, "link")?, Some(user_cond))?);
    Ok(matches!(store.transact(actions).await?, Tx::Committed))
}

pub(super) async fn delete(store: &DynamoStore, t: &TenantId, i: &IntegrationId, m: &MemberId) -> StoreResult<()> {
    for attempt in 1..=ATTEMPTS {
        let Some(link) = by_member(store, t, i, m).await? else {
            return Ok(());
        };
        let actions = vec![
            store.tx_delete(&keys::link_by_member(t, i, m), Some(as_read(USER_ATTR, Some(link.im_user_id.as_str()))))?,
            store.tx_delete(&keys::link_by_user(t, i, &link.im_user_id), Some(absent_or(MEMBER_ATTR, m.as_str())))?,
        ];
        if matches!(store.transact(actions).await?, Tx::Committed) {
            return Ok(());
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    Err(contended("delete_link"))
}

/// Members joined with their links, paged by the same pure function as every adapter.
pub(super) async fn list(store: &DynamoStore, t: &TenantId, i: &IntegrationId, query: &LinkQuery) -> StoreResult<LinkPage> {
    let members = tenancy::list_members(store, t).await?;
    let links: Vec<UserLink> = store.query_all_as(keys::links_pk(t, i), keys::LINK_BY_MEMBER_PREFIX, "link").await?;
    Ok(page_links(members, links, query))
}

/// "The item is as I read it": absent if I saw none, else still naming `expected`.
fn as_read(attr: &str, expected: Option<&str>) -> Expr {
    match expected {
        None => Expr::absent(),
        Some(value) => Expr::when("#attr = :expected").name("#attr", attr).value(":expected", s(value)),
    }
}

/// Deleting a counterpart is right if it is gone already or still points back at us.
fn absent_or(attr: &str, expected: &str) -> Expr {
    Expr::when("attribute_not_exists(#pk) OR #attr = :expected").name("#pk", keys::PK).name("#attr", attr).value(":expected", s(expected))
}

fn contended(op: &str) -> StoreError {
    StoreError::Unavailable { message: format!("{op}: the links kept changing concurrently"), retryable: true }
}
