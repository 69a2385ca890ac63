//! Moderation: finds profanity and masks it, per the room's policy.
//!
//! This skeleton uses rustrict, whose word lists are English-centred; the
//! room policy decides what happens to a flagged message.

use rustrict::{Censor, Type};
use serde::{Deserialize, Serialize};

/// What a room does with an offending message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Replace offending words with `*`.
    #[default]
    Mask,
    /// Drop the message; the author is told why.
    Block,
    /// Deliver it unchanged, marked.
    Flag,
}

/// The outcome for one text, as carried in the envelope's `moderation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moderation {
    /// `none`, `masked`, `blocked` or `flagged`.
    pub action: String,
    pub flags: Vec<String>,
}

impl Moderation {
    pub fn clean() -> Self {
        Self { action: "none".into(), flags: Vec::new() }
    }
}

/// Moderates `text` under `policy`; returns the text to deliver and the outcome.
pub fn moderate(text: &str, policy: Policy) -> (String, Moderation) {
    let threshold = Type::PROFANE | Type::OFFENSIVE | Type::SEXUAL;
    let (censored, analysis) = Censor::from_str(text)
        .with_censor_threshold(threshold & Type::MODERATE_OR_HIGHER)
        .with_censor_first_character_threshold(Type::NONE)
        .censor_and_analyze();
    if !analysis.is(threshold & Type::MODERATE_OR_HIGHER) {
        return (text.to_owned(), Moderation::clean());
    }
    let mut flags = Vec::new();
    if analysis.is(Type::PROFANE & Type::MODERATE_OR_HIGHER) {
        flags.push("profane".to_owned());
    }
    if analysis.is(Type::OFFENSIVE & Type::MODERATE_OR_HIGHER) {
        flags.push("offensive".to_owned());
    }
    if analysis.is(Type::SEXUAL & Type::MODERATE_OR_HIGHER) {
        flags.push("sexual".to_owned());
    }
    match policy {
        Policy::Mask => (censored, Moderation { action: "masked".into(), flags }),
        Policy::Block => (String::new(), Moderation { action: "blocked".into(), flags }),
        Policy::Flag => (text.to_owned(), Moderation { action: "flagged".into(), flags }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_english_profanity_entirely() {
        let (text, m) = moderate("hello, you fucking idiot", Policy::Mask);
        assert!(!text.contains("fuck"), "{text}");
        assert!(text.contains('*'), "{text}");
        assert_eq!(m.action, "masked");
        assert!(m.flags.contains(&"profane".to_owned()));
    }

    #[test]
    fn leaves_clean_text_alone() {
        let (text, m) = moderate("Can you send me the link?", Policy::Mask);
        assert_eq!(text, "Can you send me the link?");
        assert_eq!(m, Moderation::clean());
    }

    #[test]
    fn block_and_flag_policies() {
        assert_eq!(moderate("shit", Policy::Block).1.action, "blocked");
        let (text, m) = moderate("shit", Policy::Flag);
        assert_eq!((text.as_str(), m.action.as_str()), ("shit", "flagged"));
    }
}
