//! The pipeline's Prometheus metrics: stage latencies, the translation
//! cache and the providers' health. The server's `/metrics` includes them
//! in the embedded mode; `parley-pipeline` serves them itself.
//!
//! Values live in atomics (cheap on the hot paths, and the admin console
//! reads quantiles from the same histograms); prometheus-client writes them
//! out in the OpenMetrics text format at each scrape.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::translate::TranslationService;

/// Upper bounds (seconds) of the latency histogram buckets: fine below 10 ms,
/// where the pipeline's stages live, so quantiles mean something there.
const BUCKETS: [f64; 20] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
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
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> fmt::Result {
        // The encoder takes each bucket's own count (it sums them) and the
        // largest float as `+Inf`; these buckets count everything up to their bound.
        let total = self.count.load(Ordering::Relaxed);
        let mut below = 0;
        let mut buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .zip(&self.counts)
            .map(|(bound, count)| {
                let cumulative = count.load(Ordering::Relaxed).max(below);
                let own = cumulative - below;
                below = cumulative;
                (*bound, own)
            })
            .collect();
        buckets.push((f64::MAX, total.saturating_sub(below)));
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        encoder.encode_histogram::<NoLabelSet>(sum, total, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

impl EncodeMetric for &Histogram {
    fn encode(&self, encoder: MetricEncoder) -> fmt::Result {
        (*self).encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// Writes one metric family into an exposition (`encoder` comes from a [`Collector`]).
///
/// # Errors
/// Only the writer's.
pub fn family(encoder: &mut DescriptorEncoder, name: &str, help: &str, metric: &impl EncodeMetric) -> fmt::Result {
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// Writes a counter.
///
/// # Errors
/// Only the writer's.
pub fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
    family(encoder, name, help, &ConstCounter::new(value))
}

/// Writes a gauge.
///
/// # Errors
/// Only the writer's.
pub fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> fmt::Result {
    family(encoder, name, help, &ConstGauge::new(value))
}

/// Writes one family whose series differ by one label (`label="value"`).
///
/// # Errors
/// Only the writer's.
pub fn labelled<'a, M: EncodeMetric + 'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    label: &str,
    series: impl IntoIterator<Item = (&'a str, M)>,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (value, series) in series {
        series.encode(metric.encode_family(&[(label, value)])?)?;
    }
    Ok(())
}

/// A whole exposition (ending in `# EOF`) of what `collector` writes.
pub fn exposition(collector: impl Collector) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(collector));
    let mut out = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut out, &registry) {
        tracing::error!(%error, "cannot encode the metrics");
    }
    out
}

/// The media type of [`exposition`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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

/// Latency of each stage of the pipeline.
#[derive(Debug, Default)]
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

    /// Writes the pipeline's families, with the translation service's counters.
    ///
    /// # Errors
    /// Only the writer's.
    pub fn encode(&self, service: &TranslationService, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let stats = &service.stats;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        counter(encoder, "parley_pipeline_messages", "Deliveries processed.", load(&self.messages))?;
        counter(
            encoder,
            "parley_translation_cache_hits",
            "Translations answered from the cache.",
            load(&stats.cache_hits),
        )?;
        counter(
            encoder,
            "parley_translation_cache_misses",
            "Translations sent to a provider.",
            load(&stats.cache_misses),
        )?;
        counter(
            encoder,
            "parley_translation_provider_failures",
            "Failed provider calls.",
            load(&stats.provider_failures),
        )?;
        counter(
            encoder,
            "parley_translation_characters",
            "Characters sent to providers.",
            load(&stats.characters_translated),
        )?;
        labelled(
            encoder,
            "parley_translation_provider_up",
            "1 while a provider's breaker lets calls through.",
            MetricType::Gauge,
            "provider",
            service.provider_health().into_iter().map(|(name, up)| (name, ConstGauge::new(i64::from(up)))),
        )?;
        labelled(
            encoder,
            "parley_pipeline_stage_seconds",
            "Latency of each pipeline stage.",
            MetricType::Histogram,
            "stage",
            [
                ("detect", &self.detect),
                ("moderate", &self.moderate),
                ("translate", &self.translate),
                ("publish", &self.publish),
            ],
        )
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
