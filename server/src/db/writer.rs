//! Inline SQLite connections for the hot paths of the embedded default: rusqlite, one call per transaction, on the calling thread.
//!
//! sqlx runs each SQLite statement on a worker thread of its connection: a
//! publish would be five hand-offs there and back, each a wake-up that, on two
//! busy cores, waits for a time slice (a third of the server's CPU under load
//! goes to such hand-offs). The hot writes (publish batches, webhook claims
//! and outcomes, usage) run here instead, and so do the reads the pipeline
//! makes for every message (its room's settings): a whole transaction is one call of tens of
//! microseconds, so it runs in place. Only when another process holds
//! SQLite's write lock does a call wait, and then off the async workers.

use std::sync::Mutex;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::is_busy;

/// How long a transaction waits for another process's write lock, as sqlx's pool does.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to the database file, used in place (one writes, one reads:
/// see [`super::WriteGate`] and `AppState::sqlite_reads`).
pub struct InlineSqlite(Mutex<Connection>);

impl InlineSqlite {
    /// Opens the file a `sqlite:` URL names (already migrated by sqlx); `None`
    /// for PostgreSQL, and for an in-memory database, which a second
    /// connection would not share.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(url: &str) -> anyhow::Result<Option<Self>> {
        let file = super::sqlite_file(url);
        if super::Backend::of_url(url)? != super::Backend::Sqlite
            || file.is_empty()
            || file.contains(":memory:")
            || url.contains("mode=memory")
        {
            return Ok(None);
        }
        let conn = Connection::open(file)?;
        // As sqlx's connections, and checkpoints left to the periodic task
        // (`run_checkpoints`): an automatic one would run inside a commit, on
        // an async worker.
        for pragma in super::SQLITE_PRAGMAS.into_iter().chain(["pragma wal_autocheckpoint = 0"]) {
            conn.execute_batch(pragma)?;
        }
        conn.set_prepared_statement_cache_capacity(32);
        Ok(Some(Self(Mutex::new(conn))))
    }

    /// Runs `work` (one transaction) on the connection. It first runs without
    /// waiting for locks; if another writer holds SQLite's lock, it runs again
    /// with the busy timeout, on a thread the async workers can spare.
    ///
    /// # Errors
    /// What `work` returns; busy only after the timeout.
    pub fn with<T>(&self, mut work: impl FnMut(&mut Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let mut conn = self.0.lock().unwrap_or_else(|e| e.into_inner());
        conn.busy_timeout(Duration::ZERO)?;
        match work(&mut conn) {
            Err(e) if is_busy(&e) => {}
            done => return done,
        }
        let mut wait = || {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            let result = work(&mut conn);
            conn.busy_timeout(Duration::ZERO)?;
            result
        };
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
            _ => wait(),
        }
    }
}
