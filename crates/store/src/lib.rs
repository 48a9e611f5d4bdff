//! Where anonymous events live, and how aggregates are computed from them.
//!
//! In the data path (docs/architecture.md) this crate is the *ingest queue* and the
//! *store*: it accepts only [`glasshouse_privacy::AnonymousEvent`]s — a type
//! only the privacy crate can build — so no raw IP, User-Agent or unscrubbed
//! URL can ever reach a table.
//!
//! - `sessions`: the in-memory session table. A visitor's events with gaps
//!   under 30 minutes form one visit; each stored event carries its visit's
//!   id, entry page and acquisition (source, referrer, UTM), so visit filters
//!   are plain `WHERE` clauses.
//! - `ingest`: the group-commit queue. Events are batched for a few
//!   milliseconds, written in one transaction, and only then acknowledged, so
//!   an HTTP 202 means "durably stored".
//! - `row`: the table of stored fields, named once, from which come the
//!   row as plain data (which both back ends encode and the write-ahead log
//!   keeps), both back ends' tables and their migrations; `kind` says what
//!   each kind of value is in each of those places.
//! - `engagement`: scroll depth and time on page, gathered per visitor
//!   and page from engagement events at query time.
//! - `questions`: the stats and journey questions, built once per dialect
//!   and decoded once; a back end only runs statements (`Execute`).
//! - `wal`: the local write-ahead log in front of the store: a batch is
//!   acknowledged once it is in the log, and shipped to the store behind it
//!   in large commits, so an outage of ClickHouse loses nothing and DuckDB's
//!   per-commit cost is paid once per many requests.
//! - `sql`: SQL generated from the one `Query` value, per dialect.
//! - `duck`: the embedded DuckDB back end, the zero-set-up default.
//! - `clickhouse`: the scale-out back end, a ClickHouse server or cluster
//!   over HTTP, running the same statements through its own dialect.
//!
//! - `tiers`: which days a question reads from raw events and which from
//!   daily roll-ups, and what roll-ups cannot answer.
//! - `retention`: the job that rolls raw events up and deletes them past
//!   each site's retention; `saved` keeps the saved funnels it counts daily.
//! - `inventory`: what is stored of a site, for the public register.
//!
//! The store decides nothing about who may see what: that belongs to the
//! governance gate (docs/architecture.md).

pub mod annotations;
mod beside;
pub mod clickhouse;
pub mod datadir;
pub mod duck;
pub mod engagement;
mod fresh;
pub mod goals;
pub mod imports;
pub mod ingest;
pub mod inventory;
pub mod journeys;
pub mod kind;
pub mod links;
pub mod listfile;
pub mod mail;
pub mod questions;
pub mod retention;
pub mod revenue;
pub mod rollup;
pub mod row;
pub mod saved;
pub mod segments;
pub mod sessions;
pub mod sql;
pub mod tiers;
mod totals;
pub mod wal;
pub mod zones;

pub use clickhouse::{ClickHouseConfig, ClickHouseStore};
pub use duck::DuckStore;
pub use ingest::{IngestError, Ingestor};
pub use journeys::{FunnelRow, PathLink, PathNode, Paths};
pub use rollup::RollupRow;
pub use row::{AsRow, Row, RowBatch, RowRef};
pub use sessions::{JourneyState, JourneyStep, SessionState, Sessionizer, StoredEvent};
pub use totals::Totals;

use chrono::{DateTime, Utc};
use glasshouse_model::journey::{FunnelQuery, PathQuery};
use glasshouse_model::query::{Dimension, Interval, Query};

/// What went wrong inside a back end. Messages never contain event data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(String),
    /// The data directory could not be used.
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
    /// This back end does not implement the feature yet.
    #[error("this store back end does not support {0} yet")]
    Unsupported(&'static str),
    /// The server could not be reached (ClickHouse down or the network
    /// away): worth trying again later, unlike a refusal.
    #[error("the store cannot be reached: {0}")]
    Unreachable(String),
    /// The question asks for what is no longer kept in that form (a filter
    /// over days kept only as daily roll-ups): the reason names the field
    /// and what can be asked instead. The caller's to change, not a fault.
    #[error("{0}")]
    Unanswerable(String),
    /// The store was written by a newer glasshouse, whose tables this
    /// binary could misread.
    #[error("the store has schema version {found}, newer than this glasshouse knows ({known}); run the newer release, or restore a backup made by this one")]
    Newer {
        /// The store's version.
        found: u32,
        /// The newest this binary knows.
        known: u32,
    },
}

/// The version of the tables this binary writes, recorded in each store
/// (`schema_version`), so that an upgrade runs each numbered migration once
/// and an older binary refuses tables it does not know.
pub const SCHEMA_VERSION: u32 = 3;

/// A large load of events (`glasshouse import`) in as few writes as the
/// back end allows. Where the back end has transactions (DuckDB) the load
/// is one: nothing of it is stored unless [`BulkLoad::commit`] succeeds, so
/// a bad line or a crash half-way leaves the store as it was, and a load
/// does not pay a commit per batch. Dropping it uncommitted abandons it.
pub trait BulkLoad {
    /// Adds events to the load.
    fn append(&mut self, events: Vec<StoredEvent>) -> Result<(), StoreError>;

    /// Makes the whole load durable and visible.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Whether nothing appended is stored before [`BulkLoad::commit`]. When
    /// not, a caller that must store all or nothing checks its input first.
    fn atomic(&self) -> bool;
}

/// Rows a back end without transactions takes in one insert during a bulk
/// load: ClickHouse wants large inserts, each of which makes a part (the
/// import's 4 MB blocks hold about 13,000 events; the log's shipper sends
/// up to 50,000 rows at once too). Measured on 2 M events into 18.16:
/// 124,000 → 127,000–133,000 events/s, and 40 parts instead of 150.
const BULK_INSERT_ROWS: usize = 50_000;

/// The bulk load of a back end without transactions: events are gathered
/// into large ordinary appends, each durable when it returns. What was
/// gathered but not yet appended when the load is dropped is not stored.
struct GatheredLoad<'a, S: ?Sized> {
    store: &'a S,
    gathered: Vec<StoredEvent>,
}

impl<S: Store + ?Sized> GatheredLoad<'_, S> {
    fn flush(&mut self) -> Result<(), StoreError> {
        if !self.gathered.is_empty() {
            self.store.append(&self.gathered)?;
            self.gathered.clear();
        }
        Ok(())
    }
}

impl<S: Store + ?Sized> BulkLoad for GatheredLoad<'_, S> {
    fn append(&mut self, mut events: Vec<StoredEvent>) -> Result<(), StoreError> {
        if self.gathered.is_empty() {
            self.gathered = std::mem::take(&mut events);
        } else {
            self.gathered.append(&mut events);
        }
        if self.gathered.len() >= BULK_INSERT_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.flush()
    }

    fn atomic(&self) -> bool {
        false
    }
}

/// A store of anonymous events. Both back ends implement it and both must pass
/// the same conformance suites (`tests/suite/`).
pub trait Store: Send + Sync + 'static {
    /// Appends a batch in one transaction; returns only once it is durable.
    fn append(&self, events: &[StoredEvent]) -> Result<(), StoreError>;

    /// Starts a bulk load; while it lasts, it is the only writer.
    fn bulk_load(&self) -> Result<Box<dyn BulkLoad + '_>, StoreError> {
        Ok(Box::new(GatheredLoad {
            store: self,
            gathered: Vec::new(),
        }))
    }

    /// Appends batches of plain rows (replayed from the write-ahead log) in
    /// one write; returns only once they are durable. A back end that keeps
    /// batch ids (ClickHouse) stores a batch it already has only once, so a
    /// batch may be sent again when the answer to an earlier attempt was
    /// lost. DuckDB does not keep them: behind the log it uses
    /// [`Store::append_logged`], which records the log's position instead.
    fn append_rows(&self, batches: &[RowBatch]) -> Result<(), StoreError>;

    /// Appends batches shipped from the write-ahead log whose records run
    /// up to sequence number `through`, so that a replay after a crash
    /// skips what the store already took. A transactional back end (DuckDB)
    /// commits `through` with the rows and reports it from
    /// [`Store::logged_through`]; the default relies on
    /// [`Store::append_rows`] skipping batches it already has (ClickHouse).
    fn append_logged(&self, batches: &[RowBatch], through: u64) -> Result<(), StoreError> {
        let _ = through;
        self.append_rows(batches)
    }

    /// The highest write-ahead log sequence number committed with rows by
    /// [`Store::append_logged`] (0 if none, or if the back end keeps none).
    fn logged_through(&self) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// Totals over the whole query range.
    fn aggregate(&self, query: &Query) -> Result<Totals, StoreError>;

    /// Totals per time bucket; buckets without traffic are absent.
    fn timeseries(
        &self,
        query: &Query,
        interval: Interval,
    ) -> Result<Vec<(DateTime<Utc>, Totals)>, StoreError>;

    /// Totals per value of `by`, ordered by the query's first metric (largest
    /// first) and then by value, `limit` rows from `offset`.
    fn breakdown(
        &self,
        query: &Query,
        by: &Dimension,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<(String, Totals)>, StoreError>;

    /// Distinct visitors of `site` with an event since `since` ("current visitors").
    fn current_visitors(&self, site: &str, since: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Visits with an event since `since`, so the session table survives a restart.
    fn recent_sessions(&self, since: DateTime<Utc>) -> Result<Vec<SessionState>, StoreError>;

    /// Journeys with an event since `since`, for the same reason.
    fn recent_journeys(&self, since: DateTime<Utc>) -> Result<Vec<JourneyState>, StoreError>;

    /// Where journeys through one page came from and went (see `journeys.rs`).
    fn paths(&self, query: &PathQuery) -> Result<Paths, StoreError>;

    /// How many journeys reached each step of a funnel, in order.
    fn funnel(&self, query: &FunnelQuery) -> Result<Vec<FunnelRow>, StoreError>;

    /// Deletes `site`'s raw events older than `cutoff`; returns how many went.
    fn delete_before(&self, site: &str, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Number of stored events, all sites.
    fn count(&self) -> Result<u64, StoreError>;

    /// Raw events in a stable order after `after` (a position this method
    /// returned), at most `limit`, each with its position: what `glasshouse
    /// migrate` copies from. Only the embedded store is migrated from.
    fn scan_rows(&self, after: Option<u64>, limit: usize) -> Result<Vec<(u64, Row)>, StoreError> {
        let _ = (after, limit);
        Err(StoreError::Unsupported("reading raw rows for migration"))
    }

    /// Makes the back end itself delete raw events older than `days`, as a
    /// backstop should the retention task stop (ClickHouse: a table TTL,
    /// where the server supports them). Returns whether one is in force; the
    /// embedded store has none, its retention task being in-process.
    fn set_retention_backstop(&self, days: u32) -> Result<bool, StoreError> {
        let _ = days;
        Ok(false)
    }

    /// Tells the store each site's time zone, whose local days its
    /// roll-ups are of (a late row marks its local day's roll-up stale).
    fn set_zones(&self, zones: &[(String, glasshouse_model::query::Tz)]) {
        let _ = zones;
    }

    /// When the oldest raw event of `site` happened (its local day is the
    /// first that still has raw events).
    fn oldest_event(
        &self,
        site: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let _ = site;
        Err(StoreError::Unsupported("the aggregate tier"))
    }

    /// Stores one day's roll-up of `site`, replacing any earlier one (see `rollup.rs`).
    fn replace_rollup(
        &self,
        site: &str,
        day: chrono::NaiveDate,
        rows: &[RollupRow],
    ) -> Result<(), StoreError> {
        let _ = (site, day, rows);
        Err(StoreError::Unsupported("the aggregate tier"))
    }

    /// Replaces `site`'s roll-ups of every day in `[from, until)` with
    /// `rows` (sorted by day) at once, leaving days without rows empty: how
    /// an imported history is written and taken back (`imports.rs`) — one
    /// transaction on DuckDB, one version on ClickHouse, so a day is never
    /// seen half old and half new.
    fn replace_rollup_days(
        &self,
        site: &str,
        from: chrono::NaiveDate,
        until: chrono::NaiveDate,
        rows: &[RollupRow],
    ) -> Result<(), StoreError> {
        let _ = (site, from, until, rows);
        Err(StoreError::Unsupported("the aggregate tier"))
    }

    /// Rolled-up rows of `site` for property `dim` on days in `[from, until)`.
    fn read_rollup(
        &self,
        site: &str,
        from: chrono::NaiveDate,
        until: chrono::NaiveDate,
        dim: &str,
    ) -> Result<Vec<RollupRow>, StoreError> {
        let _ = (site, from, until, dim);
        Err(StoreError::Unsupported("the aggregate tier"))
    }

    /// Stores `rows` as `site`'s roll-up of the closed `day` and marks it
    /// fresh — a stand-in for the day's raw events that unfiltered
    /// questions may read (`rollup.rs`) — unless rows arrived for a closed
    /// day since [`Store::late_writes`] returned `seen`, or the day is not
    /// closed. Returns whether the mark is in force.
    fn replace_fresh_rollup(
        &self,
        site: &str,
        day: chrono::NaiveDate,
        rows: &[RollupRow],
        seen: u64,
    ) -> Result<bool, StoreError>;

    /// Takes every fresh mark of `site` away, so that its closed days are
    /// rolled up again (after its time zone changed, their day boundaries
    /// did too).
    fn forget_fresh(&self, site: &str) -> Result<(), StoreError> {
        let _ = site;
        Err(StoreError::Unsupported("the aggregate tier"))
    }

    /// The days of `site` in `[from, until)` marked fresh (see
    /// [`Store::replace_fresh_rollup`]), ascending.
    fn fresh_rollup_days(
        &self,
        site: &str,
        from: chrono::NaiveDate,
        until: chrono::NaiveDate,
    ) -> Result<Vec<chrono::NaiveDate>, StoreError>;

    /// The newest day with stored events: the days before it are closed.
    fn closed_before(&self) -> Result<Option<chrono::NaiveDate>, StoreError>;

    /// A token to take before computing a roll-up and hand to
    /// [`Store::replace_fresh_rollup`], which then refuses (DuckDB: a
    /// counter of late writes) or is overridden (ClickHouse: the time,
    /// against the time of each late row's unmark) if rows arrived for a
    /// closed day in between.
    fn late_writes(&self) -> u64;

    /// Rolled-up rows of `site` for property `dim` on days in `[from,
    /// until)`, summed per value (`day` is `from`): what a breakdown over
    /// those days needs, without moving every day's row out of the store.
    fn read_rollup_summed(
        &self,
        site: &str,
        from: chrono::NaiveDate,
        until: chrono::NaiveDate,
        dim: &str,
    ) -> Result<Vec<RollupRow>, StoreError>;

    /// Deletes `site`'s roll-ups of days before `day`; returns how many rows went.
    fn delete_rollup_before(&self, site: &str, day: chrono::NaiveDate) -> Result<u64, StoreError> {
        let _ = (site, day);
        Err(StoreError::Unsupported("the aggregate tier"))
    }

    /// Makes stored data durable in its main files (a checkpoint), e.g. before a backup.
    fn checkpoint(&self) -> Result<(), StoreError>;

    /// Runs `copy` while no write reaches the store's local files, after
    /// folding them into their main files, so that files `copy` reads make
    /// a consistent backup (DuckDB: under the writer, after a checkpoint;
    /// the write-ahead log's shipper waits too). A back end whose data lives
    /// elsewhere (ClickHouse) just runs it: its own backup covers its data.
    fn hold_writes(
        &self,
        copy: &mut dyn FnMut() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        copy()
    }
}
