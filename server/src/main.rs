//! `parley`: start the server, manage its translation models, or print a token.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use parley::config::{Config, Sources};

/// Parley: real-time chat in which everyone writes and reads in their own
/// language. Configured by `PARLEY_*` variables and, under them, the TOML file
/// `PARLEY_CONFIG` names.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (the default) on PARLEY_ADDR (127.0.0.1:3000).
    Serve,
    /// Manage the translation models in PARLEY_MODELS_DIR (data/models).
    #[command(subcommand)]
    Models(Models),
    /// Print an admin token, for operators and scripts.
    AdminToken {
        /// Its lifetime in seconds (at most a day).
        #[arg(default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..=86_400))]
        seconds: i64,
    },
    /// Print a service token for a separate parley-pipeline.
    PipelineToken {
        /// Its lifetime in seconds (at most a year).
        #[arg(default_value_t = 30 * 86_400, value_parser = clap::value_parser!(i64).range(1..=366 * 86_400))]
        seconds: i64,
    },
}

#[derive(Subcommand)]
enum Models {
    /// Copy Firefox Translations models from a directory.
    Import { dir: PathBuf },
    /// List the installed model pairs.
    List,
    /// Fetch en<->lang models (e.g. es fr de ja zh) from Firefox's Remote
    /// Settings (PARLEY_MODELS_SOURCE), or pairs (enes) from
    /// PARLEY_MODELS_MIRROR when it is set.
    Download {
        /// Every room language Remote Settings offers.
        #[arg(long)]
        all: bool,
        /// Languages or pairs.
        wanted: Vec<String>,
    },
    /// What Remote Settings offers, and which of it this build can load.
    Available,
    /// Print the manifest.json that makes PARLEY_MODELS_DIR a mirror.
    Manifest,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let sources = Sources::load()?;
    let models_dir = PathBuf::from(sources.var("PARLEY_MODELS_DIR").unwrap_or_else(|| "data/models".into()));
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&sources).await,
        Command::AdminToken { seconds } => print_token(&sources, |now| parley::admin_claims(now, seconds)).await,
        Command::PipelineToken { seconds } => print_token(&sources, |now| parley::pipeline_claims(now + seconds)).await,
        Command::Models(Models::Import { dir }) => {
            let pairs = parley_pipeline::translate::firefox::import_models(&dir, &models_dir)
                .with_context(|| format!("importing models from {}", dir.display()))?;
            println!("imported {} into {}", pairs.join(", "), models_dir.display());
            Ok(())
        }
        Command::Models(Models::Download { all, wanted }) => {
            let mut args: Vec<&str> = wanted.iter().map(String::as_str).collect();
            if all {
                args.push("--all");
            }
            parley::models::download(&args, &models_dir).await
        }
        Command::Models(Models::Available) => parley::models::available().await,
        Command::Models(Models::Manifest) => {
            let manifest = parley_pipeline::translate::download::manifest_of(&models_dir)?;
            println!("{}", serde_json::to_string_pretty(&manifest)?);
            Ok(())
        }
        Command::Models(Models::List) => {
            let pairs = parley_pipeline::translate::firefox::installed_pairs(&models_dir);
            for pair in &pairs {
                println!("{}→{}", &pair[..2], &pair[2..]);
            }
            if pairs.is_empty() {
                println!("no models in {}", models_dir.display());
            }
            Ok(())
        }
    }
}

/// Signs the claims `claims_at(now in seconds)` with this installation's key.
async fn print_token(sources: &Sources, claims_at: impl FnOnce(i64) -> parley::auth::Claims) -> anyhow::Result<()> {
    let config = Config::from_sources(sources)?;
    let db = parley::db::connect(&config.database_url).await?;
    let key = parley::token_key(&db).await?;
    println!("{}", key.sign(&claims_at(config.clock.now_secs())));
    Ok(())
}

async fn serve(sources: &Sources) -> anyhow::Result<()> {
    let config = Config::from_sources(sources)?;
    let addr = sources.var("PARLEY_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    parley::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_command_serves_and_token_lifetimes_are_bounded() {
        assert!(Cli::try_parse_from(["parley"]).unwrap().command.is_none());
        let parsed = |args: &[&str]| Cli::try_parse_from(std::iter::once("parley").chain(args.iter().copied()));
        assert!(matches!(parsed(&["admin-token"]).unwrap().command, Some(Command::AdminToken { seconds: 3600 })));
        assert!(parsed(&["admin-token", "86401"]).is_err(), "admin tokens live a day at most");
        assert!(parsed(&["pipeline-token", "0"]).is_err());
        let download = parsed(&["models", "download", "--all", "es"]).unwrap().command;
        assert!(
            matches!(download, Some(Command::Models(Models::Download { all: true, ref wanted })) if wanted == &["es"])
        );
        assert!(parsed(&["models", "export"]).is_err(), "unknown commands are refused");
    }
}
