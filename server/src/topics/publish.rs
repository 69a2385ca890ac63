//! `POST /api/topics/{topic}`: checks the caller, the body and the limits, then queues the item ([`super::batch`]).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{MAX_ITEM_BYTES, NewItem, Publisher, publish_item, publish_items, validate_topic};
use crate::auth::{Claims, Op, Role, TokenCaller};
use crate::error::ApiJson;
use crate::error::{Error, Result};
use crate::openapi::ErrorBody;
use crate::topics::TopicsState;

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
        (status = 400, body = ErrorBody, description = "malformed JSON or topic name; not_a_chat_message on a room's publish topic"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 429, body = ErrorBody, description = "rate limited; see Retry-After"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn publish(
    State(state): State<TopicsState>,
    TokenCaller(claims): TokenCaller,
    Path(topic): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PublishAnswer>> {
    validate_topic(&topic)?;
    if !claims.allows(Op::Publish, &topic) {
        return Err(Error::Forbidden(format!("this token may not publish to {topic}")));
    }
    take_publish_tokens(&state, &claims, 1, u32::from(topic.ends_with("-publish")))?;
    let key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(v) => Some(check_key(v.to_str().ok())?.to_owned()),
    };
    let bytes = axum::body::to_bytes(body, MAX_ITEM_BYTES).await.map_err(|_| Error::PayloadTooLarge(MAX_ITEM_BYTES))?;
    let value = parse_value(&headers, &bytes)?;
    check_value(&topic, &value)?;
    let publisher = Publisher { id: claims.sub, name: claims.name };
    let published = publish_item(&state, &topic, publisher, value, key.as_deref()).await?;
    Ok(Json(PublishAnswer { seq: published.seq, duplicate: published.duplicate }))
}

/// A publish that arrived as a frame on a subscriber's WebSocket
/// ([`super::subscribe`]), checked as `POST` checks it (and counted against
/// the same limits): the item to append.
pub(super) fn check_frame(
    state: &TopicsState,
    claims: &Claims,
    topic: String,
    value: Value,
    key: Option<String>,
) -> Result<NewItem> {
    // The socket closes when its token is revoked or expires; a frame read
    // in between is refused as a request with that token would be.
    if claims.exp <= state.clock.now_secs() {
        return Err(Error::TokenExpired);
    }
    if state.auth.revocations.is_revoked(claims) {
        return Err(Error::TokenRevoked);
    }
    check_item(claims, &topic, &value, key.as_deref())?;
    take_publish_tokens(state, claims, 1, u32::from(topic.ends_with("-publish")))?;
    Ok(NewItem { topic, value, key })
}

/// The checks of one item of a batch or of a WebSocket publish: its topic,
/// the caller's right to it, its key, its size and its shape.
fn check_item(claims: &Claims, topic: &str, value: &Value, key: Option<&str>) -> Result<()> {
    validate_topic(topic)?;
    if !claims.allows(Op::Publish, topic) {
        return Err(Error::Forbidden(format!("this token may not publish to {topic}")));
    }
    if let Some(key) = key {
        check_key(Some(key))?;
    }
    if value.to_string().len() > MAX_ITEM_BYTES {
        return Err(Error::PayloadTooLarge(MAX_ITEM_BYTES));
    }
    check_value(topic, value)
}

/// Appends checked frames' items in the order they came, in one queueing:
/// a client that sends several without waiting gets them committed
/// together, as a batch `POST` would.
pub(super) async fn publish_frames(
    state: &TopicsState,
    claims: &Claims,
    items: Vec<NewItem>,
) -> Result<Vec<PublishAnswer>> {
    let publisher = Publisher { id: claims.sub.clone(), name: claims.name.clone() };
    let published = publish_items(state, publisher, items).await?;
    Ok(published.into_iter().map(|p| PublishAnswer { seq: p.seq, duplicate: p.duplicate }).collect())
}

/// An idempotency key is 1–200 visible ASCII characters.
fn check_key(key: Option<&str>) -> Result<&str> {
    key.filter(|k| (1..=200).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
        .ok_or_else(|| Error::BadRequest("Idempotency-Key must be 1–200 visible ASCII characters".into()))
}

/// The most items one batch publish may carry.
pub const MAX_BATCH_ITEMS: usize = 64;

/// A batch publish.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1–64 items; the whole body at most 64 KiB.
    pub items: Vec<BatchItem>,
}

/// One item of a batch publish.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    pub topic: String,
    /// Any JSON value, at most 16 KiB serialized.
    #[schema(value_type = Object)]
    pub value: Value,
    /// As the `Idempotency-Key` header of a single publish.
    pub idempotency_key: Option<String>,
    /// Replace, with this item's value, the earlier items of the topic that
    /// the same publisher published under idempotency keys starting with
    /// this prefix: an edit or a deletion erases what came before from the
    /// history, not only from the clients that apply it.
    pub supersedes: Option<String>,
}

/// The answer to a batch publish: one entry per item, in order.
#[derive(Serialize, ToSchema)]
pub struct BatchAnswer {
    pub items: Vec<PublishAnswer>,
}

/// Appends several items, to one topic or several, in one request: they are
/// queued together and commit together when they fit in one transaction.
/// Every item is checked before any is appended: one forbidden topic or bad
/// item refuses the whole request. The pipeline republishes every language
/// of a message this way.
#[utoipa::path(
    post,
    path = "/api/topics",
    tag = "topics",
    request_body(content = BatchRequest, description = "1–64 items, at most 64 KiB in all"),
    responses(
        (status = 200, body = BatchAnswer),
        (status = 400, body = ErrorBody, description = "malformed JSON, topic name or idempotency key"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "no items, or more than 64"),
        (status = 429, body = ErrorBody, description = "rate limited (each item counts); see Retry-After"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn publish_batch(
    State(state): State<TopicsState>,
    TokenCaller(claims): TokenCaller,
    ApiJson(request): ApiJson<BatchRequest>,
) -> Result<Json<BatchAnswer>> {
    let n = request.items.len();
    if !(1..=MAX_BATCH_ITEMS).contains(&n) {
        return Err(Error::Invalid(format!("a batch holds 1–{MAX_BATCH_ITEMS} items, not {n}")));
    }
    let mut items = Vec::with_capacity(n);
    let mut superseding = Vec::new();
    for BatchItem { topic, value, idempotency_key, supersedes } in request.items {
        check_item(&claims, &topic, &value, idempotency_key.as_deref())?;
        if let Some(prefix) = &supersedes {
            check_key(Some(prefix))?;
        }
        superseding.push(supersedes);
        items.push(NewItem { topic, value, key: idempotency_key });
    }
    let chat = items.iter().filter(|i| i.topic.ends_with("-publish")).count() as u32;
    take_publish_tokens(&state, &claims, n as u32, chat)?;
    let publisher = Publisher { id: claims.sub, name: claims.name };
    let replacements: Vec<(String, Value, String)> = items
        .iter()
        .zip(superseding)
        .filter_map(|(item, prefix)| Some((item.topic.clone(), item.value.clone(), prefix?)))
        .collect();
    let publisher_id = publisher.id.clone();
    let published = publish_items(&state, publisher, items).await?;
    for ((topic, value, prefix), done) in replacements.iter().zip(&published) {
        // Also when the publish was a duplicate: a redelivery finishes what a crash cut short.
        super::supersede(&state, topic, &publisher_id, prefix, done.seq, value).await?;
    }
    Ok(Json(BatchAnswer {
        items: published.into_iter().map(|p| PublishAnswer { seq: p.seq, duplicate: p.duplicate }).collect(),
    }))
}

/// Takes `n` publishes, `chat` of them chat messages (to a room's publish
/// topic), from the caller's rate limit and the server's chat limit.
/// Parley's own services (the pipeline's token) are not limited: they
/// republish every user's message in every room language, and a user limit
/// on them throttled the whole server's translations to one user's rate.
/// Users' limits, which bound what reaches the pipeline in the first place,
/// stay, and so does the server-wide cap on chat messages, which bounds the
/// translation work all users together can cause.
fn take_publish_tokens(state: &TopicsState, claims: &Claims, n: u32, chat: u32) -> Result<()> {
    if claims.role == Role::Service {
        return Ok(());
    }
    let now = state.clock.now_ms();
    state.publish_limits.take(&claims.limit_key(), now, n)?;
    if chat > 0 {
        state.chat_limit.take("all", now, chat)?;
    }
    Ok(())
}

/// Topics whose items Parley reads itself take only what it can read: a
/// room's publish topic (`*-publish`) only chat messages the pipeline can
/// process, so nothing is acknowledged that would then fail delivery after
/// delivery; presence topics only presence kinds.
fn check_value(topic: &str, value: &Value) -> Result<()> {
    if topic.ends_with("-publish") {
        parley_pipeline::envelope::ChatMessage::parse(value).map_err(Error::NotAChatMessage)?;
    } else if topic.ends_with("-presence") {
        check_presence(value)?;
    } else if let Some(room) = topic.strip_suffix("-reactions") {
        check_reaction(room, value)?;
    }
    Ok(())
}

/// The reactions a message may get: language-neutral, and a short list, so
/// a reaction never carries text of its own.
pub const REACTIONS: [&str; 6] = ["👍", "❤️", "😂", "😮", "😢", "🎉"];

/// Reactions topics take only `{"target": "{room}-publish:{seq}", "emoji", "on"}`.
fn check_reaction(room: &str, value: &Value) -> Result<()> {
    let ok = value.as_object().is_some_and(|o| {
        o.len() == 3
            && o.get("target").and_then(Value::as_str).is_some_and(|t| {
                t.strip_prefix(room)
                    .and_then(|rest| rest.strip_prefix("-publish:"))
                    .is_some_and(|seq| (1..=18).contains(&seq.len()) && seq.bytes().all(|b| b.is_ascii_digit()))
            })
            && o.get("emoji").and_then(Value::as_str).is_some_and(|e| REACTIONS.contains(&e))
            && o.get("on").is_some_and(Value::is_boolean)
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            r#"reactions are {{"target": "{room}-publish:<seq>", "emoji": one of {}, "on": true | false}}"#,
            REACTIONS.join(" ")
        )))
    }
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
