//! The IM sandbox: stateful emulators of the platforms' Web APIs, faithful to the reference
//! docs in shape, errors and rate limits, that can also send signed / encrypted callbacks
//! (a button click, a message, a chat disbanded) to the bundle, exactly as the platform
//! would. Tests start them on loopback ports; the local stack mounts them in-process (or runs
//! them in the `warroom-sandbox` process). [`hold`]: holding one call in flight, for crash tests.

pub mod bedrock;
pub mod dingtalk;
pub mod feishu;
pub mod hold;
pub mod llm;
pub mod slack;
pub mod wecom;

pub use hold::{HoldError, HoldPoint, HoldStatus, Holds, Release};
