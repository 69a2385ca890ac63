//! A batch's transaction on the embedded default: rusqlite on the calling thread, with cached statements.
//!
//! sqlx runs each SQLite statement on a worker thread of its connection; a
//! publish was five hand-offs there and back, each a wake-up that, on two
//! busy cores, waits for a time slice. Here the whole transaction is one call
//! of a few tens of microseconds, so it runs in place. Only when another
//! process holds SQLite's write lock does it wait, and then off the async
//! workers (`block_in_place`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension as _, TransactionBehavior, params};

use super::plan::{self, TopicPlan};
use super::{Pending, Published};

/// How long a batch waits for another process's write lock, as sqlx's pool does.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The publish path's own connection to the database file.
pub struct SqliteWriter(Mutex<Connection>);

impl SqliteWriter {
    /// Opens the file a `sqlite:` URL names (already migrated by sqlx); `None`
    /// for an in-memory database, which a second connection would not share.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(url: &str) -> anyhow::Result<Option<Self>> {
        let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let file = path.split('?').next().unwrap_or(path);
        if file.is_empty() || file.contains(":memory:") || url.contains("mode=memory") {
            return Ok(None);
        }
        let conn = Connection::open(file)?;
        // As sqlx's connections (db::connect), and checkpoints left to the
        // periodic task (db::run_checkpoints): an automatic one would run
        // inside a publish's commit, on an async worker.
        conn.execute_batch("pragma synchronous = normal; pragma foreign_keys = on; pragma wal_autocheckpoint = 0;")?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(Some(Self(Mutex::new(conn))))
    }

    /// Writes the batch in one transaction; returns one outcome per publish.
    ///
    /// # Errors
    /// SQLite errors; busy only after [`BUSY_TIMEOUT`].
    pub(super) fn write(&self, batch: &[Pending], now: i64) -> rusqlite::Result<Vec<Published>> {
        let mut conn = self.0.lock().unwrap_or_else(|e| e.into_inner());
        conn.busy_timeout(Duration::ZERO)?;
        match write(&mut conn, batch, now) {
            Err(e) if is_busy(&e) => {}
            done => return done,
        }
        // Another process (or one of sqlx's connections outside the write
        // gate) holds the lock: wait for it, off the async workers.
        let mut wait = || {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            let result = write(&mut conn, batch, now);
            conn.busy_timeout(Duration::ZERO)?;
            result
        };
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
            _ => wait(),
        }
    }
}

/// SQLite's "busy" and "locked": another writer holds the lock.
pub(super) fn is_busy(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code().is_some_and(|c| matches!(c, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

fn write(conn: &mut Connection, batch: &[Pending], now: i64) -> rusqlite::Result<Vec<Published>> {
    let mut outcomes = vec![Published { seq: 0, duplicate: false }; batch.len()];
    // IMMEDIATE: the write lock is taken at BEGIN, so a batch never fails
    // half-way on a lock upgrade.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut earlier_seq = tx.prepare_cached("select seq from items where topic = ?1 and idempotency_key = ?2")?;
        let mut hooks = tx.prepare_cached("select name from webhooks where topic = ?1")?;
        let mut insert_item = tx.prepare_cached(
            "insert into items (topic, seq, published_at, publisher_id, publisher_name, value, idempotency_key)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut insert_outbox = tx.prepare_cached(
            "insert into webhook_outbox (id, webhook_name, topic, seq, payload, next_attempt_at, created_at)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?;
        for topic in plan::topics(batch) {
            let members = plan::members(batch, topic);
            let mut earlier = HashMap::new();
            for key in plan::keys(batch, &members) {
                if let Some(seq) = earlier_seq.query_row(params![topic, key], |r| r.get::<_, i64>(0)).optional()? {
                    earlier.insert(key, seq);
                }
            }
            let plan = TopicPlan::new(batch, &members, &earlier);
            if plan.appends() == 0 {
                plan.assign(0, &mut outcomes);
                continue;
            }
            let last = bump(&tx, topic, plan.appends())?;
            plan.assign(last, &mut outcomes);
            let webhooks: Vec<String> = hooks.query_map([topic], |r| r.get(0))?.collect::<Result<_, _>>()?;
            for &i in &plan.fresh {
                let p = &batch[i];
                let seq = outcomes[i].seq;
                insert_item.execute(params![
                    p.topic,
                    seq,
                    now,
                    p.publisher.id,
                    p.publisher.name,
                    p.value.to_string(),
                    p.key
                ])?;
                if !webhooks.is_empty() {
                    let payload = plan::payload(p, seq, now);
                    for webhook in &webhooks {
                        let id = format!("msg_{}", ulid::Ulid::new());
                        insert_outbox.execute(params![id, webhook, p.topic, seq, payload, now])?;
                    }
                }
            }
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

/// Advances `topic`'s last `seq` by `n` and returns it, creating the topic on its first publish.
fn bump(tx: &rusqlite::Transaction<'_>, topic: &str, n: i64) -> rusqlite::Result<i64> {
    let mut next =
        tx.prepare_cached("update topics set last_seq = last_seq + ?2 where name = ?1 returning last_seq")?;
    if let Some(seq) = next.query_row(params![topic, n], |r| r.get(0)).optional()? {
        return Ok(seq);
    }
    tx.prepare_cached("insert into topics (name) values (?1) on conflict (name) do nothing")?.execute([topic])?;
    next.query_row(params![topic, n], |r| r.get(0))
}
