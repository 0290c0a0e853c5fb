//! The lower bound WeCom's limits allow a burst, from the sandbox's configured limits and the
//! calls the burst needed (or, for a scenario, the calls one room needs × the rooms).
//!
//! What one room needs from WeCom (linked responders; `WeComPlatform`): `create_chat` makes
//! no call (it only chooses the chat id); the first `add_members` is one `appchat/create`
//! (the owner + the responders); `post_card` is one `appchat/send` (the status, markdown),
//! one `appchat/get` (the members) and one `message/send` (a template card to each member,
//! the owner included). Found by phone, each responder adds one `user/getuserid`.
//!
//! The limits (the sandbox's `SandboxConfig`), and what each makes of a burst of N rooms:
//!
//! - per corp per API, `api_per_minute` (45009 beyond), `message/send` not counted: a *rate*
//!   term, the API's calls ÷ (`api_per_minute` / 60 s) — N × 60 / 2,000 = 3.0 s for 100
//!   rooms — as the Feishu and DingTalk bounds are calls ÷ rate.
//! - app messages to one member, `user_messages_per_minute` (30; the excess is dropped
//!   silently): a rate term per member, its messages ÷ (30 / 60 s). A responder gets one card;
//!   the group owner is in every room and gets one card per room: N × 2 s, 200 s for 100
//!   rooms. This term, not the per-API one, binds once N > `api_per_minute` / 30 (≈ 67 at
//!   2,000/min); the adapter's per-room message bucket (5, then one per 2 s) costs nothing
//!   here, as a new room posts one message.
//! - groups created per corp per day (1,000) and group changes (`appchat/update`) per corp
//!   per hour (1,000): *quotas*: calls within the cap cost nothing, each further cap's worth
//!   waits a window: (⌈calls ÷ cap⌉ − 1) × window. 100 rooms fit both.
//!
//! The bound is the largest term. The *window* bound is what the sliding windows alone allow
//! a first → last span: every term as (⌈calls ÷ limit⌉ − 1) × window (for the owner's 100
//! cards: 30 at once, 30 a minute later, …, the last at 180 s).

use std::time::Duration;
use warroom_sandbox::wecom::SandboxConfig;

/// The limits the sandbox enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub api_per_minute: u32,
    pub user_messages_per_minute: u32,
    pub chat_creates_per_day: u32,
    pub chat_changes_per_hour: u32,
}

impl From<&SandboxConfig> for Limits {
    fn from(c: &SandboxConfig) -> Self {
        Self {
            api_per_minute: c.api_per_minute,
            user_messages_per_minute: c.user_messages_per_minute,
            chat_creates_per_day: c.chat_creates_per_day,
            chat_changes_per_hour: c.chat_changes_per_hour,
        }
    }
}

/// What a burst asked of WeCom, counted as the limits count it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Per API counted in the per-minute limit (`POST /cgi-bin/appchat/create`, …): calls
    /// not refused.
    pub apis: Vec<(String, usize)>,
    /// The member sent the most app messages (delivered or dropped), and how many.
    pub busiest_member: Option<(String, usize)>,
    pub creates: usize,
    pub changes: usize,
}

pub const CREATE: &str = "POST /cgi-bin/appchat/create";
pub const UPDATE: &str = "POST /cgi-bin/appchat/update";
pub const SEND: &str = "POST /cgi-bin/appchat/send";
pub const GET: &str = "GET /cgi-bin/appchat/get";
pub const MESSAGE: &str = "POST /cgi-bin/message/send";
pub const BY_MOBILE: &str = "POST /cgi-bin/user/getuserid";

impl Needs {
    /// What `rooms` new rooms of `responders` each need, the responders pre-linked or
    /// (`lookup`) found by phone, every room owned by `owner`.
    pub fn predict(rooms: usize, responders: usize, lookup: bool, owner: &str) -> Self {
        let mut apis = vec![(CREATE.to_string(), rooms), (GET.to_string(), rooms), (SEND.to_string(), rooms)];
        if lookup {
            apis.push((BY_MOBILE.to_string(), rooms * responders));
        }
        apis.sort();
        // A responder gets one card; the owner, in every room, one per room.
        let busiest_member = (rooms > 0).then(|| (owner.to_string(), rooms));
        Self { apis, busiest_member, creates: rooms, changes: 0 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// calls ÷ rate.
    Rate,
    /// Free within the cap, a window per further cap's worth.
    Quota,
}

/// One limit applied to what the burst asked of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    pub what: String,
    pub calls: usize,
    pub limit: u32,
    pub window: Duration,
    pub kind: Kind,
    /// This term's share of the bound.
    pub bound_s: f64,
    /// (⌈calls ÷ limit⌉ − 1) × window.
    pub window_s: f64,
}

impl Term {
    fn new(what: String, calls: usize, limit: u32, window: Duration, kind: Kind) -> Self {
        let limit = limit.max(1);
        let w = window.as_secs_f64();
        let window_s = calls.div_ceil(limit as usize).saturating_sub(1) as f64 * w;
        let bound_s = match kind {
            Kind::Rate => calls as f64 * w / f64::from(limit),
            Kind::Quota => window_s,
        };
        Self { what, calls, limit, window, kind, bound_s, window_s }
    }

    pub fn limit_text(&self) -> String {
        let per = match self.window.as_secs() {
            60 => "min",
            3600 => "hour",
            86400 => "day",
            _ => "window",
        };
        format!("{}/{per}", self.limit)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    pub terms: Vec<Term>,
    /// The largest term, and which it is.
    pub bound_s: f64,
    pub binding: String,
    /// The largest window term.
    pub window_s: f64,
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86400);

impl Bound {
    pub fn new(limits: Limits, needs: &Needs) -> Self {
        let mut terms: Vec<Term> =
            needs.apis.iter().map(|(api, n)| Term::new(format!("{api} (per corp per API)"), *n, limits.api_per_minute, MINUTE, Kind::Rate)).collect();
        if let Some((member, n)) = &needs.busiest_member {
            terms.push(Term::new(format!("app messages to {member} (per member)"), *n, limits.user_messages_per_minute, MINUTE, Kind::Rate));
        }
        terms.push(Term::new("groups created (per corp)".into(), needs.creates, limits.chat_creates_per_day, DAY, Kind::Quota));
        terms.push(Term::new("group changes (per corp)".into(), needs.changes, limits.chat_changes_per_hour, HOUR, Kind::Quota));
        let binding = terms.iter().fold(None::<&Term>, |best, t| if best.is_none_or(|b| t.bound_s > b.bound_s) { Some(t) } else { best });
        let (bound_s, binding) = binding.map(|t| (t.bound_s, t.what.clone())).unwrap_or((0.0, "none".into()));
        let window_s = terms.iter().map(|t| t.window_s).fold(0.0, f64::max);
        Self { terms, bound_s, binding, window_s }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { api_per_minute: 2000, user_messages_per_minute: 30, chat_creates_per_day: 1000, chat_changes_per_hour: 1000 };

    #[test]
    fn a_hundred_rooms_are_bound_by_the_owners_cards_not_by_the_per_api_limit() {
        let b = Bound::new(LIMITS, &Needs::predict(100, 10, false, "owner"));
        assert_eq!(b.binding, "app messages to owner (per member)");
        assert!((b.bound_s - 200.0).abs() < 1e-9, "100 cards at 30 a minute: {b:?}");
        assert!((b.window_s - 180.0).abs() < 1e-9, "30 + 30 + 30 + 10, a minute apart: {b:?}");
        let create = b.terms.iter().find(|t| t.what.starts_with(CREATE)).unwrap();
        assert!((create.bound_s - 3.0).abs() < 1e-9, "100 calls at 2,000 a minute: {create:?}");
        assert!(b.terms.iter().filter(|t| t.kind == Kind::Quota).all(|t| t.bound_s == 0.0), "100 rooms fit the daily and hourly caps");
    }

    #[test]
    fn the_per_api_limit_binds_while_the_owner_gets_fewer_cards_than_it_allows_calls() {
        let b = Bound::new(Limits { api_per_minute: 60, ..LIMITS }, &Needs::predict(20, 3, true, "owner"));
        // 60 getuserid calls at 1/s: 60 s; 20 cards to the owner at 0.5/s: 40 s.
        assert_eq!(b.binding, format!("{BY_MOBILE} (per corp per API)"));
        assert!((b.bound_s - 60.0).abs() < 1e-9, "{b:?}");
    }

    #[test]
    fn a_quota_costs_nothing_within_its_cap_and_a_window_per_cap_beyond() {
        let t = Term::new("creates".into(), 2500, 1000, DAY, Kind::Quota);
        assert_eq!((t.bound_s, t.window_s), (2.0 * 86400.0, 2.0 * 86400.0));
        assert_eq!(Term::new("creates".into(), 1000, 1000, DAY, Kind::Quota).bound_s, 0.0);
    }
}
