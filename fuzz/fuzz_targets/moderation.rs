//! The moderation normaliser, matcher and masker on arbitrary text in every
//! language: never a panic, spans stay on character boundaries inside the
//! text, and a masked text keeps its length in characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_pipeline::moderate::lists::LANGUAGES;
use parley_pipeline::moderate::{Policy, Reading, RoomWords, find, moderate, normalize};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let spans = normalize::words(text).into_iter().map(|t| t.span).chain(normalize::cjk_string(text).1);
    for span in spans {
        assert!(span.start <= span.end && span.end <= text.len());
        assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
    }
    let room = RoomWords::new(["banana"], ["scunthorpe"]);
    let readings = LANGUAGES.iter().map(|lang| Reading::own(lang)).chain([Reading::everyone()]);
    for reading in readings {
        for range in find(text, reading, &room) {
            assert!(range.end <= text.len() && text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
        }
        let (masked, _) = moderate(text, reading, Policy::Mask, &room);
        assert_eq!(masked.chars().count(), text.chars().count(), "masking changed the length");
    }
});
