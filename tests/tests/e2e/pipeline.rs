//! The whole path: publish → signed webhook → pipeline → per-language topics.

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
    // Published by the pipeline, never by a user.
    assert_eq!(pt_item["publisher"]["id"], "pipeline");
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
    let db = parley::db::connect(&format!("sqlite://{}", server.db_path.display())).await.unwrap();
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
async fn fake_libretranslate() -> String {
    async fn translate(Json(request): Json<Value>) -> Result<Json<Value>, (axum::http::StatusCode, Json<Value>)> {
        let (q, source, target) = (&request["q"], &request["source"], &request["target"]);
        if target == "xx" {
            return Err((axum::http::StatusCode::BAD_REQUEST, Json(json!({"error": "xx is not supported"}))));
        }
        assert_eq!(request["format"], "text");
        Ok(Json(
            json!({ "translatedText": format!("[{}→{}] {}", source.as_str().unwrap(), target.as_str().unwrap(), q.as_str().unwrap()) }),
        ))
    }
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
    assert!(note.contains("no en→pt model"), "{note}");
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
    assert_eq!(deliver("msg_c", body(101, "Good night")).await.unwrap().status(), 200);
    assert_eq!(pt.next_item(WITHIN).await["value"]["source_seq"], 100);
    assert_eq!(pt.next_item(WITHIN).await["value"]["source_seq"], 101, "no second copy of 100");
}
