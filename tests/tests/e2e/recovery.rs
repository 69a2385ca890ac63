//! Nothing acknowledged waits on a dead node or on Parley's own limits: a
//! restarted node sends again at once what it held when it was killed, and
//! one user writing at the default publish rate is translated into every
//! language of the room as fast as they write, with the defaults users get.
//!
//! `parley` runs as a child process (so it can be killed) on the suite's
//! engine: SQLite, or PostgreSQL + NATS when `PARLEY_TEST_POSTGRES` is set.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use parley_e2e::{Endpoint, TempDir, eventually, fresh_database_url, test_nats};
use serde_json::{Value, json};

use crate::pipeline::fake_libretranslate;
use crate::processes::{admin_token, free_addr, log_path, quantile, start_node};

/// The engine's settings for a child node: the bus when the suite runs on NATS.
fn bus_envs(nats: &Option<String>) -> Vec<(&'static str, &str)> {
    nats.as_deref().map(|url| vec![("PARLEY_BUS", url)]).unwrap_or_default()
}

/// A webhook receiver that holds every request while `hold` is set (as a
/// receiver that hangs does) and answers 204 at once otherwise; it keeps
/// each request's `webhook-id` and when it came.
struct HoldingReceiver {
    url: String,
    hold: tokio::sync::watch::Sender<bool>,
    arrivals: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl HoldingReceiver {
    async fn start() -> Self {
        let (hold, held) = tokio::sync::watch::channel(true);
        let arrivals: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
        let log = arrivals.clone();
        let handler = move |headers: HeaderMap| {
            let (mut held, log) = (held.clone(), log.clone());
            async move {
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                log.lock().unwrap().push((id, Instant::now()));
                let _ = held.wait_for(|hold| !*hold).await;
                StatusCode::NO_CONTENT
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/hook", axum::routing::post(handler));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, hold, arrivals }
    }

    /// The distinct ids that arrived since `since`.
    fn ids_since(&self, since: Instant) -> HashSet<String> {
        self.arrivals.lock().unwrap().iter().filter(|(_, at)| *at >= since).map(|(id, _)| id.clone()).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_delivers_what_it_held_without_waiting_out_the_lease() {
    const ITEMS: usize = 5;
    let dir = TempDir::new("parley-lease");
    let database_url = fresh_database_url(&dir.0).await;
    let nats = test_nats();
    let mut envs = bus_envs(&nats);
    // The receiver is on loopback, which webhooks may reach only when allowed.
    envs.push(("PARLEY_WEBHOOK_ALLOW", "127.0.0.0/8"));
    let addr = free_addr();
    let mut node = start_node("lease-node", addr, &database_url, &envs).await;
    let endpoint = Endpoint::at(addr);
    let admin = admin_token(&database_url).await;
    let receiver = HoldingReceiver::start().await;
    let created = endpoint
        .authed(reqwest::Method::PUT, "/api/webhooks/hold", &admin)
        .json(&json!({"topic": "jobs", "url": receiver.url}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "webhook created: {}", created.status());
    let started = Instant::now();
    for n in 0..ITEMS {
        assert_eq!(endpoint.publish("jobs", &admin, &json!({"n": n})).await.status(), 200);
    }
    // Every delivery is in the receiver's hands, leased by the node: then it dies.
    let held = eventually(Duration::from_secs(30), "every delivery is in flight", || {
        let ids = receiver.ids_since(started);
        async move { (ids.len() == ITEMS).then_some(ids) }
    })
    .await;
    node.kill9().await;
    receiver.hold.send(false).unwrap();

    let restarted = Instant::now();
    let _node = start_node("lease-node-restarted", addr, &database_url, &envs).await;
    let db = parley::db::connect(&database_url).await.unwrap();
    // The lease is the webhook timeout (30 s by default) + 5 s: waiting it
    // out would miss this deadline.
    eventually(Duration::from_secs(20), "the restarted node delivers what the killed one held", || {
        let db = &db;
        async move {
            let (delivered,): (i64,) = sqlx::query_as(
                "select count(*) from webhook_outbox where webhook_name = 'hold' and status = 'delivered'",
            )
            .fetch_one(db)
            .await
            .unwrap();
            (delivered == ITEMS as i64).then_some(())
        }
    })
    .await;
    let recovered_in = restarted.elapsed();
    assert_eq!(receiver.ids_since(restarted), held, "the same deliveries (same webhook-id) went out again");
    assert!(recovered_in < Duration::from_secs(30), "delivered {recovered_in:?} after the restart");
    eprintln!("lease recovery: {ITEMS} held deliveries delivered {recovered_in:.1?} after the restart (lease: 35 s)");
}

/// How many messages one user writes, at the default 20 per second.
const MESSAGES: usize = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_at_the_default_rate_is_translated_into_every_language_without_throttling() {
    let dir = TempDir::new("parley-rate");
    let database_url = fresh_database_url(&dir.0).await;
    let nats = test_nats();
    let translator = fake_libretranslate().await;
    // The offline default for en→pt, a remote provider for the pair it lacks.
    let mut envs = bus_envs(&nats);
    envs.extend([("PARLEY_TRANSLATOR", "firefox,libretranslate"), ("PARLEY_LIBRETRANSLATE_URL", &translator)]);
    let addr = free_addr();
    let name = "default-rate-node";
    let _node = start_node(name, addr, &database_url, &envs).await;
    let node = Endpoint::at(addr);
    let admin = admin_token(&database_url).await;
    let created = node
        .authed(reqwest::Method::PUT, "/api/rooms/trio", &admin)
        .json(&json!({"languages": ["en", "pt", "es"]}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "room created: {}", created.status());

    let mut readers = Vec::new();
    for lang in ["en", "pt", "es"] {
        let joined = node.join(&format!("Reader-{lang}"), "trio", lang).await;
        let token = joined["token"].as_str().unwrap().to_owned();
        let mut sub = node.subscribe(&format!("trio-subscribe-{lang}"), &token, None).await.unwrap();
        readers.push((
            lang,
            tokio::spawn(async move {
                let mut arrived: HashMap<i64, (Value, Instant)> = HashMap::new();
                while arrived.len() < MESSAGES {
                    let item = sub.next_item(Duration::from_secs(60)).await;
                    let envelope = item["value"].clone();
                    arrived.entry(envelope["source_seq"].as_i64().unwrap()).or_insert((envelope, Instant::now()));
                }
                arrived
            }),
        ));
    }

    // One user, at exactly the default rate (20 per second), for 20 seconds.
    let ana = node.join("Ana", "trio", "en").await;
    let token = ana["token"].as_str().unwrap();
    let text = |i: usize| format!("Message {i}: the weather is lovely today and we are going to the beach");
    let mut acked: HashMap<i64, (usize, Instant)> = HashMap::new();
    let mut every = tokio::time::interval(Duration::from_millis(50));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0..MESSAGES {
        every.tick().await;
        let response = node.publish("trio-publish", token, &json!({"text": text(i), "lang": "en"})).await;
        assert_eq!(response.status(), 200, "message {i} at the default rate");
        let seq = response.json::<Value>().await.unwrap()["seq"].as_i64().unwrap();
        acked.insert(seq, (i, Instant::now()));
    }

    for (lang, reader) in readers {
        let arrived = reader.await.unwrap();
        let mut latencies = Vec::with_capacity(MESSAGES);
        for (seq, (envelope, at)) in &arrived {
            let (i, acked_at) = acked[seq];
            latencies.push(at.saturating_duration_since(acked_at));
            if lang == "en" {
                assert_eq!(envelope["text"], text(i).as_str());
            } else {
                assert_eq!(envelope["translated"], true, "{lang}: message {i} translated: {envelope}");
                assert_ne!(envelope["text"], text(i).as_str(), "{lang}: message {i} is not the original");
            }
        }
        let (p50, p99) = (quantile(&mut latencies, 0.5), quantile(&mut latencies, 0.99));
        eprintln!("default rate, {lang}: acknowledgement → delivery p50 {p50:.1?}, p99 {p99:.1?}");
        assert!(p50 < Duration::from_secs(1), "{lang}: median delivery {p50:?}");
    }
    // Nothing was throttled or retried on the way: the pipeline's republishes
    // are not held to a user's rate.
    let metrics = reqwest::get(node.url("/metrics")).await.unwrap().text().await.unwrap();
    for outcome in ["failure", "error"] {
        let line = format!("parley_webhook_attempts_total{{outcome=\"{outcome}\"}}");
        assert!(
            !metrics.contains(&line),
            "no delivery failed: {}",
            metrics.lines().find(|l| l.contains(&line)).unwrap()
        );
    }
    for log in [log_path(name), log_path(&format!("{name}.err"))] {
        let text = std::fs::read_to_string(&log).unwrap();
        for sign in ["Some(429)", "Too Many Requests", "rate limited", "rate_limited", "will be retried"] {
            assert!(!text.contains(sign), "{} says {sign:?}", log.display());
        }
    }
}
