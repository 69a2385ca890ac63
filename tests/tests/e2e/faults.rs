//! Dependency faults: a locked database and a NATS restart. The service stays
//! up, says so honestly on `/readyz`, and catches up. (Provider faults are in
//! `pipeline.rs`: 503, 429, 500, down and 30 s slow.)

use std::time::Duration;

use parley_e2e::{TestServer, eventually};
use serde_json::json;
use sqlx::Connection as _;

use crate::cluster::two_nodes;
use crate::processes::{Child, free_addr, spawn_program};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_database_answers_503_with_retry_after_then_publishing_resumes() {
    let server = TestServer::start().await;
    assert!(server.database_url().starts_with("sqlite:"), "a SQLite test: the PostgreSQL pass skips it");
    let token = server.token_for(&[("jammed", &[parley::auth::Op::Publish, parley::auth::Op::Subscribe])]).await;
    assert_eq!(server.publish("jammed", &token, &json!({"n": 1})).await.status(), 200);

    // Another process's transaction holds the write lock past the 5 s busy timeout.
    let mut locker = sqlx::SqliteConnection::connect(server.database_url()).await.unwrap();
    sqlx::query("begin exclusive").execute(&mut locker).await.unwrap();
    sqlx::query("insert into settings (key, value) values ('lock', 'held')").execute(&mut locker).await.unwrap();
    let response = server.publish("jammed", &token, &json!({"n": 2})).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    // Readers are not blocked by the writer (WAL): history and readiness still answer.
    assert_eq!(reqwest::get(server.url("/readyz")).await.unwrap().status(), 200);
    let items = server.authed(reqwest::Method::GET, "/api/topics/jammed/items", &token).send().await.unwrap();
    assert_eq!(items.status(), 200);

    sqlx::query("rollback").execute(&mut locker).await.unwrap();
    let retried = server.publish("jammed", &token, &json!({"n": 2})).await;
    assert_eq!(retried.status(), 200, "the retry goes through once the lock is gone");
    let answer: serde_json::Value = retried.json().await.unwrap();
    assert_eq!(answer["seq"], 2, "the refused publish left no gap");
}

/// A private nats-server (Debian's, as on the machine) on `addr`.
fn nats_server(addr: std::net::SocketAddr) -> Child {
    let port = addr.port().to_string();
    spawn_program("nats-private", "/usr/sbin/nats-server", &[], &["-a", "127.0.0.1", "-p", &port])
}

async fn readyz(node: &TestServer) -> String {
    reqwest::get(node.url("/readyz")).await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_loses_nothing_and_readyz_reports_the_degraded_bus() {
    let nats_addr = free_addr();
    let mut nats = nats_server(nats_addr);
    eventually(Duration::from_secs(10), "nats listens", || async move {
        tokio::net::TcpStream::connect(nats_addr).await.ok()
    })
    .await;
    let (a, b) = two_nodes(Some(format!("nats://{nats_addr}"))).await;
    let token = a.token_for(&[("news", &[parley::auth::Op::Subscribe, parley::auth::Op::Publish])]).await;
    let mut on_b = b.subscribe("news", &token, None).await.unwrap();
    let mut n = 0;
    let mut publish_on_a_and_read_on_b = async |count: usize| {
        for _ in 0..count {
            assert_eq!(a.publish("news", &token, &json!({"n": n})).await.status(), 200);
            let item = on_b.next_item(Duration::from_secs(10)).await;
            assert_eq!(item["value"]["n"], n);
            n += 1;
        }
    };
    publish_on_a_and_read_on_b(3).await;
    assert!(b.metric("parley_bus_remote_items_total").await >= 3, "node B heard them over NATS");
    assert_eq!(readyz(&a).await, "ready");

    nats.kill9().await;
    eventually(Duration::from_secs(10), "node A reports the bus degraded", || async {
        readyz(&a).await.contains("bus degraded").then_some(())
    })
    .await;
    // Without NATS, items still reach node B (through the database catch-up).
    publish_on_a_and_read_on_b(3).await;

    let _nats = nats_server(nats_addr);
    eventually(Duration::from_secs(30), "node A reconnects to NATS", || async {
        (readyz(&a).await == "ready").then_some(())
    })
    .await;
    eventually(Duration::from_secs(30), "node B reconnects to NATS", || async {
        (readyz(&b).await == "ready").then_some(())
    })
    .await;
    let heard = b.metric("parley_bus_remote_items_total").await;
    publish_on_a_and_read_on_b(3).await;
    assert!(b.metric("parley_bus_remote_items_total").await > heard, "after the restart, items travel over NATS again");
}
