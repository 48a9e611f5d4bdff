//! Retention, enforced in two tiers: a background job rolls each site's raw
//! events up into daily aggregates without visitor ids and deletes them once
//! they are older than the site's `raw_retention_days`, and deletes the
//! aggregates after `aggregate_retention_days`.
//!
//! The server runs [`run`] at start and then every hour under the
//! configuration of the moment (a reload changes retention at the next
//! run), so an installation that was down catches up at once. The same job
//! rolls up each closed day that still has raw events, for the overview to
//! read (`tiers`). Retention counts whole days of the site's time zone: with
//! 30 days, events from before local midnight 30 days ago go.

use crate::saved::{daily_key, Saved, SavedFunnels};
use crate::{rollup, RollupRow, Store, StoreError};
use chrono::Duration;
use glasshouse_model::journey::FunnelQuery;
use glasshouse_model::query::{day_of, day_start, Query};
use glasshouse_model::{Clock, Config};

/// Rolls up and deletes what is past raw retention, and deletes roll-ups
/// past aggregate retention, for every site; returns the raw rows deleted.
pub fn enforce(
    config: &Config,
    store: &dyn Store,
    funnels: &SavedFunnels,
    clock: &dyn Clock,
) -> Result<u64, StoreError> {
    let now = clock.now();
    let mut deleted = 0;
    for site in &config.sites {
        let today = day_of(now, site.timezone);
        let cutoff = today - Duration::days(site.raw_retention_days as i64);
        let saved = funnels.of_site(&site.host);
        let extra = |day| saved_funnel_rows(config, store, site, &saved, day);
        let (days, n) =
            rollup::roll_up_and_delete(store, &site.host, site.timezone, cutoff, &extra)?;
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

/// Rolls up each site's closed days that still have raw events and no
/// fresh roll-up, so the overview reads them instead of the raw events
/// (`glasshouse_store::rollup::refresh`); returns the days rolled up.
pub fn refresh_rollups(
    config: &Config,
    store: &dyn Store,
    clock: &dyn Clock,
) -> Result<u64, StoreError> {
    let now = clock.now();
    let mut days = 0;
    for site in &config.sites {
        let today = day_of(now, site.timezone);
        let from = today - Duration::days(site.raw_retention_days as i64);
        days += rollup::refresh(store, &site.host, site.timezone, from, today)?;
    }
    Ok(days)
}

/// One day's counts of each saved funnel of `site`, for the aggregate tier:
/// a marker row (step 0) saying the day was counted, and journeys and
/// visitors per step.
fn saved_funnel_rows(
    config: &Config,
    store: &dyn Store,
    site: &glasshouse_model::Site,
    saved: &[Saved],
    day: chrono::NaiveDate,
) -> Result<Vec<RollupRow>, StoreError> {
    let mut rows = Vec::new();
    let mut done = std::collections::HashSet::new();
    for f in saved {
        let key = daily_key(&f.steps);
        if !done.insert(key.clone()) {
            continue;
        }
        rows.push(RollupRow::zero(&site.host, day, &key, "0"));
        let query = FunnelQuery {
            query: Query {
                conditions: Vec::new(),
                order: Vec::new(),
                site: site.host.clone(),
                from: day_start(day, site.timezone),
                until: day_start(day + Duration::days(1), site.timezone),
                tz: site.timezone,
                metrics: vec![],
                filters: vec![],
            },
            sites: config.journey_sites(&site.host, day),
            steps: f.steps.clone(),
        };
        for r in store.funnel(&query)? {
            let mut row = RollupRow::zero(&site.host, day, &key, &r.step.to_string());
            row.visits = r.visits;
            row.visitors = r.visitors;
            rows.push(row);
        }
    }
    Ok(rows)
}

/// One run of the job: [`enforce`], then [`refresh_rollups`].
pub fn run(
    config: &Config,
    store: &dyn Store,
    funnels: &SavedFunnels,
    clock: &dyn Clock,
) -> Result<(), StoreError> {
    enforce(config, store, funnels, clock)?;
    let started = std::time::Instant::now();
    let days = refresh_rollups(config, store, clock)?;
    if days > 0 {
        tracing::info!(
            days,
            seconds = started.elapsed().as_secs_f64(),
            "closed days rolled up for the overview"
        );
    }
    Ok(())
}
