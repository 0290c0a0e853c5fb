//! `warroom-local`: the whole bundle in one process, for running Warroom with no AWS account.
//!
//! Every route of every function (the same routers the Lambdas run) and the worker loops
//! over the embedded store (in a data directory that survives restarts) and the in-process
//! queue; in demo mode also the Slack and Feishu sandboxes, a seeded demo tenant, the
//! sandbox web view and control endpoints under `/sandbox`.
//!
//! - [`cli`]: the command line.
//! - [`run`](mod@run): startup and shutdown; [`server`]: the router; [`worker`]: the worker loops.
//! - [`data`]: the data directory (the queue's journal among it); [`queue_file`]: an older version's saved queue.
//! - [`sandboxes`], [`seed`]: demo mode; [`control`]: card clicks for scripts; [`web`]: the view.
//! - [`sandbox_server`]: the `warroom-sandbox` process (demo mode's sandboxes out of process).

pub mod banner;
pub mod cli;
pub mod connect;
pub mod control;
pub mod data;
pub mod error;
pub mod queue_file;
pub mod run;
pub mod sandbox_server;
pub mod sandboxes;
pub mod seed;
pub mod server;
pub mod web;
pub mod worker;

pub use cli::{Command, Options};
pub use error::LocalError;
pub use run::run;
