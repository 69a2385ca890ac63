//! The chat as people expect it, in headless Chromium: the newest message
//! on screen, the interface in the reader's language, unread counts,
//! mentions, reactions, keyboard use, and no serious accessibility fault.

use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use parley_e2e::{TempDir, TestServer, eventually, workspace_root};
use serde_json::{Value, json};

use crate::browser::{
    ChromeDriver, assert_site_built, enter, open_admin_section, open_landing, say, screenshot, shown, sign_in_as_admin,
    wait_live,
};

const WITHIN: Duration = Duration::from_secs(40);

/// Publishes `n` messages to the lobby as Dora (through the API), oldest first.
async fn history(server: &TestServer, n: usize) -> String {
    let dora = server.join("Dora", "lobby", "en").await;
    let token = dora["token"].as_str().unwrap().to_owned();
    for i in 1..=n {
        let text = format!("History message number {i}");
        assert_eq!(server.publish("lobby-publish", &token, &json!({"text": text, "lang": "en"})).await.status(), 200);
    }
    token
}

/// Whether the message with this source seq (or, with `None`, the last
/// message shown) lies inside the list's visible area.
async fn in_view(browser: &Client, seq: Option<i64>) -> bool {
    let selector = match seq {
        Some(seq) => format!("li.message[data-seq='{seq}']"),
        None => "li.message:last-of-type".to_owned(),
    };
    let script = format!(
        "const list = document.querySelector('ol.messages');
         const items = document.querySelectorAll(\"{selector}\");
         const item = items[items.length - 1];
         if (!list || !item) return false;
         const a = list.getBoundingClientRect(), b = item.getBoundingClientRect();
         return b.bottom <= a.bottom + 2 && b.top >= a.top - 2;"
    );
    browser.execute(&script, vec![]).await.unwrap() == Value::Bool(true)
}

/// The highest source seq published to the lobby so far, read by its English reader.
async fn newest_seq(server: &TestServer, token: &str) -> i64 {
    let page = server.get_json("/api/topics/lobby-subscribe-en/items?limit=1", token).await;
    page["items"][0]["value"]["source_seq"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn a_room_opens_at_its_newest_message_and_keeps_the_reader_where_they_are() {
    assert_site_built();
    let server = TestServer::start().await;
    let dora = history(&server, 60).await;
    let reader = server.join("Reader", "lobby", "en").await["token"].as_str().unwrap().to_owned();
    eventually(WITHIN, "all 60 are translated and out", || {
        let (server, reader) = (&server, reader.clone());
        async move { (newest_seq(server, &reader).await >= 60).then_some(()) }
    })
    .await;
    let driver = ChromeDriver::start().await;
    let profile = TempDir::new("parley-chrome");
    let ana = driver.browser(&profile).await;
    enter(&ana, &server, "Ana", "lobby/en").await;
    eventually(WITHIN, "the newest of 60 messages is on screen when the room opens", || async {
        in_view(&ana, Some(60)).await.then_some(())
    })
    .await;
    // Our own message goes at the bottom, and the list follows it.
    say(&ana, "Hello everyone, I just arrived").await;
    eventually(WITHIN, "our message is on screen", || async {
        let last = shown(&ana).await.last().cloned()?;
        (last == "Hello everyone, I just arrived" && in_view(&ana, None).await).then_some(())
    })
    .await;
    // Scrolled up, the reader stays put and a pill counts what came in below.
    ana.execute("document.querySelector('ol.messages').scrollTop = 200;", vec![]).await.unwrap();
    let anchor: Value = ana
        .execute(
            "const list = document.querySelector('ol.messages');
             const item = [...list.querySelectorAll('li.message')].find(i => i.getBoundingClientRect().top >= list.getBoundingClientRect().top);
             return item ? item.dataset.seq : null;",
            vec![],
        )
        .await
        .unwrap();
    server.publish("lobby-publish", &dora, &json!({"text": "Something new while you read", "lang": "en"})).await;
    let pill = eventually(WITHIN, "the new-messages pill", || async {
        ana.find(Locator::Css("button.new-messages")).await.ok()
    })
    .await;
    assert!(pill.text().await.unwrap().starts_with("1 new"), "{}", pill.text().await.unwrap());
    let anchor_seq: i64 = anchor.as_str().unwrap().parse().unwrap();
    assert!(in_view(&ana, Some(anchor_seq)).await, "the message the reader was on stays in view");
    pill.click().await.unwrap();
    eventually(WITHIN, "the pill takes the reader to the newest", || async {
        let gone = ana.find(Locator::Css("button.new-messages")).await.is_err();
        (gone && in_view(&ana, None).await).then_some(())
    })
    .await;
    // Older messages load above without moving what is on screen.
    ana.execute("document.querySelector('ol.messages').scrollTop = 0;", vec![]).await.unwrap();
    eventually(WITHIN, "the first 10 messages are loaded", || async {
        ana.find(Locator::Css("li.message[data-seq='1']")).await.ok()
    })
    .await;
    let top: Value = ana.execute("return document.querySelector('ol.messages').scrollTop;", vec![]).await.unwrap();
    assert!(top.as_f64().unwrap_or(0.0) > 100.0, "the reader's place was kept, not jumped to the top: {top}");
    ana.close().await.unwrap();
}

#[tokio::test]
async fn the_interface_speaks_the_readers_language() {
    assert_site_built();
    let server = TestServer::start().await;
    let driver = ChromeDriver::start().await;
    let profile = TempDir::new("parley-chrome");
    let bruno = driver.browser_with(&profile, &["--lang=pt-BR", "--accept-lang=pt-BR,pt"]).await;
    // The landing page follows the browser's language.
    open_landing(&bruno, &server).await;
    eventually(WITHIN, "the landing page in Portuguese", || async {
        let tab = bruno.find(Locator::Css("button.tab")).await.ok()?.text().await.ok()?;
        (tab == "Entrar como convidado").then_some(())
    })
    .await;
    bruno.find(Locator::Id("display-name")).await.unwrap().send_keys("Bruno").await.unwrap();
    crate::browser::submit_and_open(&bruno, "lobby/pt").await;
    // The room follows its reading language.
    let send = bruno.find(Locator::Css("form.send-box button")).await.unwrap().text().await.unwrap();
    assert_eq!(send, "Enviar");
    let placeholder = bruno.find(Locator::Id("message")).await.unwrap().attr("placeholder").await.unwrap();
    assert_eq!(placeholder.as_deref(), Some("Escreva em português…"));
    let lang: Value = bruno.execute("return document.documentElement.lang;", vec![]).await.unwrap();
    assert_eq!(lang, json!("pt"));
    let status = bruno.find(Locator::Css("header .connection")).await.unwrap().text().await.unwrap();
    assert_eq!(status, "ao vivo");
    // Relative times come in the reader's language too.
    say(&bruno, "Olá a todos").await;
    eventually(WITHIN, "the message's time, relative and in Portuguese", || async {
        let time = bruno.find(Locator::Css("li.message:not(.pending) time")).await.ok()?.text().await.ok()?;
        (time == "agora").then_some(())
    })
    .await;
    // The admin console too (Bruno is no admin: it says so, in Portuguese).
    bruno.goto(&server.url("/admin")).await.unwrap();
    eventually(WITHIN, "the console's refusal in Portuguese", || async {
        let text = bruno.find(Locator::Css(".admin p.error")).await.ok()?.text().await.ok()?;
        (text == "Somente administradores. Entre primeiro como administrador.").then_some(())
    })
    .await;
    bruno.close().await.unwrap();
    // The server renders the page in the request's language already, so
    // nothing flips from English when the page starts running.
    let page = reqwest::Client::new()
        .get(server.url("/"))
        .header("accept-language", "de-DE,de;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html lang=\"de\""), "{page}");
    assert!(page.contains("Als Gast teilnehmen"), "{page}");
}

#[tokio::test]
async fn unread_counts_mentions_and_reactions() {
    assert_site_built();
    let server = TestServer::start().await;
    let driver = ChromeDriver::start().await;
    let (pa, pb) = (TempDir::new("parley-chrome"), TempDir::new("parley-chrome"));
    let ana = driver.browser(&pa).await;
    let bruno = driver.browser(&pb).await;
    enter(&ana, &server, "Ana", "lobby/en").await;
    enter(&bruno, &server, "Bruno", "lobby/pt").await;
    say(&bruno, "Bom dia a todos").await;
    eventually(WITHIN, "Ana reads Bruno", || async { (!shown(&ana).await.is_empty()).then_some(()) }).await;

    // A reaction is the same for every reader.
    ana.find(Locator::Css("li.message button.reaction.add")).await.unwrap().click().await.unwrap();
    ana.find(Locator::Css("li.message .palette button[aria-label='👍']")).await.unwrap().click().await.unwrap();
    eventually(WITHIN, "Bruno sees Ana's reaction", || async {
        let chip = bruno.find(Locator::Css("li.message button.reaction:not(.add):not(.choice)")).await.ok()?;
        let text = chip.text().await.ok()?;
        (text.contains("👍") && text.contains('1')).then_some(())
    })
    .await;

    // Ana leaves for the landing page; three messages come in, one of them for her.
    ana.goto(&server.url("/")).await.unwrap();
    open_landing(&ana, &server).await;
    let dora = server.join("Dora", "lobby", "en").await["token"].as_str().unwrap().to_owned();
    for text in ["First while you were away", "Second while you were away", "@Ana look at this"] {
        server.publish("lobby-publish", &dora, &json!({"text": text, "lang": "en"})).await;
    }
    // The counts are read when the page loads.
    let unread = eventually(WITHIN, "the lobby shows 3 unread", || async {
        ana.refresh().await.ok()?;
        let badge = ana
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css("li.room-card[data-room='lobby'] .unread"))
            .await
            .ok()?;
        let n = badge.attr("data-unread").await.ok()??;
        (n == "3").then_some(n)
    })
    .await;
    assert_eq!(unread, "3");
    // Opening the room shows them (the mention highlighted) and clears the count.
    ana.find(Locator::Css("a.lang[data-room='lobby'][data-lang='en']")).await.unwrap().click().await.unwrap();
    wait_live(&ana).await;
    let mention = eventually(WITHIN, "the mention is highlighted", || async {
        ana.find(Locator::Css("li.message.mention p.text")).await.ok()
    })
    .await;
    assert_eq!(mention.text().await.unwrap(), "@Ana look at this");
    eventually(WITHIN, "the room was read to its newest message", || async { in_view(&ana, None).await.then_some(()) })
        .await;
    ana.goto(&server.url("/")).await.unwrap();
    open_landing(&ana, &server).await;
    ana.wait().at_most(WITHIN).for_element(Locator::Css("li.room-card[data-room='lobby']")).await.unwrap();
    assert!(ana.find(Locator::Css("li.room-card[data-room='lobby'] .unread")).await.is_err(), "no unread left");
    ana.close().await.unwrap();
    bruno.close().await.unwrap();
}

#[tokio::test]
async fn the_keyboard_sends_edits_and_cancels() {
    assert_site_built();
    let server = TestServer::start().await;
    let driver = ChromeDriver::start().await;
    let profile = TempDir::new("parley-chrome");
    let ana = driver.browser(&profile).await;
    enter(&ana, &server, "Ana", "lobby/en").await;
    let input = ana.find(Locator::Id("message")).await.unwrap();
    // Enter sends.
    input.send_keys(&format!("Typed without a mouse{}", Key::Enter)).await.unwrap();
    eventually(WITHIN, "the message arrives", || async {
        shown(&ana).await.contains(&"Typed without a mouse".to_owned()).then_some(())
    })
    .await;
    // ↑ in the empty box edits the last message; Escape cancels.
    input.send_keys(&Key::Up.to_string()).await.unwrap();
    ana.wait().at_most(WITHIN).for_element(Locator::Css("p.editing")).await.unwrap();
    let draft = input.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(draft, "Typed without a mouse");
    input.send_keys(&Key::Escape.to_string()).await.unwrap();
    eventually(WITHIN, "the edit is cancelled", || async {
        let editing = ana.find(Locator::Css("p.editing")).await.is_ok();
        let value = input.prop("value").await.ok()??;
        (!editing && value.is_empty()).then_some(())
    })
    .await;
    // ↑ again, change it, Enter: the edit goes out.
    input.send_keys(&Key::Up.to_string()).await.unwrap();
    input.send_keys(&format!(" and edited{}", Key::Enter)).await.unwrap();
    eventually(WITHIN, "the edit arrives", || async {
        shown(&ana).await.contains(&"Typed without a mouse and edited".to_owned()).then_some(())
    })
    .await;
    // Focus is visible: the focused control draws an outline.
    let outline: Value =
        ana.execute("return getComputedStyle(document.activeElement).outlineStyle;", vec![]).await.unwrap();
    assert_ne!(outline, json!("none"), "the focused input shows its focus");
    ana.close().await.unwrap();
}

/// axe-core's script, installed by `scripts/test.sh` (npm).
fn axe_source() -> String {
    let path = workspace_root().join(".cache/node/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: scripts/test.sh installs axe-core", path.display()))
}

/// Runs axe-core on the page; returns the serious and critical violations.
async fn serious_violations(browser: &Client) -> Vec<Value> {
    browser.execute(&axe_source(), vec![]).await.unwrap();
    let result = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations.map(v => ({
               id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5) }))));",
            vec![],
        )
        .await
        .unwrap();
    result
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .cloned()
        .collect()
}

#[tokio::test]
async fn axe_finds_nothing_serious_on_the_landing_page_the_room_and_the_admin_console() {
    assert_site_built();
    let server = TestServer::start().await;
    let driver = ChromeDriver::start().await;
    for dark in [false, true] {
        let profile = TempDir::new("parley-chrome");
        let flags: &[&str] = if dark { &["--force-dark-mode"] } else { &[] };
        let browser = driver.browser_with(&profile, flags).await;
        open_landing(&browser, &server).await;
        let found = serious_violations(&browser).await;
        assert!(found.is_empty(), "landing (dark: {dark}): {found:#?}");
        enter(&browser, &server, if dark { "Night Owl" } else { "Ana" }, "lobby/en").await;
        say(&browser, "Hello, accessibility").await;
        eventually(WITHIN, "the message is shown", || async { (!shown(&browser).await.is_empty()).then_some(()) })
            .await;
        let found = serious_violations(&browser).await;
        assert!(found.is_empty(), "room (dark: {dark}): {found:#?}");
        if dark {
            screenshot(&browser, "room-dark.png").await;
        }
        browser.close().await.unwrap();
    }
    // The admin console, as the admin.
    let profile = TempDir::new("parley-chrome");
    let admin = driver.browser(&profile).await;
    sign_in_as_admin(&admin, &server).await;
    for section in ["rooms", "users", "webhooks", "pipeline"] {
        open_admin_section(&admin, section).await;
        admin.wait().at_most(WITHIN).for_element(Locator::Css(".admin-table, .health h2")).await.unwrap();
        let found = serious_violations(&admin).await;
        assert!(found.is_empty(), "admin, {section}: {found:#?}");
    }
    admin.close().await.unwrap();
}

#[tokio::test]
async fn the_front_end_travels_gzipped_to_browsers_that_accept_it() {
    assert_site_built();
    let server = TestServer::start().await;
    let get = |gzip: bool| {
        let request = reqwest::Client::new().get(server.url("/pkg/parley_bg.wasm"));
        async move {
            let request = if gzip { request.header("accept-encoding", "gzip") } else { request };
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            let encoding = response.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
            (encoding, response.bytes().await.unwrap().len())
        }
    };
    let (plain_encoding, plain) = get(false).await;
    let (gzip_encoding, gzipped) = get(true).await;
    assert_eq!(plain_encoding, None);
    assert_eq!(gzip_encoding.as_deref(), Some("gzip"));
    assert!(gzipped < plain / 2, "{gzipped} gzipped bytes of {plain}");
}

/// The room page's first HTML holds the newest messages its reader may
/// read, escaped, so they are on screen before the app has loaded; none
/// without a session or in a locked language.
#[tokio::test]
async fn the_room_page_arrives_with_its_newest_messages() {
    let server = TestServer::start().await;
    let response = server.put_room("vip", &json!({"languages": ["en", "pt"], "locked_languages": ["pt"]})).await;
    assert_eq!(response.status(), 201);
    let ana = server.guest("Ana").await;
    let token = server.join_as(&ana, "vip", "en").await["token"].as_str().unwrap().to_owned();
    let sent = server.publish("vip-publish", &token, &json!({"text": "Meet <b>me</b> at noon", "lang": "en"})).await;
    assert_eq!(sent.status(), 200);
    let page = |client: reqwest::Client, path: &'static str| {
        let url = server.url(path);
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let html = eventually(WITHIN, "the message is in the room page", || {
        let html = page(ana.clone(), "/rooms/vip/en");
        async move { Some(html.await).filter(|h| h.contains("at noon")) }
    })
    .await;
    assert!(html.contains("Meet &lt;b&gt;me&lt;/b&gt; at noon"), "escaped: {html}");
    assert!(!html.contains("<b>me</b>"), "{html}");
    let preview = &html[html.find(r#"class="preview">"#).unwrap_or_else(|| panic!("the preview list: {html}"))..];
    assert!(preview.find("at noon") < preview.find("</ol>"), "inside the preview list");
    assert!(preview.contains(r#"class="preview-item mine""#), "the reader's own message: {preview}");

    let anonymous = page(reqwest::Client::new(), "/rooms/vip/en").await;
    assert!(anonymous.contains(r#"class="preview""#) && !anonymous.contains("at noon"), "{anonymous}");
    let locked = page(ana.clone(), "/rooms/vip/pt").await;
    assert!(locked.contains(r#"class="preview""#) && !locked.contains("at noon"), "{locked}");
}
