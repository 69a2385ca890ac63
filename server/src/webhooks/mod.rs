//! Webhooks: an outbox written with each publish, and a worker that delivers it.
//!
//! Delivery is at-least-once. Each outbox row is one message to one webhook,
//! with a `webhook-id` that stays the same across attempts so receivers can
//! deduplicate. A row is claimed by pushing its due time past the request
//! timeout (a lease), so a crash mid-delivery only delays it.

pub mod api;
pub mod delivery;
pub mod ssrf;

use sqlx::{Any, AnyPool, Transaction};

use crate::db::now_ms;
use crate::error::Result;
use crate::topics::Item;

/// Writes one outbox row per webhook on the item's topic, inside the publish
/// transaction. Rows for a disabled webhook wait, pending, until an admin
/// enables it again: nothing published meanwhile is lost. Returns how many
/// were written.
///
/// # Errors
/// Database errors (the publish then rolls back).
pub async fn enqueue(tx: &mut Transaction<'_, Any>, item: &Item, now: i64) -> Result<usize> {
    let names: Vec<(String,)> =
        sqlx::query_as("select name from webhooks where topic = $1").bind(&item.topic).fetch_all(&mut **tx).await?;
    if names.is_empty() {
        return Ok(0);
    }
    let payload = item.webhook_payload().to_string();
    for (name,) in &names {
        sqlx::query(
            "insert into webhook_outbox (id, webhook_name, topic, seq, payload, next_attempt_at, created_at)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(format!("msg_{}", ulid::Ulid::new()))
        .bind(name)
        .bind(&item.topic)
        .bind(item.seq)
        .bind(&payload)
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(names.len())
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

/// Where every room's publish topic is delivered: the pipeline's intake.
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
