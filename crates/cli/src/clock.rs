//! The serving process's clock.
//!
//! The system clock, unless `GLASSHOUSE_CLOCK_OFFSET_FILE` names a file
//! holding a number of seconds: then the system clock shifted by them,
//! read again every 100 ms. Tests of several node processes use it to
//! move all of them across midnight together (a day's figures are
//! computed only once the day is over); nothing else should.

use glasshouse_model::{Clock, SystemClock};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

const VAR: &str = "GLASSHOUSE_CLOCK_OFFSET_FILE";

/// The system clock shifted by an offset that a file can change.
#[derive(Debug)]
struct Shifted(Arc<AtomicI64>);

impl Clock for Shifted {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::seconds(self.0.load(Ordering::Relaxed))
    }
}

fn read(path: &std::path::Path) -> anyhow::Result<i64> {
    let text = std::fs::read_to_string(path)?;
    text.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{}: line 1: not a number of seconds", path.display()))
}

/// The clock to serve with.
pub fn from_env() -> anyhow::Result<Arc<dyn Clock>> {
    let Some(path) = std::env::var_os(VAR).map(std::path::PathBuf::from) else {
        return Ok(Arc::new(SystemClock));
    };
    let offset = Arc::new(AtomicI64::new(read(&path)?));
    tracing::warn!(file = %path.display(), "the clock is shifted by the seconds in {VAR} (for tests only)");
    let o = offset.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Ok(s) = read(&path) {
            o.store(s, Ordering::Relaxed);
        }
    });
    Ok(Arc::new(Shifted(offset)))
}
