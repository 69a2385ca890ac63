//! The systems under test, as subscribers and publishers speaking each one's
//! own protocol: Parley (WebSocket + HTTP publish), the floor (WebSocket),
//! NATS core and NATS JetStream, the durable peer (file storage, one push
//! consumer per subscriber), both through NATS's text protocol over TCP, read
//! by a lean hand-written subscriber.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

use crate::histogram::Histogram;

/// The topic / subject every target uses.
pub const TOPIC: &str = "bench";

#[derive(Clone, Debug)]
pub enum Target {
    Parley { addr: String, token: String },
    Floor { addr: String },
    Nats { addr: String },
    JetStream { addr: String },
}

/// The JetStream stream and its subject (apart from core NATS's `bench`).
const JS_STREAM: &str = "PARLEYBENCH";
const JS_SUBJECT: &str = "benchjs";

/// Tells consumers' delivery subjects apart.
static CONSUMERS: AtomicU64 = AtomicU64::new(0);

async fn nats_connect(
    addr: &str,
) -> anyhow::Result<(BufReader<tokio::net::tcp::OwnedReadHalf>, tokio::net::tcp::OwnedWriteHalf)> {
    let stream = TcpStream::connect(addr).await.context("nats connect")?;
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    if !line.starts_with("INFO") {
        bail!("not a NATS server: {line}");
    }
    write.write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n").await?;
    Ok((reader, write))
}

/// Reads one `MSG`/`HMSG` (skipping pings and other lines): its subject and body.
async fn nats_message(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: &mut tokio::net::tcp::OwnedWriteHalf,
) -> anyhow::Result<(String, Vec<u8>)> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            bail!("NATS closed the connection");
        }
        if line.starts_with("MSG") || line.starts_with("HMSG") {
            let subject = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let len: usize = line.split_whitespace().last().and_then(|n| n.parse().ok()).unwrap_or(0);
            let mut body = vec![0; len + 2];
            reader.read_exact(&mut body).await?;
            body.truncate(len);
            return Ok((subject, body));
        } else if line.starts_with("PING") {
            write.write_all(b"PONG\r\n").await?;
        } else if line.starts_with("-ERR") {
            bail!("NATS: {}", line.trim());
        }
    }
}

/// A JetStream API request and its answer (JSON), refused if it names an error.
async fn js_request(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    subject: &str,
    body: &str,
) -> anyhow::Result<String> {
    let inbox = format!("_INBOX.parleyload.{}", CONSUMERS.fetch_add(1, Ordering::Relaxed));
    write
        .write_all(
            format!("SUB {inbox} 999\r\nPUB {subject} {inbox} {}\r\n{body}\r\nUNSUB 999 1\r\n", body.len()).as_bytes(),
        )
        .await?;
    loop {
        let (got, answer) = nats_message(reader, write).await?;
        if got == inbox {
            let answer = String::from_utf8_lossy(&answer).into_owned();
            if answer.contains("\"error\"") {
                bail!("{subject}: {answer}");
            }
            return Ok(answer);
        }
    }
}

/// A fresh file-backed stream for the run (what an earlier run left is deleted).
pub async fn prepare_jetstream(addr: &str) -> anyhow::Result<()> {
    let (mut reader, mut write) = nats_connect(addr).await?;
    let _ = js_request(&mut reader, &mut write, &format!("$JS.API.STREAM.DELETE.{JS_STREAM}"), "").await;
    let config = format!(
        r#"{{"name":"{JS_STREAM}","subjects":["{JS_SUBJECT}"],"storage":"file","retention":"limits","max_msgs":1000000,"discard":"old"}}"#
    );
    js_request(&mut reader, &mut write, &format!("$JS.API.STREAM.CREATE.{JS_STREAM}"), &config)
        .await
        .context("creating the JetStream stream (is nats-server running with -js?)")?;
    Ok(())
}

impl Target {
    pub fn name(&self) -> &'static str {
        match self {
            Target::Parley { .. } => "parley",
            Target::Floor { .. } => "floor (tokio broadcast)",
            Target::Nats { .. } => "nats-server (core)",
            Target::JetStream { .. } => "nats JetStream (file, push)",
        }
    }
}

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// A payload of `size` bytes that starts with its send time.
pub fn payload(size: usize) -> String {
    let mut p = format!("{}|", now_ns());
    while p.len() < size {
        p.push('x');
    }
    p
}

/// Records the latency of a payload (`{ns}|…`), found anywhere in `text`.
fn record(text: &str, hist: &Histogram, received: &AtomicU64) {
    let Some(bar) = text.find('|') else { return };
    let digits_start = text[..bar].rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| i + 1);
    if let Ok(sent) = text[digits_start..bar].parse::<u128>() {
        let latency = now_ns().saturating_sub(sent);
        hist.record(Duration::from_nanos(latency as u64));
        received.fetch_add(1, Ordering::Relaxed);
    }
}

/// Connects one subscriber; it counts and times every message until it is
/// aborted (its connection closes) or the process ends. Returns once the
/// subscription is live.
pub async fn subscribe(
    target: &Target,
    hist: Arc<Histogram>,
    received: Arc<AtomicU64>,
) -> anyhow::Result<tokio::task::AbortHandle> {
    let (ready_tx, ready_rx) = oneshot::channel::<()>();
    let task = match target {
        Target::Parley { addr, token } => {
            let url = format!("ws://{addr}/api/topics/{TOPIC}/subscribe?token={token}");
            let (mut ws, _) = ws_connect(url).await.context("parley subscribe")?;
            tokio::spawn(async move {
                let mut ready = Some(ready_tx);
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(text) = message {
                        // The first frame (a heartbeat) says the subscription is live.
                        if let Some(r) = ready.take() {
                            let _ = r.send(());
                        }
                        if text.starts_with(r#"{"type":"item""#) {
                            record(&text, &hist, &received);
                        }
                    }
                }
            })
        }
        Target::Floor { addr } => {
            let (mut ws, _) = ws_connect(format!("ws://{addr}/")).await.context("floor subscribe")?;
            ws.send(Message::Text("sub".into())).await?;
            tokio::spawn(async move {
                let mut ready = Some(ready_tx);
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(text) = message {
                        match ready.take() {
                            Some(r) => {
                                let _ = r.send(());
                            }
                            None => record(&text, &hist, &received),
                        }
                    }
                }
            })
        }
        Target::JetStream { addr } => {
            let (mut reader, mut write) = nats_connect(addr).await?;
            let deliver = format!("_deliver.parleyload.{}", CONSUMERS.fetch_add(1, Ordering::Relaxed));
            write.write_all(format!("SUB {deliver} 1\r\n").as_bytes()).await?;
            let consumer = format!(
                r#"{{"stream_name":"{JS_STREAM}","config":{{"deliver_subject":"{deliver}","deliver_policy":"new","ack_policy":"none","replay_policy":"instant"}}}}"#
            );
            js_request(&mut reader, &mut write, &format!("$JS.API.CONSUMER.CREATE.{JS_STREAM}"), &consumer).await?;
            let _ = ready_tx.send(());
            tokio::spawn(async move {
                while let Ok((subject, body)) = nats_message(&mut reader, &mut write).await {
                    // Deliveries keep the stream subject's name (the delivery subject only routes them).
                    if subject == JS_SUBJECT {
                        record(&String::from_utf8_lossy(&body), &hist, &received);
                    }
                }
            })
        }
        Target::Nats { addr } => {
            let (mut reader, mut write) = nats_connect(addr).await?;
            write.write_all(format!("SUB {TOPIC} 1\r\nPING\r\n").as_bytes()).await?;
            tokio::spawn(async move {
                let mut ready = Some(ready_tx);
                let mut line = String::new();
                let mut body = Vec::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line.starts_with("MSG") {
                        let len: usize = line.split_whitespace().last().and_then(|n| n.parse().ok()).unwrap_or(0);
                        body.resize(len + 2, 0);
                        if reader.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        record(std::str::from_utf8(&body[..len]).unwrap_or(""), &hist, &received);
                    } else if line.starts_with("PING") {
                        let _ = write.write_all(b"PONG\r\n").await;
                    } else if line.starts_with("PONG")
                        && let Some(r) = ready.take()
                    {
                        let _ = r.send(());
                    }
                }
            })
        }
    };
    tokio::time::timeout(Duration::from_secs(30), ready_rx).await.context("subscriber never became live")??;
    Ok(task.abort_handle())
}

/// A WebSocket client connection with Nagle's algorithm off, as every
/// server here has it: a publisher whose server never answers (the floor)
/// would otherwise hold each small frame until a delayed ACK, up to 40 ms.
pub async fn ws_connect(
    url: impl tokio_tungstenite::tungstenite::client::IntoClientRequest + Unpin,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    tokio_tungstenite::tungstenite::Error,
> {
    tokio_tungstenite::connect_async_with_config(url, None, true).await
}

/// The sending half of a WebSocket.
type WsSink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    Message,
>;

/// Sends payloads to one target.
pub enum Publisher {
    /// HTTP publishes, spread over a pool of connections.
    Parley {
        jobs: tokio::sync::mpsc::Sender<String>,
    },
    /// Publish frames over one WebSocket subscription; a task reads the answers.
    ParleyWs(Box<WsSink>),
    Floor(Box<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>>),
    /// The read half stays open (and unread) so the connection lives.
    Nats {
        write: tokio::net::tcp::OwnedWriteHalf,
        _read: BufReader<tokio::net::tcp::OwnedReadHalf>,
    },
    /// Publishes into the stream's subject; JetStream stores each on file.
    JetStream {
        write: tokio::net::tcp::OwnedWriteHalf,
        _read: BufReader<tokio::net::tcp::OwnedReadHalf>,
    },
}

/// HTTP publishers running at once against Parley.
const PARLEY_PUBLISHERS: usize = 16;

impl Publisher {
    /// `batch`: Parley's publishers send up to this many waiting payloads per
    /// request; `over_ws`: they publish over a WebSocket subscription instead.
    /// `acks` times each WebSocket publish until Parley's `published` answer.
    pub async fn connect(
        target: &Target,
        failures: Arc<AtomicU64>,
        acks: Arc<Histogram>,
        batch: usize,
        over_ws: bool,
    ) -> anyhow::Result<Self> {
        Ok(match target {
            Target::Parley { addr, token } if over_ws => {
                let url = format!("ws://{addr}/api/topics/{TOPIC}/subscribe?token={token}");
                let (ws, _) = ws_connect(url).await.context("parley publish socket")?;
                let (sink, mut stream) = ws.split();
                // Answers and the topic's own items come back: time the
                // answers (their `ref` is the send time), count the refusals.
                tokio::spawn(async move {
                    while let Some(Ok(message)) = stream.next().await {
                        let Message::Text(text) = message else { continue };
                        if text.starts_with(r#"{"type":"item""#) {
                            continue;
                        }
                        // Answers are small JSON objects whose keys come in any order.
                        let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                        match answer["type"].as_str() {
                            Some("published") => {
                                if let Some(sent) = answer["ref"].as_str().and_then(|r| r.parse::<u128>().ok()) {
                                    acks.record(Duration::from_nanos(now_ns().saturating_sub(sent) as u64));
                                }
                            }
                            Some("error") => {
                                failures.fetch_add(1, Ordering::Relaxed);
                            }
                            _ => {}
                        }
                    }
                });
                Publisher::ParleyWs(Box::new(sink))
            }
            Target::Parley { addr, token } => {
                let (tx, rx) = tokio::sync::mpsc::channel::<String>(100_000);
                let rx = Arc::new(tokio::sync::Mutex::new(rx));
                let http = reqwest::Client::builder().pool_max_idle_per_host(PARLEY_PUBLISHERS).build()?;
                for _ in 0..PARLEY_PUBLISHERS {
                    let (rx, http, failures) = (rx.clone(), http.clone(), failures.clone());
                    let (url, token) = (format!("http://{addr}/api/topics/{TOPIC}"), token.clone());
                    let batch_url = format!("http://{addr}/api/topics");
                    tokio::spawn(async move {
                        loop {
                            // One payload, and up to `batch - 1` more that are already waiting.
                            let mut bodies = Vec::new();
                            {
                                let mut rx = rx.lock().await;
                                let Some(body) = rx.recv().await else { return };
                                bodies.push(body);
                                while bodies.len() < batch.max(1) {
                                    match rx.try_recv() {
                                        Ok(body) => bodies.push(body),
                                        Err(_) => break,
                                    }
                                }
                            }
                            let n = bodies.len() as u64;
                            let request = if n == 1 {
                                http.post(&url).header("content-type", "text/plain").body(bodies.remove(0))
                            } else {
                                let items: Vec<serde_json::Value> = bodies
                                    .into_iter()
                                    .map(|b| serde_json::json!({"topic": TOPIC, "value": b}))
                                    .collect();
                                http.post(&batch_url).json(&serde_json::json!({ "items": items }))
                            };
                            let sent = request.bearer_auth(&token).send().await;
                            if !sent.is_ok_and(|r| r.status().is_success()) {
                                failures.fetch_add(n, Ordering::Relaxed);
                            }
                        }
                    });
                }
                Publisher::Parley { jobs: tx }
            }
            Target::Floor { addr } => {
                let (mut ws, _) = ws_connect(format!("ws://{addr}/")).await?;
                ws.send(Message::Text("pub".into())).await?;
                Publisher::Floor(Box::new(ws))
            }
            Target::Nats { addr } => {
                let (reader, write) = nats_connect(addr).await?;
                Publisher::Nats { write, _read: reader }
            }
            Target::JetStream { addr } => {
                let (reader, write) = nats_connect(addr).await?;
                Publisher::JetStream { write, _read: reader }
            }
        })
    }

    pub async fn publish(&mut self, payload: String) -> anyhow::Result<()> {
        match self {
            Publisher::Parley { jobs } => jobs.send(payload).await.context("publisher pool gone")?,
            Publisher::ParleyWs(sink) => {
                let sent = now_ns().to_string();
                let frame = serde_json::json!({"type": "publish", "topic": TOPIC, "value": payload, "ref": sent});
                sink.send(Message::Text(frame.to_string().into())).await?;
            }
            Publisher::Floor(ws) => ws.send(Message::Text(payload.into())).await?,
            Publisher::Nats { write, .. } => {
                write.write_all(format!("PUB {TOPIC} {}\r\n{payload}\r\n", payload.len()).as_bytes()).await?;
            }
            Publisher::JetStream { write, .. } => {
                write.write_all(format!("PUB {JS_SUBJECT} {}\r\n{payload}\r\n", payload.len()).as_bytes()).await?;
            }
        }
        Ok(())
    }
}
