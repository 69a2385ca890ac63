//! The outbox worker: claims due rows, POSTs them signed, records the outcome.

use std::sync::Arc;
use std::time::Duration;

use parley_pipeline::signature::WebhookSecret;
use rand::Rng as _;
use sqlx::SqlitePool;
use tokio::sync::{Notify, Semaphore};

use crate::db::now_ms;

/// Deliveries in flight at once.
const CONCURRENCY: usize = 16;
/// Rows claimed per query.
const BATCH: i64 = 32;
/// The longest wait between checks when nothing wakes the worker.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// How the worker retries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_attempts: u32,
    pub timeout: Duration,
}

/// The delay before attempt `attempt + 1`: `base · 2^(attempt-1)`, capped at
/// an hour, with ±20 % jitter so failing receivers are not hit in lockstep.
pub fn retry_delay(base: Duration, attempt: u32, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(Duration::from_secs(3600));
    capped.mul_f64(1.0 + 0.2 * jitter.clamp(-1.0, 1.0))
}

#[derive(sqlx::FromRow)]
struct Claimed {
    id: String,
    payload: String,
    attempts: i64,
    url: String,
    secret: String,
}

/// Runs until `shutdown` fires, then lets in-flight deliveries finish.
pub async fn run_worker(
    db: SqlitePool,
    http: reqwest::Client,
    policy: RetryPolicy,
    wakeup: Arc<Notify>,
    shutdown: crate::shutdown::Shutdown,
) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    loop {
        let free = permits.available_permits() as i64;
        if free > 0 {
            match claim(&db, BATCH.min(free), &policy).await {
                Ok(rows) => {
                    let claimed_any = !rows.is_empty();
                    for row in rows {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            return;
                        };
                        let (db, http, policy) = (db.clone(), http.clone(), policy.clone());
                        tokio::spawn(async move {
                            deliver(&db, &http, &policy, row).await;
                            drop(permit);
                        });
                    }
                    if claimed_any {
                        continue;
                    }
                }
                Err(error) => tracing::warn!(%error, "outbox claim failed"),
            }
        }
        tokio::select! {
            _ = wakeup.notified() => {}
            _ = tokio::time::sleep(IDLE_POLL) => {}
            _ = shutdown.wait() => break,
        }
    }
    // Drain: wait for every in-flight delivery.
    let _ = permits.acquire_many(CONCURRENCY as u32).await;
}

/// Leases up to `limit` due rows by pushing their due time past the timeout.
async fn claim(db: &SqlitePool, limit: i64, policy: &RetryPolicy) -> sqlx::Result<Vec<Claimed>> {
    let now = now_ms();
    let lease_until = now + policy.timeout.as_millis() as i64 + 5_000;
    sqlx::query_as(
        "update webhook_outbox set next_attempt_at = ?, attempts = attempts + 1
         where id in (select id from webhook_outbox
                      where status = 'pending' and next_attempt_at <= ?
                      order by next_attempt_at, created_at limit ?)
         returning id, payload, attempts,
             (select url from webhooks w where w.name = webhook_outbox.webhook_name) as url,
             (select secret from webhooks w where w.name = webhook_outbox.webhook_name) as secret",
    )
    .bind(lease_until)
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

async fn deliver(db: &SqlitePool, http: &reqwest::Client, policy: &RetryPolicy, row: Claimed) {
    let started = std::time::Instant::now();
    let outcome = attempt(http, policy, &row).await;
    let now = now_ms();
    let (status, error) = match &outcome {
        Ok(code) => (Some(i64::from(*code)), None),
        Err(e) => (None, Some(e.clone())),
    };
    let success = matches!(outcome, Ok(code) if (200..300).contains(&code));
    let result = if success {
        sqlx::query(
            "update webhook_outbox set status = 'delivered', last_status = ?, last_error = null, finished_at = ?
             where id = ?",
        )
        .bind(status)
        .bind(now)
        .bind(&row.id)
        .execute(db)
        .await
    } else if row.attempts >= i64::from(policy.max_attempts) {
        tracing::warn!(id = %row.id, attempts = row.attempts, ?status, ?error, "webhook delivery failed for good");
        sqlx::query(
            "update webhook_outbox set status = 'failed', last_status = ?, last_error = ?, finished_at = ?
             where id = ?",
        )
        .bind(status)
        .bind(&error)
        .bind(now)
        .bind(&row.id)
        .execute(db)
        .await
    } else {
        let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
        let delay = retry_delay(policy.base, row.attempts as u32, jitter);
        tracing::info!(id = %row.id, attempts = row.attempts, ?status, ?error, ?delay, "webhook delivery will be retried");
        sqlx::query(
            "update webhook_outbox set next_attempt_at = ?, last_status = ?, last_error = ? where id = ?",
        )
        .bind(now + delay.as_millis() as i64)
        .bind(status)
        .bind(&error)
        .bind(&row.id)
        .execute(db)
        .await
    };
    if let Err(e) = result {
        tracing::error!(error = %e, id = %row.id, "cannot record webhook outcome; the lease will expire and it is retried");
    }
    tracing::debug!(id = %row.id, elapsed_ms = started.elapsed().as_millis() as u64, success, "webhook attempt");
}

/// One signed POST; the HTTP status, or why there was none.
async fn attempt(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    row: &Claimed,
) -> Result<u16, String> {
    let secret = WebhookSecret::parse(&row.secret).map_err(|e| format!("webhook secret: {e}"))?;
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let signature = secret.sign(&row.id, timestamp, row.payload.as_bytes());
    let response = http
        .post(&row.url)
        .timeout(policy.timeout)
        .header("content-type", "application/json")
        .header("webhook-id", &row.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(row.payload.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_and_stays_within_jitter_bounds() {
        let base = Duration::from_millis(100);
        assert_eq!(retry_delay(base, 1, 0.0), Duration::from_millis(100));
        assert_eq!(retry_delay(base, 2, 0.0), Duration::from_millis(200));
        assert_eq!(retry_delay(base, 4, 0.0), Duration::from_millis(800));
        assert_eq!(retry_delay(base, 4, 1.0), Duration::from_millis(960));
        assert_eq!(retry_delay(base, 4, -1.0), Duration::from_millis(640));
        assert_eq!(retry_delay(base, 4, 7.0), Duration::from_millis(960));
        assert_eq!(
            retry_delay(Duration::from_secs(60), 40, 0.0),
            Duration::from_secs(3600)
        );
    }
}
