//! Subscriptions over WebSocket or Server-Sent Events: replay retained items
//! after `resume_after`, then go live, with no gap and no duplicate; and the
//! paged history endpoint.
//!
//! A subscription ends when the client leaves, its token is revoked or
//! expires, or the server shuts down; WebSockets then get a close frame
//! saying why.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use futures_util::stream::{FuturesOrdered, SplitSink};
use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::AnyPool;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};

use super::{Item, Publisher, validate_topic};
use crate::auth::{Claims, Op, TokenCaller};
use crate::error::{Error, Result};
use crate::limits::SubscriptionGuard;
use crate::openapi::ErrorBody;
use crate::topics::TopicsState;
use crate::topics::controls::{Closed, Control, Controls};

/// How often an idle subscription gets a `heartbeat` frame.
pub const HEARTBEAT: Duration = Duration::from_secs(25);

const HEARTBEAT_FRAME: &str = r#"{"type":"heartbeat"}"#;

/// Per-socket buffers: subscribers send almost nothing; writes flush per batch.
const READ_BUFFER_BYTES: usize = 1024;
const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// The largest frame or message a subscriber may send (pings, its close,
/// and publishes of at most 16 KiB with their frame): a larger one is
/// refused as it arrives, before it is buffered, and answered with close
/// code 1009.
const MAX_INCOMING_MESSAGE_BYTES: usize = 20 * 1024;

/// How long a client may take to answer the server's close before the
/// connection is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Live items sent in one write at most.
const LIVE_BATCH: usize = 64;

/// Items read from the database per query while replaying.
const REPLAY_PAGE: i64 = 500;

/// Frames an SSE subscriber may have queued before its task waits for it.
const SSE_BUFFER: usize = 64;

/// Answers to a client's publishes waiting to be sent before its socket
/// stops being read.
const REPLY_BUFFER: usize = 16;

/// Timers are capped at a year (a service token may live longer).
const MAX_TIMER_MS: i64 = 365 * 24 * 60 * 60 * 1000;

/// WebSocket close codes (4000–4999 are the application's).
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_TOKEN_EXPIRED: u16 = 4001;
const CLOSE_TOKEN_REVOKED: u16 = 4003;

#[derive(Deserialize, IntoParams)]
pub(super) struct SubscribeQuery {
    /// Replay every retained item after this seq, then go live.
    resume_after: Option<i64>,
}

/// Subscribes to a topic: a WebSocket, or Server-Sent Events with `Accept: text/event-stream`.
///
/// Frames are `item`, `discontinuity` (items evicted before they could be
/// replayed) and `heartbeat`. SSE events carry the item's seq as their id, so
/// `Last-Event-ID` resumes. A revoked or expired token closes the stream
/// (WebSocket close codes 4003 and 4001); shutdown closes it with 1001.
#[utoipa::path(
    get,
    path = "/api/topics/{topic}/subscribe",
    tag = "topics",
    params(("topic" = String, Path), SubscribeQuery,
           ("token" = Option<String>, Query, description = "for clients that cannot set Authorization")),
    responses(
        (status = 101, description = "WebSocket: one JSON frame per message"),
        (status = 200, content_type = "text/event-stream", description = "SSE: events item, discontinuity, heartbeat"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many open subscriptions for this token"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn subscribe(
    State(state): State<TopicsState>,
    TokenCaller(claims): TokenCaller,
    Path(topic): Path<String>,
    Query(query): Query<SubscribeQuery>,
    request: Request,
) -> Result<Response> {
    validate_topic(&topic)?;
    if !claims.allows(Op::Subscribe, &topic) {
        return Err(Error::Forbidden(format!("this token may not subscribe to {topic}")));
    }
    let headers = request.headers().clone();
    let guard = state.subscription_caps.acquire(&claims.limit_key())?;
    let wants_sse =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/event-stream"));
    if wants_sse {
        let resume_after = query.resume_after.or_else(|| last_event_id(&headers));
        return Ok(sse(state, claims, topic, resume_after, guard));
    }
    let (mut parts, _) = request.into_parts();
    let ws = WebSocketUpgrade::from_request_parts(&mut parts, &state)
        .await
        .map_err(|_| Error::BadRequest("expected a WebSocket upgrade or Accept: text/event-stream".into()))?;
    // Subscribers only listen: small buffers keep an idle connection cheap
    // (tungstenite's defaults reserve 128 KiB per socket for reading).
    let ws = ws
        // Selected when the client offers it (the web UI does, with its token
        // in a second `parley.token.…` entry): a browser drops the connection
        // unless the server picks one of the protocols it offered.
        .protocols(["parley"])
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_frame_size(MAX_INCOMING_MESSAGE_BYTES)
        .max_message_size(MAX_INCOMING_MESSAGE_BYTES);
    Ok(ws.on_upgrade(move |socket| async move {
        let (sink, closed, replies) = Sink::websocket(socket, state.clone(), claims.clone());
        run_subscription(sink, closed, Some(replies), state, claims, topic, query.resume_after, guard).await;
    }))
}

/// Whether a read failed because the client sent more than it may.
fn too_big(error: &axum::Error) -> bool {
    let text = error.to_string();
    text.contains("too long") || text.contains("too big") || text.contains("Space limit exceeded")
}

fn last_event_id(headers: &HeaderMap) -> Option<i64> {
    headers.get("last-event-id")?.to_str().ok()?.trim().parse().ok()
}

fn sse(
    state: TopicsState,
    claims: Claims,
    topic: String,
    resume_after: Option<i64>,
    guard: SubscriptionGuard,
) -> Response {
    let (tx, rx) = mpsc::channel::<Event>(SSE_BUFFER);
    let (sink, closed) = Sink::sse(tx);
    tokio::spawn(run_subscription(sink, closed, None, state, claims, topic, resume_after, guard));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok::<_, Infallible>(event), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

/// Where a subscription's frames go.
enum Sink {
    /// The sending half; a separate task reads the other half for the
    /// client's close, and gives up on it [`CLOSE_TIMEOUT`] after `closing`.
    WebSocket {
        sink: SplitSink<WebSocket, Message>,
        closing: tokio::sync::watch::Sender<bool>,
    },
    Sse(mpsc::Sender<Event>),
}

impl Sink {
    /// Splits a socket: the sink, a watcher of the client's side that
    /// resolves when it closes, and the answers to the publishes the client
    /// sends on it (see [`client_frames`]), for the send loop to pass on.
    /// Reading in its own task keeps the send loop from polling the socket
    /// for input on every item. Publishes keep the order they were sent in
    /// (those already waiting are queued together); the next frames are read
    /// while earlier ones wait for their transaction (at most
    /// [`PUBLISHES_IN_FLIGHT`] groups), so one slow commit does not hold the
    /// client's later publishes in its socket; a client that does not read
    /// its answers stops being read.
    fn websocket(socket: WebSocket, state: TopicsState, claims: Claims) -> (Sink, Closed, mpsc::Receiver<String>) {
        let (sink, mut stream) = socket.split();
        let (tx, rx) = tokio::sync::oneshot::channel::<Option<u16>>();
        let (answers, replies) = mpsc::channel::<String>(REPLY_BUFFER);
        let (closing, mut closed_by_us) = tokio::sync::watch::channel(false);
        let caller = Arc::new((state, claims));
        tokio::spawn(async move {
            // Once the server has sent its close, the client has a few
            // seconds to answer; then this half is dropped with the other and
            // the connection closes.
            let give_up = async move {
                let _ = closed_by_us.wait_for(|closing| *closing).await;
                tokio::time::sleep(CLOSE_TIMEOUT).await;
            };
            tokio::pin!(give_up);
            // Created with the first publish: a listener's socket holds none.
            let mut in_flight: Option<FuturesOrdered<_>> = None;
            let answer = 'read: loop {
                tokio::select! {
                    message = stream.next(), if in_flight.as_ref().is_none_or(|f| f.len() < PUBLISHES_IN_FLIGHT) => match message {
                        Some(Ok(Message::Text(text))) => {
                            // This publish and those already waiting behind it go together.
                            let mut frames = vec![text];
                            let mut next = None;
                            while frames.len() < MAX_FRAMES_AT_ONCE {
                                match stream.next().now_or_never() {
                                    Some(Some(Ok(Message::Text(text)))) => frames.push(text),
                                    Some(message) => {
                                        next = Some(message);
                                        break;
                                    }
                                    None => break,
                                }
                            }
                            let mut publishing = Box::pin(client_frames(caller.clone(), frames));
                            // Polled once here, so that its items join the
                            // publish queue now, behind the earlier groups'.
                            let in_flight = in_flight.get_or_insert_with(FuturesOrdered::new);
                            match (&mut publishing).now_or_never() {
                                Some(done) => in_flight.push_back(futures_util::future::Either::Left(std::future::ready(done))),
                                None => in_flight.push_back(futures_util::future::Either::Right(publishing)),
                            }
                            if let Some(end) = next.and_then(ends_reading) {
                                break end;
                            }
                        }
                        message => if let Some(end) = ends_reading(message) {
                            break end;
                        },
                    },
                    Some(done) = next_answers(&mut in_flight) => {
                        for answer in done {
                            if answers.send(answer).await.is_err() {
                                break 'read None;
                            }
                        }
                    }
                    () = &mut give_up => break None,
                }
            };
            // What was read is published and answered while the send loop
            // lasts: its items are queued, and waiting on them drives their commit.
            while let Some(done) = next_answers(&mut in_flight).await {
                for answer in done {
                    let _ = answers.send(answer).await;
                }
            }
            let _ = tx.send(answer);
        });
        (Sink::WebSocket { sink, closing }, Box::pin(async move { rx.await.unwrap_or(None) }), replies)
    }

    fn sse(tx: mpsc::Sender<Event>) -> (Sink, Closed) {
        let watcher = tx.clone();
        (
            Sink::Sse(tx),
            Box::pin(async move {
                watcher.closed().await;
                None
            }),
        )
    }
}

/// Whether a message from the client ends the reading, and with what close
/// code to answer it.
fn ends_reading(message: Option<std::result::Result<Message, axum::Error>>) -> Option<Option<u16>> {
    match message {
        Some(Ok(Message::Close(_))) | None => Some(None),
        Some(Ok(_)) => None,
        Some(Err(error)) => Some(too_big(&error).then_some(CLOSE_TOO_BIG)),
    }
}

/// The client went away (or the socket failed): stop.
struct Gone;

impl Sink {
    async fn frame(&mut self, json: String, seq: Option<i64>, kind: &str) -> Result<(), Gone> {
        match self {
            Sink::WebSocket { sink, .. } => sink.send(Message::Text(json.into())).await.map_err(|_| Gone),
            Sink::Sse(tx) => {
                let mut event = Event::default().event(kind).data(json);
                if let Some(seq) = seq {
                    event = event.id(seq.to_string());
                }
                tx.send(event).await.map_err(|_| Gone)
            }
        }
    }

    /// Sends an answer to the client's publishes, and those already waiting
    /// behind it, in one write.
    async fn replies(&mut self, first: String, waiting: Option<&mut mpsc::Receiver<String>>) -> Result<(), Gone> {
        let Sink::WebSocket { sink, .. } = self else {
            return self.frame(first, None, "reply").await;
        };
        sink.feed(Message::Text(first.into())).await.map_err(|_| Gone)?;
        if let Some(waiting) = waiting {
            while let Ok(text) = waiting.try_recv() {
                sink.feed(Message::Text(text.into())).await.map_err(|_| Gone)?;
            }
        }
        sink.flush().await.map_err(|_| Gone)
    }

    /// Queues an item without flushing: a burst goes out in one write.
    async fn feed_item(&mut self, item: &Item) -> Result<(), Gone> {
        match self {
            // The frame's bytes are shared by every subscriber: no copy.
            Sink::WebSocket { sink, .. } => sink.feed(Message::Text(item.frame_text().clone())).await.map_err(|_| Gone),
            Sink::Sse(tx) => {
                let event = Event::default().event("item").data(item.frame_text().as_str()).id(item.seq.to_string());
                tx.send(event).await.map_err(|_| Gone)
            }
        }
    }

    async fn flush(&mut self) -> Result<(), Gone> {
        match self {
            Sink::WebSocket { sink, .. } => sink.flush().await.map_err(|_| Gone),
            Sink::Sse(_) => Ok(()),
        }
    }

    async fn close(&mut self, code: u16, reason: &str) {
        match self {
            Sink::WebSocket { sink, closing } => {
                let frame = CloseFrame { code, reason: reason.into() };
                let _ = sink.send(Message::Close(Some(frame))).await;
                let _ = closing.send(true);
            }
            Sink::Sse(tx) => {
                let body = json!({"type": "closed", "reason": reason}).to_string();
                let _ = tx.send(Event::default().event("closed").data(body)).await;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_subscription(
    mut sink: Sink,
    closed: Closed,
    replies: Option<mpsc::Receiver<String>>,
    state: TopicsState,
    claims: Claims,
    topic: String,
    resume_after: Option<i64>,
    _guard: SubscriptionGuard,
) {
    let revoked = state.auth.revocations.watch();
    let expires_at = tokio::time::Instant::now()
        + Duration::from_millis((claims.exp.saturating_mul(1000) - state.clock.now_ms()).clamp(0, MAX_TIMER_MS) as u64);
    // Listen before reading history, so nothing committed in between is missed;
    // `last_sent` drops what the replay already covered.
    let mut live = state.bus.subscribe(&topic);
    let newest = match retained_bounds(&state.db, &topic).await {
        Ok(bounds) => bounds.map_or(0, |(_, newest)| newest),
        Err(_) => return,
    };
    // The node's catch-up (several nodes) fills in anything after this that the bus misses.
    state.bus.mark_heard(&topic, newest);
    let mut last_sent = match resume_after {
        // A client that claims more than the topic has (a reset topic, a
        // made-up number) resumes from the newest item instead.
        Some(after) => match replay(&mut sink, &state, &topic, after.min(newest)).await {
            Ok(last) => last.or(Some(after.min(newest))),
            Err(Gone) => return,
        },
        // Live from now: an item older than `newest` arriving late from
        // another node is already history, and a newer one after a gap
        // brings the gap with it.
        None => Some(newest),
    };
    // A first heartbeat tells the client the subscription is live.
    if sink.frame(HEARTBEAT_FRAME.into(), None, "heartbeat").await.is_err() {
        return;
    }
    let mut controls = Controls {
        closed,
        replies,
        revoked,
        revocations: state.auth.revocations.clone(),
        claims,
        expires_at,
        shutdown: state.shutdown.clone(),
        next_heartbeat: tokio::time::Instant::now() + HEARTBEAT,
    }
    .waiting();
    // Grown on the first burst: an idle subscription holds no batch memory.
    let mut batch: Vec<Arc<Item>> = Vec::new();
    let mut fed = 0;
    loop {
        tokio::select! {
            Some((control, mut sources)) = controls.next() => {
                match control {
                    Control::Closed(answer) => {
                        if let Some(code) = answer {
                            sink.close(code, "message too big").await;
                        }
                        return;
                    }
                    Control::Reply(text) => {
                        if sink.replies(text, sources.replies.as_mut()).await.is_err() {
                            return;
                        }
                    }
                    Control::Heartbeat => {
                        if sink.frame(HEARTBEAT_FRAME.into(), None, "heartbeat").await.is_err() {
                            return;
                        }
                    }
                    Control::Revoked => return sink.close(CLOSE_TOKEN_REVOKED, "token_revoked").await,
                    Control::Expired => return sink.close(CLOSE_TOKEN_EXPIRED, "token_expired").await,
                    Control::Stopping => return sink.close(CLOSE_GOING_AWAY, "server shutting down").await,
                }
                controls.push(sources.wait());
            }
            item = live.recv() => {
                // Take what else is already waiting, and send it all in one write.
                let mut lagged = false;
                match item {
                    Ok(item) => batch.push(item),
                    Err(RecvError::Lagged(_)) => lagged = true,
                    Err(RecvError::Closed) => return,
                }
                while batch.len() < LIVE_BATCH && !lagged {
                    match live.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(TryRecvError::Lagged(_)) => lagged = true,
                        Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                    }
                }
                for item in batch.drain(..) {
                    if last_sent.is_some_and(|last| item.seq <= last) {
                        continue;
                    }
                    // A gap in the live stream (an item whose broadcast this
                    // node missed) is filled from the database.
                    if let Some(last) = last_sent.filter(|last| item.seq > last + 1) {
                        match replay(&mut sink, &state, &topic, last).await {
                            Ok(l) => last_sent = l.or(last_sent),
                            Err(Gone) => return,
                        }
                        if last_sent.is_some_and(|last| item.seq <= last) {
                            continue;
                        }
                    }
                    if sink.feed_item(&item).await.is_err() {
                        return;
                    }
                    fed += 1;
                    last_sent = Some(item.seq);
                }
                // One add per write, not per frame: a thousand subscribers
                // share this counter's cache line.
                state.metrics.frames_delivered.fetch_add(std::mem::take(&mut fed), std::sync::atomic::Ordering::Relaxed);
                if sink.flush().await.is_err() {
                    return;
                }
                if lagged {
                    // Too slow for the live buffer: catch up from the database.
                    let after = last_sent.unwrap_or(0);
                    match replay(&mut sink, &state, &topic, after).await {
                        Ok(l) => last_sent = l.or(last_sent),
                        Err(Gone) => return,
                    }
                }
            }
        }
    }
}

/// A frame a client sends on its subscription: a publish, as `POST
/// /api/topics/{topic}` with the same token, answered on the same socket
/// (publishing without an HTTP request per message, as Centrifugo's clients
/// do).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientFrame {
    Publish {
        topic: String,
        value: Value,
        /// Echoed in the answer, to match it to its publish (at most 64 characters).
        #[serde(default, rename = "ref")]
        reference: Option<String>,
        /// As the `Idempotency-Key` header.
        #[serde(default)]
        idempotency_key: Option<String>,
    },
}

/// The most frames a client may have waiting that are published together.
const MAX_FRAMES_AT_ONCE: usize = 64;

/// Groups of a client's publish frames waiting for their transaction at
/// once, before its socket stops being read.
const PUBLISHES_IN_FLIGHT: usize = 8;

/// The longest `ref` a client may attach to a publish.
const MAX_REF_CHARS: usize = 64;

/// The answers of the oldest group of publishes in flight, when there is one
/// (never, before the first).
async fn next_answers<F: Future<Output = Vec<String>>>(
    in_flight: &mut Option<FuturesOrdered<F>>,
) -> Option<Vec<String>> {
    match in_flight {
        Some(in_flight) => in_flight.next().await,
        None => None,
    }
}

/// Handles frames from a client, in order; the answers to send back, one
/// per frame: `{"type":"published","ref","topic","seq","duplicate"}` or
/// `{"type":"error","ref","error":{"code","message"},"retry_after_secs"?}`.
/// The publishes among them are queued together. It owns what it reads (the
/// caller's state and claims are shared) so that a reading task can keep
/// several groups in flight.
async fn client_frames(caller: Arc<(TopicsState, Claims)>, frames: Vec<Utf8Bytes>) -> Vec<String> {
    let (state, claims) = &*caller;
    let mut answers: Vec<Option<String>> = Vec::with_capacity(frames.len());
    let (mut items, mut waiting) = (Vec::new(), Vec::new());
    for text in &frames {
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(e) => {
                answers.push(Some(error_frame(None, &Error::BadRequest(format!("not a publish frame: {e}")))));
                continue;
            }
        };
        let ClientFrame::Publish { topic, value, reference, idempotency_key } = frame;
        if reference.as_ref().is_some_and(|r| r.chars().count() > MAX_REF_CHARS) {
            let error = Error::BadRequest(format!("ref is longer than {MAX_REF_CHARS} characters"));
            answers.push(Some(error_frame(None, &error)));
            continue;
        }
        match super::publish::check_frame(state, claims, topic.clone(), value, idempotency_key) {
            Ok(item) => {
                waiting.push((answers.len(), reference, topic));
                answers.push(None);
                items.push(item);
            }
            Err(error) => answers.push(Some(error_frame(reference.as_deref(), &error))),
        }
    }
    if !items.is_empty() {
        match super::publish::publish_frames(state, claims, items).await {
            Ok(published) => {
                for ((i, reference, topic), answer) in waiting.into_iter().zip(published) {
                    let frame = json!({
                        "type": "published", "ref": reference, "topic": topic, "seq": answer.seq,
                        "duplicate": answer.duplicate
                    });
                    answers[i] = Some(frame.to_string());
                }
            }
            Err(error) => {
                for (i, reference, _) in waiting {
                    answers[i] = Some(error_frame(reference.as_deref(), &error));
                }
            }
        }
    }
    answers.into_iter().flatten().collect()
}

fn error_frame(reference: Option<&str>, error: &Error) -> String {
    let mut frame = json!({
        "type": "error", "ref": reference, "error": {"code": error.code(), "message": error.client_message()}
    });
    if let Some(secs) = error.retry_after_secs() {
        frame["retry_after_secs"] = json!(secs);
    }
    frame.to_string()
}

/// Sends every retained item after `after`, preceded by a `discontinuity`
/// when some were already evicted; returns the last `seq` sent.
async fn replay(sink: &mut Sink, state: &TopicsState, topic: &str, mut after: i64) -> Result<Option<i64>, Gone> {
    let mut last = None;
    let bounds = retained_bounds(&state.db, topic).await.map_err(|e| {
        tracing::warn!(error = %e, "history unavailable for replay");
        Gone
    })?;
    if let Some((first, newest)) = bounds
        && newest > after
        && first > after + 1
    {
        let frame = json!({"type": "discontinuity", "topic": topic, "last_seq": after, "new_seq": first});
        sink.frame(frame.to_string(), None, "discontinuity").await?;
        after = first - 1;
        last = Some(after);
    }
    loop {
        let page = items_after(&state.db, topic, after, REPLAY_PAGE).await.map_err(|e| {
            tracing::warn!(error = %e, "history unavailable for replay");
            Gone
        })?;
        let done = (page.len() as i64) < REPLAY_PAGE;
        for item in &page {
            sink.feed_item(item).await?;
            state.metrics.frames_delivered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            last = Some(item.seq);
            after = item.seq;
        }
        sink.flush().await?;
        if done {
            return Ok(last);
        }
    }
}

/// The first retained `seq` (or the next one, when nothing is retained) and
/// the newest `seq` of a topic; `None` for a topic never published to.
async fn retained_bounds(db: &AnyPool, topic: &str) -> Result<Option<(i64, i64)>> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "select t.last_seq, (select min(seq) from items i where i.topic = t.name) from topics t where t.name = $1",
    )
    .bind(topic)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(newest, first)| (first.unwrap_or(newest + 1), newest)))
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    topic: String,
    seq: i64,
    published_at: i64,
    publisher_id: String,
    publisher_name: String,
    value: String,
}

impl From<ItemRow> for Item {
    fn from(row: ItemRow) -> Self {
        Item::new(
            row.topic,
            row.seq,
            row.published_at,
            Publisher { id: row.publisher_id, name: row.publisher_name },
            serde_json::from_str(&row.value).unwrap_or(Value::Null),
        )
    }
}

pub(crate) async fn items_after(db: &AnyPool, topic: &str, after: i64, limit: i64) -> Result<Vec<Arc<Item>>> {
    let rows: Vec<ItemRow> = sqlx::query_as(
        "select topic, seq, published_at, publisher_id, publisher_name, value
         from items where topic = $1 and seq > $2 order by seq limit $3",
    )
    .bind(topic)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| Arc::new(Item::from(r))).collect())
}

#[derive(Deserialize, IntoParams)]
pub(super) struct ItemsQuery {
    /// Only items before this seq (default: the newest).
    before_seq: Option<i64>,
    /// 1–500, default 50.
    limit: Option<i64>,
}

/// A page of history, oldest first.
#[derive(Serialize, ToSchema)]
pub struct ItemsPage<'a> {
    pub items: Vec<super::ItemFrame<'a>>,
}

/// Reads a page of a topic's retained history, oldest first.
#[utoipa::path(
    get,
    path = "/api/topics/{topic}/items",
    tag = "topics",
    params(("topic" = String, Path), ItemsQuery),
    responses((status = 200, body = ItemsPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(super) async fn items(
    State(db): State<AnyPool>,
    TokenCaller(claims): TokenCaller,
    Path(topic): Path<String>,
    Query(query): Query<ItemsQuery>,
) -> Result<Response> {
    validate_topic(&topic)?;
    if !claims.allows(Op::Subscribe, &topic) {
        return Err(Error::Forbidden(format!("this token may not read {topic}")));
    }
    let items = history_page(&db, &topic, query.before_seq, query.limit).await?;
    Ok(Json(ItemsPage { items: items.iter().map(Item::frame).collect() }).into_response())
}

/// The newest `limit` (1–500, default 50) items before `before_seq`, oldest first.
///
/// # Errors
/// [`Error::Invalid`] for a bad limit; database errors.
pub async fn history_page(db: &AnyPool, topic: &str, before_seq: Option<i64>, limit: Option<i64>) -> Result<Vec<Item>> {
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::Invalid("limit must be between 1 and 500".into()));
    }
    let mut rows: Vec<ItemRow> = sqlx::query_as(
        "select topic, seq, published_at, publisher_id, publisher_name, value
         from items where topic = $1 and seq < $2 order by seq desc limit $3",
    )
    .bind(topic)
    .bind(before_seq.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.reverse();
    Ok(rows.into_iter().map(Item::from).collect())
}
