//! The DingTalk sandbox, driven over real HTTP like an adapter and a bundle would drive it.
//! API behaviour in `dingtalk/api.rs` and `dingtalk/cards.rs`, callbacks in
//! `dingtalk/callbacks.rs`; the fixture in `dingtalk/support.rs`.

#[path = "dingtalk/api.rs"]
mod api;
#[path = "dingtalk/callbacks.rs"]
mod callbacks;
#[path = "dingtalk/cards.rs"]
mod cards;
#[path = "dingtalk/streaming.rs"]
mod streaming;
#[path = "dingtalk/support.rs"]
mod support;
