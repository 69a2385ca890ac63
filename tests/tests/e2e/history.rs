//! History and resume: gap-free, duplicate-free replay; retention and
//! discontinuities; SSE; heartbeats; clean shutdown.

use std::time::Duration;

use parley::auth::Op;
use parley_e2e::{TestServer, eventually};
use reqwest::Method;
use serde_json::{Value, json};

const WITHIN: Duration = Duration::from_secs(20);

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[tokio::test]
async fn twenty_subscribers_resuming_at_random_points_each_get_every_item_once_in_order() {
    const ITEMS: i64 = 1000;
    const SUBSCRIBERS: usize = 20;
    let server = TestServer::start().await;
    let token = server.token_for(&[("stream", &[Op::Publish])]).await;
    let mut rng = Lcg(0x5eed);
    // Each subscriber joins once the publisher has reached its point, and
    // resumes after a random earlier seq.
    let mut join_at: Vec<(i64, i64)> = (0..SUBSCRIBERS)
        .map(|_| {
            let at = rng.next(ITEMS as u64) as i64;
            (at, rng.next(at as u64 + 1) as i64)
        })
        .collect();
    join_at.sort();
    let mut readers = Vec::new();
    let mut next = join_at.into_iter().peekable();
    for n in 1..=ITEMS {
        while let Some((_, resume_after)) = next.next_if(|(at, _)| *at < n) {
            // One client, one user, one token.
            let reader =
                server.token_for_user(&format!("u_reader_{}", readers.len()), &[("stream", &[Op::Subscribe])]).await;
            let mut sub = server.subscribe("stream", &reader, Some(resume_after)).await.unwrap();

            readers.push(tokio::spawn(async move {
                let mut seqs = Vec::new();
                while seqs.last() != Some(&ITEMS) {
                    let item = sub.next_item(WITHIN).await;
                    seqs.push(item["seq"].as_i64().unwrap());
                }
                (resume_after, seqs)
            }));
        }
        let response = server.publish("stream", &token, &json!({"n": n})).await;
        assert_eq!(response.json::<Value>().await.unwrap()["seq"], n);
    }
    assert_eq!(readers.len(), SUBSCRIBERS);
    for reader in readers {
        let (resume_after, seqs) = reader.await.unwrap();
        let expected: Vec<i64> = (resume_after + 1..=ITEMS).collect();
        assert_eq!(seqs, expected, "resumed after {resume_after}");
    }
}

#[tokio::test]
async fn history_pages_oldest_first() {
    let server = TestServer::start().await;
    let token = server.token_for(&[("paged", &[Op::Publish, Op::Subscribe])]).await;
    for n in 1..=5 {
        server.publish("paged", &token, &json!({"n": n})).await;
    }
    let page: Value = server.get_json("/api/topics/paged/items?before_seq=5&limit=3", &token).await;
    let seqs: Vec<i64> = page["items"].as_array().unwrap().iter().map(|i| i["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![2, 3, 4]);
    let response = server.authed(Method::GET, "/api/topics/paged/items?limit=0", &token).send().await.unwrap();
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn evicted_items_are_announced_by_a_discontinuity() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let response = server
        .authed(Method::PUT, "/api/topics/short/retention", &admin)
        .json(&json!({"max_items": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for n in 1..=10 {
        server.publish("short", &admin, &json!({"n": n})).await;
    }
    let db = server.db().await;
    eventually(WITHIN, "the janitor evicts down to 3 items", || async {
        let (count,): (i64,) =
            sqlx::query_as("select count(*) from items where topic = 'short'").fetch_one(&db).await.unwrap();
        (count == 3).then_some(())
    })
    .await;
    let mut sub = server.subscribe("short", &admin, Some(2)).await.unwrap();
    let gap = sub.next_frame(WITHIN).await;
    assert_eq!(gap, json!({"type": "discontinuity", "topic": "short", "last_seq": 2, "new_seq": 8}));
    for seq in 8..=10 {
        assert_eq!(sub.next_item(WITHIN).await["seq"], seq);
    }
    // Resuming inside the retained range needs no discontinuity.
    let mut sub = server.subscribe("short", &admin, Some(8)).await.unwrap();
    assert_eq!(sub.next_frame(WITHIN).await["seq"], 9);
}

#[tokio::test]
async fn items_older_than_the_retention_age_are_evicted_by_the_servers_clock() {
    let (clock, hand) = parley::clock::Clock::manual(1_800_000_000_000);
    let server = TestServer::start_with(|c| c.clock = clock).await;
    let admin = {
        // Signed against the manual clock's time.
        let claims = parley::admin_claims(1_800_000_000, 24 * 3600);
        server.sign(&claims).await
    };
    server
        .authed(Method::PUT, "/api/topics/aging/retention", &admin)
        .json(&json!({"max_age_seconds": 60}))
        .send()
        .await
        .unwrap();
    server.publish("aging", &admin, &json!({"n": 1})).await;
    hand.advance(Duration::from_secs(30));
    server.publish("aging", &admin, &json!({"n": 2})).await;
    hand.advance(Duration::from_secs(31));
    let db = server.db().await;
    eventually(WITHIN, "the first item ages out", || async {
        let seqs: Vec<(i64,)> =
            sqlx::query_as("select seq from items where topic = 'aging'").fetch_all(&db).await.unwrap();
        (seqs == vec![(2,)]).then_some(())
    })
    .await;
}

#[tokio::test]
async fn server_sent_events_resume_from_last_event_id() {
    let server = TestServer::start().await;
    let token = server.token_for(&[("sse", &[Op::Publish, Op::Subscribe])]).await;
    for n in 1..=3 {
        server.publish("sse", &token, &json!({"n": n})).await;
    }
    let response = server
        .authed(Method::GET, "/api/topics/sse/subscribe", &token)
        .header("accept", "text/event-stream")
        .header("last-event-id", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut response = response;
    let mut text = String::new();
    while !(text.contains("\"n\":3") && text.contains("event: heartbeat")) {
        let chunk = tokio::time::timeout(WITHIN, response.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(!text.contains("\"n\":1"), "{text}");
    let two = text.find("id: 2").expect("item 2 with its id");
    let three = text.find("id: 3").expect("item 3 with its id");
    assert!(two < three);
    assert!(text.contains("event: item"));
}

#[tokio::test]
async fn a_new_subscription_gets_a_heartbeat_first() {
    let server = TestServer::start().await;
    let token = server.token_for(&[("quiet", &[Op::Subscribe])]).await;
    let response = server
        .authed(Method::GET, "/api/topics/quiet/subscribe", &token)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let mut response = response;
    let chunk = tokio::time::timeout(WITHIN, response.chunk()).await.unwrap().unwrap().unwrap();
    assert!(std::str::from_utf8(&chunk).unwrap().contains(r#"{"type":"heartbeat"}"#));
}

#[tokio::test]
async fn shutdown_closes_subscriptions_with_a_close_frame() {
    let server = TestServer::start().await;
    let token = server.token_for(&[("bye", &[Op::Subscribe])]).await;
    let mut sub = server.subscribe("bye", &token, None).await.unwrap();
    let stopping = tokio::spawn(server.stop());
    let close = sub.closed(WITHIN).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
    stopping.await.unwrap().unwrap();
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let server = TestServer::start().await;
    let token = server.token_for(&[("counted", &[Op::Publish, Op::Subscribe])]).await;
    let _sub = server.subscribe("counted", &token, None).await.unwrap();
    server.publish("counted", &token, &json!({})).await;
    assert_eq!(reqwest::get(server.url("/healthz")).await.unwrap().status(), 200);
    assert_eq!(reqwest::get(server.url("/readyz")).await.unwrap().status(), 200);
    let text = eventually(WITHIN, "metrics count the publish and the subscriber", || async {
        let text = reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap();
        (text.contains("parley_subscribers 1") && !text.contains("parley_publishes_total 0")).then_some(text)
    })
    .await;
    assert!(text.contains("# TYPE parley_publish_seconds histogram"));
    // The embedded pipeline's own metrics come along.
    assert!(text.contains("parley_translation_provider_up{provider=\"firefox\"} 1"), "{text}");
    assert!(text.contains("parley_pipeline_stage_seconds_count{stage=\"detect\"}"), "{text}");
    assert!(text.ends_with("# EOF\n"), "one OpenMetrics exposition: {text}");
}

#[tokio::test]
async fn a_slow_subscriber_slows_nobody_and_catches_up_without_loss() {
    const ITEMS: i64 = 3000;
    let server = TestServer::start().await;
    let publisher = server.token_for(&[("busy", &[Op::Publish])]).await;
    let fast_token = server.token_for(&[("busy", &[Op::Subscribe])]).await;
    let slow_token = server.token_for(&[("busy", &[Op::Subscribe])]).await;
    let mut fast = server.subscribe("busy", &fast_token, None).await.unwrap();
    // Subscribed, but reads nothing until the end: its buffers fill up.
    let mut slow = server.subscribe("busy", &slow_token, None).await.unwrap();
    let payload = "x".repeat(1000);
    let reader = tokio::spawn(async move {
        for seq in 1..=ITEMS {
            assert_eq!(fast.next_item(WITHIN).await["seq"], seq, "the fast reader keeps pace");
        }
    });
    for _ in 0..ITEMS {
        let response = server.publish("busy", &publisher, &json!({"pad": payload})).await;
        assert_eq!(response.status(), 200);
    }
    reader.await.unwrap();
    for seq in 1..=ITEMS {
        let frame = slow.next_frame(WITHIN).await;
        assert_eq!(frame["seq"], seq, "{frame}");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let server = TestServer::start().await;
    let doc: Value = reqwest::get(server.url("/api/openapi.json")).await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/api/topics/{topic}", "post"),
        ("/api/topics/{topic}/subscribe", "get"),
        ("/api/topics/{topic}/items", "get"),
        ("/api/auth/guest", "post"),
        ("/api/me", "get"),
        ("/api/tokens", "post"),
        ("/api/tokens/{jti}", "delete"),
        ("/api/rooms", "get"),
        ("/api/rooms/{room}/join", "post"),
        ("/api/webhooks", "get"),
        ("/api/webhooks/{name}", "put"),
        ("/api/webhooks/{name}", "delete"),
        ("/api/webhooks/{name}/deliveries", "get"),
        ("/api/webhooks/{name}/deliveries/{id}/retry", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    let publish = &doc["paths"]["/api/topics/{topic}"]["post"]["responses"];
    assert!(publish["413"].is_object() && publish["429"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["schemas"]["PublishAnswer"]["properties"]["seq"].is_object());
}
