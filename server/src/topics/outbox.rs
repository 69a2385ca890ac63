//! The webhook outbox, written in the publish transaction so an acknowledged
//! publish is never missing its deliveries; [`crate::webhooks`] delivers it.

use sqlx::{Any, Transaction};

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
