//! Publishing: one transaction for the item, its `seq`, and its webhook outbox rows.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{Item, MAX_ITEM_BYTES, Publisher, validate_topic};
use crate::AppState;
use crate::auth::{Op, TokenCaller};
use crate::error::{Error, Result};
use crate::openapi::ErrorBody;

/// The header naming a publish's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The answer to a publish.
#[derive(Serialize, ToSchema)]
pub struct PublishAnswer {
    /// The item's position in its topic.
    pub seq: i64,
    /// True when the idempotency key was used before and nothing was appended.
    pub duplicate: bool,
}

/// Appends an item to a topic.
#[utoipa::path(
    post,
    path = "/api/topics/{topic}",
    tag = "topics",
    params(
        ("topic" = String, Path, description = "1–128 of A-Z a-z 0-9 _ . -"),
        ("Idempotency-Key" = Option<String>, Header, description = "Publishing a key again returns the first seq"),
    ),
    request_body(content = Object, description = "Any JSON value (application/json) or UTF-8 text, at most 16 KiB"),
    responses(
        (status = 200, body = PublishAnswer),
        (status = 400, body = ErrorBody, description = "malformed JSON or topic name"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 429, body = ErrorBody, description = "rate limited; see Retry-After"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn publish(
    State(state): State<AppState>,
    TokenCaller(claims): TokenCaller,
    Path(topic): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PublishAnswer>> {
    validate_topic(&topic)?;
    if !claims.allows(Op::Publish, &topic) {
        return Err(Error::Forbidden(format!("this token may not publish to {topic}")));
    }
    state.publish_limits.check(&claims.limit_key(), state.clock.now_ms())?;
    let key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|k| (1..=200).contains(&k.len()))
                .ok_or_else(|| Error::BadRequest("Idempotency-Key must be 1–200 visible ASCII characters".into()))?
                .to_owned(),
        ),
    };
    let bytes = axum::body::to_bytes(body, MAX_ITEM_BYTES).await.map_err(|_| Error::PayloadTooLarge(MAX_ITEM_BYTES))?;
    let value = parse_value(&headers, &bytes)?;
    if topic.ends_with("-presence") {
        check_presence(&value)?;
    }
    let publisher = Publisher { id: claims.sub, name: claims.name };
    let published = publish_item(&state, &topic, publisher, value, key.as_deref()).await?;
    Ok(Json(PublishAnswer { seq: published.seq, duplicate: published.duplicate }))
}

/// A JSON body must be valid JSON; anything else is stored as a text value.
fn parse_value(headers: &HeaderMap, bytes: &[u8]) -> Result<Value> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let is_json = content_type.starts_with("application/json") || content_type.contains("+json");
    if is_json {
        serde_json::from_slice(bytes).map_err(|e| Error::MalformedJson(e.to_string()))
    } else {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::BadRequest("a text body must be UTF-8".into()))?;
        Ok(Value::String(text.to_owned()))
    }
}

/// Presence topics carry no text, so nothing unmoderated is read through
/// them: only `{"kind": "online" | "typing" | "offline"}`.
fn check_presence(value: &Value) -> Result<()> {
    let ok = value.as_object().is_some_and(|o| {
        o.len() == 1
            && o.get("kind").and_then(Value::as_str).is_some_and(|k| matches!(k, "online" | "typing" | "offline"))
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(r#"presence items are {"kind": "online" | "typing" | "offline"}"#.into()))
    }
}

/// The result of a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub seq: i64,
    /// The idempotency key was seen before: nothing was appended.
    pub duplicate: bool,
}

/// Appends `value` to `topic`. The item and one outbox row per enabled
/// webhook on the topic commit together, so an acknowledged publish is never
/// missing its webhook deliveries. With an idempotency key already used on
/// this topic, returns the earlier item's `seq` and appends nothing.
///
/// # Errors
/// Database errors.
pub async fn publish_item(
    state: &AppState,
    topic: &str,
    publisher: Publisher,
    value: Value,
    idempotency_key: Option<&str>,
) -> Result<Published> {
    let started = std::time::Instant::now();
    let _order = state.bus.publish_lock.lock().await;
    let _write = state.write_gate.enter().await;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    // Taking the next seq locks the topic's row until commit: publishes to
    // one topic commit one at a time, in seq order, across every node. It is
    // also the first statement, so SQLite's write lock is taken at once (no
    // deadlock error on lock upgrade). A topic's first publish creates it.
    let next_seq = "update topics set last_seq = last_seq + 1 where name = $1 returning last_seq";
    let seq: i64 = match sqlx::query_as::<_, (i64,)>(next_seq).bind(topic).fetch_optional(&mut *tx).await? {
        Some((seq,)) => seq,
        None => {
            sqlx::query("insert into topics (name) values ($1) on conflict (name) do nothing")
                .bind(topic)
                .execute(&mut *tx)
                .await?;
            sqlx::query_as::<_, (i64,)>(next_seq).bind(topic).fetch_one(&mut *tx).await?.0
        }
    };
    // Checked under that lock, so two nodes given one key at once append it once.
    if let Some(key) = idempotency_key {
        let earlier: Option<(i64,)> = sqlx::query_as("select seq from items where topic = $1 and idempotency_key = $2")
            .bind(topic)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some((seq,)) = earlier {
            tx.rollback().await?;
            state.metrics.publish_duplicates.fetch_add(1, Ordering::Relaxed);
            return Ok(Published { seq, duplicate: true });
        }
    }
    let item = Item::new(topic.to_owned(), seq, now, publisher, value);
    sqlx::query(
        "insert into items (topic, seq, published_at, publisher_id, publisher_name, value, idempotency_key)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(topic)
    .bind(seq)
    .bind(now)
    .bind(&item.publisher.id)
    .bind(&item.publisher.name)
    .bind(item.value.to_string())
    .bind(idempotency_key)
    .execute(&mut *tx)
    .await?;
    let webhooks = crate::webhooks::enqueue(&mut tx, &item, now).await?;
    tx.commit().await?;
    let item = Arc::new(item);
    state.bus.broadcast(item.clone());
    // Still under the publish lock: this node's items reach NATS in `seq` order.
    state.cluster.announce_item(&item).await;
    if webhooks > 0 {
        state.outbox_wakeup.notify_one();
    }
    state.metrics.publishes.fetch_add(1, Ordering::Relaxed);
    state.metrics.publish_latency.observe(started.elapsed());
    Ok(Published { seq, duplicate: false })
}
