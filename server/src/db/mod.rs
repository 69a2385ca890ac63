//! The database: connecting (SQLite or PostgreSQL), migrating, and the small settings table.
//!
//! Queries go through sqlx's `Any` driver and are written once, in the SQL the
//! two engines share: `$n` placeholders, integers for time and flags, JSON as
//! text. The few places where the engines differ ask [`Backend::of`].

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor as _};

use crate::error::Result;

mod writer;

pub use writer::InlineSqlite;

/// Which engine a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: one node, one file.
    Sqlite,
    /// Scale-out: several nodes share it.
    Postgres,
}

impl Backend {
    /// The engine a `DATABASE_URL` names.
    ///
    /// # Errors
    /// Any other scheme.
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://")
        }
    }

    /// The engine behind a pool.
    pub fn of(pool: &AnyPool) -> Self {
        if pool.connect_options().database_url.scheme().starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Serializes this process's writes on SQLite. SQLite has one writer at a
/// time, and a second one waits in its busy handler, which sleeps in steps of
/// 1 to 100 ms: several tasks writing at once (publishes, webhook outcomes,
/// usage) turned 1 ms commits into 35 ms ones. Queued here instead, each
/// writer starts the moment the previous one commits, and the hot ones write
/// through [`InlineSqlite`]. On PostgreSQL writers run concurrently and the
/// gate is open.
#[derive(Clone, Default)]
pub struct WriteGate {
    gate: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
    sqlite: Option<std::sync::Arc<InlineSqlite>>,
}

/// A turn to write, for as long as it lives.
pub struct WriteTurn<'a> {
    _gate: Option<tokio::sync::MutexGuard<'a, ()>>,
    sqlite: Option<&'a InlineSqlite>,
}

impl WriteTurn<'_> {
    /// The write connection of the embedded default (none on PostgreSQL, or
    /// for an in-memory database).
    pub fn sqlite(&self) -> Option<&InlineSqlite> {
        self.sqlite
    }
}

impl WriteGate {
    /// The gate for the database `url` names (opening its write connection on SQLite).
    ///
    /// # Errors
    /// The SQLite file cannot be opened.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        Ok(match Backend::of_url(url)? {
            Backend::Sqlite => WriteGate {
                gate: Some(std::sync::Arc::default()),
                sqlite: InlineSqlite::open(url)?.map(std::sync::Arc::new),
            },
            Backend::Postgres => WriteGate::default(),
        })
    }

    /// Waits for this process's turn to write.
    pub async fn enter(&self) -> WriteTurn<'_> {
        let gate = match &self.gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        };
        WriteTurn { _gate: gate, sqlite: self.sqlite.as_deref() }
    }
}

/// Settings every SQLite connection takes, sqlx's and the inline ones. NORMAL
/// in WAL mode is durable across process crashes. Each connection's page
/// cache is held to 512 KiB (SQLite's default is 2 MiB): appends touch the
/// right edge of a few B-trees, reads of history come from the operating
/// system's cache of the file, and six connections at the default filled
/// most of the server's heap under load.
const SQLITE_PRAGMAS: [&str; 3] =
    ["pragma synchronous = normal", "pragma foreign_keys = on", "pragma cache_size = -512"];

/// The file a `sqlite:` URL names, without its query string.
fn sqlite_file(url: &str) -> &str {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    path.split('?').next().unwrap_or(path)
}

/// Opens (creating if needed) the database and runs its engine's migrations
/// (`migrations/sqlite` or `migrations/postgres`).
///
/// # Errors
/// The database cannot be opened or a migration fails.
pub async fn connect(url: &str) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    match Backend::of_url(url)? {
        Backend::Sqlite => {
            let file = sqlite_file(url);
            if let Some(parent) = std::path::Path::new(file).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)?;
            }
            let url = if url.contains("mode=") {
                url.to_owned()
            } else {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            };
            // Readers only (the hot writes and reads are inline): each
            // connection is a thread with its own heap arena and page cache.
            let pool = AnyPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(5))
                // A file cannot go away under an open connection: no ping (a
                // round trip to the connection's thread) before each use.
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // WAL lets readers (subscribers replaying history) run beside
                        // the writer; the busy timeout matches the inline connections'.
                        for pragma in ["pragma journal_mode = wal", "pragma busy_timeout = 5000"]
                            .into_iter()
                            .chain(SQLITE_PRAGMAS)
                        {
                            conn.execute(pragma).await?;
                        }
                        Ok(())
                    })
                })
                .connect(&url)
                .await?;
            sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            Ok(pool)
        }
        Backend::Postgres => {
            let pool =
                AnyPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(5)).connect(url).await?;
            sqlx::migrate!("../migrations/postgres").run(&pool).await?;
            Ok(pool)
        }
    }
}

/// How often the SQLite write-ahead log is copied back into the database.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Checkpoints the SQLite write-ahead log every second until shutdown. The
/// publish path's connection does not checkpoint itself (a checkpoint inside
/// its commit would stall an async worker); a passive checkpoint here, on
/// sqlx's thread, never blocks writers or readers.
pub async fn run_checkpoints(db: AnyPool, shutdown: crate::shutdown::Shutdown) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(CHECKPOINT_INTERVAL) => {}
            () = shutdown.wait() => return,
        }
        if let Err(error) = sqlx::query("pragma wal_checkpoint(passive)").execute(&db).await {
            tracing::warn!(%error, "WAL checkpoint failed");
        }
    }
}

/// Reads a setting, or stores `make()` under it when absent (the first start).
///
/// # Errors
/// Database errors.
pub async fn setting_or_init(pool: &AnyPool, key: &str, make: impl FnOnce() -> String) -> Result<String> {
    let read = || sqlx::query_as::<_, (String,)>("select value from settings where key = $1").bind(key);
    if let Some((value,)) = read().fetch_optional(pool).await? {
        return Ok(value);
    }
    // Another node or task may store it first: theirs wins, and everyone reads it back.
    sqlx::query("insert into settings (key, value) values ($1, $2) on conflict (key) do nothing")
        .bind(key)
        .bind(make())
        .execute(pool)
        .await?;
    let (value,) = read().fetch_one(pool).await?;
    Ok(value)
}

/// `($1, $2), ($3, $4)` for a multi-row insert of `rows` rows of `columns` values.
pub fn placeholders(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * columns + column + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// RFC 3339 with milliseconds, e.g. `2026-11-28T22:00:00.123Z`.
pub fn format_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_connections_use_wal_and_normal_sync() {
        let path = std::env::temp_dir().join(format!("parley-pragmas-{}.db", ulid::Ulid::new()));
        let db = connect(&format!("sqlite://{}", path.display())).await.unwrap();
        for _ in 0..3 {
            let mut conn = db.acquire().await.unwrap();
            let (mode,): (String,) = sqlx::query_as("pragma journal_mode").fetch_one(&mut *conn).await.unwrap();
            let (sync,): (i64,) = sqlx::query_as("pragma synchronous").fetch_one(&mut *conn).await.unwrap();
            assert_eq!((mode.as_str(), sync), ("wal", 1), "WAL with synchronous = NORMAL (1)");
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_url_names_the_engine() {
        assert_eq!(Backend::of_url("sqlite://data/parley.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("postgres://postgres@127.0.0.1:5432/parley").unwrap(), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://db/parley").unwrap(), Backend::Postgres);
        assert!(Backend::of_url("mysql://db/parley").is_err());
    }

    #[test]
    fn placeholders_number_every_value() {
        assert_eq!(placeholders(1, 2), "($1, $2)");
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn formats_milliseconds_in_utc() {
        assert_eq!(format_ms(1_795_996_800_123), "2026-11-30T00:00:00.123Z");
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
    }
}
