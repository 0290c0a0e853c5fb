//! IM platform adapters: each implements the `ImPlatform` and `CallbackCodec` ports of
//! `warroom-core` for one platform.

pub mod feishu;
pub mod slack;
