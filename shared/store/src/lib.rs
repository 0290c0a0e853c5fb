//! Adapters of the `Store` port (see `warroom_core::ports::store`).
//!
//! - [`dynamo::DynamoStore`]: DynamoDB, one table; the key design is in [`keys`].
//! - [`embedded::EmbeddedStore`]: one local file (redb), for the local stack, laid out
//!   with the same keys.

mod cursor;
pub mod dynamo;
pub mod embedded;
pub mod keys;
mod messages;
