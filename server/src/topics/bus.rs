//! The bus: live fan-out of committed items to this node's subscribers.
//!
//! Durability lives in the database (`items`); the bus only carries items that
//! are already committed to whoever listens now. On one node they arrive in
//! `seq` order; across nodes ([`crate::cluster`]) they may not, and a
//! subscriber that sees a gap, or falls behind its channel's buffer, catches
//! up from the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::Item;

/// Items a subscriber may fall behind before it must catch up from history.
pub const SUBSCRIBER_BUFFER: usize = 1024;

struct Channel {
    sender: broadcast::Sender<Arc<Item>>,
    /// The newest `seq` this channel carried (`None`: none yet).
    heard: Option<i64>,
}

/// Per-topic broadcast channels, created on first use.
#[derive(Default)]
pub struct Bus {
    channels: Mutex<HashMap<String, Channel>>,
}

impl Bus {
    /// Starts receiving `topic`'s live items.
    pub fn subscribe(&self, topic: &str) -> broadcast::Receiver<Arc<Item>> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels
            .entry(topic.to_owned())
            .or_insert_with(|| Channel { sender: broadcast::channel(SUBSCRIBER_BUFFER).0, heard: None })
            .sender
            .subscribe()
    }

    /// Sends a committed item to the topic's current subscribers, if any.
    pub fn broadcast(&self, item: Arc<Item>) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(channel) = channels.get_mut(&item.topic) {
            channel.heard = Some(channel.heard.map_or(item.seq, |h| h.max(item.seq)));
            if channel.sender.send(item.clone()).is_err() {
                // Nobody listens any more: forget the channel.
                channels.remove(&item.topic);
            }
        }
    }

    /// Topics someone on this node listens to, with the newest `seq` each carried.
    pub fn live_topics(&self) -> Vec<(String, Option<i64>)> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.retain(|_, c| c.sender.receiver_count() > 0);
        channels.iter().map(|(topic, c)| (topic.clone(), c.heard)).collect()
    }

    /// Records that `topic`'s subscribers have everything up to `seq`.
    pub fn mark_heard(&self, topic: &str, seq: i64) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(channel) = channels.get_mut(topic) {
            channel.heard = Some(channel.heard.map_or(seq, |h| h.max(seq)));
        }
    }

    /// How many subscriptions are open on this node.
    pub fn subscriber_count(&self) -> usize {
        let channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.values().map(|c| c.sender.receiver_count()).sum()
    }
}
