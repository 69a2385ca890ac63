//! Subscriptions: replay retained items after `resume_after`, then go live,
//! with no gap and no duplicate; and the paged history endpoint.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use tokio::sync::broadcast::error::RecvError;

use super::{Item, Publisher, validate_topic};
use crate::AppState;
use crate::auth::{Op, TokenCaller};
use crate::error::{Error, Result};

/// How often an idle subscription gets a `heartbeat` frame.
pub const HEARTBEAT: Duration = Duration::from_secs(25);

const HEARTBEAT_FRAME: &str = r#"{"type":"heartbeat"}"#;

/// Items read from the database per query while replaying.
const REPLAY_PAGE: i64 = 500;

#[derive(Deserialize)]
pub(super) struct SubscribeQuery {
    resume_after: Option<i64>,
}

pub(super) async fn subscribe(
    State(state): State<AppState>,
    TokenCaller(claims): TokenCaller,
    Path(topic): Path<String>,
    Query(query): Query<SubscribeQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response> {
    validate_topic(&topic)?;
    if !claims.allows(Op::Subscribe, &topic) {
        return Err(Error::Forbidden(format!(
            "this token may not subscribe to {topic}"
        )));
    }
    Ok(ws.on_upgrade(move |socket| async move {
        if let Err(error) = run_subscription(socket, state, topic, query.resume_after).await {
            tracing::debug!(%error, "subscription ended");
        }
    }))
}

async fn run_subscription(
    mut socket: WebSocket,
    state: AppState,
    topic: String,
    resume_after: Option<i64>,
) -> Result<(), axum::Error> {
    // Listen before reading history, so nothing committed in between is missed;
    // `last_sent` drops what the replay already covered.
    let mut live = state.bus.subscribe(&topic);
    let mut last_sent = match resume_after {
        Some(after) => replay(&mut socket, &state.db, &topic, after).await?,
        None => None,
    };
    // A first heartbeat tells the client the subscription is live.
    socket.send(Message::Text(HEARTBEAT_FRAME.into())).await?;
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.reset();
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => {}
            },
            item = live.recv() => match item {
                Ok(item) => {
                    if last_sent.is_some_and(|last| item.seq <= last) {
                        continue;
                    }
                    send(&mut socket, &item).await?;
                    last_sent = Some(item.seq);
                }
                Err(RecvError::Lagged(_)) => {
                    // Too slow for the live buffer: catch up from the database.
                    let after = last_sent.unwrap_or(0);
                    last_sent = replay(&mut socket, &state.db, &topic, after).await?.or(last_sent);
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = heartbeat.tick() => {
                socket.send(Message::Text(HEARTBEAT_FRAME.into())).await?;
            }
        }
    }
}

async fn send(socket: &mut WebSocket, item: &Item) -> Result<(), axum::Error> {
    socket
        .send(Message::Text(item.frame().to_string().into()))
        .await
}

/// Sends every retained item after `after`; returns the last `seq` sent.
async fn replay(
    socket: &mut WebSocket,
    db: &SqlitePool,
    topic: &str,
    mut after: i64,
) -> Result<Option<i64>, axum::Error> {
    let mut last = None;
    loop {
        let page = items_after(db, topic, after, REPLAY_PAGE)
            .await
            .map_err(axum::Error::new)?;
        let done = (page.len() as i64) < REPLAY_PAGE;
        for item in &page {
            send(socket, item).await?;
            last = Some(item.seq);
            after = item.seq;
        }
        if done {
            return Ok(last);
        }
    }
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
        Item {
            topic: row.topic,
            seq: row.seq,
            published_at_ms: row.published_at,
            publisher: Publisher {
                id: row.publisher_id,
                name: row.publisher_name,
            },
            value: serde_json::from_str(&row.value).unwrap_or(Value::Null),
        }
    }
}

async fn items_after(
    db: &SqlitePool,
    topic: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<Arc<Item>>> {
    let rows: Vec<ItemRow> = sqlx::query_as(
        "select topic, seq, published_at, publisher_id, publisher_name, value
         from items where topic = ? and seq > ? order by seq limit ?",
    )
    .bind(topic)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| Arc::new(Item::from(r))).collect())
}

#[derive(Deserialize)]
pub(super) struct ItemsQuery {
    before_seq: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/topics/{topic}/items?before_seq=&limit=`: a page of history, oldest first.
pub(super) async fn items(
    State(db): State<SqlitePool>,
    TokenCaller(claims): TokenCaller,
    Path(topic): Path<String>,
    Query(query): Query<ItemsQuery>,
) -> Result<Json<Value>> {
    validate_topic(&topic)?;
    if !claims.allows(Op::Subscribe, &topic) {
        return Err(Error::Forbidden(format!("this token may not read {topic}")));
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::Invalid("limit must be between 1 and 500".into()));
    }
    let mut rows: Vec<ItemRow> = sqlx::query_as(
        "select topic, seq, published_at, publisher_id, publisher_name, value
         from items where topic = ? and seq < ? order by seq desc limit ?",
    )
    .bind(&topic)
    .bind(query.before_seq.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&db)
    .await?;
    rows.reverse();
    let items: Vec<Value> = rows.into_iter().map(|r| Item::from(r).frame()).collect();
    Ok(Json(json!({ "items": items })))
}
