//! Word lists for every room language, indexed once, and matched against normalised text.
//!
//! The built-in lists (`moderation/{lang}.txt`, see `moderation/README.md`
//! for sources, licences and curation) are one [`Lexicon`], searched as a
//! whole: every text is checked against the words of every language,
//! whatever language it claims to be in. A term that is an ordinary word of
//! another language carries that language (`con | innocent: es it pt`), so
//! that a reader of that language is not shown it masked; the caller
//! decides ([`super::moderate`]). A term that is also a common name
//! (`dick | name`) is left alone where it is written as one ("Moby Dick",
//! "uncle Dick"). Innocent words that merely contain a term
//! (`moderation/safe.txt`: バカンス, "chatted") shield what they contain.
//! Rooms' own block and allow words are lexicons too.
//!
//! Matching costs a few hash lookups per word, whatever the number of
//! lists: terms are indexed by their first word, single-word terms of five
//! letters or more also as prefixes, and CJK terms go into one Aho-Corasick
//! automaton.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use super::normalize::{Token, cjk_string, fold_term, is_cjk, rejoined, words};

/// The languages with a built-in list, which are the languages a room may
/// use; a language's position is its bit in [`Langs`].
pub const LANGUAGES: [&str; 16] =
    ["en", "es", "fr", "de", "pt", "it", "nl", "ru", "uk", "pl", "tr", "ja", "zh", "ko", "ar", "hi"];

/// A set of [`LANGUAGES`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Langs(u32);

impl Langs {
    pub const NONE: Langs = Langs(0);

    /// The set holding `code`, or none for a language without a list.
    pub fn of(code: &str) -> Langs {
        LANGUAGES.iter().position(|l| *l == code).map_or(Langs::NONE, |i| Langs(1 << i))
    }

    pub fn contains(self, code: &str) -> bool {
        self.0 & Langs::of(code).0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn with(self, other: Langs) -> Langs {
        Langs(self.0 | other.0)
    }

    /// The codes in the set.
    pub fn codes(self) -> impl Iterator<Item = &'static str> {
        LANGUAGES.iter().enumerate().filter(move |(i, _)| self.0 & (1 << i) != 0).map(|(_, l)| *l)
    }
}

/// One term of a lexicon.
#[derive(Debug, Clone)]
struct Term {
    /// The list it comes from (none for a room's own words).
    lang: Option<&'static str>,
    /// Its folded words (empty for a string term).
    words: Box<[Box<str>]>,
    /// Languages in which it is an ordinary word.
    innocent: Langs,
    /// Also a common name, innocent where written as one.
    name: bool,
    /// Offensive only when aimed at someone (see [`AddressBook`]).
    addressed: bool,
    /// Offensive only when written in small letters (`nt` is an insult in
    /// Chinese chat, "Windows NT" is not).
    lowercase: bool,
}

/// Where a term was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The bytes of the original text it covers.
    pub range: Range<usize>,
    /// The list the term comes from (none for a room's own words).
    pub lang: Option<&'static str>,
    /// Languages in which the term is an ordinary word.
    pub innocent: Langs,
    /// The term is also a common name.
    pub name: bool,
}

/// What a list says of a term beyond the term itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notes {
    /// Languages in which it is an ordinary word (`| innocent: es it`).
    pub innocent: Langs,
    /// Also a common name (`| name`).
    pub name: bool,
    /// Offensive only when aimed at someone (`| addressed`).
    pub addressed: bool,
    /// Also the last part of a compound word (`schlampe | compound` →
    /// Kopftuchschlampe): German and Dutch build new insults freely.
    pub compound: bool,
    /// Offensive only when written in small letters (`nt | lowercase`).
    pub lowercase: bool,
}

/// How each language addresses a person (`moderation/address.txt`): the
/// words after which an `addressed` term is an insult ("you're stupid",
/// "seu burro"), and the fillers that may come between ("you're so stupid").
#[derive(Debug, Default)]
pub struct AddressBook {
    markers: HashMap<&'static str, Vec<Box<[Box<str>]>>>,
    fillers: HashMap<&'static str, Vec<Box<str>>>,
}

impl AddressBook {
    /// Reads `lang markers: a, b c` and `lang fillers: …` lines.
    pub fn parse(text: &str) -> Self {
        let mut book = AddressBook::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let Some((head, list)) = line.split_once(':') else { continue };
            let mut head = head.split_whitespace();
            let (Some(code), Some(kind)) = (head.next(), head.next()) else { continue };
            let Some(lang) = LANGUAGES.iter().copied().find(|l| *l == code) else { continue };
            for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let folded: Box<[Box<str>]> = words(item).into_iter().map(|t| t.text.into_boxed_str()).collect();
                if folded.is_empty() {
                    continue;
                }
                match kind {
                    "markers" => book.markers.entry(lang).or_default().push(folded),
                    "fillers" => book.fillers.entry(lang).or_default().extend(folded.iter().cloned()),
                    _ => {}
                }
            }
        }
        book
    }

    /// Whether the word at `i` of `tokens` is aimed at someone in `lang`:
    /// right after a marker (or a marker and one filler), or called out
    /// (the whole message, first before "," or "!", last after a comma).
    fn aims(&self, lang: Option<&str>, text: &str, tokens: &[Token], i: usize) -> bool {
        // Called out: the whole message, its first word before "," or "!",
        // or its last word after a comma.
        let after = text[tokens[i].span.end..].trim_start();
        let before = text[..tokens[i].span.start].trim_end();
        // The whole message: no other word, in any script (a lone English
        // word inside Japanese text is not addressed to anyone).
        let whole = tokens.len() == 1
            && text[..tokens[0].span.start]
                .chars()
                .chain(text[tokens[0].span.end..].chars())
                .all(|c| !c.is_alphanumeric());
        let called_out = whole
            || (i == 0 && after.starts_with([',', '!', '\u{FF0C}', '\u{FF01}']))
            || (i + 1 == tokens.len()
                && before.ends_with([',', '\u{FF0C}'])
                && after.chars().all(|c| !c.is_alphanumeric()));
        if called_out {
            return true;
        }
        let Some(lang) = lang else { return true };
        let ends_marker_at = |end: usize| {
            self.markers.get(lang).into_iter().flatten().any(|marker| {
                let n = marker.len();
                end + 1 >= n && tokens[end + 1 - n..=end].iter().zip(marker.iter()).all(|(t, m)| t.is(m))
            })
        };
        let is_filler = |t: &Token| self.fillers.get(lang).into_iter().flatten().any(|f| t.is(f));
        (i >= 1 && ends_marker_at(i - 1)) || (i >= 2 && is_filler(&tokens[i - 1]) && ends_marker_at(i - 2))
    }
}

/// The markers of address of every language.
pub static ADDRESS: LazyLock<AddressBook> =
    LazyLock::new(|| AddressBook::parse(&list_text("address", include_str!("../../moderation/address.txt"))));

/// A list's text: the built-in one, or, when `PARLEY_MODERATION_LISTS`
/// names a directory, the file there (`{name}.txt`): curators try their
/// changes with the built `parley-eval` without compiling again.
fn list_text(name: &str, builtin: &'static str) -> std::borrow::Cow<'static, str> {
    match std::env::var_os("PARLEY_MODERATION_LISTS") {
        Some(dir) => match std::fs::read_to_string(std::path::Path::new(&dir).join(format!("{name}.txt"))) {
            Ok(text) => std::borrow::Cow::Owned(text),
            Err(error) => {
                tracing::warn!(%error, name, "cannot read a moderation list from PARLEY_MODERATION_LISTS; using the built-in one");
                std::borrow::Cow::Borrowed(builtin)
            }
        },
        None => std::borrow::Cow::Borrowed(builtin),
    }
}

/// The last word of a term also matches words it begins when it is at
/// least this long (`merde` → `merdeux`); shorter ones must match whole.
const PREFIX_MATCH_MIN_CHARS: usize = 5;

/// Characters before a `compound` term in a word (`Kopftuch|schlampe`):
/// fewer are more often an ordinary word's start than a word (`B|arsch`).
const COMPOUND_HEAD_MIN_CHARS: usize = 3;

/// Letters a wildcard word (`f*ck`) must show before it is matched.
const WILDCARD_MIN_LETTERS: usize = 2;

/// A set of terms prepared for matching.
#[derive(Debug, Default, Clone)]
pub struct Lexicon {
    terms: Vec<Term>,
    /// Word terms by their first word.
    by_first: HashMap<Box<str>, Vec<u32>>,
    /// Single-word terms of at least [`PREFIX_MATCH_MIN_CHARS`] characters.
    by_prefix: HashMap<Box<str>, Vec<u32>>,
    /// Single-word `compound` terms, which also match the words they end.
    by_suffix: HashMap<Box<str>, Vec<u32>>,
    /// Single-word terms by their length in characters, for wildcard words.
    by_len: HashMap<usize, Vec<u32>>,
    /// CJK and symbol terms, matched as strings.
    strings: Option<AhoCorasick>,
    string_ids: Vec<u32>,
}

/// A text made ready for every lexicon it is matched against.
pub struct Prepared<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    rejoined: Vec<Token>,
    /// The folded string without spaces and each character's span, when the
    /// text has characters a string term could match (CJK, Hangul, symbols).
    string: Option<(String, Vec<Range<usize>>)>,
}

impl<'a> Prepared<'a> {
    pub fn new(text: &'a str) -> Self {
        let tokens = words(text);
        let rejoined = rejoined(text, &tokens);
        let needs_string = text.chars().any(|c| is_cjk(c) || (!c.is_ascii() && !c.is_alphanumeric()));
        let string = needs_string.then(|| {
            let (chars, spans) = cjk_string(text);
            // Byte offsets in the folded string → the original spans, one per byte.
            let mut byte_spans = Vec::with_capacity(chars.len() * 3);
            let mut folded = String::with_capacity(chars.len() * 3);
            for (c, span) in chars.into_iter().zip(spans) {
                folded.push(c);
                byte_spans.extend(std::iter::repeat_n(span, c.len_utf8()));
            }
            (folded, byte_spans)
        });
        Self { text, tokens, rejoined, string }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }
}

/// One line of a list file: the term and its notes (`term | innocent: es it | name`).
fn parse_line(line: &str) -> Option<(&str, Notes)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut parts = line.split(" | ");
    let term = parts.next()?.trim();
    let mut notes = Notes::default();
    for part in parts.map(str::trim) {
        if let Some(codes) = part.strip_prefix("innocent:") {
            for code in codes.split([' ', ',']).filter(|c| !c.is_empty()) {
                notes.innocent = notes.innocent.with(Langs::of(code));
            }
        } else if part == "name" {
            notes.name = true;
        } else if part == "addressed" {
            notes.addressed = true;
        } else if part == "compound" {
            notes.compound = true;
        } else if part == "lowercase" {
            notes.lowercase = true;
        }
    }
    Some((term, notes))
}

impl Lexicon {
    /// A room's words (no language, never innocent).
    pub fn from_terms<'t>(terms: impl IntoIterator<Item = &'t str>) -> Self {
        Self::build(terms.into_iter().map(|t| (None, t, Notes::default())))
    }

    /// Terms in the list-file format (`#` comments, `term | innocent: xx`).
    pub fn parse(lang: Option<&'static str>, text: &str) -> Self {
        Self::build(text.lines().filter_map(parse_line).map(|(term, notes)| (lang, term, notes)))
    }

    /// Indexes `(list language, term, notes)` entries.
    pub fn build<'t>(entries: impl IntoIterator<Item = (Option<&'static str>, &'t str, Notes)>) -> Self {
        let mut lexicon = Lexicon::default();
        let mut strings = Vec::new();
        for (lang, term, Notes { innocent, name, addressed, compound, lowercase }) in entries {
            let id = lexicon.terms.len() as u32;
            let folded = fold_term(term);
            let symbols_only = !term.chars().any(char::is_alphanumeric);
            if term.chars().any(is_cjk) || symbols_only {
                // CJK terms match as strings; so do terms of symbols only (🖕).
                let string: String = folded.chars().filter(|c| !c.is_whitespace()).collect();
                if string.chars().count() >= 2 || (symbols_only && !string.is_empty()) {
                    strings.push(string);
                    lexicon.string_ids.push(id);
                    lexicon.terms.push(Term { lang, words: Box::default(), innocent, name, addressed, lowercase });
                }
                continue;
            }
            let term_words: Box<[Box<str>]> = words(term).into_iter().map(|t| t.text.into_boxed_str()).collect();
            let Some(first) = term_words.first() else { continue };
            lexicon.by_first.entry(first.clone()).or_default().push(id);
            if term_words.len() == 1 {
                let chars = first.chars().count();
                if chars >= PREFIX_MATCH_MIN_CHARS {
                    lexicon.by_prefix.entry(first.clone()).or_default().push(id);
                }
                lexicon.by_len.entry(chars).or_default().push(id);
                if compound {
                    lexicon.by_suffix.entry(first.clone()).or_default().push(id);
                }
            }
            lexicon.terms.push(Term { lang, words: term_words, innocent, name, addressed, lowercase });
        }
        if !strings.is_empty() {
            // Building from plain strings fails only past the automaton's size limits.
            lexicon.strings = AhoCorasick::new(&strings).ok();
        }
        lexicon
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    fn hit(&self, id: u32, range: Range<usize>) -> Hit {
        let term = &self.terms[id as usize];
        Hit { range, lang: term.lang, innocent: term.innocent, name: term.name }
    }

    /// Every occurrence of a term in the prepared text.
    pub fn find(&self, text: &Prepared<'_>) -> Vec<Hit> {
        let mut found = Vec::new();
        let tokens = &text.tokens;
        for (i, token) in tokens.iter().enumerate() {
            for form in forms(token) {
                if let Some(ids) = self.by_first.get(form) {
                    for &id in ids {
                        if let Some(end) = self.matches_from(id, tokens, i)
                            && self.aimed(id, text, i)
                        {
                            found.push(self.hit(id, token.span.start..end));
                        }
                    }
                }
                // A long single-word term also matches the words it begins.
                for (k, _) in form.char_indices().skip(PREFIX_MATCH_MIN_CHARS) {
                    if let Some(ids) = self.by_prefix.get(&form[..k]) {
                        let aimed = ids.iter().filter(|&&id| self.aimed(id, text, i));
                        found.extend(aimed.map(|&id| self.hit(id, token.span.clone())));
                    }
                }
                // A compound term also matches the words it ends, after a
                // first part long enough to be a word of its own.
                if !self.by_suffix.is_empty() {
                    for (k, _) in form.char_indices().skip(COMPOUND_HEAD_MIN_CHARS) {
                        if let Some(ids) = self.by_suffix.get(&form[k..]) {
                            let aimed = ids.iter().filter(|&&id| self.aimed(id, text, i));
                            found.extend(aimed.map(|&id| self.hit(id, token.span.clone())));
                        }
                    }
                }
            }
            if token.has_wildcard() {
                self.find_wildcard(token, &mut found);
            }
        }
        // Words cut by a mark (`fu.ck`) match single-word terms whole.
        for token in &text.rejoined {
            for form in forms(token) {
                if let Some(ids) = self.by_first.get(form) {
                    let whole = ids.iter().filter(|&&id| self.terms[id as usize].words.len() == 1);
                    found.extend(whole.map(|&id| self.hit(id, token.span.clone())));
                }
            }
        }
        if let (Some(automaton), Some((string, spans))) = (&self.strings, &text.string) {
            for m in automaton.find_overlapping_iter(string.as_str()) {
                let id = self.string_ids[m.pattern().as_usize()];
                found.push(self.hit(id, spans[m.start()].start..spans[m.end() - 1].end));
            }
        }
        found
    }

    /// Whether term `id`, found at word `i`, counts there: always, unless it
    /// is `addressed` and not aimed at anyone, or `lowercase` and written
    /// with a capital.
    fn aimed(&self, id: u32, text: &Prepared<'_>, i: usize) -> bool {
        let term = &self.terms[id as usize];
        if term.lowercase && text.text[text.tokens[i].span.clone()].chars().any(char::is_uppercase) {
            return false;
        }
        !term.addressed || ADDRESS.aims(term.lang, text.text, &text.tokens, i) || self.insult_beside(&text.tokens, i)
    }

    /// Whether a word next to word `i` is itself a one-word term: insults
    /// come in pairs ("ugly fat pig", "perra asquerosa", "gordo nojento"),
    /// where neither word alone says that a person is meant.
    fn insult_beside(&self, tokens: &[Token], i: usize) -> bool {
        let is_term = |t: &Token| {
            forms(t).any(|form| {
                self.by_first
                    .get(form)
                    .is_some_and(|ids| ids.iter().any(|&id| self.terms[id as usize].words.len() == 1))
            })
        };
        (i > 0 && is_term(&tokens[i - 1])) || tokens.get(i + 1).is_some_and(is_term)
    }

    /// Where term `id` ends when it starts at word `i`: every word but the
    /// last equal, the last equal or, when long enough, begun.
    fn matches_from(&self, id: u32, tokens: &[Token], i: usize) -> Option<usize> {
        let term = &self.terms[id as usize].words;
        let window = tokens.get(i..i + term.len())?;
        let n = term.len();
        let head = window[..n - 1].iter().zip(&term[..n - 1]).all(|(t, w)| t.is(w));
        let (last, want) = (&window[n - 1], &term[n - 1]);
        let tail = last.is(want) || (n > 1 && want.chars().count() >= PREFIX_MATCH_MIN_CHARS && last.starts_with(want));
        (head && tail).then(|| window[n - 1].span.end)
    }

    /// A word with asterisks for letters (`f*ck`, `sh**`): the single-word
    /// terms of its length whose other letters agree, and its letters alone
    /// when the asterisks only separate them (`f*u*c*k`).
    fn find_wildcard(&self, token: &Token, found: &mut Vec<Hit>) {
        let pattern: Vec<char> = token.text.chars().collect();
        let letters = pattern.iter().filter(|c| **c != '*').count();
        if letters >= WILDCARD_MIN_LETTERS
            && pattern[0] != '*'
            && let Some(ids) = self.by_len.get(&pattern.len())
        {
            for &id in ids {
                let word = &self.terms[id as usize].words[0];
                if word.chars().zip(&pattern).all(|(w, p)| *p == '*' || w == *p) {
                    found.push(self.hit(id, token.span.clone()));
                }
            }
        }
        let stripped: String = pattern.iter().filter(|c| **c != '*').collect();
        if let Some(ids) = self.by_first.get(stripped.as_str()) {
            let whole = ids.iter().filter(|&&id| self.terms[id as usize].words.len() == 1);
            found.extend(whole.map(|&id| self.hit(id, token.span.clone())));
        }
    }
}

/// A word's two shrunk forms, once each.
fn forms(token: &Token) -> impl Iterator<Item = &str> {
    let doubled = (token.doubled != token.text).then_some(token.doubled.as_str());
    std::iter::once(token.text.as_str()).chain(doubled)
}

macro_rules! builtin_lists {
    ($($lang:literal),*) => {
        /// The built-in lists' text, by ISO 639-1 code.
        pub const BUILTIN_TEXTS: &[(&str, &str)] = &[
            $(($lang, include_str!(concat!("../../moderation/", $lang, ".txt")))),*
        ];
    };
}

builtin_lists!("en", "es", "fr", "de", "pt", "it", "nl", "ru", "uk", "pl", "tr", "ja", "zh", "ko", "ar", "hi");

/// Innocent words and phrases that contain a term (`moderation/safe.txt`).
pub const SAFE_TEXT: &str = include_str!("../../moderation/safe.txt");

/// Every built-in list in one lexicon.
pub static BUILTIN: LazyLock<Lexicon> = LazyLock::new(|| {
    let texts: Vec<(Option<&'static str>, std::borrow::Cow<'static, str>)> = BUILTIN_TEXTS
        .iter()
        .map(|(lang, text)| (LANGUAGES.iter().copied().find(|l| l == lang), list_text(lang, text)))
        .collect();
    let entries = texts
        .iter()
        .flat_map(|(lang, text)| text.lines().filter_map(parse_line).map(move |(term, notes)| (*lang, term, notes)));
    Lexicon::build(entries)
});

/// The safe words, as a lexicon whose hits shield the hits they contain.
pub static SAFE: LazyLock<Lexicon> = LazyLock::new(|| Lexicon::parse(None, &list_text("safe", SAFE_TEXT)));

/// How many built-in terms each language has (0 for a language without a list).
pub fn builtin_counts() -> &'static [(&'static str, usize)] {
    static COUNTS: LazyLock<Vec<(&'static str, usize)>> = LazyLock::new(|| {
        LANGUAGES
            .iter()
            .map(|lang| {
                let text = BUILTIN_TEXTS.iter().find(|(l, _)| l == lang).map_or("", |(_, t)| t);
                (*lang, text.lines().filter_map(parse_line).count())
            })
            .collect()
    });
    &COUNTS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(terms: &[&str]) -> Lexicon {
        Lexicon::from_terms(terms.iter().copied())
    }

    fn found<'t>(lexicon: &Lexicon, text: &'t str) -> Vec<&'t str> {
        let mut hits: Vec<Range<usize>> = lexicon.find(&Prepared::new(text)).into_iter().map(|h| h.range).collect();
        hits.sort_by_key(|r| (r.start, r.end));
        hits.dedup();
        hits.into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn matches_whole_words_and_long_prefixes() {
        let l = list(&["merde", "con", "hija de puta"]);
        assert_eq!(found(&l, "quelle merdeuse soirée, con"), ["merdeuse", "con"]);
        assert!(found(&l, "le contenu est conforme").is_empty(), "short terms only match whole words");
        assert_eq!(found(&l, "eres una HIJA  de   PUTA"), ["HIJA  de   PUTA"]);
    }

    #[test]
    fn matches_cjk_substrings_through_spaces() {
        let l = list(&["他妈的", "傻逼", "乳"]);
        assert_eq!(found(&l, "你 他 妈 的 是 傻逼"), ["他 妈 的", "傻逼"]);
        assert!(found(&l, "我喜欢喝牛乳").is_empty(), "single characters are not terms");
    }

    #[test]
    fn matches_wildcards_and_words_cut_by_a_mark() {
        let l = list(&["fuck", "shit", "bitch"]);
        assert_eq!(found(&l, "f*ck off"), ["f*ck"]);
        assert_eq!(found(&l, "f**k this sh*t"), ["f**k", "sh*t"]);
        assert_eq!(found(&l, "f*u*c*k"), ["f*u*c*k"]);
        assert_eq!(found(&l, "fu.ck you, b.itch"), ["fu.ck", "b.itch"]);
        assert!(found(&l, "****, *u**").is_empty(), "masked words and lone letters are nothing");
        assert!(found(&l, "sh.ift f*xes").is_empty());
    }

    #[test]
    fn annotations_name_the_languages_a_term_is_innocent_in() {
        let l = Lexicon::parse(Some("fr"), "# comment\ncon | innocent: es it pt\nmerde\ndick | innocent: de | name\n");
        let hits = l.find(&Prepared::new("con, merde, dick"));
        assert_eq!(hits.len(), 3);
        assert!(hits[0].innocent.contains("es") && hits[0].innocent.contains("pt"));
        assert!(!hits[0].innocent.contains("fr") && !hits[0].name);
        assert_eq!((hits[1].lang, hits[1].innocent, hits[1].name), (Some("fr"), Langs::NONE, false));
        assert!(hits[2].innocent.contains("de") && hits[2].name);
    }

    #[test]
    fn an_addressed_term_counts_only_when_aimed_at_someone() {
        let l = Lexicon::parse(Some("en"), "stupid | addressed\n");
        let l_pt = Lexicon::parse(Some("pt"), "burro | addressed\n");
        for text in ["you're stupid", "you are so stupid", "stupid!", "Stupid, stop it", "stupid", "shut up, stupid"] {
            assert_eq!(found(&l, text).len(), 1, "{text}");
        }
        for text in
            ["a stupid mistake", "that was stupid of me", "such a stupid idea", "I said something stupid yesterday"]
        {
            assert!(found(&l, text).is_empty(), "{text}");
        }
        assert_eq!(found(&l_pt, "cala a boca, seu burro").len(), 1);
        assert!(found(&l_pt, "o burro come capim").is_empty());
        assert_eq!(found(&l_pt, "volta pra casa, burro").len(), 1);
        assert!(found(&l_pt, "o burro, o cavalo e o boi").is_empty());
        assert!(found(&l, "stupid を生成する").is_empty(), "one Latin word among CJK is not a whole message");
        let pair = Lexicon::parse(Some("en"), "fat | addressed\npig | addressed\n");
        assert_eq!(found(&pair, "look at that fat pig").len(), 2, "two insults side by side");
        assert!(found(&pair, "the fat cat and the pig").is_empty());
    }

    #[test]
    fn a_compound_term_also_matches_the_words_it_ends() {
        let l = Lexicon::parse(Some("de"), "schlampe | compound\narsch\n");
        assert_eq!(found(&l, "diese Kopftuchschlampe schon wieder"), ["Kopftuchschlampe"]);
        assert_eq!(found(&l, "du Schlampe"), ["Schlampe"]);
        assert!(found(&l, "ein Eilmarsch durch den Barsch").is_empty(), "only compound terms end words");
        let short = Lexicon::parse(Some("de"), "hure | compound\n");
        assert!(found(&short, "Schure").is_empty(), "the first part must be a word's length");
    }

    #[test]
    fn a_lowercase_term_counts_only_in_small_letters() {
        let l = Lexicon::parse(Some("zh"), "nt | lowercase\n");
        assert_eq!(found(&l, "你是不是nt啊"), ["nt"]);
        assert!(found(&l, "我爸的电脑还在用Windows NT").is_empty());
        assert!(found(&l, "Nt").is_empty());
    }

    #[test]
    fn every_builtin_language_has_a_list() {
        for &(lang, count) in builtin_counts() {
            if BUILTIN_TEXTS.iter().any(|(l, _)| *l == lang) {
                assert!(count > 20, "{lang}: {count}");
            }
        }
        assert!(BUILTIN.len() > 500);
    }
}
