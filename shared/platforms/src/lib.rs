//! IM platform adapters: each implements the `ImPlatform` and `CallbackCodec` ports of
//! `warroom-core` for one platform. [`Platforms`] is the `PlatformFactory` the deployment
//! wires: it opens an integration's sealed credentials and hands out its client.

mod factory;
pub mod feishu;
pub mod slack;
pub mod tls;

pub use factory::{Platforms, PlatformsConfig, SlackApp, StoredFeishu, DEFAULT_HTTP_TIMEOUT};
