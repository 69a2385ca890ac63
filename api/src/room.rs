//! Rooms as the API shows them (`GET /api/rooms`, `GET /api/rooms/{room}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What happens to a message moderation finds something in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ModerationPolicy {
    /// Replace offending words with `*`.
    #[default]
    Mask,
    /// Drop the message; the author is told why.
    Block,
    /// Deliver it unchanged, marked.
    Flag,
}

crate::named_enum!(ModerationPolicy, "moderation policy (mask, block or flag)", {
    Mask => "mask", Block => "block", Flag => "flag",
});

/// A room. Visitors get the first four fields, members also the locked
/// languages, admins and the pipeline everything; absent fields read as
/// their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Room {
    pub name: String,
    pub title: String,
    pub languages: Vec<String>,
    #[serde(default)]
    pub moderation: ModerationPolicy,
    /// Languages that need a grant from an admin (the "paid" languages).
    #[serde(default)]
    pub locked_languages: Vec<String>,
    /// The room's own words to moderate, beyond the built-in lists.
    #[serde(default)]
    pub block_words: Vec<String>,
    /// Words never flagged in this room.
    #[serde(default)]
    pub allow_words: Vec<String>,
    /// The languages someone has joined the room in: the only ones translated into.
    #[serde(default)]
    pub read_languages: Vec<String>,
    /// Characters per UTC day the room may send to translation (`null`: no limit).
    #[serde(default)]
    pub daily_char_budget: Option<i64>,
    /// Characters sent to translation today (UTC).
    #[serde(default)]
    pub characters_today: i64,
    /// Per room language, how many terms its built-in moderation list has
    /// (every list applies to every message; 0 would mean no list of its own).
    #[serde(default)]
    pub moderation_lists: BTreeMap<String, usize>,
    /// Per language, how its readers get the others (admins, with the
    /// pipeline in the server).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translation: BTreeMap<String, Coverage>,
}

/// How readers of one language get a room's other languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Coverage {
    /// Every other language reaches it on this machine.
    pub offline: bool,
    /// The providers that do it, in failover order.
    pub providers: Vec<String>,
    /// Languages that reach it through no provider (delivered untranslated, with a note).
    pub missing: Vec<String>,
}

impl Room {
    /// The languages to deliver a message in `source` to: those someone
    /// reads (all of them while nobody has joined yet), and always its own.
    pub fn target_languages(&self, source: &str) -> Vec<String> {
        self.languages
            .iter()
            .filter(|l| self.read_languages.is_empty() || self.read_languages.contains(l) || *l == source)
            .cloned()
            .collect()
    }

    /// Whether translating `chars` characters into `targets` languages stays within today's budget.
    pub fn within_budget(&self, chars: usize, targets: usize) -> bool {
        self.daily_char_budget.is_none_or(|budget| self.characters_today + (chars * targets) as i64 <= budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitors_room_reads_with_defaults_for_what_it_was_not_shown() {
        let room: Room = serde_json::from_str(r#"{"name":"lobby","title":"Lobby","languages":["en","pt"]}"#).unwrap();
        assert_eq!((room.moderation, room.characters_today), (ModerationPolicy::Mask, 0));
        assert!(room.translation.is_empty() && !serde_json::to_string(&room).unwrap().contains("translation"));
        assert_eq!(room.target_languages("en"), ["en", "pt"]);
    }

    #[test]
    fn policies_parse_only_their_names() {
        assert_eq!("block".parse(), Ok(ModerationPolicy::Block));
        let error = "shout".parse::<ModerationPolicy>().unwrap_err();
        assert_eq!(error.to_string(), r#""shout" is not a moderation policy (mask, block or flag)"#);
    }
}
