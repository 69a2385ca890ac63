//! The pipeline's quality report: detection accuracy, moderation recall and
//! false positives, and translation chrF, measured on Tatoeba sentences.
//!
//! Run it with `cargo run -p parley-pipeline --bin parley-eval`; tests use
//! the same functions to keep the numbers from sliding back.

use std::collections::HashMap;
use std::path::Path;

use crate::detect::detect;
use crate::moderate::{Policy, Reading, RoomWords, moderate};

/// The Tatoeba files per ISO 639-1 code: (file stem, extension).
pub const LANGUAGES: [(&str, &str, &str); 7] = [
    ("en", "spa-eng", "eng"),
    ("es", "spa-eng", "spa"),
    ("fr", "fra-eng", "fra"),
    ("de", "deu-eng", "deu"),
    ("pt", "por-eng", "por"),
    ("ja", "jpn-eng", "jpn"),
    ("zh", "cmn-eng", "cmn"),
];

/// Reads one language's sentences.
///
/// # Errors
/// The file is missing or unreadable.
pub fn sentences(data: &Path, lang: &str) -> std::io::Result<Vec<String>> {
    let (_, stem, ext) = LANGUAGES
        .iter()
        .find(|(code, ..)| *code == lang)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("no data for {lang}")))?;
    let text = std::fs::read_to_string(data.join(format!("{stem}.{ext}")))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
}

fn is_spaceless(lang: &str) -> bool {
    matches!(lang, "ja" | "zh")
}

/// The first `n` words (for Chinese and Japanese, `2n` characters).
fn prefix(sentence: &str, lang: &str, n: usize) -> String {
    if is_spaceless(lang) {
        sentence.chars().filter(|c| c.is_alphanumeric()).take(2 * n).collect()
    } else {
        sentence
            .split_whitespace()
            .take(n)
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Detection accuracy for one language, in percent.
#[derive(Debug, Clone, Copy, Default)]
pub struct DetectionRow {
    pub sentences: f64,
    pub two_words: f64,
    pub one_word: f64,
    /// Sentences, with the sender's language as a prior.
    pub sentences_declared: f64,
    pub one_word_declared: f64,
}

fn accuracy(samples: &[String], lang: &str, allowed: &[String], declared: Option<&str>) -> f64 {
    let samples: Vec<&String> = samples.iter().filter(|s| !s.is_empty()).collect();
    let right = samples.iter().filter(|s| detect(s, allowed, declared).is_some_and(|d| d.lang == lang)).count();
    100.0 * right as f64 / samples.len().max(1) as f64
}

/// Detection among all seven languages, per language.
///
/// # Errors
/// Missing data files.
pub fn detection(data: &Path) -> std::io::Result<Vec<(&'static str, DetectionRow)>> {
    let allowed: Vec<String> = LANGUAGES.iter().map(|(c, ..)| (*c).to_owned()).collect();
    let mut rows = Vec::new();
    for (lang, ..) in LANGUAGES {
        let all = sentences(data, lang)?;
        let two: Vec<String> = all.iter().map(|s| prefix(s, lang, 2)).collect();
        let one: Vec<String> = all.iter().map(|s| prefix(s, lang, 1)).collect();
        rows.push((
            lang,
            DetectionRow {
                sentences: accuracy(&all, lang, &allowed, None),
                two_words: accuracy(&two, lang, &allowed, None),
                one_word: accuracy(&one, lang, &allowed, None),
                sentences_declared: accuracy(&all, lang, &allowed, Some(lang)),
                one_word_declared: accuracy(&one, lang, &allowed, Some(lang)),
            },
        ));
    }
    Ok(rows)
}

/// The sentences of `lang` detected as another language, with that language.
///
/// # Errors
/// Missing data files.
pub fn detection_misses(data: &Path, lang: &str) -> std::io::Result<Vec<(String, String)>> {
    let allowed: Vec<String> = LANGUAGES.iter().map(|(c, ..)| (*c).to_owned()).collect();
    Ok(sentences(data, lang)?
        .into_iter()
        .filter_map(|s| {
            let got = detect(&s, &allowed, None).map(|d| d.lang).unwrap_or_default();
            (got != lang).then_some((s, got))
        })
        .collect())
}

/// Moderation quality for one language.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModerationRow {
    /// Clean sentences flagged, in percent.
    pub false_positives: f64,
    pub clean_sentences: usize,
    /// Listed terms and their evasions caught, in percent.
    pub recall: f64,
    pub variants: usize,
}

/// The disguises a term is tried in.
pub fn evasions(term: &str, lang: &str) -> Vec<String> {
    let mut out = vec![term.to_owned()];
    if is_spaceless(lang) {
        out.push(term.chars().map(|c| c.to_string()).collect::<Vec<_>>().join(" "));
        return out;
    }
    out.push(term.to_uppercase());
    let leet: String = term
        .chars()
        .map(|c| match c {
            'a' => '4',
            'e' => '3',
            'i' => '1',
            'o' => '0',
            's' => '5',
            other => other,
        })
        .collect();
    if leet != term {
        out.push(leet);
    }
    if !term.contains(' ') && term.chars().count() >= 3 {
        out.push(term.chars().map(|c| c.to_string()).collect::<Vec<_>>().join(" "));
        out.push(term.chars().map(|c| c.to_string()).collect::<Vec<_>>().join("."));
        let chars: Vec<char> = term.chars().collect();
        let mid = chars.len() / 2;
        let stretched: String =
            chars[..mid].iter().chain(std::iter::repeat_n(&chars[mid], 4)).chain(&chars[mid + 1..]).collect();
        out.push(stretched);
    }
    out
}

/// Whether a reader of `lang` would get `text` moderated (every list applies).
pub fn flagged(text: &str, lang: &str) -> bool {
    !moderate(text, Reading::own(lang), Policy::Mask, &RoomWords::default()).1.is_clean()
}

/// Moderation per language on Tatoeba: false positives on its clean
/// sentences, read by readers of that language, and (circular, a check of
/// the matcher only) recall on the built-in list's own terms in every
/// disguise of [`evasions`].
///
/// # Errors
/// Missing data files.
pub fn moderation(data: &Path) -> std::io::Result<Vec<(&'static str, ModerationRow)>> {
    let lists = builtin_terms();
    let mut rows = Vec::new();
    for (lang, ..) in LANGUAGES {
        let clean = sentences(data, lang)?;
        let fp = clean.iter().filter(|s| flagged(s, lang)).count();
        let mut variants = 0;
        let mut caught = 0;
        for term in lists.get(lang).into_iter().flatten() {
            for variant in evasions(term, lang) {
                let text = if is_spaceless(lang) { variant } else { format!("ok {variant} ok") };
                variants += 1;
                caught += usize::from(flagged(&text, lang));
            }
        }
        rows.push((
            lang,
            ModerationRow {
                false_positives: 100.0 * fp as f64 / clean.len().max(1) as f64,
                clean_sentences: clean.len(),
                recall: 100.0 * caught as f64 / variants.max(1) as f64,
                variants,
            },
        ));
    }
    Ok(rows)
}

/// The clean Tatoeba sentences of `lang` a reader of `lang` would get moderated.
///
/// # Errors
/// Missing data files.
pub fn moderation_false_positives(data: &Path, lang: &str) -> std::io::Result<Vec<String>> {
    Ok(sentences(data, lang)?.into_iter().filter(|s| flagged(s, lang)).collect())
}

/// One line of a hand-written evaluation set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledLine {
    pub offensive: bool,
    pub text: String,
    /// The writer's category (`insult`, `disguise:leet`, `trap:substring`…).
    pub note: String,
}

/// Reads an evaluation set: `offensive|clean<TAB>text<TAB>note` lines, `#` comments.
///
/// # Errors
/// The file is missing, or a line is not in that form.
pub fn labelled_lines(path: &Path) -> std::io::Result<Vec<LabelledLine>> {
    let bad = |line: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {line}", path.display()));
    let mut out = Vec::new();
    for line in std::fs::read_to_string(path)?.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut columns = line.split('\t');
        let (Some(label), Some(text)) = (columns.next(), columns.next()) else { return Err(bad(line)) };
        let offensive = match label.trim() {
            "offensive" => true,
            "clean" => false,
            _ => return Err(bad(line)),
        };
        out.push(LabelledLine {
            offensive,
            text: text.to_owned(),
            note: columns.next().unwrap_or("").trim().to_owned(),
        });
    }
    Ok(out)
}

/// Moderation measured on hand-written chat lines that the lists were not built from.
#[derive(Debug, Clone, Default)]
pub struct HeldOutRow {
    pub offensive: usize,
    pub caught: usize,
    pub clean: usize,
    /// Clean lines flagged.
    pub flagged: usize,
    /// Offensive lines let through.
    pub misses: Vec<LabelledLine>,
    /// Clean lines flagged.
    pub false_alarms: Vec<LabelledLine>,
}

impl HeldOutRow {
    pub fn recall(&self) -> f64 {
        100.0 * self.caught as f64 / self.offensive.max(1) as f64
    }

    pub fn false_positive_rate(&self) -> f64 {
        100.0 * self.flagged as f64 / self.clean.max(1) as f64
    }
}

/// Recall and false positives per language on the sets in `dir`
/// (`{lang}.tsv`), each line read by a reader of its language.
///
/// # Errors
/// A missing or malformed file.
pub fn moderation_held_out(dir: &Path) -> std::io::Result<Vec<(&'static str, HeldOutRow)>> {
    let mut rows = Vec::new();
    for (lang, ..) in LANGUAGES {
        let mut row = HeldOutRow::default();
        for line in labelled_lines(&dir.join(format!("{lang}.tsv")))? {
            let hit = flagged(&line.text, lang);
            if line.offensive {
                row.offensive += 1;
                row.caught += usize::from(hit);
                if !hit {
                    row.misses.push(line);
                }
            } else {
                row.clean += 1;
                row.flagged += usize::from(hit);
                if hit {
                    row.false_alarms.push(line);
                }
            }
        }
        rows.push((lang, row));
    }
    Ok(rows)
}

/// The built-in terms, as written in the lists, but for the `addressed`
/// ones (an insult only when aimed at someone: "ok stupid ok" is not one).
pub fn builtin_terms() -> HashMap<&'static str, Vec<String>> {
    crate::moderate::lists::BUILTIN_TEXTS
        .iter()
        .map(|(lang, text)| {
            let terms = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.contains("| addressed"))
                .map(|l| l.split_once(" | ").map_or(l, |(term, _)| term).trim().to_owned());
            (*lang, terms.collect())
        })
        .collect()
}

/// chrF (character n-grams up to 6, β = 2) of hypotheses against references, in 0..=100.
pub fn chrf(pairs: &[(String, String)]) -> f64 {
    const N: usize = 6;
    const BETA2: f64 = 4.0;
    let grams = |s: &str, n: usize| -> HashMap<Vec<char>, usize> {
        let chars: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
        let mut counts = HashMap::new();
        for w in chars.windows(n) {
            *counts.entry(w.to_vec()).or_insert(0) += 1;
        }
        counts
    };
    let (mut precision, mut recall) = (0.0, 0.0);
    for n in 1..=N {
        let (mut matched, mut hyp_total, mut ref_total) = (0usize, 0usize, 0usize);
        for (hyp, reference) in pairs {
            let (h, r) = (grams(hyp, n), grams(reference, n));
            matched += h.iter().map(|(g, c)| (*c).min(r.get(g).copied().unwrap_or(0))).sum::<usize>();
            hyp_total += h.values().sum::<usize>();
            ref_total += r.values().sum::<usize>();
        }
        precision += if hyp_total > 0 { matched as f64 / hyp_total as f64 } else { 0.0 };
        recall += if ref_total > 0 { matched as f64 / ref_total as f64 } else { 0.0 };
    }
    let (p, r) = (precision / N as f64, recall / N as f64);
    if p + r == 0.0 { 0.0 } else { 100.0 * (1.0 + BETA2) * p * r / (BETA2 * p + r) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrf_is_100_for_identical_text_and_lower_otherwise() {
        let same = vec![("the cat sat".to_owned(), "the cat sat".to_owned())];
        assert!((chrf(&same) - 100.0).abs() < 1e-9);
        let close = vec![("the cat sat".to_owned(), "the cat sits".to_owned())];
        let far = vec![("dog".to_owned(), "the cat sits".to_owned())];
        assert!(chrf(&close) > chrf(&far));
        assert!(chrf(&close) < 100.0);
    }

    #[test]
    fn prefixes_take_words_or_characters() {
        assert_eq!(prefix("Can you send me the link?", "en", 2), "Can you");
        assert_eq!(prefix("今日は、いい天気です。", "ja", 1), "今日");
    }

    #[test]
    fn evasions_include_the_usual_disguises() {
        let e = evasions("puta", "es");
        for expected in ["puta", "PUTA", "put4", "p u t a", "p.u.t.a", "putttta"] {
            assert!(e.iter().any(|v| v == expected), "{expected} in {e:?}");
        }
    }
}
