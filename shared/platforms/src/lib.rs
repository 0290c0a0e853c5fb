//! IM platform adapters: each implements the `ImPlatform` and `CallbackCodec` ports of
//! `warroom-core` for one platform, and registers a [`module::PlatformModule`] in
//! [`registry`]. [`Platforms`] is the `PlatformFactory` the deployment wires: it opens an
//! integration's sealed credentials and asks the integration's module for its client.

pub mod dingtalk;
mod factory;
pub mod feishu;
pub mod health;
pub mod module;
pub mod registry;
pub mod slack;
pub mod tls;
mod token_cache;
pub mod wecom;

pub use factory::{Platforms, PlatformsConfig, SlackApp, DEFAULT_HTTP_TIMEOUT};
pub use feishu::StoredFeishu;
pub use module::{ConnectError, Connected, CredentialField, FieldValues, PlatformModule, SignIn, SignedIn};
