//! Word lists per language, and matching them against normalised text.
//!
//! The built-in lists are curated from LDNOOBW (see `moderation/README.md`
//! for attribution and curation); rooms add their own block and allow words.

use std::collections::HashMap;
use std::ops::Range;

use super::normalize::{cjk_string, words};

/// A word list prepared for matching.
#[derive(Debug, Default, Clone)]
pub struct WordList {
    /// Latin-script terms as folded word sequences.
    latin: Vec<Vec<String>>,
    /// CJK terms as folded strings without spaces.
    cjk: Vec<Vec<char>>,
}

/// The last word of a term also matches words it begins when it is at
/// least this long (`merde` → `merdique`); shorter ones must match whole.
const PREFIX_MATCH_MIN_CHARS: usize = 5;

impl WordList {
    /// Prepares terms (one per line in the text form; `#` starts a comment).
    pub fn parse(text: &str) -> Self {
        Self::from_terms(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')))
    }

    pub fn from_terms<'a>(terms: impl IntoIterator<Item = &'a str>) -> Self {
        let mut list = WordList::default();
        for term in terms {
            let (chars, _) = cjk_string(term);
            let symbols_only = !term.chars().any(char::is_alphanumeric);
            if chars.iter().any(|c| super::normalize::is_cjk(*c)) || symbols_only {
                // CJK terms match as strings; so do terms of symbols only (🖕).
                if chars.len() >= 2 || (symbols_only && !chars.is_empty()) {
                    list.cjk.push(chars);
                }
            } else {
                let tokens: Vec<String> = words(term).into_iter().map(|t| t.text).collect();
                if !tokens.is_empty() {
                    list.latin.push(tokens);
                }
            }
        }
        list
    }

    pub fn len(&self) -> usize {
        self.latin.len() + self.cjk.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The original byte ranges of every occurrence of a term in `text`.
    pub fn find(&self, text: &str) -> Vec<Range<usize>> {
        let mut found = Vec::new();
        if !self.latin.is_empty() {
            let tokens = words(text);
            for term in &self.latin {
                let n = term.len();
                for start in 0..tokens.len().saturating_sub(n - 1) {
                    let window = &tokens[start..start + n];
                    let head_matches = window[..n - 1].iter().zip(&term[..n - 1]).all(|(t, w)| t.is(w));
                    let (last, want) = (&window[n - 1], &term[n - 1]);
                    let last_matches =
                        last.is(want) || (want.chars().count() >= PREFIX_MATCH_MIN_CHARS && last.starts_with(want));
                    if head_matches && last_matches {
                        found.push(window[0].span.start..window[n - 1].span.end);
                    }
                }
            }
        }
        if !self.cjk.is_empty() {
            let (chars, spans) = cjk_string(text);
            for term in &self.cjk {
                if term.len() > chars.len() {
                    continue;
                }
                for start in 0..=chars.len() - term.len() {
                    if chars[start..start + term.len()] == term[..] {
                        found.push(spans[start].start..spans[start + term.len() - 1].end);
                    }
                }
            }
        }
        found
    }
}

macro_rules! builtin_lists {
    ($($lang:literal),*) => {
        /// The built-in lists' text, by ISO 639-1 code.
        pub const BUILTIN_TEXTS: &[(&str, &str)] = &[
            $(($lang, include_str!(concat!("../../moderation/", $lang, ".txt")))),*
        ];
    };
}

/// The built-in lists, by ISO 639-1 code.
pub fn builtin() -> HashMap<&'static str, WordList> {
    BUILTIN_TEXTS.iter().map(|(lang, text)| (*lang, WordList::parse(text))).collect()
}

builtin_lists!("en", "es", "fr", "de", "pt", "ja", "zh");

#[cfg(test)]
mod tests {
    use super::*;

    fn list(terms: &[&str]) -> WordList {
        WordList::from_terms(terms.iter().copied())
    }

    #[test]
    fn matches_whole_words_and_long_prefixes() {
        let l = list(&["merde", "con", "hija de puta"]);
        let text = "quelle merdeuse soirée, con";
        let found: Vec<&str> = l.find(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(found, ["merdeuse", "con"]);
        assert!(l.find("le contenu est conforme").is_empty(), "short terms only match whole words");
        let text = "eres una HIJA  de   PUTA";
        assert_eq!(&text[l.find(text)[0].clone()], "HIJA  de   PUTA");
    }

    #[test]
    fn matches_cjk_substrings_through_spaces() {
        let l = list(&["他妈的", "傻逼", "乳"]);
        let text = "你 他 妈 的 是 傻逼";
        let found: Vec<&str> = l.find(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(found, ["他 妈 的", "傻逼"]);
        assert!(l.find("我喜欢喝牛乳").is_empty(), "single characters are not terms");
    }

    #[test]
    fn every_builtin_language_has_a_list() {
        let lists = builtin();
        for lang in ["en", "es", "fr", "de", "pt", "ja", "zh"] {
            assert!(lists[lang].len() > 20, "{lang}");
        }
    }
}
