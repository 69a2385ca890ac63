//! Prometheus metrics, rendered in the text exposition format at `GET /metrics`.
//!
//! A handful of counters and histograms kept in atomics: cheap enough for
//! the publish and fan-out hot paths, with no registry to configure.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use parley_pipeline::metrics::Histogram;

/// Every metric the server exports.
#[derive(Default)]
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

    /// The text exposition of every metric; `subscribers` and `queued` (publishes
    /// waiting for a transaction) are read live.
    pub fn render(&self, subscribers: usize, queued: usize) -> String {
        let mut out = String::new();
        let counter = parley_pipeline::metrics::write_counter;
        counter(
            &mut out,
            "parley_publishes_total",
            "Items appended to topics.",
            self.publishes.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "parley_publish_duplicates_total",
            "Publishes answered from an earlier item with the same idempotency key.",
            self.publish_duplicates.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "parley_publish_batches_total",
            "Publish transactions (publishes queued behind one commit share the next).",
            self.publish_batches.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "parley_frames_delivered_total",
            "Item frames sent to subscribers.",
            self.frames_delivered.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "parley_bus_remote_items_total",
            "Items other nodes announced over NATS.",
            self.bus_remote_items.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "parley_bus_caught_up_items_total",
            "Items read from the database because NATS did not bring them.",
            self.bus_caught_up_items.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP parley_webhook_dead_letters_total Deliveries given up after every attempt, for Parley's own webhooks (the pipeline) and for others.\n# TYPE parley_webhook_dead_letters_total counter\nparley_webhook_dead_letters_total{{webhook=\"internal\"}} {}\nparley_webhook_dead_letters_total{{webhook=\"external\"}} {}",
            self.dead_letters_internal.load(Ordering::Relaxed),
            self.dead_letters_external.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP parley_subscribers Open subscriptions on this node.\n# TYPE parley_subscribers gauge\nparley_subscribers {subscribers}"
        );
        let _ = writeln!(
            out,
            "# HELP parley_publish_queue Publishes waiting for the next group commit.\n# TYPE parley_publish_queue gauge\nparley_publish_queue {queued}"
        );
        let _ = writeln!(
            out,
            "# HELP parley_publish_seconds Publish latency (commit and fan-out).\n# TYPE parley_publish_seconds histogram"
        );
        self.publish_latency.render(&mut out, "parley_publish_seconds", "");
        let _ = writeln!(
            out,
            "# HELP parley_webhook_attempts_total Webhook delivery attempts by outcome.\n# TYPE parley_webhook_attempts_total counter"
        );
        if let Ok(table) = self.webhook.lock() {
            for (outcome, count, _) in table.iter() {
                let _ = writeln!(out, "parley_webhook_attempts_total{{outcome=\"{outcome}\"}} {count}");
            }
            let _ = writeln!(
                out,
                "# HELP parley_webhook_attempt_seconds Webhook attempt latency by outcome.\n# TYPE parley_webhook_attempt_seconds histogram"
            );
            for (outcome, _, histogram) in table.iter() {
                histogram.render(&mut out, "parley_webhook_attempt_seconds", &format!("outcome=\"{outcome}\""));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.publishes.fetch_add(3, Ordering::Relaxed);
        m.webhook_attempt("success", Duration::from_millis(3));
        m.webhook_attempt("success", Duration::from_millis(30));
        m.webhook_attempt("failure", Duration::from_millis(1));
        m.dead_letter(true);
        let text = m.render(7, 2);
        assert!(text.contains("parley_publishes_total 3"), "{text}");
        assert!(text.contains("parley_subscribers 7"));
        assert!(text.contains("parley_webhook_dead_letters_total{webhook=\"internal\"} 1"), "{text}");
        assert!(text.contains("parley_webhook_dead_letters_total{webhook=\"external\"} 0"), "{text}");
        assert!(text.contains("parley_publish_queue 2"));
        assert!(text.contains("parley_webhook_attempts_total{outcome=\"success\"} 2"));
        assert!(text.contains("parley_webhook_attempt_seconds_bucket{outcome=\"success\",le=\"0.005\"} 1"));
        assert!(text.contains("parley_webhook_attempt_seconds_bucket{outcome=\"success\",le=\"0.05\"} 2"));
        assert!(text.contains("parley_webhook_attempt_seconds_count{outcome=\"failure\"} 1"));
    }
}
