//! Webhooks: management API, signed at-least-once delivery, retries, dead
//! letters, 410, secret rotation, the private-address policy, and a check of
//! Parley's signatures by an independent Standard Webhooks implementation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use parley_e2e::{TestServer, error_code, eventually};
use parley_pipeline::signature::{SignedHeaders, WebhookSecret, verify};
use reqwest::Method;
use serde_json::{Value, json};

const WITHIN: Duration = Duration::from_secs(15);

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Seen {
    id: String,
    timestamp: String,
    signature: String,
    body: Bytes,
}

/// A webhook receiver on loopback whose answers the test scripts.
#[derive(Clone)]
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Statuses to answer, in order; the last repeats.
    script: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Self {
        async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
            let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            let mut seen = r.seen.lock().unwrap();
            seen.push(Seen {
                id: h("webhook-id"),
                timestamp: h("webhook-timestamp"),
                signature: h("webhook-signature"),
                body,
            });
            let script = r.script.lock().unwrap();
            let status = script.get(seen.len() - 1).or(script.last()).copied().unwrap_or(200);
            StatusCode::from_u16(status).unwrap()
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            seen: Arc::default(),
            script: Arc::new(Mutex::new(script.to_vec())),
        };
        let app = axum::Router::new().route("/hook", post(receive)).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<Seen> {
        eventually(WITHIN, &format!("{count} deliveries arrive"), || async {
            let seen = self.seen();
            (seen.len() >= count).then_some(seen)
        })
        .await
    }
}

/// A server whose webhooks may reach loopback receivers.
async fn server() -> TestServer {
    TestServer::start_with(|c| c.webhook_allow = vec!["127.0.0.0/8".parse().unwrap()]).await
}

/// Creates a webhook through the API; returns its secret.
async fn create(server: &TestServer, admin: &str, name: &str, topic: &str, url: &str) -> WebhookSecret {
    let response = server
        .authed(Method::PUT, &format!("/api/webhooks/{name}"), admin)
        .json(&json!({"topic": topic, "url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    WebhookSecret::parse(body["webhook"]["secret"].as_str().unwrap()).unwrap()
}

fn check_signature(secret: &WebhookSecret, seen: &Seen) {
    let signed =
        SignedHeaders { id: Some(&seen.id), timestamp: Some(&seen.timestamp), signature: Some(&seen.signature) };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    verify(std::slice::from_ref(secret), signed, &seen.body, now).expect("a valid signature");
}

async fn deliveries(server: &TestServer, admin: &str, name: &str, status: &str) -> Vec<Value> {
    let response = server
        .authed(Method::GET, &format!("/api/webhooks/{name}/deliveries?status={status}"), admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_same_webhook_id_three_times() {
    let receiver = Receiver::start(&[500, 503, 204]).await;
    let server = server().await;
    let admin = server.admin_token().await;
    let secret = create(&server, &admin, "flaky", "events", &receiver.url).await;
    let response = server.publish("events", &admin, &json!({"n": 1})).await;
    assert_eq!(response.status(), 200);

    let seen = receiver.wait_for(3).await;
    assert!(seen.iter().all(|s| s.id == seen[0].id), "retries keep the webhook-id");
    for s in &seen {
        check_signature(&secret, s);
    }
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["value"], json!({"n": 1}));
    assert_eq!((body["topic"].as_str(), body["seq"].as_i64()), (Some("events"), Some(1)));
    assert_eq!(body["publisher"]["name"], "Administrator");

    let delivered = eventually(WITHIN, "the delivery is logged as delivered", || async {
        let rows = deliveries(&server, &admin, "flaky", "delivered").await;
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(delivered[0]["attempts"], 3);
    assert_eq!(delivered[0]["last_status"], 204);
    assert_eq!(receiver.seen().len(), 3, "nothing more after it was accepted");
}

#[tokio::test]
async fn a_receiver_that_always_fails_lands_in_the_dead_letter_list_and_can_be_retried() {
    let receiver = Receiver::start(&[500]).await;
    let server = TestServer::start_with(|c| {
        c.webhook_allow = vec!["127.0.0.0/8".parse().unwrap()];
        c.webhook_max_attempts = 3;
    })
    .await;
    let admin = server.admin_token().await;
    create(&server, &admin, "broken", "events", &receiver.url).await;
    server.publish("events", &admin, &json!({"n": 1})).await;

    let failed = eventually(WITHIN, "the delivery is dead-lettered", || async {
        let rows = deliveries(&server, &admin, "broken", "failed").await;
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(failed[0]["attempts"], 3);
    assert_eq!(failed[0]["last_status"], 500);
    assert_eq!(receiver.seen().len(), 3);
    // The queue keeps draining: the next item is delivered (and fails) too.
    server.publish("events", &admin, &json!({"n": 2})).await;
    receiver.wait_for(6).await;

    // An admin retries the dead letter once the receiver is fixed.
    *receiver.script.lock().unwrap() = vec![200];
    let id = failed[0]["id"].as_str().unwrap();
    let response = server
        .authed(Method::POST, &format!("/api/webhooks/broken/deliveries/{id}/retry"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    eventually(WITHIN, "the retried delivery succeeds", || async {
        let rows = deliveries(&server, &admin, "broken", "delivered").await;
        rows.iter().any(|r| r["id"] == id).then_some(())
    })
    .await;
    // Unknown deliveries and webhooks answer 404.
    let response =
        server.authed(Method::POST, "/api/webhooks/broken/deliveries/msg_nope/retry", &admin).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn a_410_answer_disables_the_webhook() {
    let receiver = Receiver::start(&[410]).await;
    let server = server().await;
    let admin = server.admin_token().await;
    create(&server, &admin, "gone", "events", &receiver.url).await;
    server.publish("events", &admin, &json!({"n": 1})).await;
    let hook = eventually(WITHIN, "the webhook is disabled", || async {
        let hook: Value = server.get_json("/api/webhooks/gone", &admin).await;
        (hook["webhook"]["enabled"] == false).then_some(hook)
    })
    .await;
    assert!(hook["webhook"]["disabled_reason"].as_str().unwrap().contains("410"));
    server.publish("events", &admin, &json!({"n": 2})).await;
    // A disabled webhook is not called again: the second item waits, pending.
    let pending = eventually(WITHIN, "the second delivery is queued", || async {
        let rows = deliveries(&server, &admin, "gone", "pending").await;
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(pending[0]["attempts"], 0);
    assert_eq!(receiver.seen().len(), 1);
    // Enabling it again (PUT) delivers what waited.
    *receiver.script.lock().unwrap() = vec![410, 200];
    let response = server
        .authed(Method::PUT, "/api/webhooks/gone", &admin)
        .json(&json!({"topic": "events", "url": receiver.url}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = receiver.wait_for(2).await;
    assert_eq!(serde_json::from_slice::<Value>(&seen[1].body).unwrap()["value"], json!({"n": 2}));
}

#[tokio::test]
async fn during_a_rotation_both_secrets_sign() {
    let receiver = Receiver::start(&[200]).await;
    let server = server().await;
    let admin = server.admin_token().await;
    let old = create(&server, &admin, "rotating", "events", &receiver.url).await;
    let response = server.authed(Method::POST, "/api/webhooks/rotating/rotate-secret", &admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let new = WebhookSecret::parse(body["webhook"]["secret"].as_str().unwrap()).unwrap();
    server.publish("events", &admin, &json!({"n": 1})).await;
    let seen = receiver.wait_for(1).await;
    assert_eq!(seen[0].signature.split(' ').count(), 2, "{}", seen[0].signature);
    check_signature(&old, &seen[0]);
    check_signature(&new, &seen[0]);
}

#[tokio::test]
async fn the_management_api_is_for_admins_and_shows_the_secret_once() {
    let server = server().await;
    let admin = server.admin_token().await;
    let user = server.token_for(&[("events", &[parley::auth::Op::Publish])]).await;
    for (method, path) in
        [(Method::GET, "/api/webhooks"), (Method::PUT, "/api/webhooks/x"), (Method::DELETE, "/api/webhooks/x")]
    {
        let response = server
            .authed(method, path, &user)
            .json(&json!({"topic": "t", "url": "http://127.0.0.1:9/"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    let response = reqwest::get(server.url("/api/webhooks")).await.unwrap();
    assert_eq!(response.status(), 401);

    create(&server, &admin, "once", "events", "http://127.0.0.1:9/hook").await;
    // Updating keeps the secret hidden.
    let response = server
        .authed(Method::PUT, "/api/webhooks/once", &admin)
        .json(&json!({"topic": "events", "url": "http://127.0.0.1:10/hook"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["webhook"].get("secret").is_none(), "{body}");
    assert_eq!(body["webhook"]["url"], "http://127.0.0.1:10/hook");
    let list: Value = server.get_json("/api/webhooks", &admin).await;
    assert!(!list.to_string().contains("whsec_"), "no secret in the list");
    assert!(list["webhooks"].as_array().unwrap().iter().any(|w| w["name"] == "once"));

    for (body, code) in [
        (json!({"topic": "events", "url": "not a url"}), 422),
        (json!({"topic": "bad topic", "url": "http://127.0.0.1:9/"}), 400),
        (json!({"topic": "events", "url": "ftp://127.0.0.1/"}), 422),
        (json!({"topic": "events"}), 422),
    ] {
        let response = server.authed(Method::PUT, "/api/webhooks/other", &admin).json(&body).send().await.unwrap();
        assert_eq!(response.status(), code, "{body}");
    }
    let response = server.authed(Method::DELETE, "/api/webhooks/once", &admin).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let response = server.authed(Method::DELETE, "/api/webhooks/once", &admin).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn webhooks_may_not_reach_private_addresses_unless_allowed() {
    // No allow-list: loopback and metadata addresses are refused at creation...
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for url in ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "http://10.0.0.1/", "http://[::1]/"] {
        let response = server
            .authed(Method::PUT, "/api/webhooks/ssrf", &admin)
            .json(&json!({"topic": "events", "url": url}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{url}");
        assert_eq!(error_code(response).await, "invalid");
    }
    // ...and at delivery, when a name resolves to one.
    let receiver = Receiver::start(&[200]).await;
    let port = receiver.url.split(':').nth(2).unwrap().split('/').next().unwrap().to_owned();
    let url = format!("http://localhost:{port}/hook");

    let response = server
        .authed(Method::PUT, "/api/webhooks/rebind", &admin)
        .json(&json!({"topic": "events", "url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    server.publish("events", &admin, &json!({"n": 1})).await;
    let row = eventually(WITHIN, "the attempt is refused", || async {
        let rows = deliveries(&server, &admin, "rebind", "pending").await;
        rows.into_iter().find(|r| r["attempts"].as_i64() >= Some(1) && !r["last_error"].is_null())
    })
    .await;
    assert!(row["last_error"].as_str().unwrap().contains("private"), "{row}");
    assert!(receiver.seen().is_empty());
}

#[tokio::test]
async fn an_independent_standard_webhooks_implementation_accepts_parleys_signature() {
    let receiver = Receiver::start(&[200]).await;
    let server = server().await;
    let admin = server.admin_token().await;
    let secret = create(&server, &admin, "checked", "events", &receiver.url).await;
    server.publish("events", &admin, &json!({"text": "héllo ✓"})).await;
    let seen = receiver.wait_for(1).await.remove(0);
    // The `standardwebhooks` package from PyPI (scripts/test.sh installs it).
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, msg_id, ts, sig, body = sys.argv[1:6]
Webhook(secret).verify(body.encode(), {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": sig})
try:
    Webhook(secret).verify(body.encode() + b" ", {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": sig})
    sys.exit("a tampered body verified")
except Exception:
    print("verified")
"#;
    let output = std::process::Command::new("python3")
        .args(["-c", script, &secret.to_text(), &seen.id, &seen.timestamp, &seen.signature])
        .arg(std::str::from_utf8(&seen.body).unwrap())
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "standardwebhooks refused: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "verified");
}

async fn publish_and_settle(server: &TestServer, admin: &str, receiver: &Receiver, n: usize) {
    server.publish("events", admin, &json!({"n": n})).await;
    receiver.wait_for(n).await;
}

#[tokio::test]
async fn sustained_failures_disable_a_webhook_and_sporadic_ones_do_not() {
    let config = |c: &mut parley::Config| {
        c.webhook_allow = vec!["127.0.0.0/8".parse().unwrap()];
        c.webhook_max_attempts = 1;
        c.webhook_disable_after = 3;
    };
    // Sporadic: every other delivery fails; it stays enabled.
    let receiver = Receiver::start(&[500, 200, 500, 200, 500, 200]).await;
    let server = TestServer::start_with(config).await;
    let admin = server.admin_token().await;
    create(&server, &admin, "sporadic", "events", &receiver.url).await;
    for n in 1..=6 {
        publish_and_settle(&server, &admin, &receiver, n).await;
    }
    eventually(WITHIN, "all six are settled", || async {
        let hook: Value = server.get_json("/api/webhooks/sporadic", &admin).await;
        (hook["webhook"]["pending"] == 0).then_some(())
    })
    .await;
    let hook: Value = server.get_json("/api/webhooks/sporadic", &admin).await;
    assert_eq!(hook["webhook"]["enabled"], true, "{hook}");
    assert_eq!(hook["webhook"]["failed"], 3);

    // Sustained: three dead letters in a row disable it.
    let receiver = Receiver::start(&[500]).await;
    let server = TestServer::start_with(config).await;
    let admin = server.admin_token().await;
    create(&server, &admin, "sustained", "events", &receiver.url).await;
    for n in 1..=3 {
        publish_and_settle(&server, &admin, &receiver, n).await;
    }
    let hook = eventually(WITHIN, "the webhook is disabled", || async {
        let hook: Value = server.get_json("/api/webhooks/sustained", &admin).await;
        (hook["webhook"]["enabled"] == false).then_some(hook)
    })
    .await;
    assert_eq!(hook["webhook"]["disabled_reason"], "3 consecutive deliveries failed");
}

#[tokio::test]
async fn a_receiver_that_hangs_past_the_timeout_is_retried() {
    let receiver = Receiver::start(&[200]).await;
    let server = TestServer::start_with(|c| {
        c.webhook_allow = vec!["127.0.0.0/8".parse().unwrap()];
        c.webhook_timeout = Duration::from_millis(300);
    })
    .await;
    let admin = server.admin_token().await;
    // A hanging receiver: it accepts the connection and never answers.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_url = format!("http://{}/hook", hang.local_addr().unwrap());
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let held = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = hang.accept().await {
            held.lock().unwrap().push(socket);
        }
    });
    create(&server, &admin, "slow", "events", &hang_url).await;
    server.publish("events", &admin, &json!({"n": 1})).await;
    let row = eventually(WITHIN, "the timed-out attempt is recorded for a retry", || async {
        let rows = deliveries(&server, &admin, "slow", "pending").await;
        rows.into_iter().find(|r| r["attempts"].as_i64() >= Some(1) && !r["last_error"].is_null())
    })
    .await;
    assert!(
        row["last_error"].as_str().unwrap().contains("timed out")
            || row["last_error"].as_str().unwrap().contains("timeout"),
        "{row}"
    );
    // Pointed at a receiver that answers, the same delivery goes through.
    let response = server
        .authed(Method::PUT, "/api/webhooks/slow", &admin)
        .json(&json!({"topic": "events", "url": receiver.url}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = receiver.wait_for(1).await;
    assert_eq!(seen[0].id, row["id"].as_str().unwrap(), "the same webhook-id");
}

#[tokio::test]
async fn the_embedded_pipeline_is_never_disabled_and_its_dead_letters_are_counted() {
    // Every translation fails (nothing listens there), so each delivery of
    // the room's messages ends as a dead letter after two attempts.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let server = TestServer::start_with(|c| {
        c.translators = vec![parley::ProviderConfig::LibreTranslate { url: format!("http://{closed}"), api_key: None }];
        c.webhook_max_attempts = 2;
        c.webhook_disable_after = 1;
    })
    .await;
    let admin = server.admin_token().await;
    let ana = server.join("Ana", "lobby", "en").await;
    server.join("Bruno", "lobby", "pt").await;
    let token = ana["token"].as_str().unwrap();
    for n in 0..2 {
        let text = format!("Message {n} for a translator that is down");
        assert_eq!(server.publish("lobby-publish", token, &json!({"text": text, "lang": "en"})).await.status(), 200);
    }
    eventually(WITHIN, "both deliveries are dead letters", || async {
        let hook: Value = server.get_json("/api/webhooks/pipeline-lobby", &admin).await;
        (hook["webhook"]["failed"] == 2).then_some(())
    })
    .await;
    let metrics = reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("parley_webhook_dead_letters_total{webhook=\"internal\"} 2"), "{metrics}");
    let hook: Value = server.get_json("/api/webhooks/pipeline-lobby", &admin).await;
    assert_eq!(hook["webhook"]["enabled"], true, "Parley's own pipeline is never disabled: {hook}");
    assert_eq!(hook["webhook"]["url"], parley::webhooks::EMBEDDED_PIPELINE_URL, "and names no node");
}
