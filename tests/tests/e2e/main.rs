//! End-to-end tests against real Parley servers on loopback.
// Helpers here are test code too: a failed step should panic with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod browser;
mod costs;
mod history;
mod pipeline;
mod standalone;
mod tokens;
mod topics;
mod webhooks;
