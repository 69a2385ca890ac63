//! Revoked tokens: checked on every use, and watched by open subscriptions so
//! a revoked token's streams close at once instead of at expiry.

use std::collections::HashSet;
use std::sync::RwLock;

use sqlx::SqlitePool;
use tokio::sync::broadcast;

use crate::error::Result;

/// How long a revocation is remembered: longer than any token lives.
pub const REMEMBER_MS: i64 = 25 * 60 * 60 * 1000;

/// The set of revoked token ids, mirrored from the database.
pub struct Revocations {
    revoked: RwLock<HashSet<String>>,
    announce: broadcast::Sender<String>,
}

impl Revocations {
    /// Loads the revocations that still matter.
    ///
    /// # Errors
    /// Database errors.
    pub async fn load(db: &SqlitePool, now_ms: i64) -> Result<Self> {
        sqlx::query("delete from revoked_tokens where revoked_at < ?").bind(now_ms - REMEMBER_MS).execute(db).await?;
        let rows: Vec<(String,)> = sqlx::query_as("select jti from revoked_tokens").fetch_all(db).await?;
        Ok(Self {
            revoked: RwLock::new(rows.into_iter().map(|(jti,)| jti).collect()),
            announce: broadcast::channel(256).0,
        })
    }

    pub fn is_revoked(&self, jti: &str) -> bool {
        !jti.is_empty() && self.revoked.read().is_ok_and(|set| set.contains(jti))
    }

    /// Revokes `jti` for good and tells the open subscriptions.
    ///
    /// # Errors
    /// Database errors.
    pub async fn revoke(&self, db: &SqlitePool, jti: &str, now_ms: i64) -> Result<()> {
        sqlx::query("insert into revoked_tokens (jti, revoked_at) values (?, ?) on conflict (jti) do nothing")
            .bind(jti)
            .bind(now_ms)
            .execute(db)
            .await?;
        if let Ok(mut set) = self.revoked.write() {
            set.insert(jti.to_owned());
        }
        let _ = self.announce.send(jti.to_owned());
        Ok(())
    }

    /// A stream of token ids as they are revoked.
    pub fn watch(&self) -> broadcast::Receiver<String> {
        self.announce.subscribe()
    }
}
