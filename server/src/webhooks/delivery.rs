//! The outbox worker: claims due rows, POSTs them signed, records the outcome.
//!
//! Rows for the embedded pipeline (`url` = [`super::EMBEDDED_PIPELINE_URL`])
//! are served by whichever node claims them, through its own pipeline's
//! intake, called in process with the same signed request: no node's address
//! is stored, so a dead node's messages are delivered by the survivors.

use std::sync::Arc;
use std::time::Duration;

use parley_pipeline::signature::WebhookSecret;
use rand::Rng as _;
use sqlx::AnyPool;
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt as _;

use super::EMBEDDED_PIPELINE_URL;
use super::leases::NodeId;
use super::ssrf::OutboundPolicy;
use super::store::{self, Claimed};
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Deliveries in flight at once.
const CONCURRENCY: usize = 32;
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
    /// Consecutive dead letters after which a webhook is disabled.
    pub disable_after: u32,
}

/// The delay before attempt `attempt + 1`: `base · 2^(attempt-1)`, capped at
/// an hour, with ±20 % jitter so failing receivers are not hit in lockstep.
pub fn retry_delay(base: Duration, attempt: u32, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(Duration::from_secs(3600));
    capped.mul_f64(1.0 + 0.2 * jitter.clamp(-1.0, 1.0))
}

/// The delay before the next attempt: the backoff, or the receiver's
/// `Retry-After` when it asks for longer, up to [`MAX_RETRY_AFTER`].
pub fn next_delay(base: Duration, attempt: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
    let backoff = retry_delay(base, attempt, jitter);
    retry_after.map_or(backoff, |asked| backoff.max(asked.min(MAX_RETRY_AFTER)))
}

/// What the worker needs, shared by its delivery tasks.
#[derive(Clone)]
pub struct Worker {
    pub db: AnyPool,
    /// For external webhooks: refuses private addresses.
    pub guarded: reqwest::Client,
    /// For Parley's own webhooks at a configured address (an external
    /// `parley-pipeline` on a private network).
    pub internal: reqwest::Client,
    /// This node's embedded pipeline (its intake's routes), if it runs one.
    pub embedded: Option<axum::Router>,
    /// The node named in the leases this worker takes.
    pub node: NodeId,
    pub outbound: Arc<OutboundPolicy>,
    pub policy: RetryPolicy,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    pub write_gate: crate::db::WriteGate,
}

/// The outcome of one attempt.
enum Outcome {
    Accepted(u16),
    /// The receiver answered with a failure; `retry_after` if it said when to come back.
    Refused {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused, timeout, refused address.
    NoAnswer(String),
}

/// Runs until `shutdown` fires, then lets in-flight deliveries finish.
pub async fn run_worker(worker: Worker, wakeup: Arc<Notify>, shutdown: Shutdown) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    // Rung when a delivery ends: rows left waiting for a free slot go out then,
    // not at the next publish or poll.
    let freed = Arc::new(Notify::new());
    loop {
        let free = permits.available_permits() as i64;
        if free > 0 {
            match claim(&worker, BATCH.min(free)).await {
                Ok(rows) => {
                    let claimed_any = !rows.is_empty();
                    for row in rows {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            return;
                        };
                        let (worker, freed) = (worker.clone(), freed.clone());
                        tokio::spawn(async move {
                            deliver(&worker, row).await;
                            drop(permit);
                            freed.notify_one();
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
            _ = freed.notified(), if free == 0 => {}
            _ = tokio::time::sleep(IDLE_POLL) => {}
            _ = shutdown.wait() => break,
        }
    }
    // Drain: wait for every in-flight delivery.
    let _ = permits.acquire_many(CONCURRENCY as u32).await;
}

/// Leases up to `limit` due rows to this node by pushing their due time past
/// the timeout.
async fn claim(worker: &Worker, limit: i64) -> crate::error::Result<Vec<Claimed>> {
    let now = worker.clock.now_ms();
    let lease = store::Lease {
        now,
        until: now + worker.policy.timeout.as_millis() as i64 + 5_000,
        node: worker.node.as_str(),
        limit,
        with_embedded_pipeline: worker.embedded.is_some(),
    };
    store::claim(&worker.db, &worker.write_gate, &lease).await
}

async fn deliver(worker: &Worker, row: Claimed) {
    let started = std::time::Instant::now();
    let outcome = attempt(worker, &row).await;
    let latency = started.elapsed();
    let turn = worker.write_gate.enter().await;
    let now = worker.clock.now_ms();
    let latency_ms = latency.as_millis() as i64;
    let result = match outcome {
        Outcome::Accepted(status) => {
            worker.metrics.webhook_attempt("success", latency);
            store::mark_delivered(&worker.db, &turn, &row.id, status, latency_ms, now).await
        }
        Outcome::Refused { status: 410, .. } if !row.is_internal() => {
            // 410 Gone: the receiver asks never to be called again.
            worker.metrics.webhook_attempt("gone", latency);
            tracing::warn!(webhook = %row.webhook_name, "receiver answered 410 Gone: webhook disabled");
            if let Err(e) = store::disable(&worker.db, &row.webhook_name, "receiver answered 410 Gone").await {
                tracing::error!(error = %e, "cannot disable webhook");
            }
            worker.metrics.dead_letter(false);
            store::mark_failed(&worker.db, &row.id, Some(410), Some("410 Gone: webhook disabled"), latency_ms, now)
                .await
        }
        Outcome::Refused { status, retry_after } => {
            worker.metrics.webhook_attempt("failure", latency);
            retry_or_fail(worker, &row, Some(status), None, retry_after, latency_ms, now).await
        }
        Outcome::NoAnswer(error) => {
            worker.metrics.webhook_attempt("error", latency);
            retry_or_fail(worker, &row, None, Some(&error), None, latency_ms, now).await
        }
    };
    if let Err(e) = result {
        tracing::error!(error = %e, id = %row.id, "cannot record webhook outcome; the lease will expire and it is retried");
    }
}

impl Claimed {
    /// One of Parley's own webhooks (the pipeline): never disabled, and its
    /// dead letters are errors of Parley's, not of a receiver.
    fn is_internal(&self) -> bool {
        self.internal == Some(1)
    }
}

async fn retry_or_fail(
    worker: &Worker,
    row: &Claimed,
    status: Option<u16>,
    error: Option<&str>,
    retry_after: Option<Duration>,
    latency_ms: i64,
    now: i64,
) -> crate::error::Result<()> {
    if row.attempts >= i64::from(worker.policy.max_attempts) {
        if row.is_internal() {
            // A message nobody will read in any language: Parley's own fault
            // (or its pipeline's), so it is an error, and an admin can retry it.
            tracing::error!(id = %row.id, webhook = %row.webhook_name, attempts = row.attempts, ?status, ?error,
                "the pipeline gave up on a message (dead letter); readers do not get it until an admin retries it");
        } else {
            tracing::warn!(id = %row.id, webhook = %row.webhook_name, attempts = row.attempts, ?status, ?error,
                "webhook delivery failed for good (dead letter)");
        }
        worker.metrics.dead_letter(row.is_internal());
        store::mark_failed(&worker.db, &row.id, status, error, latency_ms, now).await?;
        if !row.is_internal() {
            disable_if_failing(worker, &row.webhook_name).await;
        }
        return Ok(());
    }
    let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
    let delay = next_delay(worker.policy.base, row.attempts as u32, jitter, retry_after);
    tracing::info!(id = %row.id, webhook = %row.webhook_name, attempts = row.attempts, ?status, ?error, ?delay,
        "webhook delivery will be retried");
    store::schedule_retry(&worker.db, &row.id, now + delay.as_millis() as i64, status, error, latency_ms).await
}

/// Disables an external webhook whose last `disable_after` finished
/// deliveries all failed: sustained failure, not a sporadic one (a success
/// in between resets it).
async fn disable_if_failing(worker: &Worker, webhook: &str) {
    let Ok(recent) = store::recent_outcomes(&worker.db, webhook, worker.policy.disable_after).await else { return };
    if recent.len() < worker.policy.disable_after as usize || recent.iter().any(|s| s != "failed") {
        return;
    }
    let reason = format!("{} consecutive deliveries failed", worker.policy.disable_after);
    match store::disable(&worker.db, webhook, &reason).await {
        Ok(true) => tracing::warn!(%webhook, %reason, "webhook disabled"),
        Ok(false) => {}
        Err(e) => tracing::error!(error = %e, "cannot disable webhook"),
    }
}

/// The `webhook-signature` header: one signature per valid secret.
fn signature_header(row: &Claimed, timestamp: i64, now_ms: i64) -> Result<String, String> {
    let current = row.secret.as_deref().ok_or("the webhook was deleted")?;
    let mut signatures = vec![WebhookSecret::parse(current).map_err(|e| format!("webhook secret: {e}"))?.sign(
        &row.id,
        timestamp,
        row.payload.as_bytes(),
    )];
    if let (Some(previous), Some(until)) = (&row.previous_secret, row.previous_secret_until)
        && until > now_ms
        && let Ok(previous) = WebhookSecret::parse(previous)
    {
        signatures.push(previous.sign(&row.id, timestamp, row.payload.as_bytes()));
    }
    Ok(signatures.join(" "))
}

/// One signed POST: over HTTP, or into this node's embedded pipeline.
async fn attempt(worker: &Worker, row: &Claimed) -> Outcome {
    let Some(url) = row.url.as_deref() else {
        return Outcome::NoAnswer("the webhook was deleted".into());
    };
    let internal = row.is_internal();
    if !internal {
        match reqwest::Url::parse(url) {
            Ok(parsed) => {
                if let Err(why) = worker.outbound.check_url(&parsed) {
                    return Outcome::NoAnswer(format!("refused: {why}"));
                }
            }
            Err(e) => return Outcome::NoAnswer(format!("bad url: {e}")),
        }
    }
    let timestamp = worker.clock.now_secs();
    let signature = match signature_header(row, timestamp, worker.clock.now_ms()) {
        Ok(s) => s,
        Err(e) => return Outcome::NoAnswer(e),
    };
    if internal && url == EMBEDDED_PIPELINE_URL {
        return call_embedded(worker, row, timestamp, signature).await;
    }
    let client = if internal { &worker.internal } else { &worker.guarded };
    let sent = client
        .post(url)
        .timeout(worker.policy.timeout)
        .header("content-type", "application/json")
        .header("webhook-id", &row.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(row.payload.clone())
        .send()
        .await;
    match sent {
        Err(e) => Outcome::NoAnswer(error_chain(&e)),
        Ok(response) => answered(response.status(), response.headers()),
    }
}

/// The signed request, handed to this node's pipeline intake in process: the
/// same checks as over HTTP, without a node address in shared state.
async fn call_embedded(worker: &Worker, row: &Claimed, timestamp: i64, signature: String) -> Outcome {
    let Some(pipeline) = &worker.embedded else {
        // Not claimed by such a node; a row claimed before a restart in another mode.
        return Outcome::NoAnswer("this node runs no embedded pipeline".into());
    };
    let request = axum::http::Request::post("/pipeline/webhook")
        .header("content-type", "application/json")
        .header("webhook-id", &row.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(axum::body::Body::from(row.payload.clone()));
    let request = match request {
        Ok(request) => request,
        Err(e) => return Outcome::NoAnswer(format!("cannot build the request: {e}")),
    };
    match tokio::time::timeout(worker.policy.timeout, pipeline.clone().oneshot(request)).await {
        Err(_) => Outcome::NoAnswer(format!("the embedded pipeline did not answer within {:?}", worker.policy.timeout)),
        Ok(Err(never)) => match never {},
        Ok(Ok(response)) => answered(response.status(), response.headers()),
    }
}

/// The outcome of an answer: its status, and `Retry-After` on a failure.
fn answered(status: reqwest::StatusCode, headers: &reqwest::header::HeaderMap) -> Outcome {
    if status.is_success() {
        return Outcome::Accepted(status.as_u16());
    }
    Outcome::Refused {
        status: status.as_u16(),
        retry_after: headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `Retry-After` in delta-seconds (HTTP dates are treated as absent).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
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
        assert_eq!(retry_delay(Duration::from_secs(60), 40, 0.0), Duration::from_secs(3600));
    }

    #[test]
    fn retry_after_is_honoured_when_longer_and_clamped_to_an_hour() {
        let base = Duration::from_millis(100);
        let secs = Duration::from_secs;
        assert_eq!(next_delay(base, 1, 0.0, None), Duration::from_millis(100));
        assert_eq!(next_delay(base, 1, 0.0, Some(secs(30))), secs(30), "the receiver asked for longer");
        assert_eq!(next_delay(secs(60), 3, 0.0, Some(secs(1))), secs(240), "never shorter than the backoff");
        assert_eq!(next_delay(base, 1, 0.0, Some(secs(86_400))), MAX_RETRY_AFTER, "a day is clamped to an hour");
        assert_eq!(parse_retry_after(" 120 "), Some(secs(120)));
        for bad in ["", "soon", "-5", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT"] {
            assert_eq!(parse_retry_after(bad), None, "{bad:?}");
        }
    }
}
