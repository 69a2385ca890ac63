//! Webhooks: a worker that delivers the outbox each publish writes
//! ([`crate::topics::outbox`]).
//!
//! Delivery is at-least-once. Each outbox row is one message to one webhook,
//! with a `webhook-id` that stays the same across attempts so receivers can
//! deduplicate. A row is claimed by pushing its due time past the request
//! timeout (a lease) and naming the node that holds it ([`leases`]), so a
//! crash mid-delivery only delays it, by seconds.

pub mod api;
pub mod delivery;
pub mod leases;
pub mod ssrf;
pub mod store;

use sqlx::AnyPool;

use crate::error::Result;

/// Registers (or re-points) a webhook of Parley's own, such as the embedded
/// pipeline: exempt from the private-address policy, since it is on loopback.
///
/// # Errors
/// Database errors.
pub async fn upsert_internal(
    db: &AnyPool,
    name: &str,
    topic: &str,
    url: &str,
    secret: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "insert into webhooks (name, topic, url, secret, enabled, internal, created_at) values ($1, $2, $3, $4, 1, 1, $5)
         on conflict (name) do update set topic = excluded.topic, url = excluded.url,
             secret = excluded.secret, enabled = 1, internal = 1, disabled_reason = null",
    )
    .bind(name)
    .bind(topic)
    .bind(url)
    .bind(secret)
    .bind(now_ms)
    .execute(db)
    .await?;
    Ok(())
}

/// The stored URL of the embedded pipeline's webhooks. It names no node:
/// whichever node claims a delivery hands it to its own pipeline, so the
/// messages of a node that died are delivered by the others.
pub const EMBEDDED_PIPELINE_URL: &str = "embedded:pipeline";

/// Where every room's publish topic is delivered: the pipeline's intake
/// ([`EMBEDDED_PIPELINE_URL`], or an external `parley-pipeline`).
#[derive(Debug, Clone)]
pub struct PipelineHook {
    pub url: String,
    pub secret: String,
}

impl PipelineHook {
    /// Registers the pipeline as the webhook of `room`'s publish topic.
    ///
    /// # Errors
    /// Database errors.
    pub async fn register(&self, db: &AnyPool, room: &str, now_ms: i64) -> Result<()> {
        let (name, topic) = (format!("pipeline-{room}"), format!("{room}-publish"));
        upsert_internal(db, &name, &topic, &self.url, &self.secret, now_ms).await
    }
}
