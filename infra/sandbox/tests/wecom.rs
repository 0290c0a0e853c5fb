//! The WeCom sandbox, driven over real HTTP like an adapter and a bundle would drive it.
//! API behaviour in `wecom/api.rs`, app cards and their XML callbacks in `wecom/cards.rs`,
//! the smart bot and the control routes in `wecom/bot.rs`; the fixture in `wecom/support.rs`.

#[path = "wecom/api.rs"]
mod api;
#[path = "wecom/bot.rs"]
mod bot;
#[path = "wecom/cards.rs"]
mod cards;
#[path = "wecom/support.rs"]
mod support;
