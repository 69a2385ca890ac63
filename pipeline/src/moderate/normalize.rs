//! Text normalisation for matching offensive words through the usual disguises.
//!
//! Every character is folded (NFKC, lower case, accents dropped from Latin
//! letters, Cyrillic and Greek look-alikes read as the Latin letters they
//! imitate, invisible characters dropped) while remembering which bytes of
//! the original it came from, so a match can be masked in the original text.
//! Alphabetic text is cut into words, with leetspeak undone (`5h1t`), letters
//! spelled out with separators joined (`f.u.c.k`, `f - u - c - k`), words cut
//! by one punctuation mark rejoined (`fu.ck`), asterisks inside a word kept
//! as wildcards (`f*ck`) and stretched letters shrunk (`fuuuck`). CJK and
//! Hangul text is matched as a string with its spaces removed.
//!
//! Terms go through the same folding, so a look-alike mapping that turns a
//! Russian word into a mix of Latin and Cyrillic letters does so on both
//! sides and they still meet.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

/// One folded character and the original bytes it stands for.
#[derive(Debug, Clone, Copy)]
struct Folded {
    ch: char,
    span: (usize, usize),
}

/// A word of alphabetic text, folded, with its span in the original.
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

    /// Whether this word holds an asterisk standing for a letter (`f*ck`).
    pub fn has_wildcard(&self) -> bool {
        self.text.contains('*')
    }
}

fn is_latin(c: char) -> bool {
    (c as u32) <= 0x024F || (0x1E00..=0x1EFF).contains(&(c as u32))
}

/// Characters matched as strings rather than words: CJK ideographs, kana,
/// Hangul, and their punctuation.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F
        | 0x31F0..=0x31FF | 0xFF66..=0xFF9F | 0x20000..=0x2FA1F)
}

/// Invisible characters that only serve to split a word for a filter's eyes:
/// zero-width spaces and joiners, word joiners, the byte-order mark, soft
/// hyphens, the combining grapheme joiner, directional marks.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x0640 // Arabic tatweel, which only stretches a word
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xE0000..=0xE007F)
}

/// The Latin letter a Cyrillic or Greek letter (lower case) imitates, if any.
fn look_alike(c: char) -> Option<char> {
    Some(match c {
        // Cyrillic.
        'а' => 'a',
        'в' => 'b',
        'е' | 'ё' | 'є' => 'e',
        'і' | 'ї' => 'i',
        'ј' => 'j',
        'к' => 'k',
        'м' => 'm',
        'н' => 'h',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'т' => 't',
        'у' => 'y',
        'х' => 'x',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ӏ' => 'l',
        'ԛ' => 'q',
        'ԝ' => 'w',
        // Greek.
        'α' => 'a',
        'β' => 'b',
        'ε' => 'e',
        'η' => 'n',
        'ι' => 'i',
        'κ' => 'k',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'τ' => 't',
        'υ' => 'u',
        'χ' => 'x',
        'ω' => 'w',
        'ς' => 'c',
        // Arabic letters written either way: hamza-carrying alefs, alef
        // maqsura and ta marbuta fold to their plain forms.
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ى' => 'ي',
        'ة' => 'ه',
        // Latin letters that stand in for others.
        'ı' => 'i',
        'ɑ' => 'a',
        'ɡ' => 'g',
        'ɩ' => 'i',
        'ʟ' => 'l',
        _ => return None,
    })
}

/// Folds `text` character by character, keeping the original spans.
fn fold(text: &str) -> Vec<Folded> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if is_invisible(c) {
            continue;
        }
        // Keep a base character together with the marks that modify it
        // (combining accents, half-width voicing marks).
        let mut end = start + c.len_utf8();
        let mut cluster = String::from(c);
        while let Some(&(i, next)) = chars.peek() {
            if is_invisible(next) {
                chars.next();
            } else if is_combining_mark(next) || matches!(next, '\u{FF9E}' | '\u{FF9F}') {
                cluster.push(next);
                end = i + next.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        for k in cluster.nfkc().flat_map(char::to_lowercase) {
            let k = look_alike(k).unwrap_or(k);
            if k == 'ß' {
                out.extend([Folded { ch: 's', span: (start, end) }, Folded { ch: 's', span: (start, end) }]);
            } else if is_latin(k) {
                for d in k.to_string().nfd() {
                    if !is_combining_mark(d) {
                        out.push(Folded { ch: look_alike(d).unwrap_or(d), span: (start, end) });
                    }
                }
            } else if k == '\u{30FB}' || is_invisible(k) {
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
        '8' => 'b',
        '9' => 'g',
        '@' => 'a',
        '$' => 's',
        '€' => 'e',
        '¢' => 'c',
        '!' => 'i',
        '|' => 'l',
        other => other,
    }
}

/// Letters, digits and the marks that belong to them (a Devanagari virama
/// or nukta, Arabic vowel signs: inside a word, not between two).
fn is_word_char(c: char) -> bool {
    ((c.is_alphanumeric() || is_combining_mark(c)) && !is_cjk(c)) || matches!(c, '@' | '$' | '€' | '¢')
}

/// Characters that stand for a letter only inside a word (`sh!t`, `f*ck`).
fn is_inner_char(c: char) -> bool {
    matches!(c, '!' | '|' | '*')
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

/// The words of `text` (every script but CJK), folded, undisguised, with their spans.
pub fn words(text: &str) -> Vec<Token> {
    let folded = fold(text);
    let n = folded.len();
    // Whether position `i` continues a word: word characters, and runs of
    // `!`, `|` or `*` with a word character on both sides.
    let mut inside: Vec<bool> = folded.iter().map(|f| is_word_char(f.ch)).collect();
    let mut i = 0;
    while i < n {
        if is_inner_char(folded[i].ch) {
            let start = i;
            while i < n && is_inner_char(folded[i].ch) {
                i += 1;
            }
            let framed = start > 0 && i < n && inside[start - 1] && is_word_char(folded[i].ch);
            if framed {
                inside[start..i].fill(true);
            }
        } else {
            i += 1;
        }
    }
    let mut raw: Vec<(String, Range<usize>)> = Vec::new();
    let mut i = 0;
    while i < n {
        if !inside[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && inside[i] {
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

/// Separators between spelled-out letters (`f.u.c.k`, `f - u - c - k`).
fn is_letter_separator(c: char) -> bool {
    c.is_whitespace() || ".-_*·•/|~+,:".contains(c)
}

/// Joins runs of three or more single letters separated by at most three
/// separator characters (`f u c k`, `p.u.t.a`, `f - u - c - k`) into one word.
fn join_spelled_out(text: &str, tokens: &mut Vec<Token>) {
    let single = |t: &Token| t.text.chars().count() == 1 && t.text.chars().all(char::is_alphabetic);
    let separated = |a: &Token, b: &Token| {
        text.get(a.span.end..b.span.start).is_some_and(|gap| {
            let visible: Vec<char> = gap.chars().filter(|c| !is_invisible(*c)).collect();
            (1..=3).contains(&visible.len()) && visible.iter().all(|c| is_letter_separator(*c))
        })
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

/// Words cut by one punctuation mark inside them (`fu.ck`, `sh-it`,
/// `b'itch`): the two or three pieces glued back, when a piece is short
/// enough to be a fragment (at most three letters). Matched only as whole
/// words, never as prefixes, so "e-mail" stays harmless.
pub fn rejoined(text: &str, tokens: &[Token]) -> Vec<Token> {
    let glued = |a: &Token, b: &Token| {
        text.get(a.span.end..b.span.start).is_some_and(|gap| {
            let visible: Vec<char> = gap.chars().filter(|c| !is_invisible(*c)).collect();
            visible.len() == 1 && ".-_'’·,:/".contains(visible[0])
        })
    };
    let short = |t: &Token| t.text.chars().count() <= 3;
    let mut out = Vec::new();
    for i in 0..tokens.len() {
        for len in 2..=3 {
            let Some(parts) = tokens.get(i..i + len) else { break };
            if !parts.windows(2).all(|w| glued(&w[0], &w[1])) || !parts.iter().any(short) {
                break;
            }
            let word: String = parts.iter().map(|t| t.text.as_str()).collect();
            out.push(Token::new(&word, parts[0].span.start..parts[len - 1].span.end));
        }
    }
    out
}

/// Marks dropped from CJK text when they stand between two characters:
/// they only split a word for a filter's eyes (`傻*逼`, `操.你.妈`, `バ＊カ`,
/// full-width forms folded to these first).
fn is_cjk_separator(c: char) -> bool {
    "*.-_/~·•|+^`'\"\u{30FB}".contains(c)
}

/// CJK text folded into one string without whitespace and the marks that
/// only split a word, with runs of three or more identical characters shrunk
/// to one (`バーーーーカ` → `バーカ`), and each character's span.
pub fn cjk_string(text: &str) -> (Vec<char>, Vec<Range<usize>>) {
    let folded: Vec<Folded> = fold(text).into_iter().filter(|f| !f.ch.is_whitespace()).collect();
    let mut out: Vec<(char, Range<usize>)> = Vec::with_capacity(folded.len());
    let mut i = 0;
    while i < folded.len() {
        let c = folded[i].ch;
        if is_cjk_separator(c) {
            // Dropped between two CJK characters; kept anywhere else.
            let mut j = i;
            while j < folded.len() && is_cjk_separator(folded[j].ch) {
                j += 1;
            }
            let framed = out.last().is_some_and(|(p, _)| is_cjk(*p)) && folded.get(j).is_some_and(|f| is_cjk(f.ch));
            if !framed {
                out.extend(folded[i..j].iter().map(|f| (f.ch, f.span.0..f.span.1)));
            }
            i = j;
            continue;
        }
        let mut j = i;
        while j < folded.len() && folded[j].ch == c {
            j += 1;
        }
        let keep = if j - i >= 3 { 1 } else { j - i };
        out.extend(folded[i..i + keep].iter().map(|f| (f.ch, f.span.0..f.span.1)));
        // The dropped repeats belong to the kept one, so a mask covers them.
        if keep < j - i
            && let Some((_, span)) = out.last_mut()
        {
            span.end = folded[j - 1].span.1;
        }
        i = j;
    }
    out.into_iter().unzip()
}

/// A term or word folded as text is: its words, or its CJK characters.
pub fn fold_term(term: &str) -> String {
    fold(term).into_iter().map(|f| f.ch).collect()
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
        assert_eq!(texts("f - u - c - k"), ["fuck"]);
        assert_eq!(texts("fuuuuuck"), ["fuck"]);
        assert_eq!(words("asssss")[0].doubled, "ass");
        assert_eq!(texts("a b"), ["a", "b"], "two letters are just letters");
        assert_eq!(texts("in 2026"), ["in", "2026"], "numbers stay numbers");
        assert_eq!(texts("8itch"), ["bitch"]);
    }

    #[test]
    fn sees_through_look_alikes_and_invisible_characters() {
        // Cyrillic о and с, Greek α.
        assert_eq!(texts("fuсk yоu"), ["fuck", "you"]);
        assert_eq!(texts("bαstard"), ["bastard"]);
        assert_eq!(texts("fu\u{200B}ck sh\u{00AD}it b\u{2060}i\u{FEFF}tch"), ["fuck", "shit", "bitch"]);
        // Russian folds the same way on both sides.
        assert_eq!(texts("СУКА"), texts("сука"));
    }

    #[test]
    fn keeps_marks_inside_words_and_folds_arabic_spellings() {
        // A Devanagari word with a virama and a nukta stays one word.
        assert_eq!(texts("भोसड़ीके").len(), 1);
        assert_eq!(texts("कुत्ता"), ["कुत्ता"]);
        assert_eq!(texts("أحمق"), texts("احمق"));
        assert_eq!(texts("كـلـب"), texts("كلب"), "tatweel only stretches");
    }

    #[test]
    fn keeps_asterisks_inside_words_as_wildcards() {
        assert_eq!(texts("f*ck off"), ["f*ck", "off"]);
        assert_eq!(texts("f**k"), ["f**k"]);
        assert_eq!(texts("you are a *****"), ["you", "are", "a"], "a masked word is no word");
        assert_eq!(texts("f*** this"), ["f", "this"]);
    }

    #[test]
    fn rejoins_words_cut_by_one_mark() {
        let text = "fu.ck that sh-it, e-mail me";
        let glued: Vec<String> = rejoined(text, &words(text)).into_iter().map(|t| t.text).collect();
        assert_eq!(glued, ["fuck", "shit", "email"]);
        let text = "well-known long-term";
        assert!(rejoined(text, &words(text)).is_empty(), "long pieces are words of their own");
    }

    #[test]
    fn spans_point_at_the_original_bytes() {
        let text = "olá f.u.c.k!";
        let tokens = words(text);
        assert_eq!(&text[tokens[1].span.clone()], "f.u.c.k");
        assert_eq!(&text[tokens[0].span.clone()], "olá");
        let text = "a fu\u{200B}ck";
        assert_eq!(&text[words(text)[1].span.clone()], "fu\u{200B}ck");
    }

    #[test]
    fn cjk_drops_spaces_and_folds_half_width_kana() {
        let (chars, spans) = cjk_string("他 妈 的 ｶﾞ");
        assert_eq!(chars.iter().collect::<String>(), "他妈的ガ");
        assert_eq!(spans.len(), 4);
        let (chars, _) = cjk_string("바\u{200B}보");
        assert_eq!(chars.iter().collect::<String>(), "바보");
        let (chars, _) = cjk_string("傻*逼 操.你.妈 バ＊カ バーーーーカ");
        assert_eq!(chars.iter().collect::<String>(), "傻逼操你妈バカバーカ");
        let (chars, _) = cjk_string("3.5 mm, a-b");
        assert_eq!(chars.iter().collect::<String>(), "3.5mm,a-b", "marks between other characters stay");
    }
}
