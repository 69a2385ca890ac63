//! Group commit: publishes that arrive while a transaction runs commit together in the next one.
//!
//! Why: a transaction per publish is five statements, each a round trip to
//! the database's thread (about 0.4 ms on SQLite), taken one at a time so that
//! subscribers see `seq` order; at ~1,000 msg/s on two cores the queue behind
//! that lock would grow without bound. So every publish joins a queue, and
//! whichever publisher holds the lock writes everything queued so far in one
//! transaction (one `seq` update per topic, then the items and their outbox
//! rows): the cost per item falls as load rises, while a lone publish still
//! commits at once.
//!
//! - [`plan`]: what a batch does, whatever the engine (seqs, keys, outbox rows).
//! - [`any`]: the transaction through sqlx, on PostgreSQL.
//! - [`sqlite`]: the transaction on the embedded default, in one call through
//!   [`crate::db::InlineSqlite`].

mod any;
mod plan;
mod sqlite;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::{Item, Publisher};
use crate::error::{Error, Result};
use crate::topics::TopicsState;

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
}

impl PublishQueue {
    #[cfg(test)]
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
    state: &TopicsState,
    topic: &str,
    publisher: Publisher,
    value: Value,
    idempotency_key: Option<&str>,
) -> Result<Published> {
    let item = NewItem { topic: topic.to_owned(), value, key: idempotency_key.map(str::to_owned) };
    let mut answers = publish_items(state, publisher, vec![item]).await?;
    answers.pop().ok_or_else(|| Error::Internal("a publish went unanswered".into()))
}

/// One item of [`publish_items`].
pub struct NewItem {
    pub topic: String,
    pub value: Value,
    pub key: Option<String>,
}

/// Appends several items for one publisher, queued together so that they
/// share a transaction (unless the queue's next transaction is already
/// full); answers in order.
///
/// # Errors
/// The first item's error, if any failed: retrying with the same idempotency
/// keys appends only what is missing.
pub async fn publish_items(state: &TopicsState, publisher: Publisher, items: Vec<NewItem>) -> Result<Vec<Published>> {
    let started = std::time::Instant::now();
    let mut answers = Vec::with_capacity(items.len());
    {
        let mut queue = state.publish_queue.pending.lock().unwrap_or_else(|e| e.into_inner());
        for NewItem { topic, value, key } in items {
            let (reply, answer) = oneshot::channel();
            queue.push_back(Pending { topic, publisher: publisher.clone(), value, key, started, reply });
            answers.push(answer);
        }
    }
    let mut results: Vec<Option<Result<Published>>> = answers.iter().map(|_| None).collect();
    loop {
        let writer = state.publish_queue.writer.clone().lock_owned().await;
        // The batches before may have taken them.
        for (answer, result) in answers.iter_mut().zip(results.iter_mut()) {
            if result.is_none() {
                *result = match answer.try_recv() {
                    Ok(answered) => Some(answered),
                    Err(oneshot::error::TryRecvError::Closed) => {
                        Some(Err(Error::Internal("the publish was dropped".into())))
                    }
                    Err(oneshot::error::TryRecvError::Empty) => None,
                };
            }
        }
        if results.iter().all(Option::is_some) {
            return results.into_iter().flatten().collect();
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
async fn commit(state: TopicsState, batch: Vec<Pending>, _writer: OwnedMutexGuard<()>) {
    if batch.is_empty() {
        return;
    }
    let turn = state.write_gate.enter().await;
    state.metrics.publish_batches.fetch_add(1, Ordering::Relaxed);
    // The batch's items share one published time.
    let now = state.clock.now_ms();
    match write(&state, &turn, &batch, now).await {
        Ok(written) => finish(&state, batch, written, now).await,
        Err(e) if batch.len() > 1 && !e.transient() => {
            tracing::warn!(error = %e, items = batch.len(), "publish batch failed; retrying its items one by one");
            for pending in batch {
                match write(&state, &turn, std::slice::from_ref(&pending), now).await {
                    Ok(written) => finish(&state, vec![pending], written, now).await,
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

/// What a batch's transaction wrote: one outcome per publish, in order, and
/// how many webhook outbox rows.
struct Written {
    outcomes: Vec<Published>,
    outbox_rows: usize,
}

/// The batch's transaction on this node's engine.
async fn write(
    state: &TopicsState,
    turn: &crate::db::WriteTurn<'_>,
    batch: &[Pending],
    now: i64,
) -> Result<Written, WriteError> {
    match turn.sqlite() {
        Some(writer) => writer.with(|conn| sqlite::write(conn, batch, now)).map_err(WriteError::Sqlite),
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
            WriteError::Sqlite(e) => crate::error::is_busy(e),
        }
    }

    /// What each publisher of the failed batch is told (the error itself is logged once).
    fn to_api(&self) -> Error {
        if self.transient() { Error::busy() } else { Error::Internal(format!("publish failed: {self}")) }
    }
}

/// Broadcasts the committed items in `seq` order, announces them to the other
/// nodes, and answers each publisher.
async fn finish(state: &TopicsState, batch: Vec<Pending>, written: Written, now: i64) {
    for (pending, outcome) in batch.into_iter().zip(written.outcomes) {
        if outcome.duplicate {
            state.metrics.publish_duplicates.fetch_add(1, Ordering::Relaxed);
        } else {
            let item = Arc::new(Item::new(pending.topic, outcome.seq, now, pending.publisher, pending.value));
            state.bus.broadcast(item.clone());
            // Still under the writer lock: this node's items reach NATS in `seq` order.
            state.relay.relay_item(&item).await;
            state.metrics.publishes.fetch_add(1, Ordering::Relaxed);
        }
        state.metrics.publish_latency.observe(pending.started.elapsed());
        let _ = pending.reply.send(Ok(outcome));
    }
    // Only when there is something to deliver: a wake-up costs the worker a claim.
    if written.outbox_rows > 0 {
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
