//! The pipeline as its own process (`parley-pipeline`), wired by the server
//! as the webhook of every room.

use std::time::Duration;

use parley_e2e::TestServer;
use serde_json::json;

use crate::pipeline::fake_libretranslate;
use crate::processes::{free_addr, start_pipeline};

#[tokio::test]
async fn a_separate_pipeline_process_translates_for_the_server() {
    let translator = fake_libretranslate().await;
    let addr = free_addr();
    let secret = parley_pipeline::signature::WebhookSecret::generate().to_text();
    let hook = format!("http://{addr}/pipeline/webhook");
    let server = TestServer::start_with(|c| {
        c.pipeline = parley::PipelineMode::External;
        c.external_pipeline = Some((hook, secret.clone()));
    })
    .await;
    let token = server.sign(&parley::pipeline_claims(time::OffsetDateTime::now_utc().unix_timestamp() + 600)).await;
    let _pipeline = start_pipeline("standalone-pipeline", addr, &server.base, &token, &secret, &translator).await;
    let ana = server.join("Ana", "lobby", "en").await;
    let bruno = server.join("Bruno", "lobby", "pt").await;
    let mut pt = server.subscribe("lobby-subscribe-pt", bruno["token"].as_str().unwrap(), None).await.unwrap();
    server
        .publish("lobby-publish", ana["token"].as_str().unwrap(), &json!({"text": "Hello there", "lang": "en"}))
        .await;
    let msg = pt.next_item(Duration::from_secs(30)).await;
    assert_eq!(msg["value"]["text"], "[en→pt] Hello there");
    assert_eq!(msg["publisher"]["id"], "pipeline");
}
