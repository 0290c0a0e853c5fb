//! Ports: what the engine needs from the outside world, as narrow traits.

pub mod queue;
pub mod store;
