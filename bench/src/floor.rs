//! The floor: the least a WebSocket broadcast server can do (tokio +
//! tokio-tungstenite + `tokio::sync::broadcast`, no persistence, no auth),
//! with every trick Parley's subscribers get, so that the ratio measures
//! Parley's own costs and not a slower reference: one serialized frame shared
//! by all subscribers (no copy per subscriber), TCP_NODELAY, a burst queued and
//! flushed in one write, and the same small buffers. A connection whose first
//! message is `pub` publishes; one whose first message is `sub` receives.

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Parley's subscriber buffers (`server/src/topics/subscribe.rs`).
const READ_BUFFER_BYTES: usize = 1024;
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// Serves until the process ends.
pub async fn serve(listener: TcpListener) -> anyhow::Result<()> {
    let (tx, _) = broadcast::channel::<Utf8Bytes>(4096);
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES).write_buffer_size(WRITE_BUFFER_BYTES);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else { return };
            let (mut sink, mut source) = ws.split();
            let mut rx = tx.subscribe();
            let first = source.next().await;
            if matches!(&first, Some(Ok(Message::Text(t))) if t.as_str() == "pub") {
                while let Some(Ok(Message::Text(text))) = source.next().await {
                    // Serialized once; every subscriber sends the same bytes.
                    let _ = tx.send(text);
                }
                return;
            }
            // Subscribed (above, before reading): tell the subscriber it may count from now.
            if sink.send(Message::Text("ok".into())).await.is_err() {
                return;
            }
            loop {
                let text = match rx.recv().await {
                    Ok(text) => text,
                    // Too slow: those messages are lost to this subscriber (counted by the tool).
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if sink.feed(Message::Text(text)).await.is_err() {
                    return;
                }
                // Whatever else is already waiting goes out in the same write.
                while let Ok(text) = rx.try_recv() {
                    if sink.feed(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
        });
    }
}
