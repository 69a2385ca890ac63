//! The security review's findings, one test each: revocations that last,
//! limits per person, the client behind a proxy, throttled sign-ups, what
//! anonymous callers see, tokens cut with what they were granted for,
//! WebSocket tokens out of URLs, names that cannot alias, history that
//! forgets what was deleted, frame limits, and silent clients.

use std::time::Duration;

use parley::auth::Op;
use parley_e2e::{Subscription, TestServer, error_code, eventually};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const WITHIN: Duration = Duration::from_secs(15);

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A cookie-keeping client, like a browser.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

async fn status(response: reqwest::RequestBuilder) -> u16 {
    response.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_revocation_outlasts_a_restart_a_day_later_and_reaches_service_subjects_and_children() {
    let (clock, hand) = parley::clock::Clock::manual(now_secs() * 1000);
    let server = TestServer::start_with(|c| c.clock = clock).await;
    let admin = server.admin_token().await;
    // A separate pipeline's token lives 30 days; revoke one by id, and every
    // `pipeline` token by subject (no user row has that id).
    let by_id = server.sign(&parley::pipeline_claims(now_secs() + 30 * 86_400)).await;
    let jti = parley::token_key(&server.db().await).await.unwrap().verify(&by_id, now_secs()).unwrap().jti;
    let by_subject = server.sign(&parley::pipeline_claims(now_secs() + 30 * 86_400)).await;
    assert_eq!(status(server.authed(Method::DELETE, &format!("/api/tokens/{jti}"), &admin)).await, 204);
    // (The server's clock stands still in this test: move it past the tokens' issue time.)
    hand.advance(Duration::from_secs(5));
    assert_eq!(status(server.authed(Method::POST, "/api/users/pipeline/revoke-tokens", &admin)).await, 204);
    // A token minted from a token that is then revoked goes with it.
    let user = server.token_for(&[("news", &[Op::Publish, Op::Subscribe])]).await;
    let minted: Value = server
        .authed(Method::POST, "/api/tokens", &user)
        .json(&json!({"permissions": [{"topic": "news", "ops": ["subscribe"]}], "ttl_seconds": 3600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let child = minted["token"].as_str().unwrap().to_owned();
    let parent_jti = parley::token_key(&server.db().await).await.unwrap().verify(&user, now_secs()).unwrap().jti;
    assert_eq!(status(server.authed(Method::GET, "/api/topics/news/items", &child)).await, 200);
    assert_eq!(status(server.authed(Method::DELETE, &format!("/api/tokens/{parent_jti}"), &admin)).await, 204);

    // A day and more later, after a restart.
    hand.advance(Duration::from_secs(26 * 3600));
    let server = server.restart().await;
    for (what, token) in [("by id", &by_id), ("by subject", &by_subject)] {
        let response = server.authed(Method::GET, "/api/topics/lobby-publish/items", token).send().await.unwrap();
        assert_eq!(response.status(), 401, "pipeline token revoked {what}");
        assert_eq!(error_code(response).await, "token_revoked");
    }
    let response = server.authed(Method::GET, "/api/topics/news/items", &child).send().await.unwrap();
    assert_eq!(response.status(), 401, "a child of a revoked token");
    // The node's own embedded pipeline is a subject of its own: still at work.
    let ana = server.join("Ana", "lobby", "en").await;
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let mut pt = server.subscribe("lobby-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();
    server
        .publish("lobby-publish", ana["token"].as_str().unwrap(), &json!({"text": "Good morning", "lang": "en"}))
        .await;
    assert_eq!(pt.next_item(Duration::from_secs(30)).await["value"]["lang"], "pt");
}

#[tokio::test]
async fn joining_again_multiplies_neither_the_publish_rate_nor_the_subscriptions() {
    // The defaults users get, with time standing still so nothing refills.
    let (clock, _hand) = parley::clock::Clock::manual(now_secs() * 1000);
    let server = TestServer::start_with(|c| {
        c.clock = clock;
        c.publish_rate = 20.0;
        c.publish_burst = 40;
        c.max_subscriptions_per_token = 16;
    })
    .await;
    let ana = server.guest("Ana").await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(server.join_as(&ana, "lobby", "en").await["token"].as_str().unwrap().to_owned());
    }
    let mut refused = None;
    for n in 0..50 {
        let response = server.publish("lobby-publish", &tokens[n % 5], &json!({"text": format!("hello {n}")})).await;
        if response.status() == 429 {
            refused = Some(n);
            break;
        }
    }
    assert_eq!(refused, Some(40), "the burst is the user's, however many tokens they hold");
    let mut open = Vec::new();
    for n in 0..16 {
        open.push(server.subscribe("lobby-subscribe-en", &tokens[n % 5], None).await.unwrap());
    }
    let refused = server.subscribe("lobby-subscribe-en", &tokens[0], None).await.err().expect("a 17th is refused");
    assert!(matches!(refused, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 429));
}

#[tokio::test]
async fn logins_are_limited_per_client_behind_a_trusted_proxy_and_per_account() {
    let server = TestServer::start_with(|c| c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    let signup =
        browser().post(server.url("/api/auth/signup")).json(&json!({"username": "ana", "password": "a long password"}));
    assert_eq!(status(signup).await, 201);
    let login = |from: String, username: &str| {
        reqwest::Client::new()
            .post(server.url("/api/auth/login"))
            .header("x-forwarded-for", from)
            .json(&json!({"username": username, "password": "wrong password"}))
    };
    // One client behind the proxy uses up its attempts; another is not locked out.
    for _ in 0..10 {
        assert_eq!(status(login("198.51.100.7".into(), "nobody")).await, 401);
    }
    assert_eq!(status(login("198.51.100.7".into(), "nobody")).await, 429);
    assert_eq!(status(login("198.51.100.8".into(), "someone")).await, 401, "a neighbour behind the same proxy");
    // Many addresses (an IPv6 pool) guessing one account get no more tries.
    for n in 0..10 {
        assert_eq!(status(login(format!("2001:db8:{n}::1"), "ana")).await, 401);
    }
    assert_eq!(status(login("2001:db8:99::1".into(), "ana")).await, 429, "per account");
    // Addresses within one /64 count as one.
    for n in 0..10 {
        assert_eq!(status(login(format!("2001:db8:aaaa:1::{n}"), &format!("user{n}"))).await, 401);
    }
    assert_eq!(status(login("2001:db8:aaaa:1::ffff".into(), "other")).await, 429);
}

#[tokio::test]
async fn signups_and_guests_are_throttled_with_the_cheap_checks_first() {
    let server = TestServer::start().await;
    // Twenty parallel sign-ups from one address: the default five get through.
    let attempts = (0..20).map(|n| {
        let url = server.url("/api/auth/signup");
        async move {
            let body = json!({"username": format!("user_{n}"), "password": "a long password"});
            browser().post(url).json(&body).send().await.unwrap().status().as_u16()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let created = statuses.iter().filter(|s| **s == 201).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((created, limited), (5, 15), "{statuses:?}");
    // Guests likewise (20 a minute by default).
    let mut guests = Vec::new();
    for n in 0..21 {
        let response = reqwest::Client::new()
            .post(server.url("/api/auth/guest"))
            .json(&json!({"display_name": format!("Guest {n}")}))
            .send()
            .await
            .unwrap();
        guests.push(response.status().as_u16());
    }
    assert_eq!(guests.iter().filter(|s| **s == 200).count(), 20, "{guests:?}");
    assert_eq!(guests.last(), Some(&429));
}

#[tokio::test]
async fn anonymous_callers_see_only_what_api_md_lists_of_rooms() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let room = json!({"languages": ["en", "pt"], "locked_languages": ["pt"], "block_words": ["secret"],
                      "daily_char_budget": 1000});
    assert_eq!(status(server.authed(Method::PUT, "/api/rooms/vip", &admin).json(&room)).await, 201);
    let anonymous: Value = reqwest::get(server.url("/api/rooms")).await.unwrap().json().await.unwrap();
    for room in anonymous["rooms"].as_array().unwrap() {
        let mut keys: Vec<&str> = room.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["languages", "moderation", "name", "title"], "{room}");
    }
    let ana = server.guest("Ana").await;
    let member: Value = ana.get(server.url("/api/rooms")).send().await.unwrap().json().await.unwrap();
    let vip = member["rooms"].as_array().unwrap().iter().find(|r| r["name"] == "vip").unwrap();
    assert_eq!(vip["locked_languages"], json!(["pt"]), "the padlocks, for signed-in users");
    assert!(vip.get("block_words").is_none() && vip.get("daily_char_budget").is_none(), "{vip}");
    let staff = server.get_json("/api/rooms", &admin).await;
    let vip = staff["rooms"].as_array().unwrap().iter().find(|r| r["name"] == "vip").unwrap();
    assert_eq!(vip["block_words"], json!(["secret"]));
    assert_eq!(vip["daily_char_budget"], 1000);
}

#[tokio::test]
async fn tokens_go_with_their_grant_their_room_and_their_session() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let room = json!({"languages": ["en", "pt"], "locked_languages": ["pt"]});
    assert_eq!(status(server.authed(Method::PUT, "/api/rooms/vip", &admin).json(&room)).await, 201);
    let bruno = server.guest("Bruno").await;
    let me: Value = bruno.get(server.url("/api/me")).send().await.unwrap().json().await.unwrap();
    let id = me["user"]["id"].as_str().unwrap().to_owned();
    let grant = json!({"room": "vip", "language": "pt"});
    let path = format!("/api/users/{id}/languages");
    assert_eq!(status(server.authed(Method::POST, &path, &admin).json(&grant)).await, 204);
    let joined = server.join_as(&bruno, "vip", "pt").await;
    let token = joined["token"].as_str().unwrap().to_owned();
    let mut stream = server.subscribe("vip-subscribe-pt", &token, None).await.unwrap();
    // The grant is withdrawn: the token that carried it stops working, and its stream closes.
    assert_eq!(status(server.authed(Method::DELETE, &path, &admin).json(&grant)).await, 204);
    let close = stream.closed(WITHIN).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4003);
    assert_eq!(status(server.authed(Method::GET, "/api/topics/vip-subscribe-pt/items", &token)).await, 401);

    // A deleted room takes its tokens along, even for a room made again under its name.
    let carla = server.guest("Carla").await;
    let token = server.join_as(&carla, "vip", "en").await["token"].as_str().unwrap().to_owned();
    assert_eq!(status(server.authed(Method::DELETE, "/api/rooms/vip", &admin)).await, 204);
    assert_eq!(status(server.authed(Method::PUT, "/api/rooms/vip", &admin).json(&room)).await, 201);
    assert_eq!(status(server.authed(Method::GET, "/api/topics/vip-subscribe-en/items", &token)).await, 401);
    let fresh = server.join_as(&carla, "vip", "en").await["token"].as_str().unwrap().to_owned();
    assert_eq!(status(server.authed(Method::GET, "/api/topics/vip-subscribe-en/items", &fresh)).await, 200);

    // Logging out ends the tokens the session handed out.
    assert_eq!(status(carla.post(server.url("/api/auth/logout"))).await, 204);
    assert_eq!(status(server.authed(Method::GET, "/api/topics/vip-subscribe-en/items", &fresh)).await, 401);
}

#[tokio::test]
async fn a_websocket_takes_its_token_from_the_subprotocol_header_not_the_url() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let server = TestServer::start().await;
    let token = server.token_for(&[("news", &[Op::Subscribe, Op::Publish])]).await;
    let mut request = format!("ws://{}/api/topics/news/subscribe", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", format!("parley, parley.token.{token}").parse().unwrap());
    let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "parley", "the server selects the plain protocol");
    // Publish only once the subscription is live, or the item may precede it.
    let mut subscription = Subscription::live(ws).await;
    assert_eq!(server.publish("news", &token, &json!({"n": 1})).await.status(), 200);
    assert_eq!(subscription.next_item(WITHIN).await["value"]["n"], 1);
    // The web UI builds its URLs without the token: `app::client::subscribe_path`'s unit test.
}

#[tokio::test]
async fn dot_topics_and_room_names_that_alias_other_rooms_are_refused() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for topic in [".", "..", "%2E%2E", "%2e"] {
        let response = server.publish(topic, &admin, &json!({"x": 1})).await;
        assert_eq!(response.status().as_u16() / 100, 4, "{topic}: {}", response.status());
        assert_ne!(response.status(), 200, "{topic}");
    }
    // Named in a body, where no URL normalisation stands in between.
    for topic in [".", "..", "..."] {
        let response = server
            .authed(Method::POST, "/api/topics", &admin)
            .json(&json!({"items": [{"topic": topic, "value": 1}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{topic}");
    }
    for room in ["friends-subscribe", "friends-subscribe-en", "x-publish", "talk-presence"] {
        let response = server
            .authed(Method::PUT, &format!("/api/rooms/{room}"), &admin)
            .json(&json!({"languages": ["en"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{room}");
    }
}

#[tokio::test]
async fn a_deleted_or_edited_message_is_gone_from_every_languages_history() {
    let server = TestServer::start().await;
    let ana = server.join("Ana", "lobby", "en").await;
    let token = ana["token"].as_str().unwrap();
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let mut pt = server.subscribe("lobby-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();
    let seq = server
        .publish("lobby-publish", token, &json!({"text": "My phone number is secret", "lang": "en"}))
        .await
        .json::<Value>()
        .await
        .unwrap()["seq"]
        .as_i64()
        .unwrap();
    pt.next_item(Duration::from_secs(30)).await;
    let edit = json!({"op": "edit", "target_seq": seq, "text": "Call me later", "lang": "en"});
    server.publish("lobby-publish", token, &edit).await;
    pt.next_item(Duration::from_secs(30)).await;
    // The earlier versions are replaced right after the new one is out.
    let admin = server.admin_token().await;
    let history_of = |lang: &'static str| {
        let (server, admin) = (&server, admin.clone());
        async move { server.get_json(&format!("/api/topics/lobby-subscribe-{lang}/items"), &admin).await }
    };
    for lang in ["en", "pt"] {
        eventually(WITHIN, &format!("{lang}: an edit leaves no earlier text"), || async move {
            let text = history_of(lang).await.to_string();
            (!text.contains("secret") && !text.contains("segredo")).then_some(())
        })
        .await;
    }
    server.publish("lobby-publish", token, &json!({"op": "delete", "target_seq": seq})).await;
    pt.next_item(Duration::from_secs(30)).await;
    for lang in ["en", "pt"] {
        eventually(WITHIN, &format!("{lang}: every version replayed is the deletion"), || async move {
            let history = history_of(lang).await;
            let items = history["items"].as_array()?.clone();
            let all_deleted =
                !items.is_empty() && items.iter().all(|i| i["value"]["deleted"] == true && i["value"]["text"] == "");
            all_deleted.then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn an_oversized_frame_gets_close_code_1009() {
    let server = TestServer::start().await;
    let token = server.token_for(&[("news", &[Op::Subscribe])]).await;
    let mut sub = server.subscribe("news", &token, None).await.unwrap();
    sub.send_text("x".repeat(64 * 1024)).await;
    let close = sub.closed(WITHIN).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1009);
}

#[tokio::test]
async fn a_client_that_never_answers_the_close_is_dropped() {
    let server = TestServer::start().await;
    let token = server.token_for(&[("news", &[Op::Subscribe])]).await;
    let claims = parley::token_key(&server.db().await).await.unwrap().verify(&token, now_secs()).unwrap();
    // A raw client: it upgrades, then never reads nor answers anything.
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let upgrade = format!(
        "GET /api/topics/news/subscribe?token={token} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    );
    tcp.write_all(upgrade.as_bytes()).await.unwrap();
    let mut buffer = [0u8; 4096];
    let n = tcp.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 101"));
    // The server closes the stream (revoked) and waits for an answer that never comes.
    let admin = server.admin_token().await;
    let revoke = format!("/api/tokens/{}", claims.jti);
    assert_eq!(status(server.authed(Method::DELETE, &revoke, &admin)).await, 204);
    let dropped = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match tcp.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(dropped.is_ok(), "the connection is dropped a few seconds after the unanswered close");
}

#[tokio::test]
async fn webhooks_may_not_reach_private_networks_through_ipv6_gateways() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for url in [
        "http://[64:ff9b::7f00:1]/hook",
        "http://[::7f00:1]/hook",
        "http://[2002:a9fe:a9fe::1]/hook",
        "http://198.18.0.1/hook",
        "http://240.0.0.1/hook",
    ] {
        let response = server
            .authed(Method::PUT, "/api/webhooks/probe", &admin)
            .json(&json!({"topic": "events", "url": url}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{url}");
    }
}
