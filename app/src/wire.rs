//! The API's JSON shapes (API.md), as the UI reads them. Unknown fields are
//! ignored. Those the server and the pipeline also use come from `parley-api`.

pub use parley_api::Publisher as Author;
pub use parley_api::{
    Coverage, Envelope, Moderation, ModerationAction, ModerationPolicy, Original, Room, User, UserRole,
};
use serde::{Deserialize, Serialize};

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
            || self.user.role == UserRole::Admin
            || self.grants.iter().any(|g| *g == format!("{}:{lang}", room.name))
    }
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
    pub role: UserRole,
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
