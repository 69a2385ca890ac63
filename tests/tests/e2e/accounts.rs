//! Accounts: sign-up, login, logout, session cookies, fixation, rate limits, the admin.

use parley_e2e::{TestServer, error_code};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("id="))
        .map(str::to_owned)
}

#[tokio::test]
async fn sign_up_log_out_and_log_in_again() {
    let server = TestServer::start().await;
    let ana = client();
    let response = ana
        .post(server.url("/api/auth/signup"))
        .json(&json!({"username": "ana_b", "password": "correct horse", "display_name": "Ana B"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let cookie = session_cookie(&response).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let me: Value = ana.get(server.url("/api/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!((me["user"]["username"].as_str(), me["user"]["role"].as_str()), (Some("ana_b"), Some("user")));

    // The password is stored as an argon2id hash with OWASP's parameters.
    let (hash,): (String,) = sqlx::query_as("select password_hash from users where username = 'ana_b'")
        .fetch_one(&server.db().await)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");

    assert_eq!(ana.post(server.url("/api/auth/logout")).send().await.unwrap().status(), 204);
    assert_eq!(ana.get(server.url("/api/me")).send().await.unwrap().status(), 401);

    let response = ana
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": "ana_b", "password": "wrong horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "invalid_credentials");
    let response = ana
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": "nobody", "password": "whatever1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await, "invalid_credentials", "unknown users look the same");
    let response = ana
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": "ana_b", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(ana.get(server.url("/api/me")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn sign_up_refuses_taken_and_invalid_names() {
    let server = TestServer::start().await;
    let signup = |body: Value| client().post(server.url("/api/auth/signup")).json(&body).send();
    assert_eq!(signup(json!({"username": "bruno", "password": "12345678"})).await.unwrap().status(), 201);
    let response = signup(json!({"username": "bruno", "password": "abcdefgh"})).await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(error_code(response).await, "conflict");
    for body in [
        json!({"username": "Bruno", "password": "12345678"}),
        json!({"username": "br", "password": "12345678"}),
        json!({"username": "carla", "password": "short"}),
        json!({"username": "carla"}),
    ] {
        assert_eq!(signup(body.clone()).await.unwrap().status(), 422, "{body}");
    }
}

#[tokio::test]
async fn the_session_id_changes_at_login_and_forged_ids_are_never_adopted() {
    let server = TestServer::start().await;
    let ana = client();
    let response = ana.post(server.url("/api/auth/guest")).json(&json!({"display_name": "Ana"})).send().await.unwrap();
    let guest_cookie = session_cookie(&response).unwrap();
    client()
        .post(server.url("/api/auth/signup"))
        .json(&json!({"username": "ana_c", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    let response = ana
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": "ana_c", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    let login_cookie = session_cookie(&response).expect("a new cookie at login");
    assert_ne!(guest_cookie.split(';').next(), login_cookie.split(';').next(), "the id was cycled");

    // A made-up session id is not a session.
    let response = reqwest::Client::new()
        .get(server.url("/api/me"))
        .header("cookie", "id=AAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response =
        reqwest::Client::new().get(server.url("/api/me")).header("cookie", "id=%%%garbage").send().await.unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn logins_are_rate_limited_per_address() {
    let server = TestServer::start_with(|c| c.login_attempts_per_minute = 3).await;
    let login =
        || client().post(server.url("/api/auth/login")).json(&json!({"username": "x", "password": "12345678"})).send();
    for _ in 0..3 {
        assert_eq!(login().await.unwrap().status(), 401);
    }
    let response = login().await.unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn the_first_admin_signs_in_and_administers_through_the_session() {
    let server = TestServer::start().await;
    let admin = client();
    let response = admin
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": "admin", "password": parley::config::TEST_ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = admin.put(server.url("/api/rooms/staff")).json(&json!({"languages": ["en"]})).send().await.unwrap();
    assert_eq!(response.status(), 201);
    // Not from another site, though.
    let response = admin
        .put(server.url("/api/rooms/staff"))
        .header("origin", "https://evil.example")
        .json(&json!({"languages": ["en"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn a_locked_language_needs_a_grant() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let response = server.put_room("vip", &json!({"languages": ["en", "pt"], "locked_languages": ["pt"]})).await;
    assert_eq!(response.status(), 201);
    let bruno = client();
    let me: Value = bruno
        .post(server.url("/api/auth/guest"))
        .json(&json!({"display_name": "Bruno"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let join =
        |lang: &'static str| bruno.post(server.url("/api/rooms/vip/join")).json(&json!({"language": lang})).send();
    assert_eq!(join("en").await.unwrap().status(), 200);
    let response = join("pt").await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "language_locked");

    let id = me["user"]["id"].as_str().unwrap();
    let response = server
        .authed(reqwest::Method::POST, &format!("/api/users/{id}/languages"), &admin)
        .json(&json!({"room": "vip", "language": "pt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(join("pt").await.unwrap().status(), 200);
    let me: Value = bruno.get(server.url("/api/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["grants"], json!(["vip:pt"]));
    assert_eq!(me["default_language"], "pt", "the last language joined is offered first next time");
}

#[tokio::test]
async fn banning_a_user_ends_their_session_tokens_and_streams() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let eve = client();
    let me: Value = eve
        .post(server.url("/api/auth/guest"))
        .json(&json!({"display_name": "Eve"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let joined = server.join_as(&eve, "lobby", "en").await;
    let token = joined["token"].as_str().unwrap();
    let mut stream = server.subscribe("lobby-subscribe-en", token, None).await.unwrap();
    let id = me["user"]["id"].as_str().unwrap();
    let response = server.authed(reqwest::Method::POST, &format!("/api/users/{id}/ban"), &admin).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let close = stream.closed(std::time::Duration::from_secs(1)).await.expect("a close frame");
    assert_eq!(close.reason.as_str(), "token_revoked");
    let response = server.publish("lobby-publish", token, &json!({"text": "still here?"})).await;
    assert_eq!(error_code(response).await, "token_revoked");
    assert_eq!(eve.get(server.url("/api/me")).send().await.unwrap().status(), 401);
    let users: Value = server.get_json("/api/users", &admin).await;
    let listed = users["users"].as_array().unwrap().iter().find(|u| u["id"] == id).unwrap().clone();
    assert_eq!(listed["banned"], true);
}

#[tokio::test]
async fn behind_tls_the_session_cookie_is_secure() {
    let server = TestServer::start_with(|c| c.secure_cookies = true).await;
    let response =
        client().post(server.url("/api/auth/guest")).json(&json!({"display_name": "Ana"})).send().await.unwrap();
    let cookie = session_cookie(&response).unwrap();
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
}
