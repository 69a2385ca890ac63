//! The webhook management API (admins): create, list, delete, rotate the
//! secret, read the delivery log, retry a delivery.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use parley_pipeline::signature::WebhookSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::AdminCaller;
use crate::db::format_ms;
use crate::error::{ApiJson, Error, Result};
use crate::topics::validate_topic;

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 60 * 60 * 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/webhooks", get(list))
        .route("/api/webhooks/{name}", put(upsert).get(show).delete(remove))
        .route("/api/webhooks/{name}/rotate-secret", post(rotate))
        .route("/api/webhooks/{name}/deliveries", get(deliveries))
        .route("/api/webhooks/{name}/deliveries/{id}/retry", post(retry))
}

/// A webhook as admins see it (never its secret, except once at creation or rotation).
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct WebhookView {
    pub name: String,
    pub topic: String,
    pub url: String,
    #[sqlx(try_from = "i64")]
    pub enabled: Enabled,
    pub disabled_reason: Option<String>,
    #[serde(skip)]
    pub created_at: i64,
    pub pending: i64,
    pub failed: i64,
}

/// SQLite's 0/1 as a JSON boolean.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(transparent)]
pub struct Enabled(pub bool);

impl From<i64> for Enabled {
    fn from(v: i64) -> Self {
        Enabled(v != 0)
    }
}

const VIEW: &str = "select name, topic, url, enabled, disabled_reason, created_at,
        (select count(*) from webhook_outbox o where o.webhook_name = w.name and o.status = 'pending') as pending,
        (select count(*) from webhook_outbox o where o.webhook_name = w.name and o.status = 'failed') as failed
    from webhooks w";

fn view_json(view: &WebhookView) -> Value {
    let mut v = serde_json::to_value(view).unwrap_or_default();
    v["created_at"] = json!(format_ms(view.created_at));
    v
}

/// Webhook names: 1–64 of `[a-z0-9_-]`.
fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest(
            "webhook names are 1–64 characters of a-z 0-9 _ -".into(),
        ))
    }
}

async fn find(state: &AppState, name: &str) -> Result<WebhookView> {
    sqlx::query_as(&format!("{VIEW} where name = ?"))
        .bind(name)
        .fetch_optional(&state.db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("webhook {name}")))
}

async fn list(State(state): State<AppState>, _admin: AdminCaller) -> Result<Json<Value>> {
    let all: Vec<WebhookView> = sqlx::query_as(&format!("{VIEW} order by name"))
        .fetch_all(&state.db)
        .await?;
    Ok(Json(
        json!({ "webhooks": all.iter().map(view_json).collect::<Vec<_>>() }),
    ))
}

async fn show(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(
        json!({ "webhook": view_json(&find(&state, &name).await?) }),
    ))
}

#[derive(Deserialize)]
struct UpsertRequest {
    topic: String,
    url: String,
}

async fn upsert(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<UpsertRequest>,
) -> Result<(StatusCode, Json<Value>)> {
    validate_name(&name)?;
    validate_topic(&request.topic)?;
    let url = reqwest::Url::parse(&request.url).map_err(|e| Error::Invalid(format!("url: {e}")))?;
    state
        .outbound
        .check_url(&url)
        .map_err(|why| Error::Invalid(format!("url: {why}")))?;
    let now = state.clock.now_ms();
    let secret = WebhookSecret::generate().to_text();
    let created = sqlx::query(
        "insert into webhooks (name, topic, url, secret, enabled, created_at) values (?, ?, ?, ?, 1, ?)
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
            "update webhooks set topic = ?, url = ?, enabled = 1, disabled_reason = null where name = ? and internal = 0",
        )
        .bind(&request.topic)
        .bind(url.as_str())
        .bind(&name)
        .execute(&state.db)
        .await?;
    }
    // Deliveries that waited while it was disabled can go now.
    state.outbox_wakeup.notify_one();
    let mut body = view_json(&find(&state, &name).await?);
    if created {
        body["secret"] = json!(secret);
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({ "webhook": body }))))
}

async fn rotate(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    let secret = WebhookSecret::generate().to_text();
    let until = state.clock.now_ms() + ROTATION_OVERLAP_MS;
    let changed = sqlx::query(
        "update webhooks set previous_secret = secret, previous_secret_until = ?, secret = ? where name = ? and internal = 0",
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
    let mut body = view_json(&find(&state, &name).await?);
    body["secret"] = json!(secret);
    body["previous_secret_valid_until"] = json!(format_ms(until));
    Ok(Json(json!({ "webhook": body })))
}

async fn remove(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    let deleted = sqlx::query("delete from webhooks where name = ?")
        .bind(&name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(Error::NotFound(format!("webhook {name}")));
    }
    sqlx::query("delete from webhook_outbox where webhook_name = ? and status = 'pending'")
        .bind(&name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct DeliveriesQuery {
    status: Option<String>,
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

async fn deliveries(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Json<Value>> {
    find(&state, &name).await?;
    if let Some(status) = &query.status
        && !matches!(status.as_str(), "pending" | "delivered" | "failed")
    {
        return Err(Error::Invalid(
            "status must be pending, delivered or failed".into(),
        ));
    }
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "select id, topic, seq, status, attempts, last_status, last_error, last_latency_ms, next_attempt_at,
                created_at, finished_at
         from webhook_outbox where webhook_name = ? and (? is null or status = ?)
         order by created_at desc limit ?",
    )
    .bind(&name)
    .bind(&query.status)
    .bind(&query.status)
    .bind(limit)
    .fetch_all(&state.db)
    .await?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id, "topic": r.topic, "seq": r.seq, "status": r.status, "attempts": r.attempts,
                "last_status": r.last_status, "last_error": r.last_error, "latency_ms": r.last_latency_ms,
                "next_retry_at": (r.status == "pending").then(|| format_ms(r.next_attempt_at)),
                "created_at": format_ms(r.created_at), "finished_at": r.finished_at.map(format_ms),
            })
        })
        .collect();
    Ok(Json(json!({ "deliveries": items })))
}

async fn retry(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path((name, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>)> {
    let hook = find(&state, &name).await?;
    if !hook.enabled.0 {
        return Err(Error::Conflict(format!(
            "webhook {name} is disabled; PUT it again to enable it"
        )));
    }
    let changed = sqlx::query(
        "update webhook_outbox set status = 'pending', attempts = 0, next_attempt_at = ?, finished_at = null
         where id = ? and webhook_name = ? and status = 'failed'",
    )
    .bind(state.clock.now_ms())
    .bind(&id)
    .bind(&name)
    .execute(&state.db)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::NotFound(format!(
            "failed delivery {id} of webhook {name}"
        )));
    }
    state.outbox_wakeup.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "status": "pending" })),
    ))
}
