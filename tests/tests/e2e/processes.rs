//! Parley and its pipeline as real child processes, for the tests that kill
//! them (`kill -9`) or run several: spawning with logs, a round-robin
//! balancer, and a reader that follows a topic across a dying node.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse;
use parley_e2e::{Endpoint, Subscription, eventually, workspace_root};
use serde_json::Value;

/// A child process killed on drop.
pub struct Child(pub tokio::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Where the child `name` writes its standard output (kept, for a failing
/// run); its standard error goes beside it, to `{name}.err.log`.
pub fn log_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("parley-cluster-logs");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}.log"))
}

fn log_file(name: &str) -> Stdio {
    Stdio::from(std::fs::File::create(log_path(name)).unwrap())
}

pub fn binary(name: &str) -> std::path::PathBuf {
    let path = workspace_root().join("target/debug").join(name);
    assert!(path.exists(), "{} is missing: scripts/test.sh builds it", path.display());
    path
}

impl Child {
    /// SIGKILL, and wait until the process is gone.
    pub async fn kill9(&mut self) {
        self.0.start_kill().unwrap();
        self.0.wait().await.unwrap();
    }
}

/// Starts `program` (a workspace binary) with `envs`, its output logged.
pub fn spawn(name: &str, program: &str, envs: &[(&str, &str)]) -> Child {
    spawn_program(name, binary(program), envs, &[])
}

/// Starts the executable at `path` with `envs` and `args`, its output logged.
pub fn spawn_program(name: &str, path: impl AsRef<std::path::Path>, envs: &[(&str, &str)], args: &[&str]) -> Child {
    let mut command = tokio::process::Command::new(path.as_ref());
    for (key, value) in envs {
        command.env(key, value);
    }
    Child(
        command
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(log_file(name))
            .stderr(log_file(&format!("{name}.err")))
            .kill_on_drop(true)
            .spawn()
            .unwrap(),
    )
}

/// How a `parley` process is wired: its database, bus and external pipeline.
pub struct ServerSettings<'a> {
    pub database_url: &'a str,
    pub nats: Option<&'a str>,
    pub pipeline_url: &'a str,
    pub secret: &'a str,
}

/// Starts `parley` on `addr` and waits until it is ready.
pub async fn start_server(name: &str, addr: SocketAddr, s: &ServerSettings<'_>) -> Child {
    let addr_text = addr.to_string();
    let site = parley_e2e::site_root().display().to_string();
    let mut envs = vec![
        ("PARLEY_ADDR", addr_text.as_str()),
        ("DATABASE_URL", s.database_url),
        ("PARLEY_PIPELINE", "external"),
        ("PARLEY_PIPELINE_URL", s.pipeline_url),
        ("PARLEY_PIPELINE_SECRET", s.secret),
        ("PARLEY_ADMIN_PASSWORD", "process-admin-password"),
        ("PARLEY_PUBLISH_RATE", "100000"),
        ("PARLEY_PUBLISH_BURST", "100000"),
        // A receiver that hangs is given up on (and retried) after this.
        ("PARLEY_WEBHOOK_TIMEOUT_SECONDS", "5"),
        ("PARLEY_SITE_ROOT", site.as_str()),
    ];
    if let Some(nats) = s.nats {
        envs.push(("PARLEY_BUS", nats));
    }
    let child = spawn(name, "parley", &envs);
    healthy(addr).await;
    child
}

/// Starts `parley` on `addr` as users run it: the embedded pipeline and
/// every default (publish limits, webhook timeout and leases), with only the
/// database, the site and `envs` (translator, bus, …) set; waits until ready.
pub async fn start_node(name: &str, addr: SocketAddr, database_url: &str, envs: &[(&str, &str)]) -> Child {
    let addr_text = addr.to_string();
    let site = parley_e2e::site_root().display().to_string();
    let models = parley_e2e::models_dir().display().to_string();
    let mut all = vec![
        ("PARLEY_ADDR", addr_text.as_str()),
        ("DATABASE_URL", database_url),
        ("PARLEY_ADMIN_PASSWORD", "process-admin-password"),
        ("PARLEY_SITE_ROOT", site.as_str()),
        ("PARLEY_MODELS_DIR", models.as_str()),
    ];
    all.extend_from_slice(envs);
    let child = spawn(name, "parley", &all);
    healthy(addr).await;
    child
}

/// An admin token for the nodes on `database_url`, valid for an hour.
pub async fn admin_token(database_url: &str) -> String {
    let db = parley::db::connect(database_url).await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = parley::token_key(&db).await.unwrap().sign(&parley::admin_claims(now, 3600));
    db.close().await;
    token
}

/// Starts `parley-pipeline` on `addr`, translating with the LibreTranslate at
/// `translator`, and waits until it listens.
pub async fn start_pipeline(
    name: &str,
    addr: SocketAddr,
    server_url: &str,
    token: &str,
    secret: &str,
    translator: &str,
) -> Child {
    let addr_text = addr.to_string();
    let child = spawn(
        name,
        "parley-pipeline",
        &[
            ("PARLEY_PIPELINE_ADDR", &addr_text),
            ("PARLEY_SERVER_URL", server_url),
            ("PARLEY_PIPELINE_TOKEN", token),
            ("PARLEY_WEBHOOK_SECRET", secret),
            ("PARLEY_TRANSLATOR", "libretranslate"),
            ("PARLEY_LIBRETRANSLATE_URL", translator),
        ],
    );
    eventually(Duration::from_secs(30), "the pipeline listens", || async move {
        tokio::net::TcpStream::connect(addr).await.ok()
    })
    .await;
    child
}

/// A round-robin HTTP balancer on loopback: each request goes to the next
/// target, and to the one after it when a target refuses the connection (a
/// dead node), as a load balancer with health checks would.
pub async fn balancer(targets: Vec<String>) -> String {
    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let (targets, next, http) = (targets.clone(), next.clone(), http.clone());
        async move {
            let first = next.fetch_add(1, Ordering::Relaxed);
            for i in 0..targets.len() {
                let target = &targets[(first + i) % targets.len()];
                let path = uri.path_and_query().map_or("/", |p| p.as_str());
                let mut request = http.request(method.clone(), format!("{target}{path}")).body(body.clone());
                for (name, value) in &headers {
                    if name != "host" && name != "content-length" {
                        request = request.header(name, value);
                    }
                }
                match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        let mut out = HeaderMap::new();
                        for name in ["content-type", "retry-after"] {
                            if let Some(v) = response.headers().get(name) {
                                out.insert(name, v.clone());
                            }
                        }
                        let bytes = response.bytes().await.unwrap_or_default();
                        return (status, out, bytes).into_response();
                    }
                    Err(e) if e.is_connect() => continue,
                    Err(_) => return axum::http::StatusCode::BAD_GATEWAY.into_response(),
                }
            }
            axum::http::StatusCode::BAD_GATEWAY.into_response()
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(handler)).await });
    url
}

pub async fn healthy(addr: SocketAddr) {
    let http = reqwest::Client::new();
    eventually(Duration::from_secs(60), &format!("{addr} answers /readyz"), || {
        let http = http.clone();
        async move { http.get(format!("http://{addr}/readyz")).send().await.ok().filter(|r| r.status().is_success()) }
    })
    .await;
}

/// One reader: follows `topic`, moving to `fallback` with `resume_after`
/// when its node dies, until it holds an envelope for every message.
pub async fn read_all(node: Endpoint, fallback: SocketAddr, topic: String, token: String, count: usize) -> Vec<Value> {
    read_all_timed(node, fallback, topic, token, count).await.into_iter().map(|(envelope, _)| envelope).collect()
}

/// [`read_all`], with the moment each envelope arrived.
pub async fn read_all_timed(
    mut node: Endpoint,
    fallback: SocketAddr,
    topic: String,
    token: String,
    count: usize,
) -> Vec<(Value, Instant)> {
    let mut envelopes = Vec::new();
    let mut last_seq: Option<i64> = None;
    let mut sub: Subscription = node.subscribe(&topic, &token, Some(0)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut seen: HashMap<String, usize> = HashMap::new();
    while seen.len() < count {
        assert!(Instant::now() < deadline, "{topic}: only {} of {count} arrived", seen.len());
        match sub.try_next_item(Duration::from_secs(30)).await {
            Some(frame) => {
                let seq = frame["seq"].as_i64().unwrap();
                if let Some(last) = last_seq {
                    assert_eq!(seq, last + 1, "{topic}: items arrive gap-free and once, in seq order");
                }
                last_seq = Some(seq);
                let value = frame["value"].clone();
                *seen.entry(value["id"].as_str().unwrap().to_owned()).or_default() += 1;
                envelopes.push((value, Instant::now()));
            }
            None => {
                // The node went away (or fell silent): resume on the survivor.
                node = Endpoint::at(fallback);
                sub = eventually(Duration::from_secs(30), "the survivor accepts the subscription", || {
                    let (node, topic, token) = (&node, &topic, &token);
                    async move { node.subscribe(topic, token, last_seq.or(Some(0))).await.ok() }
                })
                .await;
            }
        }
    }
    envelopes
}

/// The `q`-quantile (0..=1) of `values`, which it sorts.
pub fn quantile(values: &mut [Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort();
    values[((values.len() - 1) as f64 * q).round() as usize]
}

/// Waits until no webhook delivery is pending, failing if any was given up.
pub async fn outbox_drains(db: &sqlx::AnyPool) {
    eventually(Duration::from_secs(60), "the outbox drains", || async move {
        let (pending, failed): (i64, i64) = sqlx::query_as(
            "select (select count(*) from webhook_outbox where status = 'pending'),
                    (select count(*) from webhook_outbox where status = 'failed')",
        )
        .fetch_one(db)
        .await
        .unwrap();
        assert_eq!(failed, 0, "no delivery was given up");
        (pending == 0).then_some(())
    })
    .await;
}
