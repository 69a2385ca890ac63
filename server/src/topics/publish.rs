//! `POST /api/topics/{topic}`: checks the caller, the body and the limits, then queues the item ([`super::batch`]).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{MAX_ITEM_BYTES, Publisher, publish_item, validate_topic};
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
