//! What the room view shows, computed from what it has heard: message
//! order and versions, grouping, day separators, reactions, mentions and
//! avatars. Plain functions, tested without a browser.

use std::collections::BTreeMap;

use crate::wire::{Author, Envelope};

/// A message of ours that the pipeline has not returned yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub seq: i64,
    pub text: String,
}

/// When someone was last heard from on the presence topic, in page seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub id: String,
    pub name: String,
    pub online: Option<u64>,
    pub typing: Option<u64>,
}

/// Records a presence item: typing also means online.
pub fn note_presence(all: &mut Vec<Seen>, who: Author, now: u64, typing: bool) {
    let entry = match all.iter().position(|p| p.id == who.id) {
        Some(i) => &mut all[i],
        None => {
            all.push(Seen { id: who.id, name: who.name, online: None, typing: None });
            let last = all.len() - 1;
            &mut all[last]
        }
    };
    entry.online = Some(now);
    if typing {
        entry.typing = Some(now);
    }
}

/// Inserts or replaces a message, keeping `source_seq` order. Returns
/// whether it was new and where it went (at the end, or among the older ones).
pub fn upsert(messages: &mut Vec<Envelope>, envelope: Envelope) -> Placed {
    if let Some(existing) = messages.iter_mut().find(|m| m.id == envelope.id) {
        // Versions only move forward; an untranslated copy and its
        // translation share a version, and the translation comes last.
        if envelope.version >= existing.version {
            *existing = envelope;
        }
        return Placed::Replaced;
    }
    let at = messages.partition_point(|m| m.source_seq <= envelope.source_seq);
    let last = at == messages.len();
    messages.insert(at, envelope);
    if last { Placed::Appended } else { Placed::Inserted }
}

/// Where [`upsert`] put a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// A new message after all the others: the conversation moved on.
    Appended,
    /// A new message among older ones (history loaded).
    Inserted,
    /// A new version of a message already there.
    Replaced,
}

/// One line of the message list.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// The first message of a day: its date (`YYYY-MM-DD`).
    Day(String),
    /// A message, and whether it continues its author's previous one
    /// (same author, within the same ten minutes), so the list groups them.
    Message(Box<Envelope>, bool),
}

/// The list's lines: messages grouped by author, with a separator where the
/// day changes. `day_of` gives a timestamp's day where the reader lives.
pub fn lines(messages: impl Iterator<Item = Envelope>, day_of: impl Fn(&str) -> String) -> Vec<Line> {
    let mut out = Vec::new();
    let mut previous: Option<(Envelope, String)> = None;
    for m in messages {
        let day = day_of(&m.sent_at);
        let new_day = previous.as_ref().is_none_or(|(_, previous_day)| *previous_day != day);
        if new_day && !day.is_empty() {
            out.push(Line::Day(day.clone()));
        }
        let continued = !new_day
            && previous.as_ref().is_some_and(|(p, _)| {
                p.author.id == m.author.id
                    && p.sent_at.get(..15).is_some()
                    && p.sent_at.get(..15) == m.sent_at.get(..15)
            });
        previous = Some((m.clone(), day));
        out.push(Line::Message(Box::new(m), continued));
    }
    out
}

/// Who reacted with what: message id → emoji → the people (id, name), in
/// the order they reacted.
pub type Reactions = BTreeMap<String, BTreeMap<String, Vec<(String, String)>>>;

/// Applies one reaction item: `who` adds (`on`) or takes back an emoji.
pub fn react(all: &mut Reactions, target: &str, emoji: &str, who: &Author, on: bool) {
    let people = all.entry(target.to_owned()).or_default().entry(emoji.to_owned()).or_default();
    people.retain(|(id, _)| *id != who.id);
    if on {
        people.push((who.id.clone(), who.name.clone()));
    }
}

/// Whether `text` mentions `name` (`@Ana`, case-insensitive, not inside a longer name).
pub fn mentions(text: &str, name: &str) -> bool {
    let (text, wanted) = (text.to_lowercase(), format!("@{}", name.to_lowercase()));
    if name.trim().is_empty() {
        return false;
    }
    text.match_indices(&wanted)
        .any(|(at, _)| text[at + wanted.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric() && c != '_'))
}

/// Up to two initials of a name, for its avatar.
pub fn initials(name: &str) -> String {
    let mut words = name.split_whitespace().filter_map(|w| w.chars().find(|c| c.is_alphanumeric()));
    let first = words.next();
    let last = words.next_back();
    first.into_iter().chain(last).flat_map(char::to_uppercase).collect()
}

/// A hue (0–359) for a person's avatar, the same on every screen.
pub fn hue(id: &str) -> u32 {
    id.bytes().fold(7_u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 360
}

/// `YYYY-MM-DD` of the day before `day`.
pub fn day_before(day: &str) -> String {
    let parts: Vec<i64> = day.split('-').filter_map(|p| p.parse().ok()).collect();
    let [y, m, d] = parts[..] else { return String::new() };
    if d > 1 {
        return format!("{y:04}-{m:02}-{:02}", d - 1);
    }
    let (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let last = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    format!("{y:04}-{m:02}-{last:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(id: &str, source_seq: i64, version: i64, author: &str, sent_at: &str, text: &str) -> Envelope {
        serde_json::from_value(serde_json::json!({
            "id": id, "room": "lobby", "source_seq": source_seq, "version": version, "author": {"id": author, "name": author},
            "lang": "en", "text": text, "original": {"lang": "en", "text": text}, "translated": false,
            "moderation": {"action": "none"}, "sent_at": sent_at
        }))
        .unwrap()
    }

    #[test]
    fn upsert_orders_by_source_seq_keeps_the_newest_version_and_says_where() {
        let mut all = Vec::new();
        assert_eq!(upsert(&mut all, envelope("p:2", 2, 2, "a", "t", "second")), Placed::Appended);
        assert_eq!(upsert(&mut all, envelope("p:1", 1, 1, "a", "t", "first")), Placed::Inserted);
        assert_eq!(upsert(&mut all, envelope("p:1", 1, 5, "a", "t", "first, edited")), Placed::Replaced);
        upsert(&mut all, envelope("p:1", 1, 3, "a", "t", "an older edit arriving late"));
        let texts: Vec<&str> = all.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["first, edited", "second"]);
    }

    #[test]
    fn lines_group_by_author_and_separate_days() {
        let messages = vec![
            envelope("p:1", 1, 1, "ana", "2026-11-29T10:01:00.000Z", "a"),
            envelope("p:2", 2, 2, "ana", "2026-11-29T10:02:00.000Z", "b"),
            envelope("p:3", 3, 3, "bia", "2026-11-29T10:02:30.000Z", "c"),
            envelope("p:4", 4, 4, "bia", "2026-11-29T10:40:00.000Z", "d"),
            envelope("p:5", 5, 5, "bia", "2026-11-30T08:00:00.000Z", "e"),
        ];
        let shape: Vec<String> = lines(messages.into_iter(), |at| at[..10].to_owned())
            .into_iter()
            .map(|l| match l {
                Line::Day(d) => d,
                Line::Message(m, continued) => format!("{}{}", m.text, if continued { "+" } else { "" }),
            })
            .collect();
        assert_eq!(shape, ["2026-11-29", "a", "b+", "c", "d", "2026-11-30", "e"]);
    }

    #[test]
    fn reactions_toggle_per_person() {
        let (ana, bia) = (Author { id: "a".into(), name: "Ana".into() }, Author { id: "b".into(), name: "Bia".into() });
        let mut all = Reactions::new();
        react(&mut all, "lobby-publish:1", "👍", &ana, true);
        react(&mut all, "lobby-publish:1", "👍", &bia, true);
        react(&mut all, "lobby-publish:1", "👍", &ana, true);
        assert_eq!(all["lobby-publish:1"]["👍"].len(), 2, "one reaction per person");
        react(&mut all, "lobby-publish:1", "👍", &ana, false);
        assert_eq!(all["lobby-publish:1"]["👍"], [("b".to_owned(), "Bia".to_owned())]);
    }

    #[test]
    fn mentions_need_the_whole_name() {
        assert!(mentions("hi @ana, look", "Ana"));
        assert!(mentions("@ANA", "Ana"));
        assert!(!mentions("hi @anabel", "Ana"));
        assert!(!mentions("hi ana", "Ana"));
        assert!(mentions("@Ana Paula!", "Ana Paula"));
        assert!(!mentions("@", ""));
    }

    #[test]
    fn initials_hues_and_days() {
        assert_eq!(initials("Ana Paula Souza"), "AS");
        assert_eq!(initials("bruno"), "B");
        assert_eq!(initials("さくら"), "さ");
        assert_eq!(hue("u_1"), hue("u_1"));
        assert!(hue("u_2") < 360);
        assert_eq!(day_before("2026-03-01"), "2026-02-28");
        assert_eq!(day_before("2024-03-01"), "2024-02-29");
        assert_eq!(day_before("2026-01-01"), "2025-12-31");
        assert_eq!(day_before("2026-12-02"), "2026-12-01");
    }
}
