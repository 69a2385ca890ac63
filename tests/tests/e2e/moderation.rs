//! Moderation no sender can steer: what every reader receives, through the
//! real pipeline, when the sender lies about the language, mixes languages,
//! edits a clean message into an offensive one, hides words in disguises,
//! or picks an offensive name; and what a reader of another language reads
//! when a message reaches them untranslated.

use std::time::Duration;

use parley_e2e::{Subscription, TestServer, error_code};
use serde_json::{Value, json};

const WITHIN: Duration = Duration::from_secs(30);

/// Creates `room` in `languages`; joins one reader per language and a writer
/// in `writer_lang`; returns the writer's token and the readers' subscriptions.
async fn room_with_readers(
    server: &TestServer,
    room: &str,
    languages: &[&str],
    writer_lang: &str,
) -> (String, Vec<(String, Subscription)>) {
    let admin = server.admin_token().await;
    let created = server
        .authed(reqwest::Method::PUT, &format!("/api/rooms/{room}"), &admin)
        .json(&json!({"languages": languages}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "room {room}: {}", created.status());
    let mut readers = Vec::new();
    for lang in languages {
        let joined = server.join(&format!("Reader {lang}"), room, lang).await;
        let token = joined["token"].as_str().unwrap();
        let sub = server.subscribe(&format!("{room}-subscribe-{lang}"), token, None).await.unwrap();
        readers.push(((*lang).to_owned(), sub));
    }
    let writer = server.join("Writer", room, writer_lang).await;
    (writer["token"].as_str().unwrap().to_owned(), readers)
}

/// Publishes `value` and returns what each reader receives for it.
async fn deliver(
    server: &TestServer,
    room: &str,
    token: &str,
    readers: &mut [(String, Subscription)],
    value: Value,
) -> Vec<(String, Value)> {
    let response = server.publish(&format!("{room}-publish"), token, &value).await;
    assert_eq!(response.status(), 200, "{value}");
    let mut got = Vec::new();
    for (lang, sub) in readers.iter_mut() {
        got.push((lang.clone(), sub.next_item(WITHIN).await["value"].clone()));
    }
    got
}

/// Asserts that no reader can see `word`, in the text or in the original.
fn hidden_from_everyone(got: &[(String, Value)], word: &str, what: &str) {
    for (lang, envelope) in got {
        let (text, original) = (envelope["text"].as_str().unwrap(), envelope["original"]["text"].as_str().unwrap());
        let lower = |s: &str| s.to_lowercase();
        assert!(
            !lower(text).contains(word) && !lower(original).contains(word),
            "{what}: the {lang} reader sees {word:?}: {envelope}"
        );
        assert_ne!(envelope["moderation"]["action"], "none", "{what}: {lang}: {envelope}");
    }
}

#[tokio::test]
async fn a_declared_language_steers_nothing_short_or_long() {
    let server = TestServer::start().await;
    let (token, mut readers) = room_with_readers(&server, "liars", &["en", "pt"], "pt").await;
    for (value, word) in [
        (json!({"text": "fuck off", "lang": "pt"}), "fuck"),
        (json!({"text": "motherfucker!", "lang": "pt"}), "motherfucker"),
        (json!({"text": "I honestly think that you are a complete asshole", "lang": "pt"}), "asshole"),
        (json!({"text": "vai se foder", "lang": "en"}), "foder"),
    ] {
        let got = deliver(&server, "liars", &token, &mut readers, value.clone()).await;
        hidden_from_everyone(&got, word, &value.to_string());
    }
}

#[tokio::test]
async fn mixed_language_lines_are_checked_in_every_language() {
    let server = TestServer::start().await;
    let (token, mut readers) = room_with_readers(&server, "mixed", &["en", "pt"], "en").await;
    for (text, word) in [
        ("that was so merde, honestly", "merde"),
        ("good game, hijo de puta", "puta"),
        ("see you tomorrow, du Arschloch", "arschloch"),
        ("nice try 傻逼", "傻逼"),
    ] {
        let got = deliver(&server, "mixed", &token, &mut readers, json!({"text": text, "lang": "en"})).await;
        hidden_from_everyone(&got, word, text);
    }
}

#[tokio::test]
async fn an_untranslated_message_is_moderated_for_the_language_of_its_reader() {
    // No offline model for Spanish or French: both readers get the original.
    let server = TestServer::start().await;
    let (token, mut readers) = room_with_readers(&server, "cafe", &["es", "fr"], "es").await;
    // Ordinary Spanish: "con" is "with" for the Spanish reader, and an insult for the French one.
    let got =
        deliver(&server, "cafe", &token, &mut readers, json!({"text": "un café con leche, por favor", "lang": "es"}))
            .await;
    let by_lang = |lang: &str| got.iter().find(|(l, _)| l == lang).unwrap().1.clone();
    let (es, fr) = (by_lang("es"), by_lang("fr"));
    assert_eq!(es["text"], "un café con leche, por favor", "{es}");
    assert_eq!(es["moderation"]["action"], "none");
    assert_eq!(fr["translated"], false, "{fr}");
    assert!(!fr["text"].as_str().unwrap().contains(" con "), "{fr}");
    assert!(!fr["original"]["text"].as_str().unwrap().contains(" con "), "the original, one click away: {fr}");
    // Offensive in the writer's language: hidden from the reader of the other.
    let got = deliver(&server, "cafe", &token, &mut readers, json!({"text": "eres un pendejo", "lang": "es"})).await;
    hidden_from_everyone(&got, "pendejo", "Spanish insult, untranslated for French");
}

#[tokio::test]
async fn an_edit_that_brings_in_a_bad_word_is_moderated_like_a_new_message() {
    let server = TestServer::start().await;
    let (token, mut readers) = room_with_readers(&server, "edits", &["en", "pt"], "en").await;
    let response = server.publish("edits-publish", &token, &json!({"text": "see you at noon", "lang": "en"})).await;
    let seq = response.json::<Value>().await.unwrap()["seq"].as_i64().unwrap();
    for (_, sub) in readers.iter_mut() {
        sub.next_item(WITHIN).await;
    }
    let edit = json!({"op": "edit", "target_seq": seq, "text": "see you at noon, you fucking idiot", "lang": "en"});
    let got = deliver(&server, "edits", &token, &mut readers, edit).await;
    hidden_from_everyone(&got, "fuck", "an edit");
    for (_, envelope) in &got {
        assert_eq!(envelope["edited"], true);
    }
}

#[tokio::test]
async fn no_disguise_gets_a_listed_word_to_any_reader() {
    let server = TestServer::start().await;
    let (token, mut readers) = room_with_readers(&server, "masks", &["en", "pt"], "en").await;
    for disguised in [
        "ｆｕｃｋ ｙｏｕ",
        "fuсk you",
        "fu\u{200B}ck you",
        "f\u{00AD}uck you",
        "f.u.c.k you",
        "f - u - c - k you",
        "fu.ck you",
        "f*ck you",
        "fuuuuuck you",
        "FuCk YoU",
        "f\u{00FA}ck you",
        "5h1t",
        "vai tomar no cú",
        "p.o.r.r.a",
    ] {
        let got = deliver(&server, "masks", &token, &mut readers, json!({"text": disguised, "lang": "en"})).await;
        for (lang, envelope) in &got {
            assert_ne!(envelope["moderation"]["action"], "none", "{disguised:?} reached the {lang} reader: {envelope}");
            assert!(envelope["text"].as_str().unwrap().contains('*'), "{disguised:?}, {lang}: {envelope}");
        }
    }
}

#[tokio::test]
async fn offensive_display_names_are_refused_at_the_door() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    for name in ["Fuck Face", "ｓｈｉｔ", "Arschloch", "傻逼", "pu\u{200B}ta", "Ana\u{200B}"] {
        let response =
            http.post(server.url("/api/auth/guest")).json(&json!({"display_name": name})).send().await.unwrap();
        assert_eq!(response.status(), 422, "guest {name:?}");
        assert_eq!(error_code(response).await, "invalid");
    }
    let response = http
        .post(server.url("/api/auth/signup"))
        .json(&json!({"username": "ana_b", "password": "a long password", "display_name": "Motherfucker"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422, "a display name at sign-up");
    let response = http
        .post(server.url("/api/auth/signup"))
        .json(&json!({"username": "shithead", "password": "a long password", "display_name": "Sam"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422, "usernames are checked too");
    // Ordinary names pass, names that are ordinary words somewhere too.
    for name in ["Ana", "Dick", "Mia Hancock", "José", "さくら"] {
        let response =
            http.post(server.url("/api/auth/guest")).json(&json!({"display_name": name})).send().await.unwrap();
        assert_eq!(response.status(), 200, "guest {name:?}");
    }
}
