//! `parley-pipeline`: the pipeline as its own service, behind a webhook URL.
//!
//! Stateless: run as many copies as you like behind one URL (or register
//! each as its own webhook); publishes carry idempotency keys, so a message
//! delivered to two of them is applied once.

use std::sync::Arc;

use anyhow::Context as _;
use parley_pipeline::clock::Clock;
use parley_pipeline::signature::WebhookSecret;
use parley_pipeline::topics_client::TopicsClient;
use parley_pipeline::translate::{ProviderConfig, build_service};
use parley_pipeline::{Pipeline, PipelineConfig};

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} must be set"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let addr = std::env::var("PARLEY_PIPELINE_ADDR").unwrap_or_else(|_| "127.0.0.1:3100".into());
    let server = env("PARLEY_SERVER_URL")?;
    let token = env("PARLEY_PIPELINE_TOKEN")?;
    let secrets = env("PARLEY_WEBHOOK_SECRET")?
        .split(',')
        .map(|s| WebhookSecret::parse(s.trim()).context("PARLEY_WEBHOOK_SECRET is not a whsec_ secret"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?;
    let providers = ProviderConfig::list_from_env().map_err(anyhow::Error::msg)?;
    let translator = build_service(&providers, http.clone()).await.map_err(anyhow::Error::msg)?;
    let pipeline = Arc::new(Pipeline::new(PipelineConfig {
        secrets,
        topics: TopicsClient::new(server, token, http),
        translator,
        clock: Clock::system(),
        pending_retry_after_secs: parley_pipeline::intake::PENDING_RETRY_AFTER_SECS,
    }));
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("bind {addr}"))?;
    tracing::info!(%addr, "parley-pipeline listening");
    let metrics = pipeline.clone();
    let app = parley_pipeline::router::<()>(pipeline)
        .route(
            "/metrics",
            axum::routing::get(move || async move {
                ([(axum::http::header::CONTENT_TYPE, parley_pipeline::metrics::CONTENT_TYPE)], metrics.metrics_text())
            }),
        )
        .route("/healthz", axum::routing::get(|| async { "ok" }));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
