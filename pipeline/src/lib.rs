//! # Parley's message pipeline
//!
//! A stateless consumer of signed webhooks. For each chat message published to
//! a room's publish topic it:
//!
//! 1. verifies the Standard Webhooks signature ([`signature`]),
//! 2. detects the language among the room's languages ([`detect`]),
//! 3. moderates it under the room's policy ([`moderate`]),
//! 4. translates it into every room language concurrently ([`translate`]),
//! 5. publishes one [`envelope::Envelope`] per language to
//!    `{room}-subscribe-{lang}` through the topics API ([`topics_client`]).
//!
//! It answers the webhook only once every language has been published, so a
//! crash or an error leaves the delivery to be retried by the sender: nothing
//! is acknowledged that was not done. The same code runs embedded in the
//! `parley` server (which hands it each signed delivery in process, and
//! mounts it at `POST /pipeline/webhook`) and alone as the `parley-pipeline`
//! binary.
//!
//! # Layout
//! - [`intake`]: the axum handler and the per-message flow.
//! - [`signature`], [`detect`], [`moderate`], [`translate`]: the stages.
//! - [`topics_client`]: the HTTP client for the server's topics and rooms API.

pub mod clock;
pub mod detect;
pub mod envelope;
pub mod error;
pub mod eval;
pub mod intake;
pub mod metrics;
pub mod moderate;
pub mod signature;
pub mod topics_client;
pub mod translate;

pub use error::{Error, Result};
pub use intake::{Pipeline, PipelineConfig, router};
