//! `cargo bench -p parley-pipeline`: CPU per message of detection and
//! moderation (no translation), on Tatoeba sentences in seven languages.
//!
//! A plain timing loop (no benchmark framework): each stage runs over every
//! sentence several times and the mean time per message is printed.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use parley_pipeline::detect::detect;
use parley_pipeline::eval::{LANGUAGES, sentences};
use parley_pipeline::moderate::{Policy, Reading, RoomWords, moderate};

const ROUNDS: usize = 5;

fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/tatoeba");
    let mut corpus = Vec::new();
    for (lang, ..) in LANGUAGES {
        for s in sentences(&data, lang).unwrap_or_default() {
            corpus.push((lang, s));
        }
    }
    assert!(!corpus.is_empty(), "no sentences under {}", data.display());
    let room_pair: Vec<String> = vec!["en".into(), "pt".into()];
    let all: Vec<String> = LANGUAGES.iter().map(|(c, ..)| (*c).to_owned()).collect();
    let words = RoomWords::default();
    // Warm up lazily built detectors and word lists.
    let _ = detect("warm up", &all, None);
    let _ = moderate("warm up", Reading::own("en"), Policy::Mask, &words);

    let time = |label: &str, f: &dyn Fn(&str, &str)| {
        let started = Instant::now();
        for _ in 0..ROUNDS {
            for (lang, s) in &corpus {
                f(lang, s);
            }
        }
        let per = started.elapsed().as_secs_f64() * 1e6 / (ROUNDS * corpus.len()) as f64;
        println!("{label:<48} {per:>8.1} µs per message");
    };
    println!("{} sentences × {ROUNDS} rounds", corpus.len());
    time("detect among 2 languages (en, pt)", &|_, s| {
        black_box(detect(s, &room_pair, None));
    });
    time("detect among 7 languages", &|_, s| {
        black_box(detect(s, &all, None));
    });
    time("moderate (every list)", &|lang, s| {
        black_box(moderate(s, Reading::own(lang), Policy::Mask, &words));
    });
    // Long numbers once cost rustrict 225 µs per message; kept as a guard.
    time("moderate, with a 19-digit number in each", &|lang, s| {
        black_box(moderate(&format!("1764432000123456789 {s}"), Reading::own(lang), Policy::Mask, &words));
    });
    time("detect (7) + moderate", &|lang, s| {
        let d = detect(s, &all, None);
        black_box(moderate(s, Reading::own(d.as_ref().map_or(lang, |d| d.lang.as_str())), Policy::Mask, &words));
    });
    // What the pipeline does per message in a room read in three languages
    // (translation aside): the source for its own readers, then the
    // original again for each of the two other readers.
    time("detect (7) + moderate for 3 readers", &|lang, s| {
        let d = detect(s, &all, None);
        let written = d.as_ref().map_or(lang, |d| d.lang.as_str());
        black_box(moderate(s, Reading::own(written), Policy::Mask, &words));
        for reader in ["en", "pt", "es"].into_iter().filter(|r| *r != written).take(2) {
            black_box(moderate(s, Reading::own(reader), Policy::Mask, &words));
        }
    });
}
