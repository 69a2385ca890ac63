//! Do-not-translate spans: URLs, `@mentions`, `` `code` `` and emoji pass
//! through translation byte for byte.
//!
//! The text is cut into protected spans and the prose between them; only
//! the prose goes to the provider, and the pieces are put back together in
//! order with their original spacing. This works with every provider,
//! including small offline models that would mangle placeholders.

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Prose to translate.
    Text(&'a str),
    /// Kept exactly as written.
    Keep(&'a str),
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xFE0F | 0x200D | 0xE0020..=0xE007F)
}

/// The length in bytes of a protected span starting at `rest`, if one does.
fn protected_len(rest: &str, at_word_start: bool) -> Option<usize> {
    let first = rest.chars().next()?;
    if first == '`' {
        // Inline code up to the closing backtick (unclosed: to the end).
        return Some(rest[1..].find('`').map_or(rest.len(), |i| i + 2));
    }
    let word_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if at_word_start && (rest.starts_with("http://") || rest.starts_with("https://") || rest.starts_with("www.")) {
        // A URL ends at whitespace, minus trailing sentence punctuation.
        let url = rest[..word_len].trim_end_matches(['.', ',', '!', '?', ')', ';', ':', '"', '\'']);
        return Some(url.len());
    }
    if at_word_start && first == '@' && rest[1..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        let end = rest[1..]
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-')))
            .map_or(rest.len(), |i| i + 1);
        return Some(rest[..end].trim_end_matches(['.', '-']).len());
    }
    if is_emoji(first) {
        let end = rest
            .char_indices()
            .find(|(_, c)| !is_emoji(*c) && !matches!(*c as u32, 0x1F3FB..=0x1F3FF))
            .map_or(rest.len(), |(i, _)| i);
        return Some(end);
    }
    None
}

/// Cuts `text` into prose and protected spans.
pub fn split(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut prose_start = 0;
    let mut i = 0;
    while i < text.len() {
        let at_word_start = i == 0 || text[..i].ends_with(|c: char| c.is_whitespace() || c == '(');
        if let Some(len) = protected_len(&text[i..], at_word_start).filter(|l| *l > 0) {
            if prose_start < i {
                pieces.push(Piece::Text(&text[prose_start..i]));
            }
            pieces.push(Piece::Keep(&text[i..i + len]));
            i += len;
            prose_start = i;
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if prose_start < text.len() {
        pieces.push(Piece::Text(&text[prose_start..]));
    }
    pieces
}

/// Whether a piece of prose has anything to translate (not just spaces and punctuation).
pub fn has_words(text: &str) -> bool {
    text.chars().any(char::is_alphabetic)
}

/// Splits prose into its leading whitespace, its core, and its trailing whitespace.
pub fn trim_parts(text: &str) -> (&str, &str, &str) {
    let core = text.trim();
    let start = text.len() - text.trim_start().len();
    (&text[..start], core, &text[start + core.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use Piece::{Keep, Text};

    #[test]
    fn keeps_urls_mentions_code_and_emoji() {
        assert_eq!(
            split("Look at https://ex.com/a?b=1, @ana_b! Run `cargo test` 👍🏽 ok"),
            vec![
                Text("Look at "),
                Keep("https://ex.com/a?b=1"),
                Text(", "),
                Keep("@ana_b"),
                Text("! Run "),
                Keep("`cargo test`"),
                Text(" "),
                Keep("👍🏽"),
                Text(" ok"),
            ]
        );
    }

    #[test]
    fn plain_text_is_one_piece_and_emails_are_not_mentions() {
        assert_eq!(split("hello there"), vec![Text("hello there")]);
        assert_eq!(split("mail ana@example.com"), vec![Text("mail ana@example.com")]);
        assert_eq!(split(""), vec![]);
    }

    #[test]
    fn splitting_loses_no_byte() {
        for text in ["a `b", "👨‍👩‍👧 family", "(https://x.y) and @z.", "ok ❤️ ok"] {
            let joined: String = split(text)
                .iter()
                .map(|p| match p {
                    Text(t) | Keep(t) => *t,
                })
                .collect();
            assert_eq!(joined, text);
        }
    }

    #[test]
    fn trims_prose_around_its_core() {
        assert_eq!(trim_parts("  hello there \n"), ("  ", "hello there", " \n"));
        assert_eq!(trim_parts("   "), ("   ", "", ""));
    }
}
