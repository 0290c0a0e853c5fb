//! Shared by the HTTP functions: the state every router gets and the JSON error shape.

pub mod auth;
mod body;
pub use body::RawBody;
pub mod clicks;
mod error;
pub mod oauth_state;
mod state;

pub use error::{not_implemented, ApiError};
pub use state::{AppState, Settings};
