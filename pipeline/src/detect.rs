//! Language detection: whatlang restricted to the room's languages.
//!
//! Chat messages are short, and whatlang on its own confuses close languages
//! on a few words; restricting it to the languages the room actually uses
//! removes most of those errors. When the text is too short or ambiguous to
//! judge, the sender's declared language (if any) wins.

use whatlang::{Detector, Lang};

/// The language of one message, as an ISO 639-1 code with a confidence in 0..=1.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub lang: String,
    pub confidence: f64,
}

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

/// Detects the language of `text` among `allowed` (ISO 639-1 codes).
///
/// `declared` is the sender's own language, used when whatlang cannot decide.
/// Returns `None` only when nothing is allowed.
pub fn detect(text: &str, allowed: &[String], declared: Option<&str>) -> Option<Detected> {
    let langs: Vec<Lang> = allowed.iter().filter_map(|c| whatlang_lang(c)).collect();
    let fallback =
        declared.filter(|d| allowed.iter().any(|a| a == d)).or_else(|| allowed.first().map(String::as_str))?;
    if langs.len() == 1 {
        return Some(Detected { lang: fallback.to_owned(), confidence: 1.0 });
    }
    let found = if langs.is_empty() { None } else { Detector::with_allowlist(langs).detect(text) };
    match found.and_then(|info| Some((iso_code(info.lang())?, info))) {
        Some((code, info)) if info.is_reliable() || declared.is_none() => {
            Some(Detected { lang: code.to_owned(), confidence: round2(info.confidence()) })
        }
        Some((code, info)) if code == fallback => {
            Some(Detected { lang: code.to_owned(), confidence: round2(info.confidence()) })
        }
        // Unreliable and disagreeing with the sender: trust the sender.
        _ => Some(Detected { lang: fallback.to_owned(), confidence: 0.5 }),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
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
    fn a_single_language_room_needs_no_detection() {
        let d = detect("whatever", &langs(&["pt"]), None).unwrap();
        assert_eq!(d, Detected { lang: "pt".into(), confidence: 1.0 });
    }

    #[test]
    fn nothing_allowed_means_no_answer() {
        assert_eq!(detect("hello", &[], None), None);
    }
}
