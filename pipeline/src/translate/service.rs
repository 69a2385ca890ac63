//! The translation service the pipeline uses: providers in failover order,
//! each behind a circuit breaker, a cache in front, and do-not-translate
//! spans kept out of the providers' hands.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lru::LruCache;
use tokio::time::Instant;

use super::spans::{Piece, has_words, split, trim_parts};
use super::{TranslateError, Translator};

pub use parley_api::Coverage;

/// A finished translation and who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    pub text: String,
    pub provider: &'static str,
    /// Characters sent to a provider for it (cache hits cost nothing).
    pub billed_chars: usize,
}

/// Consecutive failures that open a provider's breaker.
pub const BREAKER_THRESHOLD: u32 = 3;

/// Opens after repeated failures so a dead provider is skipped at once,
/// then lets one trial call through after a cool-down.
#[derive(Debug)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

impl Breaker {
    fn allows(&self, now: Instant) -> bool {
        self.open_until.is_none_or(|until| now >= until)
    }

    fn success(&mut self) {
        self.failures = 0;
        self.open_until = None;
    }

    fn failure(&mut self, now: Instant, cooldown: Duration) {
        self.failures += 1;
        if self.failures >= BREAKER_THRESHOLD {
            self.open_until = Some(now + cooldown);
        }
    }
}

struct Provider {
    translator: Arc<dyn Translator>,
    breaker: Mutex<Breaker>,
}

type CacheKey = (&'static str, String, String, String);

/// The least recently used translations (none when `cache_entries` is 0).
type Cache = Option<Mutex<LruCache<CacheKey, String>>>;

/// Tuning for [`TranslationService`].
#[derive(Debug, Clone, Copy)]
pub struct ServiceOptions {
    /// How long one provider call may take before the next provider is tried.
    pub timeout: Duration,
    /// How long an open breaker skips its provider.
    pub cooldown: Duration,
    /// Translations remembered.
    pub cache_entries: usize,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(5), cooldown: Duration::from_secs(30), cache_entries: 10_000 }
    }
}

/// Cache and provider counters, for `/metrics`.
#[derive(Debug, Default)]
pub struct ServiceStats {
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub provider_failures: AtomicU64,
    pub characters_translated: AtomicU64,
}

/// Providers in failover order behind one `translate`.
pub struct TranslationService {
    providers: Vec<Provider>,
    cache: Cache,
    options: ServiceOptions,
    pub stats: ServiceStats,
}

impl TranslationService {
    pub fn new(providers: Vec<Arc<dyn Translator>>, options: ServiceOptions) -> Self {
        let providers = providers
            .into_iter()
            .map(|translator| Provider { translator, breaker: Mutex::new(Breaker { failures: 0, open_until: None }) })
            .collect();
        let cache = NonZeroUsize::new(options.cache_entries).map(|n| Mutex::new(LruCache::new(n)));
        Self { providers, cache, options, stats: ServiceStats::default() }
    }

    /// The providers' names, in failover order.
    pub fn provider_names(&self) -> Vec<&'static str> {
        self.providers.iter().map(|p| p.translator.name()).collect()
    }

    /// How `to` readers get text written in each of `languages`: the first
    /// provider (in failover order) that reaches the pair, and whether offline.
    pub fn coverage(&self, languages: &[String], to: &str) -> Coverage {
        let mut coverage = Coverage { offline: true, providers: Vec::new(), missing: Vec::new() };
        for from in languages.iter().filter(|l| l.as_str() != to) {
            let reached = self.providers.iter().find_map(|p| match p.translator.reaches(from, to) {
                super::Reach::No => None,
                reach => Some((p.translator.name(), reach == super::Reach::Offline)),
            });
            match reached {
                Some((name, offline)) => {
                    coverage.offline &= offline;
                    if !coverage.providers.iter().any(|p| p == name) {
                        coverage.providers.push(name.to_owned());
                    }
                }
                None => coverage.missing.push(from.clone()),
            }
        }
        coverage.offline &= coverage.missing.is_empty();
        coverage
    }

    /// Each provider's name and whether its breaker lets calls through now.
    pub fn provider_health(&self) -> Vec<(&'static str, bool)> {
        let now = Instant::now();
        self.providers
            .iter()
            .map(|p| (p.translator.name(), p.breaker.lock().map(|b| b.allows(now)).unwrap_or(true)))
            .collect()
    }

    /// Translates `text`, keeping URLs, mentions, code and emoji byte-exact.
    ///
    /// # Errors
    /// [`TranslateError::UnsupportedPair`] when no provider has the pair;
    /// otherwise the last provider's failure when all of them failed.
    pub async fn translate(&self, text: &str, from: &str, to: &str) -> Result<Translation, TranslateError> {
        let mut out = String::with_capacity(text.len() + text.len() / 4);
        let mut provider = self.providers.first().map_or("none", |p| p.translator.name());
        let mut billed_chars = 0;
        for piece in split(text) {
            match piece {
                Piece::Keep(kept) => out.push_str(kept),
                Piece::Text(prose) if !has_words(prose) => out.push_str(prose),
                Piece::Text(prose) => {
                    let (lead, core, trail) = trim_parts(prose);
                    let done = self.translate_core(core, from, to).await?;
                    provider = done.provider;
                    billed_chars += done.billed_chars;
                    out.push_str(lead);
                    out.push_str(&done.text);
                    out.push_str(trail);
                }
            }
        }
        Ok(Translation { text: out, provider, billed_chars })
    }

    async fn translate_core(&self, text: &str, from: &str, to: &str) -> Result<Translation, TranslateError> {
        let key = |provider: &'static str| (provider, from.to_owned(), to.to_owned(), text.to_owned());
        if let Some(Ok(mut cache)) = self.cache.as_ref().map(Mutex::lock) {
            for p in &self.providers {
                if let Some(hit) = cache.get(&key(p.translator.name())) {
                    self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(Translation { text: hit.clone(), provider: p.translator.name(), billed_chars: 0 });
                }
            }
        }
        self.stats.cache_misses.fetch_add(1, Ordering::Relaxed);
        let mut last_error = None;
        let mut unsupported = None;
        for p in &self.providers {
            let name = p.translator.name();
            if !p.breaker.lock().map(|b| b.allows(Instant::now())).unwrap_or(true) {
                last_error.get_or_insert(TranslateError::Transient(format!("{name} is failing; skipped for now")));
                continue;
            }
            let attempt = tokio::time::timeout(self.options.timeout, p.translator.translate(text, from, to)).await;
            let result = attempt.unwrap_or_else(|_| {
                Err(TranslateError::Transient(format!("{name} did not answer within {:?}", self.options.timeout)))
            });
            match result {
                Ok(translated) => {
                    if let Ok(mut b) = p.breaker.lock() {
                        b.success();
                    }
                    self.stats.characters_translated.fetch_add(text.chars().count() as u64, Ordering::Relaxed);
                    if let Some(Ok(mut cache)) = self.cache.as_ref().map(Mutex::lock) {
                        cache.put(key(name), translated.clone());
                    }
                    return Ok(Translation { text: translated, provider: name, billed_chars: text.chars().count() });
                }
                Err(e @ TranslateError::UnsupportedPair { .. }) => {
                    unsupported.get_or_insert(e);
                }
                Err(e) => {
                    tracing::warn!(provider = name, error = %e, from, to, "translation provider failed");
                    self.stats.provider_failures.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut b) = p.breaker.lock() {
                        b.failure(Instant::now(), self.options.cooldown);
                    }
                    last_error = Some(e);
                }
            }
        }
        // A provider that could have done it but failed matters more than one that never could.
        Err(last_error.or(unsupported).unwrap_or_else(|| TranslateError::UnsupportedPair {
            note: "no translation provider is configured".into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use futures_util::future::BoxFuture;

    use super::*;

    /// Upper-cases, and counts the calls that reach it.
    struct Counting(AtomicUsize);

    impl Translator for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }

        fn translate<'a>(
            &'a self,
            text: &'a str,
            _: &'a str,
            _: &'a str,
        ) -> BoxFuture<'a, Result<String, TranslateError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(text.to_uppercase()) })
        }
    }

    #[tokio::test]
    async fn the_cache_keeps_the_most_recently_used_translations() {
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let options = ServiceOptions { cache_entries: 2, ..ServiceOptions::default() };
        let service = TranslationService::new(vec![counting.clone()], options);
        for text in ["a", "b", "a", "c", "a", "b"] {
            assert_eq!(service.translate_core(text, "en", "pt").await.unwrap().text, text.to_uppercase());
        }
        // a and b miss; a hits and becomes the newest; c pushes out b, not a;
        // a hits again; b misses. (Evicting the oldest inserted would call 5 times.)
        assert_eq!(counting.0.load(Ordering::SeqCst), 4);
        assert_eq!(service.stats.cache_hits.load(Ordering::Relaxed), 2);
    }
}
