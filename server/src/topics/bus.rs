//! The in-process bus: live fan-out of committed items to this node's subscribers.
//!
//! Durability lives in the database (`items`); the bus only carries items that
//! are already committed, in `seq` order, to whoever listens now. A subscriber
//! that falls behind its channel's buffer catches up from the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::Item;

/// Items a subscriber may fall behind before it must catch up from history.
pub const SUBSCRIBER_BUFFER: usize = 1024;

/// Per-topic broadcast channels, created on first use.
#[derive(Default)]
pub struct Bus {
    channels: Mutex<HashMap<String, broadcast::Sender<Arc<Item>>>>,
    /// Held from the start of a publish's transaction until its broadcast, so
    /// subscribers see items in exactly `seq` order.
    pub(super) publish_lock: tokio::sync::Mutex<()>,
}

impl Bus {
    /// Starts receiving `topic`'s live items.
    pub fn subscribe(&self, topic: &str) -> broadcast::Receiver<Arc<Item>> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.entry(topic.to_owned()).or_insert_with(|| broadcast::channel(SUBSCRIBER_BUFFER).0).subscribe()
    }

    /// Sends a committed item to the topic's current subscribers, if any.
    pub fn broadcast(&self, item: Arc<Item>) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = channels.get(&item.topic)
            && sender.send(item.clone()).is_err()
        {
            // Nobody listens any more: forget the channel.
            channels.remove(&item.topic);
        }
    }

    /// How many subscriptions are open on this node.
    pub fn subscriber_count(&self) -> usize {
        let channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.values().map(broadcast::Sender::receiver_count).sum()
    }
}
