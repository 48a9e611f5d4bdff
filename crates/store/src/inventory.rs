//! What is stored of a site, in whole numbers, for the public register and
//! the DPIA (which round and withhold them: `glasshouse_governance`).

use crate::{Store, StoreError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use glasshouse_model::query::{day_start, Metric, Query};
use glasshouse_model::Site;

/// A site's stored volumes, counted up to the end of the day before `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteFigures {
    /// Raw events kept (each carries a daily visitor id).
    pub events_stored: u64,
    /// Daily visitor ids summed over the 30 days before today.
    pub visitors_last_30_days: u64,
    /// Start of the oldest day with raw events, if any.
    pub oldest_event: Option<DateTime<Utc>>,
}

/// Counts what `store` holds of `site` before `today`.
pub fn site_figures(
    store: &dyn Store,
    site: &Site,
    today: NaiveDate,
) -> Result<SiteFigures, StoreError> {
    let until = day_start(today, site.timezone);
    let all = Query {
        conditions: Vec::new(),
        order: Vec::new(),
        site: site.host.clone(),
        from: until - Duration::days(i64::from(site.aggregate_retention_days) + 1),
        until,
        tz: site.timezone,
        metrics: vec![Metric::Events],
        filters: vec![],
    };
    let recent = Query {
        from: until - Duration::days(30),
        metrics: vec![Metric::Visitors],
        ..all.clone()
    };
    Ok(SiteFigures {
        events_stored: store.aggregate(&all)?.events,
        visitors_last_30_days: store.aggregate(&recent)?.visitors,
        oldest_event: store.oldest_event(&site.host)?,
    })
}
