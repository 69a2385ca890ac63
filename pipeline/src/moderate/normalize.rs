//! Text normalisation for matching profanity through the usual disguises.
//!
//! Every character is folded (NFKC, lower case, accents dropped from Latin
//! letters) while remembering which bytes of the original it came from, so a
//! match can be masked in the original text. Latin-script text is cut into
//! words, with leetspeak undone (`5h1t`), letters spelled out with separators
//! joined (`f.u.c.k`) and stretched letters shrunk (`fuuuck`). CJK text is
//! matched as a string with its spaces removed.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

/// One folded character and the original bytes it stands for.
#[derive(Debug, Clone, Copy)]
struct Folded {
    ch: char,
    span: (usize, usize),
}

/// A word of Latin-script text, folded, with its span in the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Stretched letters shrunk to one (`fuuuck` → `fuck`).
    pub text: String,
    /// Stretched letters shrunk to two (`asssss` → `ass`).
    pub doubled: String,
    pub span: Range<usize>,
}

impl Token {
    fn new(word: &str, span: Range<usize>) -> Self {
        Token { text: shrink_runs(word, 1), doubled: shrink_runs(word, 2), span }
    }

    /// Whether this word is `want`, in either shrunk form.
    pub fn is(&self, want: &str) -> bool {
        self.text == want || self.doubled == want
    }

    /// Whether this word begins with `want`, in either shrunk form.
    pub fn starts_with(&self, want: &str) -> bool {
        self.text.starts_with(want) || self.doubled.starts_with(want)
    }
}

fn is_latin(c: char) -> bool {
    (c as u32) <= 0x024F || (0x1E00..=0x1EFF).contains(&(c as u32))
}

/// Characters of CJK scripts (ideographs, kana, hangul) and their punctuation.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xAC00..=0xD7AF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F | 0x20000..=0x2FA1F)
}

/// Folds `text` character by character, keeping the original spans.
fn fold(text: &str) -> Vec<Folded> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        // Keep a base character together with the marks that modify it
        // (combining accents, half-width voicing marks).
        let mut end = start + c.len_utf8();
        let mut cluster = String::from(c);
        while let Some(&(i, next)) = chars.peek() {
            if is_combining_mark(next) || matches!(next, '\u{FF9E}' | '\u{FF9F}') {
                cluster.push(next);
                end = i + next.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        for k in cluster.nfkc().flat_map(char::to_lowercase) {
            if k == 'ß' {
                out.extend([Folded { ch: 's', span: (start, end) }, Folded { ch: 's', span: (start, end) }]);
            } else if is_latin(k) {
                for d in k.to_string().nfd() {
                    if !is_combining_mark(d) {
                        out.push(Folded { ch: d, span: (start, end) });
                    }
                }
            } else if k == '\u{30FB}' {
                // The katakana middle dot only separates: drop it.
            } else {
                out.push(Folded { ch: k, span: (start, end) });
            }
        }
    }
    out
}

fn unleet(c: char) -> char {
    match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        '@' => 'a',
        '$' => 's',
        '!' => 'i',
        '|' => 'l',
        other => other,
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '@' || c == '$'
}

/// Shrinks runs of three or more identical characters to `keep` of them.
fn shrink_runs(word: &str, keep: usize) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        let run = if j - i >= 3 { keep } else { j - i };
        out.extend(std::iter::repeat_n(chars[i], run));
        i = j;
    }
    out
}

/// The words of Latin-script `text`, folded, undisguised, with their spans.
pub fn words(text: &str) -> Vec<Token> {
    let folded = fold(text);
    let mut raw: Vec<(String, Range<usize>)> = Vec::new();
    // `!` and `|` stand for letters only inside a word (`sh!t`), not after it.
    let inside = |i: usize| {
        let c = folded[i].ch;
        is_word_char(c)
            || (matches!(c, '!' | '|')
                && i > 0
                && i + 1 < folded.len()
                && is_word_char(folded[i - 1].ch)
                && is_word_char(folded[i + 1].ch))
    };
    let mut i = 0;
    while i < folded.len() {
        if !inside(i) {
            i += 1;
            continue;
        }
        let start = i;
        while i < folded.len() && inside(i) {
            i += 1;
        }
        let word: String = folded[start..i].iter().map(|f| f.ch).collect();
        raw.push((word, folded[start].span.0..folded[i - 1].span.1));
    }
    // Undo leetspeak in words that have letters; leave numbers alone.
    let mut tokens: Vec<Token> = raw
        .into_iter()
        .filter_map(|(word, span)| {
            let text: String =
                if word.chars().any(char::is_alphabetic) { word.chars().map(unleet).collect() } else { word };
            text.chars().any(char::is_alphanumeric).then(|| Token::new(&text, span))
        })
        .collect();
    join_spelled_out(text, &mut tokens);
    tokens
}

/// Joins runs of three or more single letters separated by one separator
/// (`f u c k`, `p.u.t.a`) into one word.
fn join_spelled_out(text: &str, tokens: &mut Vec<Token>) {
    let single = |t: &Token| t.text.chars().count() == 1 && t.text.chars().all(char::is_alphabetic);
    let separated = |a: &Token, b: &Token| {
        text.get(a.span.end..b.span.start)
            .is_some_and(|gap| gap.chars().count() == 1 && gap.chars().all(|c| " .-_*".contains(c)))
    };
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let mut j = i;
        while j < tokens.len() && single(&tokens[j]) && (j == i || separated(&tokens[j - 1], &tokens[j])) {
            j += 1;
        }
        if j - i >= 3 {
            let text = tokens[i..j].iter().map(|t| t.text.as_str()).collect::<String>();
            out.push(Token::new(&text, tokens[i].span.start..tokens[j - 1].span.end));
            i = j;
        } else {
            out.push(tokens[i].clone());
            i += 1;
        }
    }
    *tokens = out;
}

/// CJK text folded into one string without whitespace, with each character's span.
pub fn cjk_string(text: &str) -> (Vec<char>, Vec<Range<usize>>) {
    fold(text).into_iter().filter(|f| !f.ch.is_whitespace()).map(|f| (f.ch, f.span.0..f.span.1)).unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        words(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn folds_case_accents_and_width() {
        assert_eq!(texts("Coño, CABRÓN!"), ["cono", "cabron"]);
        assert_eq!(texts("ＦＵＣＫ"), ["fuck"]);
        assert_eq!(texts("Scheiße"), ["scheisse"]);
    }

    #[test]
    fn undoes_leetspeak_spacing_and_stretching() {
        assert_eq!(texts("5h1t"), ["shit"]);
        assert_eq!(texts("$h!t happens!"), ["shit", "happens"]);
        assert_eq!(texts("f u c k you"), ["fuck", "you"]);
        assert_eq!(texts("p.u.t.a"), ["puta"]);
        assert_eq!(texts("fuuuuuck"), ["fuck"]);
        assert_eq!(words("asssss")[0].doubled, "ass");
        assert_eq!(texts("a b"), ["a", "b"], "two letters are just letters");
        assert_eq!(texts("in 2026"), ["in", "2026"], "numbers stay numbers");
    }

    #[test]
    fn spans_point_at_the_original_bytes() {
        let text = "olá f.u.c.k!";
        let tokens = words(text);
        assert_eq!(&text[tokens[1].span.clone()], "f.u.c.k");
        assert_eq!(&text[tokens[0].span.clone()], "olá");
    }

    #[test]
    fn cjk_drops_spaces_and_folds_half_width_kana() {
        let (chars, spans) = cjk_string("他 妈 的 ｶﾞ");
        assert_eq!(chars.iter().collect::<String>(), "他妈的ガ");
        assert_eq!(spans.len(), 4);
    }
}
