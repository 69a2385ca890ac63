//! Wire types: the webhook delivery the pipeline receives and the chat
//! envelope it publishes (API.md, "Webhooks" and "Chat envelope").

use serde::{Deserialize, Serialize};

use crate::moderate::Moderation;

/// Who published an item, as stamped by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publisher {
    pub id: String,
    pub name: String,
}

/// The body of one webhook delivery: an item published to a topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub topic: String,
    pub seq: i64,
    pub published_at: String,
    pub publisher: Publisher,
    pub value: serde_json::Value,
}

/// What a chat client publishes to `{room}-publish`: a message, or an edit
/// or deletion of an earlier one of its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The text (empty for a deletion).
    #[serde(default)]
    pub text: String,
    /// The sender's own language: a prior for detecting short messages.
    #[serde(default)]
    pub lang: Option<String>,
    /// `edit` or `delete`; absent for a new message.
    #[serde(default)]
    pub op: Option<MessageOp>,
    /// The `seq`, on the publish topic, of the message edited or deleted.
    #[serde(default)]
    pub target_seq: Option<i64>,
}

/// A change to an earlier message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageOp {
    Edit,
    Delete,
}

/// The source of a translated message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Original {
    pub lang: String,
    pub confidence: f64,
    pub text: String,
}

/// One message in one language, published to `{room}-subscribe-{lang}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// `{publish topic}:{source seq}`: the same in every language, so
    /// clients can deduplicate and match translations of one message.
    pub id: String,
    pub room: String,
    pub source_seq: i64,
    pub author: Publisher,
    pub lang: String,
    pub text: String,
    pub original: Original,
    pub translated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub moderation: Moderation,
    pub sent_at: String,
    /// Grows with every edit or deletion (the `seq` of the change on the
    /// publish topic); clients keep the highest version of each `id`.
    pub version: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub edited: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}
