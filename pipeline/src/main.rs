//! `parley-pipeline`: the pipeline as its own service, behind a webhook URL.

use std::sync::Arc;

use anyhow::Context as _;
use parley_pipeline::signature::WebhookSecret;
use parley_pipeline::topics_client::TopicsClient;
use parley_pipeline::translate::{FirefoxTranslator, LibreTranslate, Translator};
use parley_pipeline::{Pipeline, PipelineConfig, intake::system_clock};

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
    let translator: Arc<dyn Translator> = match std::env::var("PARLEY_TRANSLATOR").as_deref() {
        Ok("libretranslate") => Arc::new(LibreTranslate::new(
            env("PARLEY_LIBRETRANSLATE_URL")?,
            std::env::var("PARLEY_LIBRETRANSLATE_KEY").ok(),
            http.clone(),
        )),
        Ok("firefox") | Err(_) => {
            let dir = std::env::var("PARLEY_MODELS_DIR").unwrap_or_else(|_| "data/models".into());
            Arc::new(FirefoxTranslator::load(dir).map_err(anyhow::Error::msg)?)
        }
        Ok(other) => anyhow::bail!("unknown PARLEY_TRANSLATOR {other:?} (firefox, libretranslate)"),
    };
    let pipeline = Arc::new(Pipeline::new(PipelineConfig {
        secrets,
        topics: TopicsClient::new(server, token, http),
        translator,
        clock: system_clock(),
    }));
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("bind {addr}"))?;
    tracing::info!(%addr, "parley-pipeline listening");
    axum::serve(listener, parley_pipeline::router::<()>(pipeline))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
