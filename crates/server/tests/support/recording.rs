//! A real store (DuckDB) that also notes every question it is asked, so a
//! test can hold what the server ran against what its audit log says.

use chrono::{DateTime, NaiveDate, Utc};
use glasshouse_model::journey::{FunnelQuery, PathQuery};
use glasshouse_model::query::{Dimension, Interval, Query};
use glasshouse_store::{
    FunnelRow, JourneyState, Paths, RollupRow, RowBatch, SessionState, Store, StoreError,
    StoredEvent, Totals,
};
use std::sync::{Arc, Mutex};

/// A read of event data, as the store received it.
#[derive(Debug, Clone)]
pub enum Asked {
    Aggregate(Query),
    Timeseries(Query, Interval),
    Breakdown(Query, Dimension, usize, usize),
    Paths(PathQuery),
    Funnel(FunnelQuery),
    Current(String),
}

/// The reads noted so far.
pub type Notes = Arc<Mutex<Vec<Asked>>>;

/// `inner`, noting each read into `notes`.
pub struct Recording {
    pub inner: Arc<dyn Store>,
    pub notes: Notes,
}

impl Recording {
    fn note(&self, a: Asked) {
        self.notes.lock().unwrap().push(a);
    }
}

impl Store for Recording {
    fn append(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        self.inner.append(events)
    }
    fn append_rows(&self, batches: &[RowBatch]) -> Result<(), StoreError> {
        self.inner.append_rows(batches)
    }
    fn append_logged(&self, batches: &[RowBatch], through: u64) -> Result<(), StoreError> {
        self.inner.append_logged(batches, through)
    }
    fn logged_through(&self) -> Result<u64, StoreError> {
        self.inner.logged_through()
    }
    fn aggregate(&self, query: &Query) -> Result<Totals, StoreError> {
        self.note(Asked::Aggregate(query.clone()));
        self.inner.aggregate(query)
    }
    fn timeseries(
        &self,
        query: &Query,
        interval: Interval,
    ) -> Result<Vec<(DateTime<Utc>, Totals)>, StoreError> {
        self.note(Asked::Timeseries(query.clone(), interval));
        self.inner.timeseries(query, interval)
    }
    fn breakdown(
        &self,
        query: &Query,
        by: &Dimension,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<(String, Totals)>, StoreError> {
        self.note(Asked::Breakdown(query.clone(), by.clone(), limit, offset));
        self.inner.breakdown(query, by, limit, offset)
    }
    fn current_visitors(&self, site: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        self.note(Asked::Current(site.to_string()));
        self.inner.current_visitors(site, since)
    }
    fn recent_sessions(&self, since: DateTime<Utc>) -> Result<Vec<SessionState>, StoreError> {
        self.inner.recent_sessions(since)
    }
    fn recent_journeys(&self, since: DateTime<Utc>) -> Result<Vec<JourneyState>, StoreError> {
        self.inner.recent_journeys(since)
    }
    fn paths(&self, query: &PathQuery) -> Result<Paths, StoreError> {
        self.note(Asked::Paths(query.clone()));
        self.inner.paths(query)
    }
    fn funnel(&self, query: &FunnelQuery) -> Result<Vec<FunnelRow>, StoreError> {
        self.note(Asked::Funnel(query.clone()));
        self.inner.funnel(query)
    }
    fn delete_before(&self, site: &str, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.delete_before(site, cutoff)
    }
    fn count(&self) -> Result<u64, StoreError> {
        self.inner.count()
    }
    fn set_zones(&self, zones: &[(String, glasshouse_model::query::Tz)]) {
        self.inner.set_zones(zones)
    }
    fn oldest_event(&self, site: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.oldest_event(site)
    }
    fn replace_rollup(
        &self,
        site: &str,
        day: NaiveDate,
        rows: &[RollupRow],
    ) -> Result<(), StoreError> {
        self.inner.replace_rollup(site, day, rows)
    }
    fn read_rollup(
        &self,
        site: &str,
        from: NaiveDate,
        until: NaiveDate,
        dim: &str,
    ) -> Result<Vec<RollupRow>, StoreError> {
        self.inner.read_rollup(site, from, until, dim)
    }
    fn replace_fresh_rollup(
        &self,
        site: &str,
        day: NaiveDate,
        rows: &[RollupRow],
        seen: u64,
    ) -> Result<bool, StoreError> {
        self.inner.replace_fresh_rollup(site, day, rows, seen)
    }
    fn fresh_rollup_days(
        &self,
        site: &str,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        self.inner.fresh_rollup_days(site, from, until)
    }
    fn closed_before(&self) -> Result<Option<NaiveDate>, StoreError> {
        self.inner.closed_before()
    }
    fn late_writes(&self) -> u64 {
        self.inner.late_writes()
    }
    fn read_rollup_summed(
        &self,
        site: &str,
        from: NaiveDate,
        until: NaiveDate,
        dim: &str,
    ) -> Result<Vec<RollupRow>, StoreError> {
        self.inner.read_rollup_summed(site, from, until, dim)
    }
    fn delete_rollup_before(&self, site: &str, day: NaiveDate) -> Result<u64, StoreError> {
        self.inner.delete_rollup_before(site, day)
    }
    fn checkpoint(&self) -> Result<(), StoreError> {
        self.inner.checkpoint()
    }
}
