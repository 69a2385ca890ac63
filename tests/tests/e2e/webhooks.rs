//! Webhook delivery: signed, retried until the receiver accepts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use parley::auth::{Claims, Op, Permission, TokenKey};
use parley_e2e::{TestServer, eventually};
use parley_pipeline::signature::{SignedHeaders, WebhookSecret, verify};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Receiver {
    /// (webhook-id, body) of every attempt whose signature verified.
    attempts: Arc<Mutex<Vec<(String, Value)>>>,
    secret: Arc<Mutex<Option<WebhookSecret>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let signed = SignedHeaders {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
    };
    let secret = receiver.secret.lock().unwrap().clone().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if verify(&[secret], signed, &body, now).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let mut attempts = receiver.attempts.lock().unwrap();
    attempts.push((
        signed.id.unwrap().to_owned(),
        serde_json::from_slice(&body).unwrap(),
    ));
    // Fail the first attempt, accept the retry.
    if attempts.len() == 1 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_the_same_id_until_accepted() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let server = TestServer::start().await;
    let db = parley::db::connect(&format!("sqlite://{}", server.db_path.display()))
        .await
        .unwrap();
    let secret = WebhookSecret::generate();
    *receiver.secret.lock().unwrap() = Some(secret.clone());
    parley::webhooks::upsert(&db, "test-hook", "events", &url, &secret.to_text())
        .await
        .unwrap();
    let key = parley::db::setting_or_init(&db, "token_key", || unreachable!())
        .await
        .unwrap();
    use base64::Engine as _;
    let key = TokenKey::new(
        base64::engine::general_purpose::STANDARD
            .decode(key)
            .unwrap(),
    );
    let token = key.sign(&Claims {
        sub: "u_test".into(),
        name: "Tester".into(),
        perms: vec![Permission {
            topic: "events".into(),
            ops: vec![Op::Publish],
        }],
        exp: time::OffsetDateTime::now_utc().unix_timestamp() + 60,
    });

    let response = server.publish("events", &token, &json!({"n": 1})).await;
    assert_eq!(response.status(), 200);

    let attempts = eventually(Duration::from_secs(10), "two attempts arrive", || {
        let attempts = receiver.attempts.clone();
        async move {
            let a = attempts.lock().unwrap().clone();
            (a.len() >= 2).then_some(a)
        }
    })
    .await;
    assert_eq!(attempts[0].0, attempts[1].0, "retries keep the webhook-id");
    assert_eq!(attempts[0].1["value"], json!({"n": 1}));
    assert_eq!(attempts[0].1["topic"], "events");
    assert_eq!(attempts[0].1["publisher"]["name"], "Tester");

    let status = eventually(
        Duration::from_secs(10),
        "the outbox row is marked delivered",
        || {
            let db = db.clone();
            async move {
                let (status, attempts): (String, i64) = sqlx::query_as(
                    "select status, attempts from webhook_outbox where webhook_name = 'test-hook'",
                )
                .fetch_one(&db)
                .await
                .unwrap();
                (status == "delivered").then_some(attempts)
            }
        },
    )
    .await;
    assert_eq!(status, 2);
    // Nothing more arrives once it has been accepted.
    assert_eq!(receiver.attempts.lock().unwrap().len(), 2);
}
