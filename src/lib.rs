//! Warroom: incident war rooms in your team's IM, as a bundle of AWS Lambda functions.
//!
//! This root crate holds no code: the functions are in `functions/`, the libraries in
//! `shared/`, and the workspace-level tests (which cross crates) in `tests/`.
