//! Two people in headless Chromium chat across languages through the real server.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use parley_e2e::{TempDir, TestServer, eventually, workspace_root};
use serde_json::json;

const WITHIN: Duration = Duration::from_secs(40);

/// A chromedriver process on a free port, killed on drop.
pub(crate) struct ChromeDriver {
    child: tokio::process::Child,
    url: String,
}

impl ChromeDriver {
    pub(crate) async fn start() -> Self {
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
    pub(crate) async fn browser(&self, profile: &TempDir) -> Client {
        self.browser_with(profile, &[]).await
    }

    /// A browser with extra Chromium flags (`--lang=pt-BR`, `--force-dark-mode`).
    pub(crate) async fn browser_with(&self, profile: &TempDir, extra: &[&str]) -> Client {
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
        .chain(extra)
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

/// The browser tests need the hydrated front end that `scripts/test.sh` builds.
pub(crate) fn assert_site_built() {
    let site = parley_e2e::site_root().join("pkg/parley_bg.wasm");
    assert!(site.exists(), "{} is missing: run scripts/test.sh, which builds the site", site.display());
}

/// Opens the landing page and waits for it to hydrate.
pub(crate) async fn open_landing(browser: &Client, server: &TestServer) {
    browser.goto(&server.url("/")).await.unwrap();
    browser
        .wait()
        .at_most(WITHIN)
        .for_element(Locator::Css("section.landing[data-hydrated='true']"))
        .await
        .expect("the landing page hydrated");
}

/// Submits the landing page's form, then opens `choice` (`room/lang`) from the room list.
pub(crate) async fn submit_and_open(browser: &Client, choice: &str) {
    browser.find(Locator::Css("form.join-form button[type='submit']")).await.unwrap().click().await.unwrap();
    let (room, lang) = choice.split_once('/').unwrap();
    let link = format!("a.lang[data-room='{room}'][data-lang='{lang}']");
    browser
        .wait()
        .at_most(WITHIN)
        .for_element(Locator::Css(&link))
        .await
        .expect("the room list")
        .click()
        .await
        .unwrap();
    wait_live(browser).await;
}

/// Joins as a guest on the landing page and opens `room` in `lang`; waits until live.
pub(crate) async fn enter(browser: &Client, server: &TestServer, name: &str, choice: &str) {
    open_landing(browser, server).await;
    browser.find(Locator::Id("display-name")).await.unwrap().send_keys(name).await.unwrap();
    submit_and_open(browser, choice).await;
}

/// Creates an account on the landing page, then opens `room` in `lang`.
pub(crate) async fn sign_up_and_enter(browser: &Client, server: &TestServer, username: &str, choice: &str) {
    open_landing(browser, server).await;
    browser.find(Locator::Css("button.tab:nth-child(3)")).await.unwrap().click().await.unwrap();
    browser
        .wait()
        .at_most(WITHIN)
        .for_element(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(username)
        .await
        .unwrap();
    browser.find(Locator::Id("password")).await.unwrap().send_keys("correct horse battery").await.unwrap();
    submit_and_open(browser, choice).await;
}

pub(crate) async fn wait_live(browser: &Client) {
    browser
        .wait()
        .at_most(WITHIN)
        .for_element(Locator::Css("section.room[data-status='live']"))
        .await
        .expect("the room view connected");
}

pub(crate) async fn say(browser: &Client, text: &str) {
    let input = browser.find(Locator::Id("message")).await.unwrap();
    input.send_keys(text).await.unwrap();
    browser.find(Locator::Css("form.send-box button")).await.unwrap().click().await.unwrap();
}

/// The texts of the messages shown, in order.
pub(crate) async fn shown(browser: &Client) -> Vec<String> {
    let mut texts = Vec::new();
    for element in browser.find_all(Locator::Css("li.message:not(.pending) p.text")).await.unwrap_or_default() {
        texts.push(element.text().await.unwrap_or_default());
    }
    texts
}

/// Signs in as the admin from the landing page and opens the console.
pub(crate) async fn sign_in_as_admin(admin: &Client, server: &TestServer) {
    open_landing(admin, server).await;
    admin.find(Locator::Css("button.tab:nth-child(2)")).await.unwrap().click().await.unwrap();
    admin.wait().at_most(WITHIN).for_element(Locator::Id("username")).await.unwrap().send_keys("admin").await.unwrap();
    admin.find(Locator::Id("password")).await.unwrap().send_keys(parley::config::TEST_ADMIN_PASSWORD).await.unwrap();
    admin.find(Locator::Css("form.join-form button[type='submit']")).await.unwrap().click().await.unwrap();
    admin.wait().at_most(WITHIN).for_element(Locator::Css("a.admin-link")).await.unwrap().click().await.unwrap();
    admin.wait().at_most(WITHIN).for_element(Locator::Css("tr[data-room='lobby']")).await.unwrap();
}

/// Clicks one of the admin console's tabs (`rooms`, `users`, `webhooks`, `pipeline`).
pub(crate) async fn open_admin_section(admin: &Client, section: &str) {
    let tab = admin.find(Locator::Css(&format!("button.tab[data-section='{section}']"))).await.unwrap();
    tab.click().await.unwrap();
}

pub(crate) async fn screenshot(browser: &Client, name: &str) {
    let dir = workspace_root().join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test]
async fn two_browsers_chat_in_english_and_portuguese() {
    assert_site_built();
    let server = TestServer::start().await;
    let driver = ChromeDriver::start().await;
    let (profile_a, profile_b) = (TempDir::new("parley-chrome"), TempDir::new("parley-chrome"));
    let alice = driver.browser(&profile_a).await;
    let bruno = driver.browser(&profile_b).await;

    enter(&alice, &server, "Alice", "lobby/en").await;
    enter(&bruno, &server, "Bruno", "lobby/pt").await;

    say(&alice, "Can you send me the link?").await;
    eventually(WITHIN, "Bruno sees Alice typing, then online", || async {
        let line = bruno.find(Locator::Css("p.presence")).await.ok()?.text().await.ok()?;
        line.contains("Online: Alice").then_some(())
    })
    .await;
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

    // Edits and deletions reach the other language.
    let edit = alice.find(Locator::Css("li.message.mine button.edit")).await.unwrap();
    edit.click().await.unwrap();
    let input = alice.find(Locator::Id("message")).await.unwrap();
    input.clear().await.unwrap();
    say(&alice, "Can you send me the address?").await;
    eventually(WITHIN, "Bruno sees the edit, translated", || async {
        shown(&bruno).await.into_iter().find(|t| t.contains("endereço"))
    })
    .await;
    let badge = bruno.find(Locator::Css("li.message .badge")).await.unwrap().text().await.unwrap();
    assert_eq!(badge, "editada", "the interface speaks the reader's language");

    // The README's screenshots: the conversation so far, in both languages.
    screenshot(&alice, "room-en.png").await;
    screenshot(&bruno, "room-pt.png").await;
    // A phone-width screen: nothing overflows sideways.
    bruno.set_window_size(390, 844).await.unwrap();
    let overflow =
        bruno.execute("return document.documentElement.scrollWidth > window.innerWidth;", vec![]).await.unwrap();
    assert_eq!(overflow, serde_json::Value::Bool(false), "the room view fits a phone");
    screenshot(&bruno, "room-phone.png").await;
    bruno.set_window_size(900, 900).await.unwrap();

    // Hostile markup is shown as text, and runs nowhere.
    let attack = r#"</textarea><script>window.__xss=1</script><img src=x onerror="window.__xss=2">"#;
    say(&alice, attack).await;
    eventually(WITHIN, "Bruno sees the markup as text", || async {
        shown(&bruno).await.iter().any(|t| t.contains("<script>window.__xss=1</script>")).then_some(())
    })
    .await;
    for browser in [&alice, &bruno] {
        let xss = browser.execute("return window.__xss === undefined && document.querySelectorAll('li.message img, li.message script').length === 0;", vec![]).await.unwrap();
        assert_eq!(xss, serde_json::Value::Bool(true), "no injected element ran or exists");
    }

    // A reload resumes the room with everything in it.
    let before = shown(&bruno).await.len();
    bruno.refresh().await.unwrap();
    wait_live(&bruno).await;
    eventually(WITHIN, "the history is back after a reload", || async {
        (shown(&bruno).await.len() >= before).then_some(())
    })
    .await;

    // Switching language in place re-reads the room in English.
    let select = bruno.find(Locator::Id("reading-language")).await.unwrap();
    select.select_by_value("en").await.unwrap();
    let english: reqwest::Url = server.url("/rooms/lobby/en").parse().unwrap();
    bruno.wait().at_most(WITHIN).for_url(&english).await.unwrap();
    wait_live(&bruno).await;
    eventually(WITHIN, "the history in English", || async {
        shown(&bruno).await.contains(&"Can you send me the link?".to_owned()).then_some(())
    })
    .await;

    // Deleting reaches everyone.
    let delete = alice.find(Locator::Css("li.message.mine button.delete")).await.unwrap();
    delete.click().await.unwrap();
    eventually(WITHIN, "Bruno sees the deletion", || async {
        let deleted = bruno.find_all(Locator::Css("p.text.deleted")).await.unwrap_or_default();
        (!deleted.is_empty()).then_some(())
    })
    .await;
    alice.close().await.unwrap();
    bruno.close().await.unwrap();
}

#[tokio::test]
async fn the_admin_console_changes_a_room_for_everyone() {
    assert_site_built();
    let server = TestServer::start().await;
    let driver = ChromeDriver::start().await;
    let profile = TempDir::new("parley-chrome");
    let admin = driver.browser(&profile).await;
    sign_in_as_admin(&admin, &server).await;

    // Add Spanish to the lobby, with a room word.
    admin.find(Locator::Id("room-name")).await.unwrap().send_keys("lobby").await.unwrap();
    admin.find(Locator::Id("room-languages")).await.unwrap().send_keys("en, pt, es").await.unwrap();
    admin.find(Locator::Id("room-block")).await.unwrap().send_keys("pineapple").await.unwrap();
    admin.find(Locator::Css("form.admin-form button[type='submit']")).await.unwrap().click().await.unwrap();
    eventually(WITHIN, "the room is saved", || async {
        let row = admin.find(Locator::Css("tr[data-room='lobby']")).await.ok()?;
        row.text().await.ok().filter(|t| t.contains("es"))
    })
    .await;
    // The console says which languages reach Spanish readers offline: none here (only en↔pt models).
    eventually(WITHIN, "the console shows Spanish untranslated", || async {
        let cell = admin.find(Locator::Css("tr[data-room='lobby'] td.coverage")).await.ok()?;
        cell.text().await.ok().filter(|t| t.contains("es untranslated from en, pt"))
    })
    .await;
    // Without a restart, the API (and every client) sees Spanish.
    let rooms: serde_json::Value = reqwest::get(server.url("/api/rooms")).await.unwrap().json().await.unwrap();
    assert_eq!(rooms["rooms"][0]["languages"], json!(["en", "pt", "es"]));

    admin.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
    screenshot(&admin, "admin-console.png").await;
    for section in ["users", "webhooks", "pipeline"] {
        open_admin_section(&admin, section).await;
    }
    admin.wait().at_most(WITHIN).for_element(Locator::Css(".health")).await.unwrap();
    screenshot(&admin, "admin-health.png").await;
    admin.close().await.unwrap();
}

#[tokio::test]
async fn three_people_in_three_languages_survive_a_server_restart() {
    assert_site_built();
    // Every pair through a LibreTranslate stand-in (offline models exist only for en↔pt).
    let url = crate::pipeline::fake_libretranslate().await;
    let server = TestServer::start_with(|c| {
        c.translators = vec![parley::ProviderConfig::LibreTranslate { url, api_key: None }];
    })
    .await;
    let admin = server.admin_token().await;
    let response = server
        .authed(reqwest::Method::PUT, "/api/rooms/trio", &admin)
        .json(&json!({"title": "Trio", "languages": ["en", "es", "pt"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let driver = ChromeDriver::start().await;
    let profiles = [TempDir::new("parley-chrome"), TempDir::new("parley-chrome"), TempDir::new("parley-chrome")];
    let ana = driver.browser(&profiles[0]).await;
    let bruno = driver.browser(&profiles[1]).await;
    let carla = driver.browser(&profiles[2]).await;
    sign_up_and_enter(&ana, &server, "ana", "trio/en").await;
    enter(&bruno, &server, "Bruno", "trio/pt").await;
    enter(&carla, &server, "Carla", "trio/es").await;

    say(&ana, "Good morning").await;
    say(&carla, "Buenos días").await;
    for (browser, expected) in [
        (&bruno, "[en→pt] Good morning"),
        (&carla, "[en→es] Good morning"),
        (&ana, "[es→en] Buenos días"),
        (&bruno, "[es→pt] Buenos días"),
    ] {
        eventually(WITHIN, expected, || async { shown(browser).await.contains(&expected.to_owned()).then_some(()) })
            .await;
    }

    // The server goes away and comes back; a message sent meanwhile is not lost.
    let server = server.restart().await;
    let dora = server.join("Dora", "trio", "en").await;
    server
        .publish("trio-publish", dora["token"].as_str().unwrap(), &json!({"text": "Did you miss me", "lang": "en"}))
        .await;
    for (browser, expected) in [(&bruno, "[en→pt] Did you miss me"), (&carla, "[en→es] Did you miss me")] {
        eventually(WITHIN, expected, || async { shown(browser).await.contains(&expected.to_owned()).then_some(()) })
            .await;
        wait_live(browser).await;
    }
    // Nothing twice: each message once per reader.
    let texts = shown(&bruno).await;
    assert_eq!(texts.iter().filter(|t| t.contains("Good morning")).count(), 1, "{texts:?}");
    for browser in [ana, bruno, carla] {
        browser.close().await.unwrap();
    }
}
