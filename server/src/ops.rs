//! Operations endpoints: liveness, readiness and Prometheus metrics.

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use parley_pipeline::Pipeline;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use sqlx::AnyPool;

use crate::auth::AuthState;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::openapi::ErrorBody;
use crate::topics::PublishQueue;
use crate::topics::bus::Bus;

/// What the operations endpoints read.
#[derive(Clone, FromRef)]
pub struct OpsState {
    /// Who is calling (`/api/health` is for admins).
    pub auth: AuthState,
    pub db: AnyPool,
    pub metrics: Arc<Metrics>,
    pub bus: Arc<Bus>,
    pub publish_queue: Arc<PublishQueue>,
    pub cluster: Arc<Cluster>,
    /// The embedded pipeline, for its health and metrics.
    pub pipeline: Option<Arc<Pipeline>>,
}

pub fn router() -> OpenApiRouter<OpsState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(health))
}

/// What the admin console shows of this node: the embedded pipeline's
/// providers, cache and stage latencies, dead letters and subscribers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct NodeHealth {
    /// `ready`, or why not.
    pub ready: String,
    /// `none` (one node), `connected` or `degraded` (NATS unreachable).
    pub bus: &'static str,
    pub subscribers: usize,
    /// Deliveries given up: to Parley's own pipeline, and to other webhooks.
    pub dead_letters_internal: u64,
    pub dead_letters_external: u64,
    /// The embedded pipeline's state; `null` when the pipeline runs apart.
    #[schema(value_type = Option<Object>)]
    pub pipeline: Option<parley_pipeline::metrics::Health>,
}

/// This node's health, typed (admins).
#[utoipa::path(
    get,
    path = "/api/health",
    tag = "operations",
    responses((status = 200, body = NodeHealth), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn health(State(state): State<OpsState>, _admin: crate::auth::AdminCaller) -> axum::Json<NodeHealth> {
    let (internal, external) = state.metrics.dead_letters();
    axum::Json(NodeHealth {
        ready: readyz(State(state.clone())).await.map_or_else(|e| e.to_string(), str::to_owned),
        bus: match state.cluster.connected() {
            None => "none",
            Some(true) => "connected",
            Some(false) => "degraded",
        },
        subscribers: state.bus.subscriber_count(),
        dead_letters_internal: internal,
        dead_letters_external: external,
        pipeline: state.pipeline.as_ref().map(|p| p.health()),
    })
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers. With several nodes, a NATS outage is
/// reported but does not make the node unready: items still reach every node
/// through the database catch-up, only later, and taking every node out of
/// the balancer would turn a slower chat into no chat.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses((status = 200, body = String), (status = 503, body = ErrorBody))
)]
async fn readyz(State(state): State<OpsState>) -> Result<&'static str> {
    let ready = match state.cluster.connected() {
        Some(false) => "ready (bus degraded: NATS unreachable; other nodes' items arrive through the database)",
        _ => "ready",
    };
    let probe =
        tokio::time::timeout(std::time::Duration::from_secs(2), sqlx::query("select 1").execute(&state.db)).await;
    match probe {
        Ok(Ok(_)) => Ok(ready),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            Err(Error::Unavailable("the database is unavailable".into()))
        }
        Err(_) => Err(Error::Unavailable("the database did not answer within 2 s".into())),
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain")))]
async fn metrics(State(state): State<OpsState>) -> impl IntoResponse {
    let scrape = Scrape {
        metrics: state.metrics.clone(),
        subscribers: state.bus.subscriber_count(),
        queued: state.publish_queue.queued(),
        pipeline: state.pipeline.clone(),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, parley_pipeline::metrics::CONTENT_TYPE)],
        parley_pipeline::metrics::exposition(scrape),
    )
}

/// One scrape: the server's families, then the embedded pipeline's.
struct Scrape {
    metrics: Arc<Metrics>,
    subscribers: usize,
    queued: usize,
    pipeline: Option<Arc<Pipeline>>,
}

impl std::fmt::Debug for Scrape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("server metrics")
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        self.metrics.encode(self.subscribers, self.queued, &mut encoder)?;
        match &self.pipeline {
            Some(pipeline) => pipeline.encode_metrics(&mut encoder),
            None => Ok(()),
        }
    }
}
