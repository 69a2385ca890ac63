//! Group commit: publishes that arrive while a transaction runs commit together in the next one.
//!
//! A publish used to be its own transaction: five statements, each a round
//! trip to the database's thread, about 0.4 ms on SQLite, taken one at a time
//! so that subscribers see `seq` order. Above ~2,000 msg/s the queue behind
//! that lock grew without bound. Now every publish joins a queue, and
//! whichever publisher holds the lock writes everything queued so far in one
//! transaction (one `seq` update per topic, one multi-row insert for the
//! items, one for their outbox rows), so the cost per item falls as load
//! rises, while a lone publish still commits at once.
//!
//! - [`plan`]: what a batch does, whatever the engine (seqs, keys, outbox rows).
//! - [`any`]: the transaction through sqlx, on PostgreSQL.
//! - [`sqlite`]: the transaction on the embedded default, in one call on the
//!   calling thread: sqlx would hand each statement to its worker thread and
//!   back, and under load each hand-off waits for a core.

mod any;
mod plan;
mod sqlite;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::{Item, Publisher};
use crate::AppState;
use crate::error::{Error, Result};

pub use sqlite::SqliteWriter;

/// The most publishes one transaction takes; the rest wait for the next.
/// Seven bound values per item stay far below both engines' limits.
const MAX_BATCH: usize = 256;

/// The result of a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub seq: i64,
    /// The idempotency key was seen before: nothing was appended.
    pub duplicate: bool,
}

/// A publish waiting for its transaction.
struct Pending {
    topic: String,
    publisher: Publisher,
    value: Value,
    key: Option<String>,
    started: std::time::Instant,
    reply: oneshot::Sender<Result<Published>>,
}

/// The queue of publishes and the lock whose holder writes them.
#[derive(Default)]
pub struct PublishQueue {
    pending: std::sync::Mutex<VecDeque<Pending>>,
    /// Held from a batch's first statement until its last broadcast, so this
    /// node's subscribers see its items in exactly `seq` order. Owned, so the
    /// batch task keeps it even if the publisher that started it goes away.
    writer: Arc<Mutex<()>>,
    /// The embedded default's own connection for batches (none on PostgreSQL).
    sqlite: Option<SqliteWriter>,
}

impl PublishQueue {
    pub fn new(sqlite: Option<SqliteWriter>) -> Self {
        Self { sqlite, ..Self::default() }
    }

    fn push(&self, pending: Pending) {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).push_back(pending);
    }

    fn take(&self) -> Vec<Pending> {
        let mut queue = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let n = queue.len().min(MAX_BATCH);
        queue.drain(..n).collect()
    }

    /// How many publishes wait for a transaction.
    pub fn queued(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Appends `value` to `topic`. The item and one outbox row per webhook on the
/// topic commit together, so an acknowledged publish is never missing its
/// webhook deliveries. With an idempotency key already used on this topic,
/// returns the earlier item's `seq` and appends nothing.
///
/// # Errors
/// Database errors: transient ones as [`Error::Unavailable`].
pub async fn publish_item(
    state: &AppState,
    topic: &str,
    publisher: Publisher,
    value: Value,
    idempotency_key: Option<&str>,
) -> Result<Published> {
    let (reply, mut answer) = oneshot::channel();
    let started = std::time::Instant::now();
    let key = idempotency_key.map(str::to_owned);
    state.publish_queue.push(Pending { topic: topic.to_owned(), publisher, value, key, started, reply });
    loop {
        let writer = state.publish_queue.writer.clone().lock_owned().await;
        // The batch before ours may have taken it.
        match answer.try_recv() {
            Ok(result) => return result,
            Err(oneshot::error::TryRecvError::Closed) => return Err(Error::Internal("the publish was dropped".into())),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let batch = state.publish_queue.take();
        // A task of its own: a publisher whose client hangs up must not cancel
        // a transaction that carries other publishers' items.
        let task = tokio::spawn(commit(state.clone(), batch, writer));
        if let Err(e) = task.await {
            tracing::error!(error = %e, "publish batch task failed");
        }
    }
}

/// Writes a batch, then announces and answers it. A batch that fails for a
/// reason other than a busy database is retried one publish at a time, so one
/// bad item cannot fail its neighbours.
async fn commit(state: AppState, batch: Vec<Pending>, _writer: OwnedMutexGuard<()>) {
    if batch.is_empty() {
        return;
    }
    let _write = state.write_gate.enter().await;
    state.metrics.publish_batches.fetch_add(1, Ordering::Relaxed);
    // The batch's items share one published time.
    let now = state.clock.now_ms();
    match write(&state, &batch, now).await {
        Ok(outcomes) => finish(&state, batch, outcomes, now).await,
        Err(e) if batch.len() > 1 && !e.transient() => {
            tracing::warn!(error = %e, items = batch.len(), "publish batch failed; retrying its items one by one");
            for pending in batch {
                match write(&state, std::slice::from_ref(&pending), now).await {
                    Ok(outcomes) => finish(&state, vec![pending], outcomes, now).await,
                    Err(e) => {
                        let _ = pending.reply.send(Err(e.to_api()));
                    }
                }
            }
        }
        Err(e) => {
            for pending in batch {
                let _ = pending.reply.send(Err(e.to_api()));
            }
        }
    }
}

/// The batch's transaction on this node's engine: one outcome per publish, in order.
async fn write(state: &AppState, batch: &[Pending], now: i64) -> Result<Vec<Published>, WriteError> {
    match &state.publish_queue.sqlite {
        Some(writer) => writer.write(batch, now).map_err(WriteError::Sqlite),
        None => any::write(&state.db, batch, now).await.map_err(WriteError::Sqlx),
    }
}

/// Why a batch's transaction failed.
#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error(transparent)]
    Sqlx(sqlx::Error),
    #[error(transparent)]
    Sqlite(rusqlite::Error),
}

impl WriteError {
    /// The database is busy: retrying the same batch later will likely work.
    fn transient(&self) -> bool {
        match self {
            WriteError::Sqlx(e) => crate::error::is_transient(e),
            WriteError::Sqlite(e) => sqlite::is_busy(e),
        }
    }

    /// What each publisher of the failed batch is told (the error itself is logged once).
    fn to_api(&self) -> Error {
        if self.transient() {
            Error::Unavailable("the database is busy; try again shortly".into())
        } else {
            Error::Internal(format!("publish failed: {self}"))
        }
    }
}

/// Broadcasts the committed items in `seq` order, announces them to the other
/// nodes, and answers each publisher.
async fn finish(state: &AppState, batch: Vec<Pending>, outcomes: Vec<Published>, now: i64) {
    let mut fresh = 0;
    for (pending, outcome) in batch.into_iter().zip(outcomes) {
        if outcome.duplicate {
            state.metrics.publish_duplicates.fetch_add(1, Ordering::Relaxed);
        } else {
            fresh += 1;
            let item = Arc::new(Item::new(pending.topic, outcome.seq, now, pending.publisher, pending.value));
            state.bus.broadcast(item.clone());
            // Still under the writer lock: this node's items reach NATS in `seq` order.
            state.cluster.announce_item(&item).await;
            state.metrics.publishes.fetch_add(1, Ordering::Relaxed);
        }
        state.metrics.publish_latency.observe(pending.started.elapsed());
        let _ = pending.reply.send(Ok(outcome));
    }
    if fresh > 0 {
        state.outbox_wakeup.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_takes_at_most_its_cap_in_arrival_order() {
        let queue = PublishQueue::default();
        let mut answers = Vec::new();
        for i in 0..MAX_BATCH + 3 {
            let (reply, answer) = oneshot::channel();
            answers.push(answer);
            queue.push(Pending {
                topic: format!("t{i}"),
                publisher: Publisher { id: "u".into(), name: "u".into() },
                value: Value::Null,
                key: None,
                started: std::time::Instant::now(),
                reply,
            });
        }
        let first = queue.take();
        assert_eq!(first.len(), MAX_BATCH);
        assert_eq!(first[0].topic, "t0");
        assert_eq!(queue.queued(), 3);
        assert_eq!(queue.take()[0].topic, format!("t{MAX_BATCH}"));
        assert_eq!(queue.queued(), 0);
    }
}
