//! The "link users" list: members joined with their link on one integration, filtered,
//! searched and paged. Pure, so every store adapter pages the same way.

use crate::ids::MemberId;
use crate::integration::UserLink;
use crate::tenant::Member;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkFilter {
    #[default]
    All,
    Linked,
    Unlinked,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkQuery {
    pub filter: LinkFilter,
    /// Case-insensitive substring of the name or email.
    pub search: Option<String>,
    /// The last member id of the previous page.
    pub after: Option<MemberId>,
    pub limit: usize,
}

impl Default for LinkQuery {
    fn default() -> Self {
        Self { filter: LinkFilter::All, search: None, after: None, limit: 50 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRow {
    pub member: Member,
    pub link: Option<UserLink>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPage {
    pub rows: Vec<LinkRow>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<MemberId>,
}

pub const MAX_PAGE: usize = 200;

/// Joins, filters, searches and pages. Members are ordered by id.
pub fn page_links(mut members: Vec<Member>, links: Vec<UserLink>, query: &LinkQuery) -> LinkPage {
    let mut by_member: HashMap<MemberId, UserLink> = links.into_iter().map(|l| (l.member_id.clone(), l)).collect();
    members.sort_by(|a, b| a.id.cmp(&b.id));
    let limit = query.limit.clamp(1, MAX_PAGE);
    let mut rows = Vec::new();
    let mut next = None;
    for member in members {
        if query.after.as_ref().is_some_and(|after| &member.id <= after) {
            continue;
        }
        if let Some(needle) = &query.search {
            if !member.matches(needle) {
                continue;
            }
        }
        let link = by_member.remove(&member.id);
        let keep = match query.filter {
            LinkFilter::All => true,
            LinkFilter::Linked => link.is_some(),
            LinkFilter::Unlinked => link.is_none(),
        };
        if !keep {
            continue;
        }
        if rows.len() == limit {
            next = rows.last().map(|r: &LinkRow| r.member.id.clone());
            break;
        }
        rows.push(LinkRow { member, link });
    }
    LinkPage { rows, next }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integration::LinkMethod;
    use crate::time::Timestamp;

    fn member(id: &str, name: &str) -> Member {
        Member {
            tenant_id: "t".into(),
            id: id.into(),
            name: name.into(),
            email: Some(format!("{}@example.com", name.to_lowercase())),
            phone: None,
            role: Default::default(),
            updated_at: Timestamp(0),
        }
    }

    fn link(member: &str) -> UserLink {
        UserLink {
            tenant_id: "t".into(),
            integration_id: "int".into(),
            member_id: member.into(),
            im_user_id: format!("U{member}").as_str().into(),
            method: LinkMethod::Email,
            linked_at: Timestamp(0),
        }
    }

    fn members() -> Vec<Member> {
        vec![member("m3", "Carol"), member("m1", "Alice"), member("m2", "Bob"), member("m4", "Alina")]
    }

    #[test]
    fn filters_split_linked_from_unlinked() {
        let q = |filter| LinkQuery { filter, ..Default::default() };
        let links = vec![link("m1"), link("m3")];
        let ids = |p: LinkPage| p.rows.into_iter().map(|r| r.member.id.0).collect::<Vec<_>>();
        assert_eq!(ids(page_links(members(), links.clone(), &q(LinkFilter::All))), ["m1", "m2", "m3", "m4"]);
        assert_eq!(ids(page_links(members(), links.clone(), &q(LinkFilter::Linked))), ["m1", "m3"]);
        assert_eq!(ids(page_links(members(), links, &q(LinkFilter::Unlinked))), ["m2", "m4"]);
    }

    #[test]
    fn search_and_paging_walk_every_match_once() {
        let query = LinkQuery { search: Some("ali".into()), limit: 1, ..Default::default() };
        let first = page_links(members(), vec![], &query);
        assert_eq!(first.rows[0].member.name, "Alice");
        assert_eq!(first.next.as_ref().map(|m| m.as_str()), Some("m1"));
        let second = page_links(members(), vec![], &LinkQuery { after: first.next, ..query.clone() });
        assert_eq!(second.rows[0].member.name, "Alina");
        assert_eq!(second.next, None, "no page after the last match");
    }
}
