//! `parley-eval`: prints the pipeline's quality report (README, "Quality").
//!
//! Usage: `parley-eval [tatoeba-dir] [models-dir]` (defaults:
//! `pipeline/testdata/tatoeba` and `data/models`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use parley_pipeline::eval;
use parley_pipeline::translate::{FirefoxTranslator, Translator};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let misses = args.iter().position(|a| a == "--misses").map(|i| args.remove(i));
    let mut args = args.into_iter();
    let data = PathBuf::from(args.next().unwrap_or_else(|| "pipeline/testdata/tatoeba".into()));
    let models = PathBuf::from(args.next().unwrap_or_else(|| "data/models".into()));

    println!("Detection accuracy (%), 7 candidate languages, Tatoeba ({})", data.display());
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

    println!("Moderation: false positives on clean sentences, recall on list terms with evasions");
    println!("| lang | false positives | clean sentences | recall | terms × evasions |");
    println!("|---|---|---|---|---|");
    for (lang, r) in eval::moderation(&data)? {
        println!(
            "| {lang} | {:.2} % | {} | {:.1} % | {} |",
            r.false_positives, r.clean_sentences, r.recall, r.variants
        );
    }

    println!("\nTranslation chrF, firefox provider ({})", models.display());
    let translator = FirefoxTranslator::load(&models).map_err(anyhow::Error::msg)?;
    let en = eval::sentences(&data, "en").ok();
    let en_pt = std::fs::read_to_string(data.join("por-eng.eng")).ok();
    let pt = eval::sentences(&data, "pt").ok();
    match (en_pt, pt, en) {
        (Some(eng), Some(por), Some(_)) => {
            let eng: Vec<String> = eng.lines().map(str::to_owned).collect();
            for (from, to, sources, references) in [("pt", "en", &por, &eng), ("en", "pt", &eng, &por)] {
                let started = Instant::now();
                let mut pairs = Vec::new();
                for (source, reference) in sources.iter().zip(references.iter()) {
                    match translator.translate(source, from, to).await {
                        Ok(hypothesis) => pairs.push((hypothesis, reference.clone())),
                        Err(e) => {
                            println!("{from}→{to}: {e}");
                            break;
                        }
                    }
                }
                if !pairs.is_empty() {
                    let per = started.elapsed().as_secs_f64() * 1000.0 / pairs.len() as f64;
                    println!(
                        "{from}→{to}: chrF {:.1} on {} sentences ({per:.1} ms each)",
                        eval::chrf(&pairs),
                        pairs.len()
                    );
                }
            }
        }
        _ => println!("no pt/en data"),
    }
    Ok(())
}
