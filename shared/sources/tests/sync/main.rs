//! Status sync against local HTTP receivers (and, when ignored tests run, a real
//! Alertmanager). One test binary: each file is a module, so the crate links once.

mod alertmanager;
mod alertmanager_real;
mod fixtures;
mod generic;
mod outbound;
mod pagerduty;
mod receiver;
