//! The API's JSON shapes (API.md), as the UI reads them. Unknown fields are ignored.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    pub display_name: String,
    #[serde(default)]
    pub role: String,
}

/// `GET /api/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub user: User,
    /// Locked languages granted, as `room:lang`.
    #[serde(default)]
    pub grants: Vec<String>,
    /// The language last read in, offered first.
    #[serde(default)]
    pub default_language: Option<String>,
}

impl Me {
    /// Whether this user may read `room` in `lang`.
    pub fn may_read(&self, room: &Room, lang: &str) -> bool {
        !room.locked_languages.iter().any(|l| l == lang)
            || self.user.role == "admin"
            || self.grants.iter().any(|g| *g == format!("{}:{lang}", room.name))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    pub name: String,
    pub title: String,
    pub languages: Vec<String>,
    #[serde(default)]
    pub moderation: String,
    #[serde(default)]
    pub locked_languages: Vec<String>,
    #[serde(default)]
    pub block_words: Vec<String>,
    #[serde(default)]
    pub allow_words: Vec<String>,
    #[serde(default)]
    pub daily_char_budget: Option<i64>,
    #[serde(default)]
    pub characters_today: i64,
    /// Admins, with the pipeline in the server: per language, how its readers get the others.
    #[serde(default)]
    pub translation: std::collections::BTreeMap<String, Coverage>,
}

/// How readers of one language get a room's other languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub offline: bool,
    pub providers: Vec<String>,
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JoinAnswer {
    pub token: String,
    pub publish_topic: String,
    pub subscribe_topic: String,
    #[serde(default)]
    pub presence_topic: String,
    #[serde(default)]
    pub reactions_topic: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Author {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Original {
    pub lang: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Moderation {
    pub action: String,
    #[serde(default)]
    pub flags: Vec<String>,
}

/// One chat message in the reader's language.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Envelope {
    pub id: String,
    pub source_seq: i64,
    pub author: Author,
    pub lang: String,
    pub text: String,
    pub original: Original,
    pub translated: bool,
    #[serde(default)]
    pub note: Option<String>,
    /// `over_budget`, `translation_pending` or `no_translation`: the note, to word in the reader's language.
    #[serde(default)]
    pub note_code: Option<String>,
    pub moderation: Moderation,
    pub sent_at: String,
    /// Higher for later edits; the highest version of an `id` wins.
    #[serde(default)]
    pub version: i64,
    #[serde(default)]
    pub edited: bool,
    #[serde(default)]
    pub deleted: bool,
}

/// A frame on a subscription.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    Item {
        seq: i64,
        value: serde_json::Value,
        #[serde(default)]
        publisher: Option<Author>,
    },
    Discontinuity {
        last_seq: i64,
        new_seq: i64,
    },
    Heartbeat,
}

/// The API's error body.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// `GET /api/health`: the node and its embedded pipeline, for the admin console.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NodeHealth {
    pub ready: String,
    pub bus: String,
    pub subscribers: usize,
    pub dead_letters_internal: u64,
    pub dead_letters_external: u64,
    #[serde(default)]
    pub pipeline: Option<PipelineHealth>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PipelineHealth {
    pub messages: u64,
    pub providers: Vec<ProviderHealth>,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub provider_failures: u64,
    pub characters_translated: u64,
    pub stages: Vec<(String, StageSummary)>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProviderHealth {
    pub name: String,
    pub up: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StageSummary {
    pub count: u64,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// `GET /api/users`: a user as admins see them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AdminUser {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    pub display_name: String,
    pub role: String,
    #[serde(default)]
    pub banned: bool,
    /// Locked languages granted, as `room:lang`.
    #[serde(default)]
    pub grants: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserList {
    pub users: Vec<AdminUser>,
}

/// `GET /api/webhooks`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Webhook {
    pub name: String,
    pub topic: String,
    pub url: String,
    pub enabled: bool,
    #[serde(default)]
    pub disabled_reason: Option<String>,
    #[serde(default)]
    pub pending: i64,
    #[serde(default)]
    pub failed: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

/// `GET /api/webhooks/{name}/deliveries`: one message to one webhook.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub seq: i64,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    #[serde(default)]
    pub last_status: Option<i64>,
    #[serde(default)]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
}

/// A reaction item on a room's reactions topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reaction {
    /// The message's id (`{room}-publish:{seq}`), the same in every language.
    pub target: String,
    pub emoji: String,
    /// Added (`true`) or taken back.
    pub on: bool,
}

/// `HH:MM` of an RFC 3339 timestamp, in UTC (the server's clock).
pub fn clock_time(rfc3339: &str) -> String {
    rfc3339.get(11..16).unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_item_frames_with_envelopes() {
        let frame: Frame = serde_json::from_str(
            r#"{"type":"item","topic":"lobby-subscribe-pt","seq":3,"published_at":"x","publisher":{"id":"p","name":"P"},
                "value":{"id":"lobby-publish:7","room":"lobby","source_seq":7,"author":{"id":"u","name":"Ana"},
                "lang":"pt","text":"olá","original":{"lang":"en","confidence":0.9,"text":"hello"},
                "translated":true,"provider":"firefox","moderation":{"action":"none","flags":[]},"sent_at":"2026-11-28T22:05:00.123Z"}}"#,
        )
        .unwrap();
        let Frame::Item { seq, value, publisher } = frame else { panic!("not an item") };
        assert_eq!(publisher.unwrap().name, "P");
        assert_eq!(seq, 3);
        let envelope: Envelope = serde_json::from_value(value).unwrap();
        assert_eq!(envelope.text, "olá");
        assert_eq!(clock_time(&envelope.sent_at), "22:05");
    }
}
