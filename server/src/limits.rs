//! Per-token limits: a publish rate (token bucket) and a cap on open subscriptions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// Token buckets keyed by token; `rate` per second with bursts of `burst`.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

/// Buckets kept before full ones are forgotten.
const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        Self { rate: rate_per_sec, burst: f64::from(burst), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `key` at `now_ms`.
    ///
    /// # Errors
    /// [`Error::RateLimited`] with the seconds until a token is back.
    pub fn check(&self, key: &str, now_ms: i64) -> Result<()> {
        self.take(key, now_ms, 1)
    }

    /// Takes `n` tokens for `key` at `now_ms`, all or none.
    ///
    /// # Errors
    /// [`Error::RateLimited`] with the seconds until `n` tokens are back.
    pub fn take(&self, key: &str, now_ms: i64, n: u32) -> Result<()> {
        let n = f64::from(n);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| *tokens + (now_ms - *at) as f64 / 1000.0 * rate < burst);
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((self.burst, now_ms));
        let refilled = (*tokens + (now_ms - *at).max(0) as f64 / 1000.0 * self.rate).min(self.burst);
        *at = now_ms;
        if refilled >= n {
            *tokens = refilled - n;
            return Ok(());
        }
        *tokens = refilled;
        let wait = ((n - refilled) / self.rate).ceil().max(1.0) as u64;
        Err(Error::RateLimited { retry_after_secs: wait })
    }
}

/// Counts open subscriptions per token.
pub struct SubscriptionCaps {
    max: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// Holds one subscription slot; frees it when dropped.
pub struct SubscriptionGuard {
    key: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl SubscriptionCaps {
    pub fn new(max: usize) -> Self {
        Self { max, open: Arc::default() }
    }

    /// Takes a slot for `key`.
    ///
    /// # Errors
    /// [`Error::RateLimited`] when the token already holds `max` subscriptions.
    pub fn acquire(&self, key: &str) -> Result<SubscriptionGuard> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key.to_owned()).or_insert(0);
        if *count >= self.max {
            return Err(Error::TooManySubscriptions(self.max));
        }
        *count += 1;
        Ok(SubscriptionGuard { key: key.to_owned(), open: self.open.clone() })
    }
}

impl Drop for SubscriptionGuard {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let limiter = RateLimiter::new(2.0, 3);
        for _ in 0..3 {
            limiter.check("t", 0).unwrap();
        }
        let Err(Error::RateLimited { retry_after_secs }) = limiter.check("t", 0) else {
            panic!("the fourth publish in a burst of three must be limited");
        };
        assert_eq!(retry_after_secs, 1);
        // Another token has its own bucket.
        limiter.check("other", 0).unwrap();
        // Half a second later one token is back.
        limiter.check("t", 500).unwrap();
        assert!(limiter.check("t", 500).is_err());
    }

    #[test]
    fn several_tokens_are_taken_all_or_none() {
        let limiter = RateLimiter::new(1.0, 5);
        limiter.take("t", 0, 3).unwrap();
        let Err(Error::RateLimited { retry_after_secs }) = limiter.take("t", 0, 3) else {
            panic!("three more than the two left must be refused");
        };
        assert_eq!(retry_after_secs, 1);
        // Nothing was taken by the refusal: the two left still pass.
        limiter.take("t", 0, 2).unwrap();
    }

    #[test]
    fn subscription_slots_are_freed_on_drop() {
        let caps = SubscriptionCaps::new(2);
        let a = caps.acquire("t").unwrap();
        let _b = caps.acquire("t").unwrap();
        assert!(matches!(caps.acquire("t"), Err(Error::TooManySubscriptions(2))));
        drop(a);
        caps.acquire("t").unwrap();
    }
}
