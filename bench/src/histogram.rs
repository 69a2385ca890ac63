//! A lock-free latency histogram: 10 µs buckets up to 1 s, then one overflow bucket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BUCKET_MICROS: u64 = 10;
const BUCKETS: usize = 100_000;

pub struct Histogram {
    buckets: Vec<AtomicU64>,
    overflow: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self { buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(), overflow: AtomicU64::new(0) }
    }
}

impl Histogram {
    pub fn record(&self, latency: Duration) {
        let bucket = (latency.as_micros() as u64 / BUCKET_MICROS) as usize;
        match self.buckets.get(bucket) {
            Some(b) => b.fetch_add(1, Ordering::Relaxed),
            None => self.overflow.fetch_add(1, Ordering::Relaxed),
        };
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum::<u64>() + self.overflow.load(Ordering::Relaxed)
    }

    /// The latency below which `q` (0..=1) of the samples fall; `None` without samples.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let target = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= target {
                return Some(Duration::from_micros((i as u64 + 1) * BUCKET_MICROS));
            }
        }
        Some(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_the_samples() {
        let h = Histogram::default();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.quantile(0.5), Some(Duration::from_micros(50_010)));
        assert_eq!(h.quantile(0.99), Some(Duration::from_micros(99_010)));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
