//! Revoked tokens: checked on every use, and watched by open subscriptions so
//! a revoked token's streams close at once instead of at expiry.
//!
//! Three kinds, all kept in the database for as long as the tokens they
//! revoke may live, loaded at start and every second after (so a node that
//! missed the NATS message still learns of them), and applied to the
//! tokens derived from a revoked one:
//!
//! - one token, by its `jti` (and every token minted from it);
//! - every token of a subject issued before a cut-off: a ban, an admin's
//!   "revoke all", a withdrawn language grant, a log-out; subjects include
//!   the service ones (`pipeline`, `admin`) that have no user row;
//! - every token for a room's topics issued before the room was deleted.
//!
//! A token's issue time is the timestamp of the ULID in its `jti`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use tokio::sync::broadcast;

use super::Claims;
use crate::error::Result;

/// How long a revoked `jti` is remembered: longer than any token can live
/// (`parley pipeline-token` mints them for up to 366 days).
pub const REMEMBER_MS: i64 = 367 * 24 * 60 * 60 * 1000;

/// Revoked token ids and cut-offs, mirrored from the database.
pub struct Revocations {
    revoked: RwLock<HashSet<String>>,
    /// Subject → tokens issued before this instant (ms) are refused.
    cut_offs: RwLock<HashMap<String, i64>>,
    /// Room → tokens for its topics issued before this instant (ms) are refused.
    rooms: RwLock<HashMap<String, i64>>,
    announce: broadcast::Sender<String>,
    /// Other nodes hear of a revocation at once (and reload them every second).
    relay: Arc<dyn RevocationRelay>,
}

/// A revocation made on one node, for the others' open streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Revoked {
    /// One token, by its `jti`.
    Token { jti: String },
    /// Every token `user` (any subject) was issued before `at` (ms).
    User { user: String, at: i64 },
    /// Every token for `room`'s topics issued before `at` (ms): the room was deleted.
    Room { room: String, at: i64 },
}

/// Carries a revocation to the other nodes, so their open streams close at
/// once rather than at their next reload (the cluster transport implements it).
pub trait RevocationRelay: Send + Sync {
    fn relay_revocation<'a>(&'a self, revoked: &'a Revoked) -> BoxFuture<'a, ()>;
}

/// A node on its own: nobody to tell.
pub struct SingleNode;

impl RevocationRelay for SingleNode {
    fn relay_revocation<'a>(&'a self, _: &'a Revoked) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// When a token was issued, from the ULID in its `jti` (ms), if it has one.
pub fn issued_at_ms(jti: &str) -> Option<i64> {
    let ulid = ulid::Ulid::from_string(&jti.strip_prefix("tok_")?.to_uppercase()).ok()?;
    i64::try_from(ulid.timestamp_ms()).ok()
}

/// The announcement open streams watch for a subject's cut-off.
pub fn subject_announcement(sub: &str) -> String {
    format!("user:{sub}")
}

/// The announcement open streams watch for a room's cut-off.
pub fn room_announcement(room: &str) -> String {
    format!("room:{room}")
}

impl Revocations {
    /// Loads the revocations that still matter, forgetting `jti`s older
    /// than any token lives.
    ///
    /// # Errors
    /// Database errors.
    pub async fn load(db: &AnyPool, now_ms: i64, relay: Arc<dyn RevocationRelay>) -> Result<Self> {
        sqlx::query("delete from revoked_tokens where revoked_at < $1").bind(now_ms - REMEMBER_MS).execute(db).await?;
        let revocations = Self {
            revoked: RwLock::default(),
            cut_offs: RwLock::default(),
            rooms: RwLock::default(),
            announce: broadcast::channel(256).0,
            relay,
        };
        revocations.reload(db).await?;
        Ok(revocations)
    }

    /// Applies a revocation (made here, on another node, or read back from
    /// the database), and tells this node's streams when it is new.
    pub fn apply(&self, revoked: &Revoked) {
        let later = |map: &RwLock<HashMap<String, i64>>, key: &str, at: i64| {
            map.write().is_ok_and(|mut map| {
                let entry = map.entry(key.to_owned()).or_insert(i64::MIN);
                let later = at > *entry;
                *entry = (*entry).max(at);
                later
            })
        };
        let announcement = match revoked {
            Revoked::Token { jti } => {
                self.revoked.write().is_ok_and(|mut set| set.insert(jti.clone())).then(|| jti.clone())
            }
            Revoked::User { user, at } => later(&self.cut_offs, user, *at).then(|| subject_announcement(user)),
            Revoked::Room { room, at } => later(&self.rooms, room, *at).then(|| room_announcement(room)),
        };
        if let Some(announcement) = announcement {
            let _ = self.announce.send(announcement);
        }
    }

    /// Loads every revocation stored (another node's NATS message may have been lost).
    ///
    /// # Errors
    /// Database errors.
    pub async fn reload(&self, db: &AnyPool) -> Result<()> {
        let rows: Vec<(String,)> = sqlx::query_as("select jti from revoked_tokens").fetch_all(db).await?;
        for (jti,) in rows {
            self.apply(&Revoked::Token { jti });
        }
        let cut_offs: Vec<(String, i64)> =
            sqlx::query_as("select sub, cut_at from token_cutoffs").fetch_all(db).await?;
        for (user, at) in cut_offs {
            self.apply(&Revoked::User { user, at });
        }
        let rooms: Vec<(String, i64)> = sqlx::query_as("select room, cut_at from room_cutoffs").fetch_all(db).await?;
        for (room, at) in rooms {
            self.apply(&Revoked::Room { room, at });
        }
        Ok(())
    }

    /// Whether these claims were revoked: the token itself or one it was
    /// minted from, all of its subject's tokens, or all of its room's.
    pub fn is_revoked(&self, claims: &Claims) -> bool {
        let revoked = self.revoked.read().is_ok_and(|set| {
            (!claims.jti.is_empty() && set.contains(&claims.jti)) || claims.parents.iter().any(|p| set.contains(p))
        });
        if revoked {
            return true;
        }
        // A token without an issue time predates every cut-off.
        let issued = issued_at_ms(&claims.jti);
        let before = |at: i64| issued.is_none_or(|issued| issued < at);
        let cut_off = self.cut_offs.read().ok().and_then(|m| m.get(&claims.sub).copied());
        if cut_off.is_some_and(before) {
            return true;
        }
        self.rooms.read().is_ok_and(|rooms| {
            rooms.iter().any(|(room, at)| before(*at) && claims.perms.iter().any(|p| names_room_topic(&p.topic, room)))
        })
    }

    /// Revokes `jti` (and what was minted from it) for good, and tells the open subscriptions.
    ///
    /// # Errors
    /// Database errors.
    pub async fn revoke(&self, db: &AnyPool, jti: &str, now_ms: i64) -> Result<()> {
        sqlx::query("insert into revoked_tokens (jti, revoked_at) values ($1, $2) on conflict (jti) do nothing")
            .bind(jti)
            .bind(now_ms)
            .execute(db)
            .await?;
        self.announce_everywhere(Revoked::Token { jti: jti.to_owned() }).await;
        Ok(())
    }

    /// Revokes every token `sub` (a user or a service subject) holds now.
    ///
    /// # Errors
    /// Database errors.
    pub async fn cut_off_user(&self, db: &AnyPool, sub: &str, now_ms: i64) -> Result<()> {
        // One millisecond on, so a token issued in this very millisecond is caught too.
        let at = now_ms + 1;
        store_cut_off(db, "token_cutoffs", "sub", sub, at).await?;
        self.announce_everywhere(Revoked::User { user: sub.to_owned(), at }).await;
        Ok(())
    }

    /// Revokes every token for `room`'s topics issued until now (the room is deleted).
    ///
    /// # Errors
    /// Database errors.
    pub async fn cut_off_room(&self, db: &AnyPool, room: &str, now_ms: i64) -> Result<()> {
        let at = now_ms + 1;
        store_cut_off(db, "room_cutoffs", "room", room, at).await?;
        self.announce_everywhere(Revoked::Room { room: room.to_owned(), at }).await;
        Ok(())
    }

    async fn announce_everywhere(&self, revoked: Revoked) {
        self.apply(&revoked);
        self.relay.relay_revocation(&revoked).await;
    }

    /// A stream of revocations as they happen: token ids, `user:{sub}` and `room:{room}` cut-offs.
    pub fn watch(&self) -> broadcast::Receiver<String> {
        self.announce.subscribe()
    }
}

/// Stores a cut-off in `table` (keyed by `column`), keeping the later of two.
async fn store_cut_off(db: &AnyPool, table: &str, column: &str, key: &str, at: i64) -> Result<()> {
    let sql = format!(
        "insert into {table} ({column}, cut_at) values ($1, $2)
         on conflict ({column}) do update set cut_at = excluded.cut_at where excluded.cut_at > {table}.cut_at"
    );
    sqlx::query(&sql).bind(key).bind(at).execute(db).await?;
    Ok(())
}

/// Whether a permission's topic pattern names one of `room`'s topics
/// (`{room}-publish`, `{room}-subscribe-*`, `{room}-presence`). Room names
/// cannot contain those suffixes, so no other room's topic starts so.
fn names_room_topic(pattern: &str, room: &str) -> bool {
    pattern.strip_prefix(room).is_some_and(|rest| {
        rest.starts_with("-publish") || rest.starts_with("-subscribe") || rest.starts_with("-presence")
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Op, Permission, Role};
    use super::*;

    #[test]
    fn the_issue_time_comes_from_the_jti() {
        let claims = Claims::new("u", "U", Role::User, vec![], 10);
        let issued = issued_at_ms(&claims.jti).unwrap();
        let now = crate::clock::Clock::system().now_ms();
        assert!((now - issued).abs() < 5_000, "{issued} vs {now}");
        assert_eq!(issued_at_ms("nonsense"), None);
    }

    #[test]
    fn a_revoked_token_takes_the_tokens_minted_from_it_and_cut_offs_apply_by_subject_and_room() {
        let revocations = Revocations {
            revoked: RwLock::default(),
            cut_offs: RwLock::default(),
            rooms: RwLock::default(),
            announce: broadcast::channel(4).0,
            relay: Arc::new(SingleNode),
        };
        let perm = |topic: &str| Permission { topic: topic.into(), ops: vec![Op::Subscribe] };
        let parent = Claims::new("u_1", "A", Role::User, vec![perm("lobby-subscribe-*")], i64::MAX);
        let mut child = Claims::new("u_1", "A", Role::User, vec![perm("lobby-subscribe-en")], i64::MAX);
        child.parents = vec![parent.jti.clone()];
        revocations.apply(&Revoked::Token { jti: parent.jti.clone() });
        assert!(revocations.is_revoked(&parent) && revocations.is_revoked(&child));

        let service = Claims::new("pipeline", "P", Role::Service, vec![perm("*-subscribe-*")], i64::MAX);
        let now = issued_at_ms(&service.jti).unwrap();
        revocations.apply(&Revoked::User { user: "pipeline".into(), at: now + 1 });
        assert!(revocations.is_revoked(&service), "a subject without a user row is cut off too");

        let other = Claims::new("u_2", "B", Role::User, vec![perm("cafe-publish")], i64::MAX);
        let lobby = Claims::new("u_2", "B", Role::User, vec![perm("lobbyist-publish")], i64::MAX);
        revocations.apply(&Revoked::Room { room: "cafe".into(), at: issued_at_ms(&other.jti).unwrap() + 1 });
        assert!(revocations.is_revoked(&other));
        assert!(!revocations.is_revoked(&lobby));
        assert!(names_room_topic("cafe-subscribe-*", "cafe") && !names_room_topic("cafeteria-publish", "cafe"));
    }
}
