//! The one source of "now".
//!
//! Everything time-dependent (salt rotation, sessions, retention, periods)
//! asks a `Clock` rather than the operating system, so a test can move the
//! time across midnight and watch the salts change.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A source of the current UTC time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock, used everywhere outside tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move, so tests can cross midnight.
#[derive(Debug, Clone)]
pub struct ManualClock {
    micros: Arc<AtomicI64>,
}

impl ManualClock {
    /// Starts the clock at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            micros: Arc::new(AtomicI64::new(at.timestamp_micros())),
        }
    }

    /// Moves the clock to `at` (forwards or backwards).
    pub fn set(&self, at: DateTime<Utc>) {
        self.micros.store(at.timestamp_micros(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        self.micros
            .fetch_add(by.num_microseconds().unwrap_or(0), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros.load(Ordering::SeqCst))
            .expect("clock holds a valid timestamp")
    }
}
