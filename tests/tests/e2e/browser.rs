//! Two people in headless Chromium chat across languages through the real server.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use parley_e2e::{TempDir, TestServer, eventually, workspace_root};
use serde_json::json;

const WITHIN: Duration = Duration::from_secs(40);

/// A chromedriver process on a free port, killed on drop.
struct ChromeDriver {
    child: tokio::process::Child,
    url: String,
}

impl ChromeDriver {
    async fn start() -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let child = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is installed (scripts/test.sh installs Debian's chromium-driver)");
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        eventually(Duration::from_secs(20), "chromedriver answers", || {
            let status = status.clone();
            async move { reqwest::get(&status).await.ok().filter(|r| r.status().is_success()) }
        })
        .await;
        Self { child, url }
    }

    /// A browser with its own profile: a separate person, cookies and all.
    async fn browser(&self, profile: &TempDir) -> Client {
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=900,900",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.0.display())])
        .collect::<Vec<_>>();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), json!({"binary": "/usr/bin/chromium", "args": args}));
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Signs in on the landing page and opens `room` in `lang`; waits until live.
async fn enter(browser: &Client, server: &TestServer, name: &str, choice: &str) {
    browser.goto(&server.url("/")).await.unwrap();
    browser
        .wait()
        .at_most(WITHIN)
        .for_element(Locator::Css(&format!("option[value='{choice}']")))
        .await
        .expect("the landing page hydrated and listed the rooms");
    browser.find(Locator::Id("display-name")).await.unwrap().send_keys(name).await.unwrap();
    browser.find(Locator::Id("room-language")).await.unwrap().select_by_value(choice).await.unwrap();
    browser.find(Locator::Css("form.join-form button")).await.unwrap().click().await.unwrap();
    browser
        .wait()
        .at_most(WITHIN)
        .for_element(Locator::Css("section.room[data-status='live']"))
        .await
        .expect("the room view connected");
}

async fn say(browser: &Client, text: &str) {
    let input = browser.find(Locator::Id("message")).await.unwrap();
    input.send_keys(text).await.unwrap();
    browser.find(Locator::Css("form.send-box button")).await.unwrap().click().await.unwrap();
}

/// The texts of the messages shown, in order.
async fn shown(browser: &Client) -> Vec<String> {
    let mut texts = Vec::new();
    for element in browser.find_all(Locator::Css("li.message:not(.pending) p.text")).await.unwrap_or_default() {
        texts.push(element.text().await.unwrap_or_default());
    }
    texts
}

async fn screenshot(browser: &Client, name: &str) {
    let dir = workspace_root().join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test]
async fn two_browsers_chat_in_english_and_portuguese() {
    let site = parley_e2e::site_root().join("pkg/parley_bg.wasm");
    assert!(site.exists(), "{} is missing: run scripts/test.sh, which builds the site", site.display());
    let server = TestServer::start().await;
    let driver = ChromeDriver::start().await;
    let (profile_a, profile_b) = (TempDir::new("parley-chrome"), TempDir::new("parley-chrome"));
    let alice = driver.browser(&profile_a).await;
    let bruno = driver.browser(&profile_b).await;

    enter(&alice, &server, "Alice", "lobby/en").await;
    enter(&bruno, &server, "Bruno", "lobby/pt").await;

    say(&alice, "Can you send me the link?").await;
    let portuguese = eventually(WITHIN, "Bruno reads Alice in Portuguese", || async {
        shown(&bruno).await.into_iter().find(|t| t.contains("link") && t != "Can you send me the link?")
    })
    .await;
    assert!(portuguese.contains("Você"), "{portuguese}");
    eventually(WITHIN, "Alice sees her own message", || async {
        shown(&alice).await.contains(&"Can you send me the link?".to_owned()).then_some(())
    })
    .await;

    say(&bruno, "Você pode me enviar o link?").await;
    eventually(WITHIN, "Alice reads Bruno in English", || async {
        shown(&alice).await.iter().filter(|t| t.as_str() == "Can you send me the link?").count().eq(&2).then_some(())
    })
    .await;
    eventually(WITHIN, "Bruno sees his own message", || async {
        shown(&bruno).await.contains(&"Você pode me enviar o link?".to_owned()).then_some(())
    })
    .await;

    // The original is one click away for a translated message.
    let summary = bruno.find(Locator::Css("details.original summary")).await.unwrap();
    summary.click().await.unwrap();
    let original = bruno.find(Locator::Css("details.original p")).await.unwrap().text().await.unwrap();
    assert_eq!(original, "Can you send me the link?");

    screenshot(&alice, "room-en.png").await;
    screenshot(&bruno, "room-pt.png").await;
    alice.close().await.unwrap();
    bruno.close().await.unwrap();
}
