//! Ports: what the engine needs from the outside world, as narrow traits.

pub mod callbacks;
pub mod im;
pub mod model;
pub mod queue;
pub mod source;
pub mod store;
