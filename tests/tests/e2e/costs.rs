//! Cost control: only read languages are translated, a new reader's language
//! gets the history on demand, and a room's daily character budget holds.

use std::time::Duration;

use parley_e2e::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

use crate::pipeline::fake_libretranslate;

const WITHIN: Duration = Duration::from_secs(30);

async fn server_with_room(settings: Value) -> (TestServer, String) {
    let url = fake_libretranslate().await;
    let server = TestServer::start_with(|config| {
        config.translators = vec![parley::ProviderConfig::LibreTranslate { url, api_key: None }];
    })
    .await;
    let admin = server.admin_token().await;
    let response = server.authed(Method::PUT, "/api/rooms/trio", &admin).json(&settings).send().await.unwrap();
    assert_eq!(response.status(), 201);
    (server, admin)
}

#[tokio::test]
async fn only_read_languages_are_translated_and_a_new_reader_gets_the_history() {
    let (server, admin) = server_with_room(json!({"languages": ["en", "es", "pt"]})).await;
    let ana = server.join("Ana", "trio", "en").await;
    let bruno = server.join("Bruno", "trio", "pt").await;
    let mut pt = server.subscribe("trio-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();
    for text in ["Good morning", "See you later"] {
        server.publish("trio-publish", ana["token"].as_str().unwrap(), &json!({"text": text, "lang": "en"})).await;
    }
    pt.next_item(WITHIN).await;
    pt.next_item(WITHIN).await;
    // Nobody reads Spanish: nothing was translated into it.
    let es: Value = server.get_json("/api/topics/trio-subscribe-es/items", &admin).await;
    assert_eq!(es["items"], json!([]));

    // The first Spanish reader arrives: the history is translated for them.
    let carla = server.join("Carla", "trio", "es").await;
    let mut es = server.subscribe("trio-subscribe-es", carla["token"].as_str().unwrap(), Some(0)).await.unwrap();
    let mut texts = vec![
        es.next_item(WITHIN).await["value"]["text"].as_str().unwrap().to_owned(),
        es.next_item(WITHIN).await["value"]["text"].as_str().unwrap().to_owned(),
    ];
    texts.sort();
    assert_eq!(texts, ["[en→es] Good morning", "[en→es] See you later"]);
}

#[tokio::test]
async fn past_the_daily_budget_messages_arrive_untranslated_with_a_note() {
    let (server, admin) = server_with_room(json!({"languages": ["en", "pt"], "daily_char_budget": 30})).await;
    let ana = server.join("Ana", "trio", "en").await;
    let bruno = server.join("Bruno", "trio", "pt").await;
    let mut pt = server.subscribe("trio-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();
    let token = ana["token"].as_str().unwrap();
    server.publish("trio-publish", token, &json!({"text": "twenty characters ok", "lang": "en"})).await;
    assert_eq!(pt.next_item(WITHIN).await["value"]["translated"], true);
    server.publish("trio-publish", token, &json!({"text": "twenty more of them!", "lang": "en"})).await;
    let over = pt.next_item(WITHIN).await["value"].clone();
    assert_eq!(over["translated"], false);
    assert!(over["note"].as_str().unwrap().contains("budget"), "{over}");
    let room: Value = server.get_json("/api/rooms/trio", &admin).await;
    assert_eq!(room["room"]["characters_today"], 20);
    assert_eq!(room["room"]["daily_char_budget"], 30);
}

#[tokio::test]
async fn admins_see_which_room_languages_translate_offline_and_members_do_not() {
    // The default provider: the offline models, which here know only en↔pt.
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let put = server
        .authed(Method::PUT, "/api/rooms/mixed", &admin)
        .json(&json!({"languages": ["en", "pt", "es"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let room = server.get_json("/api/rooms/mixed", &admin).await;
    let coverage = &room["room"]["translation"];
    assert_eq!(coverage["pt"], json!({"offline": false, "providers": ["firefox"], "missing": ["es"]}));
    assert_eq!(coverage["es"], json!({"offline": false, "providers": [], "missing": ["en", "pt"]}));
    let lobby = server.get_json("/api/rooms/lobby", &admin).await;
    assert_eq!(lobby["room"]["translation"]["en"], json!({"offline": true, "providers": ["firefox"], "missing": []}));
    let listed = server.get_json("/api/rooms", &admin).await;
    let mixed = listed["rooms"].as_array().unwrap().iter().find(|r| r["name"] == "mixed").unwrap();
    assert_eq!(mixed["translation"]["es"]["missing"], json!(["en", "pt"]));

    // A member sees the room, not the server's translation set-up.
    let ana = server.join("Ana", "lobby", "en").await;
    let seen = server.get_json("/api/rooms/lobby", ana["token"].as_str().unwrap()).await;
    assert_eq!(seen["room"]["name"], "lobby");
    assert!(seen["room"].get("translation").is_none(), "{seen}");
}
