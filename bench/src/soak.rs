//! The soak: a bounded run at a steady rate with subscribers coming and
//! going, sampling the server's RSS and open file descriptors, and counting
//! warnings and errors in its log. Flat curves and an empty log are the pass.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cpu::{cpu_seconds, rss_bytes};
use crate::fanout::{free_port, start_parley_logged, wait_for_port};
use crate::histogram::Histogram;
use crate::targets::{Publisher, Target, payload, subscribe};

/// One soak scenario.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub minutes: u64,
    pub rate: u64,
    pub subscribers: usize,
    /// Subscribers replaced per second.
    pub churn: usize,
    /// Seconds between samples.
    pub every: u64,
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// Runs the soak and prints one row per sample, then the log's verdict.
pub async fn run(plan: Plan) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("parley-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let log_path = dir.join("server.log");
    let port = free_port()?;
    let extra = [("RUST_LOG", "warn")];
    let (server, token) = start_parley_logged(&dir, port, &extra, Stdio::from(std::fs::File::create(&log_path)?))?;
    wait_for_port(port).await?;
    let pid = server.0.id();
    let target = Target::Parley { addr: format!("127.0.0.1:{port}"), token };
    let hist = Arc::new(Histogram::default());
    let received = Arc::new(AtomicU64::new(0));
    let mut open = std::collections::VecDeque::new();
    for _ in 0..plan.subscribers {
        open.push_back(subscribe(&target, hist.clone(), received.clone()).await?);
    }
    let failures = Arc::new(AtomicU64::new(0));
    let mut publisher = Publisher::connect(&target, failures.clone(), Default::default(), 1, false).await?;
    println!(
        "soak: {} min at {} msg/s, {} subscribers, {} replaced per second\n",
        plan.minutes, plan.rate, plan.subscribers, plan.churn
    );
    println!("| minute | server RSS MB | open fds | delivered msg/s (window) | server CPU % (window) |");
    println!("|---|---|---|---|---|");
    let started = Instant::now();
    let total = Duration::from_secs(plan.minutes * 60);
    let (mut sent, mut replaced) = (0u64, 0usize);
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let mut next_sample = Duration::ZERO;
    let (mut last_received, mut last_cpu, mut last_at) = (0u64, cpu_seconds(Some(pid)).unwrap_or(0.0), Instant::now());
    while started.elapsed() < total {
        tick.tick().await;
        let elapsed = started.elapsed();
        let due = (elapsed.as_secs_f64() * plan.rate as f64) as u64;
        while sent < due {
            publisher.publish(payload(200)).await?;
            sent += 1;
        }
        // Churn: close the oldest subscribers and open new ones, spread over the second.
        let churn_due = (elapsed.as_secs_f64() * plan.churn as f64) as usize;
        while replaced < churn_due {
            if let Some(old) = open.pop_front() {
                old.abort();
            }
            open.push_back(subscribe(&target, hist.clone(), received.clone()).await?);
            replaced += 1;
        }
        if elapsed >= next_sample {
            let now_received = received.load(Ordering::Relaxed);
            let cpu = cpu_seconds(Some(pid)).unwrap_or(0.0);
            let window = last_at.elapsed().as_secs_f64().max(1e-3);
            println!(
                "| {:.1} | {:.1} | {} | {:.0} | {:.0} |",
                elapsed.as_secs_f64() / 60.0,
                rss_bytes(pid).unwrap_or(0) as f64 / 1e6,
                open_fds(pid),
                (now_received - last_received) as f64 / window,
                (cpu - last_cpu) / window * 100.0
            );
            (last_received, last_cpu, last_at) = (now_received, cpu, Instant::now());
            next_sample += Duration::from_secs(plan.every);
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let warnings = log.lines().filter(|l| l.contains("WARN")).count();
    let errors = log.lines().filter(|l| l.contains("ERROR")).count();
    println!(
        "\npublished {sent}, failed publishes {}, subscribers replaced {replaced}; p99 {:.1} ms; log: {errors} errors, {warnings} warnings",
        failures.load(Ordering::Relaxed),
        hist.quantile(0.99).unwrap_or_default().as_secs_f64() * 1000.0
    );
    for line in log.lines().filter(|l| l.contains("ERROR") || l.contains("WARN")).take(10) {
        println!("  {line}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
