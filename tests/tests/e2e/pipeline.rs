//! The whole path: publish → signed webhook → pipeline → per-language topics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::routing::post;
use parley_e2e::TestServer;
use parley_pipeline::signature::WebhookSecret;
use serde_json::{Value, json};

/// Translation runs on a real model in a debug build on a busy 2-core machine.
const WITHIN: Duration = Duration::from_secs(30);

#[tokio::test]
async fn english_arrives_translated_in_portuguese_and_unchanged_in_english() {
    let server = TestServer::start().await;
    let ana = server.join("Ana", "lobby", "en").await;
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let mut en = server.subscribe("lobby-subscribe-en", ana["token"].as_str().unwrap(), None).await.unwrap();
    let mut pt = server.subscribe("lobby-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();

    let response = server
        .publish(
            "lobby-publish",
            ana["token"].as_str().unwrap(),
            &json!({"text": "Can you send me the link?", "lang": "en"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let seq = response.json::<Value>().await.unwrap()["seq"].as_i64().unwrap();

    let pt_item = pt.next_item(WITHIN).await;
    let en_item = en.next_item(WITHIN).await;
    let (pt_msg, en_msg) = (&pt_item["value"], &en_item["value"]);
    assert_eq!(pt_msg["source_seq"], seq);
    assert_eq!(en_msg["source_seq"], seq);
    assert_eq!(pt_msg["id"], format!("lobby-publish:{seq}"));
    assert_eq!(pt_msg["id"], en_msg["id"]);

    assert_eq!(en_msg["text"], "Can you send me the link?");
    assert_eq!(en_msg["translated"], false);
    assert_eq!(en_msg["lang"], "en");

    assert_eq!(pt_msg["lang"], "pt");
    assert_eq!(pt_msg["translated"], true, "{pt_msg}");
    assert_eq!(pt_msg["provider"], "firefox");
    assert_eq!(pt_msg["original"]["lang"], "en");
    assert_eq!(pt_msg["original"]["text"], "Can you send me the link?");
    let text = pt_msg["text"].as_str().unwrap();
    assert!(text.contains("link") && text.contains("Você"), "a Portuguese translation: {text}");
    assert_eq!(pt_msg["author"]["name"], "Ana");
    // Published by the pipeline (the embedded one's own subject), never by a user.
    assert_eq!(pt_item["publisher"]["id"], "pipeline-embedded");
}

#[tokio::test]
async fn portuguese_arrives_translated_in_english() {
    let server = TestServer::start().await;
    let ana = server.join("Ana", "lobby", "en").await;
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let mut en = server.subscribe("lobby-subscribe-en", ana["token"].as_str().unwrap(), None).await.unwrap();
    let response = server
        .publish(
            "lobby-publish",
            bruno["token"].as_str().unwrap(),
            &json!({"text": "Você pode me enviar o link?", "lang": "pt"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let msg = en.next_item(WITHIN).await["value"].clone();
    assert_eq!(msg["original"]["lang"], "pt");
    assert_eq!(msg["translated"], true, "{msg}");
    assert_eq!(msg["text"], "Can you send me the link?");
    assert_eq!(msg["author"]["name"], "Bruno");
}

#[tokio::test]
async fn profanity_is_masked_on_every_language_topic() {
    let server = TestServer::start().await;
    let ana = server.join("Ana", "lobby", "en").await;
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let mut en = server.subscribe("lobby-subscribe-en", ana["token"].as_str().unwrap(), None).await.unwrap();
    let mut pt = server.subscribe("lobby-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();
    server
        .publish(
            "lobby-publish",
            ana["token"].as_str().unwrap(),
            &json!({"text": "hello, you fucking idiot", "lang": "en"}),
        )
        .await;
    for item in [en.next_item(WITHIN).await, pt.next_item(WITHIN).await] {
        let msg = &item["value"];
        let text = msg["text"].as_str().unwrap().to_lowercase();
        let original = msg["original"]["text"].as_str().unwrap().to_lowercase();
        assert!(!text.contains("fuck") && !original.contains("fuck"), "{msg}");
        assert_eq!(msg["moderation"]["action"], "masked", "{msg}");
        assert!(original.contains('*'), "{msg}");
    }
}

#[tokio::test]
async fn history_is_replayed_with_resume_after() {
    let server = TestServer::start().await;
    let ana = server.join("Ana", "lobby", "en").await;
    let token = ana["token"].as_str().unwrap();
    for text in ["first message", "second message"] {
        server.publish("lobby-publish", token, &json!({"text": text, "lang": "en"})).await;
    }
    // Wait for both to be republished, then read them from the start.
    let mut live = server.subscribe("lobby-subscribe-en", token, Some(0)).await.unwrap();
    let a = live.next_item(WITHIN).await;
    let b = live.next_item(WITHIN).await;
    let mut texts = [a["value"]["text"].as_str().unwrap().to_owned(), b["value"]["text"].as_str().unwrap().to_owned()];
    texts.sort();
    assert_eq!(texts, ["first message", "second message"]);
    assert_eq!(b["seq"].as_i64().unwrap(), a["seq"].as_i64().unwrap() + 1);
    let mut resumed = server.subscribe("lobby-subscribe-en", token, a["seq"].as_i64()).await.unwrap();
    assert_eq!(resumed.next_item(WITHIN).await["seq"], b["seq"]);
}

async fn pipeline_secret(server: &TestServer) -> WebhookSecret {
    let db = server.db().await;
    let text = parley::db::setting_or_init(&db, "pipeline_webhook_secret", || unreachable!()).await.unwrap();
    WebhookSecret::parse(&text).unwrap()
}

#[tokio::test]
async fn the_pipeline_intake_rejects_wrong_missing_and_stale_signatures() {
    let server = TestServer::start().await;
    let secret = pipeline_secret(&server).await;
    let body = json!({"topic": "lobby-publish", "seq": 999, "published_at": "2026-11-28T22:00:00.000Z",
                      "publisher": {"id": "u_x", "name": "X"}, "value": {"text": "hello"}})
    .to_string();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let send = |id: &'static str, ts: Option<i64>, sig: Option<String>| {
        let mut request = reqwest::Client::new()
            .post(server.url("/pipeline/webhook"))
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .body(body.clone());
        if let Some(ts) = ts {
            request = request.header("webhook-timestamp", ts.to_string());
        }
        if let Some(sig) = sig {
            request = request.header("webhook-signature", sig);
        }
        request.send()
    };
    let wrong = WebhookSecret::generate().sign("msg_1", now, body.as_bytes());
    let response = send("msg_1", Some(now), Some(wrong)).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(parley_e2e::error_code(response).await, "invalid_signature");

    assert_eq!(send("msg_2", Some(now), None).await.unwrap().status(), 401);
    assert_eq!(send("msg_3", None, Some(secret.sign("msg_3", now, body.as_bytes()))).await.unwrap().status(), 401);

    let stale = now - 600;
    let response = send("msg_4", Some(stale), Some(secret.sign("msg_4", stale, body.as_bytes()))).await.unwrap();
    assert_eq!(response.status(), 401);

    let tampered = secret.sign("msg_5", now, b"{\"other\":1}");
    assert_eq!(send("msg_5", Some(now), Some(tampered)).await.unwrap().status(), 401);

    // Headers that are not UTF-8 are refused like missing ones, never with a 500.
    let response = reqwest::Client::new()
        .post(server.url("/pipeline/webhook"))
        .header("webhook-id", reqwest::header::HeaderValue::from_bytes(b"msg_\xff").unwrap())
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", reqwest::header::HeaderValue::from_bytes(b"v1,\xfe").unwrap())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // The same request correctly signed is accepted: the checks above are not blanket refusals.
    let good = secret.sign("msg_6", now, body.as_bytes());
    assert_eq!(send("msg_6", Some(now), Some(good)).await.unwrap().status(), 200);
}

/// A LibreTranslate stand-in speaking its documented `/translate` wire format.
pub(crate) async fn fake_libretranslate() -> String {
    slow_libretranslate(Duration::ZERO).await
}

/// [`fake_libretranslate`] taking `delay` over each translation, as a remote
/// provider does: deliveries stay in flight long enough to be cut by a crash.
pub(crate) async fn slow_libretranslate(delay: Duration) -> String {
    let translate = move |Json(request): Json<Value>| async move {
        let (q, source, target) = (&request["q"], &request["source"], &request["target"]);
        if target == "xx" {
            return Err((axum::http::StatusCode::BAD_REQUEST, Json(json!({"error": "xx is not supported"}))));
        }
        assert_eq!(request["format"], "text");
        tokio::time::sleep(delay).await;
        Ok(Json(
            json!({ "translatedText": format!("[{}→{}] {}", source.as_str().unwrap(), target.as_str().unwrap(), q.as_str().unwrap()) }),
        ))
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/translate", post(translate));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn the_libretranslate_provider_translates_over_http() {
    let url = fake_libretranslate().await;
    let server = TestServer::start_with(|config| {
        config.translators = vec![parley::ProviderConfig::LibreTranslate { url, api_key: None }];
    })
    .await;
    let ana = server.join("Ana", "lobby", "en").await;
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let mut pt = server.subscribe("lobby-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();
    server
        .publish(
            "lobby-publish",
            ana["token"].as_str().unwrap(),
            &json!({"text": "Can you send me the link?", "lang": "en"}),
        )
        .await;
    let msg = pt.next_item(WITHIN).await["value"].clone();
    assert_eq!(msg["text"], "[en→pt] Can you send me the link?");
    assert_eq!(msg["provider"], "libretranslate");
    assert_eq!(msg["translated"], true);
}

#[tokio::test]
async fn a_pair_without_a_model_is_delivered_untranslated_with_a_note() {
    let empty = parley_e2e::TempDir::new("parley-no-models");
    let models_dir = empty.0.clone();
    let models_dir_text = models_dir.display().to_string();
    let server = TestServer::start_with(|config| {
        config.translators = vec![parley::ProviderConfig::Firefox { models_dir }];
    })
    .await;
    let ana = server.join("Ana", "lobby", "en").await;
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let mut pt = server.subscribe("lobby-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();
    server
        .publish(
            "lobby-publish",
            ana["token"].as_str().unwrap(),
            &json!({"text": "Can you send me the link?", "lang": "en"}),
        )
        .await;
    let msg = pt.next_item(WITHIN).await["value"].clone();
    assert_eq!(msg["translated"], false);
    assert_eq!(msg["text"], "Can you send me the link?");
    let note = msg["note"].as_str().unwrap();
    assert!(note.contains("no en→pt translation"), "{note}");
    assert!(!note.contains(&*models_dir_text), "the models' directory stays in the log: {note}");
}

#[tokio::test]
async fn a_redelivered_webhook_is_applied_once() {
    let server = TestServer::start().await;
    let secret = pipeline_secret(&server).await;
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let mut pt = server.subscribe("lobby-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();
    let body = |seq: i64, text: &str| {
        json!({"topic": "lobby-publish", "seq": seq, "published_at": "2026-11-28T22:00:00.000Z",
               "publisher": {"id": "u_x", "name": "X"}, "value": {"text": text, "lang": "en"}})
        .to_string()
    };
    let deliver = |id: &'static str, body: String| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = secret.sign(id, now, body.as_bytes());
        reqwest::Client::new()
            .post(server.url("/pipeline/webhook"))
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
    };
    // The same message three times: twice under one webhook-id (a retry), once
    // under another (as a second pipeline or a restarted one would see it).
    for id in ["msg_a", "msg_a", "msg_b"] {
        assert_eq!(deliver(id, body(100, "Good morning")).await.unwrap().status(), 200);
    }
    // And concurrently, as two pipelines behind one URL would.
    let (a, b) = tokio::join!(deliver("msg_d", body(100, "Good morning")), deliver("msg_e", body(100, "Good morning")));
    assert_eq!((a.unwrap().status().as_u16(), b.unwrap().status().as_u16()), (200, 200));
    // And one webhook-id twice at once (a retry racing the first attempt).
    let (a, b) = tokio::join!(deliver("msg_f", body(100, "Good morning")), deliver("msg_f", body(100, "Good morning")));
    assert_eq!((a.unwrap().status().as_u16(), b.unwrap().status().as_u16()), (200, 200));
    assert_eq!(deliver("msg_c", body(101, "Good night")).await.unwrap().status(), 200);
    assert_eq!(pt.next_item(WITHIN).await["value"]["source_seq"], 100);
    assert_eq!(pt.next_item(WITHIN).await["value"]["source_seq"], 101, "no second copy of 100");
}

/// How a provider fails until it recovers.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// It answers with this status (429 with `Retry-After`).
    Status(u16),
    /// Nothing listens on its port.
    Down,
}

/// A LibreTranslate stand-in that fails as `fault` says until `up` is set.
async fn flaky_libretranslate(up: Arc<AtomicBool>, fault: Fault, listener: tokio::net::TcpListener) {
    let app = axum::Router::new().route(
        "/translate",
        post(move |Json(request): Json<Value>| {
            let up = up.clone();
            async move {
                if !up.load(Ordering::SeqCst)
                    && let Fault::Status(code) = fault
                {
                    let status = axum::http::StatusCode::from_u16(code).unwrap();
                    return Err((status, [("retry-after", "1")], Json(json!({"error": "not now"}))));
                }
                Ok(Json(json!({ "translatedText": format!("[pt] {}", request["q"].as_str().unwrap()) })))
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// The provider fails as `fault` says: the original arrives at once with a
/// note, the server stays ready and its metrics show the provider down; once
/// the provider recovers, the translation replaces the original under the same id.
async fn outage_then_recovery(fault: Fault) {
    let up = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}");
    let parked = match fault {
        Fault::Status(_) => {
            flaky_libretranslate(up.clone(), fault, listener).await;
            None
        }
        // Closed now; the provider comes up on the same port later.
        Fault::Down => {
            drop(listener);
            Some(addr)
        }
    };
    let server = TestServer::start_with(|config| {
        config.translators = vec![parley::ProviderConfig::LibreTranslate { url, api_key: None }];
    })
    .await;
    let ana = server.join("Ana", "lobby", "en").await;
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let mut pt = server.subscribe("lobby-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();
    server
        .publish(
            "lobby-publish",
            ana["token"].as_str().unwrap(),
            &json!({"text": "Good morning everyone", "lang": "en"}),
        )
        .await;
    let first = pt.next_item(WITHIN).await["value"].clone();
    assert_eq!(first["translated"], false, "{fault:?}");
    assert_eq!(first["text"], "Good morning everyone");
    let note = first["note"].as_str().unwrap();
    assert!(note.contains("follows"), "{first}");
    assert!(
        !note.contains(&addr.to_string()) && !note.contains("http"),
        "the provider's address stays in the log: {note}"
    );
    assert_eq!(reqwest::get(server.url("/readyz")).await.unwrap().status(), 200, "the server itself is ready");
    let failures = server.metric("parley_translation_provider_failures_total").await;
    assert!(failures > 0, "{fault:?}: the metrics count the provider's failures");

    up.store(true, Ordering::SeqCst);
    if let Some(addr) = parked {
        flaky_libretranslate(up.clone(), fault, tokio::net::TcpListener::bind(addr).await.unwrap()).await;
    }
    let second = pt.next_item(Duration::from_secs(60)).await["value"].clone();
    assert_eq!(second["id"], first["id"], "{fault:?}: the translation replaces the original");
    assert_eq!(second["translated"], true);
    assert_eq!(second["text"], "[pt] Good morning everyone");
}

#[tokio::test]
async fn a_provider_answering_503_delivers_the_original_then_the_translation_under_the_same_id() {
    outage_then_recovery(Fault::Status(503)).await;
}

#[tokio::test]
async fn a_provider_rate_limiting_with_429_delivers_the_original_then_the_translation() {
    outage_then_recovery(Fault::Status(429)).await;
}

#[tokio::test]
async fn a_provider_failing_with_500_delivers_the_original_then_the_translation() {
    outage_then_recovery(Fault::Status(500)).await;
}

#[tokio::test]
async fn a_provider_that_is_down_delivers_the_original_then_the_translation() {
    outage_then_recovery(Fault::Down).await;
}

#[tokio::test]
async fn an_admin_changes_a_rooms_languages_and_words_without_a_restart() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let put = |body: Value, token: String| {
        reqwest::Client::new().put(server.url("/api/rooms/cafe")).bearer_auth(token).json(&body).send()
    };
    let user = server.join("Ana", "lobby", "en").await["token"].as_str().unwrap().to_owned();
    assert_eq!(put(json!({"languages": ["en"]}), user).await.unwrap().status(), 403);
    for bad in
        [json!({"languages": []}), json!({"languages": ["xx"]}), json!({"languages": ["en"], "moderation": "nuke"})]
    {
        assert_eq!(put(bad.clone(), admin.clone()).await.unwrap().status(), 422, "{bad}");
    }
    let response = put(json!({"title": "Café", "languages": ["en"]}), admin.clone()).await.unwrap();
    assert_eq!(response.status(), 201);

    let ana = server.join("Ana", "cafe", "en").await;
    let mut en = server.subscribe("cafe-subscribe-en", ana["token"].as_str().unwrap(), None).await.unwrap();
    server.publish("cafe-publish", ana["token"].as_str().unwrap(), &json!({"text": "first", "lang": "en"})).await;
    assert_eq!(en.next_item(WITHIN).await["value"]["text"], "first", "a new room is wired to the pipeline");

    // Add Portuguese and a room word; the next message sees both.
    let response = put(json!({"languages": ["en", "pt"], "block_words": ["pineapple"]}), admin.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    let bruno = server.join("Bruno", "cafe", "pt").await;
    // From the topic's start: the backfill may land before the subscription is live.
    let mut pt = server.subscribe("cafe-subscribe-pt", bruno["token"].as_str().unwrap(), Some(0)).await.unwrap();
    server
        .publish(
            "cafe-publish",
            ana["token"].as_str().unwrap(),
            &json!({"text": "I love pineapple pizza", "lang": "en"}),
        )
        .await;
    // Portuguese's first reader also gets the earlier message, translated.
    let (a, b) = (pt.next_item(WITHIN).await["value"].clone(), pt.next_item(WITHIN).await["value"].clone());
    let (msg, backfilled) = if a["original"]["text"] == "first" { (b, a) } else { (a, b) };
    assert_eq!(backfilled["original"]["text"], "first");
    assert_eq!(msg["lang"], "pt");
    assert_eq!(msg["original"]["text"], "I love ********* pizza");
    assert_eq!(msg["moderation"]["action"], "masked");

    let response = server.authed(reqwest::Method::DELETE, "/api/rooms/cafe", &admin).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let rooms: Value = reqwest::get(server.url("/api/rooms")).await.unwrap().json().await.unwrap();
    assert!(rooms["rooms"].as_array().unwrap().iter().all(|r| r["name"] != "cafe"));
}

#[tokio::test]
async fn edits_and_deletes_reach_every_language_with_the_same_id_and_a_higher_version() {
    let server = TestServer::start().await;
    let ana = server.join("Ana", "lobby", "en").await;
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let (ana_token, bruno_token) = (ana["token"].as_str().unwrap(), bruno["token"].as_str().unwrap());
    let mut en = server.subscribe("lobby-subscribe-en", ana_token, None).await.unwrap();
    let mut pt = server.subscribe("lobby-subscribe-pt", bruno_token, None).await.unwrap();
    let seq = server
        .publish("lobby-publish", ana_token, &json!({"text": "Can you send me the link?", "lang": "en"}))
        .await
        .json::<Value>()
        .await
        .unwrap()["seq"]
        .as_i64()
        .unwrap();
    let original = pt.next_item(WITHIN).await["value"].clone();
    en.next_item(WITHIN).await;

    // Someone else's edit is ignored; the author's is re-moderated and re-translated.
    let forged = json!({"op": "edit", "target_seq": seq, "text": "hacked", "lang": "pt"});
    assert_eq!(server.publish("lobby-publish", bruno_token, &forged).await.status(), 200);
    let edit = json!({"op": "edit", "target_seq": seq, "text": "Can you send me the shit?", "lang": "en"});
    server.publish("lobby-publish", ana_token, &edit).await;
    for sub in [&mut en, &mut pt] {
        let edited = sub.next_item(WITHIN).await["value"].clone();
        assert_eq!(edited["id"], original["id"]);
        assert_eq!(edited["source_seq"], seq);
        assert_eq!(edited["edited"], true);
        assert!(edited["version"].as_i64().unwrap() > original["version"].as_i64().unwrap());
        assert!(!edited["original"]["text"].as_str().unwrap().contains("shit"), "{edited}");
        assert_eq!(edited["moderation"]["action"], "masked");
    }
    server.publish("lobby-publish", ana_token, &json!({"op": "delete", "target_seq": seq})).await;
    for sub in [&mut en, &mut pt] {
        let deleted = sub.next_item(WITHIN).await["value"].clone();
        assert_eq!((deleted["id"].clone(), deleted["deleted"].clone()), (original["id"].clone(), json!(true)));
        assert_eq!(deleted["text"], "");
        assert_eq!(deleted["original"]["text"], "");
    }
}

#[tokio::test]
async fn a_30_second_provider_does_not_hold_the_webhook_past_10_seconds() {
    // A provider that takes 30 s: the pipeline gives up on it after its
    // timeout, delivers the original, and answers the webhook quickly.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/translate",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Json(json!({"translatedText": "too late"}))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let server = TestServer::start_with(|config| {
        config.translators = vec![parley::ProviderConfig::LibreTranslate { url, api_key: None }];
    })
    .await;
    let secret = pipeline_secret(&server).await;
    server.join("Bruno", "lobby", "pt").await;
    let body = json!({"topic": "lobby-publish", "seq": 7, "published_at": "2026-11-28T22:00:00.000Z",
                      "publisher": {"id": "u_x", "name": "X"}, "value": {"text": "Hello there friends", "lang": "en"}})
    .to_string();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let started = std::time::Instant::now();
    let response = reqwest::Client::new()
        .post(server.url("/pipeline/webhook"))
        .header("content-type", "application/json")
        .header("webhook-id", "msg_slow")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", secret.sign("msg_slow", now, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "answered after {:?}", started.elapsed());
    // Delivered untranslated; the sender is asked to come back for the translation.
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
}

/// The embedded pipeline checks each delivery's signature time against the
/// server's clock, not the system's: with the server's clock a day ahead,
/// its signatures would be refused as replays by any other clock.
#[tokio::test]
async fn the_embedded_pipeline_keeps_the_servers_time() {
    let day_ahead = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 + 24 * 60 * 60 * 1000;
    let (clock, _hand) = parley::clock::Clock::manual(day_ahead);
    let server = TestServer::start_with(|config| config.clock = clock).await;
    let ana = server.join("Ana", "lobby", "en").await;
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let mut pt = server.subscribe("lobby-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();
    let response = server
        .publish("lobby-publish", ana["token"].as_str().unwrap(), &json!({"text": "Good morning", "lang": "en"}))
        .await;
    assert_eq!(response.status(), 200);
    let item = pt.next_item(WITHIN).await;
    assert_eq!(
        (item["value"]["lang"].as_str(), item["value"]["translated"].as_bool()),
        (Some("pt"), Some(true)),
        "{item}"
    );
}
