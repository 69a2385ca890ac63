//! End-to-end tests against real Parley servers on loopback.

mod browser;
mod pipeline;
mod topics;
mod webhooks;
