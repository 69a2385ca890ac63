//! Webhooks: an outbox written with each publish, and a worker that delivers it.
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

use sqlx::{Any, AnyPool, Transaction};

use crate::db::now_ms;
use crate::error::Result;

/// The webhooks on `topic`. Disabled ones count too: their rows wait,
/// pending, until an admin enables them again, so nothing published
/// meanwhile is lost.
///
/// # Errors
/// Database errors.
pub async fn names_for(tx: &mut Transaction<'_, Any>, topic: &str) -> Result<Vec<String>, sqlx::Error> {
    let names: Vec<(String,)> =
        sqlx::query_as("select name from webhooks where topic = $1").bind(topic).fetch_all(&mut **tx).await?;
    Ok(names.into_iter().map(|(name,)| name).collect())
}

/// One message to one webhook.
pub struct OutboxRow<'a> {
    pub webhook: &'a str,
    pub topic: &'a str,
    pub seq: i64,
    /// The JSON body (API.md, "Webhooks").
    pub payload: &'a str,
}

/// Writes outbox rows inside the publish transaction, so an acknowledged
/// publish is never missing its deliveries; many rows per statement.
///
/// # Errors
/// Database errors (the publish then rolls back).
pub async fn enqueue(tx: &mut Transaction<'_, Any>, rows: &[OutboxRow<'_>], now: i64) -> Result<(), sqlx::Error> {
    const COLUMNS: usize = 7;
    for chunk in rows.chunks(64) {
        let sql = format!(
            "insert into webhook_outbox (id, webhook_name, topic, seq, payload, next_attempt_at, created_at) values {}",
            crate::db::placeholders(chunk.len(), COLUMNS)
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            query = query
                .bind(format!("msg_{}", ulid::Ulid::new()))
                .bind(row.webhook)
                .bind(row.topic)
                .bind(row.seq)
                .bind(row.payload)
                .bind(now)
                .bind(now);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Registers (or re-points) a webhook of Parley's own, such as the embedded
/// pipeline: exempt from the private-address policy, since it is on loopback.
///
/// # Errors
/// Database errors.
pub async fn upsert_internal(db: &AnyPool, name: &str, topic: &str, url: &str, secret: &str) -> Result<()> {
    sqlx::query(
        "insert into webhooks (name, topic, url, secret, enabled, internal, created_at) values ($1, $2, $3, $4, 1, 1, $5)
         on conflict (name) do update set topic = excluded.topic, url = excluded.url,
             secret = excluded.secret, enabled = 1, internal = 1, disabled_reason = null",
    )
    .bind(name)
    .bind(topic)
    .bind(url)
    .bind(secret)
    .bind(now_ms())
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
    pub async fn register(&self, db: &AnyPool, room: &str) -> Result<()> {
        upsert_internal(db, &format!("pipeline-{room}"), &format!("{room}-publish"), &self.url, &self.secret).await
    }
}
