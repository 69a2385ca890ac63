//! `parley`: start the server, or manage its translation models.

use anyhow::Context as _;

const USAGE: &str = "usage:
  parley                         start the server (configured by PARLEY_* variables)
  parley models import <dir>     copy Firefox Translations models from <dir> into PARLEY_MODELS_DIR
  parley models list             list the installed model pairs
  parley models download [--all | lang… | pair…]
                                 fetch en<->lang models (e.g. es fr de ja zh) from Firefox's Remote Settings
                                 (PARLEY_MODELS_SOURCE), or pairs from PARLEY_MODELS_MIRROR when it is set
  parley models available        what Remote Settings offers, and which of it this build can load
  parley models manifest         print the manifest.json that makes PARLEY_MODELS_DIR a mirror
  parley admin-token [seconds]   print an admin token (default 1 hour, at most 24 hours)
  parley pipeline-token [seconds]
                                 print a service token for a separate parley-pipeline (default 30 days)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let models_dir = std::env::var("PARLEY_MODELS_DIR").unwrap_or_else(|_| "data/models".into());
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => serve().await,
        ["models", "import", source] => {
            let pairs = parley_pipeline::translate::firefox::import_models(source.as_ref(), models_dir.as_ref())
                .with_context(|| format!("importing models from {source}"))?;
            println!("imported {} into {models_dir}", pairs.join(", "));
            Ok(())
        }
        ["admin-token", rest @ ..] => {
            let ttl: i64 = match rest {
                [] => 3600,
                [secs] => secs.parse().context("the lifetime is a number of seconds")?,
                _ => {
                    eprintln!("{USAGE}");
                    std::process::exit(2);
                }
            };
            anyhow::ensure!((1..=86_400).contains(&ttl), "the lifetime must be 1 to 86400 seconds");
            let config = parley::Config::from_env()?;
            let db = parley::db::connect(&config.database_url).await?;
            let key = parley::token_key(&db).await?;
            println!("{}", key.sign(&parley::admin_claims(config.clock.now_secs(), ttl)));
            Ok(())
        }
        ["pipeline-token", rest @ ..] => {
            let ttl: i64 = match rest {
                [] => 30 * 86_400,
                [secs] => secs.parse().context("the lifetime is a number of seconds")?,
                _ => {
                    eprintln!("{USAGE}");
                    std::process::exit(2);
                }
            };
            anyhow::ensure!((1..=366 * 86_400).contains(&ttl), "the lifetime must be 1 second to a year");
            let config = parley::Config::from_env()?;
            let db = parley::db::connect(&config.database_url).await?;
            let key = parley::token_key(&db).await?;
            println!("{}", key.sign(&parley::pipeline_claims(config.clock.now_secs() + ttl)));
            Ok(())
        }
        ["models", "download", args @ ..] => parley::models::download(args, models_dir.as_ref()).await,
        ["models", "available"] => parley::models::available().await,
        ["models", "manifest"] => {
            let manifest = parley_pipeline::translate::download::manifest_of(models_dir.as_ref())?;
            println!("{}", serde_json::to_string_pretty(&manifest)?);
            Ok(())
        }
        ["models", "list"] => {
            let pairs = parley_pipeline::translate::firefox::installed_pairs(models_dir.as_ref());
            for pair in &pairs {
                println!("{}→{}", &pair[..2], &pair[2..]);
            }
            if pairs.is_empty() {
                println!("no models in {models_dir}");
            }
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = parley::Config::from_env()?;
    let addr = std::env::var("PARLEY_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    parley::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await
}
