//! End-to-end translated delivery: publish on `{room}-publish` → the envelopes
//! on every language topic, through the real webhook, detection, moderation,
//! translation and republishing, with each stage's latency.
//!
//! The server is a release `parley` process (SQLite, topics, outbox, webhook
//! delivery); the pipeline runs in this process behind its real HTTP intake,
//! so a translator that exists only in the bench can be plugged in: `reverse`
//! answers at once (the pipeline's own cost, with no translation time), and
//! `firefox` is the real offline provider on en↔pt.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use parley_pipeline::signature::WebhookSecret;
use parley_pipeline::topics_client::TopicsClient;
use parley_pipeline::translate::{
    BoxFuture, ProviderConfig, ServiceOptions, TranslateError, TranslationService, Translator,
};
use parley_pipeline::{Pipeline, PipelineConfig};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::fanout::{free_port, wait_for_port};
use crate::histogram::Histogram;
use crate::targets::now_ns;

/// A translator with no latency of its own: the text reversed.
struct Reverse;

impl Translator for Reverse {
    fn name(&self) -> &'static str {
        "reverse"
    }

    fn translate<'a>(&'a self, text: &'a str, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<String, TranslateError>> {
        Box::pin(async move { Ok(text.chars().rev().collect()) })
    }
}

/// Which translator the run uses.
#[derive(Debug, Clone)]
pub enum Provider {
    Reverse,
    Firefox { models_dir: std::path::PathBuf },
}

/// One end-to-end scenario.
#[derive(Debug, Clone)]
pub struct Plan {
    pub rate: u64,
    pub seconds: u64,
    pub provider: Provider,
}

/// `{ns}|` somewhere in `text`: when the tool sent it.
fn sent_at(text: &str) -> Option<u128> {
    let bar = text.find('|')?;
    let start = text[..bar].rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| i + 1);
    text[start..bar].parse().ok()
}

/// Milliseconds since the epoch of an RFC 3339 time with milliseconds.
fn rfc3339_ms(text: &str) -> Option<i128> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() / 1_000_000)
}

fn now_ms() -> i128 {
    (now_ns() / 1_000_000) as i128
}

/// Joins `room` in `lang` as a guest; returns the join token.
async fn join(base: &str, room: &str, lang: &str) -> anyhow::Result<String> {
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    http.post(format!("{base}/api/auth/guest"))
        .json(&json!({"display_name": format!("Bench {lang}")}))
        .send()
        .await?
        .error_for_status()?;
    let joined: Value = http
        .post(format!("{base}/api/rooms/{room}/join"))
        .json(&json!({"language": lang}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    joined["token"].as_str().map(str::to_owned).context("join answered no token")
}

/// Serves the pipeline's intake on `addr`, timing each delivery from its
/// commit (`published_at`, millisecond resolution) to its arrival.
async fn serve_pipeline(addr: SocketAddr, pipeline: Arc<Pipeline>, delivery: Arc<Histogram>) -> anyhow::Result<()> {
    let timing = axum::middleware::from_fn(move |request: axum::extract::Request, next: axum::middleware::Next| {
        let delivery = delivery.clone();
        async move {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
            if let Some(at) = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v["published_at"].as_str().and_then(rfc3339_ms))
            {
                delivery.record(Duration::from_millis((now_ms() - at).max(0) as u64));
            }
            next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await
        }
    });
    let app = parley_pipeline::router::<()>(pipeline).layer(timing);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(())
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "–".into(), |d| format!("{:.2}", d.as_secs_f64() * 1000.0))
}

/// Runs the plan and prints the stage table.
pub async fn run(plan: Plan) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("parley-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (server_port, pipeline_port) = (free_port()?, free_port()?);
    let secret = WebhookSecret::generate().to_text();
    let hook = format!("http://127.0.0.1:{pipeline_port}/pipeline/webhook");
    let extra = [
        ("PARLEY_PIPELINE_URL", hook.as_str()),
        ("PARLEY_PIPELINE_SECRET", secret.as_str()),
        ("PARLEY_WEBHOOK_TIMEOUT_SECONDS", "30"),
    ];
    // The server's warnings and errors, kept for a look after the run.
    let log_path = std::env::temp_dir().join("parley-load-e2e-server.log");
    let log = std::process::Stdio::from(std::fs::File::create(&log_path)?);
    let (server, admin) = crate::fanout::start_parley_logged(&dir, server_port, &extra, log)?;
    wait_for_port(server_port).await?;
    let base = format!("http://127.0.0.1:{server_port}");
    let pipeline_token = crate::fanout::parley_command(&dir, &extra, &["pipeline-token", "86400"])?;

    let (translator, languages): (Arc<dyn Translator>, Vec<&str>) = match &plan.provider {
        Provider::Reverse => (Arc::new(Reverse), vec!["en", "pt", "es"]),
        Provider::Firefox { models_dir } => {
            let models_dir = models_dir.clone();
            let built = tokio::task::spawn_blocking(move || {
                ProviderConfig::Firefox { models_dir }.build(&reqwest::Client::new())
            })
            .await?
            .map_err(anyhow::Error::msg)?;
            (built, vec!["en", "pt"])
        }
    };
    let http = reqwest::Client::new();
    let pipeline = Arc::new(Pipeline::new(PipelineConfig {
        secrets: vec![WebhookSecret::parse(&secret).map_err(|_| anyhow::anyhow!("secret"))?],
        topics: TopicsClient::new(base.clone(), pipeline_token, http.clone()),
        // No cache: every message is translated, as distinct chat lines are.
        translator: Arc::new(TranslationService::new(
            vec![translator],
            ServiceOptions { cache_entries: 0, ..ServiceOptions::default() },
        )),
        clock: parley_pipeline::clock::Clock::system(),
        pending_retry_after_secs: 5,
    }));
    let delivery = Arc::new(Histogram::default());
    serve_pipeline(format!("127.0.0.1:{pipeline_port}").parse()?, pipeline.clone(), delivery.clone()).await?;
    wait_for_port(pipeline_port).await?;

    let room = "bench";
    http.put(format!("{base}/api/rooms/{room}"))
        .bearer_auth(&admin)
        .json(&json!({"languages": languages}))
        .send()
        .await?
        .error_for_status()
        .context("creating the room")?;

    // One subscriber per language: end to end, and commit → subscriber.
    let end_to_end = Arc::new(Histogram::default());
    let deliver = Arc::new(Histogram::default());
    let received = Arc::new(AtomicU64::new(0));
    let per_language: Vec<Arc<AtomicU64>> = languages.iter().map(|_| Arc::default()).collect();
    for (lang, counted) in languages.iter().zip(&per_language) {
        let token = join(&base, room, lang).await?;
        let url = format!("ws://127.0.0.1:{server_port}/api/topics/{room}-subscribe-{lang}/subscribe?token={token}");
        let (mut ws, _) = crate::targets::ws_connect(url).await?;
        let (end_to_end, deliver, received) = (end_to_end.clone(), deliver.clone(), received.clone());
        let counted = counted.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            while let Some(Ok(message)) = ws.next().await {
                let Message::Text(text) = message else { continue };
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                let Ok(frame) = serde_json::from_str::<Value>(&text) else { continue };
                if frame["type"] != "item" {
                    continue;
                }
                let value = &frame["value"];
                let original = value["original"]["text"].as_str().or(value["text"].as_str()).unwrap_or("");
                if let Some(sent) = sent_at(original) {
                    end_to_end.record(Duration::from_nanos(now_ns().saturating_sub(sent) as u64));
                    received.fetch_add(1, Ordering::Relaxed);
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(at) = frame["published_at"].as_str().and_then(rfc3339_ms) {
                    deliver.record(Duration::from_millis((now_ms() - at).max(0) as u64));
                }
            }
        });
        ready_rx.await.context("subscription never went live")?;
    }
    let publisher = join(&base, room, "en").await?;

    // Publish at the planned rate, from a small pool of keep-alive connections.
    let publish = Arc::new(Histogram::default());
    let failures = Arc::new(AtomicU64::new(0));
    let (jobs, rx) = tokio::sync::mpsc::channel::<String>(100_000);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    for _ in 0..8 {
        let (rx, http, publish, failures) = (rx.clone(), http.clone(), publish.clone(), failures.clone());
        let (url, token) = (format!("{base}/api/topics/{room}-publish"), publisher.clone());
        tokio::spawn(async move {
            loop {
                let Some(text) = rx.lock().await.recv().await else { return };
                let started = Instant::now();
                let ok = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"text": text, "lang": "en"}))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                publish.record(started.elapsed());
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let total = plan.rate * plan.seconds;
    let started = Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let sentences = [
        "where are you going tonight after the concert",
        "the train was late again so I walked to work",
        "can you send me the photos from the weekend",
        "we should book the table before it gets busy",
    ];
    while sent < total {
        tick.tick().await;
        let due = ((started.elapsed().as_secs_f64() * plan.rate as f64) as u64).min(total);
        while sent < due {
            let sentence = sentences[sent as usize % sentences.len()];
            jobs.send(format!("{}| {sentence} ({sent})", now_ns())).await?;
            sent += 1;
        }
    }
    let expected = sent * languages.len() as u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = received.load(Ordering::Relaxed);
    if failures.load(Ordering::Relaxed) > 0 {
        bail!("{} publishes failed", failures.load(Ordering::Relaxed));
    }

    let provider = match plan.provider {
        Provider::Reverse => "reverse (zero-latency, bench only)",
        Provider::Firefox { .. } => "firefox (offline, en↔pt)",
    };
    println!(
        "end to end: {} msg/s for {} s into a room read in {} ({} envelopes per message); translator: {provider}\n",
        plan.rate,
        plan.seconds,
        languages.join(", "),
        languages.len()
    );
    println!("| stage | p50 ms | p99 ms |");
    println!("|---|---|---|");
    let stages = pipeline.metrics();
    let rows: [(&str, Option<Duration>, Option<Duration>); 8] = [
        ("publish (HTTP round trip, commit)", publish.quantile(0.5), publish.quantile(0.99)),
        ("webhook delivery (commit → intake, 1 ms resolution)", delivery.quantile(0.5), delivery.quantile(0.99)),
        ("detect", stages.detect.quantile(0.5), stages.detect.quantile(0.99)),
        ("moderate", stages.moderate.quantile(0.5), stages.moderate.quantile(0.99)),
        ("translate (all languages, concurrently)", stages.translate.quantile(0.5), stages.translate.quantile(0.99)),
        ("republish (every language)", stages.publish.quantile(0.5), stages.publish.quantile(0.99)),
        ("deliver (commit → subscriber, 1 ms resolution)", deliver.quantile(0.5), deliver.quantile(0.99)),
        ("end to end (publish → envelope)", end_to_end.quantile(0.5), end_to_end.quantile(0.99)),
    ];
    for (stage, p50, p99) in rows {
        println!("| {stage} | {} | {} |", ms(p50), ms(p99));
    }
    let counts: Vec<String> =
        languages.iter().zip(&per_language).map(|(l, n)| format!("{l} {}", n.load(Ordering::Relaxed))).collect();
    println!(
        "\nenvelopes: {got} of {expected} ({}); end-to-end p99 target ≤ 15 ms at 1,000 msg/s (reverse translator)",
        counts.join(", ")
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
