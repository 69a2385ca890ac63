//! Retention: how many items, and how old, each topic keeps.
//!
//! A janitor evicts what falls outside the limits; subscribers resuming
//! from an evicted range get a `discontinuity` frame first.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use utoipa::ToSchema;

use super::validate_topic;
use crate::auth::AdminCaller;
use crate::clock::Clock;
use crate::error::{ApiJson, Error, Result};
use crate::openapi::ErrorBody;
use crate::shutdown::Shutdown;
use crate::topics::TopicsState;

/// The server-wide limits, for topics without their own.
#[derive(Debug, Clone, Copy)]
pub struct RetentionDefaults {
    pub max_items: i64,
    pub max_age: Duration,
}

impl Default for RetentionDefaults {
    fn default() -> Self {
        Self { max_items: 100_000, max_age: Duration::from_secs(30 * 24 * 60 * 60) }
    }
}

/// Evicts every item outside its topic's limits; returns how many.
///
/// # Errors
/// Database errors.
pub async fn sweep(db: &AnyPool, defaults: RetentionDefaults, now_ms: i64) -> Result<u64> {
    let deleted = sqlx::query(
        "delete from items where exists (
             select 1 from topics t where t.name = items.topic
                and (items.seq <= t.last_seq - coalesce(t.retain_items, $1)
                     or items.published_at < $2 - coalesce(t.retain_ms, $3)))",
    )
    .bind(defaults.max_items)
    .bind(now_ms)
    .bind(defaults.max_age.as_millis() as i64)
    .execute(db)
    .await?
    .rows_affected();
    Ok(deleted)
}

/// Sweeps every `interval` until shutdown.
pub async fn run_janitor(
    db: AnyPool,
    defaults: RetentionDefaults,
    clock: Clock,
    interval: Duration,
    shutdown: Shutdown,
) {
    loop {
        match sweep(&db, defaults, clock.now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(evicted = n, "retention sweep"),
            Err(error) => tracing::warn!(%error, "retention sweep failed"),
        }
        let sessions = crate::auth::sessions::DbSessionStore::new(db.clone());
        if let Err(error) = sessions.delete_expired(clock.now_ms() / 1000).await {
            tracing::warn!(%error, "deleting expired sessions failed");
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = shutdown.wait() => return,
        }
    }
}

/// A topic's own retention; `null` means the server's default.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct Retention {
    pub max_items: Option<i64>,
    pub max_age_seconds: Option<i64>,
}

/// The retention now in force for a topic.
#[derive(Serialize, ToSchema)]
pub struct RetentionAnswer {
    pub topic: String,
    #[serde(flatten)]
    pub retention: Retention,
}

/// Sets a topic's own retention (admins).
#[utoipa::path(
    put,
    path = "/api/topics/{topic}/retention",
    tag = "topics",
    params(("topic" = String, Path)),
    request_body = Retention,
    responses((status = 200, body = RetentionAnswer), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
pub(super) async fn set_retention(
    State(state): State<TopicsState>,
    _admin: AdminCaller,
    Path(topic): Path<String>,
    ApiJson(request): ApiJson<Retention>,
) -> Result<Json<RetentionAnswer>> {
    validate_topic(&topic)?;
    if request.max_items.is_some_and(|n| n < 1) || request.max_age_seconds.is_some_and(|s| s < 1) {
        return Err(Error::Invalid("max_items and max_age_seconds must be positive".into()));
    }
    sqlx::query(
        "insert into topics (name, retain_items, retain_ms) values ($1, $2, $3)
         on conflict (name) do update set retain_items = excluded.retain_items, retain_ms = excluded.retain_ms",
    )
    .bind(&topic)
    .bind(request.max_items)
    .bind(request.max_age_seconds.map(|s| s.saturating_mul(1000)))
    .execute(&state.db)
    .await?;
    Ok(Json(RetentionAnswer { topic, retention: request }))
}
