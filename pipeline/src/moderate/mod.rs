//! Moderation in every room language: find offending words and apply the
//! room's policy.
//!
//! Each language has a curated word list ([`lists`]) matched through
//! disguises ([`normalize`]); English is also checked by rustrict, whose
//! analysis is English-centred (it flags too much clean text in other
//! languages to run there). Rooms add their own block and allow words.

pub mod lists;
pub mod normalize;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use rustrict::{Censor, Type};
use serde::{Deserialize, Serialize};

use lists::WordList;

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

    pub fn is_clean(&self) -> bool {
        self.action == "none"
    }
}

/// A room's own additions: words to block and words never to flag.
#[derive(Debug, Clone, Default)]
pub struct RoomWords {
    pub block: WordList,
    pub allow: WordList,
}

impl RoomWords {
    pub fn new<'a>(block: impl IntoIterator<Item = &'a str>, allow: impl IntoIterator<Item = &'a str>) -> Self {
        Self { block: WordList::from_terms(block), allow: WordList::from_terms(allow) }
    }
}

/// The built-in lists, loaded once.
static BUILTIN: LazyLock<HashMap<&'static str, WordList>> = LazyLock::new(lists::builtin);

/// rustrict's verdicts that count as offending.
/// rustrict's censoring and analysis of English text. Runs of four or more
/// digits (times, phone and order numbers) are hidden from it: it reads
/// digits as possible leetspeak, which made a message with a 19-digit number
/// ten times slower to check (225 µs instead of 24) and never found a word
/// in one; leetspeak inside words ("sh1t") has one or two.
fn censor_en(text: &str) -> (String, Type) {
    let censor = |t: &str| {
        Censor::from_str(t)
            .with_censor_threshold(rustrict_threshold())
            .with_censor_first_character_threshold(Type::NONE)
            .censor_and_analyze()
    };
    let hidden = hide_digit_runs(text);
    if hidden == text {
        return censor(text);
    }
    let (censored, analysis) = censor(&hidden);
    let (original, hidden): (Vec<char>, Vec<char>) = (text.chars().collect(), hidden.chars().collect());
    let out: Vec<char> = censored.chars().collect();
    if out.len() != original.len() {
        // Not position for position: check the text as it is.
        return censor(text);
    }
    // The hidden digits come back as they were.
    let restored = out.iter().zip(original.iter().zip(&hidden)).map(|(&c, (&o, &h))| if o != h { o } else { c });
    (restored.collect(), analysis)
}

/// `text` with each run of four or more ASCII digits turned into as many spaces.
fn hide_digit_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i - start >= 4 {
            out[start..i].fill(' ');
        }
        if i == start {
            i += 1;
        }
    }
    out.into_iter().collect()
}

fn rustrict_threshold() -> Type {
    (Type::PROFANE | Type::OFFENSIVE | Type::SEXUAL) & Type::MODERATE_OR_HIGHER
}

/// Where `text`, written in `lang`, offends: byte ranges of the original.
pub fn find(text: &str, lang: &str, room: &RoomWords) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    if let Some(list) = BUILTIN.get(lang) {
        found.extend(list.find(text));
    }
    found.extend(room.block.find(text));
    if !room.allow.is_empty() {
        let allowed = room.allow.find(text);
        found.retain(|r| !allowed.iter().any(|a| a.start <= r.start && r.end <= a.end));
    }
    found
}

/// Replaces the letters of each range with `*`, leaving spaces and punctuation.
fn mask(text: &str, ranges: &[Range<usize>]) -> String {
    text.char_indices()
        .map(|(i, c)| if c.is_alphanumeric() && ranges.iter().any(|r| r.contains(&i)) { '*' } else { c })
        .collect()
}

/// rustrict's censoring of `original`, keeping only the censored runs that
/// are mostly letters: it reads digits as leetspeak, so plain numbers ("number
/// 493") and numbers glued to a letter ("1795996800| the") were flagged as
/// sexual. A run with at least as many letters as digits (`sh1t`, `5h1t`)
/// stays censored. `None` when nothing is left.
fn letters_only(original: &str, censored: &str) -> Option<String> {
    let (a, b): (Vec<char>, Vec<char>) = (original.chars().collect(), censored.chars().collect());
    if a.len() != b.len() {
        // Not a one-for-one replacement: trust it as it is.
        return Some(censored.to_owned());
    }
    let mut out = b.clone();
    let mut kept = false;
    let mut i = 0;
    while i < a.len() {
        if a[i] == b[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < a.len() && a[i] != b[i] {
            i += 1;
        }
        let letters = a[start..i].iter().filter(|c| c.is_alphabetic()).count();
        let digits = a[start..i].iter().filter(|c| c.is_numeric()).count();
        if letters > 0 && letters >= digits {
            kept = true;
        } else {
            out[start..i].copy_from_slice(&a[start..i]);
        }
    }
    kept.then(|| out.into_iter().collect())
}

/// Moderates `text`, written in `lang`, under `policy`; returns the text to
/// deliver and the outcome.
pub fn moderate(text: &str, lang: &str, policy: Policy, room: &RoomWords) -> (String, Moderation) {
    let found = find(text, lang, room);
    let mut masked = mask(text, &found);
    let mut flags = Vec::new();
    if !found.is_empty() {
        flags.push("profane".to_owned());
    }
    if lang == "en" {
        let (censored, analysis) = censor_en(&masked);
        if analysis.is(rustrict_threshold())
            && let Some(censored) = letters_only(&masked, &censored)
        {
            for (kind, name) in [(Type::PROFANE, "profane"), (Type::OFFENSIVE, "offensive"), (Type::SEXUAL, "sexual")] {
                if analysis.is(kind & Type::MODERATE_OR_HIGHER) && !flags.iter().any(|f| f == name) {
                    flags.push(name.to_owned());
                }
            }
            masked = censored;
        }
    }
    if flags.is_empty() {
        return (text.to_owned(), Moderation::clean());
    }
    match policy {
        Policy::Mask => (masked, Moderation { action: "masked".into(), flags }),
        Policy::Block => (String::new(), Moderation { action: "blocked".into(), flags }),
        Policy::Flag => (text.to_owned(), Moderation { action: "flagged".into(), flags }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_are_kept_and_words_beside_them_still_checked() {
        assert_eq!(hide_digit_runs("call 5551234 or 12 x 2026"), "call         or 12 x     ");
        let (text, action) = mask_of("order 1764432000123456789 shipped", "en");
        assert_eq!((text.as_str(), action.as_str()), ("order 1764432000123456789 shipped", "none"));
        let (text, action) = mask_of("1764432000123456789 you are a bitch", "en");
        assert_eq!(action, "masked");
        assert!(text.starts_with("1764432000123456789 you are a "), "{text}");
        assert!(!text.contains("bitch"), "{text}");
    }

    fn mask_of(text: &str, lang: &str) -> (String, String) {
        let (text, m) = moderate(text, lang, Policy::Mask, &RoomWords::default());
        (text, m.action)
    }

    #[test]
    fn masks_english_profanity_entirely() {
        let (text, action) = mask_of("hello, you fucking idiot", "en");
        assert!(!text.contains("fuck"), "{text}");
        assert!(text.contains('*'), "{text}");
        assert_eq!(action, "masked");
    }

    #[test]
    fn numbers_are_not_words() {
        for i in 0..1000 {
            let text = format!("Message number {i} is on its way to everyone in the room");
            assert_eq!(mask_of(&text, "en"), (text.clone(), "none".to_owned()));
        }
        let glued = "1795996800123456789| the train was late again so I walked to work";
        assert_eq!(mask_of(glued, "en"), (glued.to_owned(), "none".to_owned()));
        assert_eq!(mask_of("you are a 5h1t", "en").1, "masked", "leetspeak is still caught");
    }

    #[test]
    fn leaves_clean_text_alone() {
        for (text, lang) in [
            ("Can you send me the link?", "en"),
            ("Você pode me enviar o link?", "pt"),
            ("Le contenu est conforme.", "fr"),
            ("我喜欢喝牛乳。", "zh"),
        ] {
            assert_eq!(mask_of(text, lang), (text.to_owned(), "none".to_owned()));
        }
    }

    #[test]
    fn moderates_each_language_with_its_own_list() {
        for (text, lang, gone) in [
            ("eres un pendejo", "es", "pendejo"),
            ("quelle merde", "fr", "merde"),
            ("du Arschloch", "de", "Arschloch"),
            ("que porra é essa", "pt", "porra"),
            ("你他妈的", "zh", "他妈的"),
        ] {
            let (text, action) = mask_of(text, lang);
            assert_eq!(action, "masked", "{lang}: {text}");
            assert!(!text.contains(gone), "{lang}: {text}");
        }
    }

    #[test]
    fn sees_through_disguises() {
        for evasion in ["P.U.T.A", "p u t a", "PUUUUTA", "pÚta"] {
            let (text, action) = mask_of(&format!("que {evasion} merda"), "pt");
            assert_eq!(action, "masked", "{evasion} → {text}");
        }
    }

    #[test]
    fn block_and_flag_policies() {
        assert_eq!(moderate("shit", "en", Policy::Block, &RoomWords::default()).1.action, "blocked");
        let (text, m) = moderate("shit", "en", Policy::Flag, &RoomWords::default());
        assert_eq!((text.as_str(), m.action.as_str()), ("shit", "flagged"));
    }

    #[test]
    fn rooms_add_block_words_and_allow_words() {
        let room = RoomWords::new(["pineapple"], ["merde"]);
        assert_eq!(moderate("no pineapple on pizza", "en", Policy::Mask, &room).0, "no ********* on pizza");
        assert_eq!(moderate("quelle merde", "fr", Policy::Mask, &room).1.action, "none");
    }
}
