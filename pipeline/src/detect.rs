//! Language detection, restricted to the room's languages.
//!
//! Chat messages are short, and no detector is reliable on three words. The
//! steps, cheapest first:
//!
//! 1. A room with one language needs no detection.
//! 2. Script: kana means Japanese. Han characters alone are Chinese or
//!    Japanese; the sender's own language decides when it is one of them.
//! 3. whatlang with an allow-list of the room's languages, when it says its
//!    verdict is reliable.
//! 4. Otherwise lingua (built with only Parley's languages), restricted to
//!    the room's; on short text the sender's language wins unless lingua is
//!    clearly against it.

use std::sync::LazyLock;

use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};
use whatlang::Lang;

/// The language of one message, as an ISO 639-1 code with a confidence in 0..=1.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub lang: String,
    pub confidence: f64,
}

/// Languages with a second opinion from lingua.
const LINGUA: [(&str, Language); 7] = [
    ("en", Language::English),
    ("pt", Language::Portuguese),
    ("es", Language::Spanish),
    ("fr", Language::French),
    ("de", Language::German),
    ("ja", Language::Japanese),
    ("zh", Language::Chinese),
];

static LINGUA_DETECTOR: LazyLock<LanguageDetector> =
    LazyLock::new(|| LanguageDetectorBuilder::from_languages(&LINGUA.map(|(_, l)| l)).build());

/// Text shorter than this many words leans on the sender's declared language.
const SHORT_WORDS: usize = 3;

/// Maps an ISO 639-1 code to whatlang's language, for the languages Parley supports.
pub fn whatlang_lang(code: &str) -> Option<Lang> {
    Some(match code {
        "en" => Lang::Eng,
        "pt" => Lang::Por,
        "es" => Lang::Spa,
        "fr" => Lang::Fra,
        "de" => Lang::Deu,
        "it" => Lang::Ita,
        "nl" => Lang::Nld,
        "ja" => Lang::Jpn,
        "zh" => Lang::Cmn,
        "ru" => Lang::Rus,
        "ko" => Lang::Kor,
        "pl" => Lang::Pol,
        "uk" => Lang::Ukr,
        "tr" => Lang::Tur,
        "ar" => Lang::Ara,
        "hi" => Lang::Hin,
        _ => return None,
    })
}

fn iso_code(lang: Lang) -> Option<&'static str> {
    Some(match lang {
        Lang::Eng => "en",
        Lang::Por => "pt",
        Lang::Spa => "es",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ita => "it",
        Lang::Nld => "nl",
        Lang::Jpn => "ja",
        Lang::Cmn => "zh",
        Lang::Rus => "ru",
        Lang::Kor => "ko",
        Lang::Pol => "pl",
        Lang::Ukr => "uk",
        Lang::Tur => "tr",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        _ => return None,
    })
}

fn is_kana(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F)
}

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

fn found(lang: &str, confidence: f64) -> Option<Detected> {
    Some(Detected { lang: lang.to_owned(), confidence: (confidence * 100.0).round() / 100.0 })
}

/// Detects the language of `text` among `allowed` (ISO 639-1 codes).
///
/// `declared` is the sender's own language, a prior for short or ambiguous
/// text. Returns `None` only when nothing is allowed.
pub fn detect(text: &str, allowed: &[String], declared: Option<&str>) -> Option<Detected> {
    let declared = declared.filter(|d| allowed.iter().any(|a| a == d));
    let fallback = declared.or_else(|| allowed.first().map(String::as_str))?;
    let allows = |code: &str| allowed.iter().any(|a| a == code);
    if allowed.len() == 1 {
        return found(fallback, 1.0);
    }
    // Script first: it is cheap and certain where it applies.
    let (kana, han) = text.chars().fold((0, 0), |(k, h), c| (k + usize::from(is_kana(c)), h + usize::from(is_han(c))));
    if kana > 0 && allows("ja") {
        return found("ja", 0.99);
    }
    if han > 0 && kana == 0 {
        match (allows("ja"), allows("zh")) {
            (true, true) if matches!(declared, Some("ja" | "zh")) => return found(fallback, 0.9),
            (true, false) => return found("ja", 0.9),
            (false, true) => return found("zh", 0.9),
            _ => {}
        }
    }
    // One or two words say too little about their language: the sender's
    // own language is the better guess ("ok", "obrigado!", "link?").
    if let Some(d) = declared
        && han == 0
        && text.split_whitespace().count() < SHORT_WORDS
    {
        return found(d, 0.6);
    }
    let langs: Vec<Lang> = allowed.iter().filter_map(|c| whatlang_lang(c)).collect();
    let whatlang = (langs.len() > 1)
        .then(|| whatlang::Detector::with_allowlist(langs).detect(text))
        .flatten()
        .and_then(|info| Some((iso_code(info.lang())?, info)));
    if let Some((code, info)) = &whatlang
        && info.is_reliable()
    {
        return found(code, info.confidence());
    }
    // A second opinion among the allowed languages lingua knows.
    let candidates: Vec<(&str, Language)> = LINGUA.into_iter().filter(|(code, _)| allows(code)).collect();
    if candidates.len() >= 2 {
        let values = LINGUA_DETECTOR.compute_language_confidence_values(text);
        let mut scored: Vec<(&str, f64)> = candidates
            .iter()
            .map(|(code, lang)| (*code, values.iter().find(|(l, _)| l == lang).map_or(0.0, |(_, v)| *v)))
            .collect();
        let total: f64 = scored.iter().map(|(_, v)| v).sum();
        if total > 0.0 {
            scored.iter_mut().for_each(|(_, v)| *v /= total);
            scored.sort_by(|a, b| b.1.total_cmp(&a.1));
            return found(scored[0].0, scored[0].1);
        }
    }
    match whatlang {
        Some((code, info)) if declared.is_none() || declared == Some(code) => found(code, info.confidence()),
        _ => found(fallback, 0.5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn langs(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn tells_english_from_portuguese() {
        let room = langs(&["en", "pt"]);
        assert_eq!(detect("Can you send me the link?", &room, None).unwrap().lang, "en");
        assert_eq!(detect("Você pode me enviar o link?", &room, None).unwrap().lang, "pt");
    }

    #[test]
    fn short_ambiguous_text_follows_the_sender() {
        let room = langs(&["en", "pt"]);
        assert_eq!(detect("ok", &room, Some("pt")).unwrap().lang, "pt");
        assert_eq!(detect("ok", &room, Some("en")).unwrap().lang, "en");
    }

    #[test]
    fn kanji_only_japanese_stays_japanese_when_the_sender_says_so() {
        let room = langs(&["ja", "zh", "en"]);
        assert_eq!(detect("今日は", &room, Some("ja")).unwrap().lang, "ja");
        assert_eq!(detect("東京大学", &room, Some("ja")).unwrap().lang, "ja");
        assert_eq!(detect("東京大学", &room, Some("zh")).unwrap().lang, "zh");
        assert_eq!(detect("ありがとう", &room, Some("zh")).unwrap().lang, "ja", "kana is Japanese");
    }

    #[test]
    fn a_single_language_room_needs_no_detection() {
        let d = detect("whatever", &langs(&["pt"]), None).unwrap();
        assert_eq!(d, Detected { lang: "pt".into(), confidence: 1.0 });
    }

    #[test]
    fn a_declared_language_outside_the_room_is_ignored() {
        let d = detect("Guten Morgen, wie geht es dir heute?", &langs(&["de", "en"]), Some("fr")).unwrap();
        assert_eq!(d.lang, "de");
    }

    #[test]
    fn nothing_allowed_means_no_answer() {
        assert_eq!(detect("hello", &[], None), None);
    }
}
