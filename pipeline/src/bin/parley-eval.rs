//! `parley-eval`: prints the pipeline's quality report (README, "Quality").
//!
//! Usage: `parley-eval [--misses] [--moderation] [tatoeba-dir] [models-dir]`
//! (defaults: `pipeline/testdata/tatoeba` and `data/models`). The
//! hand-written moderation sets are read from `pipeline/testdata/moderation`
//! (`dev/` and `heldout/`). `--misses` lists what was missed or wrongly
//! flagged (in the development set and on Tatoeba; never in the held-out
//! set, which is only counted); `--moderation` prints the moderation report
//! alone (`--dev`: without the held-out set's totals); `--explain TEXT…`
//! shows which lists' terms each text hits. With `PARLEY_MODERATION_LISTS=dir`
//! the lists are read from `dir` instead of the built-in ones.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use parley_pipeline::eval;
use parley_pipeline::translate::{FirefoxTranslator, Translator};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: parley-eval [--misses] [--moderation] [--dev] [tatoeba-dir] [models-dir]");
        println!("       parley-eval --explain TEXT…");
        return Ok(());
    }
    if let Some(i) = args.iter().position(|a| a == "--explain") {
        // Which lists' terms a text hits (for curating the lists).
        for text in &args[i + 1..] {
            println!("{text}: {:?}", parley_pipeline::moderate::explain(text));
        }
        return Ok(());
    }
    let misses = args.iter().position(|a| a == "--misses").map(|i| args.remove(i));
    let moderation_only = args.iter().position(|a| a == "--moderation").map(|i| args.remove(i)).is_some();
    let dev_only = args.iter().position(|a| a == "--dev").map(|i| args.remove(i)).is_some();
    let mut args = args.into_iter();
    let data = PathBuf::from(args.next().unwrap_or_else(|| "pipeline/testdata/tatoeba".into()));
    let models = PathBuf::from(args.next().unwrap_or_else(|| "data/models".into()));

    moderation_report(&data, misses.is_some(), dev_only)?;
    if moderation_only {
        return Ok(());
    }
    println!("\nDetection accuracy (%), 7 candidate languages, Tatoeba ({})", data.display());
    println!("| lang | sentences | first 2 words | 1 word | sentences + sender's lang | 1 word + sender's lang |");
    println!("|---|---|---|---|---|---|");
    let started = Instant::now();
    let rows = eval::detection(&data).with_context(|| format!("reading {}", data.display()))?;
    for (lang, r) in &rows {
        println!(
            "| {lang} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            r.sentences, r.two_words, r.one_word, r.sentences_declared, r.one_word_declared
        );
    }
    if misses.is_some() {
        for (lang, ..) in eval::LANGUAGES {
            for (sentence, got) in eval::detection_misses(&data, lang)? {
                println!("  {lang} sentence detected as {got}: {sentence}");
            }
        }
    }
    let mean = rows.iter().map(|(_, r)| r.sentences).sum::<f64>() / rows.len() as f64;
    println!("mean on sentences: {mean:.1} % ({:.1} s)\n", started.elapsed().as_secs_f64());

    println!(
        "\nTranslation chrF, firefox provider, every installed pair with Tatoeba sentences ({})",
        models.display()
    );
    let translator = FirefoxTranslator::load(&models).map_err(anyhow::Error::msg)?;
    let pairs = translator.pairs();
    if pairs.is_empty() {
        println!("no model installed in {}", models.display());
    }
    for (from, to) in &pairs {
        match parallel(&data, from, to) {
            Some((sources, references)) => chrf_row(&translator, from, to, &sources, &references).await,
            None => println!("{from}→{to}: no parallel Tatoeba sentences in {}", data.display()),
        }
    }
    Ok(())
}

/// Tatoeba's `{iso3}-eng` files for a pair with English, as (sources, references).
fn parallel(data: &std::path::Path, from: &str, to: &str) -> Option<(Vec<String>, Vec<String>)> {
    let iso3 = |lang: &str| {
        Some(match lang {
            "pt" => "por",
            "es" => "spa",
            "fr" => "fra",
            "de" => "deu",
            "ja" => "jpn",
            "zh" => "cmn",
            _ => return None,
        })
    };
    let (other, other_first) = match (from, to) {
        ("en", other) => (iso3(other)?, false),
        (other, "en") => (iso3(other)?, true),
        _ => return None,
    };
    let read = |ext: &str| -> Option<Vec<String>> {
        Some(
            std::fs::read_to_string(data.join(format!("{other}-eng.{ext}"))).ok()?.lines().map(str::to_owned).collect(),
        )
    };
    let (eng, theirs) = (read("eng")?, read(other)?);
    Some(if other_first { (theirs, eng) } else { (eng, theirs) })
}

async fn chrf_row(translator: &FirefoxTranslator, from: &str, to: &str, sources: &[String], references: &[String]) {
    let started = Instant::now();
    let mut pairs = Vec::new();
    for (source, reference) in sources.iter().zip(references) {
        match translator.translate(source, from, to).await {
            Ok(hypothesis) => pairs.push((hypothesis, reference.clone())),
            Err(e) => {
                println!("{from}→{to}: {e}");
                return;
            }
        }
    }
    if !pairs.is_empty() {
        let per = started.elapsed().as_secs_f64() * 1000.0 / pairs.len() as f64;
        println!("{from}→{to}: chrF {:.1} on {} sentences ({per:.1} ms each)", eval::chrf(&pairs), pairs.len());
    }
}

/// Recall and false positives on the hand-written sets, and false positives
/// on the clean Tatoeba sentences, per language; every list applies to every
/// line, read by a reader of the line's language.
fn moderation_report(data: &std::path::Path, misses: bool, dev_only: bool) -> anyhow::Result<()> {
    let sets = std::path::Path::new("pipeline/testdata/moderation");
    for (name, what) in [
        ("heldout", "held out: written apart from the lists and never used to tune them"),
        ("dev", "development: written apart from the lists, used to find their gaps"),
        ("dev2", "second development set: written apart from the lists and the first, used likewise"),
        ("dev3", "third development set: written apart from the lists and the others, used likewise"),
    ] {
        if dev_only && !name.starts_with("dev") {
            continue;
        }
        let dir = sets.join(name);
        println!("Moderation on hand-written chat lines, {what} ({})", dir.display());
        println!("| lang | recall | offensive lines | clean lines flagged | clean lines |");
        println!("|---|---|---|---|---|");
        let rows = eval::moderation_held_out(&dir).with_context(|| format!("reading {}", dir.display()))?;
        for (lang, row) in &rows {
            println!(
                "| {lang} | {:.1} % | {} | {:.1} % ({}) | {} |",
                row.recall(),
                row.offensive,
                row.false_positive_rate(),
                row.flagged,
                row.clean
            );
        }
        // The held-out set's lines stay unread: only its totals are shown.
        if misses && name.starts_with("dev") {
            for (lang, row) in &rows {
                for line in &row.misses {
                    println!("  {lang} missed [{}]: {}", line.note, line.text);
                }
                for line in &row.false_alarms {
                    println!("  {lang} flagged [{}]: {}", line.note, line.text);
                }
            }
        }
        println!();
    }
    println!(
        "Moderation on the clean Tatoeba sentences ({}); recall on the lists' own terms in disguise",
        data.display()
    );
    println!("(that recall is circular: a check of the matcher, not of the lists)");
    println!("| lang | clean sentences flagged | clean sentences | recall on own terms | terms × disguises |");
    println!("|---|---|---|---|---|");
    for (lang, r) in eval::moderation(data)? {
        println!(
            "| {lang} | {:.2} % | {} | {:.1} % | {} |",
            r.false_positives, r.clean_sentences, r.recall, r.variants
        );
        if misses {
            for sentence in eval::moderation_false_positives(data, lang)? {
                println!("  {lang} flagged: {sentence}");
            }
        }
    }
    Ok(())
}
