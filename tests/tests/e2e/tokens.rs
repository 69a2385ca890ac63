//! Tokens: derivation never grants more, revocation closes streams, expiry.

use std::time::Duration;

use parley::auth::Op;
use parley_e2e::{TestServer, error_code};
use reqwest::Method;
use serde_json::{Value, json};

const WITHIN: Duration = Duration::from_secs(10);

async fn mint(server: &TestServer, token: &str, body: Value) -> reqwest::Response {
    server.authed(Method::POST, "/api/tokens", token).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn a_derived_token_never_grants_more_than_its_parent() {
    let server = TestServer::start().await;
    let joined = server.join("Ana", "lobby", "pt").await;
    let parent = joined["token"].as_str().unwrap();

    // Narrower or equal: allowed, and the result works.
    let response = mint(
        &server,
        parent,
        json!({"permissions": [{"topic": "lobby-subscribe-pt", "ops": ["subscribe"]}], "ttl_seconds": 60}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let child: Value = response.json().await.unwrap();
    assert!(child["expires_at"].is_string());
    let child = child["token"].as_str().unwrap();
    server.subscribe("lobby-subscribe-pt", child, None).await.unwrap();
    // The child holds only what it asked for.
    let response = server.publish("lobby-publish", child, &json!({"text": "hi"})).await;
    assert_eq!(response.status(), 403);

    for (topic, op) in [
        ("lobby-subscribe-en", "subscribe"),
        ("lobby-subscribe-*", "subscribe"),
        ("lobby-publish", "subscribe"),
        ("*", "publish"),
        ("lobby-subscribe-pt", "publish"),
    ] {
        let response =
            mint(&server, parent, json!({"permissions": [{"topic": topic, "ops": [op]}], "ttl_seconds": 60})).await;
        assert_eq!(response.status(), 403, "{op} on {topic}");
        assert_eq!(error_code(response).await, "forbidden");
    }
    for body in [
        json!({"permissions": [{"topic": "lobby-subscribe-pt", "ops": ["subscribe"]}], "ttl_seconds": 0}),
        json!({"permissions": [{"topic": "lobby-subscribe-pt", "ops": ["subscribe"]}], "ttl_seconds": 90000}),
        json!({"permissions": [], "ttl_seconds": 60}),
        json!({"permissions": [{"topic": "lobby-subscribe-pt", "ops": ["fly"]}], "ttl_seconds": 60}),
    ] {
        let response = mint(&server, parent, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
    }
    let response = reqwest::Client::new().post(server.url("/api/tokens")).json(&json!({})).send().await.unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_revoked_token_is_refused_and_its_subscriptions_close_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let joined = server.join("Ana", "lobby", "en").await;
    let parent = joined["token"].as_str().unwrap();
    let minted: Value = mint(
        &server,
        parent,
        json!({"permissions": [{"topic": "lobby-subscribe-en", "ops": ["subscribe"]}], "ttl_seconds": 600}),
    )
    .await
    .json()
    .await
    .unwrap();
    let (token, jti) = (minted["token"].as_str().unwrap(), minted["jti"].as_str().unwrap());
    let mut ws = server.subscribe("lobby-subscribe-en", token, None).await.unwrap();
    let mut sibling = server.subscribe("lobby-subscribe-en", parent, None).await.unwrap();

    // Only admins revoke.
    let response = server.authed(Method::DELETE, &format!("/api/tokens/{jti}"), parent).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let response = server.authed(Method::DELETE, &format!("/api/tokens/{jti}"), &admin).send().await.unwrap();
    assert_eq!(response.status(), 204);

    let close = ws.closed(Duration::from_secs(1)).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4003);
    assert_eq!(close.reason.as_str(), "token_revoked");
    let refused = server.subscribe("lobby-subscribe-en", token, None).await.err().expect("refused");
    assert!(matches!(refused, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 401));
    let response = server.authed(Method::GET, "/api/topics/lobby-subscribe-en/items", token).send().await.unwrap();
    assert_eq!(error_code(response).await, "token_revoked");

    // The parent is untouched: its stream still delivers.
    server.publish("lobby-publish", parent, &json!({"text": "still here", "lang": "en"})).await;
    assert_eq!(sibling.next_item(Duration::from_secs(30)).await["value"]["text"], "still here");
}

#[tokio::test]
async fn tokens_expire_by_the_servers_clock() {
    let (clock, hand) = parley::clock::Clock::manual(time::OffsetDateTime::now_utc().unix_timestamp() * 1000);
    let server = TestServer::start_with(|c| c.clock = clock).await;
    let joined = server.join("Ana", "lobby", "en").await;
    let token = joined["token"].as_str().unwrap();
    let response = server.authed(Method::GET, "/api/topics/lobby-subscribe-en/items", token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    hand.advance(Duration::from_secs(parley::rooms::JOIN_TOKEN_TTL_SECS as u64 - 1));
    let response = server.authed(Method::GET, "/api/topics/lobby-subscribe-en/items", token).send().await.unwrap();
    assert_eq!(response.status(), 200, "valid until its last second");
    hand.advance(Duration::from_secs(1));
    let response = server.authed(Method::GET, "/api/topics/lobby-subscribe-en/items", token).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "token_expired");
}

#[tokio::test]
async fn publishing_beyond_the_rate_gets_429_with_retry_after() {
    let server = TestServer::start_with(|c| {
        c.publish_rate = 1.0;
        c.publish_burst = 3;
    })
    .await;
    let token = server.token_for(&[("events", &[Op::Publish])]).await;
    for _ in 0..3 {
        assert_eq!(server.publish("events", &token, &json!({})).await.status(), 200);
    }
    let response = server.publish("events", &token, &json!({})).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(error_code(response).await, "rate_limited");
    // The limit is the user's: another of their tokens shares it, another user's does not.
    let same_user = server.token_for(&[("events", &[Op::Publish])]).await;
    assert_eq!(server.publish("events", &same_user, &json!({})).await.status(), 429);
    let other = server.token_for_user("u_other", &[("events", &[Op::Publish])]).await;
    assert_eq!(server.publish("events", &other, &json!({})).await.status(), 200);
}

#[tokio::test]
async fn a_token_holds_a_bounded_number_of_subscriptions() {
    let server = TestServer::start_with(|c| c.max_subscriptions_per_token = 2).await;
    let token = server.token_for(&[("events", &[Op::Subscribe])]).await;
    let first = server.subscribe("events", &token, None).await.unwrap();
    let _second = server.subscribe("events", &token, None).await.unwrap();
    let refused = server.subscribe("events", &token, None).await.err().expect("refused");
    assert!(matches!(refused, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 429));
    drop(first);
    parley_e2e::eventually(WITHIN, "a slot frees when a subscription ends", || async {
        server.subscribe("events", &token, None).await.ok()
    })
    .await;
}

#[tokio::test]
async fn the_pipelines_service_token_is_not_held_to_a_users_publish_rate() {
    let server = TestServer::start_with(|c| {
        c.publish_rate = 1.0;
        c.publish_burst = 5;
    })
    .await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let pipeline = server.sign(&parley::pipeline_claims(now + 3600)).await;
    let user = server.token_for(&[("lobby-subscribe-*", &[Op::Publish])]).await;
    let envelope = json!({"kind": "test"});
    for n in 0..5 {
        assert_eq!(server.publish("lobby-subscribe-en", &user, &envelope).await.status(), 200, "user publish {n}");
    }
    let response = server.publish("lobby-subscribe-en", &user, &envelope).await;
    assert_eq!(response.status(), 429, "a user past the burst is limited");
    assert_eq!(error_code(response).await, "rate_limited");
    // The pipeline republishes every message in every language: never limited.
    for n in 0..40 {
        let items: Vec<Value> = ["en", "pt", "es"]
            .iter()
            .map(|lang| json!({"topic": format!("lobby-subscribe-{lang}"), "value": envelope}))
            .collect();
        let response =
            server.authed(Method::POST, "/api/topics", &pipeline).json(&json!({"items": items})).send().await.unwrap();
        assert_eq!(response.status(), 200, "pipeline batch {n}");
    }
}
