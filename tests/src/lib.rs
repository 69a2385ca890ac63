//! Test harness: real Parley servers on `127.0.0.1:0`, API clients, WebSocket
//! subscribers and an `eventually` poller. Used by the tests in `tests/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use parley::Config;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The workspace root, where `data/models` and `target/site` live by default.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// Where the translation models are: `PARLEY_MODELS_DIR` or `data/models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("PARLEY_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("data/models"))
}

/// Where the built site is: `PARLEY_SITE_ROOT` or `target/site`.
pub fn site_root() -> PathBuf {
    std::env::var_os("PARLEY_SITE_ROOT").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target/site"))
}

/// The PostgreSQL server the suite runs against when `PARLEY_TEST_POSTGRES`
/// is set (e.g. `postgres://postgres@127.0.0.1:5432`); otherwise SQLite.
pub fn test_postgres() -> Option<String> {
    std::env::var("PARLEY_TEST_POSTGRES").ok().filter(|v| !v.is_empty())
}

/// The NATS server nodes share when `PARLEY_TEST_NATS` is set (e.g. `nats://127.0.0.1:4222`).
pub fn test_nats() -> Option<String> {
    std::env::var("PARLEY_TEST_NATS").ok().filter(|v| !v.is_empty())
}

/// A database of the test's own: a fresh PostgreSQL database (named
/// `parley_t_…`, so a run's leftovers are easy to drop) when the suite runs on
/// PostgreSQL, else a SQLite file in `dir`.
pub async fn fresh_database_url(dir: &Path) -> String {
    match test_postgres() {
        Some(server) => fresh_postgres_database(&server).await,
        None => format!("sqlite://{}", dir.join("parley.db").display()),
    }
}

/// Creates an empty database `parley_t_…` on the PostgreSQL `server`; returns its URL.
pub async fn fresh_postgres_database(server: &str) -> String {
    use sqlx::Connection as _;
    let name = format!("parley_t_{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await.unwrap();
    sqlx::query(&format!("create database {name}")).execute(&mut admin).await.unwrap();
    format!("{server}/{name}")
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Where a Parley node answers: its API, as clients use it.
pub struct Endpoint {
    pub addr: SocketAddr,
    pub base: String,
}

/// A Parley server running in this process on a free loopback port.
pub struct TestServer {
    endpoint: Endpoint,
    pub db_path: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    config: Config,
    _dir: TempDir,
}

impl TestServer {
    /// Starts a server with the test defaults (fresh SQLite file, real models,
    /// embedded pipeline), after `adjust` has had its say.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = TempDir::new("parley-test");
        let db_path = dir.0.join("parley.db");
        let mut config = Config::for_tests(&db_path);
        config.database_url = fresh_database_url(&dir.0).await;
        config.bus_url = test_nats();
        config.translators = vec![parley::ProviderConfig::Firefox { models_dir: models_dir() }];
        config.site_root = site_root();
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::launch(listener, config, dir).await
    }

    async fn launch(listener: tokio::net::TcpListener, config: Config, dir: TempDir) -> Self {
        let addr = listener.local_addr().unwrap();
        let db_path = dir.0.join("parley.db");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(parley::run(listener, config.clone(), async move {
            let _ = stopped.await;
        }));
        let server = Self {
            endpoint: Endpoint { addr, base: format!("http://{addr}") },
            db_path,
            stop: Some(stop),
            handle: Some(handle),
            config,
            _dir: dir,
        };
        let http = reqwest::Client::new();
        let url = format!("{}/healthz", server.base);
        eventually(Duration::from_secs(30), "the server answers /healthz", || {
            let (http, url) = (http.clone(), url.clone());
            async move { http.get(&url).send().await.ok().filter(|r| r.status().is_success()) }
        })
        .await;
        server
    }

    /// Stops the server (its clients see their connections drop) and starts
    /// it again on the same address and database.
    pub async fn restart(mut self) -> Self {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle.take().unwrap().await.unwrap().unwrap();
        let dir = std::mem::replace(&mut self._dir, TempDir(PathBuf::new()));
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        Self::launch(listener, self.config.clone(), dir).await
    }

    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Stops the server gracefully and returns how `run` ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle.take().unwrap().await.unwrap()
    }

    /// The server's database, opened beside it.
    pub async fn db(&self) -> sqlx::AnyPool {
        parley::db::connect(&self.config.database_url).await.unwrap()
    }

    /// The database URL the server runs on (SQLite file or PostgreSQL database).
    pub fn database_url(&self) -> &str {
        &self.config.database_url
    }

    /// A token signed with the server's key for `claims`.
    pub async fn sign(&self, claims: &parley::auth::Claims) -> String {
        parley::token_key(&self.db().await).await.unwrap().sign(claims)
    }

    /// An admin token valid for an hour (of the system clock).
    /// Creates or changes a room as the admin (`PUT /api/rooms/{room}`).
    pub async fn put_room(&self, room: &str, body: &Value) -> reqwest::Response {
        let admin = self.admin_token().await;
        self.authed(reqwest::Method::PUT, &format!("/api/rooms/{room}"), &admin).json(body).send().await.unwrap()
    }

    pub async fn admin_token(&self) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.sign(&parley::admin_claims(now, 3600)).await
    }

    /// A token for `perms` (as `(topic pattern, ops)`), valid for an hour,
    /// for the user `u_test` (limits count per user: every call's tokens share them).
    pub async fn token_for(&self, perms: &[(&str, &[parley::auth::Op])]) -> String {
        self.token_for_user("u_test", perms).await
    }

    /// A token for `perms` held by user `sub`, valid for an hour.
    pub async fn token_for_user(&self, sub: &str, perms: &[(&str, &[parley::auth::Op])]) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let perms = perms
            .iter()
            .map(|(topic, ops)| parley::auth::Permission { topic: (*topic).into(), ops: ops.to_vec() })
            .collect();
        self.sign(&parley::auth::Claims::new(sub, "Tester", parley::auth::Role::User, perms, now + 3600)).await
    }
}

impl std::ops::Deref for TestServer {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Endpoint {
    /// A node started elsewhere (a child process) at `addr`.
    pub fn at(addr: SocketAddr) -> Self {
        Endpoint { addr, base: format!("http://{addr}") }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An HTTP client and a request builder carrying `token`.
    pub fn authed(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new().request(method, self.url(path)).bearer_auth(token)
    }

    /// A new guest with its own cookie jar.
    pub async fn guest(&self, name: &str) -> reqwest::Client {
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let response =
            client.post(self.url("/api/auth/guest")).json(&json!({ "display_name": name })).send().await.unwrap();
        assert_eq!(response.status(), 200, "guest sign-in");
        client
    }

    /// Joins `room` in `lang` as a new guest; returns the join answer.
    pub async fn join(&self, name: &str, room: &str, lang: &str) -> Value {
        self.join_as(&self.guest(name).await, room, lang).await
    }

    /// Joins `room` in `lang` with `client`'s session; returns the join answer.
    pub async fn join_as(&self, client: &reqwest::Client, room: &str, lang: &str) -> Value {
        let response = client
            .post(self.url(&format!("/api/rooms/{room}/join")))
            .json(&json!({ "language": lang }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "join {room} in {lang}");
        response.json().await.unwrap()
    }

    /// `GET path` with `token`, read as JSON (whatever the status).
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        self.authed(reqwest::Method::GET, path, token).send().await.unwrap().json().await.unwrap()
    }

    /// A counter or gauge from `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str) -> u64 {
        let text = reqwest::get(self.url("/metrics")).await.unwrap().text().await.unwrap();
        let prefix = format!("{name} ");
        text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// Publishes `value` with `token`; returns the raw response.
    pub async fn publish(&self, topic: &str, token: &str, value: &Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url(&format!("/api/topics/{topic}")))
            .bearer_auth(token)
            .json(value)
            .send()
            .await
            .unwrap()
    }

    /// Opens a WebSocket subscription (token in the query, as browsers do).
    pub async fn subscribe(
        &self,
        topic: &str,
        token: &str,
        resume_after: Option<i64>,
    ) -> Result<Subscription, tokio_tungstenite::tungstenite::Error> {
        let mut url = format!("ws://{}/api/topics/{topic}/subscribe?token={token}", self.addr);
        if let Some(after) = resume_after {
            url.push_str(&format!("&resume_after={after}"));
        }
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        Ok(Subscription::live(ws).await)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A WebSocket subscription to one topic.
pub struct Subscription {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames that arrived while waiting for the subscription to go live.
    early: std::collections::VecDeque<Message>,
}

impl Subscription {
    /// Wraps an open socket once it is live. The server's first heartbeat
    /// follows the replay and means "live": publishes from then on are
    /// delivered. Frames that came before it are kept.
    pub async fn live(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        let mut subscription = Subscription { ws, early: std::collections::VecDeque::new() };
        loop {
            let message = subscription.next_from_socket(Duration::from_secs(10)).await;
            if let Message::Text(text) = &message
                && text.as_str() == r#"{"type":"heartbeat"}"#
            {
                break;
            }
            subscription.early.push_back(message);
        }
        subscription
    }

    /// The next `item` frame, skipping heartbeats; panics after `within`.
    pub async fn next_item(&mut self, within: Duration) -> Value {
        loop {
            let frame = self.next_frame(within).await;
            if frame["type"] == "item" {
                return frame;
            }
        }
    }

    /// The next `item` frame, or `None` when the connection ends (its node
    /// died) or nothing arrives within `within`.
    pub async fn try_next_item(&mut self, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        loop {
            let message = match self.early.pop_front() {
                Some(early) => early,
                None => tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), self.ws.next())
                    .await
                    .ok()??
                    .ok()?,
            };
            match message {
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(&text).ok()?;
                    if frame["type"] == "item" {
                        return Some(frame);
                    }
                }
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// The next frame other than a heartbeat; panics after `within`.
    pub async fn next_frame(&mut self, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            match self.next_message(deadline.saturating_duration_since(Instant::now())).await {
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["type"] != "heartbeat" {
                        return frame;
                    }
                }
                Message::Close(close) => panic!("subscription closed: {close:?}"),
                _ => {}
            }
        }
    }

    /// Sends a text frame to the server (subscribers normally send nothing).
    pub async fn send_text(&mut self, text: String) {
        use futures_util::SinkExt as _;
        let _ = self.ws.send(Message::Text(text.into())).await;
    }

    /// Sends text frames in one write, without waiting for any answer.
    pub async fn send_all(&mut self, texts: Vec<String>) {
        use futures_util::SinkExt as _;
        for text in texts {
            let _ = self.ws.feed(Message::Text(text.into())).await;
        }
        let _ = self.ws.flush().await;
    }

    /// The close frame that ends the subscription (skipping anything before it).
    pub async fn closed(&mut self, within: Duration) -> Option<tokio_tungstenite::tungstenite::protocol::CloseFrame> {
        let deadline = Instant::now() + within;
        loop {
            if let Message::Close(close) = self.next_message(deadline.saturating_duration_since(Instant::now())).await {
                return close;
            }
        }
    }

    async fn next_message(&mut self, within: Duration) -> Message {
        match self.early.pop_front() {
            Some(early) => early,
            None => self.next_from_socket(within).await,
        }
    }

    async fn next_from_socket(&mut self, within: Duration) -> Message {
        tokio::time::timeout(within, self.ws.next())
            .await
            .unwrap_or_else(|_| panic!("nothing arrived within {within:?}"))
            .expect("subscription ended without a close frame")
            .expect("subscription failed")
    }
}

/// Polls `probe` until it yields `Some`, or panics naming `what` after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// The API error code of a response body.
pub async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("an API error body");
    assert!(body["error"]["message"].is_string(), "error body has a message: {body}");
    body["error"]["code"].as_str().expect("error code").to_owned()
}
