//! The webhook management API (admins): create, list, delete, rotate the
//! secret, read the delivery log, retry a delivery.

use std::sync::Arc;

use axum::Json;
use axum::extract::FromRef;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use parley_pipeline::signature::WebhookSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use sqlx::AnyPool;
use tokio::sync::Notify;

use super::ssrf::OutboundPolicy;
use crate::auth::{AdminCaller, AuthState};
use crate::clock::Clock;
use crate::db::format_ms;
use crate::error::{ApiJson, Error, Result};
use crate::openapi::ErrorBody;
use crate::topics::validate_topic;

/// What the webhook management endpoints need.
#[derive(Clone, FromRef)]
pub struct WebhooksState {
    /// Who is calling (admins only).
    pub auth: AuthState,
    pub db: AnyPool,
    pub clock: Clock,
    /// Wakes the worker for a retried delivery.
    pub outbox_wakeup: Arc<Notify>,
    /// Which addresses a webhook URL may name.
    pub outbound: Arc<OutboundPolicy>,
}

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 60 * 60 * 1000;

pub fn router() -> OpenApiRouter<WebhooksState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(upsert, show, remove))
        .routes(routes!(rotate))
        .routes(routes!(deliveries))
        .routes(routes!(retry))
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    name: String,
    topic: String,
    url: String,
    enabled: i64,
    disabled_reason: Option<String>,
    created_at: i64,
    pending: i64,
    failed: i64,
}

/// A webhook as admins see it. The secret appears once: when it is created or rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    pub name: String,
    pub topic: String,
    pub url: String,
    pub enabled: bool,
    /// Why it was disabled (e.g. the receiver answered 410).
    pub disabled_reason: Option<String>,
    pub created_at: String,
    /// Deliveries waiting (including those held while disabled).
    pub pending: i64,
    /// Dead letters.
    pub failed: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_valid_until: Option<String>,
}

impl From<WebhookRow> for Webhook {
    fn from(r: WebhookRow) -> Self {
        Webhook {
            name: r.name,
            topic: r.topic,
            url: r.url,
            enabled: r.enabled != 0,
            disabled_reason: r.disabled_reason,
            created_at: format_ms(r.created_at),
            pending: r.pending,
            failed: r.failed,
            secret: None,
            previous_secret_valid_until: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WebhookAnswer {
    pub webhook: Webhook,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

const VIEW: &str = "select name, topic, url, enabled, disabled_reason, created_at,
        (select count(*) from webhook_outbox o where o.webhook_name = w.name and o.status = 'pending') as pending,
        (select count(*) from webhook_outbox o where o.webhook_name = w.name and o.status = 'failed') as failed
    from webhooks w";

/// Webhook names: 1–64 of `[a-z0-9_-]`.
fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err(Error::BadRequest("webhook names are 1–64 characters of a-z 0-9 _ -".into())) }
}

async fn find(state: &WebhooksState, name: &str) -> Result<Webhook> {
    let row: Option<WebhookRow> =
        sqlx::query_as(&format!("{VIEW} where name = $1")).bind(name).fetch_optional(&state.db).await?;
    row.map(Webhook::from).ok_or_else(|| Error::NotFound(format!("webhook {name}")))
}

/// Lists the webhooks (admins).
#[utoipa::path(
    get,
    path = "/api/webhooks",
    tag = "webhooks",
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn list(State(state): State<WebhooksState>, _admin: AdminCaller) -> Result<Json<WebhookList>> {
    let rows: Vec<WebhookRow> = sqlx::query_as(&format!("{VIEW} order by name")).fetch_all(&state.db).await?;
    Ok(Json(WebhookList { webhooks: rows.into_iter().map(Webhook::from).collect() }))
}

/// One webhook (admins).
#[utoipa::path(
    get,
    path = "/api/webhooks/{name}",
    tag = "webhooks",
    params(("name" = String, Path)),
    responses((status = 200, body = WebhookAnswer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn show(
    State(state): State<WebhooksState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
) -> Result<Json<WebhookAnswer>> {
    Ok(Json(WebhookAnswer { webhook: find(&state, &name).await? }))
}

#[derive(Deserialize, ToSchema)]
struct UpsertRequest {
    /// The topic whose publishes are delivered.
    topic: String,
    /// `http` or `https`; private addresses are refused unless allow-listed.
    url: String,
}

/// Creates a webhook (201, with its secret, shown this once) or updates one
/// (200; re-enables it and releases the deliveries held while it was disabled).
#[utoipa::path(
    put,
    path = "/api/webhooks/{name}",
    tag = "webhooks",
    params(("name" = String, Path, description = "1–64 of a-z 0-9 _ -")),
    request_body = UpsertRequest,
    responses((status = 201, body = WebhookAnswer), (status = 200, body = WebhookAnswer),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "bad or private URL")),
    security(("bearer" = []), ("session" = []))
)]
async fn upsert(
    State(state): State<WebhooksState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<UpsertRequest>,
) -> Result<(StatusCode, Json<WebhookAnswer>)> {
    validate_name(&name)?;
    validate_topic(&request.topic)?;
    let url = reqwest::Url::parse(&request.url).map_err(|e| Error::Invalid(format!("url: {e}")))?;
    state.outbound.check_url(&url).map_err(|why| Error::Invalid(format!("url: {why}")))?;
    let now = state.clock.now_ms();
    let secret = WebhookSecret::generate().to_text();
    let created = sqlx::query(
        "insert into webhooks (name, topic, url, secret, enabled, created_at) values ($1, $2, $3, $4, 1, $5)
         on conflict (name) do nothing",
    )
    .bind(&name)
    .bind(&request.topic)
    .bind(url.as_str())
    .bind(&secret)
    .bind(now)
    .execute(&state.db)
    .await?
    .rows_affected()
        == 1;
    if !created {
        // An update re-enables the webhook and keeps its secret.
        sqlx::query(
            "update webhooks set topic = $1, url = $2, enabled = 1, disabled_reason = null where name = $3 and internal = 0",
        )
        .bind(&request.topic)
        .bind(url.as_str())
        .bind(&name)
        .execute(&state.db)
        .await?;
    }
    // Deliveries that waited while it was disabled can go now.
    state.outbox_wakeup.notify_one();
    let mut webhook = find(&state, &name).await?;
    if created {
        webhook.secret = Some(secret);
    }
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(WebhookAnswer { webhook })))
}

/// Replaces the secret; the previous one keeps signing (a second signature) for 24 hours.
#[utoipa::path(
    post,
    path = "/api/webhooks/{name}/rotate-secret",
    tag = "webhooks",
    params(("name" = String, Path)),
    responses((status = 200, body = WebhookAnswer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn rotate(
    State(state): State<WebhooksState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
) -> Result<Json<WebhookAnswer>> {
    let secret = WebhookSecret::generate().to_text();
    let until = state.clock.now_ms() + ROTATION_OVERLAP_MS;
    let changed = sqlx::query(
        "update webhooks set previous_secret = secret, previous_secret_until = $1, secret = $2 where name = $3 and internal = 0",
    )
    .bind(until)
    .bind(&secret)
    .bind(&name)
    .execute(&state.db)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::NotFound(format!("webhook {name}")));
    }
    let mut webhook = find(&state, &name).await?;
    webhook.secret = Some(secret);
    webhook.previous_secret_valid_until = Some(format_ms(until));
    Ok(Json(WebhookAnswer { webhook }))
}

/// Deletes a webhook and the deliveries still waiting for it.
#[utoipa::path(
    delete,
    path = "/api/webhooks/{name}",
    tag = "webhooks",
    params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn remove(
    State(state): State<WebhooksState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    let deleted =
        sqlx::query("delete from webhooks where name = $1").bind(&name).execute(&mut *tx).await?.rows_affected();
    if deleted == 0 {
        return Err(Error::NotFound(format!("webhook {name}")));
    }
    sqlx::query("delete from webhook_outbox where webhook_name = $1 and status = 'pending'")
        .bind(&name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed`.
    status: Option<String>,
    /// 1–500, default 50.
    limit: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    topic: String,
    seq: i64,
    status: String,
    attempts: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    last_latency_ms: Option<i64>,
    next_attempt_at: i64,
    created_at: i64,
    finished_at: Option<i64>,
}

/// One message to one webhook, with its attempts so far.
#[derive(Serialize, ToSchema)]
pub struct Delivery {
    /// The `webhook-id` it is sent with, the same on every attempt.
    pub id: String,
    pub topic: String,
    pub seq: i64,
    /// `pending`, `delivered` or `failed` (dead letter).
    pub status: String,
    pub attempts: i64,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub latency_ms: Option<i64>,
    pub next_retry_at: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Self {
        Delivery {
            next_retry_at: (r.status == "pending").then(|| format_ms(r.next_attempt_at)),
            id: r.id,
            topic: r.topic,
            seq: r.seq,
            status: r.status,
            attempts: r.attempts,
            last_status: r.last_status,
            last_error: r.last_error,
            latency_ms: r.last_latency_ms,
            created_at: format_ms(r.created_at),
            finished_at: r.finished_at.map(format_ms),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
}

/// The delivery log, newest first.
#[utoipa::path(
    get,
    path = "/api/webhooks/{name}/deliveries",
    tag = "webhooks",
    params(("name" = String, Path), DeliveriesQuery),
    responses((status = 200, body = DeliveryList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn deliveries(
    State(state): State<WebhooksState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Json<DeliveryList>> {
    find(&state, &name).await?;
    if let Some(status) = &query.status
        && !matches!(status.as_str(), "pending" | "delivered" | "failed")
    {
        return Err(Error::Invalid("status must be pending, delivered or failed".into()));
    }
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "select id, topic, seq, status, attempts, last_status, last_error, last_latency_ms, next_attempt_at,
                created_at, finished_at
         from webhook_outbox where webhook_name = $1 and ($2 is null or status = $3)
         order by created_at desc limit $4",
    )
    .bind(&name)
    .bind(&query.status)
    .bind(&query.status)
    .bind(limit)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(DeliveryList { deliveries: rows.into_iter().map(Delivery::from).collect() }))
}

#[derive(Serialize, ToSchema)]
pub struct RetryAnswer {
    pub id: String,
    pub status: String,
}

/// Sends a dead letter again, from its first attempt.
#[utoipa::path(
    post,
    path = "/api/webhooks/{name}/deliveries/{id}/retry",
    tag = "webhooks",
    params(("name" = String, Path), ("id" = String, Path)),
    responses((status = 202, body = RetryAnswer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the webhook is disabled")),
    security(("bearer" = []), ("session" = []))
)]
async fn retry(
    State(state): State<WebhooksState>,
    _admin: AdminCaller,
    Path((name, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<RetryAnswer>)> {
    let hook = find(&state, &name).await?;
    if !hook.enabled {
        return Err(Error::Conflict(format!("webhook {name} is disabled; PUT it again to enable it")));
    }
    let changed = sqlx::query(
        "update webhook_outbox set status = 'pending', attempts = 0, next_attempt_at = $1, finished_at = null
         where id = $2 and webhook_name = $3 and status = 'failed'",
    )
    .bind(state.clock.now_ms())
    .bind(&id)
    .bind(&name)
    .execute(&state.db)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::NotFound(format!("failed delivery {id} of webhook {name}")));
    }
    state.outbox_wakeup.notify_one();
    Ok((StatusCode::ACCEPTED, Json(RetryAnswer { id, status: "pending".into() })))
}
