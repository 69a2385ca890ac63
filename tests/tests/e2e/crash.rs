//! Crash without loss on the embedded default (SQLite, one node): `parley`
//! and a separate `parley-pipeline` are killed with SIGKILL in the middle of
//! a burst and restarted; every acknowledged message reaches every language
//! exactly once, the outbox drains, and subscribers resume without gaps.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use parley_e2e::{Endpoint, TempDir, eventually};
use serde_json::{Value, json};

use crate::pipeline::fake_libretranslate;
use crate::processes::{ServerSettings, free_addr, outbox_drains, read_all, start_pipeline, start_server};

const MESSAGES: usize = 1000;
/// Publishes in flight at once: a burst, not a queue.
const IN_FLIGHT: usize = 16;

fn text(i: usize) -> String {
    format!("Burst message {i} is on its way to everyone in the room")
}

/// Publishes message `i` until the server acknowledges it, retrying (with
/// the same idempotency key) through the server's death and restart.
async fn publish_until_acknowledged(http: &reqwest::Client, server: &str, token: &str, i: usize) -> i64 {
    eventually(Duration::from_secs(120), &format!("message {i} is acknowledged"), || async move {
        let response = http
            .post(format!("{server}/api/topics/lobby-publish"))
            .bearer_auth(token)
            .header("idempotency-key", format!("burst-{i}"))
            .json(&json!({"text": text(i), "lang": "en"}))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json::<Value>().await.ok()?["seq"].as_i64()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_and_then_the_pipeline_mid_burst_loses_nothing_acknowledged() {
    let started = std::time::Instant::now();
    let dir = TempDir::new("parley-crash");
    let database_url = format!("sqlite://{}", dir.0.join("parley.db").display());
    let translator = fake_libretranslate().await;
    let secret = parley_pipeline::signature::WebhookSecret::generate().to_text();
    let (s, p) = (free_addr(), free_addr());
    let settings = ServerSettings {
        database_url: &database_url,
        nats: None,
        pipeline_url: &format!("http://{p}/pipeline/webhook"),
        secret: &secret,
    };
    let mut server = start_server("crash-server", s, &settings).await;
    let db = parley::db::connect(&database_url).await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let pipeline_token = parley::token_key(&db).await.unwrap().sign(&parley::pipeline_claims(now + 3600));
    let base = format!("http://{s}");
    let mut pipeline = start_pipeline("crash-pipeline", p, &base, &pipeline_token, &secret, &translator).await;

    let node = Endpoint::at(s);
    let mut readers = Vec::new();
    for lang in ["en", "pt"] {
        let joined = node.join(&format!("Reader-{lang}"), "lobby", lang).await;
        let token = joined["token"].as_str().unwrap().to_owned();
        let topic = format!("lobby-subscribe-{lang}");
        readers.push((lang, tokio::spawn(read_all(Endpoint::at(s), s, topic, token, MESSAGES))));
    }
    let ana = node.join("Ana", "lobby", "en").await;
    let token = ana["token"].as_str().unwrap().to_owned();

    // The burst: acknowledged seq per message, as acknowledgements come in.
    let acked: Arc<Mutex<HashMap<i64, usize>>> = Arc::default();
    let burst = {
        let (acked, base, token) = (acked.clone(), base.clone(), token.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
            futures_util::stream::iter(0..MESSAGES)
                .map(|i| {
                    let (http, base, token, acked) = (&http, &base, &token, &acked);
                    async move {
                        let seq = publish_until_acknowledged(http, base, token, i).await;
                        let earlier = acked.lock().unwrap().insert(seq, i);
                        assert_eq!(earlier, None, "seq {seq} acknowledged for two messages");
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .collect::<Vec<()>>()
                .await;
        })
    };
    let acknowledged = |n: usize| {
        let acked = acked.clone();
        move || {
            let acked = acked.clone();
            async move { (acked.lock().unwrap().len() >= n).then_some(()) }
        }
    };
    eventually(Duration::from_secs(60), "300 acknowledgements", acknowledged(300)).await;
    server.kill9().await;
    server = start_server("crash-server-restarted", s, &settings).await;
    eventually(Duration::from_secs(60), "600 acknowledgements", acknowledged(600)).await;
    pipeline.kill9().await;
    pipeline = start_pipeline("crash-pipeline-restarted", p, &base, &pipeline_token, &secret, &translator).await;
    burst.await.unwrap();

    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), MESSAGES, "every message was acknowledged once");
    for (lang, reader) in readers {
        let envelopes = reader.await.unwrap();
        assert_eq!(envelopes.len(), MESSAGES, "{lang}: exactly one envelope per acknowledged message");
        for envelope in &envelopes {
            let source = envelope["source_seq"].as_i64().unwrap();
            let i = *acked.get(&source).unwrap_or_else(|| panic!("{lang}: {source} was never acknowledged"));
            let expected = if lang == "en" { text(i) } else { format!("[en→{lang}] {}", text(i)) };
            assert_eq!(envelope["text"], expected.as_str(), "{lang}: message {i}: {envelope}");
        }
    }
    outbox_drains(&db).await;
    drop((server, pipeline));
    eprintln!("crash test: {MESSAGES} messages, server and pipeline killed mid-burst: {:.1?}", started.elapsed());
}
