//! The topics API: permissions, limits and error bodies.

use std::time::Duration;

use parley_e2e::{Endpoint, TestServer, error_code, eventually};
use serde_json::json;
use tokio_tungstenite::tungstenite;

const WITHIN: Duration = Duration::from_secs(10);

fn status_of(error: tungstenite::Error) -> u16 {
    match error {
        tungstenite::Error::Http(response) => response.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

#[tokio::test]
async fn a_pt_join_token_cannot_read_the_publish_topic_or_another_language() {
    let server = TestServer::start().await;
    let joined = server.join("Bruno", "lobby", "pt").await;
    let token = joined["token"].as_str().unwrap();
    assert_eq!(joined["publish_topic"], "lobby-publish");
    assert_eq!(joined["subscribe_topic"], "lobby-subscribe-pt");
    for topic in ["lobby-publish", "lobby-subscribe-en", "other-subscribe-pt"] {
        let refused = server.subscribe(topic, token, None).await.err().expect("refused");
        assert_eq!(status_of(refused), 403, "{topic}");
    }
    // Nor can it publish into a language topic.
    let response = server.publish("lobby-subscribe-pt", token, &json!({"text": "forged"})).await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "forbidden");
    // Its own language works.
    server.subscribe("lobby-subscribe-pt", token, None).await.unwrap();
}

#[tokio::test]
async fn missing_forged_and_absent_tokens_get_401() {
    let server = TestServer::start().await;
    let refused = server.subscribe("lobby-subscribe-en", "pt_forged.token", None).await.err().unwrap();
    assert_eq!(status_of(refused), 401);
    let response = reqwest::Client::new()
        .post(server.url("/api/topics/lobby-publish"))
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "unauthenticated");
    let response = server.publish("lobby-publish", "pt_nope.nope", &json!({"text": "hi"})).await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "invalid_token");
}

#[tokio::test]
async fn joining_a_language_the_room_does_not_have_is_refused() {
    let server = TestServer::start().await;
    let client = server.guest("Carla").await;
    let response =
        client.post(server.url("/api/rooms/lobby/join")).json(&json!({"language": "de"})).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let response =
        client.post(server.url("/api/rooms/nowhere/join")).json(&json!({"language": "en"})).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(response).await, "not_found");
    // Without a session there is nobody to join as.
    let response = reqwest::Client::new()
        .post(server.url("/api/rooms/lobby/join"))
        .json(&json!({"language": "en"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_publish_over_16_kib_gets_413_and_malformed_json_gets_400() {
    let server = TestServer::start().await;
    let joined = server.join("Ana", "lobby", "en").await;
    let token = joined["token"].as_str().unwrap();
    let big = json!({ "text": "a".repeat(16 * 1024) });
    let response = server.publish("lobby-publish", token, &big).await;
    assert_eq!(response.status(), 413);
    assert_eq!(error_code(response).await, "payload_too_large");

    let response = reqwest::Client::new()
        .post(server.url("/api/topics/lobby-publish"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{\"text\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "malformed_json");

    let response = reqwest::Client::new()
        .post(server.url("/api/auth/guest"))
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "malformed_json");

    // A bad topic name and an unknown route answer in the same error shape.
    let response = server.publish("bad%20name", token, &json!({})).await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "bad_request");
    let response = reqwest::get(server.url("/api/nothing-here")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(response).await, "not_found");
}

#[tokio::test]
async fn the_server_stamps_the_publisher_and_numbers_items_per_topic() {
    let server = TestServer::start().await;
    let ana = server.join("Ana", "lobby", "en").await;
    let token = ana["token"].as_str().unwrap();
    let mut seqs = Vec::new();
    for i in 0..3 {
        let body = json!({"text": format!("message {i}"), "publisher": {"id": "u_forged", "name": "Mallory"}});
        let response = server.publish("lobby-publish", token, &body).await;
        assert_eq!(response.status(), 200);
        let answer: serde_json::Value = response.json().await.unwrap();
        seqs.push(answer["seq"].as_i64().unwrap());
    }
    assert_eq!(seqs, vec![1, 2, 3]);
    // Every language sees the author the server stamped, not the one in the body.
    let en = server.subscribe("lobby-subscribe-en", token, Some(0)).await.unwrap();
    let mut en = en;
    let item = en.next_item(WITHIN * 3).await;
    assert_eq!(item["value"]["author"]["name"], "Ana");
    assert_ne!(item["value"]["author"]["id"], "u_forged");
}

#[tokio::test]
async fn cross_site_posts_are_rejected() {
    let server = TestServer::start().await;
    let response = reqwest::Client::new()
        .post(server.url("/api/auth/guest"))
        .header("origin", "https://evil.example")
        .json(&json!({"display_name": "Eve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "csrf_rejected");
    let response = reqwest::Client::new()
        .post(server.url("/api/auth/guest"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"display_name": "Eve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn a_database_failure_answers_a_generic_500_and_leaks_nothing() {
    let server = TestServer::start().await;
    let token = server.token_for(&[("doomed", &[parley::auth::Op::Publish])]).await;
    // Break the database under the running server.
    sqlx::query("drop table items").execute(&server.db().await).await.unwrap();
    let response = server.publish("doomed", &token, &json!({"n": 1})).await;
    assert_eq!(response.status(), 500);
    let body = response.text().await.unwrap();
    assert_eq!(body, r#"{"error":{"code":"internal","message":"internal error"}}"#);
}

#[tokio::test]
async fn presence_topics_carry_who_is_online_and_nothing_else() {
    let server = TestServer::start().await;
    let joined = server.join("Ana", "lobby", "pt").await;
    let token = joined["token"].as_str().unwrap();
    assert_eq!(joined["presence_topic"], "lobby-presence");
    let mut presence = server.subscribe("lobby-presence", token, None).await.unwrap();
    let response = server.publish("lobby-presence", token, &json!({"kind": "typing"})).await;
    assert_eq!(response.status(), 200);
    let item = presence.next_item(WITHIN).await;
    assert_eq!((item["value"]["kind"].as_str(), item["publisher"]["name"].as_str()), (Some("typing"), Some("Ana")));
    for smuggled in [json!({"kind": "typing", "text": "unmoderated"}), json!({"kind": "shouting"}), json!("hello")] {
        let response = server.publish("lobby-presence", token, &smuggled).await;
        assert_eq!(response.status(), 422, "{smuggled}");
    }
}

#[tokio::test]
async fn resuming_after_more_than_a_topic_has_still_gets_what_comes_next() {
    let server = TestServer::start().await;
    let token = server.token_for(&[("short", &[parley::auth::Op::Publish, parley::auth::Op::Subscribe])]).await;
    server.publish("short", &token, &json!({"n": 1})).await;
    let mut sub = server.subscribe("short", &token, Some(1_000_000)).await.unwrap();
    server.publish("short", &token, &json!({"n": 2})).await;
    assert_eq!(sub.next_item(WITHIN).await["seq"], 2);
}

#[tokio::test]
async fn room_messages_read_in_a_language_the_reader_may_read() {
    let server = TestServer::start().await;
    let ana = server.guest("Ana").await;
    let joined = server.join_as(&ana, "lobby", "en").await;
    let token = joined["token"].as_str().unwrap();
    let mut en = server.subscribe("lobby-subscribe-en", token, None).await.unwrap();
    let seq = server
        .publish("lobby-publish", token, &json!({"text": "first draft", "lang": "en"}))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["seq"]
        .clone();
    en.next_item(WITHIN * 3).await;
    server
        .publish("lobby-publish", token, &json!({"op": "edit", "target_seq": seq, "text": "final text", "lang": "en"}))
        .await;
    en.next_item(WITHIN * 3).await;
    let page: serde_json::Value =
        ana.get(server.url("/api/rooms/lobby/messages?lang=en")).send().await.unwrap().json().await.unwrap();
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "one message, at its newest version: {page}");
    assert_eq!(messages[0]["text"], "final text");
    let response = ana.get(server.url("/api/rooms/lobby/messages?lang=de")).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let response = reqwest::get(server.url("/api/rooms/lobby/messages?lang=en")).await.unwrap();
    assert_eq!(response.status(), 401);
}

/// Publishes `value` to `topic` with an optional idempotency key; returns (seq, duplicate).
async fn publish_keyed(server: &Endpoint, topic: &str, token: &str, n: usize, key: Option<&str>) -> (i64, bool) {
    let mut request =
        server.authed(reqwest::Method::POST, &format!("/api/topics/{topic}"), token).json(&json!({"n": n}));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{topic} {n}");
    let answer: serde_json::Value = response.json().await.unwrap();
    (answer["seq"].as_i64().unwrap(), answer["duplicate"].as_bool().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_queued_behind_a_transaction_commit_together_in_order_without_gaps() {
    let server = TestServer::start().await;
    let ops = [parley::auth::Op::Publish, parley::auth::Op::Subscribe];
    let token = server.token_for(&[("batched", &ops), ("batched-other", &ops)]).await;
    assert_eq!(publish_keyed(&server, "batched", &token, 0, Some("old")).await, (1, false));
    let mut live = server.subscribe("batched", &token, None).await.unwrap();

    // Another connection holds the topic's row (and on SQLite the write lock),
    // so the next batch stops at its first statement.
    let db = server.db().await;
    let mut holder = db.begin().await.unwrap();
    sqlx::query("update topics set last_seq = last_seq where name = 'batched'").execute(&mut *holder).await.unwrap();
    let batches = server.metric("parley_publish_batches_total").await;
    let first = tokio::spawn({
        let (server, token) = (Endpoint::at(server.addr), token.clone());
        async move { publish_keyed(&server, "batched", &token, 1, None).await }
    });
    eventually(WITHIN, "the first batch waits on the lock", || async {
        (server.metric("parley_publish_batches_total").await == batches + 1).then_some(())
    })
    .await;
    // Twenty more queue behind it: plain items, one key four times, a key used
    // before, and a topic that does not exist yet.
    let plan: Vec<(&str, Option<&str>)> = (0..12)
        .map(|_| ("batched", None))
        .chain((0..4).map(|_| ("batched", Some("same"))))
        .chain([("batched", Some("old"))])
        .chain((0..3).map(|_| ("batched-other", None)))
        .collect();
    let queued: Vec<_> = plan
        .iter()
        .enumerate()
        .map(|(n, &(topic, key))| {
            let (server, token, key) = (Endpoint::at(server.addr), token.clone(), key.map(str::to_owned));
            tokio::spawn(async move { publish_keyed(&server, topic, &token, n + 2, key.as_deref()).await })
        })
        .collect();
    eventually(WITHIN, "twenty publishes queue up", || async {
        (server.metric("parley_publish_queue").await == 20).then_some(())
    })
    .await;
    holder.rollback().await.unwrap();

    assert_eq!(first.await.unwrap(), (2, false));
    let mut answers = Vec::new();
    for task in queued {
        answers.push(task.await.unwrap());
    }
    assert_eq!(server.metric("parley_publish_batches_total").await, batches + 2, "the twenty shared one transaction");
    let mut fresh: Vec<i64> = answers[..16].iter().filter(|a| !a.1).map(|a| a.0).collect();
    fresh.sort_unstable();
    assert_eq!(fresh, (3..=15).collect::<Vec<_>>(), "twelve plain items and one keyed: the next seqs, no gap");
    let same: Vec<_> = answers[12..16].to_vec();
    assert!(same.iter().all(|a| a.0 == same[0].0), "one key, one seq: {same:?}");
    assert_eq!(same.iter().filter(|a| !a.1).count(), 1, "exactly one of a key's publishes appends: {same:?}");
    assert_eq!(answers[16], (1, true), "a key used in an earlier transaction answers its first seq");
    let mut other: Vec<i64> = answers[17..].iter().map(|a| a.0).collect();
    other.sort_unstable();
    assert_eq!(other, vec![1, 2, 3], "a topic created inside the batch");

    // The live subscriber got every new item once, in seq order.
    for seq in 2..=15 {
        assert_eq!(live.next_item(WITHIN).await["seq"], seq);
    }
}

/// `POST /api/topics` with `items`; returns the status and the body.
async fn publish_batch(server: &TestServer, token: &str, items: serde_json::Value) -> (u16, serde_json::Value) {
    let response =
        server.authed(reqwest::Method::POST, "/api/topics", token).json(&json!({"items": items})).send().await;
    let response = response.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_batch_publish_appends_to_several_topics_at_once_and_keeps_idempotency() {
    let server = TestServer::start().await;
    let ops = [parley::auth::Op::Publish, parley::auth::Op::Subscribe];
    let token = server.token_for(&[("multi-a", &ops), ("multi-b", &ops)]).await;
    let mut a = server.subscribe("multi-a", &token, None).await.unwrap();
    let items = json!([
        {"topic": "multi-a", "value": {"n": 1}, "idempotency_key": "k1"},
        {"topic": "multi-b", "value": "plain text"},
        {"topic": "multi-a", "value": {"n": 2}},
        {"topic": "multi-a", "value": {"n": 1}, "idempotency_key": "k1"},
    ]);
    let (status, body) = publish_batch(&server, &token, items.clone()).await;
    assert_eq!(status, 200, "{body}");
    let answers: Vec<(i64, bool)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["seq"].as_i64().unwrap(), a["duplicate"].as_bool().unwrap()))
        .collect();
    assert_eq!(answers, [(1, false), (1, false), (2, false), (1, true)]);
    let first = a.next_item(WITHIN).await;
    assert_eq!(first["value"]["n"], 1);
    assert_eq!(a.next_item(WITHIN).await["value"]["n"], 2);
    // The same request again (a retry): every key-less item appends again, the keyed one does not.
    let (_, again) = publish_batch(&server, &token, items).await;
    assert_eq!(again["items"][0]["duplicate"], true);
    assert_eq!(again["items"][2]["seq"], 3);
    let history: serde_json::Value = server.get_json("/api/topics/multi-b/items", &token).await;
    assert_eq!(history["items"][0]["value"], "plain text");
    assert_eq!(history["items"][0]["publisher"], first["publisher"], "one publisher, stamped by the server");
}

#[tokio::test]
async fn a_batch_publish_with_one_bad_item_appends_nothing() {
    let server = TestServer::start_with(|c| c.publish_burst = 5).await;
    let ops = [parley::auth::Op::Publish, parley::auth::Op::Subscribe];
    let token = server.token_for(&[("mine", &ops), ("mine-presence", &ops)]).await;
    let good = json!({"topic": "mine", "value": {"ok": true}});
    let cases = [
        (json!([good, {"topic": "theirs", "value": 1}]), 403, "forbidden"),
        (json!([good, {"topic": "bad name", "value": 1}]), 400, "bad_request"),
        (json!([good, {"topic": "mine", "value": 1, "idempotency_key": ""}]), 400, "bad_request"),
        (json!([good, {"topic": "mine", "value": "x".repeat(16 * 1024 + 1)}]), 413, "payload_too_large"),
        (json!([good, {"topic": "mine-presence", "value": {"text": "hi"}}]), 422, "invalid"),
        (json!([]), 422, "invalid"),
        (json!((0..65).map(|_| good.clone()).collect::<Vec<_>>()), 422, "invalid"),
        (json!([{"topic": "mine"}]), 422, "invalid"),
        (json!([{"topic": "mine", "value": 1, "color": "red"}]), 422, "invalid"),
    ];
    for (items, status, code) in cases {
        let (got, body) = publish_batch(&server, &token, items.clone()).await;
        assert_eq!((got, body["error"]["code"].as_str().unwrap_or_default()), (status, code), "{items}");
    }
    let history: serde_json::Value = server.get_json("/api/topics/mine/items", &token).await;
    assert_eq!(history["items"], json!([]), "nothing from a refused batch was appended");

    // Malformed JSON, no token, a body over 64 KiB.
    let response = server
        .authed(reqwest::Method::POST, "/api/topics", &token)
        .header("content-type", "application/json")
        .body("{")
        .send();
    assert_eq!(error_code(response.await.unwrap()).await, "malformed_json");
    let response = reqwest::Client::new().post(server.url("/api/topics")).json(&json!({"items": [good]})).send().await;
    assert_eq!(response.unwrap().status(), 401);
    let huge = json!((0..5).map(|_| json!({"topic": "mine", "value": "y".repeat(15_000)})).collect::<Vec<_>>());
    assert_eq!(publish_batch(&server, &token, huge).await.0, 413);

    // Each item counts against the rate limit: six items do not fit a burst of five.
    let six = json!((0..6).map(|_| good.clone()).collect::<Vec<_>>());
    let (status, body) = publish_batch(&server, &token, six).await;
    assert_eq!((status, body["error"]["code"].as_str().unwrap()), (429, "rate_limited"));
    let five = json!((0..5).map(|_| good.clone()).collect::<Vec<_>>());
    assert_eq!(publish_batch(&server, &token, five).await.0, 200, "the refused six took no tokens");
}

#[tokio::test]
async fn a_rooms_publish_topic_takes_only_chat_messages_the_pipeline_can_process() {
    let server = TestServer::start().await;
    let ana = server.join("Ana", "lobby", "en").await;
    let token = ana["token"].as_str().unwrap();
    let admin = server.admin_token().await;
    let send = |content_type: &'static str, body: String| {
        server
            .authed(reqwest::Method::POST, "/api/topics/lobby-publish", token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let response = send("text/plain", "hello as plain text".into()).await.unwrap();
    assert_eq!(response.status(), 400, "a text body is not a chat message");
    assert_eq!(error_code(response).await, "not_a_chat_message");
    for bad in [
        json!("hello"),
        json!(7),
        json!(null),
        json!(["hello"]),
        json!({}),
        json!({"text": ""}),
        json!({"text": " \n\t"}),
        json!({"text": 42}),
        json!({"text": "hi", "lang": "xx-evil<script>"}),
        json!({"text": "hi", "lang": "EN"}),
        json!({"text": "hi", "target_seq": 1}),
        json!({"op": "edit", "text": "hi"}),
        json!({"op": "edit", "target_seq": -3, "text": "hi"}),
        json!({"op": "delete", "target_seq": 1, "text": "sneaky"}),
        json!({"op": "shout", "target_seq": 1, "text": "hi"}),
    ] {
        let response = send("application/json", bad.to_string()).await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(error_code(response).await, "not_a_chat_message", "{bad}");
    }
    // Through a batch too, and by anyone (an admin's token included): the whole batch is refused.
    let (status, body) = publish_batch(
        &server,
        &admin,
        json!([{"topic": "lobby-publish", "value": {"text": "fine"}}, {"topic": "lobby-publish", "value": "plain"}]),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str().unwrap()), (400, "not_a_chat_message"));
    let history = server.get_json("/api/topics/lobby-publish/items", &admin).await;
    assert_eq!(history["items"], json!([]), "nothing refused was acknowledged");
    let db = server.db().await;
    let (queued,): (i64,) = sqlx::query_as("select count(*) from webhook_outbox").fetch_one(&db).await.unwrap();
    assert_eq!(queued, 0, "nothing refused reached the pipeline's queue");

    // Messages, edits and deletions pass, with or without a language hint or extra fields.
    for good in [
        json!({"text": "hello"}),
        json!({"text": "olá", "lang": "pt", "client_id": "c-1"}),
        json!({"op": "edit", "target_seq": 1, "text": "hello again", "lang": "en"}),
        json!({"op": "delete", "target_seq": 1}),
    ] {
        let response = send("application/json", good.to_string()).await.unwrap();
        assert_eq!(response.status(), 200, "{good}");
    }
    // Other topics keep taking any value, text bodies included.
    let mine = server.token_for(&[("notes", &[parley::auth::Op::Publish])]).await;
    let response = server
        .authed(reqwest::Method::POST, "/api/topics/notes", &mine)
        .header("content-type", "text/plain")
        .body("just text")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// A publish frame on a subscription: answered on the same socket, with the
/// same checks as `POST`, and the socket stays open after a refused one.
#[tokio::test]
async fn a_subscriber_publishes_over_its_own_websocket() {
    use parley::auth::Op;
    let server = TestServer::start().await;
    let token = server.token_for(&[("news", &[Op::Subscribe, Op::Publish]), ("other", &[Op::Subscribe])]).await;
    let mut sub = server.subscribe("news", &token, None).await.unwrap();
    let mut listener = server.subscribe("news", &token, None).await.unwrap();
    let send = |value: serde_json::Value| value.to_string();

    sub.send_text(send(json!({"type": "publish", "topic": "news", "value": {"n": 1}, "ref": "a"}))).await;
    let (mut answer, mut item) = (None, None);
    while answer.is_none() || item.is_none() {
        let frame = sub.next_frame(WITHIN).await;
        match frame["type"].as_str() {
            Some("published") => answer = Some(frame),
            Some("item") => item = Some(frame),
            other => panic!("unexpected {other:?}"),
        }
    }
    let (answer, item) = (answer.unwrap(), item.unwrap());
    assert_eq!((answer["ref"].as_str(), answer["topic"].as_str()), (Some("a"), Some("news")));
    assert_eq!(answer["seq"], item["seq"]);
    assert_eq!(item["value"]["n"], 1);
    assert_eq!(listener.next_item(WITHIN).await["value"]["n"], 1, "other subscribers see it too");

    // Refused: another topic, malformed frames, a too-long ref, an oversized value.
    let refused = [
        (json!({"type": "publish", "topic": "other", "value": 1, "ref": "b"}), "forbidden", Some("b")),
        (json!({"type": "publish", "topic": "..", "value": 1, "ref": "c"}), "bad_request", Some("c")),
        (json!({"type": "subscribe", "topic": "news"}), "bad_request", None),
        (json!({"type": "publish", "topic": "news", "value": 1, "extra": true}), "bad_request", None),
        (json!({"type": "publish", "topic": "news", "value": 1, "ref": "r".repeat(65)}), "bad_request", None),
        (json!({"type": "publish", "topic": "news", "value": "x".repeat(17 * 1024)}), "payload_too_large", None),
    ];
    for (frame, code, reference) in refused {
        sub.send_text(frame.to_string()).await;
        let answer = sub.next_frame(WITHIN).await;
        assert_eq!((answer["type"].as_str(), answer["error"]["code"].as_str()), (Some("error"), Some(code)), "{frame}");
        assert_eq!(answer["ref"].as_str(), reference, "{frame}");
        assert!(answer["error"]["message"].is_string());
    }
    sub.send_text("not json".into()).await;
    assert_eq!(sub.next_frame(WITHIN).await["error"]["code"], "bad_request");

    // Still open, and idempotent like POST.
    let keyed = json!({"type": "publish", "topic": "news", "value": {"n": 2}, "ref": "d", "idempotency_key": "k1"});
    sub.send_text(keyed.to_string()).await;
    let first = loop {
        let frame = sub.next_frame(WITHIN).await;
        if frame["type"] == "published" {
            break frame;
        }
    };
    sub.send_text(keyed.to_string()).await;
    let again = loop {
        let frame = sub.next_frame(WITHIN).await;
        if frame["type"] == "published" {
            break frame;
        }
    };
    assert_eq!((first["seq"].clone(), first["duplicate"].clone()), (again["seq"].clone(), json!(false)));
    assert_eq!(again["duplicate"], true);
}

/// Publish frames sent without waiting are committed and answered in the
/// order they were sent, with several groups waiting for their transaction
/// at once; those a client sends just before it hangs up are still
/// committed and delivered.
#[tokio::test]
async fn publishes_sent_without_waiting_keep_their_order_and_outlive_the_client() {
    use parley::auth::Op;
    let server = TestServer::start().await;
    let token = server.token_for(&[("burst", &[Op::Subscribe, Op::Publish])]).await;
    let mut publisher = server.subscribe("burst", &token, None).await.unwrap();
    let mut listener = server.subscribe("burst", &token, None).await.unwrap();
    let frames = |numbers: std::ops::Range<usize>| -> Vec<String> {
        numbers
            .map(|n| json!({"type": "publish", "topic": "burst", "value": {"n": n}, "ref": n.to_string()}).to_string())
            .collect()
    };

    publisher.send_all(frames(0..300)).await;
    let mut answered: Vec<(usize, i64)> = Vec::new();
    while answered.len() < 300 {
        let frame = publisher.next_frame(WITHIN).await;
        match frame["type"].as_str() {
            Some("published") => {
                answered.push((frame["ref"].as_str().unwrap().parse().unwrap(), frame["seq"].as_i64().unwrap()));
            }
            Some("item") => {}
            other => panic!("unexpected {other:?}: {frame}"),
        }
    }
    let refs: Vec<usize> = answered.iter().map(|(r, _)| *r).collect();
    assert_eq!(refs, (0..300).collect::<Vec<_>>(), "answered in the order sent");
    assert!(answered.windows(2).all(|w| w[1].1 == w[0].1 + 1), "committed in the order sent: {answered:?}");
    for n in 0..300 {
        assert_eq!(listener.next_item(WITHIN).await["value"]["n"], n);
    }

    publisher.send_all(frames(300..400)).await;
    drop(publisher);
    for n in 300..400 {
        assert_eq!(listener.next_item(WITHIN).await["value"]["n"], n, "sent before the client left");
    }
}

/// A chat message published over the socket goes through the pipeline like
/// one sent with `POST`; one the pipeline could not process is refused.
#[tokio::test]
async fn a_reader_sends_chat_over_the_rooms_websocket() {
    let server = TestServer::start().await;
    let ana = server.join("Ana", "lobby", "en").await;
    let token = ana["token"].as_str().unwrap();
    let mut en = server.subscribe("lobby-subscribe-en", token, None).await.unwrap();
    let chat = json!({"type": "publish", "topic": "lobby-publish", "value": {"text": "Good morning", "lang": "en"}, "ref": "1"});
    en.send_text(chat.to_string()).await;
    let bad = json!({"type": "publish", "topic": "lobby-publish", "value": {"txt": "no"}, "ref": "2"});
    en.send_text(bad.to_string()).await;
    let (mut published, mut refused, mut delivered) = (None, None, None);
    while published.is_none() || refused.is_none() || delivered.is_none() {
        let frame = en.next_frame(Duration::from_secs(40)).await;
        match (frame["type"].as_str(), frame["ref"].as_str()) {
            (Some("published"), Some("1")) => published = Some(frame),
            (Some("error"), Some("2")) => refused = Some(frame),
            (Some("item"), _) => delivered = Some(frame),
            _ => panic!("unexpected {frame}"),
        }
    }
    assert_eq!(refused.unwrap()["error"]["code"], "not_a_chat_message");
    let delivered = delivered.unwrap();
    assert_eq!(delivered["value"]["text"], "Good morning");
    assert_eq!(delivered["value"]["source_seq"], published.unwrap()["seq"]);
}

/// Publishes sent without waiting keep their order, answers and items alike.
#[tokio::test]
async fn pipelined_websocket_publishes_keep_their_order() {
    use parley::auth::Op;
    let server = TestServer::start().await;
    let token = server.token_for(&[("news", &[Op::Subscribe, Op::Publish])]).await;
    let mut sub = server.subscribe("news", &token, None).await.unwrap();
    for n in 0..50 {
        let frame = json!({"type": "publish", "topic": "news", "value": n, "ref": n.to_string()});
        sub.send_text(frame.to_string()).await;
    }
    let (mut answers, mut items) = (Vec::new(), Vec::new());
    while answers.len() < 50 || items.len() < 50 {
        let frame = sub.next_frame(WITHIN).await;
        match frame["type"].as_str() {
            Some("published") => {
                answers.push((frame["ref"].as_str().unwrap().to_owned(), frame["seq"].as_i64().unwrap()))
            }
            Some("item") => items.push((frame["value"].as_i64().unwrap(), frame["seq"].as_i64().unwrap())),
            other => panic!("unexpected {other:?}: {frame}"),
        }
    }
    let refs: Vec<String> = answers.iter().map(|(r, _)| r.clone()).collect();
    assert_eq!(refs, (0..50).map(|n| n.to_string()).collect::<Vec<_>>(), "answers in the order sent");
    assert!(answers.windows(2).all(|w| w[1].1 == w[0].1 + 1), "consecutive seqs: {answers:?}");
    assert_eq!(items.iter().map(|(v, _)| *v).collect::<Vec<_>>(), (0..50).collect::<Vec<_>>());
    assert_eq!(items.iter().map(|(_, s)| *s).collect::<Vec<_>>(), answers.iter().map(|(_, s)| *s).collect::<Vec<_>>());
}
