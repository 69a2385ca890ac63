//! The floor: a minimal WebSocket broadcast server (tokio + tokio-tungstenite +
//! `tokio::sync::broadcast`, no persistence, no auth). A connection whose
//! first message is `pub` publishes; one whose first message is `sub` receives.

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

/// Serves until the process ends.
pub async fn serve(listener: TcpListener) -> anyhow::Result<()> {
    let (tx, _) = broadcast::channel::<String>(4096);
    loop {
        let (stream, _) = listener.accept().await?;
        let tx = tx.clone();
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
            let (mut sink, mut source) = ws.split();
            let mut rx = tx.subscribe();
            let first = source.next().await;
            if matches!(&first, Some(Ok(Message::Text(t))) if t.as_str() == "pub") {
                while let Some(Ok(Message::Text(text))) = source.next().await {
                    let _ = tx.send(text.to_string());
                }
                return;
            }
            // Subscribed (above, before reading): tell the subscriber it may count from now.
            if sink.send(Message::Text("ok".into())).await.is_err() {
                return;
            }
            loop {
                match rx.recv().await {
                    Ok(text) => {
                        if sink.send(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                    }
                    // Too slow: those messages are lost to this subscriber (counted by the tool).
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}
