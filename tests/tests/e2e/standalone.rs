//! The pipeline as its own process (`parley-pipeline`), wired by the server
//! as the webhook of every room.

use std::process::Stdio;
use std::time::Duration;

use parley_e2e::{TestServer, eventually, workspace_root};
use serde_json::json;

use crate::pipeline::fake_libretranslate;

/// A child process killed on drop.
struct Child(tokio::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn a_separate_pipeline_process_translates_for_the_server() {
    let binary = workspace_root().join("target/debug/parley-pipeline");
    assert!(binary.exists(), "{} is missing: scripts/test.sh builds it", binary.display());
    let translator = fake_libretranslate().await;
    let port = free_port();
    let secret = parley_pipeline::signature::WebhookSecret::generate().to_text();
    let hook = format!("http://127.0.0.1:{port}/pipeline/webhook");
    let server = TestServer::start_with(|c| {
        c.pipeline = parley::PipelineMode::External;
        c.external_pipeline = Some((hook, secret.clone()));
    })
    .await;
    let token = server.sign(&parley::pipeline_claims(time::OffsetDateTime::now_utc().unix_timestamp() + 600)).await;
    let _pipeline = Child(
        tokio::process::Command::new(&binary)
            .env("PARLEY_PIPELINE_ADDR", format!("127.0.0.1:{port}"))
            .env("PARLEY_SERVER_URL", &server.base)
            .env("PARLEY_PIPELINE_TOKEN", token)
            .env("PARLEY_WEBHOOK_SECRET", &secret)
            .env("PARLEY_TRANSLATOR", "libretranslate")
            .env("PARLEY_LIBRETRANSLATE_URL", translator)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap(),
    );
    eventually(Duration::from_secs(20), "the pipeline listens", || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()
    })
    .await;
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
