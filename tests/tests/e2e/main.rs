//! End-to-end tests against real Parley servers on loopback.
// Helpers here are test code too: a failed step should panic with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod apifuzz;
mod browser;
mod cluster;
mod costs;
mod crash;
mod faults;
mod handlers;
mod history;
mod moderation;
mod pipeline;
mod processes;
mod recovery;
mod security;
mod standalone;
mod tokens;
mod topics;
mod ux;
mod webhooks;
