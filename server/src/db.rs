//! The database: connecting, migrating, and the small settings table.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::Result;

/// Opens (creating if needed) the database and runs the migrations in `migrations/`.
///
/// # Errors
/// The database cannot be opened or a migration fails.
pub async fn connect(url: &str) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        // WAL lets readers (subscribers replaying history) run beside the writer.
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL in WAL mode is durable across process crashes.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    if let Some(path) = url.strip_prefix("sqlite://")
        && let Some(parent) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await?;
    sqlx::migrate!("../migrations").run(&pool).await?;
    Ok(pool)
}

/// Reads a setting, or stores `make()` under it when absent (the first start).
///
/// # Errors
/// Database errors.
pub async fn setting_or_init(pool: &SqlitePool, key: &str, make: impl FnOnce() -> String) -> Result<String> {
    let read = || sqlx::query_as::<_, (String,)>("select value from settings where key = ?").bind(key);
    if let Some((value,)) = read().fetch_optional(pool).await? {
        return Ok(value);
    }
    // Another node or task may store it first: theirs wins, and everyone reads it back.
    sqlx::query("insert into settings (key, value) values (?, ?) on conflict (key) do nothing")
        .bind(key)
        .bind(make())
        .execute(pool)
        .await?;
    let (value,) = read().fetch_one(pool).await?;
    Ok(value)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
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

    #[test]
    fn formats_milliseconds_in_utc() {
        assert_eq!(format_ms(1_795_996_800_123), "2026-11-30T00:00:00.123Z");
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
    }
}
