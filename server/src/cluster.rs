//! Scale-out: several nodes share one PostgreSQL database, and NATS carries
//! committed items and revocations between them so subscribers on every node
//! hear them at once.
//!
//! The database stays the one source of truth: it orders each topic's `seq`
//! (a row lock on the topic), holds history, and claims webhook deliveries.
//! NATS is only the fast path. Every second each node also compares the
//! topics its subscribers follow with the database and broadcasts what it did
//! not hear (NATS restarting, a dropped message), and reloads revocations, so
//! nothing is lost when NATS is slow or away; it is only later.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyPool;

use crate::auth::revocation::{RevocationRelay, Revocations, Revoked};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::topics::bus::Bus;
use crate::topics::{Item, ItemRelay, Publisher};

/// How often a node reconciles its live topics and revocations with the database.
pub const CATCH_UP_INTERVAL: Duration = Duration::from_secs(1);

/// This node's link to the others (none on the embedded default).
pub struct Cluster {
    nats: Option<async_nats::Client>,
    /// `parley.{cluster id}`: nodes sharing a database share a prefix, so
    /// several Parley installations (or test runs) can share one NATS.
    prefix: String,
}

/// An item as it travels between nodes.
#[derive(Serialize, Deserialize)]
struct WireItem {
    topic: String,
    seq: i64,
    published_at_ms: i64,
    publisher: WirePublisher,
    value: Value,
}

#[derive(Serialize, Deserialize)]
struct WirePublisher {
    id: String,
    name: String,
}

impl Cluster {
    /// A single node: nothing to tell anyone.
    pub fn local() -> Self {
        Cluster { nats: None, prefix: String::new() }
    }

    /// Connects to NATS at `url` (retrying in the background if it is not up yet).
    ///
    /// # Errors
    /// A malformed URL.
    pub async fn connect(url: &str, cluster_id: &str) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name("parley")
            // A node broadcasts its own items locally; it need not hear them again.
            .no_echo()
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5))
            .event_callback(|event| async move { tracing::info!(%event, "nats") })
            .connect(url)
            .await?;
        Ok(Cluster { nats: Some(client), prefix: format!("parley.{cluster_id}") })
    }

    /// Whether other nodes can be reached now (`None`: a single node).
    pub fn connected(&self) -> Option<bool> {
        self.nats.as_ref().map(|c| c.connection_state() == async_nats::connection::State::Connected)
    }

    /// Tells the other nodes about a committed item. Best effort: a node that
    /// misses it reads it from the database within [`CATCH_UP_INTERVAL`].
    async fn announce_item(&self, item: &Item) {
        let Some(nats) = &self.nats else { return };
        let wire = WireItem {
            topic: item.topic.clone(),
            seq: item.seq,
            published_at_ms: item.published_at_ms,
            publisher: WirePublisher { id: item.publisher.id.clone(), name: item.publisher.name.clone() },
            value: item.value.clone(),
        };
        let Ok(body) = serde_json::to_vec(&wire) else { return };
        // Subject tokens may not be empty, and topic names may contain dots.
        let subject = format!("{}.items.{}", self.prefix, item.topic.replace('.', "_"));
        if let Err(error) = nats.publish(subject, body.into()).await {
            tracing::warn!(%error, topic = %item.topic, "nats publish failed; other nodes will catch up");
        }
    }

    /// Forwards what other nodes announce to this node's bus and revocations, until shutdown.
    ///
    /// # Errors
    /// NATS refused the subscription.
    pub async fn listen(
        &self,
        bus: Arc<Bus>,
        revocations: Arc<Revocations>,
        metrics: Arc<Metrics>,
        shutdown: Shutdown,
    ) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
        let Some(nats) = &self.nats else { return Ok(None) };
        let mut items = nats.subscribe(format!("{}.items.>", self.prefix)).await?;
        let mut revoked = nats.subscribe(format!("{}.revoked", self.prefix)).await?;
        Ok(Some(tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(message) = items.next() => match serde_json::from_slice::<WireItem>(&message.payload) {
                        Ok(w) => {
                            let publisher = Publisher { id: w.publisher.id, name: w.publisher.name };
                            metrics.bus_remote_items.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            bus.broadcast(Arc::new(Item::new(w.topic, w.seq, w.published_at_ms, publisher, w.value)));
                        }
                        Err(error) => tracing::warn!(%error, "malformed item from nats"),
                    },
                    Some(message) = revoked.next() => match serde_json::from_slice::<Revoked>(&message.payload) {
                        Ok(r) => revocations.apply(&r),
                        Err(error) => tracing::warn!(%error, "malformed revocation from nats"),
                    },
                    () = shutdown.wait() => return,
                    else => return,
                }
            }
        })))
    }
}

impl ItemRelay for Cluster {
    fn relay_item<'a>(&'a self, item: &'a Item) -> BoxFuture<'a, ()> {
        Box::pin(self.announce_item(item))
    }
}

impl RevocationRelay for Cluster {
    /// Tells the other nodes about a revocation.
    fn relay_revocation<'a>(&'a self, revoked: &'a Revoked) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some(nats) = &self.nats else { return };
            let Ok(body) = serde_json::to_vec(revoked) else { return };
            if let Err(error) = nats.publish(format!("{}.revoked", self.prefix), body.into()).await {
                tracing::warn!(%error, "nats publish failed; other nodes will reload revocations");
            }
        })
    }
}

/// Every [`CATCH_UP_INTERVAL`]: broadcasts items of this node's live topics
/// that the bus has not carried, and loads revocations made elsewhere.
pub async fn run_catch_up(
    db: AnyPool,
    bus: Arc<Bus>,
    revocations: Arc<Revocations>,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(CATCH_UP_INTERVAL) => {}
            () = shutdown.wait() => return,
        }
        if let Err(error) = catch_up(&db, &bus, &metrics).await {
            tracing::warn!(%error, "catch-up from the database failed");
        }
        if let Err(error) = revocations.reload(&db).await {
            tracing::warn!(%error, "reloading revocations failed");
        }
    }
}

async fn catch_up(db: &AnyPool, bus: &Bus, metrics: &Metrics) -> crate::error::Result<()> {
    let live = bus.live_topics();
    if live.is_empty() {
        return Ok(());
    }
    // Only the topics someone here listens to: the cost follows this node's
    // subscriptions, not how many topics the cluster ever had.
    let mut newest = std::collections::HashMap::with_capacity(live.len());
    for chunk in live.chunks(500) {
        let sql =
            format!("select name, last_seq from topics where name in {}", crate::db::placeholders(1, chunk.len()));
        let mut query = sqlx::query_as::<_, (String, i64)>(&sql);
        for (topic, _) in chunk {
            query = query.bind(topic);
        }
        newest.extend(query.fetch_all(db).await?);
    }
    for (topic, heard) in live {
        let Some(&last) = newest.get(&topic) else { continue };
        match heard {
            // A subscription is starting; it marks what it has read.
            None => {}
            Some(heard) if heard < last => {
                let missed = crate::topics::subscribe::items_after(db, &topic, heard, 1000).await?;
                tracing::debug!(%topic, missed = missed.len(), "catching up from the database");
                metrics.bus_caught_up_items.fetch_add(missed.len() as u64, std::sync::atomic::Ordering::Relaxed);
                for item in missed {
                    bus.broadcast(item);
                }
            }
            Some(_) => {}
        }
    }
    Ok(())
}
