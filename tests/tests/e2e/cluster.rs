//! Scale-out on PostgreSQL + NATS: two `parley` processes on one database,
//! two `parley-pipeline` processes behind a round-robin balancer, clients in
//! three languages on both nodes, 1,000 messages published across the nodes,
//! and one node killed with SIGKILL halfway.
//!
//! Runs on the PostgreSQL of `PARLEY_TEST_POSTGRES` and the NATS of
//! `PARLEY_TEST_NATS`, or the machine's own (127.0.0.1:5432, 127.0.0.1:4222).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parley_e2e::{Endpoint, eventually, fresh_postgres_database, test_nats, test_postgres};
use serde_json::{Value, json};

use crate::pipeline::{fake_libretranslate, slow_libretranslate};
use crate::processes::{
    ServerSettings, admin_token, balancer, free_addr, outbox_drains, quantile, read_all, read_all_timed, start_node,
    start_pipeline, start_server,
};

const MESSAGES: usize = 1000;
const LANGS: [&str; 3] = ["en", "pt", "es"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_and_two_pipelines_deliver_every_message_once_through_a_node_crash() {
    let started = Instant::now();
    let pg = test_postgres().unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into());
    let nats = shared_nats();
    let database_url = fresh_postgres_database(&pg).await;
    let translator = fake_libretranslate().await;
    let secret = parley_pipeline::signature::WebhookSecret::generate().to_text();
    let (a, b) = (free_addr(), free_addr());
    let (p1, p2) = (free_addr(), free_addr());
    let nodes = balancer(vec![format!("http://{a}"), format!("http://{b}")]).await;
    let pipelines = balancer(vec![format!("http://{p1}"), format!("http://{p2}")]).await;
    let settings = ServerSettings {
        database_url: &database_url,
        nats: Some(&nats),
        pipeline_url: &format!("{pipelines}/pipeline/webhook"),
        secret: &secret,
    };
    let _node_a = start_server("node-a", a, &settings).await;
    let mut node_b = start_server("node-b", b, &settings).await;

    // Both pipelines publish through the balancer, so either node serves them.
    let db = parley::db::connect(&database_url).await.unwrap();
    let key = parley::token_key(&db).await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let pipeline_token = key.sign(&parley::pipeline_claims(now + 3600));
    let _pipelines = [
        start_pipeline("pipeline-1", p1, &nodes, &pipeline_token, &secret, &translator).await,
        start_pipeline("pipeline-2", p2, &nodes, &pipeline_token, &secret, &translator).await,
    ];

    let (node_a, node_b_endpoint) = (Endpoint::at(a), Endpoint::at(b));
    let admin = key.sign(&parley::admin_claims(now, 3600));
    let created = node_a
        .authed(reqwest::Method::PUT, "/api/rooms/trio", &admin)
        .json(&json!({"languages": LANGS}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "room created: {}", created.status());

    // Readers: English on node A; Portuguese and Spanish on node B, which dies.
    let mut readers = Vec::new();
    for (lang, node) in [("en", &node_a), ("pt", &node_b_endpoint), ("es", &node_b_endpoint)] {
        let joined = node.join(&format!("Reader-{lang}"), "trio", lang).await;
        let token = joined["token"].as_str().unwrap().to_owned();
        let topic = format!("trio-subscribe-{lang}");
        readers.push((lang, tokio::spawn(read_all(Endpoint::at(node.addr), a, topic, token, MESSAGES))));
    }
    let ana = node_a.join("Ana", "trio", "en").await;
    let ana_token = ana["token"].as_str().unwrap();

    // 1,000 messages, alternating nodes; halfway, node B is killed. A publish
    // whose node died is sent to the other under the same idempotency key.
    let mut source_seqs = Vec::with_capacity(MESSAGES);
    let http = reqwest::Client::new();
    let mut b_alive = true;
    for i in 0..MESSAGES {
        if i == MESSAGES / 2 {
            node_b.kill9().await;
            b_alive = false;
        }
        let text = format!("Message number {i} is on its way to everyone in the room");
        let targets = if i % 2 == 1 && b_alive { vec![b, a] } else { vec![a] };
        let mut answer = None;
        for target in targets {
            let sent = http
                .post(format!("http://{target}/api/topics/trio-publish"))
                .bearer_auth(ana_token)
                .header("idempotency-key", format!("m{i}"))
                .json(&json!({"text": text, "lang": "en"}))
                .send()
                .await;
            if let Ok(response) = sent {
                assert_eq!(response.status(), 200, "publish {i}");
                answer = Some(response.json::<Value>().await.unwrap());
                break;
            }
        }
        let answer = answer.unwrap_or_else(|| panic!("publish {i} reached no node"));
        source_seqs.push(answer["seq"].as_i64().unwrap());
    }
    assert!(source_seqs.windows(2).all(|w| w[1] == w[0] + 1), "publish seqs are gap-free across nodes");

    for (lang, reader) in readers {
        let envelopes = reader.await.unwrap();
        assert_eq!(envelopes.len(), MESSAGES, "{lang}: one envelope per message");
        let mut by_source: Vec<&Value> = envelopes.iter().collect();
        by_source.sort_by_key(|e| e["source_seq"].as_i64());
        for (i, (envelope, seq)) in by_source.iter().zip(&source_seqs).enumerate() {
            assert_eq!(envelope["source_seq"].as_i64(), Some(*seq), "{lang}: message {i} in source_seq order");
            assert_eq!(envelope["lang"], lang);
            let original = format!("Message number {i} is on its way to everyone in the room");
            let expected = if lang == "en" { original } else { format!("[en→{lang}] {original}") };
            assert_eq!(envelope["text"], expected.as_str(), "{lang}: message {i} in its language: {envelope}");
        }
    }

    // The survivor drains the outbox, the dead node's leased deliveries included.
    outbox_drains(&db).await;
    assert!(node_a.metric("parley_bus_remote_items_total").await > 0, "node A heard node B's items over NATS");
    eprintln!(
        "multi-node test: {MESSAGES} messages × 3 languages, node killed at {}: {:.1?}",
        MESSAGES / 2,
        started.elapsed()
    );
}

/// The machine's NATS (or `PARLEY_TEST_NATS`).
pub(crate) fn shared_nats() -> String {
    test_nats().unwrap_or_else(|| "nats://127.0.0.1:4222".into())
}

/// Two in-process nodes on one fresh PostgreSQL database, with the NATS at
/// `bus` between them, or only the database.
pub(crate) async fn two_nodes(bus: Option<String>) -> (parley_e2e::TestServer, parley_e2e::TestServer) {
    let pg = test_postgres().unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into());
    let url = fresh_postgres_database(&pg).await;
    let a = parley_e2e::TestServer::start_with(|c| {
        c.database_url = url.clone();
        c.bus_url = bus.clone();
    })
    .await;
    let b = parley_e2e::TestServer::start_with(|c| {
        c.database_url = url.clone();
        c.bus_url = bus.clone();
    })
    .await;
    (a, b)
}

async fn revocation_on_a_closes_a_stream_on_b(a: &parley_e2e::TestServer, b: &parley_e2e::TestServer) {
    let perms: &[(&str, &[parley::auth::Op])] = &[("news", &[parley::auth::Op::Subscribe, parley::auth::Op::Publish])];
    let token = a.token_for(perms).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = parley::token_key(&a.db().await).await.unwrap().verify(&token, now).unwrap();
    let mut on_b = b.subscribe("news", &token, None).await.unwrap();
    let admin = a.admin_token().await;
    let response =
        a.authed(reqwest::Method::DELETE, &format!("/api/tokens/{}", claims.jti), &admin).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let close = on_b.closed(Duration::from_secs(5)).await.expect("a close frame on the other node");
    assert_eq!(u16::from(close.code), 4003);
}

#[tokio::test]
async fn with_nats_items_and_revocations_reach_the_other_node() {
    let (a, b) = two_nodes(Some(shared_nats())).await;
    let token = a.token_for(&[("news", &[parley::auth::Op::Subscribe, parley::auth::Op::Publish])]).await;
    let mut on_b = b.subscribe("news", &token, None).await.unwrap();
    for n in 0..20 {
        let node = if n % 2 == 0 { &a } else { &b };
        assert_eq!(node.publish("news", &token, &json!({"n": n})).await.status(), 200);
    }
    for n in 0..20 {
        let item = on_b.next_item(Duration::from_secs(10)).await;
        assert_eq!((item["seq"].as_i64(), item["value"]["n"].as_i64()), (Some(n + 1), Some(n)));
    }
    let remote = b.metric("parley_bus_remote_items_total").await;
    assert!(remote >= 10, "node B heard node A's items over NATS: {remote}");
    revocation_on_a_closes_a_stream_on_b(&a, &b).await;
}

#[tokio::test]
async fn without_nats_items_and_revocations_still_reach_the_other_node_through_the_database() {
    let (a, b) = two_nodes(None).await;
    let token = a.token_for(&[("news", &[parley::auth::Op::Subscribe, parley::auth::Op::Publish])]).await;
    let mut on_b = b.subscribe("news", &token, None).await.unwrap();
    for n in 0..5 {
        assert_eq!(a.publish("news", &token, &json!({"n": n})).await.status(), 200);
    }
    for n in 0..5 {
        let item = on_b.next_item(Duration::from_secs(10)).await;
        assert_eq!(item["value"]["n"].as_i64(), Some(n));
    }
    revocation_on_a_closes_a_stream_on_b(&a, &b).await;
}

/// Messages in the embedded-pipeline scenario, written by three users.
const BURST: usize = 300;
const WRITERS: usize = 3;

/// Two nodes as users run them (embedded pipeline, default limits) on
/// PostgreSQL + NATS. The room is created through node A, so before
/// embedded deliveries named no node, A's address was stored with its
/// pipeline webhook; A is then killed with SIGKILL mid-burst, with
/// deliveries in flight (the provider takes 300 ms). Every acknowledged
/// message must reach every language exactly once on the survivor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_burst_loses_nothing_and_its_survivor_delivers_every_message() {
    let pg = test_postgres().unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into());
    let nats = shared_nats();
    let database_url = fresh_postgres_database(&pg).await;
    let translator = slow_libretranslate(Duration::from_millis(300)).await;
    let envs = [
        ("PARLEY_BUS", nats.as_str()),
        ("PARLEY_TRANSLATOR", "libretranslate"),
        ("PARLEY_LIBRETRANSLATE_URL", translator.as_str()),
    ];
    let (a, b) = (free_addr(), free_addr());
    let mut node_a = start_node("embedded-node-a", a, &database_url, &envs).await;
    let _node_b = start_node("embedded-node-b", b, &database_url, &envs).await;
    let (endpoint_a, endpoint_b) = (Endpoint::at(a), Endpoint::at(b));
    let admin = admin_token(&database_url).await;
    let created = endpoint_a
        .authed(reqwest::Method::PUT, "/api/rooms/trio", &admin)
        .json(&json!({"languages": LANGS}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "room created through node A: {}", created.status());

    // English is read on node A (it resumes on B when A dies); Portuguese and Spanish on B.
    let mut readers = Vec::new();
    for (lang, node) in [("en", &endpoint_a), ("pt", &endpoint_b), ("es", &endpoint_b)] {
        let joined = node.join(&format!("Reader-{lang}"), "trio", lang).await;
        let token = joined["token"].as_str().unwrap().to_owned();
        let topic = format!("trio-subscribe-{lang}");
        readers.push((lang, tokio::spawn(read_all_timed(Endpoint::at(node.addr), b, topic, token, BURST))));
    }

    // Three writers at ~17 messages per second each (50 in all, within the
    // default 20 per user), alternating nodes; a publish whose node is dead
    // goes to B under the same idempotency key.
    let acked: Arc<Mutex<HashMap<i64, (usize, Instant)>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let joined = endpoint_b.join(&format!("Writer-{w}"), "trio", "en").await;
        let token = joined["token"].as_str().unwrap().to_owned();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
            let mut every = tokio::time::interval(Duration::from_millis(60));
            for i in (w..BURST).step_by(WRITERS) {
                every.tick().await;
                let targets = if i % 2 == 0 { [a, b] } else { [b, b] };
                let mut seq = None;
                for target in targets.into_iter().chain(std::iter::repeat_n(b, 10)) {
                    let sent = http
                        .post(format!("http://{target}/api/topics/trio-publish"))
                        .bearer_auth(&token)
                        .header("idempotency-key", format!("m{i}"))
                        .json(&json!({"text": burst_text(i), "lang": "en"}))
                        .send()
                        .await;
                    if let Ok(response) = sent
                        && response.status() == 200
                    {
                        seq = response.json::<Value>().await.unwrap()["seq"].as_i64();
                        break;
                    }
                }
                let seq = seq.unwrap_or_else(|| panic!("message {i} was never acknowledged"));
                let earlier = acked.lock().unwrap().insert(seq, (i, Instant::now()));
                assert!(earlier.is_none_or(|(j, _)| j == i), "seq {seq} acknowledged for two messages");
            }
        }));
    }
    eventually(Duration::from_secs(60), "a third of the burst is acknowledged", || {
        let n = acked.lock().unwrap().len();
        async move { (n >= BURST / 3).then_some(()) }
    })
    .await;
    node_a.kill9().await;
    let killed_at = Instant::now();
    for writer in writers {
        writer.await.unwrap();
    }

    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), BURST, "every message acknowledged once");
    let (mut all, mut in_flight) = (Vec::new(), Vec::new());
    for (lang, reader) in readers {
        let envelopes = reader.await.unwrap();
        assert_eq!(envelopes.len(), BURST, "{lang}: exactly one envelope per acknowledged message");
        for (envelope, arrived) in &envelopes {
            let seq = envelope["source_seq"].as_i64().unwrap();
            let (i, acked_at) = *acked.get(&seq).unwrap_or_else(|| panic!("{lang}: {seq} was never acknowledged"));
            let expected = if lang == "en" { burst_text(i) } else { format!("[en→{lang}] {}", burst_text(i)) };
            assert_eq!(envelope["text"], expected.as_str(), "{lang}: message {i}: {envelope}");
            let latency = arrived.saturating_duration_since(acked_at);
            all.push(latency);
            if acked_at < killed_at && *arrived > killed_at {
                in_flight.push(latency);
            }
        }
    }
    let db = parley::db::connect(&database_url).await.unwrap();
    outbox_drains(&db).await;
    let (url, enabled): (String, i64) =
        sqlx::query_as("select url, enabled from webhooks where name = 'pipeline-trio'").fetch_one(&db).await.unwrap();
    assert_eq!((url.as_str(), enabled), (parley::webhooks::EMBEDDED_PIPELINE_URL, 1), "no node in the webhook");
    eprintln!(
        "embedded two-node kill: acknowledgement → delivery p50 {:.1?}, p99 {:.1?}, max {:.1?} over {} deliveries; \
         {} acknowledged before the kill and delivered after it: p99 {:.1?}",
        quantile(&mut all, 0.5),
        quantile(&mut all, 0.99),
        quantile(&mut all, 1.0),
        all.len(),
        in_flight.len(),
        quantile(&mut in_flight, 0.99),
    );
}

fn burst_text(i: usize) -> String {
    format!("Burst message {i} goes to everyone in the room")
}
