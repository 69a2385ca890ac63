//! What a live subscription waits for besides its items (the client leaving,
//! answers to its publishes, a revocation, expiry, shutdown, the heartbeat),
//! polled only when one of them fires.
//!
//! A subscription's send loop wakes for every burst of items. Waiting on all
//! of these in the same `select!` re-created and re-registered six futures
//! per burst, one of them on the revocation channel that every subscription
//! of the node shares (its lock, taken twice per burst per subscriber, was
//! contended across the workers). Kept in one future of their own inside a
//! [`FuturesUnordered`], they are polled again only when their own waker
//! fires; an item burst costs one atomic check for them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::stream::FuturesUnordered;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use crate::auth::Claims;
use crate::auth::revocation::Revocations;
use crate::shutdown::Shutdown;
use crate::topics::subscribe::HEARTBEAT;

/// Resolves when the client has gone away, with the close code to answer
/// it with when it broke the rules (a message too big).
pub(super) type Closed = Pin<Box<dyn Future<Output = Option<u16>> + Send>>;

/// One event for the send loop.
pub(super) enum Control {
    /// The client went away (with a close code when it broke the rules).
    Closed(Option<u16>),
    /// An answer to one of the client's publishes, to send as it is.
    Reply(String),
    Revoked,
    Expired,
    Stopping,
    Heartbeat,
}

/// The sources of [`Control`] events of one subscription. The timers are
/// instants, turned into sleeps only inside [`Controls::wait`]'s future, so
/// that an idle subscription holds no timer allocation of its own.
pub(super) struct Controls {
    pub closed: Closed,
    /// Answers to the client's publishes (WebSocket only).
    pub replies: Option<mpsc::Receiver<String>>,
    pub revoked: broadcast::Receiver<String>,
    pub revocations: Arc<Revocations>,
    pub claims: Claims,
    pub expires_at: Instant,
    pub shutdown: Shutdown,
    /// When the next heartbeat is due.
    pub next_heartbeat: Instant,
}

/// The pending wait for the next event, which hands the sources back with it.
pub(super) type NextControl = Pin<Box<dyn Future<Output = (Control, Controls)> + Send>>;

impl Controls {
    /// Waits for the next event. After `Closed`, `Revoked`, `Expired` or
    /// `Stopping` the subscription ends: those sources are not polled again.
    async fn next(&mut self) -> Control {
        let expiry = tokio::time::sleep_until(self.expires_at);
        let stopping = self.shutdown.wait();
        tokio::pin!(expiry, stopping);
        loop {
            tokio::select! {
                answer = &mut self.closed => return Control::Closed(answer),
                // Any revocation (or a lagging watch) may be this token's: a
                // parent's, its subject's, its room's. Checking is a few lookups.
                _ = self.revoked.recv() => {
                    if self.revocations.is_revoked(&self.claims) {
                        return Control::Revoked;
                    }
                }
                reply = next_reply(&mut self.replies) => match reply {
                    Some(text) => return Control::Reply(text),
                    // The reading side is done; `closed` says why.
                    None => self.replies = None,
                },
                () = &mut expiry => return Control::Expired,
                () = &mut stopping => return Control::Stopping,
                () = tokio::time::sleep_until(self.next_heartbeat) => {
                    self.next_heartbeat = Instant::now() + HEARTBEAT;
                    return Control::Heartbeat;
                }
            }
        }
    }

    /// The next event as a future that owns the sources.
    pub(super) fn wait(mut self) -> NextControl {
        Box::pin(async move { (self.next().await, self) })
    }

    /// A set holding this wait, to poll beside the items: it polls the wait
    /// again only once the wait's own waker has fired.
    pub(super) fn waiting(self) -> FuturesUnordered<NextControl> {
        let set = FuturesUnordered::new();
        set.push(self.wait());
        set
    }
}

/// The next answer to a client's publish, or never (Server-Sent Events
/// carry none).
async fn next_reply(replies: &mut Option<mpsc::Receiver<String>>) -> Option<String> {
    match replies {
        Some(replies) => replies.recv().await,
        None => std::future::pending().await,
    }
}
