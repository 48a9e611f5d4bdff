//! Retention, enforced in two tiers: a background job rolls each site's raw
//! events up into daily aggregates without visitor ids and deletes them once
//! they are older than the site's `raw_retention_days`, and deletes the
//! aggregates after `aggregate_retention_days`.
//!
//! It runs at start and then every hour, so an installation that was down
//! catches up at once. Retention counts whole UTC days: with 30 days, events
//! from before midnight 30 days ago go.

use chrono::Duration;
use glasshouse_model::{Clock, Config};
use glasshouse_store::{rollup, Store, StoreError};
use std::sync::Arc;

/// Rolls up and deletes what is past raw retention, and deletes roll-ups
/// past aggregate retention, for every site; returns the raw rows deleted.
pub fn enforce(config: &Config, store: &dyn Store, clock: &dyn Clock) -> Result<u64, StoreError> {
    let today = clock.now().date_naive();
    let mut deleted = 0;
    for site in &config.sites {
        let cutoff = today - Duration::days(site.raw_retention_days as i64);
        let (days, n) = rollup::roll_up_and_delete(store, &site.host, cutoff)?;
        if n > 0 {
            tracing::info!(site = %site.host, days, deleted = n, "raw events past retention rolled up and deleted");
        }
        deleted += n;
        let aggregate_cutoff = today - Duration::days(site.aggregate_retention_days as i64);
        let gone = store.delete_rollup_before(&site.host, aggregate_cutoff)?;
        if gone > 0 {
            tracing::info!(site = %site.host, rows = gone, "daily aggregates past retention deleted");
        }
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
