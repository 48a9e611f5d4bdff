//! Retention, enforced: a background job deletes each site's raw events once
//! they are older than the site's `raw_retention_days`.
//!
//! It runs at start and then every hour, so an installation that was down
//! catches up at once. Retention counts whole UTC days: with 30 days, events
//! from before midnight 30 days ago go.

use chrono::Duration;
use glasshouse_model::query::midnight;
use glasshouse_model::{Clock, Config};
use glasshouse_store::{Store, StoreError};
use std::sync::Arc;

/// Deletes what is past retention for every site; returns the rows deleted.
pub fn enforce(config: &Config, store: &dyn Store, clock: &dyn Clock) -> Result<u64, StoreError> {
    let today = clock.now().date_naive();
    let mut deleted = 0;
    for site in &config.sites {
        let cutoff = midnight(today - Duration::days(site.raw_retention_days as i64));
        let n = store.delete_before(&site.host, cutoff)?;
        if n > 0 {
            tracing::info!(site = %site.host, deleted = n, "raw events past retention deleted");
        }
        deleted += n;
    }
    Ok(deleted)
}

/// Runs `enforce` now and then hourly, until the runtime stops.
pub fn spawn(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let (c, s, k) = (config.clone(), store.clone(), clock.clone());
            match tokio::task::spawn_blocking(move || enforce(&c, s.as_ref(), k.as_ref())).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "retention failed; will retry in an hour")
                }
                Err(e) => tracing::error!(error = %e, "retention task panicked"),
            }
        }
    })
}
