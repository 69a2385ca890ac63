//! Operations endpoints: liveness, readiness and Prometheus metrics.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;
use crate::error::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Ready when the database answers (the in-process bus has nothing to fail).
async fn readyz(State(state): State<AppState>) -> Result<&'static str> {
    let probe = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        sqlx::query("select 1").execute(&state.db),
    )
    .await;
    match probe {
        Ok(Ok(_)) => Ok("ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            Err(Error::Unavailable("the database is unavailable".into()))
        }
        Err(_) => Err(Error::Unavailable(
            "the database did not answer within 2 s".into(),
        )),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(state.bus.subscriber_count()),
    )
}
