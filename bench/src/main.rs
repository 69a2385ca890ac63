//! `parley-load`: measures fan-out (publish → deliver latency, throughput,
//! loss, CPU) for Parley, a minimal WebSocket broadcast server (the floor)
//! and NATS core pub/sub, with the same tool in the same run, and prints the
//! ratios. See the README's "Benchmarks" section.
//!
//! Usage:
//!   parley-load compare [--subscribers N] [--rate MSG_PER_S] [--seconds S] [--size BYTES] [--publish-batch N]
//!                       (--publish-batch: Parley's publishers send up to N waiting messages per request)
//!   parley-load floor ADDR          (the floor server, started by `compare`)
//!   parley-load idle [--connections N,N,…]   (RSS with idle subscribers: Parley, the floor, nats-server)
//!   parley-load e2e [--rate R] [--seconds S] [--translator reverse|firefox] [--models DIR]
//!   parley-load soak [--minutes M] [--rate R] [--subscribers N] [--churn PER_S] [--every S]

mod cpu;
mod e2e;
mod fanout;
mod floor;
mod histogram;
mod soak;
mod targets;

use anyhow::Context as _;

/// Reads `--name value` from the arguments.
fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> anyhow::Result<T> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args.get(i + 1).and_then(|v| v.parse().ok()).with_context(|| format!("{name} needs a value")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("floor") => {
            let addr = args.get(1).context("floor ADDR")?;
            floor::serve(tokio::net::TcpListener::bind(addr).await?).await
        }
        Some("compare") => {
            let plan = fanout::Plan {
                subscribers: flag(&args, "--subscribers", 1000)?,
                rate: flag(&args, "--rate", 1000)?,
                seconds: flag(&args, "--seconds", 20)?,
                size: flag(&args, "--size", 200)?,
                publish_batch: flag(&args, "--publish-batch", 1)?,
                publish_over_ws: match flag(&args, "--publish-over", "http".to_owned())?.as_str() {
                    "http" => false,
                    "ws" => true,
                    other => anyhow::bail!("--publish-over http|ws, not {other}"),
                },
            };
            fanout::compare(plan).await
        }
        Some("idle") => {
            let levels: String = flag(&args, "--connections", "1000,10000,19500".to_owned())?;
            let levels = levels.split(',').map(str::parse).collect::<Result<Vec<usize>, _>>()?;
            fanout::idle_memory(&levels).await
        }
        Some("soak") => {
            soak::run(soak::Plan {
                minutes: flag(&args, "--minutes", 15)?,
                rate: flag(&args, "--rate", 200)?,
                subscribers: flag(&args, "--subscribers", 500)?,
                churn: flag(&args, "--churn", 5)?,
                every: flag(&args, "--every", 60)?,
            })
            .await
        }
        Some("e2e") => {
            let provider = match flag(&args, "--translator", "reverse".to_owned())?.as_str() {
                "reverse" => e2e::Provider::Reverse,
                "firefox" => e2e::Provider::Firefox { models_dir: flag(&args, "--models", "data/models".into())? },
                other => anyhow::bail!("--translator reverse|firefox, not {other}"),
            };
            e2e::run(e2e::Plan { rate: flag(&args, "--rate", 1000)?, seconds: flag(&args, "--seconds", 10)?, provider })
                .await
        }
        _ => {
            eprintln!(
                "usage: parley-load compare [--subscribers N] [--rate R] [--seconds S] [--size B] [--publish-batch N] [--publish-over http|ws] | idle [--connections N,N,…] | e2e [--rate R] [--seconds S] [--translator reverse|firefox] | soak [--minutes M] [--rate R] [--subscribers N] [--churn C] | floor ADDR"
            );
            std::process::exit(2);
        }
    }
}
