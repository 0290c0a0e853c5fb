//! Shared test support: fixtures, emulator clients, and the conformance suites that
//! every adapter of a port must pass (run from the workspace `tests/`).

pub mod alertmanager;
pub mod aws;
pub mod fake_callbacks;
pub mod fake_platform;
pub mod faults;
pub mod fixtures;
pub mod log_scan;
pub mod logging;
pub mod queue_suite;
pub mod store_suite;
