//! The moderation normaliser and masker on arbitrary text in every language:
//! never a panic, spans stay on character boundaries inside the text, and a
//! masked text keeps its length in characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_pipeline::moderate::{Policy, RoomWords, find, moderate, normalize};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for token in normalize::words(text) {
        assert!(token.span.start <= token.span.end && token.span.end <= text.len());
        assert!(text.is_char_boundary(token.span.start) && text.is_char_boundary(token.span.end));
    }
    let room = RoomWords::new(["banana"], ["scunthorpe"]);
    for lang in ["en", "es", "fr", "de", "pt", "ja", "zh"] {
        for range in find(text, lang, &room) {
            assert!(range.end <= text.len() && text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
        }
        let (masked, _) = moderate(text, lang, Policy::Mask, &room);
        if lang != "en" {
            // The built-in lists mask letter for letter (rustrict may rewrite more).
            assert_eq!(masked.chars().count(), text.chars().count(), "masking changed the length");
        }
    }
});
