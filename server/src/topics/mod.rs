//! Topics: publish with a per-topic `seq`, durable history, and live subscriptions.
//!
//! - [`publish`]: `POST /api/topics/{topic}` and `POST /api/topics` (several
//!   items at once); an item, its `seq` and its webhook outbox rows are
//!   written in one transaction.
//! - [`subscribe`]: `GET /api/topics/{topic}/subscribe` (WebSocket) with resume.
//! - [`bus`]: live fan-out on this node.
//! - [`batch`]: group commit of the publishes that queue up under load.

pub mod batch;
pub mod bus;
mod controls;
pub mod outbox;
pub mod publish;
pub mod retention;
pub mod subscribe;

use std::sync::Arc;

use axum::extract::FromRef;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use sqlx::AnyPool;
use tokio::sync::Notify;

use crate::auth::AuthState;
use crate::clock::Clock;
use crate::db::{WriteGate, format_ms};
use crate::error::{Error, Result};
use crate::limits::{RateLimiter, SubscriptionCaps};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use bus::Bus;

pub use batch::{NewItem, PublishQueue, Published, publish_item, publish_items};

/// What publishing and subscribing need.
#[derive(Clone, FromRef)]
pub struct TopicsState {
    /// Who is calling (tokens, and admins' sessions for retention).
    pub auth: AuthState,
    pub db: AnyPool,
    pub clock: Clock,
    pub bus: Arc<Bus>,
    /// Publishes waiting for the next group commit.
    pub publish_queue: Arc<PublishQueue>,
    /// One writer at a time on SQLite (see [`crate::db::WriteGate`]).
    pub write_gate: WriteGate,
    pub metrics: Arc<Metrics>,
    pub publish_limits: Arc<RateLimiter>,
    /// Chat messages per second on the whole node (each costs translation).
    #[from_ref(skip)]
    pub chat_limit: Arc<RateLimiter>,
    pub subscription_caps: Arc<SubscriptionCaps>,
    /// Wakes the webhook worker when a publish wrote outbox rows.
    pub outbox_wakeup: Arc<Notify>,
    pub shutdown: Shutdown,
    /// The other nodes' subscribers (none on a single node).
    pub relay: Arc<dyn ItemRelay>,
}

/// Carries a committed item to the other nodes' subscribers; the cluster
/// transport implements it, above this layer.
pub trait ItemRelay: Send + Sync {
    fn relay_item<'a>(&'a self, item: &'a Item) -> BoxFuture<'a, ()>;
}

/// The largest item body a publisher may send.
pub const MAX_ITEM_BYTES: usize = 16 * 1024;

pub fn router() -> OpenApiRouter<TopicsState> {
    OpenApiRouter::new()
        .routes(routes!(publish::publish))
        .routes(routes!(publish::publish_batch))
        .routes(routes!(subscribe::subscribe))
        .routes(routes!(subscribe::items))
        .routes(routes!(retention::set_retention))
}

/// Who published an item, stamped by the server from the caller's credentials.
pub use parley_api::Publisher;

/// One committed item of a topic.
#[derive(Debug, Clone)]
pub struct Item {
    pub topic: String,
    pub seq: i64,
    pub published_at_ms: i64,
    pub publisher: Publisher,
    pub value: Value,
    /// The serialized `item` frame, made once however many subscribers read it.
    frame_text: std::sync::OnceLock<axum::extract::ws::Utf8Bytes>,
}

/// The `item` frame on a subscription, and an entry of a history page.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemFrame<'a> {
    /// Always `item`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub topic: &'a str,
    pub seq: i64,
    /// RFC 3339 with milliseconds.
    pub published_at: String,
    pub publisher: &'a Publisher,
    /// What was published: any JSON value (text bodies become strings).
    #[schema(value_type = Object)]
    pub value: &'a Value,
}

impl Item {
    /// The body POSTed to webhooks (API.md, "Webhooks").
    pub fn webhook_payload(&self) -> Value {
        webhook_payload(&self.topic, self.seq, self.published_at_ms, &self.publisher, &self.value)
    }

    pub fn new(topic: String, seq: i64, published_at_ms: i64, publisher: Publisher, value: Value) -> Self {
        Self { topic, seq, published_at_ms, publisher, value, frame_text: std::sync::OnceLock::new() }
    }

    /// The `item` frame a subscriber receives.
    pub fn frame(&self) -> ItemFrame<'_> {
        ItemFrame {
            kind: "item",
            topic: &self.topic,
            seq: self.seq,
            published_at: format_ms(self.published_at_ms),
            publisher: &self.publisher,
            value: &self.value,
        }
    }

    /// The frame as JSON text, serialized on first use.
    pub fn frame_text(&self) -> &axum::extract::ws::Utf8Bytes {
        self.frame_text.get_or_init(|| serde_json::to_string(&self.frame()).unwrap_or_default().into())
    }
}

/// The body POSTed to webhooks for one item (API.md, "Webhooks").
pub fn webhook_payload(topic: &str, seq: i64, published_at_ms: i64, publisher: &Publisher, value: &Value) -> Value {
    serde_json::json!({
        "topic": topic,
        "seq": seq,
        "published_at": format_ms(published_at_ms),
        "publisher": publisher,
        "value": value,
    })
}

/// Replaces the value of `topic`'s items before `seq` that `publisher`
/// published under idempotency keys starting with `prefix` (an edited or
/// deleted message's earlier versions): history keeps their places and
/// seqs, so resuming subscribers see no gap, but no longer their text.
///
/// # Errors
/// Database errors.
pub async fn supersede(
    state: &TopicsState,
    topic: &str,
    publisher: &str,
    prefix: &str,
    seq: i64,
    value: &Value,
) -> Result<u64> {
    // The prefix is matched literally: LIKE's wildcards in it are escaped.
    let pattern = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let _turn = state.write_gate.enter().await;
    let replaced = sqlx::query(
        "update items set value = $1
         where topic = $2 and publisher_id = $3 and seq < $4 and idempotency_key like $5 escape '\\'",
    )
    .bind(value.to_string())
    .bind(topic)
    .bind(publisher)
    .bind(seq)
    .bind(pattern)
    .execute(&state.db)
    .await?
    .rows_affected();
    Ok(replaced)
}

/// Checks a topic name: 1–128 of `[A-Za-z0-9_.-]`, not dots alone (`.` and
/// `..` would be path segments to any proxy or client library in between).
///
/// # Errors
/// [`Error::BadRequest`] naming the rule.
pub fn validate_topic(name: &str) -> Result<()> {
    let ok = (1..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !name.bytes().all(|b| b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest("topic names are 1–128 characters of A-Z a-z 0-9 _ . -, not dots alone".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        for good in ["a", "lobby-publish", "x.y_z-1", &"a".repeat(128)] {
            assert!(validate_topic(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "a/b", "ümlaut", &"a".repeat(129), "*", ".", "..", "..."] {
            assert!(validate_topic(bad).is_err(), "{bad}");
        }
    }
}
