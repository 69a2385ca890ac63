//! Prometheus metrics at `GET /metrics`, in the OpenMetrics text format.
//!
//! A handful of counters and histograms kept in atomics: cheap enough for
//! the publish and fan-out hot paths; prometheus-client writes them out at
//! each scrape, with the embedded pipeline's.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use parley_pipeline::metrics::Histogram;
use parley_pipeline::metrics::{counter, family, gauge, labelled};
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;

/// Every metric the server exports.
#[derive(Debug, Default)]
pub struct Metrics {
    pub publishes: AtomicU64,
    pub publish_duplicates: AtomicU64,
    /// Publish transactions; `publishes / publish_batches` is the mean batch.
    pub publish_batches: AtomicU64,
    pub frames_delivered: AtomicU64,
    /// Items other nodes announced over NATS.
    pub bus_remote_items: AtomicU64,
    /// Items the database catch-up broadcast because NATS did not bring them.
    pub bus_caught_up_items: AtomicU64,
    pub publish_latency: Histogram,
    /// Deliveries given up (dead letters): of Parley's own webhooks (the
    /// pipeline: readers miss a message, an operator must look), and of others.
    dead_letters_internal: AtomicU64,
    dead_letters_external: AtomicU64,
    /// (outcome, count, latency) per webhook attempt outcome.
    webhook: Mutex<Vec<(&'static str, u64, Histogram)>>,
}

impl Metrics {
    /// Deliveries given up so far: (Parley's own webhooks, others).
    pub fn dead_letters(&self) -> (u64, u64) {
        (self.dead_letters_internal.load(Ordering::Relaxed), self.dead_letters_external.load(Ordering::Relaxed))
    }

    /// Counts a delivery given up; `internal` for Parley's own webhooks.
    pub fn dead_letter(&self, internal: bool) {
        let counter = if internal { &self.dead_letters_internal } else { &self.dead_letters_external };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn webhook_attempt(&self, outcome: &'static str, latency: Duration) {
        let Ok(mut table) = self.webhook.lock() else {
            return;
        };
        match table.iter_mut().find(|(o, ..)| *o == outcome) {
            Some((_, count, histogram)) => {
                *count += 1;
                histogram.observe(latency);
            }
            None => {
                let histogram = Histogram::default();
                histogram.observe(latency);
                table.push((outcome, 1, histogram));
            }
        }
    }

    /// Writes the server's metric families; `subscribers` and `queued`
    /// (publishes waiting for a transaction) are read live.
    ///
    /// # Errors
    /// Only the writer's.
    pub fn encode(&self, subscribers: usize, queued: usize, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        counter(encoder, "parley_publishes", "Items appended to topics.", load(&self.publishes))?;
        counter(
            encoder,
            "parley_publish_duplicates",
            "Publishes answered from an earlier item with the same idempotency key.",
            load(&self.publish_duplicates),
        )?;
        counter(
            encoder,
            "parley_publish_batches",
            "Publish transactions (publishes queued behind one commit share the next).",
            load(&self.publish_batches),
        )?;
        counter(encoder, "parley_frames_delivered", "Item frames sent to subscribers.", load(&self.frames_delivered))?;
        counter(
            encoder,
            "parley_bus_remote_items",
            "Items other nodes announced over NATS.",
            load(&self.bus_remote_items),
        )?;
        counter(
            encoder,
            "parley_bus_caught_up_items",
            "Items read from the database because NATS did not bring them.",
            load(&self.bus_caught_up_items),
        )?;
        labelled(
            encoder,
            "parley_webhook_dead_letters",
            "Deliveries given up after every attempt, for Parley's own webhooks (the pipeline) and for others.",
            MetricType::Counter,
            "webhook",
            [
                ("internal", ConstCounter::new(load(&self.dead_letters_internal))),
                ("external", ConstCounter::new(load(&self.dead_letters_external))),
            ],
        )?;
        gauge(encoder, "parley_subscribers", "Open subscriptions on this node.", subscribers as i64)?;
        gauge(encoder, "parley_publish_queue", "Publishes waiting for the next group commit.", queued as i64)?;
        family(encoder, "parley_publish_seconds", "Publish latency (commit and fan-out).", &self.publish_latency)?;
        let Ok(table) = self.webhook.lock() else { return Ok(()) };
        labelled(
            encoder,
            "parley_webhook_attempts",
            "Webhook delivery attempts by outcome.",
            MetricType::Counter,
            "outcome",
            table.iter().map(|(outcome, count, _)| (*outcome, ConstCounter::new(*count))),
        )?;
        labelled(
            encoder,
            "parley_webhook_attempt_seconds",
            "Webhook attempt latency by outcome.",
            MetricType::Histogram,
            "outcome",
            table.iter().map(|(outcome, _, histogram)| (*outcome, histogram)),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use prometheus_client::collector::Collector;

    use super::*;

    #[derive(Debug)]
    struct Scrape(Arc<Metrics>);

    impl Collector for Scrape {
        fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
            self.0.encode(7, 2, &mut encoder)
        }
    }

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Arc::new(Metrics::default());
        m.publishes.fetch_add(3, Ordering::Relaxed);
        m.webhook_attempt("success", Duration::from_millis(3));
        m.webhook_attempt("success", Duration::from_millis(30));
        m.webhook_attempt("failure", Duration::from_millis(1));
        m.dead_letter(true);
        let text = parley_pipeline::metrics::exposition(Scrape(m));
        assert!(text.contains("parley_publishes_total 3"), "{text}");
        assert!(text.contains("parley_subscribers 7"));
        assert!(text.contains("parley_webhook_dead_letters_total{webhook=\"internal\"} 1"), "{text}");
        assert!(text.contains("parley_webhook_dead_letters_total{webhook=\"external\"} 0"), "{text}");
        assert!(text.contains("parley_publish_queue 2"));
        assert!(text.contains("parley_webhook_attempts_total{outcome=\"success\"} 2"));
        assert!(text.contains("parley_webhook_attempt_seconds_bucket{le=\"0.005\",outcome=\"success\"} 1"), "{text}");
        assert!(text.contains("parley_webhook_attempt_seconds_bucket{le=\"0.05\",outcome=\"success\"} 2"));
        assert!(text.contains("parley_webhook_attempt_seconds_bucket{le=\"+Inf\",outcome=\"success\"} 2"));
        assert!(text.contains("parley_webhook_attempt_seconds_count{outcome=\"failure\"} 1"));
        assert!(text.contains("# TYPE parley_publish_seconds histogram") && text.ends_with("# EOF\n"), "{text}");
    }
}
