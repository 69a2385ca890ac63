//! Revoked tokens: checked on every use, and watched by open subscriptions so
//! a revoked token's streams close at once instead of at expiry.
//!
//! Two kinds: one token (by its `jti`), and every token a user was issued
//! before a cut-off (a ban, or an admin's "revoke all"). A token's issue
//! time is the timestamp of the ULID in its `jti`.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::broadcast;

use super::Claims;
use crate::cluster::{Cluster, Revoked};
use crate::error::Result;

/// How long a revocation is remembered: longer than any token lives.
pub const REMEMBER_MS: i64 = 25 * 60 * 60 * 1000;

/// Revoked token ids and per-user cut-offs, mirrored from the database.
pub struct Revocations {
    revoked: RwLock<HashSet<String>>,
    /// User id → tokens issued before this instant (ms) are refused.
    cut_offs: RwLock<HashMap<String, i64>>,
    announce: broadcast::Sender<String>,
    /// Other nodes hear of a revocation at once (and reload them every second).
    cluster: Arc<Cluster>,
}

/// When a token was issued, from the ULID in its `jti` (ms), if it has one.
pub fn issued_at_ms(jti: &str) -> Option<i64> {
    let ulid = ulid::Ulid::from_string(&jti.strip_prefix("tok_")?.to_uppercase()).ok()?;
    i64::try_from(ulid.timestamp_ms()).ok()
}

impl Revocations {
    /// Loads the revocations that still matter.
    ///
    /// # Errors
    /// Database errors.
    pub async fn load(db: &AnyPool, now_ms: i64, cluster: Arc<Cluster>) -> Result<Self> {
        sqlx::query("delete from revoked_tokens where revoked_at < $1").bind(now_ms - REMEMBER_MS).execute(db).await?;
        let rows: Vec<(String,)> = sqlx::query_as("select jti from revoked_tokens").fetch_all(db).await?;
        let cut_offs: Vec<(String, i64)> =
            sqlx::query_as("select id, tokens_valid_after from users where tokens_valid_after > 0")
                .fetch_all(db)
                .await?;
        Ok(Self {
            revoked: RwLock::new(rows.into_iter().map(|(jti,)| jti).collect()),
            cut_offs: RwLock::new(cut_offs.into_iter().collect()),
            announce: broadcast::channel(256).0,
            cluster,
        })
    }

    /// Applies a revocation made on another node, and tells this node's streams.
    pub fn apply(&self, revoked: &Revoked) {
        match revoked {
            Revoked::Token { jti } => {
                let new = self.revoked.write().is_ok_and(|mut set| set.insert(jti.clone()));
                if new {
                    let _ = self.announce.send(jti.clone());
                }
            }
            Revoked::User { user, at } => {
                let new = self.cut_offs.write().is_ok_and(|mut map| {
                    let entry = map.entry(user.clone()).or_insert(0);
                    let later = *at > *entry;
                    *entry = (*entry).max(*at);
                    later
                });
                if new {
                    let _ = self.announce.send(format!("user:{user}"));
                }
            }
        }
    }

    /// Loads revocations other nodes stored (their NATS message may have been lost).
    ///
    /// # Errors
    /// Database errors.
    pub async fn reload(&self, db: &AnyPool) -> Result<()> {
        let rows: Vec<(String,)> = sqlx::query_as("select jti from revoked_tokens").fetch_all(db).await?;
        for (jti,) in rows {
            self.apply(&Revoked::Token { jti });
        }
        let cut_offs: Vec<(String, i64)> =
            sqlx::query_as("select id, tokens_valid_after from users where tokens_valid_after > 0")
                .fetch_all(db)
                .await?;
        for (user, at) in cut_offs {
            self.apply(&Revoked::User { user, at });
        }
        Ok(())
    }

    /// Whether these claims were revoked, alone or with all of their user's tokens.
    pub fn is_revoked(&self, claims: &Claims) -> bool {
        if !claims.jti.is_empty() && self.revoked.read().is_ok_and(|set| set.contains(&claims.jti)) {
            return true;
        }
        let cut_off = self.cut_offs.read().ok().and_then(|m| m.get(&claims.sub).copied());
        // A token without an issue time predates every cut-off.
        cut_off.is_some_and(|at| issued_at_ms(&claims.jti).is_none_or(|issued| issued < at))
    }

    /// Revokes `jti` for good and tells the open subscriptions.
    ///
    /// # Errors
    /// Database errors.
    pub async fn revoke(&self, db: &AnyPool, jti: &str, now_ms: i64) -> Result<()> {
        sqlx::query("insert into revoked_tokens (jti, revoked_at) values ($1, $2) on conflict (jti) do nothing")
            .bind(jti)
            .bind(now_ms)
            .execute(db)
            .await?;
        let revoked = Revoked::Token { jti: jti.to_owned() };
        self.apply(&revoked);
        self.cluster.announce_revocation(&revoked).await;
        Ok(())
    }

    /// Revokes every token `user` holds now.
    ///
    /// # Errors
    /// Database errors.
    pub async fn cut_off_user(&self, db: &AnyPool, user: &str, now_ms: i64) -> Result<()> {
        // One millisecond on, so a token issued in this very millisecond is caught too.
        let at = now_ms + 1;
        sqlx::query("update users set tokens_valid_after = $1 where id = $2").bind(at).bind(user).execute(db).await?;
        let revoked = Revoked::User { user: user.to_owned(), at };
        self.apply(&revoked);
        self.cluster.announce_revocation(&revoked).await;
        Ok(())
    }

    /// A stream of revocations as they happen: token ids, and `user:{id}` cut-offs.
    pub fn watch(&self) -> broadcast::Receiver<String> {
        self.announce.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_time_comes_from_the_jti() {
        let claims = Claims::new("u", "U", super::super::Role::User, vec![], 10);
        let issued = issued_at_ms(&claims.jti).unwrap();
        let now = crate::db::now_ms();
        assert!((now - issued).abs() < 5_000, "{issued} vs {now}");
        assert_eq!(issued_at_ms("nonsense"), None);
    }
}
