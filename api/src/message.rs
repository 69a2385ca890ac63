//! Chat messages on the wire: the webhook delivery of a published item and
//! the envelope the pipeline publishes in each reader's language.

use serde::{Deserialize, Serialize};

/// Who published an item, as stamped by the server (never the client).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Publisher {
    pub id: String,
    pub name: String,
}

/// The body of one webhook delivery: an item published to a topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub topic: String,
    pub seq: i64,
    pub published_at: String,
    pub publisher: Publisher,
    pub value: serde_json::Value,
}

/// A change to an earlier message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageOp {
    Edit,
    Delete,
}

crate::named_enum!(MessageOp, "message op", { Edit => "edit", Delete => "delete" });

/// What moderation did to one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModerationAction {
    /// Nothing was found.
    #[default]
    None,
    /// Delivered unchanged, marked (the room's policy is `flag`).
    Flagged,
    /// Offending words replaced with `*`.
    Masked,
    /// Not delivered to readers; the author sees why.
    Blocked,
}

crate::named_enum!(ModerationAction, "moderation action", {
    None => "none", Flagged => "flagged", Masked => "masked", Blocked => "blocked",
});

/// The outcome for one text, as carried in the envelope's `moderation`.
/// Actions are ordered by severity (`none` < `flagged` < `masked` < `blocked`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Moderation {
    pub action: ModerationAction,
    /// The categories found (`profanity`, `slur`, `room_word`, …).
    #[serde(default)]
    pub flags: Vec<String>,
}

impl Moderation {
    pub fn clean() -> Self {
        Self::default()
    }

    pub fn is_clean(&self) -> bool {
        self.action == ModerationAction::None
    }

    /// Both outcomes in one: the stronger action and every flag.
    pub fn merged(&self, other: &Moderation) -> Moderation {
        let mut flags = self.flags.clone();
        flags.extend(other.flags.iter().filter(|f| !self.flags.contains(f)).cloned());
        Moderation { action: self.action.max(other.action), flags }
    }
}

/// The source of a translated message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Original {
    pub lang: String,
    /// How sure language detection was (0–1).
    #[serde(default)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Why the text is not (yet) in the reader's language, in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The same reason as a stable code a client can word in its reader's
    /// language: `over_budget`, `translation_pending` or `no_translation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_code: Option<String>,
    pub moderation: Moderation,
    pub sent_at: String,
    /// Grows with every edit or deletion (the `seq` of the change on the
    /// publish topic); clients keep the highest version of each `id`.
    #[serde(default)]
    pub version: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub edited: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moderation_actions_order_by_severity_and_keep_their_names() {
        use ModerationAction::*;
        assert!(None < Flagged && Flagged < Masked && Masked < Blocked);
        for action in [None, Flagged, Masked, Blocked] {
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
            assert_eq!(action.as_str().parse::<ModerationAction>(), Ok(action));
        }
        assert!(serde_json::from_str::<ModerationAction>(r#""hidden""#).is_err());
    }

    #[test]
    fn an_envelope_reads_api_md_s_example_and_writes_it_back() {
        let json = serde_json::json!({
            "id": "lobby-publish:7", "room": "lobby", "source_seq": 7,
            "author": {"id": "u_1", "name": "Ana"}, "lang": "pt", "text": "olá",
            "original": {"lang": "en", "confidence": 0.9, "text": "hello"},
            "translated": true, "provider": "firefox",
            "moderation": {"action": "none", "flags": []},
            "sent_at": "2026-11-28T22:05:00.123Z", "version": 7
        });
        let envelope: Envelope = serde_json::from_value(json.clone()).unwrap();
        assert_eq!((envelope.moderation.action, envelope.edited), (ModerationAction::None, false));
        assert_eq!(serde_json::to_value(&envelope).unwrap(), json);
    }
}
