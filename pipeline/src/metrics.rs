//! The pipeline's Prometheus metrics: stage latencies, the translation
//! cache and the providers' health. The server's `/metrics` includes them
//! in the embedded mode; `parley-pipeline` serves them itself.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::translate::TranslationService;

/// Upper bounds (seconds) of the latency histogram buckets: fine below 10 ms,
/// where the pipeline's stages live, so quantiles mean something there.
const BUCKETS: [f64; 20] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// A latency histogram with fixed buckets.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, value: Duration) {
        let secs = value.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            if secs <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(value.as_micros() as u64, Ordering::Relaxed);
    }

    /// The `q` quantile (0–1), interpolated within its bucket; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.count.load(Ordering::Relaxed);
        if total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0);
        let mut lower = (0.0, 0u64);
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            let cumulative = count.load(Ordering::Relaxed);
            if cumulative as f64 >= rank {
                let (low, below) = lower;
                let within = (cumulative - below).max(1) as f64;
                return Some(Duration::from_secs_f64(low + (bound - low) * (rank - below as f64) / within));
            }
            lower = (*bound, cumulative);
        }
        Some(Duration::from_secs_f64(lower.0))
    }

    /// How many were observed, and their mean.
    pub fn summary(&self) -> StageSummary {
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1000.0;
        let ms = |q: f64| self.quantile(q).map(|d| d.as_secs_f64() * 1000.0);
        StageSummary { count, mean_ms: (count > 0).then(|| sum / count as f64), p50_ms: ms(0.5), p99_ms: ms(0.99) }
    }

    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {}", count.load(Ordering::Relaxed));
        }
        let total = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {total}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {total}");
    }
}

/// A stage's latency in a [`Health`] report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageSummary {
    pub count: u64,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// The pipeline's state for the admin console: what `/metrics` says, as typed JSON.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    pub messages: u64,
    /// Each provider in failover order, and whether its breaker lets calls through.
    pub providers: Vec<ProviderHealth>,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub provider_failures: u64,
    pub characters_translated: u64,
    /// `detect`, `moderate`, `translate`, `publish`.
    pub stages: Vec<(String, StageSummary)>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ProviderHealth {
    pub name: String,
    pub up: bool,
}

/// Writes one counter in the text exposition format.
pub fn write_counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
}

/// Latency of each stage of the pipeline.
#[derive(Default)]
pub struct PipelineMetrics {
    pub detect: Histogram,
    pub moderate: Histogram,
    pub translate: Histogram,
    pub publish: Histogram,
    pub messages: AtomicU64,
}

impl PipelineMetrics {
    /// The state the admin console shows.
    pub fn health(&self, service: &TranslationService) -> Health {
        let stats = &service.stats;
        Health {
            messages: self.messages.load(Ordering::Relaxed),
            providers: service
                .provider_health()
                .into_iter()
                .map(|(name, up)| ProviderHealth { name: name.to_owned(), up })
                .collect(),
            cache_hits: stats.cache_hits.load(Ordering::Relaxed),
            cache_misses: stats.cache_misses.load(Ordering::Relaxed),
            provider_failures: stats.provider_failures.load(Ordering::Relaxed),
            characters_translated: stats.characters_translated.load(Ordering::Relaxed),
            stages: [
                ("detect", &self.detect),
                ("moderate", &self.moderate),
                ("translate", &self.translate),
                ("publish", &self.publish),
            ]
            .into_iter()
            .map(|(name, h)| (name.to_owned(), h.summary()))
            .collect(),
        }
    }

    /// The text exposition, with the translation service's counters.
    pub fn render(&self, service: &TranslationService) -> String {
        let mut out = String::new();
        let stats = &service.stats;
        let counter = write_counter;
        counter(
            &mut out,
            "parley_pipeline_messages_total",
            "Deliveries processed.",
            self.messages.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "parley_translation_cache_hits_total",
            "Translations answered from the cache.",
            stats.cache_hits.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "parley_translation_cache_misses_total",
            "Translations sent to a provider.",
            stats.cache_misses.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "parley_translation_provider_failures_total",
            "Failed provider calls.",
            stats.provider_failures.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "parley_translation_characters_total",
            "Characters sent to providers.",
            stats.characters_translated.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP parley_translation_provider_up 1 while a provider's breaker lets calls through.\n# TYPE parley_translation_provider_up gauge"
        );
        for (name, up) in service.provider_health() {
            let _ = writeln!(out, "parley_translation_provider_up{{provider=\"{name}\"}} {}", u8::from(up));
        }
        let _ = writeln!(
            out,
            "# HELP parley_pipeline_stage_seconds Latency of each pipeline stage.\n# TYPE parley_pipeline_stage_seconds histogram"
        );
        for (stage, histogram) in [
            ("detect", &self.detect),
            ("moderate", &self.moderate),
            ("translate", &self.translate),
            ("publish", &self.publish),
        ] {
            histogram.render(&mut out, "parley_pipeline_stage_seconds", &format!("stage=\"{stage}\""));
        }
        out
    }
}

/// Measures a stage.
pub fn timed<T>(histogram: &Histogram, f: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let out = f();
    histogram.observe(started.elapsed());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_buckets() {
        let h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        for _ in 0..90 {
            h.observe(Duration::from_micros(150));
        }
        for _ in 0..10 {
            h.observe(Duration::from_millis(4));
        }
        let p50 = h.quantile(0.5).unwrap();
        assert!(p50 > Duration::from_micros(100) && p50 <= Duration::from_micros(250), "{p50:?}");
        let p99 = h.quantile(0.99).unwrap();
        assert!(p99 > Duration::from_millis(3) && p99 <= Duration::from_millis(5), "{p99:?}");
        assert_eq!(h.quantile(1.0).unwrap(), Duration::from_millis(5));
    }
}
