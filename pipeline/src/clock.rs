//! Time as an injectable source, so tests can move it (token expiry, retention,
//! the webhook replay window). One clock serves the server and the pipeline it
//! embeds, so a test that moves it moves both.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Milliseconds since the Unix epoch, from the system or from a test.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now_ms())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The system's real-time clock.
    pub fn system() -> Self {
        Self(Arc::new(system_now_ms))
    }

    /// A clock that only moves when the returned handle moves it.
    pub fn manual(start_ms: i64) -> (Self, ManualClock) {
        let now = Arc::new(AtomicI64::new(start_ms));
        let read = now.clone();
        (Self(Arc::new(move || read.load(Ordering::SeqCst))), ManualClock(now))
    }

    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// Milliseconds since the Unix epoch, from the system's real-time clock.
fn system_now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The handle of a [`Clock::manual`] clock.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let (clock, hand) = Clock::manual(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        hand.advance(Duration::from_secs(2));
        assert_eq!((clock.now_ms(), clock.now_secs()), (3_000, 3));
    }
}
