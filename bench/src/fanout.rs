//! The fan-out comparison: the same load, the same tool, three servers.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::cpu::{cpu_seconds, pid_of, rss_anon_bytes, rss_bytes};
use crate::histogram::Histogram;
use crate::targets::{Publisher, Target, payload, subscribe};

/// One load scenario.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub subscribers: usize,
    pub rate: u64,
    pub seconds: u64,
    pub size: usize,
    /// Parley's HTTP publishers send up to this many waiting messages in one
    /// `POST /api/topics` (1: one request per message).
    pub publish_batch: usize,
    /// Parley's messages go as publish frames over one WebSocket
    /// subscription instead of HTTP requests (`--publish-over ws`).
    pub publish_over_ws: bool,
}

/// What one target did under the plan.
pub struct Outcome {
    pub name: &'static str,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub delivered_per_sec: f64,
    pub lost: u64,
    pub server_cpu: f64,
    pub tool_cpu: f64,
    /// The server's largest resident memory seen while loaded (bytes), and
    /// the largest anonymous part of it.
    pub server_rss: u64,
    pub server_rss_anon: u64,
    /// Publish → `published` answer, when publishes go over Parley's socket.
    pub ack_p50: Option<Duration>,
    pub ack_p99: Option<Duration>,
}

/// How often the server's memory is read during a run.
const RSS_EVERY: Duration = Duration::from_millis(250);

/// Runs the plan against one target.
async fn run(target: &Target, plan: Plan, server_pid: u32) -> anyhow::Result<Outcome> {
    let hist = Arc::new(Histogram::default());
    let received = Arc::new(AtomicU64::new(0));
    for chunk in (0..plan.subscribers).collect::<Vec<_>>().chunks(100) {
        let joins: Vec<_> = chunk.iter().map(|_| subscribe(target, hist.clone(), received.clone())).collect();
        for result in futures_util::future::join_all(joins).await {
            result?;
        }
    }
    let failures = Arc::new(AtomicU64::new(0));
    let acks = Arc::new(Histogram::default());
    let mut publisher =
        Publisher::connect(target, failures.clone(), acks.clone(), plan.publish_batch, plan.publish_over_ws).await?;
    let (server_cpu0, tool_cpu0) = (cpu_seconds(Some(server_pid)).unwrap_or(0.0), cpu_seconds(None).unwrap_or(0.0));
    let started = Instant::now();
    let total = plan.rate * plan.seconds;
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (mut server_rss, mut server_rss_anon) = (0, 0);
    let mut sampled = Instant::now();
    while sent < total {
        tick.tick().await;
        if sampled.elapsed() >= RSS_EVERY {
            server_rss = server_rss.max(rss_bytes(server_pid).unwrap_or(0));
            server_rss_anon = server_rss_anon.max(rss_anon_bytes(server_pid).unwrap_or(0));
            sampled = Instant::now();
        }
        // Catch up to where the schedule says we should be.
        let due = ((started.elapsed().as_secs_f64() * plan.rate as f64) as u64).min(total);
        while sent < due {
            publisher.publish(payload(plan.size)).await?;
            sent += 1;
        }
    }
    let publish_secs = started.elapsed().as_secs_f64();
    let expected = sent * plan.subscribers as u64;
    let drain_deadline = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let got = received.load(Ordering::Relaxed);
    server_rss = server_rss.max(rss_bytes(server_pid).unwrap_or(0));
    server_rss_anon = server_rss_anon.max(rss_anon_bytes(server_pid).unwrap_or(0));
    Ok(Outcome {
        name: target.name(),
        p50: hist.quantile(0.5).unwrap_or_default(),
        p99: hist.quantile(0.99).unwrap_or_default(),
        p999: hist.quantile(0.999).unwrap_or_default(),
        delivered_per_sec: got as f64 / elapsed.max(publish_secs),
        lost: expected.saturating_sub(got) + failures.load(Ordering::Relaxed) * plan.subscribers as u64,
        server_cpu: cpu_seconds(Some(server_pid)).unwrap_or(0.0) - server_cpu0,
        tool_cpu: cpu_seconds(None).unwrap_or(0.0) - tool_cpu0,
        server_rss,
        server_rss_anon,
        ack_p50: acks.quantile(0.5),
        ack_p99: acks.quantile(0.99),
    })
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) async fn wait_for_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if Instant::now() > deadline {
            bail!("nothing listens on {port}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// A child process killed on drop.
pub(crate) struct Child(pub(crate) std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `parley` next to this binary (same profile).
fn parley_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let bin = me.with_file_name("parley");
    if !bin.exists() {
        bail!("{} is missing: cargo build --release -p parley -p parley-bench", bin.display());
    }
    Ok(bin)
}

/// The environment of a bench Parley: SQLite in `dir`, an external pipeline
/// (none, unless `extra` names one), limits out of the way.
fn parley_env<'a>(db: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut envs = vec![
        ("DATABASE_URL", db),
        ("PARLEY_PIPELINE", "external"),
        ("PARLEY_PUBLISH_RATE", "1000000"),
        ("PARLEY_PUBLISH_BURST", "1000000"),
        ("PARLEY_CHAT_RATE", "1000000"),
        ("PARLEY_CHAT_BURST", "1000000"),
        ("PARLEY_MAX_SUBSCRIPTIONS", "1000000"),
        ("PARLEY_ADMIN_PASSWORD", "bench-password"),
        ("RUST_LOG", "warn"),
    ];
    envs.extend_from_slice(extra);
    envs
}

/// Runs `parley <args>` on the bench database and returns what it printed.
pub(crate) fn parley_command(dir: &std::path::Path, extra: &[(&str, &str)], args: &[&str]) -> anyhow::Result<String> {
    let db = format!("sqlite://{}/bench.db", dir.display());
    let out = std::process::Command::new(parley_binary()?).args(args).envs(parley_env(&db, extra)).output()?;
    if !out.status.success() {
        bail!("parley {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// Starts Parley on the embedded default (topics only, unless `extra` wires
/// a pipeline) and returns it with an admin token.
pub(crate) fn start_parley(
    dir: &std::path::Path,
    port: u16,
    extra: &[(&str, &str)],
) -> anyhow::Result<(Child, String)> {
    start_parley_logged(dir, port, extra, Stdio::null())
}

/// As [`start_parley`], with the server's log (stderr) going to `log`.
pub(crate) fn start_parley_logged(
    dir: &std::path::Path,
    port: u16,
    extra: &[(&str, &str)],
    log: Stdio,
) -> anyhow::Result<(Child, String)> {
    let token = parley_command(dir, extra, &["admin-token", "86400"])?;
    let db = format!("sqlite://{}/bench.db", dir.display());
    let child = std::process::Command::new(parley_binary()?)
        .envs(parley_env(&db, extra))
        .env("PARLEY_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    Ok((Child(child), token))
}

fn start_floor(port: u16) -> anyhow::Result<Child> {
    let child = std::process::Command::new(std::env::current_exe()?)
        .arg("floor")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()?;
    Ok(Child(child))
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Starts Parley and the floor (NATS already runs): the targets with the pid
/// whose CPU and memory are measured, and the children to stop.
async fn start_targets(dir: &std::path::Path) -> anyhow::Result<(Vec<(Target, u32)>, [Child; 2])> {
    let (parley_port, floor_port) = (free_port()?, free_port()?);
    let (parley, token) = start_parley(dir, parley_port, &[])?;
    let floor = start_floor(floor_port)?;
    wait_for_port(parley_port).await?;
    wait_for_port(floor_port).await?;
    let nats_pid = pid_of("nats-server").context("nats-server must be running on 127.0.0.1:4222")?;
    let targets = vec![
        (Target::Parley { addr: format!("127.0.0.1:{parley_port}"), token }, parley.0.id()),
        (Target::Floor { addr: format!("127.0.0.1:{floor_port}") }, floor.0.id()),
        (Target::Nats { addr: "127.0.0.1:4222".into() }, nats_pid),
        (Target::JetStream { addr: "127.0.0.1:4222".into() }, nats_pid),
    ];
    Ok((targets, [parley, floor]))
}

/// Runs the plan against Parley, the floor and NATS, and prints the table and ratios.
pub async fn compare(plan: Plan) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("parley-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (targets, children) = start_targets(&dir).await?;
    crate::targets::prepare_jetstream("127.0.0.1:4222").await?;
    println!(
        "fan-out: {} subscribers, {} msg/s for {} s, {}-byte messages (2 cores shared by server and tool)\n",
        plan.subscribers, plan.rate, plan.seconds, plan.size
    );
    println!(
        "| server | p50 ms | p99 ms | p99.9 ms | delivered msg/s | lost | server CPU s | tool CPU s | server RSS (anon) MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut outcomes = Vec::new();
    for (target, pid) in &targets {
        let o = run(target, plan, *pid).await.with_context(|| format!("running against {}", target.name()))?;
        println!(
            "| {} | {} | {} | {} | {:.0} | {} | {:.1} | {:.1} | {:.0} ({:.0}) |",
            o.name,
            ms(o.p50),
            ms(o.p99),
            ms(o.p999),
            o.delivered_per_sec,
            o.lost,
            o.server_cpu,
            o.tool_cpu,
            o.server_rss as f64 / 1e6,
            o.server_rss_anon as f64 / 1e6
        );
        outcomes.push(o);
    }
    if let (Target::Parley { addr, .. }, _) = &targets[0] {
        println!("\n{}", server_side(addr).await.unwrap_or_else(|e| format!("(no server metrics: {e})")));
    }
    if let (Some(p50), Some(p99)) = (outcomes[0].ack_p50, outcomes[0].ack_p99) {
        println!(
            "Parley publish → `published` answer on the publisher's socket: p50 {} ms, p99 {} ms",
            ms(p50),
            ms(p99)
        );
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    let (p, f, n, j) = (&outcomes[0], &outcomes[1], &outcomes[2], &outcomes[3]);
    println!("\nParley p99 / floor p99     = {:.2}   (target ≤ 1.5)", ratio(p.p99, f.p99));
    println!("Parley p99 / NATS core p99 = {:.2}   (target ≤ 1)", ratio(p.p99, n.p99));
    println!("Parley p99 / JetStream p99 = {:.2}   (target < 1)", ratio(p.p99, j.p99));
    println!("floor p99 / NATS core p99  = {:.2}", ratio(f.p99, n.p99));
    println!(
        "Parley RSS / floor RSS      = {:.2}, anonymous {:.2}   (loaded; the NATS rows share one process)",
        p.server_rss as f64 / f.server_rss.max(1) as f64,
        p.server_rss_anon as f64 / f.server_rss_anon.max(1) as f64
    );
    drop(children);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Parley's own view of its publishes, from `/metrics`: the time from a
/// publish's arrival in the queue to its broadcast, and items per transaction.
async fn server_side(addr: &str) -> anyhow::Result<String> {
    let text = reqwest::get(format!("http://{addr}/metrics")).await?.text().await?;
    let value = |name: &str| -> f64 {
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
    };
    let (count, sum) = (value("parley_publish_seconds_count"), value("parley_publish_seconds_sum"));
    let batches = value("parley_publish_batches_total");
    // The smallest bucket bound holding 99 % of publishes.
    let p99 = text
        .lines()
        .filter_map(|l| l.strip_prefix("parley_publish_seconds_bucket{le=\""))
        .filter_map(|l| {
            let (le, n) = l.split_once("\"} ")?;
            Some((le.parse::<f64>().ok()?, n.parse::<f64>().ok()?))
        })
        .find(|&(_, n)| n >= 0.99 * count)
        .map_or(f64::NAN, |(le, _)| le);
    Ok(format!(
        "Parley server side: publish (queue + commit + broadcast) mean {:.2} ms, p99 ≤ {:.1} ms; {:.1} items per transaction",
        sum / count.max(1.0) * 1000.0,
        p99 * 1000.0,
        count / batches.max(1.0)
    ))
}

/// RSS with idle subscribers at each of `levels` (e.g. 1,000, 10,000,
/// 19,500), for Parley, the floor and nats-server, one target at a time;
/// prints bytes per connection at the largest level.
pub async fn idle_memory(levels: &[usize]) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("parley-idle-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (targets, children) = start_targets(&dir).await?;
    let header: Vec<String> = levels.iter().map(|n| format!("RSS at {n}")).collect();
    println!("| server | RSS idle | {} | bytes per connection |", header.join(" | "));
    println!("|---|---|{}---|", "---|".repeat(levels.len()));
    // JetStream shares nats-server's process with core NATS: measured once, as core.
    for (target, pid) in targets.into_iter().filter(|(t, _)| !matches!(t, Target::JetStream { .. })) {
        let before = rss_bytes(pid).unwrap_or(0);
        let hist = Arc::new(Histogram::default());
        let received = Arc::new(AtomicU64::new(0));
        let mut open = Vec::new();
        let mut cells = Vec::new();
        for &level in levels {
            while open.len() < level {
                let batch = (level - open.len()).min(200);
                let joins: Vec<_> = (0..batch).map(|_| subscribe(&target, hist.clone(), received.clone())).collect();
                for result in futures_util::future::join_all(joins).await {
                    open.push(result?);
                }
            }
            // Let allocations settle before reading RSS.
            tokio::time::sleep(Duration::from_millis(500)).await;
            cells.push(rss_bytes(pid).unwrap_or(0));
        }
        let last = *cells.last().unwrap_or(&before);
        println!(
            "| {} | {:.1} MB | {} | {} |",
            target.name(),
            before as f64 / 1e6,
            cells.iter().map(|b| format!("{:.1} MB", *b as f64 / 1e6)).collect::<Vec<_>>().join(" | "),
            last.saturating_sub(before) / levels.last().copied().unwrap_or(1).max(1) as u64
        );
        for task in open {
            task.abort();
        }
        // Give the server a moment to see the connections close.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    drop(children);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
