//! Which node holds which delivery: heartbeats, and releasing the leases of a node that died.
//!
//! A claimed outbox row is leased for the webhook timeout plus a margin, so
//! that a node dying mid-delivery only delays it. Waiting out the whole lease
//! (35 s by default) is too slow for a chat, so each lease also names its
//! node, and every node writes a heartbeat row each second. A node whose
//! heartbeat is older than [`DEAD_AFTER`] has its leases released by the
//! survivors, and a node that starts releases its own old leases at once (its
//! id is stable with `PARLEY_NODE_ID`; on SQLite, one node by definition, it
//! releases every lease it finds). The worst case for a delivery in flight
//! on a node that is killed is then about [`DEAD_AFTER`] plus one heartbeat,
//! not the whole lease. A node that is alive but too slow to beat has its
//! deliveries sent twice at worst, with the same `webhook-id`: delivery is
//! at-least-once, and receivers deduplicate.

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::db::{Backend, WriteGate};
use crate::shutdown::Shutdown;

/// How often a node writes its heartbeat and looks for dead nodes' leases.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// A node whose heartbeat is this old is taken for dead.
pub const DEAD_AFTER: Duration = Duration::from_secs(3);

/// Heartbeat rows this old are forgotten (their leases were released long before).
const FORGET_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// A heartbeat (`$1` node, `$2` now), through sqlx or inline: SQLite numbers
/// `$n` parameters in the order they first appear, as these do.
const BEAT_SQL: &str = "insert into nodes (id, started_at, heartbeat_at) values ($1, $2, $2)
     on conflict (id) do update set heartbeat_at = excluded.heartbeat_at";

/// Releases the leases of dead nodes (`$1` now, `$2` this node, `$3` alive since).
const RELEASE_DEAD_SQL: &str = "update webhook_outbox set leased_by = null, next_attempt_at = $1
     where status = 'pending' and leased_by is not null and leased_by <> $2
       and leased_by not in (select id from nodes where heartbeat_at >= $3)";

/// Forgets heartbeat rows older than `$1`.
const FORGET_SQL: &str = "delete from nodes where heartbeat_at < $1";

/// This node's identity in leases and heartbeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId(pub String);

impl NodeId {
    /// `PARLEY_NODE_ID` when set (stable across restarts), else a fresh one.
    pub fn new(configured: Option<&str>) -> Self {
        match configured {
            Some(id) => Self(id.to_owned()),
            None => Self(format!("node_{}", ulid::Ulid::new().to_string().to_lowercase())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a configured node id: 1–64 of `[A-Za-z0-9_.-]`.
///
/// # Errors
/// A message naming the rule.
pub fn validate_node_id(id: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok { Ok(()) } else { Err("PARLEY_NODE_ID must be 1–64 characters of A-Z a-z 0-9 _ . -".into()) }
}

/// Joins the cluster: writes this node's first heartbeat and releases the
/// leases an earlier life of this node left behind (every lease, on SQLite).
/// Returns how many deliveries were released.
///
/// # Errors
/// Database errors.
pub async fn join(db: &AnyPool, gate: &WriteGate, me: &NodeId, now: i64) -> sqlx::Result<u64> {
    let _turn = gate.enter().await;
    sqlx::query(
        "insert into nodes (id, started_at, heartbeat_at) values ($1, $2, $2)
         on conflict (id) do update set started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
    )
    .bind(me.as_str())
    .bind(now)
    .execute(db)
    .await?;
    let released = match Backend::of(db) {
        Backend::Sqlite => {
            sqlx::query(
                "update webhook_outbox set leased_by = null, next_attempt_at = $1
                 where status = 'pending' and leased_by is not null",
            )
            .bind(now)
            .execute(db)
            .await?
        }
        Backend::Postgres => {
            sqlx::query(
                "update webhook_outbox set leased_by = null, next_attempt_at = $1
                 where status = 'pending' and leased_by = $2",
            )
            .bind(now)
            .bind(me.as_str())
            .execute(db)
            .await?
        }
    };
    Ok(released.rows_affected())
}

/// Releases the leases of nodes whose heartbeat is older than [`DEAD_AFTER`]
/// (or that have no heartbeat row at all); returns how many.
///
/// # Errors
/// Database errors.
pub async fn release_dead(db: &AnyPool, me: &NodeId, now: i64) -> sqlx::Result<u64> {
    let alive_since = now - DEAD_AFTER.as_millis() as i64;
    let released = sqlx::query(RELEASE_DEAD_SQL).bind(now).bind(me.as_str()).bind(alive_since).execute(db).await?;
    Ok(released.rows_affected())
}

/// Why a heartbeat failed (logged; the next one tries again).
type BeatError = Box<dyn std::error::Error + Send + Sync>;

/// One heartbeat on the inline SQLite connection: this node's row, the
/// release of dead nodes' leases ([`release_dead`]'s statement), and the
/// forgetting of old rows, in one transaction. Returns how many deliveries
/// were released.
fn beat_inline(conn: &mut rusqlite::Connection, me: &NodeId, now: i64) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    tx.prepare_cached(BEAT_SQL)?.execute(rusqlite::params![me.as_str(), now])?;
    let released = tx.prepare_cached(RELEASE_DEAD_SQL)?.execute(rusqlite::params![
        now,
        me.as_str(),
        now - DEAD_AFTER.as_millis() as i64
    ])?;
    tx.prepare_cached(FORGET_SQL)?.execute(rusqlite::params![now - FORGET_AFTER.as_millis() as i64])?;
    tx.commit()?;
    Ok(released as u64)
}

/// Beats every [`HEARTBEAT_INTERVAL`] until shutdown, releasing dead nodes'
/// leases (and waking the outbox worker for them) on each beat.
pub async fn run_heartbeat(
    db: AnyPool,
    gate: WriteGate,
    me: NodeId,
    clock: Clock,
    outbox_wakeup: Arc<Notify>,
    shutdown: Shutdown,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(HEARTBEAT_INTERVAL) => {}
            () = shutdown.wait() => return,
        }
        let now = clock.now_ms();
        let beat = async {
            let turn = gate.enter().await;
            // On the embedded default the beat is one inline transaction:
            // through sqlx's thread it held the write turn for three
            // hand-offs, and every publish waited that long once a second.
            if let Some(writer) = turn.sqlite() {
                return writer.with(|conn| beat_inline(conn, &me, now)).map_err(BeatError::from);
            }
            sqlx::query(BEAT_SQL).bind(me.as_str()).bind(now).execute(&db).await?;
            let released = release_dead(&db, &me, now).await?;
            sqlx::query(FORGET_SQL).bind(now - FORGET_AFTER.as_millis() as i64).execute(&db).await?;
            Ok::<u64, BeatError>(released)
        };
        match beat.await {
            Ok(0) => {}
            Ok(released) => {
                tracing::warn!(
                    released,
                    "released the deliveries of a node that stopped beating; they go out again now"
                );
                outbox_wakeup.notify_one();
            }
            Err(error) => tracing::warn!(%error, "heartbeat failed"),
        }
    }
}

/// Leaves the cluster at a graceful shutdown, after the worker drained:
/// forgets this node and releases any lease it still holds.
///
/// # Errors
/// Database errors.
pub async fn leave(db: &AnyPool, gate: &WriteGate, me: &NodeId, now: i64) -> sqlx::Result<()> {
    let _turn = gate.enter().await;
    sqlx::query(
        "update webhook_outbox set leased_by = null, next_attempt_at = $1 where status = 'pending' and leased_by = $2",
    )
    .bind(now)
    .bind(me.as_str())
    .execute(db)
    .await?;
    sqlx::query("delete from nodes where id = $1").bind(me.as_str()).execute(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn database() -> (AnyPool, WriteGate, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("parley-leases-{}.db", ulid::Ulid::new()));
        let url = format!("sqlite://{}", path.display());
        (crate::db::connect(&url).await.unwrap(), WriteGate::new(&url).unwrap(), path)
    }

    async fn lease(db: &AnyPool, id: &str, node: Option<&str>, until: i64) {
        sqlx::query(
            "insert into webhook_outbox (id, webhook_name, topic, seq, payload, next_attempt_at, created_at, leased_by)
             values ($1, 'hook', 'topic', 1, '{}', $2, 0, $3)",
        )
        .bind(id)
        .bind(until)
        .bind(node)
        .execute(db)
        .await
        .unwrap();
    }

    async fn due_at(db: &AnyPool, id: &str) -> (i64, Option<String>) {
        sqlx::query_as("select next_attempt_at, leased_by from webhook_outbox where id = $1")
            .bind(id)
            .fetch_one(db)
            .await
            .unwrap()
    }

    /// Each way a node releases dead nodes' leases: `release_dead` through
    /// sqlx, and the inline heartbeat of the embedded default.
    #[derive(Clone, Copy, Debug)]
    enum Release {
        Sqlx,
        InlineBeat,
    }

    async fn stale_heartbeats_release_that_nodes_leases(how: Release) {
        let (db, gate, path) = database().await;
        let now = 1_000_000;
        let (me, alive, dead) = (NodeId("me".into()), "alive", "dead");
        for (node, beat) in [
            (alive, now - 1_000),
            (dead, now - DEAD_AFTER.as_millis() as i64 - 1),
            ("forgotten", now - FORGET_AFTER.as_millis() as i64 - 1),
        ] {
            sqlx::query("insert into nodes (id, started_at, heartbeat_at) values ($1, 0, $2)")
                .bind(node)
                .bind(beat)
                .execute(&db)
                .await
                .unwrap();
        }
        let lease_until = now + 35_000;
        lease(&db, "o_alive", Some(alive), lease_until).await;
        lease(&db, "o_dead", Some(dead), lease_until).await;
        lease(&db, "o_gone", Some("never-beat"), lease_until).await;
        lease(&db, "o_mine", Some("me"), lease_until).await;
        lease(&db, "o_waiting", None, lease_until).await;

        let released = match how {
            Release::Sqlx => release_dead(&db, &me, now).await.unwrap(),
            Release::InlineBeat => {
                let turn = gate.enter().await;
                let writer = turn.sqlite().expect("a file database has an inline writer");
                let released = writer.with(|conn| beat_inline(conn, &me, now)).unwrap();
                let nodes: Vec<(String, i64)> =
                    sqlx::query_as("select id, heartbeat_at from nodes order by id").fetch_all(&db).await.unwrap();
                let expected = [(alive, now - 1_000), (dead, now - DEAD_AFTER.as_millis() as i64 - 1), ("me", now)];
                let expected: Vec<(String, i64)> = expected.iter().map(|(n, t)| ((*n).to_owned(), *t)).collect();
                assert_eq!(nodes, expected, "the beat writes this node's row and forgets day-old ones");
                released
            }
        };
        assert_eq!(released, 2, "{how:?}");
        assert_eq!(due_at(&db, "o_dead").await, (now, None), "a dead node's lease is released now");
        assert_eq!(due_at(&db, "o_gone").await, (now, None), "so is one of a node without a heartbeat");
        assert_eq!(due_at(&db, "o_alive").await, (lease_until, Some(alive.into())));
        assert_eq!(due_at(&db, "o_mine").await, (lease_until, Some("me".into())));
        assert_eq!(due_at(&db, "o_waiting").await, (lease_until, None), "a scheduled retry keeps its time");
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_stale_heartbeat_releases_that_nodes_leases_and_a_fresh_one_keeps_them() {
        stale_heartbeats_release_that_nodes_leases(Release::Sqlx).await;
    }

    #[tokio::test]
    async fn the_inline_heartbeat_releases_the_same_leases_in_one_transaction() {
        stale_heartbeats_release_that_nodes_leases(Release::InlineBeat).await;
    }

    #[tokio::test]
    async fn a_node_starting_on_sqlite_releases_every_lease_at_once() {
        let (db, gate, path) = database().await;
        lease(&db, "o_1", Some("node_before_the_crash"), 99_000).await;
        lease(&db, "o_2", None, 99_000).await;
        assert_eq!(join(&db, &gate, &NodeId::new(None), 5_000).await.unwrap(), 1);
        assert_eq!(due_at(&db, "o_1").await, (5_000, None));
        assert_eq!(due_at(&db, "o_2").await, (99_000, None));
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn node_ids_are_checked() {
        assert!(validate_node_id("parley-1.eu_west").is_ok());
        for bad in ["", "a b", "a/b", &"n".repeat(65)] {
            assert!(validate_node_id(bad).is_err(), "{bad:?}");
        }
        assert_ne!(NodeId::new(None), NodeId::new(None));
        assert_eq!(NodeId::new(Some("n1")).as_str(), "n1");
    }
}
